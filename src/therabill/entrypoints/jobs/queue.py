"""The PostgreSQL job queue: procrastinate, its queue in the practice database.

``make_app(database_url)`` builds the procrastinate app with therabill's tasks:

* ``therabill:queue_due_reminders`` (periodic, every ``SWEEP_CRON``): defers one
  ``send_reminder`` job per due reminder, with the reminder's key as the queueing lock, so a
  reminder waiting in the queue is never queued twice;
* ``therabill:send_reminder``: sends one reminder (at most once, whatever runs it twice);
* ``therabill:queue_statement_emails`` (periodic, every ``SWEEP_CRON``): defers one
  ``send_statement_email`` job per pending statement email (its key as the queueing lock);
* ``therabill:send_statement_email``: emails one client's statement (at most once);
* ``therabill:clearinghouse_exchange`` (periodic, every ``clearinghouse_every_minutes``):
  sends the batches not yet sent and collects the answers, under the procrastinate lock
  ``clearinghouse`` (never two at once; both services are idempotent).

procrastinate hands each queued job to one worker (``SELECT ... FOR UPDATE SKIP LOCKED``),
so any number of workers on any number of machines share the jobs; the periodic job is
deferred once per tick whichever worker sees the tick first. A job whose worker died stays
``doing`` in procrastinate's table; its reminder is safe either way (claimed: never sent
again; not claimed: the next sweep queues it again).

``ensure_schema`` creates procrastinate's tables on first use (under an advisory lock, so
two workers starting together create them once).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg
from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from therabill.entrypoints.jobs import tasks
from therabill.service_layer.reminders import DueReminder
from therabill.service_layer.statement_emails import DueStatementEmail

log = logging.getLogger("therabill.jobs")

SWEEP_CRON = "*/30 * * * * *"
"""Every 30 seconds (procrastinate's six-field cron: the sixth is seconds)."""
CLEARINGHOUSE_CRON = "* * * * *"
"""Each minute; the job runs when the minute is a multiple of ``clearinghouse_every_minutes``."""
NAMESPACE = "therabill"
SCHEMA_LOCK = 0x7468657261  # "thera": the advisory lock taken while creating the tables


def conninfo(database_url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (``postgresql+psycopg://...``)."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise ValueError("the job queue needs PostgreSQL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(database_url: str) -> bool:
    """Create procrastinate's tables unless they exist; True when they were created now."""
    with psycopg.connect(conninfo(database_url)) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if found is not None and found[0] is not None:
            return False
        conn.execute(SchemaManager.get_schema().encode("utf-8"))
        conn.commit()
        return True


def _context(job: JobContext) -> tasks.JobContext:
    ctx = job.additional_context.get("therabill")
    if not isinstance(ctx, tasks.JobContext):
        raise RuntimeError("the worker was started without therabill's job context")
    return ctx


def defer_reminder(app: App, due: DueReminder) -> bool:
    """Queue one reminder's job; False when it is already waiting in the queue."""
    try:
        app.configure_task(f"{NAMESPACE}:send_reminder", queueing_lock=due.key).defer(
            practice_id=due.practice_id,
            appointment_id=due.appointment_id,
            channel=due.channel,
            start=due.start.isoformat(),
        )
    except AlreadyEnqueued:
        return False
    return True


def defer_statement_email(app: App, due: DueStatementEmail) -> bool:
    """Queue one statement email's job; False when it is already waiting in the queue."""
    try:
        app.configure_task(f"{NAMESPACE}:send_statement_email", queueing_lock=due.key).defer(
            practice_id=due.practice_id, send_id=due.send_id
        )
    except AlreadyEnqueued:
        return False
    return True


def make_app(database_url: str) -> App:
    """The procrastinate app on ``database_url`` with therabill's tasks."""
    app = App(
        connector=PsycopgConnector(conninfo=conninfo(database_url)), periodic_defaults={"max_delay": 300}
    )

    @app.periodic(cron=SWEEP_CRON, periodic_id="reminders")
    @app.task(name=f"{NAMESPACE}:queue_due_reminders", pass_context=True)
    def queue_due_reminders(context: JobContext, timestamp: int) -> int:  # noqa: ARG001 - the tick
        return tasks.queue_due_reminders(_context(context), lambda due: defer_reminder(context.app, due))

    @app.task(name=f"{NAMESPACE}:send_reminder", pass_context=True)
    def send_reminder(
        context: JobContext, practice_id: str, appointment_id: str, channel: str, start: str
    ) -> str:
        due = DueReminder(practice_id, appointment_id, channel, datetime.fromisoformat(start))
        outcome = tasks.send_one_reminder(_context(context), due)
        log.info("reminder %s: %s", due.key, outcome)
        return outcome

    @app.periodic(cron=SWEEP_CRON, periodic_id="statement-emails")
    @app.task(name=f"{NAMESPACE}:queue_statement_emails", pass_context=True)
    def queue_statement_emails(context: JobContext, timestamp: int) -> int:  # noqa: ARG001 - the tick
        return tasks.queue_due_statement_emails(
            _context(context), lambda due: defer_statement_email(context.app, due)
        )

    @app.task(name=f"{NAMESPACE}:send_statement_email", pass_context=True)
    def send_statement_email(context: JobContext, practice_id: str, send_id: str) -> str:
        due = DueStatementEmail(practice_id, send_id)
        outcome = tasks.send_one_statement_email(_context(context), due)
        log.info("statement email %s: %s", due.key, outcome)
        return outcome

    @app.periodic(cron=CLEARINGHOUSE_CRON, periodic_id="clearinghouse")
    @app.task(name=f"{NAMESPACE}:clearinghouse_exchange", pass_context=True, lock="clearinghouse")
    def clearinghouse(context: JobContext, timestamp: int) -> dict[str, int]:
        ctx = _context(context)
        minutes = ctx.clearinghouse_minutes
        if minutes == 0 or (timestamp // 60) % minutes:
            return {}
        done = tasks.clearinghouse_exchange(ctx)
        log.info("clearinghouse: %s", done)
        return done

    return app


def queue_now(database_url: str, ctx: tasks.JobContext) -> int:
    """Defer every due reminder now (what the periodic job does); how many were queued."""
    ensure_schema(database_url)
    app = make_app(database_url)
    queued = 0
    with app.open():

        def defer(due: DueReminder) -> None:
            nonlocal queued
            queued += defer_reminder(app, due)

        tasks.queue_due_reminders(ctx, defer)
    return queued


def queue_statement_emails_now(database_url: str, ctx: tasks.JobContext) -> int:
    """Defer every pending statement email now (what the periodic job does); how many were queued."""
    ensure_schema(database_url)
    app = make_app(database_url)
    queued = 0
    with app.open():

        def defer(due: DueStatementEmail) -> None:
            nonlocal queued
            queued += defer_statement_email(app, due)

        tasks.queue_due_statement_emails(ctx, defer)
    return queued


def run_worker(database_url: str, ctx: tasks.JobContext, *, concurrency: int = 1, wait: bool = True) -> None:
    """Run a worker until it is stopped (SIGINT/SIGTERM finish the current jobs first)."""
    ensure_schema(database_url)
    app = make_app(database_url)
    options: dict[str, Any] = {
        "concurrency": concurrency,
        "name": ctx.worker,
        "wait": wait,
        "additional_context": {"therabill": ctx},
        "delete_jobs": "successful",
    }
    app.run_worker(**options)
