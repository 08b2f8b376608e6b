"""``therabill authorizations`` and ``therabill referrals``: what the front desk keeps on file
beside a patient's coverages, through the same services as the web pages and the API.

Patients are named by chart number (or internal id), coverages by their order (``primary``,
``secondary``, ``tertiary``: the one in force) or id, authorizations by their number or id.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from therabill import config
from therabill.clock import current_date
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, open_as_operator
from therabill.entrypoints.cli.common import JsonOption, fail, fail_from, option_day, print_json, stdout
from therabill.service_layer import authorizations, coverages, referrals

authorizations_app = typer.Typer(
    help="Prior authorizations of a patient's coverages: add, extend, burn-down.", no_args_is_help=True
)
referrals_app = typer.Typer(
    help="Referrals and prescriptions on file, with their documents.", no_args_is_help=True
)

PatientArg = Annotated[str, typer.Argument(help="The patient's chart number (or internal id).")]
CoverageOption = Annotated[
    str,
    typer.Option("--coverage", help="primary, secondary, tertiary (the one in force) or the coverage's id."),
]


def _codes(text: str | None) -> list[str]:
    return [c for c in (text or "").replace(",", " ").split() if c]


def _days_left(end: date | None, today: date) -> int | None:
    return None if end is None else (end - today).days


def _authorization_json(row: Any, payer: str | None, sequence: str | None, today: date) -> dict[str, Any]:
    left = authorizations.authorization_remaining(row)
    days = _days_left(row.end_date, today)
    return {
        "id": row.id,
        "number": row.number,
        "payer": payer,
        "coverage": sequence,
        "codes": list(row.codes or []),
        "start_date": row.start_date,
        "end_date": row.end_date,
        "units_pooled": bool(row.units_pooled),
        "visits_allowed": row.visits_allowed,
        "visits_used": row.visits_used,
        "visits_left": left.visits,
        "units_allowed": row.units_allowed,
        "units_used": row.units_used,
        "units_left": left.units,
        "days_left": days,
        "expired": days is not None and days < 0,
    }


def _limit(used: int, allowed: int | None, left: int | None, what: str) -> str:
    return f"{what} {used} used, no limit" if allowed is None else f"{what} {left} of {allowed} left"


def _print_authorization(a: dict[str, Any]) -> None:
    dates = f"{a['start_date'] or '?'} to {a['end_date'] or '?'}"
    state = " (expired)" if a["expired"] else ""
    stdout.print(
        f"{a['number']}  {a['payer'] or ''} {a['coverage'] or ''}  {dates}{state}  "
        f"{' '.join(a['codes']) or 'any code'}  "
        f"{_limit(a['visits_used'], a['visits_allowed'], a['visits_left'], 'visits')}; "
        f"{_limit(a['units_used'], a['units_allowed'], a['units_left'], 'units')}"
    )


@authorizations_app.command("create")
def authorization_create(
    patient: PatientArg,
    number: Annotated[str, typer.Option("--number", help="The authorization number the payer gave.")],
    coverage: CoverageOption = "primary",
    codes: Annotated[
        str | None, typer.Option("--codes", help="CPT codes it covers, e.g. '97124 97140' (default: any).")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    visits: Annotated[int | None, typer.Option("--visits", help="Visits allowed.")] = None,
    units: Annotated[int | None, typer.Option("--units", help="Units allowed.")] = None,
    units_per_code: Annotated[
        bool, typer.Option("--units-per-code", help="The units are per code, not pooled across the codes.")
    ] = False,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a prior authorization on a patient's coverage."""
    first, last = option_day(start, "--from"), option_day(end, "--to")
    try:
        engine, principal = open_as_operator(practice)
        cov = coverages.find_coverage(engine, principal, patient, coverage)
        new = authorizations.add_coverage_authorization(
            engine,
            principal,
            cov.id,
            number=number,
            start_date=first,
            end_date=last,
            codes=_codes(codes),
            units_pooled=not units_per_code,
            visits_allowed=visits,
            units_allowed=units,
        )
        row = authorizations.authorization_record(engine, principal, new)
    except TherabillError as exc:
        fail_from(exc)
    out = _authorization_json(row, None, cov.sequence, current_date())
    if as_json:
        print_json(out)
        return
    stdout.print(f"authorization {number} added to the {cov.sequence} coverage")
    _print_authorization(out)


@authorizations_app.command("extend")
def authorization_extend(
    authorization: Annotated[str, typer.Argument(help="The authorization's number (or internal id).")],
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="The patient's chart number, when the number is not unique."),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="The new last day, YYYY-MM-DD.")] = None,
    add_visits: Annotated[int, typer.Option("--add-visits", help="More visits granted.")] = 0,
    add_units: Annotated[int, typer.Option("--add-units", help="More units granted.")] = 0,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Grant more visits or units, or a later end date (what was used stays used)."""
    last = option_day(end, "--to")
    try:
        engine, principal = open_as_operator(practice)
        found = authorizations.find_authorization(engine, principal, authorization, patient)
        authorizations.extend_authorization(
            engine, principal, found.id, end_date=last, add_visits=add_visits, add_units=add_units
        )
        row = authorizations.authorization_record(engine, principal, found.id)
    except TherabillError as exc:
        fail_from(exc)
    out = _authorization_json(row, None, None, current_date())
    if as_json:
        print_json(out)
        return
    stdout.print(f"authorization {row.number} extended")
    _print_authorization(out)


@authorizations_app.command("list")
def authorization_list(
    patient: PatientArg,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """A patient's authorizations with their burn-down: visits and units used and left, days left."""
    try:
        engine, principal = open_as_operator(practice)
        found_patient, found = authorizations.patient_authorizations(engine, principal, patient)
    except TherabillError as exc:
        fail_from(exc)
    today = current_date()
    rows = [_authorization_json(a, cov.payer_name, cov.row.sequence, today) for cov, a in found]
    if as_json:
        print_json(rows)
        return
    stdout.print(f"{found_patient.last_name}, {found_patient.first_name}  chart {found_patient.chart_number}")
    for a in rows:
        _print_authorization(a)
    stdout.print(f"{len(rows)} authorizations")


