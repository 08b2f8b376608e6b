"""A patient's case: the accident or employment facts of an injury, entered once.

The facts (``related_causes`` of the encounter document: employment, auto or other accident,
the accident date and state, the P&C or workers' comp claim number, the employer) are given on
one visit (web visit form, API visit document); every later visit of the patient that does not
give its own carries them (``document_with_case_in``, called when a visit is recorded), so the
claims of the case all go out with CLM11, DTP*439 and REF*Y4 (CMS-1500 boxes 10a-c, 11b, 14).
A visit that gives ``related_causes`` with no cause ends the case for the visits after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.db.repositories import Records
from therabill.adapters.db.tables import visits
from therabill.service_layer.uow import UnitOfWork

__all__ = ["CAUSE_FLAGS", "case_facts", "case_facts_in", "document_with_case_in"]

CAUSE_FLAGS = ("employment", "auto_accident", "other_accident")


def _has_cause(causes: Any) -> bool:
    return isinstance(causes, Mapping) and any(bool(causes.get(k)) for k in CAUSE_FLAGS)


def case_facts_in(records: Records, patient_id: str) -> dict[str, Any] | None:
    """The accident facts of the patient's newest visit that gave any (``None`` when that
    visit said "no cause", or no visit gave them)."""
    found = records.rows(
        visits,
        visits.c.patient_id == patient_id,
        order_by=[visits.c.date_of_service.desc(), visits.c.created_at.desc()],
    )
    for row in found:
        causes = (row.encounter_json or {}).get("related_causes")
        if causes is None:
            continue
        return dict(causes) if _has_cause(causes) else None
    return None


def case_facts(engine: Engine, practice_id: str, actor: str, patient_id: str) -> dict[str, Any] | None:
    """``case_facts_in`` in its own read (for pre-filling the visit form)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return case_facts_in(uow.records, patient_id)


def document_with_case_in(records: Records, patient_id: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """The visit document with the case's facts when it gives no ``related_causes`` of its own."""
    out = dict(document)
    if "related_causes" not in out:
        facts = case_facts_in(records, patient_id)
        if facts is not None:
            out["related_causes"] = facts
    return out
