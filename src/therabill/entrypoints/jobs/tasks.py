"""The job functions: what a worker or the in-process runner does, each a call to a service.

Every job is idempotent: running it twice, or on two workers at once, or again after a
crash, sends each reminder and each statement email at most once (``service_layer.reminders``
and ``service_layer.statement_emails`` say how).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.clearinghouse import load_settings, open_connector
from therabill.adapters.mail import SmtpMailer
from therabill.adapters.sms import TwilioSms
from therabill.adapters.x12.envelope import load_settings as load_envelope
from therabill.config import data_dir
from therabill.entrypoints.http.settings import Settings
from therabill.service_layer import reminders, statement_emails, submission
from therabill.service_layer.database import open_database
from therabill.service_layer.practice import resolve_practice
from therabill.service_layer.reminders import DueReminder, Outbox
from therabill.service_layer.statement_emails import DueStatementEmail

CLEARINGHOUSE_ACTOR = "system:clearinghouse"


def worker_name() -> str:
    """``host:pid``: who claimed a reminder."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class JobContext:
    """What the jobs need: the database, where messages go, and who runs them.

    Attributes:
        engine: the database.
        outbox: the mail and SMS senders and the public address of the links.
        worker: the worker's name (recorded with each claim).
        counts: what this process did, by outcome (for logs and tests).
    """

    engine: Engine
    outbox: Outbox
    worker: str = field(default_factory=worker_name)
    counts: dict[str, int] = field(default_factory=dict)
    clearinghouse_minutes: int = 0
    data_dir: str | None = None
    practice: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> JobContext:
        """The context of the settings' database, mail server and SMS provider."""
        mail = settings.mail()
        sms = settings.sms()
        return cls(
            engine=engine or open_database(settings.url()),
            outbox=Outbox(
                mailer=SmtpMailer(mail) if mail is not None else None,
                sms=TwilioSms(sms) if sms is not None else None,
                public_url=settings.link_base(),
            ),
            clearinghouse_minutes=settings.clearinghouse_every_minutes,
            data_dir=settings.data_dir,
            practice=settings.practice,
        )


def queue_due_reminders(ctx: JobContext, defer: Callable[[DueReminder], Any]) -> int:
    """Hand every due reminder to ``defer`` (the queue, or the sender itself); how many."""
    due = reminders.due_reminders(ctx.engine)
    for item in due:
        defer(item)
    return len(due)


def send_one_reminder(ctx: JobContext, due: DueReminder) -> str:
    """Send one reminder unless it was sent or claimed (the outcome: ``sent``, ``skipped``...)."""
    outcome = reminders.send_reminder(ctx.engine, due, ctx.outbox, worker=ctx.worker)
    ctx.counts[outcome] = ctx.counts.get(outcome, 0) + 1
    return outcome


def run_due_reminders(ctx: JobContext) -> int:
    """In-process: send every due reminder now, one after the other (how many were due)."""
    return queue_due_reminders(ctx, lambda due: send_one_reminder(ctx, due))


def queue_due_statement_emails(ctx: JobContext, defer: Callable[[DueStatementEmail], Any]) -> int:
    """Hand every pending statement email to ``defer`` (the queue, or the sender); how many
    (none without a mail server: they wait, pending, until one is set)."""
    if ctx.outbox.mailer is None:
        return 0
    due = statement_emails.due_statement_emails(ctx.engine)
    for item in due:
        defer(item)
    return len(due)


def send_one_statement_email(ctx: JobContext, due: DueStatementEmail) -> str:
    """Email one client's statement unless it was sent or claimed (the outcome)."""
    outcome = statement_emails.send_statement_email(ctx.engine, due, ctx.outbox.mailer, worker=ctx.worker)
    key = f"statement-{outcome}"
    ctx.counts[key] = ctx.counts.get(key, 0) + 1
    return outcome


def run_due_statement_emails(ctx: JobContext) -> int:
    """In-process: send every pending statement email now (how many were pending)."""
    return queue_due_statement_emails(ctx, lambda due: send_one_statement_email(ctx, due))


def clearinghouse_exchange(ctx: JobContext) -> dict[str, int]:
    """Send the batches not yet sent and collect the answers (``clearinghouse.toml`` of the
    data folder; the practice of ``THERABILL_PRACTICE``, or the only one). Both services are
    idempotent (a batch is sent once, a file applied once); the queue runs this job on one
    worker at a time. Nothing happens while ``clearinghouse_every_minutes`` is 0 or the data
    folder has no ``clearinghouse.toml``."""
    folder = data_dir(ctx.data_dir)
    path = folder / "clearinghouse.toml"
    if ctx.clearinghouse_minutes == 0 or not path.exists():
        return {}
    cfg = load_settings(path, data_dir=folder)
    practice_id = resolve_practice(ctx.engine, ctx.practice)
    conn = open_connector(cfg)
    try:
        sent = submission.submit(
            ctx.engine, practice_id, CLEARINGHOUSE_ACTOR, conn, connector_name=cfg.name,
            envelope=load_envelope(None, cfg.x12), file_name=cfg.file_name, data_dir=folder,
        )  # fmt: skip
        fetched = submission.fetch(
            ctx.engine, practice_id, CLEARINGHOUSE_ACTOR, conn, connector_name=cfg.name, data_dir=folder
        )
    finally:
        conn.close()
    return {"sent": sum(r.outcome == "sent" for r in sent), "fetched": len(fetched)}
