"""``therabill catalog`` and ``therabill icd10``: the published vocabularies and ICD-10-CM checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from therabill.clock import current_date
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import JsonOption, fail, fail_from, option_day, print_json, stdout
from therabill.refdata.catalog import body_regions, default_catalog, modifiers
from therabill.refdata.icd10 import icd10, import_release_files, list_releases

catalog_app = typer.Typer(
    help="The code catalog, modifiers and body regions therabill knows.", no_args_is_help=True
)
icd10_app = typer.Typer(
    help="ICD-10-CM: check codes, search, import official releases.", no_args_is_help=True
)


@catalog_app.command("codes")
def codes(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the supported CPT/HCPCS codes with their unit model and techniques."""
    cat = default_catalog()
    rows = [
        {
            "code": c.code,
            "category": c.category,
            "unit_model": c.unit_model.value,
            "medicare_status": c.medicare_status,
            "description": c.description,
            "techniques": list(c.techniques),
        }
        for c in cat.codes.values()
    ]
    if as_json:
        print_json({"source": str(cat.source), "codes": rows})
        return
    table = Table(title=f"Code catalog ({cat.source})", title_justify="left")
    for col in ("code", "unit model", "Medicare", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["code"]), str(r["unit_model"]), str(r["medicare_status"]), str(r["description"]))
    stdout.print(table)


@catalog_app.command("modifiers")
def list_modifiers(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the modifiers and what they mean."""
    mods = modifiers()
    if as_json:
        print_json([{"code": m.code, "meaning": m.meaning, "kind": list(m.kind)} for m in mods.values()])
        return
    table = Table(title="Modifiers", title_justify="left")
    table.add_column("modifier")
    table.add_column("meaning")
    for m in mods.values():
        table.add_row(m.code, m.meaning)
    stdout.print(table)


@catalog_app.command("regions")
def regions(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the body-region vocabulary of services[].body_regions."""
    regs = body_regions()
    if as_json:
        print_json([{"id": r.id, "label": r.label, "group": r.group} for r in regs.values()])
        return
    for r in regs.values():
        stdout.print(f"{r.id:<18} {r.label} ({r.group})")


@icd10_app.command("check")
def check(
    codes_: Annotated[list[str], typer.Argument(metavar="CODE...", help="ICD-10-CM codes.")],
    on: Annotated[
        str | None, typer.Option("--date", help="Date of service (YYYY-MM-DD); default today.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check codes: valid, billable (a leaf), 7th character, and which release was used."""
    day = _parse_day(on)
    try:
        results = [icd10().check(c, day) for c in codes_]
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            [
                {
                    "code": r.code,
                    "valid": r.valid,
                    "billable": r.billable,
                    "needs_seventh_character": r.needs_seventh_character,
                    "description": r.description,
                    "release": r.release,
                    "release_covers_date": r.release_covers_date,
                }
                for r in results
            ]
        )
    else:
        for r in results:
            state = (
                "billable" if r.billable else ("not billable (a category)" if r.valid else "not a valid code")
            )
            if r.needs_seventh_character:
                state = "needs its 7th character"
            stdout.print(f"{r.code}: {state}. {r.description or ''}  (release {r.release})")
            if not r.release_covers_date:
                stdout.print(
                    f"  note: release {r.release} does not cover {day}; import the release in force."
                )
    raise typer.Exit(0 if all(r.billable for r in results) else 1)


@icd10_app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="Words of a description, or the start of a code.")],
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    as_json: JsonOption = False,
) -> None:
    """Search billable codes by description words or code prefix."""
    found = icd10().search(text, limit=limit)
    if as_json:
        print_json([{"code": code, "description": desc} for code, desc in found])
        return
    for code, desc in found:
        stdout.print(f"{code:<9} {desc}")


@icd10_app.command("releases")
def releases(as_json: JsonOption = False) -> None:
    """List the known releases with their effective dates."""
    if as_json:
        print_json(
            [
                {
                    "name": r.name,
                    "from": r.effective_from,
                    "to": r.effective_to,
                    "label": r.label,
                    "source": r.source,
                }
                for r in list_releases()
            ]
        )
        return
    for r in list_releases():
        stdout.print(f"{r.name:<10} {r.effective_from} to {r.effective_to}  {r.label}  ({r.source})")


@icd10_app.command("import")
def import_(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="The CMS files as distributed: the zips (e.g. icd10cm-table-index-2027.zip and "
            "icd10cm-code-descriptions-2027.zip) or the tabular XML and code list themselves."
        ),
    ] = None,
    tabular: Annotated[
        Path | None, typer.Option(help="The official tabular XML (icd10cm-tabular-YYYY.xml).")
    ] = None,
    codes_file: Annotated[
        Path | None, typer.Option("--codes", help="The official code list (icd10cm-codes-YYYY.txt).")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Short name of the release, e.g. 2026-10 (default: from the file names)."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="First date of service it applies to (default: from the names)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last date of service it applies to (default: from the names).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import an official CMS ICD-10-CM release into the data folder (no code change needed)."""
    paths = [*(files or []), *(p for p in (tabular, codes_file) if p is not None)]
    if not paths:
        fail("give the CMS release files (the zips, or --tabular and --codes)")
    try:
        release = import_release_files(
            paths,
            name=name,
            effective_from=_parse_day(start, "--from") if start else None,
            effective_to=_parse_day(end, "--to") if end else None,
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"release": release.name, "from": release.effective_from, "to": release.effective_to})
        return
    stdout.print(f"imported ICD-10-CM {release.name}: {release.effective_from} to {release.effective_to}")


def _parse_day(text: str | None, option: str = "--date") -> date:
    return option_day(text, option, current_date())
