"""``therabill form``: the PDF documents (CMS-1500, superbill, statement, receipt, notes).

Each command writes the PDF where ``-o`` says, and only when the whole document rendered:
nothing half written. File names are the caller's; defaults never carry a name or a date of
birth, only opaque ids.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from therabill.clock import current_date
from therabill.domain.encounter import Encounter
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import fail, fail_from, option_day, print_json, read_input, stdout
from therabill.schemas.encounter import DocumentError, parse_encounter
from therabill.service_layer.database import open_database
from therabill.service_layer.documents import (
    cms1500_pdf,
    note_pdf,
    note_pdf_for_visit,
    progress_pdf_for_patient,
    receipt_pdf_for_payment,
    statement_pdf_for_patient,
    superbill_pdf,
)
from therabill.service_layer.practice import resolve_practice
from therabill.service_layer.uow import system_actor

form_app = typer.Typer(
    help="Print documents as PDF: CMS-1500, superbill, statement, receipt, SOAP note, progress report.",
    no_args_is_help=True,
)

OutOption = Annotated[Path, typer.Option("-o", "--output", help="Where to write the PDF.")]
DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Date the document is signed or issued (YYYY-MM-DD); default today."),
]


def _day(text: str | None) -> date:
    return option_day(text, "--date", current_date())


def _encounter(path: str) -> Encounter:
    raw = read_input(path)
    try:
        return parse_encounter(raw)
    except DocumentError as exc:
        fail(f"{path}: the document breaks the schema", exc.problems)


def write_atomically(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out`` through a temporary file in the same folder, then rename."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        fail(f"cannot write {out}: no folder {folder}")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".therabill-", suffix=".pdf.part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        fail(f"cannot write {out}: {exc.strerror}")


def opaque_id(prefix: str, *parts: str) -> str:
    """A short id derived from record ids, e.g. ``SB-3f9a0c21d4`` (no personal data)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:10]
    return f"{prefix}-{digest}"


@form_app.command("cms1500")
def cms1500_command(
    file: Annotated[str, typer.Argument(help="Encounter document (JSON), or - for standard input.")],
    output: OutOption,
    full: Annotated[
        bool,
        typer.Option(
            "--full/--print", help="--full draws the form under the data; --print (default) is data only."
        ),
    ] = False,
    signed: DateOption = None,
    overflow: Annotated[
        str | None, typer.Option("--overflow", help="split | continuation (default: the payer profile's)")
    ] = None,
    box19: Annotated[
        str | None, typer.Option("--box19", help="Additional claim information (box 19).")
    ] = None,
    dump: Annotated[
        bool, typer.Option("--json", help="Also print the filled boxes as JSON (SSN masked).")
    ] = False,
) -> None:
    """Print the CMS-1500 (02/12) claim form of an encounter.

    --print places the data for the pre-printed red form (load red forms, print at 100 %);
    --full draws the boxes too, for payers that take a PDF or fax, and for review.
    """
    enc = _encounter(file)
    try:
        pdf, forms = cms1500_pdf(
            enc, mode="full" if full else "print", signed_on=_day(signed), overflow=overflow, box19=box19
        )
    except TherabillError as exc:
        fail_from(exc)
    write_atomically(output, pdf)
    if dump:
        print_json([{"claim_id": f.claim_id, "page": f.page, "fields": f.redacted()} for f in forms])
    else:
        stdout.print(f"wrote {output} ({len(forms)} form{'s' if len(forms) > 1 else ''})")


@form_app.command("superbill")
def superbill_command(
    files: Annotated[
        list[str], typer.Argument(help="Encounter documents (JSON) of one client; several = a date range.")
    ],
    output: OutOption,
    issued: DateOption = None,
    paid_by: Annotated[
        str | None, typer.Option("--paid-by", help="How the client paid (card, cash, ...).")
    ] = None,
) -> None:
    """Print a superbill for one visit, or several visits of one client (a date range)."""
    encs = [_encounter(f) for f in files]
    doc_id = opaque_id("SB", *(e.encounter_id for e in encs))
    try:
        pdf = superbill_pdf(encs, document_id=doc_id, issued_on=_day(issued), payment_method=paid_by)
    except TherabillError as exc:
        fail_from(exc)
    write_atomically(output, pdf)
    stdout.print(f"wrote {output} (superbill {doc_id}, {len(encs)} visit{'s' if len(encs) > 1 else ''})")


@form_app.command("note")
def note_command(
    visit_id: Annotated[str, typer.Argument(help="The stored visit's id (or use --encounter FILE).")],
    output: OutOption,
    practice: Annotated[str | None, typer.Option("--practice", help="Practice slug or id.")] = None,
    encounter_file: Annotated[
        str | None,
        typer.Option("--encounter", help="Render from an encounter document instead of the records."),
    ] = None,
) -> None:
    """Print the SOAP note of a visit."""
    try:
        if encounter_file:
            pdf = note_pdf(_encounter(encounter_file))
        else:
            engine = open_database()
            pdf = note_pdf_for_visit(engine, resolve_practice(engine, practice), system_actor(), visit_id)
    except TherabillError as exc:
        fail_from(exc)
    write_atomically(output, pdf)
    stdout.print(f"wrote {output}")


@form_app.command("statement")
def statement_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's id.")],
    output: OutOption,
    practice: Annotated[str | None, typer.Option("--practice", help="Practice slug or id.")] = None,
    dated: DateOption = None,
) -> None:
    """Print a patient statement from the ledger (insurance paid and adjusted, amount due, aging)."""
    try:
        engine = open_database()
        pdf = statement_pdf_for_patient(
            engine, resolve_practice(engine, practice), system_actor(), patient_id, statement_date=_day(dated)
        )
    except TherabillError as exc:
        fail_from(exc)
    write_atomically(output, pdf)
    stdout.print(f"wrote {output}")


def _optional_day(text: str | None, option: str) -> date | None:
    return option_day(text, option)


@form_app.command("receipt")
def receipt_command(
    payment_ref: Annotated[
        str, typer.Argument(help="The payment's idempotency key (payments post --key) or a ledger entry id.")
    ],
    output: OutOption,
    practice: Annotated[str | None, typer.Option("--practice", help="Practice slug or id.")] = None,
) -> None:
    """Print a receipt for a patient payment: amount, method, what it paid, balance after (from the ledger)."""
    try:
        engine = open_database()
        pdf = receipt_pdf_for_payment(engine, resolve_practice(engine, practice), system_actor(), payment_ref)
    except TherabillError as exc:
        fail_from(exc)
    write_atomically(output, pdf)
    stdout.print(f"wrote {output}")


@form_app.command("progress")
def progress_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's id.")],
    output: OutOption,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First visit date to include (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last visit date to include (YYYY-MM-DD).")
    ] = None,
    practice: Annotated[str | None, typer.Option("--practice", help="Practice slug or id.")] = None,
    signed: DateOption = None,
) -> None:
    """Print a progress report over the patient's documented visits: goals, pain and ROM chart, feedback."""
    start, end, signed_on = _optional_day(date_from, "--from"), _optional_day(date_to, "--to"), _day(signed)
    try:
        engine = open_database()
        pdf = progress_pdf_for_patient(
            engine,
            resolve_practice(engine, practice),
            system_actor(),
            patient_id,
            date_from=start,
            date_to=end,
            signed_on=signed_on,
        )
    except TherabillError as exc:
        fail_from(exc)
    write_atomically(output, pdf)
    stdout.print(f"wrote {output}")
