"""``era worklist``, ``era assign``, ``era dismiss``: the remittance worklist from the shell.

The same service functions as the Remittances page and the API: an unmatched 835 claim
assigned to one of our claims posts exactly as a matched one does. The commands are added to
the ``era`` sub-app (``era read`` and ``era post`` live beside them).
"""

from __future__ import annotations

from typing import Annotated

import typer

from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import EXIT_FINDINGS, fail_from, print_json, stdout
from therabill.entrypoints.cli.era import era_app
from therabill.service_layer import remittance_work, remittances
from therabill.service_layer.uow import system_actor

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@era_app.command("worklist")
def era_worklist(
    practice: PracticeOption = None,
    show_all: Annotated[bool, typer.Option("--all", help="Closed items too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the posting worklist: claims that matched none of ours, and postings to review.

    Each item's id is what ``era assign`` and ``era dismiss`` take. Exit 1 when items are open.
    """
    engine, practice_id = open_practice(practice)
    try:
        items = remittance_work.worklist_items(engine, practice_id, system_actor(), open_only=not show_all)
    finally:
        engine.dispose()
    if as_json:
        print_json([w.as_dict() for w in items])
    else:
        if not items:
            stdout.print("the worklist is empty")
        for w in items:
            who = ", ".join(x for x in (w.patient, w.service_date and f"{w.service_date:%m/%d/%Y}") if x)
            state = f" [closed: {w.resolution}: {w.resolution_note}]" if w.resolution else ""
            stdout.print(
                f"{w.id}  {w.kind_words}: claim {w.claim_number or '-'}"
                f"{f' ({who})' if who else ''}, ${w.amount:,.2f}, EFT {w.trace_number or '-'}{state}",
                markup=False,
                highlight=False,
            )
            stdout.print(f"    {w.message}", markup=False, highlight=False)
    if any(w.resolution is None for w in items):
        raise typer.Exit(EXIT_FINDINGS)


@era_app.command("assign")
def era_assign(
    item: Annotated[str, typer.Argument(help="The worklist item's id (from `era worklist`).")],
    claim: Annotated[str, typer.Argument(help="Our claim: its claim number or id.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Assign a claim payment that matched none of our claims to one of ours, and post it.

    It posts exactly as if the payer had sent our claim number. Exit 1 when the posting sent
    something to the worklist (e.g. the payer is not the claim's payer).
    """
    engine, practice_id = open_practice(practice)
    try:
        done = remittance_work.assign_work_item(engine, practice_id, system_actor(), item, claim)
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    if as_json:
        print_json(done.as_dict())
    else:
        state = "posted" if done.posted else "not posted (see the worklist)"
        stdout.print(f"assigned to claim {done.claim_number}: {state}, {done.entries} ledger entries")
        for message in done.worklist:
            stdout.print(f"  worklist: {message}", markup=False)
    if done.worklist:
        raise typer.Exit(EXIT_FINDINGS)


@era_app.command("dismiss")
def era_dismiss(
    item: Annotated[str, typer.Argument(help="The worklist item's id (from `era worklist`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why nothing more is to be done.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close a worklist item with the reason nothing more is to be done."""
    engine, practice_id = open_practice(practice)
    try:
        remittances.dismiss_work_item(engine, practice_id, system_actor(), item, reason)
        closed = remittance_work.work_item(engine, practice_id, system_actor(), item)
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    if as_json:
        print_json(closed.as_dict())
    else:
        stdout.print(f"closed: {closed.resolution_note}", markup=False)
