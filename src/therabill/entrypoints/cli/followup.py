"""``therabill followup``: the follow-up worklist of denied, rejected and unpaid claims.

``list``, ``note``, ``assign``, ``act`` and ``appeal`` call the one follow-up service the web
pages and the API call; every claim argument is its number (CLM01) or its id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy import Engine

from therabill.clock import current_date
from therabill.domain.errors import TherabillError
from therabill.domain.money import from_cents
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import fail_from, option_day, print_json, stdout
from therabill.service_layer import appeals, claim_versions, followup
from therabill.service_layer.uow import system_actor

followup_app = typer.Typer(help="Follow-up of denied, rejected and unpaid claims.", no_args_is_help=True)

ClaimArg = Annotated[str, typer.Argument(help="The claim: its number (CLM01) or its id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Today for aging and dates (default today).")]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClaimCall:
    """What a command's use case is called with: the practice, the actor, the claim, the day."""

    engine: Engine
    practice_id: str
    actor: str
    claim_id: str
    day: date


def _on_claim(practice: str | None, claim: str, as_of: str | None, use_case: Callable[[ClaimCall], T]) -> T:
    """Open the practice, find the claim (number or id) and run ``use_case`` on it with the
    day; a refusal exits 2 with its problems."""
    try:
        engine, practice_id = open_practice(practice)
        who = system_actor()
        claim_id = claim_versions.resolve_claim(engine, practice_id, who, claim)
        return use_case(
            ClaimCall(engine, practice_id, who, claim_id, option_day(as_of, "--as-of", current_date()))
        )
    except TherabillError as exc:
        fail_from(exc)


def _print_item(item: followup.FollowUpItem, as_json: bool) -> None:
    if as_json:
        print_json(item.as_dict())
        return
    stdout.print(
        f"{item.claim_number}: {item.state} · owner {item.owner or 'nobody'} · next "
        f"{item.next_action_on or 'not set'} · {item.age_days} days ({item.aging})"
    )
    for n in item.notes:
        stdout.print(f"  {n['at']:%Y-%m-%d %H:%M} {n['actor']} {n['action']}: {n['text'] or ''}")


@followup_app.command("list")
def list_command(
    days: Annotated[int, typer.Option("--days", min=0, max=3650, help="Unpaid after this many days.")] = 30,
    reason: Annotated[str | None, typer.Option("--reason", help="denied, rejected or unpaid.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's claims.")] = None,
    include_done: Annotated[bool, typer.Option("--all", help="Include items marked done.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the oldest N.")] = None,
    as_of: AsOfOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Claims to follow up, oldest date of service first (aging counts from the date of service)."""
    try:
        engine, practice_id = open_practice(practice)
        items, total = followup.worklist_head(
            engine,
            practice_id,
            system_actor(),
            as_of=option_day(as_of, "--as-of", current_date()),
            rows=limit,
            unpaid_days=days,
            reason=reason,
            owner=owner,
            include_done=include_done,
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json([i.as_dict() for i in items])
        return
    for i in items:
        stdout.print(
            f"{i.claim_number:<16} {i.date_of_service} {i.age_days:>4}d {i.reason:<8} {i.status:<22} "
            f"{from_cents(i.total_charge_cents):>9} {i.state:<11} {i.owner or '':<12} {i.next_action_on or ''}"
        )
    shown = f"{len(items)} of {total}" if len(items) < total else f"{total}"
    stdout.print(f"{shown} claim(s) to follow up")


@followup_app.command("note")
def note_command(
    claim: ClaimArg,
    text: Annotated[str, typer.Argument(help="The note.")],
    rarc: Annotated[
        list[str] | None, typer.Option("--rarc", help="A remark code the payer gave (repeatable).")
    ] = None,
    state: Annotated[str | None, typer.Option("--state", help="open, in_progress, waiting or done.")] = None,
    as_of: AsOfOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a note to a claim's follow-up (with who and when)."""
    item = _on_claim(practice, claim, as_of, lambda c: followup.update(
        c.engine, c.practice_id, c.actor, c.claim_id, as_of=c.day, note=text, state=state, remark_codes=rarc
    ))  # fmt: skip
    _print_item(item, as_json)


@followup_app.command("assign")
def assign_command(
    claim: ClaimArg,
    owner: Annotated[str, typer.Argument(help="Who works it ('' for nobody).")],
    next_on: Annotated[str | None, typer.Option("--next", help="Next action date, YYYY-MM-DD.")] = None,
    as_of: AsOfOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a claim's follow-up an owner and a next-action date."""
    next_action_on = option_day(next_on, "--next")
    item = _on_claim(practice, claim, as_of, lambda c: followup.update(
        c.engine, c.practice_id, c.actor, c.claim_id, as_of=c.day, owner=owner, next_action_on=next_action_on
    ))  # fmt: skip
    _print_item(item, as_json)


@followup_app.command("act")
def act_command(
    claim: ClaimArg,
    action: Annotated[
        str, typer.Argument(help="correct, void, rebill, appeal, write_off or transfer_to_patient.")
    ],
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    reason_code: Annotated[str | None, typer.Option("--reason-code", help="The CARC of a write-off.")] = None,
    as_of: AsOfOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Do a worklist action on a claim."""
    done = _on_claim(practice, claim, as_of, lambda c: followup.act(
        c.engine, c.practice_id, c.actor, c.claim_id, action, as_of=c.day, note=note, reason_code=reason_code
    ))  # fmt: skip
    if as_json:
        print_json(done.as_dict())
    else:
        stdout.print(f"{done.action}: done ({done.entries} ledger entries)")


@followup_app.command("appeal")
def appeal_command(
    claim: ClaimArg,
    note: Annotated[str, typer.Option("--note", help="Why the claim should be paid.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Write the PDF here.")],
    as_of: AsOfOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the appeal letter of a claim (PDF): the note, diagnoses, CARC/RARC, the payer's address."""
    pdf, number = _on_claim(practice, claim, as_of, lambda c: appeals.appeal_letter_pdf(
        c.engine, c.practice_id, c.actor, c.claim_id, note=note, as_of=c.day
    ))  # fmt: skip
    out.write_bytes(pdf)
    if as_json:
        print_json({"claim_number": number, "file": str(out), "bytes": len(pdf)})
        return
    stdout.print(f"appeal letter of claim {number} written to {out}")
