"""Statement emails on the job runner: each client owing more than N gets their statement
once (the stored PDF, through the statements service), opt-outs and missing addresses are
skipped, an unreachable server is retried, and racing workers send each once."""

from __future__ import annotations

import socket
import threading
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from tests.conftest import SmtpServer
from tests.integration.db.builders import ACTOR, Practice, a_practice
from therabill.adapters.db.messaging_tables import statement_email_sends
from therabill.adapters.mail import SmtpMailer, SmtpSettings
from therabill.domain.ledger import ChargeType
from therabill.service_layer import contact_preferences, ledger, statement_emails, statements
from therabill.service_layer import patients as patients_svc
from therabill.service_layer.statement_emails import DueStatementEmail, StatementEmailError
from therabill.service_layer.uow import UnitOfWork


def _mailer(port: int, host: str = "127.0.0.1") -> SmtpMailer:
    return SmtpMailer(SmtpSettings(host=host, port=port, sender="Clinic <front@example.com>"))


def _owing(engine: Engine, p: Practice, first: str, amount: str, email: str | None) -> str:
    patient = patients_svc.register_patient(
        engine, p.id, ACTOR, chart_number=f"S-{first}", first_name=first, last_name="Okafor", email=email
    )
    ledger.post_charge(
        engine, p.id, ACTOR, patient_id=patient, amount=Decimal(amount), charge_type=ChargeType.RETAIL,
        key=f"retail:{patient}",
    )  # fmt: skip
    return patient


def _due(engine: Engine, p: Practice) -> list[DueStatementEmail]:
    return [d for d in statement_emails.due_statement_emails(engine) if d.practice_id == p.id]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_each_client_owing_more_than_n_gets_one_statement_email(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    p = a_practice(engine)
    ada = _owing(engine, p, "Ada", "45.00", "ada@example.org")
    _owing(engine, p, "Ben", "10.00", "ben@example.org")  # under the threshold
    cleo = _owing(engine, p, "Cleo", "80.00", "cleo@example.org")
    _owing(engine, p, "Dev", "60.00", None)  # no address
    contact_preferences.set_contact_preferences(engine, p.id, ACTOR, cleo, email_opt_out=True)

    run = statement_emails.schedule_statement_emails(engine, p.id, ACTOR, over=Decimal("20.00"))
    assert run.total == 3 and run.counts == {"pending": 3}
    mailer = _mailer(smtp_server.port)
    outcomes = sorted(
        statement_emails.send_statement_email(engine, due, mailer, worker="w1") for due in _due(engine, p)
    )
    assert outcomes == ["no-address", "opted-out", "sent"]
    assert [m["To"] for m in smtp_server.messages] == ["ada@example.org"]
    message = smtp_server.messages[0]
    assert message["Subject"] == "Your statement from Hudson Valley Massage Therapy PLLC"  # no PHI
    (attachment,) = list(message.iter_attachments())
    pdf = attachment.get_content()
    # the stored statement, the same bytes the statements page shows
    (doc,) = statements.issued_documents_of(engine, p.id, ACTOR, ada)
    assert pdf == statements.issued_document(engine, p.id, ACTOR, doc.document_id).pdf
    assert attachment.get_filename() == f"statement-{doc.number}.pdf"
    assert statements.issued_documents_of(engine, p.id, ACTOR, cleo) == []  # nothing issued for a skip

    # a second sweep, or the same job again: nothing more
    assert _due(engine, p) == []
    first_row = DueStatementEmail(p.id, run_id_row(engine, p, ada))
    assert statement_emails.send_statement_email(engine, first_row, mailer, worker="w2") == "skipped"
    assert len(smtp_server.messages) == 1
    done = statement_emails.statement_email_run(engine, p.id, ACTOR, run.run_id)
    assert done.counts == {"sent": 1, "skipped": 2}
    reasons = {line.patient_name: (line.status_label, line.reason) for line in done.lines}
    assert reasons == {
        "Ada Okafor": ("Sent", None),
        "Cleo Okafor": ("Not sent", "the client opted out of email"),
        "Dev Okafor": ("Not sent", "no email address on file"),
    }

    with pytest.raises(StatementEmailError) as again:
        statement_emails.schedule_statement_emails(engine, p.id, ACTOR, over=Decimal("20.00"))
    assert again.value.problems[0].code == "statement-emails-scheduled"


def run_id_row(engine: Engine, p: Practice, patient_id: str) -> str:
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        return str(
            uow.session.execute(
                select(statement_email_sends.c.id).where(statement_email_sends.c.patient_id == patient_id)
            ).scalar_one()
        )


def test_an_unreachable_server_is_retried_with_the_same_statement(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    p = a_practice(engine)
    ada = _owing(engine, p, "Ada", "45.00", "ada@example.org")
    statement_emails.schedule_statement_emails(engine, p.id, ACTOR, over=Decimal("0"))
    (due,) = _due(engine, p)
    assert statement_emails.send_statement_email(engine, due, _mailer(_closed_port()), worker="w1") == "retry"
    assert _due(engine, p) == [due]  # pending again: the next sweep sends it
    assert (
        statement_emails.send_statement_email(engine, due, _mailer(smtp_server.port), worker="w1") == "sent"
    )
    assert len(smtp_server.messages) == 1
    assert len(statements.issued_documents_of(engine, p.id, ACTOR, ada)) == 1  # not issued twice
    assert statement_emails.send_statement_email(engine, due, None, worker="w1") == "skipped"


def test_racing_workers_email_each_statement_once(engine: Engine, smtp_server: SmtpServer) -> None:
    p = a_practice(engine)
    for i in range(5):
        _owing(engine, p, f"Client{i}", f"{30 + i}.00", f"client{i}@example.org")
    statement_emails.schedule_statement_emails(engine, p.id, ACTOR, over=Decimal("25.00"))
    due = _due(engine, p)
    assert len(due) == 5
    outcomes: list[str] = []
    barrier = threading.Barrier(3)

    def worker(name: str) -> None:
        barrier.wait()
        mailer = _mailer(smtp_server.port)
        outcomes.extend(statement_emails.send_statement_email(engine, d, mailer, worker=name) for d in due)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("sent") == 5 and outcomes.count("skipped") == 10
    assert sorted(m["To"] for m in smtp_server.messages) == [f"client{i}@example.org" for i in range(5)]
    numbers = set()
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        rows = uow.session.execute(
            select(statement_email_sends).where(statement_email_sends.c.practice_id == p.id)
        ).all()
    for r in rows:
        numbers.add(statements.issued_document(engine, p.id, ACTOR, r.document_id).number)
    assert {r.status for r in rows} == {"sent"} and len(numbers) == 5  # one number each


def test_the_threshold_is_checked(engine: Engine) -> None:
    p = a_practice(engine)
    with pytest.raises(StatementEmailError) as exc:
        statement_emails.schedule_statement_emails(engine, p.id, ACTOR, over=Decimal("-1"))
    assert exc.value.problems[0].code == "statement-threshold-invalid"
    assert exc.value.problems[0].loc == "over"
    with pytest.raises(StatementEmailError):  # bounded where it enters: never an overflow
        statement_emails.schedule_statement_emails(engine, p.id, ACTOR, over=Decimal("99999999.99"))
