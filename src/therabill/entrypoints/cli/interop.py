"""``therabill submit | fetch | status | export | import`` and ``claims follow-up``.

``register(app)`` adds these commands to the main app (one line in ``main.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from therabill.adapters.clearinghouse import load_settings, open_connector
from therabill.adapters.clearinghouse.config import ClearinghouseSettings
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.envelope import load_settings as load_x12
from therabill.clock import current_date
from therabill.config import data_dir
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.claims import claims_app
from therabill.entrypoints.cli.common import (
    EXIT_FINDINGS,
    EXIT_INVALID,
    JsonOption,
    fail,
    fail_from,
    option_day,
    print_json,
    read_input,
    stdout,
)
from therabill.service_layer import batches, edi
from therabill.service_layer.interop import (
    CsvImportError,
    export_claims,
    export_ledger,
    import_csv,
    patient_bundle,
    validate_bundle,
)
from therabill.service_layer.submission import fetch, follow_up, submit
from therabill.service_layer.uow import system_actor

SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--settings", help="Clearinghouse settings TOML (default: clearinghouse.toml in the data folder)."
    ),
]
status_app = typer.Typer(help="Claim status requests (276).", no_args_is_help=True)
export_app = typer.Typer(help="Export records (FHIR, CSV).", no_args_is_help=True)
import_app = typer.Typer(help="Import records from CSV.", no_args_is_help=True)


def _settings(path: Path | None) -> ClearinghouseSettings:
    folder = data_dir()
    return load_settings(path or folder / "clearinghouse.toml", data_dir=folder)


def _envelope(settings: ClearinghouseSettings) -> EnvelopeSettings:
    return load_x12(None, settings.x12)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def submit_command(
    settings: SettingsOption = None,
    practice: PracticeOption = None,
    build: Annotated[bool, typer.Option("--build/--no-build", help="Batch the ready claims first.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Send every claim batch not yet sent to the clearinghouse (each batch once)."""
    try:
        cfg = _settings(settings)
        engine, practice_id = open_practice(practice)
        conn = open_connector(cfg)
        try:
            results = submit(engine, practice_id, system_actor(), conn, connector_name=cfg.name, envelope=_envelope(cfg),
                             file_name=cfg.file_name, build=build, data_dir=data_dir())  # fmt: skip
        finally:
            conn.close()
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            [
                r.__dict__ if hasattr(r, "__dict__") else {f: getattr(r, f) for f in r.__slots__}
                for r in results
            ]
        )
    else:
        if not results:
            stdout.print("nothing to send")
        for r in results:
            stdout.print(f"batch {r.control_number}: {r.outcome} {r.remote_name} ({r.claims} claims, sha256 {r.sha256[:12]})"
                         + (f" - {r.error}" if r.error else ""))  # fmt: skip
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(EXIT_FINDINGS)


