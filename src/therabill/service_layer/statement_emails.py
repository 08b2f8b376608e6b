"""Statement emails on the job runner: each client owing more than N is emailed once.

The practice schedules a run (``schedule_statement_emails``: web, API, CLI): one row per
client owing more than the threshold on the statement date, status ``pending``. The job
runner (procrastinate workers on PostgreSQL, the in-process timer with SQLite, the same
job functions) asks ``due_statement_emails`` what is pending and calls
``send_statement_email`` for each, from any number of workers at once.

Delivery guarantee, as for reminders: at most once, and exactly once unless a worker dies
between handing the message over and recording it. ``send_statement_email`` runs three steps:

1. claim, in one committed transaction: lock the run's row (so statement numbers are given
   out one at a time), move the client's row from ``pending`` to ``sending`` (a second
   worker's update finds it no longer pending and skips), check the client's email address
   and email opt-out (``skipped`` with the reason otherwise), and issue the statement with
   the statements service (numbered, rendered and stored as printed: the same PDF the
   statements page shows; a retried row reuses the statement it already issued).
2. email the stored PDF (``statements.email_document``: the same message and SMTP code as
   the statements page), no transaction open.
3. record the outcome: ``sent``; ``failed`` when the server refused it; when the server
   could not be reached the row goes back to ``pending`` (the next sweep sends it).

A worker killed after step 1 leaves the row ``sending``: nobody sends it again, and the
practice sees it as "not confirmed" (the message may or may not have gone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from therabill.adapters.db.engine import session_factory
from therabill.adapters.db.messaging_tables import statement_email_runs, statement_email_sends
from therabill.adapters.db.money_tables import issued_documents
from therabill.adapters.db.tables import patients
from therabill.adapters.mail import Mailer, MailError
from therabill.clock import Clock, current_time
from therabill.domain import schedule as rules
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.money import ZERO, from_cents, to_cents
from therabill.service_layer import statements
from therabill.service_layer.contact_preferences import opted_out_in
from therabill.service_layer.schedule_setup import policy_in
from therabill.service_layer.uow import UnitOfWork, one_transaction

__all__ = [
    "DueStatementEmail",
    "StatementEmailRun",
    "due_statement_emails",
    "schedule_statement_emails",
    "send_statement_email",
    "statement_email_run",
    "statement_email_runs_of",
]

ACTOR = "system:statement-emails"
LABELS = {
    "pending": "Waiting",
    "sending": "Not confirmed",
    "sent": "Sent",
    "failed": "Failed",
    "skipped": "Not sent",
}
MAX_THRESHOLD = Decimal("1000000.00")
"""The largest threshold (a run for clients owing more than a million dollars emails nobody)."""
REASONS = {"opted-out": "the client opted out of email", "no-address": "no email address on file"}


class StatementEmailError(TherabillError):
    """A statement-email run was refused (the problems say why)."""

    code = "statement-emails-invalid"


@dataclass(frozen=True, slots=True)
class StatementEmailLine:
    """One client of a run, as the practice reads it.

    Attributes:
        patient_id: the client.
        patient_name: their name.
        status: ``pending``, ``sending``, ``sent``, ``failed`` or ``skipped``.
        status_label: the status in words.
        number: the statement's number once issued.
        reason: why it was not sent.
    """

    patient_id: str
    patient_name: str
    status: str
    status_label: str
    number: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class StatementEmailRun:
    """A scheduled statement-email run.

    Attributes:
        run_id: the run.
        statement_date: the statements' date.
        over: the threshold: clients owing more than this.
        requested_at: when it was scheduled.
        requested_by: who scheduled it.
        counts: how many clients by status.
        lines: each client (filled by ``statement_email_run``; empty in listings).
    """

    run_id: str
    statement_date: date
    over: Decimal
    requested_at: datetime
    requested_by: str
    counts: dict[str, int]
    lines: tuple[StatementEmailLine, ...] = field(default=())

    @property
    def total(self) -> int:
        """How many clients the run covers."""
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "run_id": self.run_id,
            "statement_date": self.statement_date.isoformat(),
            "over": str(self.over),
            "requested_at": self.requested_at.isoformat(),
            "requested_by": self.requested_by,
            "counts": self.counts,
            "clients": [
                {
                    "patient_id": line.patient_id,
                    "name": line.patient_name,
                    "status": line.status,
                    "number": line.number,
                    "reason": line.reason,
                }
                for line in self.lines
            ],
        }


@dataclass(frozen=True, slots=True)
class DueStatementEmail:
    """One statement email to send.

    Attributes:
        practice_id: the practice.
        send_id: the client's row of the run.
    """

    practice_id: str
    send_id: str

    @property
    def key(self) -> str:
        """Its unique key (also the job queue's lock)."""
        return f"statement-email:{self.send_id}"


def _refuse(code: str, name: str, message: str) -> StatementEmailError:
    return StatementEmailError(message, (Problem(code, name, message),))


def _run_view(uow: UnitOfWork, run: Any, *, with_lines: bool) -> StatementEmailRun:
    counts = {
        str(status): int(n)
        for status, n in uow.session.execute(
            select(statement_email_sends.c.status, func.count())
            .where(statement_email_sends.c.run_id == run.id)
            .group_by(statement_email_sends.c.status)
        )
    }
    lines: list[StatementEmailLine] = []
    if with_lines:
        rows = uow.session.execute(
            select(
                statement_email_sends.c.patient_id,
                statement_email_sends.c.status,
                statement_email_sends.c.error,
                patients.c.first_name,
                patients.c.last_name,
                issued_documents.c.number,
            )
            .join(patients, patients.c.id == statement_email_sends.c.patient_id)
            .outerjoin(issued_documents, issued_documents.c.id == statement_email_sends.c.document_id)
            .where(statement_email_sends.c.run_id == run.id)
            .order_by(patients.c.last_name, patients.c.first_name)
        ).all()
        lines = [
            StatementEmailLine(
                r.patient_id,
                f"{r.first_name} {r.last_name}",
                r.status,
                LABELS.get(r.status, r.status),
                r.number,
                REASONS.get(r.error or "", r.error),
            )
            for r in rows
        ]
    return StatementEmailRun(
        run.id,
        run.statement_date,
        from_cents(run.over_cents),
        run.requested_at,
        run.requested_by,
        counts,
        tuple(lines),
    )


def schedule_statement_emails(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    over: Decimal,
    statement_date: date | None = None,
    clock: Clock = current_time,
) -> StatementEmailRun:
    """Schedule a statement email to every client owing more than ``over`` on
    ``statement_date`` (default: the practice's today); the job runner sends them.

    Raises:
        StatementEmailError: a negative threshold (``statement-threshold-invalid``) or a run
            already scheduled for that date (``statement-emails-scheduled``).
    """
    if not isinstance(over, Decimal) or not over.is_finite() or not ZERO <= over <= MAX_THRESHOLD:
        raise _refuse(
            "statement-threshold-invalid", "over", "the threshold is an amount from $0.00 to $1,000,000.00"
        )
    with UnitOfWork(engine, practice_id, actor, read_only=True, clock=clock) as uow:
        today = rules.to_local(uow.now().replace(tzinfo=None), policy_in(uow).time_zone).date()
    day = statement_date or today
    owing = statements.patients_owing(engine, practice_id, actor, as_of=day, over=over)
    try:
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            run_id = uow.records.insert(
                statement_email_runs,
                statement_date=day,
                over_cents=to_cents(over),
                requested_by=actor[:80],
                requested_at=uow.now(),
            )
            for patient_id, _ in owing:
                uow.records.insert(
                    statement_email_sends, run_id=run_id, patient_id=patient_id, status="pending"
                )
            uow.record(
                "statement_emails.schedule",
                "statement_email_run",
                run_id,
                {"over": str(over), "clients": len(owing)},
            )
    except IntegrityError:
        raise _refuse(
            "statement-emails-scheduled",
            "statement_date",
            f"statement emails for {day:%m/%d/%Y} are already scheduled",
        ) from None
    return statement_email_run(engine, practice_id, actor, run_id)


def statement_email_run(engine: Engine, practice_id: str, actor: str, run_id: str) -> StatementEmailRun:
    """One run with each client's status."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _run_view(uow, uow.records.get(statement_email_runs, run_id), with_lines=True)


def statement_email_runs_of(
    engine: Engine, practice_id: str, actor: str, *, limit: int = 20
) -> list[StatementEmailRun]:
    """The practice's latest runs, newest first, with counts by status."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.session.execute(
            uow.records.scoped(statement_email_runs)
            .order_by(statement_email_runs.c.statement_date.desc())
            .limit(limit)
        ).all()
        return [_run_view(uow, r, with_lines=False) for r in rows]


