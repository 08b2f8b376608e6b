"""``therabill claims``: the practice's claims by status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from therabill.adapters.x12.errors import X12Error
from therabill.config import data_dir
from therabill.domain.errors import TherabillError
from therabill.domain.money import from_cents
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import (
    EXIT_FINDINGS,
    ProductionOption,
    fail_from,
    print_json,
    read_input,
    stdout,
)
from therabill.service_layer import acknowledgments, batches, edi
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
