"""``therabill eligibility``: read a 271 eligibility response (no database)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.domain.eligibility import EligibilitySummary
from therabill.entrypoints.cli.common import fail_from, print_json, read_input, stdout

eligibility_app = typer.Typer(help="270/271 eligibility: read responses.", no_args_is_help=True)


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
