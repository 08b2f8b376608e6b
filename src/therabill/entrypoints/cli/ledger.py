"""Money commands: ``era post``, ``payments post``, ``ledger balance``, ``denials list``.

Each command opens the database the usual way (``THERABILL_DATABASE_URL`` or the data
folder), acts for one practice (``--practice``) and records the operating-system user as
the actor. ``era post`` is added to the ``era`` sub-app (``era read`` lives beside it).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from therabill.domain.errors import TherabillError
from therabill.domain.ledger import LedgerError, PaymentMethod
from therabill.domain.money import D, MoneyError
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import EXIT_FINDINGS, fail, fail_from, print_json, read_input, stdout
from therabill.entrypoints.cli.era import era_app
from therabill.service_layer import ledger as svc
from therabill.service_layer import remittances
from therabill.service_layer.uow import system_actor

payments_app = typer.Typer(help="Patient payments (cash, card, check, HSA/FSA).", no_args_is_help=True)
ledger_app = typer.Typer(help="The money ledger: balances.", no_args_is_help=True)
denials_app = typer.Typer(help="Denied and partly paid claim lines.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@era_app.command("post")
def era_post(
    file: Annotated[str, typer.Argument(help="The 835 file ('-' for standard input).")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post an 835 for the payer that sent it: payments, adjustments, patient responsibility.

    Each claim posts on that payer's claim; the patient's share moves to the next coverage,
    whose claim is made and scrubbed for review. Money from a payer not on the claim, or a
    second payment, goes to the worklist to refund. Each claim posts in its own transaction;
    posting the same file (or the same payment in a new envelope) again posts nothing. Exit 1
    when anything went to the worklist.
    """
    data = read_input(file)
    engine, practice_id = open_practice(practice)
    try:
        results = remittances.post_835(engine, practice_id, system_actor(), data)
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    report = [r.as_dict() for r in results]
    if as_json:
        print_json(report)
    else:
        for r in report:
            state = "new" if r["new"] else "already on file"
            stdout.print(
                f"remittance {r['trace_number']} from {r['payer']}: payment {r['paid']} ({state}); "
                f"{r['claims_matched']} claim(s) posted, {r['claims_unmatched']} matched none of ours, "
                f"{r['claims_already_posted']} already posted, {r['entries']} ledger entries"
            )
            for w in r["worklist"]:
                action = f" [action: {w['action']}]" if w["action"] else ""
                stdout.print(f"  worklist {w['kind']}: {w['message']}{action}")
            for number in r["next_claims"]:
                stdout.print(
                    f"  secondary claim {number} made from this payment: review it and mark it ready"
                )
    if any(r["worklist"] for r in report):
        raise typer.Exit(EXIT_FINDINGS)


@era_app.command("example")
def era_example(
    practice: PracticeOption = None,
    out: Annotated[str | None, typer.Option("--out", help="Write the 835 here (default: print it).")] = None,
) -> None:
    """Write an 835 that pays the practice's claims awaiting payment (the demo's, to try posting).

    Every line is paid 80 % of its charge; the last line of the first claim with two lines is
    denied (CO-97). Post it with ``therabill era post FILE`` or on the Remittances page.
    """
    engine, practice_id = open_practice(practice)
    try:
        text = remittances.example_835(engine, practice_id, system_actor())
    finally:
        engine.dispose()
    if not text:
        stdout.print("no claim awaits payment: submit a batch first")
        raise typer.Exit(EXIT_FINDINGS)
    if out:
        Path(out).write_text(text, encoding="ascii")
        stdout.print(f"wrote {out}")
    else:
        typer.echo(text, nl=False)


@payments_app.command("post")
def payments_post(
    patient: Annotated[str, typer.Option("--patient", help="The patient's id.")],
    amount: Annotated[str, typer.Option("--amount", help="Amount, e.g. 25.00.")],
    method: Annotated[PaymentMethod, typer.Option("--method", help="cash, card, check, hsa or fsa.")],
    key: Annotated[
        str | None, typer.Option("--key", help="Idempotency key (re-running with it posts nothing).")
    ] = None,
    item: Annotated[str | None, typer.Option("--item", help="Apply all of it to this item.")] = None,
    tip: Annotated[str, typer.Option("--tip", help="Tip for the therapist (kept apart).")] = "0.00",
    unapplied: Annotated[
        bool, typer.Option("--unapplied", help="Keep it as a credit, apply nothing.")
    ] = False,
    practice: PracticeOption = None,
) -> None:
    """Post a patient payment, split across open items (largest remainder) unless told otherwise."""
    try:
        value, tip_value = D(amount), D(tip)
    except MoneyError as exc:
        fail(str(exc))
    if value <= Decimal(0):
        fail("the amount must be positive")
    engine, practice_id = open_practice(practice)
    try:
        res = svc.post_patient_payment(
            engine,
            practice_id,
            system_actor(),
            patient_id=patient,
            amount=value,
            method=method,
            key=key or f"cli-payment:{uuid.uuid4().hex}",
            item_id=item,
            tip=tip_value,
            apply=not unapplied,
        )
    except (TherabillError, LedgerError) as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    if res.replayed:
        stdout.print(f"already posted with this key: {len(res.entry_ids)} entries; nothing new")
    else:
        stdout.print(f"posted {len(res.entry_ids)} entries; unapplied {res.unapplied}")


@ledger_app.command("balance")
def ledger_balance(
    patient: Annotated[str | None, typer.Option("--patient", help="A patient's id.")] = None,
    claim: Annotated[str | None, typer.Option("--claim", help="A claim's id.")] = None,
    practice: PracticeOption = None,
) -> None:
    """Print the balances of a patient or a claim as JSON (insurance and patient apart)."""
    if (patient is None) == (claim is None):
        fail("name exactly one of --patient or --claim")
    engine, practice_id = open_practice(practice)
    try:
        print_json(svc.balances(engine, practice_id, system_actor(), patient_id=patient, claim_id=claim))
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()


@denials_app.command("list")
def denials_list(practice: PracticeOption = None, as_json: JsonOption = False) -> None:
    """List denied and partly paid claim lines with the reason in words and a likely fix."""
    engine, practice_id = open_practice(practice)
    try:
        found = remittances.denial_worklist(engine, practice_id, system_actor())
    except TherabillError as exc:
        fail_from(exc)
    finally:
        engine.dispose()
    if as_json:
        print_json(found)
        return
    if not found:
        stdout.print("no denied or partly paid lines")
    for d in found:
        stdout.print(
            f"claim {d['claim_number']} line {d['code']}: {d['status']} (charged {d['charges']}, "
            f"paid {d['paid']}, adjusted {d['adjusted']})"
        )
        for r in d["reasons"]:
            stdout.print(f"  {r['code']}: {r['words']}")
            if r["fix"]:
                stdout.print(f"    fix: {r['fix']}")
