"""``therabill eligibility``: write a 270 inquiry, read a 271 response (no database)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from therabill.adapters.x12.envelope import load_settings
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.x270_005010X279A1 import inquiry_from_encounter, write_270
from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.clock import current_time
from therabill.domain.eligibility import THERAPY_INQUIRY_SERVICE_TYPES, EligibilitySummary
from therabill.entrypoints.cli._practice import PracticeOption, control_number_for
from therabill.entrypoints.cli.common import (
    ControlNumberOption,
    CreatedOption,
    EnvelopeConfigOption,
    JsonOption,
    ProductionOption,
    fail,
    fail_from,
    print_json,
    read_input,
    stdout,
)
from therabill.entrypoints.cli.x12 import write_atomic
from therabill.schemas.encounter import DocumentError, parse_encounters

eligibility_app = typer.Typer(
    help="270/271 eligibility: write inquiries, read responses.", no_args_is_help=True
)


@eligibility_app.command("request")
def eligibility_request(
    file: Annotated[str, typer.Argument(help="Encounter document(s) (JSON: one object or a list).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The 270 file to write.")],
    control_number: ControlNumberOption = None,
    practice: PracticeOption = None,
    production: ProductionOption = False,
    config_file: EnvelopeConfigOption = None,
    service_date: Annotated[
        str | None,
        typer.Option("--date", help="Date asked about (YYYY-MM-DD); default the visit's date."),
    ] = None,
    service_types: Annotated[
        str, typer.Option("--service-types", help="EQ01 service type codes, comma separated.")
    ] = ",".join(THERAPY_INQUIRY_SERVICE_TYPES),
    created: CreatedOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a 270 (005010X279A1) asking the payer about each encounter's primary coverage.

    Asks for service types BE (massage), AE (physical medicine) and 30 (plan coverage) by
    default; the trace number (TRN02) is the encounter id. Nothing is written on error.
    """
    try:
        when = (
            datetime.fromisoformat(created)
            if created
            else current_time().replace(tzinfo=None, second=0, microsecond=0)
        )
        asked = date.fromisoformat(service_date) if service_date else None
    except ValueError as exc:
        fail(f"bad date: {exc}")
    types = tuple(t.strip().upper() for t in service_types.split(",") if t.strip())
    try:
        settings = load_settings(config_file, {"usage_indicator": "P"} if production else None)
        encounters = parse_encounters(read_input(file))
    except DocumentError as exc:
        fail(f"{file}: the document breaks the schema", exc.problems)
    except X12Error as exc:
        fail_from(exc)
    try:
        inquiries = [
            inquiry_from_encounter(e, e.encounter_id, service_date=asked, service_types=types)
            for e in encounters
        ]
        number = control_number_for(control_number, practice)
        text = write_270(inquiries, settings, control_number=number, created=when)
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
                "inquiries": len(inquiries),
                "service_types": list(types),
                "control_number": number,
                "usage": settings.usage_indicator,
            }
        )
        return
    stdout.print(
        f"wrote {output}: {len(inquiries)} inquiry(ies) for {', '.join(types)}, control number {number},"
        f" usage {settings.usage_indicator}"
    )


def summary_json(s: EligibilitySummary) -> dict[str, Any]:
    """The summary as JSON-ready data (amounts and dates as strings)."""
    data = asdict(s)
    data["therapy_amounts_applied"] = [{"service_type": t, "amount": a} for t, a in s.therapy_amounts_applied]
    return data


@eligibility_app.command("read")
def eligibility_read(
    file: Annotated[str, typer.Argument(help="A 271 file, or - for standard input.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list of summaries).")] = False,
) -> None:
    """Summarise a 271: active, plan dates, copay, coinsurance, deductible, visits, authorization."""
    try:
        summaries = list(read_271(read_input(file)))
    except X12Error as exc:
        fail_from(exc)
    if as_json:
        print_json([summary_json(s) for s in summaries])
        return
    for s in summaries:
        who = " ".join(p for p in (s.first_name, s.last_name) if p) or "?"
        state = {True: "ACTIVE", False: "NOT ACTIVE", None: "activity not stated"}[s.active]
        stdout.print(f"{who} ({s.member_id or '?'}) at {s.payer_name or '?'}: {state}")
        stdout.print(f"  plan {s.plan_name or '?'} {s.plan_begin or '?'} to {s.plan_end or '?'}")
        stdout.print(
            f"  copay {s.copay}, coinsurance {s.coinsurance}, deductible {s.deductible}"
            f" (remaining {s.deductible_remaining}), visits {s.visit_limit} (remaining {s.visits_remaining}),"
            f" authorization required: {s.authorization_required}"
        )
        if s.only_general_answer:
            stdout.print(
                "  the payer answered only for service type 30 (plan coverage), not for massage/therapy"
            )
        elif s.benefits and not set(s.service_types_answered) & {"BE", "AE", "PT", "AD"}:
            stdout.print(
                "  no answer for massage or physical medicine (BE/AE/PT/AD): the therapy benefit is unknown"
            )
        for r in s.rejections:
            stdout.print(f"  rejected ({r.loop}): {r.reason} {r.words}")
