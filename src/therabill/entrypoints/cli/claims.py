"""``therabill claims``: the practice's claims by status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from therabill.adapters.x12.errors import X12Error
from therabill.clock import current_date
from therabill.config import data_dir
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.money import from_cents
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import (
    EXIT_FINDINGS,
    ProductionOption,
    fail,
    fail_from,
    option_day,
    print_json,
    read_input,
    stdout,
)
from therabill.service_layer import acknowledgments, batches, claim_changes, claim_versions, edi
from therabill.service_layer.claims import list_claims
from therabill.service_layer.uow import system_actor

claims_app = typer.Typer(help="Claims of a practice.", no_args_is_help=True)


@claims_app.command("list")
def list_command(
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only claims in this status (repeatable).")
    ] = None,
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List claims (newest date of service first), optionally by status."""
    try:
        engine, practice_id = open_practice(practice)
        found = list_claims(engine, practice_id, system_actor(), status or [])
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            [
                {
                    "id": c.id,
                    "claim_number": c.claim_number,
                    "status": c.status,
                    "date_of_service": c.date_of_service,
                    "total_charge": str(from_cents(c.total_charge_cents)),
                }
                for c in found
            ]
        )
        return
    for c in found:
        stdout.print(
            f"{c.claim_number:<14} {c.date_of_service}  {c.status:<24} {from_cents(c.total_charge_cents):>9}"
        )
    stdout.print(f"{len(found)} claims")


@claims_app.command("export-837")
def export_837_command(
    out: Annotated[Path, typer.Option("-o", "--out", help="Write the 837P file here.")],
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Claims in this status (default ready; repeatable).")
    ] = None,
    batch: Annotated[
        str | None, typer.Option("--batch", help="Write a recorded batch again (same bytes), nothing else.")
    ] = None,
    production: ProductionOption = False,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings", help="Envelope settings (TOML with an x12 table; default: clearinghouse.toml)."
        ),
    ] = None,
    override: Annotated[
        str | None,
        typer.Option("--override", help="Send claims with scrub errors too, for this reason (recorded)."),
    ] = None,
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write stored claims as one 837P batch and mark them submitted (one transaction).

    Each export takes the practice's next interchange control number; exported claims
    leave their status, so running it again does not send them twice.
    """
    try:
        settings = batches.practice_envelope(
            data_dir(), production=True if production else None, config_file=settings_file
        )
        engine, practice_id = open_practice(practice)
        if batch is not None:
            text = batches.batch_file(engine, practice_id, system_actor(), batch, settings).text
            out.write_text(text, encoding="ascii")
            stdout.print(f"batch {batch} written again to {out}")
            return
        result = edi.export_837(
            engine,
            practice_id,
            system_actor(),
            settings=settings,
            statuses=status or ["ready"],
            override_reason=override,
            out=out,
        )
    except (TherabillError, X12Error) as exc:
        fail_from(exc)
    if as_json:
        print_json(
            {
                "batch_id": result.batch_id,
                "control_number": result.control_number,
                "claims": list(result.claim_numbers),
                "skipped": [{"claim": p.loc, "code": p.code, "message": p.message} for p in result.skipped],
                "sha256": result.sha256,
                "file": str(out),
            }
        )
        return
    stdout.print(
        f"{len(result.claim_numbers)} claim(s) written to {out}: interchange {result.control_number}, "
        f"batch {result.batch_id}"
    )
    for p in result.skipped:
        stdout.print(f"skipped {p.loc}: {p.message}")


@claims_app.command("ack")
def ack_command(
    file: Annotated[str, typer.Argument(help="A TA1, 999 or 277CA file ('-' for standard input).")],
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Apply acknowledgments to the stored claims (batch, clearinghouse, payer accepted/rejected).

    Exit 1 when the file rejects anything (an interchange, a group, a transaction or a claim),
    2 when it is not a TA1, 999 or 277CA (a claim status 277 is refused by name).
    """
    try:
        data = read_input(file)
        engine, practice_id = open_practice(practice)
        applied = acknowledgments.apply_file(engine, practice_id, system_actor(), data)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(applied.as_dict())
    else:
        for a in applied.acknowledgments:
            stdout.print(f"{a['kind']} {a['control_number']}: {a['words']}")
        for m in applied.claims:
            stdout.print(f"{m['claim']:<14} {m['from'] or '?':<24} -> {m['to'] or m.get('note', '')}")
        for b in applied.batches:
            stdout.print(f"batch {b['batch_trace']}: {b['result']}")
        stdout.print(f"{sum(1 for m in applied.claims if m['to'])} claim(s) moved")
    if applied.rejects_anything:
        raise typer.Exit(EXIT_FINDINGS)


# -- the claim lifecycle ------------------------------------------------------------------

