"""``therabill intake``: a client's health history, its versions, and a visit's check."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from therabill.domain.errors import TherabillError
from therabill.domain.intake import IntakeVersion, intake_to_dict
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import (
    EXIT_FINDINGS,
    JsonOption,
    fail,
    fail_from,
    print_json,
    read_input,
    stdout,
)
from therabill.service_layer import intake as svc
from therabill.service_layer.uow import system_actor

intake_app = typer.Typer(
    help="Client intake: health history, contraindications, consent.", no_args_is_help=True
)


def _version_dict(v: IntakeVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "patient_id": v.patient_id,
        "version": v.version,
        "created_by": v.created_by,
        "created_at": v.created_at,
        "signed_by": v.signed_by,
        "signed_at": v.signed_at,
        "content": intake_to_dict(v.record),
    }


def _summary(v: IntakeVersion) -> None:
    r = v.record
    signed = f"signed by {v.signed_by} {v.signed_at:%Y-%m-%d}" if v.signed_at else "NOT SIGNED"
    stdout.print(f"Intake version {v.version} · entered by {v.created_by} {v.created_at:%Y-%m-%d} · {signed}")
    stdout.print(f"Reason for care: {r.reason_for_care or '-'}")
    o = r.onset
    stdout.print(f"Onset: {o.date or '?'} ({o.mechanism}){' - ' + o.description if o.description else ''}")
    rows = [
        (
            "Current conditions",
            [c.name + (f" [{', '.join(c.regions)}]" if c.regions else "") for c in r.current_conditions],
        ),
        (
            "Past surgeries/injuries",
            [f"{e.kind}: {e.description} {e.date or ''}".strip() for e in r.past_events],
        ),
        ("Medications", [m.name for m in r.medications]),
        ("Allergies", [f"{a.substance} ({a.kind})" for a in r.allergies]),
        ("Devices", [d.name for d in r.devices]),
        ("Areas to avoid", [a.region + (f": {a.reason}" if a.reason else "") for a in r.areas_to_avoid]),
    ]
    for label, items in rows:
        stdout.print(f"{label}: {'; '.join(items) if items else 'none'}")
    p = r.pregnancy
    stdout.print(
        f"Pregnant: {'yes' + (f', {p.weeks} weeks' if p.weeks else '') + (', high-risk' if p.high_risk else '') if p.pregnant else 'no'}"
    )
    stdout.print(f"Pressure preference: {r.pressure_preference or '-'}")
    for label, c in (("Emergency contact", r.emergency_contact), ("Physician", r.physician)):
        stdout.print(f"{label}: {c.name + (' ' + c.phone if c.phone else '') if c else '-'}")
    for label, given in (
        ("Consent to treatment", r.consents.treatment),
        ("Release of information (CLM09, box 12)", r.consents.release_of_information),
        ("Assignment of benefits (CLM08, box 13)", r.consents.assignment_of_benefits),
    ):
        stdout.print(
            f"{label}: {'yes, ' + str(given.date) + ' ' + (given.method or '') if given.given else 'no'}"
        )


@intake_app.command("show")
def show_command(
    patient_id: Annotated[
        str, typer.Argument(help="The patient's opaque id (see `therabill patients list`).")
    ],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the patient's current health history (exit 1 when there is none)."""
    try:
        engine, practice_id = open_practice(practice)
        current = svc.current_intake(engine, practice_id, system_actor(), patient_id)
    except TherabillError as exc:
        fail_from(exc)
    if current is None:
        if as_json:
            print_json(None)
        else:
            stdout.print("No intake on file for this patient.")
        raise typer.Exit(EXIT_FINDINGS)
    if as_json:
        print_json(_version_dict(current))
        return
    _summary(current)


@intake_app.command("record")
def record_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's opaque id.")],
    file: Annotated[str, typer.Argument(help="The intake document (JSON), or - for standard input.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a new version of the patient's health history (older versions stay)."""
    raw = read_input(file)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        fail(f"{file} is not JSON: {exc}")
    try:
        engine, practice_id = open_practice(practice)
        version = svc.record_intake(engine, practice_id, system_actor(), patient_id, data)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(_version_dict(version))
        return
    stdout.print(f"Recorded intake version {version.version} (not signed yet).")


@intake_app.command("sign")
def sign_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's opaque id.")],
    version: Annotated[
        int | None, typer.Option("--version", help="Version to sign (default: current).")
    ] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sign a version as the reviewing therapist (the OS user is recorded)."""
    try:
        engine, practice_id = open_practice(practice)
        signed = svc.sign_intake(engine, practice_id, system_actor(), patient_id, version)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(_version_dict(signed))
        return
    stdout.print(f"Signed intake version {signed.version} as {signed.signed_by}.")


@intake_app.command("history")
def history_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's opaque id.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List every version of the patient's health history, newest first."""
    try:
        engine, practice_id = open_practice(practice)
        versions = svc.intake_history(engine, practice_id, system_actor(), patient_id)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json([_version_dict(v) for v in versions])
        return
    for v in versions:
        signed = f"signed by {v.signed_by}" if v.signed_by else "not signed"
        stdout.print(f"v{v.version}  {v.created_at:%Y-%m-%d %H:%M}  {v.created_by}  {signed}")
    stdout.print(f"{len(versions)} versions")


@intake_app.command("check")
def check_command(
    visit_id: Annotated[str, typer.Argument(help="The visit's opaque id.")],
    reported: Annotated[
        list[str] | None, typer.Option("--reported", help="What the client reports today (repeatable).")
    ] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a visit against the intake; exit 1 when billing is blocked."""
    try:
        engine, practice_id = open_practice(practice)
        result = svc.check_visit_intake(
            engine, practice_id, system_actor(), visit_id, reported=reported or ()
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(result.as_dict())
    else:
        for r in result.check.results:
            where = f" · do not work on: {', '.join(r.regions)}" if r.regions else ""
            stdout.print(f"{r.kind.upper():<10} {r.label} ({r.matched}){where}")
        if not result.check.results:
            stdout.print("Nothing in the intake changes this session.")
        stdout.print("Billable." if result.billable else "NOT billable until cleared.")
    if not result.billable:
        raise typer.Exit(EXIT_FINDINGS)
