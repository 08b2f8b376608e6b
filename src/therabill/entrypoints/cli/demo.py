"""``therabill demo``: load the demo practice once."""

from __future__ import annotations

from typing import Annotated

import typer

from therabill.clock import current_date
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import JsonOption, fail_from, option_day, print_json
from therabill.service_layer import database
from therabill.service_layer.demo import load_demo
from therabill.service_layer.uow import system_actor


def demo_command(
    today: Annotated[
        str | None, typer.Option("--today", help="Pin the last day (YYYY-MM-DD); default today.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 2026,
    as_json: JsonOption = False,
) -> None:
    """Load a realistic demo practice (3 therapists, 40 patients, 3 months); once only."""
    day = option_day(today, "--today", current_date())
    try:
        engine = database.open_database(upgraded=True)
        result = load_demo(engine, system_actor(), today=day, seed=seed)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            {
                "created": result.created,
                "practice_id": result.practice_id,
                "slug": "demo",
                "patients": result.patients,
                "appointments": result.appointments,
                "claims": result.claims,
                "remittances": result.remittances,
                "payments": result.payments,
            }
        )
        return
    if not result.created:
        typer.echo(f"the demo practice already exists (id {result.practice_id}); nothing changed")
        return
    typer.echo(
        f"demo practice loaded: {result.patients} patients, {result.appointments} appointments, "
        f"{result.claims} claims, {result.remittances} remittances, {result.payments} patient payments "
        f"(practice slug 'demo', id {result.practice_id})"
    )