def fetch_command(
    settings: SettingsOption = None,
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Collect the clearinghouse's answers (999, TA1, 277CA, 277, 835, 271) and apply them."""
    try:
        cfg = _settings(settings)
        engine, practice_id = open_practice(practice)
        conn = open_connector(cfg)
        try:
            results = fetch(
                engine, practice_id, system_actor(), conn, connector_name=cfg.name, data_dir=data_dir()
            )
        finally:
            conn.close()
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json([r.__dict__ for r in results])
        return
    if not results:
        stdout.print("no new files")
    for r in results:
        moved = [c for c in r.outcome.get("claims", []) if "to" in c]
        extra = " (already processed)" if r.duplicate else f": {len(moved)} claim(s) moved"
        stdout.print(
            f"{r.name} [{r.kind}]{extra}" + (f" - {r.outcome['error']}" if "error" in r.outcome else "")
        )


def follow_up_command(
    days: Annotated[
        int | None, typer.Option("--days", help="Days without an answer (default: settings, else 30).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date to count from (YYYY-MM-DD; default today).")
    ] = None,
    settings: SettingsOption = None,
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Claims still waiting for an answer after a number of days. Exit 1 when there are some."""
    when = option_day(as_of, "--as-of", current_date())
    try:
        if days is None:
            path = settings or data_dir() / "clearinghouse.toml"
            days = _settings(path).follow_up_days if path.exists() else 30
        engine, practice_id = open_practice(practice)
        due = follow_up(engine, practice_id, system_actor(), as_of=when, days=days)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(due)
    else:
        for d in due:
            stdout.print(
                f"{d['claim_number']:<14} {d['status']:<24} {d['days_waiting']:>4} days  DOS {d['date_of_service']}  {d['payer']}"
            )
    if due:
        raise typer.Exit(EXIT_FINDINGS)


@status_app.command("request")
def status_request(
    claim_id: Annotated[str, typer.Argument(help="The claim's internal id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the 276.")],
    settings: SettingsOption = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a 276 claim status request for a claim (send it with your clearinghouse)."""
    try:
        envelope = batches.practice_envelope(data_dir(), config_file=settings)
        engine, practice_id = open_practice(practice)
        text, control = edi.request_276(engine, practice_id, system_actor(), claim_id, envelope=envelope)
    except TherabillError as exc:
        fail_from(exc)
    _write(output, text)
    if as_json:
        print_json({"output": str(output), "transaction": "276", "control_number": control})
        return
    stdout.print(f"wrote {output} (276, control number {control})")


@export_app.command("fhir")
def export_fhir(
    patient_id: Annotated[str, typer.Argument(help="The patient's internal id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The Bundle JSON file to write.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a patient's record as a FHIR R4 Bundle (checked with the R4B models)."""
    try:
        engine, practice_id = open_practice(practice)
        bundle = patient_bundle(engine, practice_id, system_actor(), patient_id)
        model = validate_bundle(bundle)
    except TherabillError as exc:
        fail_from(exc)
    _write(output, json.dumps(json.loads(model.model_dump_json(exclude_none=True)), indent=2) + "\n")
    if as_json:
        print_json({"output": str(output), "resources": len(bundle["entry"])})
        return
    stdout.print(f"wrote {output} ({len(bundle['entry'])} resources)")


@export_app.command("csv")
def export_csv(
    what: Annotated[str, typer.Argument(help="ledger or claims")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The CSV file to write.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export the ledger or the claims as CSV for an accountant."""
    if what not in ("ledger", "claims"):
        fail(f"{what!r}: export ledger or claims")
    try:
        engine, practice_id = open_practice(practice)
        text = (export_ledger if what == "ledger" else export_claims)(engine, practice_id, system_actor())
    except TherabillError as exc:
        fail_from(exc)
    _write(output, text)
    if as_json:
        print_json({"output": str(output), "rows": text.count(chr(10)) - 1})
        return
    stdout.print(f"wrote {output} ({text.count(chr(10)) - 1} rows)")


@import_app.command("csv")
def import_csv_command(
    kind: Annotated[str, typer.Argument(help="patients, coverages or appointments")],
    file: Annotated[str, typer.Argument(help="The CSV file (or - for standard input).")],
    mapping: Annotated[
        str, typer.Option("--mapping", help="generic, jane, massagebook, or a TOML file.")
    ] = "generic",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and show what would be created; write nothing.")
    ] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import rows from a CSV export: every row checked first, then all in one transaction."""
    data = read_input(file)
    try:
        engine, practice_id = open_practice(practice)
        plan = import_csv(engine, practice_id, system_actor(), kind, data, mapping=mapping, dry_run=dry_run)
    except CsvImportError as exc:
        # rows with problems are findings in the data (1); a file that cannot be read at all is 2
        rows = bool(exc.problems) and all(p.loc.startswith("row ") for p in exc.problems)
        fail(str(exc), exc.problems, code=EXIT_FINDINGS if rows else EXIT_INVALID)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            {
                "kind": kind,
                "dry_run": dry_run,
                "created": 0 if dry_run else len(plan.creates),
                "rows": plan.creates,
            }
        )
        return
    for c in plan.creates:
        stdout.print(f"row {c['row']}: " + ", ".join(f"{k} {v}" for k, v in c.items() if k != "row"))
    verb = "would create" if dry_run else "created"
    stdout.print(f"{verb} {len(plan.creates)} {kind}")


def register(app: typer.Typer) -> None:
    """Add the interoperability commands to the main app and ``claims follow-up``."""
    app.command("submit")(submit_command)
    app.command("fetch")(fetch_command)
    claims_app.command("follow-up")(follow_up_command)
    app.add_typer(status_app, name="status")
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