ClaimArg = Annotated[str, typer.Argument(help="The claim: its number (CLM01, e.g. TB1A2B3C4D5E) or its id.")]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why (kept in the claim's history, 200 characters).")
]
ChangesOption = Annotated[
    str | None,
    typer.Option(
        "--changes",
        help="A JSON object of visit fields to change (start_time, end_time, services, diagnoses, "
        "documentation, related_causes, onset_date, place_of_service; '-' for standard input).",
    ),
]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Scrub as of this date (default today).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _changes(
    path: str | None, start: str | None = None, end: str | None = None, dx: str | None = None
) -> dict:  # type: ignore[type-arg]
    out: dict = {}  # type: ignore[type-arg]
    if path:
        try:
            loaded = json.loads(read_input(path))
        except ValueError as exc:
            fail("the changes are not JSON", (Problem("changes-not-json", "--changes", str(exc)[:120]),))
        if not isinstance(loaded, dict):
            fail("the changes must be a JSON object", (Problem("changes-not-object", "--changes", "{...}"),))
        out.update(loaded)
    if start:
        out["start_time"] = start
    if end:
        out["end_time"] = end
    if dx:
        out["diagnoses"] = [d.strip().upper() for d in dx.split(",") if d.strip()]
    return out


def _print_change(result: claim_changes.ChangeResult, as_json: bool) -> None:
    if as_json:
        print_json(result.as_dict())
        return
    if result.claim_number:
        errors = " (scrub errors: fix them before it is ready)" if result.has_errors else ""
        stdout.print(
            f"{result.kind}: claim {result.claim_number} (frequency {result.frequency}) is {result.status}{errors}"
        )
    else:
        stdout.print(
            f"{result.kind}: done" + (f", the old claim is {result.old_status}" if result.old_status else "")
        )


@claims_app.command("edit")
def edit_command(
    visit: Annotated[str, typer.Argument(help="The visit id, or a claim's number or id (its visit).")],
    changes: ChangesOption = None,
    start: Annotated[str | None, typer.Option("--start", help="Session start, HH:MM.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Session end, HH:MM.")] = None,
    diagnoses: Annotated[
        str | None, typer.Option("--diagnoses", help="ICD-10-CM codes, comma separated.")
    ] = None,
    reason: ReasonOption = None,
    as_of: AsOfOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Edit a saved visit until its claim is sent; the claim is re-coded and re-scrubbed as a new version."""
    body = _changes(changes, start, end, diagnoses)
    if not body:
        fail("nothing to change", (Problem("changes-missing", "--changes", "give --changes or an option"),))
    try:
        engine, practice_id = open_practice(practice)
        who = system_actor()
        visit_id = claim_versions.resolve_visit(engine, practice_id, who, visit)
        result = claim_changes.edit_visit(
            engine,
            practice_id,
            who,
            visit_id,
            body,
            as_of=option_day(as_of, "--as-of", current_date()),
            reason=reason,
        )
    except TherabillError as exc:
        fail_from(exc)
    _print_change(result, as_json)


@claims_app.command("void")
def void_command(
    claim: ClaimArg, reason: ReasonOption = None, practice: PracticeOption = None, as_json: JsonOption = False
) -> None:
    """Void a claim: in place when the payer never got it, else a frequency-8 claim (REF*F8) ready to send."""
    try:
        engine, practice_id = open_practice(practice)
        who = system_actor()
        result = claim_changes.void(
            engine,
            practice_id,
            who,
            claim_versions.resolve_claim(engine, practice_id, who, claim),
            reason=reason,
        )
    except TherabillError as exc:
        fail_from(exc)
    _print_change(result, as_json)


def _version_command(
    kind: str,
    claim: str,
    changes: str | None,
    reason: str | None,
    as_of: str | None,
    practice: str | None,
    as_json: bool,
) -> None:
    body = _changes(changes) or None
    try:
        engine, practice_id = open_practice(practice)
        who = system_actor()
        claim_id = claim_versions.resolve_claim(engine, practice_id, who, claim)
        use_case = claim_changes.correct if kind == "correct" else claim_changes.rebill
        result = use_case(
            engine,
            practice_id,
            who,
            claim_id,
            as_of=option_day(as_of, "--as-of", current_date()),
            changes=body,
            reason=reason,
        )
    except TherabillError as exc:
        fail_from(exc)
    _print_change(result, as_json)


@claims_app.command("correct")
def correct_command(
    claim: ClaimArg,
    changes: ChangesOption = None,
    reason: ReasonOption = None,
    as_of: AsOfOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a corrected claim (frequency 7, REF*F8 = the payer's claim number), re-coded from the visit."""
    _version_command("correct", claim, changes, reason, as_of, practice, as_json)


@claims_app.command("rebill")
def rebill_command(
    claim: ClaimArg,
    changes: ChangesOption = None,
    reason: ReasonOption = None,
    as_of: AsOfOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bill a rejected claim again as a new original (frequency 1)."""
    _version_command("rebill", claim, changes, reason, as_of, practice, as_json)


@claims_app.command("versions")
def versions_command(claim: ClaimArg, practice: PracticeOption = None, as_json: JsonOption = False) -> None:
    """Every version of a claim with who made it, when and why."""
    try:
        engine, practice_id = open_practice(practice)
        who = system_actor()
        found = claim_versions.versions(
            engine, practice_id, who, claim_versions.resolve_claim(engine, practice_id, who, claim)
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json([v.as_dict() for v in found])
        return
    for v in found:
        stdout.print(
            f"{v.version:>2} {v.claim_number:<16} {v.kind:<8} {v.frequency} {v.status:<22} "
            f"{from_cents(v.total_charge_cents):>9}  {v.created_at:%Y-%m-%d %H:%M} {v.created_by}  {v.reason or ''}"
        )