def due_statement_emails(engine: Engine, *, limit: int = 1000) -> list[DueStatementEmail]:
    """Every statement email waiting to be sent, in every practice (at most ``limit``)."""
    with session_factory(engine, read_only=True)() as session:
        rows = session.execute(
            select(statement_email_sends.c.practice_id, statement_email_sends.c.id)
            .where(statement_email_sends.c.status == "pending")
            .order_by(statement_email_sends.c.run_id, statement_email_sends.c.id)
            .limit(limit)
        ).all()
    return [DueStatementEmail(r.practice_id, r.id) for r in rows]


def _mark(uow: UnitOfWork, send_id: str, **values: Any) -> None:
    uow.records.update(statement_email_sends, send_id, **values)


def _claim(engine: Engine, due: DueStatementEmail, worker: str, clock: Clock) -> tuple[str, str] | str:
    """Step 1: (document id, run id) of a claimed row, or the outcome when there is nothing to send."""
    with one_transaction(engine):
        with UnitOfWork(engine, due.practice_id, ACTOR, clock=clock) as uow:
            row = uow.records.find(statement_email_sends, due.send_id)
            if row is None or row.status != "pending":
                return "skipped"
            run = uow.records.get(statement_email_runs, row.run_id, for_update=True)
            claimed = uow.session.execute(
                statement_email_sends.update()
                .where(statement_email_sends.c.id == row.id, statement_email_sends.c.status == "pending")
                .values(status="sending", claimed_by=worker[:80], claimed_at=uow.now())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return "skipped"
            patient = uow.records.get(patients, row.patient_id)
            reason = None
            if opted_out_in(uow, row.patient_id, "email"):
                reason = "opted-out"
            elif not patient.email or "@" not in patient.email:
                reason = "no-address"
            if reason is not None:
                _mark(uow, row.id, status="skipped", error=reason, finished_at=uow.now())
                uow.record("statement_emails.skip", "patient", row.patient_id, {"reason": reason})
                return reason
            document_id = row.document_id
        if document_id is None:
            doc = statements.issue_statement(
                engine,
                due.practice_id,
                ACTOR,
                row.patient_id,
                statement_date=run.statement_date,
                batch_id=run.id,
            )
            document_id = doc.document_id
        with UnitOfWork(engine, due.practice_id, ACTOR, clock=clock) as uow:
            _mark(uow, row.id, document_id=document_id)
            uow.record("statement_emails.claim", "patient", row.patient_id, {"by": worker[:80]})
    return document_id, row.id


def send_statement_email(
    engine: Engine, due: DueStatementEmail, mailer: Mailer | None, *, worker: str, clock: Clock = current_time
) -> str:
    """Send one client's statement email unless it was sent or claimed: ``sent``,
    ``skipped`` (claimed elsewhere, or no mail server), ``opted-out``, ``no-address``,
    ``failed`` (refused) or ``retry`` (the server could not be reached: sent at the next sweep)."""
    if mailer is None:
        return "skipped"
    claim = _claim(engine, due, worker, clock)
    if isinstance(claim, str):
        return claim
    document_id, send_id = claim
    try:
        statements.email_document(engine, due.practice_id, ACTOR, document_id, mailer)
    except TherabillError as exc:
        cause = exc.__cause__
        refused = isinstance(cause, MailError) and isinstance(cause.__cause__, ConnectionRefusedError)
        with UnitOfWork(engine, due.practice_id, ACTOR, clock=clock) as uow:
            if refused:
                _mark(uow, send_id, status="pending", claimed_by=None, claimed_at=None)
            else:
                _mark(uow, send_id, status="failed", error=str(exc)[:300], finished_at=uow.now())
            uow.record(
                "statement_emails.retry" if refused else "statement_emails.fail",
                "statement_email_send",
                send_id,
            )
        return "retry" if refused else "failed"
    with UnitOfWork(engine, due.practice_id, ACTOR, clock=clock) as uow:
        _mark(uow, send_id, status="sent", finished_at=uow.now())
        uow.record("statement_emails.sent", "statement_email_send", send_id)
    return "sent"
