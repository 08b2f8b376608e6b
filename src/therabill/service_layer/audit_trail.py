"""The audit log as its readers see it: a page of events with the chain's check, and the export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.tables import audit_log, claims, visits
from therabill.service_layer.audit import ChainReport, verify_chain
from therabill.service_layer.sessions import display_names
from therabill.service_layer.uow import UnitOfWork

__all__ = ["action_words", "all_events", "names_of", "page"]

_ACTIONS = {
    "login": "Logged in",
    "logout": "Logged out",
    "deny": "Was refused",
    "dashboard.view": "Opened the dashboard",
    "patient.view": "Viewed a patient",
    "patient.search": "Searched patients",
    "patient.register": "Registered a patient",
    "visit.view": "Viewed a visit",
    "visit.record": "Documented a visit",
    "note.edit": "Edited a visit note",
    "note.history": "Viewed earlier note versions",
    "claim.list": "Opened the claims list",
    "claim.view": "Viewed a claim",
    "claim.create": "Created a claim",
    "claim.status": "Changed a claim's status",
    "claim.export_cms1500": "Downloaded a CMS-1500",
    "batch.export_837": "Downloaded an 837P batch",
    "remittance.list": "Opened the remittances",
    "remittance.claim-posted": "Posted a remittance claim",
    "intake.view": "Viewed a health history",
    "intake.record": "Recorded a health history",
    "intake.sign": "Signed a health history",
    "intake.clear": "Recorded a clearance",
    "intake.print": "Printed a health history",
    "eligibility.view": "Viewed eligibility",
    "schedule.view": "Opened the calendar",
    "schedule.check_in": "Checked a patient in",
    "appointment.schedule": "Booked an appointment",
    "audit.view": "Viewed the audit log",
    "audit.export": "Exported the audit log",
}


def page(
    engine: Engine, practice_id: str, actor: str, *, before: int = 0, limit: int = 200
) -> tuple[list[Any], ChainReport]:
    """The newest ``limit`` events (before sequence number ``before`` when given) and a check
    of the practice's whole hash chain."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        query = select(audit_log).where(audit_log.c.practice_id == practice_id)
        if before > 0:
            query = query.where(audit_log.c.seq < before)
        rows = list(uow.session.execute(query.order_by(audit_log.c.seq.desc()).limit(limit)).all())
        return rows, verify_chain(uow.session, practice_id)


def all_events(engine: Engine, practice_id: str, actor: str) -> Iterator[Any]:
    """Every event of the practice, oldest first (for the export)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        yield from uow.session.execute(
            select(audit_log).where(audit_log.c.practice_id == practice_id).order_by(audit_log.c.seq)
        )


def action_words(action: str) -> str:
    """An audit action in words (``patient.view`` → ``Viewed a patient``)."""
    if action in _ACTIONS:
        return _ACTIONS[action]
    words = action.replace(".", " ").replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def names_of(engine: Engine, practice_id: str, actor: str, rows: list[Any]) -> dict[str, str]:
    """Names for the actors and objects of audit rows: ``user:<id>`` → display name,
    ``<type>:<id>`` → the patient's name, the claim's number, the visit's patient and date.
    Ids not found (deleted, of another kind) are left out: the page shows the kind only."""
    wanted: dict[str, set[str]] = {}
    for r in rows:
        if str(r.actor).startswith("user:"):
            wanted.setdefault("user", set()).add(str(r.actor)[5:])
        if r.object_id:
            wanted.setdefault(str(r.object_type), set()).add(str(r.object_id))
    out: dict[str, str] = {}
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        people = {p.id: f"{p.first_name} {p.last_name}" for p in uow.records.patients()}
        for pid in wanted.get("patient", ()):
            if pid in people:
                out[f"patient:{pid}"] = people[pid]
        if wanted.get("user"):
            out.update(display_names(uow.session.connection(), practice_id))
        if wanted.get("claim"):
            for c in uow.session.execute(
                select(claims.c.id, claims.c.claim_number, claims.c.patient_id).where(
                    claims.c.practice_id == practice_id, claims.c.id.in_(sorted(wanted["claim"]))
                )
            ):
                out[f"claim:{c.id}"] = f"claim {c.claim_number} of {people.get(c.patient_id, 'a patient')}"
        if wanted.get("visit"):
            for v in uow.session.execute(
                select(visits.c.id, visits.c.patient_id, visits.c.date_of_service).where(
                    visits.c.practice_id == practice_id, visits.c.id.in_(sorted(wanted["visit"]))
                )
            ):
                on = v.date_of_service
                out[f"visit:{v.id}"] = (
                    f"visit of {people.get(v.patient_id, 'a patient')} on {on.month:02d}/{on.day:02d}/{on.year}"
                )
    return out
