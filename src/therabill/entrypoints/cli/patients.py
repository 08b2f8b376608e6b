"""``therabill patients``: the practice's patients."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.domain.errors import Problem, TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, open_as_operator, open_practice
from therabill.entrypoints.cli.common import (
    JsonOption,
    fail,
    fail_from,
    option_day,
    print_json,
    read_input,
    stdout,
)
from therabill.service_layer import contact_preferences, coverages, edi, patients
from therabill.service_layer.patients import list_patients
from therabill.service_layer.uow import system_actor

patients_app = typer.Typer(help="Patients of a practice.", no_args_is_help=True)


@patients_app.command("list")
def list_command(
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the practice's patients (internal id, chart number, name, birth date)."""
    try:
        engine, practice_id = open_practice(practice)
        found = list_patients(engine, practice_id, system_actor())
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            [
                {
                    "id": p.id,
                    "chart_number": p.chart_number,
                    "first_name": p.first_name,
                    "last_name": p.last_name,
                    "birth_date": p.birth_date,
                }
                for p in found
            ]
        )
        return
    for p in found:
        stdout.print(f"{p.id}  {p.chart_number:<10} {p.last_name}, {p.first_name}  {p.birth_date or ''}")
    stdout.print(f"{len(found)} patients")


@patients_app.command("eligibility")
def eligibility_command(
    file: Annotated[str, typer.Argument(help="A 271 eligibility response ('-' for standard input).")],
    patient: Annotated[str, typer.Option("--patient", help="The patient's internal id.")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a 271 answer as an eligibility check of the patient's coverage."""
    try:
        summaries = list(read_271(read_input(file)))
        engine, practice_id = open_practice(practice)
        stored = [
            edi.store_eligibility(engine, practice_id, system_actor(), patient_id=patient, summary=s)
            for s in summaries
        ]
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            [
                {"payer": s.payer_name, "member_id": s.member_id, "active": s.active, "check_id": check_id}
                for s, check_id in zip(summaries, stored, strict=True)
            ]
        )
        return
    for s, check_id in zip(summaries, stored, strict=True):
        state = {True: "active", False: "not active", None: "unknown"}[s.active]
        stdout.print(f"{s.payer_name or '?'} member {s.member_id or '?'}: {state} (check {check_id})")


def _patient_json(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "chart_number": p.chart_number,
        "first_name": p.first_name,
        "middle_name": p.middle_name,
        "last_name": p.last_name,
        "birth_date": p.birth_date,
        "sex": p.sex,
        "phone": p.phone,
        "email": p.email,
        "address": p.address,
    }


@patients_app.command("add")
def add_command(
    first_name: Annotated[str, typer.Option("--first-name", help="First name.")],
    last_name: Annotated[str, typer.Option("--last-name", help="Last name.")],
    birth_date: Annotated[
        str | None, typer.Option("--birth-date", help="YYYY-MM-DD (not in the future).")
    ] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="F, M or U.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="10 digits.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    chart_number: Annotated[
        str | None, typer.Option("--chart-number", help="Chart number (default: the next free one).")
    ] = None,
    allow_duplicate: Annotated[
        bool, typer.Option("--allow-duplicate", help="Register even when the same name and birth date exist.")
    ] = False,
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register a patient (a patient of the same name and birth date is refused unless --allow-duplicate)."""
    born = option_day(birth_date, "--birth-date")
    try:
        engine, practice_id = open_practice(practice)
        actor = system_actor()
        if born and not allow_duplicate:
            same = patients.same_person_in(engine, practice_id, actor, first_name, last_name, born)
            if same:
                fail(
                    "a patient of this name and birth date exists (--allow-duplicate registers another)",
                    [Problem("patient-duplicate", "patient", f"chart {p.chart_number}") for p in same],
                )
        new = patients.register_patient(
            engine,
            practice_id,
            actor,
            chart_number=chart_number or patients.next_chart_number_of(engine, practice_id, actor),
            first_name=first_name,
            last_name=last_name,
            birth_date=born,
            sex=sex,
            phone=phone,
            email=email,
        )
        row = patients.patient_record_of(engine, practice_id, actor, new)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(_patient_json(row))
        return
    stdout.print(f"registered {row.first_name} {row.last_name}, chart {row.chart_number}")


@patients_app.command("show")
def show_command(
    patient: Annotated[str, typer.Argument(help="The patient's chart number (or internal id).")],
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A patient's details and coverages (the insured named when it is not the patient)."""
    try:
        engine, practice_id = open_practice(practice)
        actor = system_actor()
        row = patients.patient_record_of(engine, practice_id, actor, patient)
        covs = coverages.coverages_with_payers(engine, practice_id, actor, row.id)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            {
                **_patient_json(row),
                "coverages": [
                    {
                        "id": c.id,
                        "payer": name,
                        "sequence": c.sequence,
                        "member_id": c.member_id,
                        "relationship": c.relationship,
                        "subscriber": c.subscriber,
                        "active_from": c.active_from,
                        "active_to": c.active_to,
                    }
                    for c, name in covs
                ],
            }
        )
        return
    stdout.print(f"{row.last_name}, {row.first_name}  chart {row.chart_number}  born {row.birth_date or '?'}")
    for c, name in covs:
        insured = (
            ""
            if c.relationship == "self" or not c.subscriber
            else (
                f"  insured {c.subscriber.get('first_name', '')} {c.subscriber.get('last_name', '')} ({c.relationship})"
            )
        )
        stdout.print(f"  {c.sequence:<9} {name}  member {c.member_id or '?'}{insured}")


@patients_app.command("coverage-add")
def coverage_add_command(
    patient: Annotated[str, typer.Argument(help="The patient's chart number (or internal id).")],
    payer: Annotated[str, typer.Option("--payer", help="The payer's electronic payer id (or internal id).")],
    sequence: Annotated[str, typer.Option("--sequence", help="primary, secondary or tertiary.")] = "primary",
    member_id: Annotated[str | None, typer.Option("--member-id", help="Member id on the card.")] = None,
    group_number: Annotated[str | None, typer.Option("--group", help="Group number.")] = None,
    relationship: Annotated[
        str, typer.Option("--relationship", help="self, spouse, child, employee or other.")
    ] = "self",
    subscriber_first: Annotated[str | None, typer.Option("--subscriber-first-name")] = None,
    subscriber_last: Annotated[str | None, typer.Option("--subscriber-last-name")] = None,
    subscriber_born: Annotated[
        str | None, typer.Option("--subscriber-birth-date", help="YYYY-MM-DD.")
    ] = None,
    subscriber_sex: Annotated[str | None, typer.Option("--subscriber-sex", help="F, M or U.")] = None,
    active_from: Annotated[str | None, typer.Option("--from", help="First day covered.")] = None,
    practice: PracticeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a coverage to a patient, with the insured when it is not the patient."""
    subscriber = None
    if relationship != "self":
        subscriber = {
            "first_name": subscriber_first,
            "last_name": subscriber_last,
            "birth_date": subscriber_born,
            "sex": subscriber_sex,
        }
    try:
        engine, practice_id = open_practice(practice)
        new = coverages.add_coverage_as(
            engine,
            practice_id,
            system_actor(),
            patient,
            coverages.CoverageChange(
                payer_id=payer,
                sequence=sequence,
                member_id=member_id,
                group_number=group_number,
                relationship=relationship,
                subscriber=subscriber,
                active_from=option_day(active_from, "--from"),
            ),
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"coverage_id": new})
        return
    stdout.print(f"coverage added ({sequence}), id {new}")


@patients_app.command("messages")
def messages_command(
    patient: Annotated[str, typer.Argument(help="The patient's chart number (or internal id).")],
    email: Annotated[bool | None, typer.Option("--email/--no-email", help="Accept or refuse email.")] = None,
    sms: Annotated[
        bool | None, typer.Option("--sms/--no-sms", help="Accept or refuse text messages.")
    ] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show or set whether the client accepts email and text messages (reminders, statements)."""
    try:
        engine, principal = open_as_operator(practice)
        practice_id, patient = principal.practice_id, patients.find_patient(engine, principal, patient).id
        if email is None and sms is None:
            prefs = contact_preferences.contact_preferences_of(engine, practice_id, system_actor(), patient)
        else:
            prefs = contact_preferences.set_contact_preferences(
                engine,
                practice_id,
                system_actor(),
                patient,
                email_opt_out=None if email is None else not email,
                sms_opt_out=None if sms is None else not sms,
            )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(prefs.as_dict())
        return
    stdout.print(
        f"Email: {'opted out' if prefs.email_opt_out else 'accepted'}; "
        f"text messages: {'opted out' if prefs.sms_opt_out else 'accepted'}."
    )


@patients_app.command("edit")
def edit_command(
    patient: Annotated[str, typer.Argument(help="The patient's chart number (or internal id).")],
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    middle_name: Annotated[str | None, typer.Option("--middle-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    birth_date: Annotated[
        str | None, typer.Option("--birth-date", help="YYYY-MM-DD (not in the future).")
    ] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="F, M or U.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="10 digits.")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    line1: Annotated[str | None, typer.Option("--line1", help="Street address.")] = None,
    line2: Annotated[str | None, typer.Option("--line2")] = None,
    city: Annotated[str | None, typer.Option("--city")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Two letters.")] = None,
    zip_code: Annotated[str | None, typer.Option("--zip", help="ZIP or ZIP+4.")] = None,
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a patient's demographics (only the options given; the history names the fields)."""
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("first_name", first_name),
            ("middle_name", middle_name),
            ("last_name", last_name),
            ("sex", sex),
            ("phone", phone),
            ("email", email),
        )
        if v is not None
    }
    if birth_date is not None:
        changes["birth_date"] = option_day(birth_date, "--birth-date")
    address = {
        k: v
        for k, v in (("line1", line1), ("line2", line2), ("city", city), ("state", state), ("zip", zip_code))
        if v is not None
    }
    if not changes and not address:
        fail("nothing to change: give at least one field option")
    try:
        engine, principal = open_as_operator(practice)
        row = patients.find_patient(engine, principal, patient)
        if address:
            changes["address"] = {**(row.address or {}), **address}
        changed = patients.update_patient(engine, principal, row.id, changes)
        after = patients.find_patient(engine, principal, row.id)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({**_patient_json(after), "changed": changed})
        return
    stdout.print(
        f"{after.first_name} {after.last_name}, chart {after.chart_number}: "
        + (", ".join(changed) or "nothing changed")
    )


@patients_app.command("coverage-end")
def coverage_end_command(
    patient: Annotated[str, typer.Argument(help="The patient's chart number (or internal id).")],
    last_day: Annotated[str, typer.Option("--last-day", help="The last day covered, YYYY-MM-DD.")],
    coverage: Annotated[
        str,
        typer.Option(
            "--coverage", help="primary, secondary, tertiary (the one in force) or the coverage's id."
        ),
    ] = "primary",
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """End a coverage (it stays on file for the claims made under it)."""
    day = option_day(last_day, "--last-day")
    if day is None:
        fail("--last-day: give the last day covered (YYYY-MM-DD)")
    try:
        engine, principal = open_as_operator(practice)
        cov = coverages.find_coverage(engine, principal, patient, coverage)
        coverages.end_coverage(engine, principal, cov.id, day)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            {"coverage_id": cov.id, "sequence": cov.sequence, "member_id": cov.member_id, "active_to": day}
        )
        return
    stdout.print(f"{cov.sequence} coverage (member {cov.member_id or '?'}) ends on {day}")


@patients_app.command("history")
def history_command(
    patient: Annotated[str, typer.Argument(help="The patient's chart number (or internal id).")],
    practice: PracticeOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed on a patient, their coverages and authorizations: who, when, which fields."""
    try:
        engine, principal = open_as_operator(practice)
        row = patients.find_patient(engine, principal, patient)
        events = patients.patient_history(engine, principal, row.id)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(events)
        return
    for e in events:
        fields = f" ({', '.join(e['fields'])})" if e["fields"] else ""
        stdout.print(f"{e['at']:%Y-%m-%d %H:%M}  {e['who']:<16} {e['action']}{fields}")
    stdout.print(f"{len(events)} changes")
