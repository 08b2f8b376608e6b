"""The job functions: what a worker or the in-process runner does, each a call to a service.

Every job is idempotent: running it twice, or on two workers at once, or again after a
crash, sends each reminder at most once (``service_layer.reminders`` says how).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.mail import SmtpMailer
from therabill.adapters.sms import TwilioSms
from therabill.entrypoints.http.settings import Settings
from therabill.service_layer import reminders
from therabill.service_layer.database import open_database
from therabill.service_layer.reminders import DueReminder, Outbox


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
                public_url=settings.public_url,
            ),
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
