"""A patient with three documented visits, stored through the records service (for the DB tests)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from tests.integration.db.builders import ACTOR, Practice, visit_document
from therabill.service_layer import visits as visits_svc

TWO_REGIONS = "massage-and-manual-therapy-two-regions.json"
# (date, pain, cervical rotation right in degrees, client feedback, changes since last visit)
SERIES = (
    (date(2026, 11, 6), 7, 45, "First visit; stiff and sore.", ""),
    (date(2026, 11, 13), 5, 55, "Neck looser for two days.", "Sitting tolerance 30 minutes."),
    (date(2026, 11, 20), 3, 65, "Drove to work without neck pain.", "Sitting tolerance 45 minutes."),
)


def documented_visit(dos: date, pain: int, rom: int, feedback: str, changes: str) -> dict[str, Any]:
    doc = copy.deepcopy(visit_document(TWO_REGIONS))
    d = doc["documentation"]
    d["objective"]["pain_scale"] = pain
    d["objective"]["range_of_motion"][0]["degrees"] = rom
    d["client_feedback"] = feedback
    d["changes_since_last_visit"] = changes
    return doc


def record_series(p: Practice) -> list[str]:
    """The three visits of SERIES, recorded out of date order."""
    out = []
    for dos, pain, rom, feedback, changes in (SERIES[2], SERIES[0], SERIES[1]):
        out.append(
            visits_svc.record_visit(
                p.engine,
                p.id,
                ACTOR,
                patient_id=p.patient_id,
                provider_id=p.provider_id,
                date_of_service=dos,
                document=documented_visit(dos, pain, rom, feedback, changes),
            )
        )
    return out
