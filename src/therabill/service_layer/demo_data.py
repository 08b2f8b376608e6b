"""The demo practice's made-up people, payers and visit documents (pure data and builders)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

DENIALS = (("CO", "197"), ("CO", "50"), ("CO", "29"))


"""Denial reasons the demo's payers use: no authorization, not necessary, filing limit."""

FIRST = [
    "Grace",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Mason",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Ruth",
    "Carlos",
    "Priya",
    "Jamal",
    "Hannah",
    "Wei",
    "Sofia",
    "Daniel",
    "Aisha",
    "Tom",
]


LAST = [
    "Miller",
    "Garcia",
    "Nguyen",
    "Patel",
    "Johnson",
    "Okafor",
    "Kowalski",
    "Reyes",
    "Smith",
    "Cohen",
    "Brown",
    "Lopez",
    "Kim",
    "Rossi",
    "Walker",
    "Haddad",
    "Murphy",
    "Silva",
    "Young",
    "Fischer",
]


PAYERS: list[dict[str, Any]] = [
    {
        "name": "Medicare Part B (J6 MAC)",
        "payer_id": "06102",
        "profile": "medicare",
        "claim_filing_indicator": "MB",
    },
    {
        "name": "Humana Medicare Advantage",
        "payer_id": "61101",
        "profile": "medicare_advantage",
        "claim_filing_indicator": "16",
    },
    {"name": "Aetna", "payer_id": "60054", "profile": "commercial", "claim_filing_indicator": "CI"},
    {
        "name": "State Insurance Fund (Workers' Comp)",
        "payer_id": "WCNY1",
        "profile": "workers_comp",
        "claim_filing_indicator": "WC",
    },
    {
        "name": "Empire Auto Insurance No-Fault Unit",
        "payer_id": "NFAUTO1",
        "profile": "auto_no_fault",
        "claim_filing_indicator": "AM",
    },
]


ADDRESS = {"line1": "PO Box 9000", "line2": None, "city": "Albany", "state": "NY", "zip": "122019000"}


def visit_services(kind: str, rng: random.Random, mistake: bool) -> list[dict[str, Any]]:
    if kind == "pt":
        return [
            {
                "code": "97110",
                "minutes": rng.choice([15, 23, 30]),
                "modifiers": ["GP"],
                "diagnosis_pointers": [1],
                "body_regions": ["lumbar"],
                "unit_charge": "42.00",
            },
            {
                "code": "97140",
                "minutes": rng.choice([8, 15, 20]),
                "modifiers": ["GP"],
                "diagnosis_pointers": [] if mistake else [1],
                "body_regions": ["lumbar"],
                "unit_charge": "38.00",
            },
        ]
    minutes = rng.choice([30, 45, 60])
    lines = [
        {
            "code": "97124",
            "minutes": minutes,
            "diagnosis_pointers": [1, 2],
            "body_regions": ["cervical", "shoulder_left"],
            "techniques": ["effleurage", "petrissage"],
            "unit_charge": "30.00",
        }
    ]
    if rng.random() < 0.3 or mistake:
        lines.append(
            {
                "code": "97140",
                "minutes": 15,
                "modifiers": [] if mistake else ["59"],
                "diagnosis_pointers": [2],
                "body_regions": ["cervical"] if mistake else ["lumbar"],
                "techniques": ["myofascial release"],
                "unit_charge": "35.00",
            }
        )
    return lines


def visit_document(
    kind: str, rng: random.Random, start: datetime, mistake: bool, case: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A visit document; ``case`` holds the accident facts of an injury payer's client."""
    services = visit_services(kind, rng, mistake)
    total = sum(s["minutes"] for s in services)
    end = start + timedelta(minutes=total)
    pain = rng.randint(2, 8)
    return {
        "start_time": start.strftime("%H:%M"),
        "end_time": end.strftime("%H:%M"),
        "place_of_service": "11",
        # the prescribing physician (box 17): auto no-fault and workers' comp pay only ordered care
        "referring_provider": {
            "qualifier": "DN",
            "first_name": "Sam",
            "last_name": "Reed",
            "npi": "1003000126",
        },
        "diagnoses": ["M54.2", "M62.830"] if kind == "lmt" else ["M54.50", "M62.830"],
        "services": services,
        "accept_assignment": True,
        "provider_signature_on_file": True,
        **({"related_causes": case, "onset_date": case["accident_date"]} if case else {}),
        "consent": {"release_of_information": True, "benefits_assigned": True},
        "documentation": {
            "subjective": f"Neck and shoulder tension, pain {pain}/10.",
            "objective": {
                "pain_scale": pain,
                "range_of_motion": [
                    {"joint": "cervical", "motion": "rotation right", "degrees": rng.randint(45, 80)}
                ],
            },
            "assessment": "Muscle spasm with reduced rotation; responding to treatment.",
            "plan": "Continue weekly for four weeks.",
            "medical_necessity": "Pain limits desk work to 30 minutes; treatment restores tolerance.",
            "goals": [
                {
                    "description": "Work at a desk 2 hours without pain above 2/10",
                    "baseline": "30 minutes",
                    "target": "2 hours",
                }
            ],
        },
    }
