"""``therabill patients``: the practice's patients."""

from __future__ import annotations

from typing import Annotated

import typer

from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli._practice import PracticeOption, open_practice
from therabill.entrypoints.cli.common import fail_from, print_json, read_input, stdout
from therabill.service_layer import edi
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
    for s, check_id in zip(summaries, stored, strict=True):
        state = {True: "active", False: "not active", None: "unknown"}[s.active]
        stdout.print(f"{s.payer_name or '?'} member {s.member_id or '?'}: {state} (check {check_id})")
