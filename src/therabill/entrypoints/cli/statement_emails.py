"""``therabill statement-emails``: schedule statement emails and see what the job runner sent.

``schedule`` records a run (every client owing more than ``--over``); the workers (PostgreSQL)
or the in-process runner (SQLite) email each statement once. ``send-due`` sends what is
pending now (PostgreSQL: queues it for the workers).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from therabill.domain.errors import Problem, TherabillError
from therabill.domain.money import usd_text
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import JsonOption, fail, fail_from, print_json, stdout
from therabill.entrypoints.cli.worker import send_due
from therabill.entrypoints.jobs import queue
from therabill.entrypoints.jobs.tasks import JobContext, run_due_statement_emails
from therabill.service_layer import statement_emails
from therabill.service_layer.statement_emails import StatementEmailRun
from therabill.service_layer.uow import system_actor

statement_emails_app = typer.Typer(
    help="Statement emails sent by the job runner: schedule a run, see what was sent.", no_args_is_help=True
)


def _print(run: StatementEmailRun) -> None:
    counts = ", ".join(
        f"{n} {statement_emails.LABELS.get(s, s).lower()}" for s, n in sorted(run.counts.items())
    )
    stdout.print(
        f"{run.statement_date:%m/%d/%Y}  over {usd_text(run.over)}  {run.total} client(s): {counts or 'none'}  {run.run_id}"
    )
    for line in run.lines:
        extra = f"  {line.number}" if line.number else ""
        why = f"  ({line.reason})" if line.reason else ""
        stdout.print(f"  {line.patient_name}: {line.status_label}{extra}{why}")


@statement_emails_app.command("schedule")
def schedule_command(
    over: Annotated[
        str, typer.Option("--over", help="Email clients owing more than this amount (e.g. 25.00).")
    ],
    on: Annotated[
        str | None, typer.Option("--date", help="Statement date YYYY-MM-DD (default: today).")
    ] = None,
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Schedule a statement email to every client owing more than --over."""
    try:
        amount = Decimal(over)
    except InvalidOperation:
        fail("the threshold must be an amount", [Problem("statement-threshold-invalid", "over", over)])
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        fail("the date must be YYYY-MM-DD", [Problem("statement-date-invalid", "date", on or "")])
    engine, pid = open_practice(practice)
    try:
        run = statement_emails.schedule_statement_emails(
            engine, pid, system_actor(), over=amount, statement_date=day
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(run.as_dict())
        return
    _print(run)


@statement_emails_app.command("list")
def list_command(
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latest runs with how many statements were sent."""
    engine, pid = open_practice(practice)
    runs = statement_emails.statement_email_runs_of(engine, pid, system_actor())
    if as_json:
        print_json([r.as_dict() for r in runs])
        return
    for run in runs:
        _print(run)
    if not runs:
        stdout.print("No statement emails scheduled.")


@statement_emails_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One run, client by client."""
    engine, pid = open_practice(practice)
    try:
        run = statement_emails.statement_email_run(engine, pid, system_actor(), run_id)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(run.as_dict())
        return
    _print(run)


def _send_here(ctx: JobContext) -> int:
    if ctx.outbox.mailer is None:
        fail("no mail server: set THERABILL_SMTP_HOST", [Problem("mail-not-configured", "smtp_host", "")])
    return run_due_statement_emails(ctx)


@statement_emails_app.command("send-due")
def send_due_command(as_json: JsonOption = False) -> None:
    """Send the pending statement emails now (PostgreSQL: queue them for the workers)."""
    send_due(
        as_json,
        noun="statement email",
        queue_now=queue.queue_statement_emails_now,
        run_here=_send_here,
        pending_word="pending",
    )
