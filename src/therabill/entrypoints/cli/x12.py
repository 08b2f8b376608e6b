"""``therabill x12``: write 837P files from encounter documents, validate X12 files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from therabill import config
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.validate import NotValidatable, validate
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.clock import current_date, current_time
from therabill.domain.claim import Claim, build_claim
from therabill.domain.encounter import Encounter
from therabill.domain.errors import Problem, TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, control_number_for
from therabill.entrypoints.cli.common import (
    EXIT_FINDINGS,
    ControlNumberOption,
    CreatedOption,
    EnvelopeConfigOption,
    JsonOption,
    ProductionOption,
    fail,
    fail_from,
    print_json,
    read_input,
    stderr,
    stdout,
)
from therabill.schemas.encounter import DocumentError, parse_encounters
from therabill.scrubber import scrub
from therabill.service_layer import batches
from therabill.service_layer.coding import units_of

x12_app = typer.Typer(help="X12 EDI: write 837P claim files, validate X12 files.", no_args_is_help=True)


def scrub_gate(encounters: Sequence[Encounter], as_of: date, override_reason: str | None) -> list[Problem]:
    """Scrub every encounter; the errors that block writing (empty when all pass).

    With ``override_reason`` the errors are reported but do not block.
    """
    blocking: list[Problem] = []
    for enc in encounters:
        result = scrub(enc, as_of=as_of)
        if result.has_errors:
            blocking.extend(
                Problem(f.rule_id, f"{enc.encounter_id}: {f.loc}", f.message)
                for f in result.findings
                if str(f.severity) == "error"
            )
    if blocking and override_reason:
        for p in blocking:
            stderr.print(f"  overridden: {p.loc}: {p.message} ({p.code})")
        stderr.print(f"[yellow]scrub errors overridden[/]: {override_reason}", markup=True)
        return []
    return blocking


def _claims(encounters: Sequence[Encounter]) -> list[Claim]:
    claims: list[Claim] = []
    problems: list[Problem] = []
    for enc in encounters:
        try:
            claims.append(build_claim(enc, units_of(enc.services, enc.payer_profile)))
        except TherabillError as exc:
            problems.extend(Problem(p.code, f"{enc.encounter_id}: {p.loc}", p.message) for p in exc.problems)
    if problems:
        fail("some encounters cannot become claims", problems)
    return claims


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=".therabill-", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="ascii", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@x12_app.command("837")
def x12_837(
    files: Annotated[list[str], typer.Argument(help="Encounter documents (JSON: one object or a list).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The 837P file to write.")],
    control_number: ControlNumberOption = None,
    practice: PracticeOption = None,
    production: ProductionOption = False,
    config_file: EnvelopeConfigOption = None,
    override_scrub: Annotated[
        bool,
        typer.Option("--override-scrub", help="Write even when the scrubber finds errors (needs --reason)."),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the scrub errors are overridden.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Scrub as of this date (YYYY-MM-DD); default today.")
    ] = None,
    created: CreatedOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write one 837P (005010X222A1) file from encounter documents.

    Only claims the scrubber passes without errors are written (exit 1 otherwise), unless
    --override-scrub --reason TEXT is given. Nothing is written when anything fails.
    """
    if override_scrub and not (reason and reason.strip()):
        fail("--override-scrub needs --reason TEXT")
    try:
        when = (
            datetime.fromisoformat(created)
            if created
            else current_time().replace(tzinfo=None, second=0, microsecond=0)
        )
        scrub_date = date.fromisoformat(as_of) if as_of else current_date()
    except ValueError as exc:
        fail(f"bad date: {exc}")
    try:
        settings = batches.practice_envelope(
            config.data_dir(), production=True if production else None, config_file=config_file
        )
    except X12Error as exc:
        fail_from(exc)
    encounters: list[Encounter] = []
    for f in files:
        try:
            encounters.extend(parse_encounters(read_input(f)))
        except DocumentError as exc:
            fail(f"{f}: the document breaks the schema", exc.problems)
    blocking = scrub_gate(encounters, scrub_date, reason if override_scrub else None)
    if blocking:
        fail("the scrubber found errors; no file was written", blocking, code=EXIT_FINDINGS)
    claims = _claims(encounters)
    try:
        number = control_number_for(control_number, practice)
        text = write_837p(claims, settings, control_number=number, created=when)
    except X12Error as exc:
        fail_from(exc)
    try:
        write_atomic(output, text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    if as_json:
        print_json(
            {
                "output": str(output),
                "claims": len(claims),
                "control_number": number,
                "usage": settings.usage_indicator,
            }
        )
        return
    stdout.print(
        f"wrote {output}: {len(claims)} claim(s), control number {number}, usage {settings.usage_indicator}"
    )


@x12_app.command("validate")
def x12_validate(
    file: Annotated[str, typer.Argument(help="An X12 file (837P, 835, 999...).")], as_json: JsonOption = False
) -> None:
    """Validate an X12 file against its implementation guide with pyx12.

    Exit 0 valid, 1 errors found, 2 unusable input or a transaction pyx12 cannot validate
    (270, 271, 276, 277).
    """
    text = read_input(file).decode("latin-1")
    try:
        result = validate(text)
    except NotValidatable as exc:
        fail(str(exc))
    except X12Error as exc:
        fail_from(exc)
    kinds = ", ".join(sorted(set(result.transaction_types))) or "none"
    if as_json:
        print_json(
            {
                "file": file,
                "ok": result.ok,
                "transactions": sorted(set(result.transaction_types)),
                "errors": list(result.errors),
            }
        )
        if not result.ok:
            raise typer.Exit(EXIT_FINDINGS)
        return
    if result.ok:
        stdout.print(f"{file}: OK (transactions: {kinds})")
        return
    stdout.print(f"{file}: {len(result.errors)} error(s) (transactions: {kinds})")
    for message in result.errors:
        stdout.print(f"  {message}")
    raise typer.Exit(EXIT_FINDINGS)