def _referral_json(row: Any, today: date) -> dict[str, Any]:
    days = _days_left(row.expires_on, today)
    return {
        "id": row.id,
        "kind": row.kind,
        "number": row.number,
        "prescriber_name": row.prescriber_name,
        "prescriber_npi": row.prescriber_npi,
        "issued_on": row.issued_on,
        "expires_on": row.expires_on,
        "days_left": days,
        "expired": days is not None and days < 0,
        "visits_allowed": row.visits_allowed,
        "coverage_id": row.coverage_id,
        "document": (
            {"file_name": row.file_name, "content_type": row.content_type, "bytes": row.file_bytes}
            if row.stored_as
            else None
        ),
    }


def _print_referral(r: dict[str, Any]) -> None:
    if r["expires_on"] is None:
        expiry = "no expiry"
    elif r["expired"]:
        expiry = f"EXPIRED {r['expires_on']}"
    else:
        expiry = f"expires {r['expires_on']} ({r['days_left']} days)"
    doc = f"document {r['document']['file_name']}" if r["document"] else "no document"
    who = r["prescriber_name"] or "prescriber not given"
    stdout.print(f"{r['kind']:<12} {r['number'] or '-'}  {who}  {expiry}  {doc}  [{r['id']}]")


@referrals_app.command("add")
def referral_add(
    patient: PatientArg,
    kind: Annotated[str, typer.Option("--kind", help="referral or prescription.")] = "referral",
    number: Annotated[str | None, typer.Option("--number", help="The referral or order number.")] = None,
    prescriber: Annotated[
        str | None, typer.Option("--prescriber", help="Who referred or prescribed.")
    ] = None,
    prescriber_npi: Annotated[str | None, typer.Option("--prescriber-npi", help="Their NPI.")] = None,
    issued: Annotated[
        str | None, typer.Option("--issued", help="The day it was written, YYYY-MM-DD.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="The last day it is valid, YYYY-MM-DD.")
    ] = None,
    visits: Annotated[int | None, typer.Option("--visits", help="Visits it allows.")] = None,
    coverage: Annotated[
        str | None,
        typer.Option("--coverage", help="The coverage it is for: primary, secondary, ... or an id."),
    ] = None,
    document: Annotated[
        Path | None,
        typer.Option("--document", help="The signed document: a PDF, PNG or JPEG file (10 MB at most)."),
    ] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Keep a referral or prescription on file, with its signed document."""
    data = b""
    if document is not None:
        try:
            data = document.read_bytes()
        except OSError as exc:
            fail(f"cannot read {document}: {exc.strerror}")
    try:
        engine, principal = open_as_operator(practice)
        coverage_id = coverages.find_coverage(engine, principal, patient, coverage).id if coverage else None
        new = referrals.add_referral(
            engine,
            principal,
            patient,
            referrals.NewReferral(
                kind=kind,
                number=number,
                prescriber_name=prescriber,
                prescriber_npi=prescriber_npi,
                issued_on=option_day(issued, "--issued"),
                expires_on=option_day(expires, "--expires"),
                visits_allowed=visits,
                coverage_id=coverage_id,
                file_name=document.name if document else None,
                data=data,
            ),
            config.data_dir(),
        )
        row = next(r for r in referrals.referrals_of(engine, principal, patient) if r.id == new)
    except TherabillError as exc:
        fail_from(exc)
    out = _referral_json(row, current_date())
    if as_json:
        print_json(out)
        return
    stdout.print(f"{kind} kept on file")
    _print_referral(out)


@referrals_app.command("list")
def referral_list(
    patient: PatientArg,
    expiring_within: Annotated[
        int | None,
        typer.Option(
            "--expiring-within", min=0, help="Only those expired or expiring within this many days."
        ),
    ] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """A patient's referrals and prescriptions, newest first, with their expiry."""
    try:
        engine, principal = open_as_operator(practice)
        found = referrals.referrals_of(engine, principal, patient)
    except TherabillError as exc:
        fail_from(exc)
    today = current_date()
    rows = [_referral_json(r, today) for r in found]
    if expiring_within is not None:
        rows = [r for r in rows if r["days_left"] is not None and r["days_left"] <= expiring_within]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        _print_referral(r)
    stdout.print(f"{len(rows)} on file")


@referrals_app.command("document")
def referral_document(
    referral: Annotated[str, typer.Argument(help="The referral's id (see: therabill referrals list).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Write the document here.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a referral's stored document to a file (checked against the fingerprint kept)."""
    try:
        engine, principal = open_as_operator(practice)
        data, content_type, name = referrals.referral_document(engine, principal, referral, config.data_dir())
    except TherabillError as exc:
        fail_from(exc)
    out.write_bytes(data)
    if as_json:
        print_json({"file": str(out), "file_name": name, "content_type": content_type, "bytes": len(data)})
        return
    stdout.print(f"{name} ({content_type}, {len(data)} bytes) written to {out}")
