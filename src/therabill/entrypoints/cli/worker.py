"""``therabill worker`` runs the background jobs; ``therabill reminders`` sets and sends reminders.

On PostgreSQL a worker takes jobs from the queue in the database (procrastinate): start one
or more on any machines that reach the database; each job runs once. With the SQLite default
the jobs run inside ``therabill run`` / ``serve``; ``therabill worker`` then runs the same
jobs in the foreground (for a machine that serves no web pages).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

import typer

from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import fail, fail_from, print_json, stdout
from therabill.entrypoints.http.settings import Settings
from therabill.entrypoints.jobs import queue
from therabill.entrypoints.jobs.inprocess import InProcessJobs
from therabill.entrypoints.jobs.tasks import JobContext, run_due_reminders
from therabill.service_layer import reminders
from therabill.service_layer.database import open_existing
from therabill.service_layer.uow import system_actor

reminders_app = typer.Typer(
    help="Appointment reminders: the practice's setting, what is due.", no_args_is_help=True
)


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (the job runner is procrastinate there)."""
    return url.startswith("postgresql")


def job_context(settings: Settings) -> JobContext:
    """The jobs' context for the installation's database, or a clear error and exit 1."""
    try:
        return JobContext.from_settings(settings, open_existing(settings.url()))
    except TherabillError as exc:
        fail_from(exc)


def worker_command(
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=32, help="Jobs this worker runs at once.")
    ] = 1,
    once: Annotated[bool, typer.Option("--once", help="Work until the queue is empty, then stop.")] = False,
) -> None:
    """Run the background jobs (reminders, statement emails) until stopped (Ctrl-C / SIGTERM end them cleanly).

    Mail goes through THERABILL_SMTP_*, text messages through THERABILL_SMS_*; links in
    reminders point at THERABILL_PUBLIC_URL.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    ctx = job_context(settings)
    url = ctx.engine.url.render_as_string(hide_password=False)
    if is_postgres(url):
        stdout.print(f"worker {ctx.worker}: PostgreSQL job queue, concurrency {concurrency}")
        queue.run_worker(url, ctx, concurrency=concurrency, wait=not once)
        return
    runner = InProcessJobs(ctx, max(settings.jobs_interval_seconds, 1))
    if once:
        runner.tick()
        stdout.print(f"jobs: {ctx.counts or 'nothing due'}")
        return
    stdout.print(f"worker {ctx.worker}: SQLite, jobs every {runner.interval} s in this process")
    runner.start().wait()


@reminders_app.command("policy")
def policy_command(
    hours: Annotated[int | None, typer.Option("--hours", help="Send this many hours before (1-168).")] = None,
    off: Annotated[bool, typer.Option("--off", help="Turn reminders off.")] = False,
    email: Annotated[bool | None, typer.Option("--email/--no-email", help="Send by email.")] = None,
    sms: Annotated[bool | None, typer.Option("--sms/--no-sms", help="Send by text message.")] = None,
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show or set when and how reminders go."""
    engine, pid = open_practice(practice)
    try:
        current = reminders.reminder_policy(engine, pid, system_actor())
        if hours is not None or off or email is not None or sms is not None:
            current = reminders.set_reminder_policy(
                engine,
                pid,
                system_actor(),
                hours_before=None if off else (hours if hours is not None else current.hours_before),
                email=current.email if email is None else email,
                sms=current.sms if sms is None else sms,
            )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"hours_before": current.hours_before, "email": current.email, "sms": current.sms})
        return
    if current.hours_before is None:
        stdout.print("Reminders are off.")
        return
    channels = " and ".join(c for c, on in (("email", current.email), ("text message", current.sms)) if on)
    stdout.print(f"Reminders go {current.hours_before} hours before, by {channels or 'no channel'}.")


def send_due(
    as_json: bool,
    *,
    noun: str,
    queue_now: Callable[[str, JobContext], int],
    run_here: Callable[[JobContext], int],
    pending_word: str,
) -> None:
    """The shape of every ``send-due`` command: on PostgreSQL the due jobs are queued for the
    workers (``queue_now``); on SQLite they run here, in this process (``run_here``)."""
    ctx = job_context(Settings())
    url = ctx.engine.url.render_as_string(hide_password=False)
    try:
        if is_postgres(url):
            queued = queue_now(url, ctx)
            if as_json:
                print_json({"queued": queued})
            else:
                stdout.print(f"queued {queued} {noun} job(s)")
            return
        due = run_here(ctx)
    except TherabillError as exc:
        fail_from(exc)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        print_json({pending_word: due, "outcomes": dict(ctx.counts)})
        return
    stdout.print(f"{due} {pending_word}; {ctx.counts or 'nothing sent'}")


@reminders_app.command("send-due")
def send_due_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Send the reminders due now (PostgreSQL: queue them for the workers)."""
    send_due(
        as_json, noun="reminder", queue_now=queue.queue_now, run_here=run_due_reminders, pending_word="due"
    )
