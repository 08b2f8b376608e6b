"""Claim changes: edit a visit, void, correct and re-bill a claim; every change is a version.

One implementation behind the web, the API and the CLI. The decisions (what a status allows)
are ``domain.claim_changes``; here they are applied in ONE transaction each:

* ``edit_visit``: a saved visit's times, services, diagnoses, note and accident facts change
  while its claim has not left; the standing claim is replaced by a new version, re-coded
  (units, charges) and re-scrubbed. A note change is a new note version.
* ``void``: a claim that never left is voided in place; a claim the payer has gets a
  frequency-8 version (the lines as sent, REF*F8 = the payer's claim number), ready to send.
* ``correct``: a frequency-7 version with REF*F8, re-coded from the (optionally edited) visit.
* ``rebill``: after a rejection, a new original (frequency 1) version.

Every version is a claim row linked by ``replaces_claim_id``, numbered ``<first>-2``,
``<first>-3``...; the superseded one becomes ``replaced`` or ``voided``. Ledger charges are
never edited: the old version's charges are reversed and the new version's are posted
(``ledger.reverse_claim_charges_in`` / ``claim_charges_in``), and the authorization use moves
with them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, Row

from therabill.adapters.db.repositories import Records, new_id
from therabill.adapters.db.tables import claim_lines, claim_status_events, claims, visit_notes, visits
from therabill.clock import Clock, current_time
from therabill.domain import claim_changes as rules
from therabill.domain.errors import Problem
from therabill.domain.records import ClaimStatus
from therabill.service_layer import claim_versions
from therabill.service_layer import claims as claims_svc
from therabill.service_layer.encounters import CLOSED_CLAIM_STATUSES, build_encounter, encounter_document
from therabill.service_layer.errors import RecordsError, refuse
from therabill.service_layer.uow import UnitOfWork, ambient_session, one_transaction

__all__ = [
    "EDITABLE_VISIT_KEYS",
    "ChangeResult",
    "correct",
    "edit_visit",
    "rebill",
    "void",
]

EDITABLE_VISIT_KEYS = frozenset(
    {
        "start_time",
        "end_time",
        "place_of_service",
        "diagnoses",
        "services",
        "documentation",
        "related_causes",
        "onset_date",
        "referring_provider",
        "service_facility",
    }
)
"""What an edit of a saved visit may change (the rest comes from the records)."""
_REASON_MAX = 200
_KINDS = frozenset(k.value for k in rules.ChangeKind)


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What a change did.

    Attributes:
        kind: ``edit``, ``void``, ``correct`` or ``rebill``.
        visit_id: the visit.
        old_claim_id: the version given way (``None`` when a visit without a claim was edited).
        old_status: the status it took (``replaced`` or ``voided``).
        claim_id: the new version (``None`` when nothing new was made: a void in place, or an
            edit of a visit without a claim).
        claim_number: its CLM01.
        frequency: its CLM05-3.
        status: its status.
        has_errors: whether its scrub found errors.
        note_version: the note version an edit made, if the note changed.
    """

    kind: str
    visit_id: str
    old_claim_id: str | None
    old_status: str | None
    claim_id: str | None
    claim_number: str | None
    frequency: str | None
    status: str | None
    has_errors: bool
    note_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The public shape (web, API and CLI ``--json`` print this)."""
        return asdict(self)


@contextmanager
def _together(engine: Engine) -> Iterator[None]:
    """One transaction for the use cases called inside (joins an enclosing one)."""
    if ambient_session(engine) is not None:
        yield
        return
    with one_transaction(engine, savepoints=False):
        yield


def _reason(reason: str | None) -> str | None:
    text = (reason or "").strip()
    if len(text) > _REASON_MAX:
        raise refuse("claim-change-reason-too-long", "reason", f"at most {_REASON_MAX} characters")
    return text or None


# -- building blocks (inside one transaction) ----------------------------------------------


def _standing_claim(rec: Records, visit_id: str) -> Row[Any] | None:
    """The visit's claim that stands for it now (the newest one not replaced or voided)."""
    found = rec.rows(
        claims,
        claims.c.visit_id == visit_id,
        claims.c.status.not_in(list(CLOSED_CLAIM_STATUSES)),
        order_by=[claims.c.created_at.desc()],
    )
    return found[0] if found else None


def _edited_document(
    uow: UnitOfWork, visit: Row[Any], changes: Mapping[str, Any], claim_fields: Mapping[str, Any]
) -> tuple[dict[str, Any], int | None]:
    """Apply ``changes`` (and the claim fields) to the visit, validated as a whole encounter;
    a changed note becomes a new note version. Returns the document and that version."""
    unknown = sorted(set(changes) - EDITABLE_VISIT_KEYS)
    if unknown:
        raise RecordsError(
            "these visit fields cannot be edited",
            tuple(Problem("visit-field-not-editable", k, "not an editable part of a visit") for k in unknown),
        )
    clean: dict[str, Any] = json.loads(json.dumps(dict(changes), default=str))
    doc = dict(visit.encounter_json)
    doc.update(clean)
    for key, value in claim_fields.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    row = dict(visit._mapping, encounter_json=doc)
    row["start_time"], row["end_time"] = doc.get("start_time"), doc.get("end_time")
    build_encounter(uow.records, row, exclude_visit=visit.id)  # validates; raises RecordsError
    note_version = None
    if "documentation" in clean and clean["documentation"] != visit.encounter_json.get("documentation"):
        note_version = uow.records.latest_note_version(visit.id) + 1
        uow.records.insert(
            visit_notes,
            visit_id=visit.id,
            version=note_version,
            content=clean["documentation"],
            created_by=uow.actor,
            created_at=uow.now(),
        )
    status = visit.status
    if status == "open" and doc.get("documentation"):
        status = "documented"
    uow.records.update(
        visits,
        visit.id,
        encounter_json=doc,
        start_time=doc.get("start_time"),
        end_time=doc.get("end_time"),
        status=status,
    )
    uow.record("visit.edit", "visit", visit.id, {"fields": sorted(clean), "note_version": note_version})
    return doc, note_version


def _event(uow: UnitOfWork, claim_id: str, status: str, note: str | None, findings: Any = None) -> None:
    seq = len(uow.records.status_history(claim_id)) + 1
    uow.records.insert(
        claim_status_events,
        claim_id=claim_id,
        seq=seq,
        status=status,
        at=uow.now(),
        actor=uow.actor,
        note=note[:300] if note else None,
        findings=findings,
    )


def _number_new_version(uow: UnitOfWork, old: Row[Any], new_claim_id: str, note: str) -> Row[Any]:
    """Give a freshly coded claim its version number and link, and say why in its history."""
    chain = claim_versions.chain(uow.records, old)
    number = rules.version_number(chain[0].claim_number, len(chain) + 1)
    taken = uow.records.claim_by_number(number)
    if taken is not None and taken.id != new_claim_id:
        raise refuse("claim-number-taken", "claim", f"claim number {number} is already in use")
    uow.records.update(claims, new_claim_id, claim_number=number, replaces_claim_id=old.id)
    current = uow.records.get(claims, new_claim_id)
    _event(uow, new_claim_id, current.status, f"{note} (replaces {old.claim_number})")
    uow.record("claim.version", "claim", new_claim_id, {"replaces": old.id, "number": number})
    return uow.records.get(claims, new_claim_id)


def _supersede(
    engine: Engine, practice_id: str, actor: str, claim: Row[Any], status: str, note: str, clock: Clock
) -> None:
    """The old version gives way: its charges are reversed and its authorization use released."""
    claims_svc.set_claim_status(engine, practice_id, actor, claim.id, status, note=note[:300], clock=clock)


def _recode(
    engine: Engine,
    practice_id: str,
    actor: str,
    visit_id: str,
    old: Row[Any],
    *,
    kind: rules.ChangeKind,
    note: str,
    as_of: date,
    clock: Clock,
) -> Row[Any]:
    coded = claims_svc.code_visit(engine, practice_id, actor, visit_id, as_of=as_of, clock=clock)
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        return _number_new_version(uow, old, coded.claim_id, f"{kind.value}: {note}")


def _result(
    kind: rules.ChangeKind,
    visit_id: str,
    old: Row[Any] | None,
    old_status: str | None,
    new: Row[Any] | None,
    note_version: int | None = None,
) -> ChangeResult:
    return ChangeResult(
        kind=kind.value,
        visit_id=visit_id,
        old_claim_id=old.id if old is not None else None,
        old_status=old_status,
        claim_id=new.id if new is not None else None,
        claim_number=new.claim_number if new is not None else None,
        frequency=new.frequency if new is not None else None,
        status=new.status if new is not None else None,
        has_errors=bool(new.has_errors) if new is not None else False,
        note_version=note_version,
    )


def _claim_for_change(engine: Engine, practice_id: str, actor: str, claim_id: str) -> Row[Any]:
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        claim = uow.records.get(claims, claim_id)
    if claim.frequency == "8":
        raise rules.refuse_change(
            "claim-is-void", "claim", "this version voids the claim; it is not changed further"
        )
    return claim


# -- the use cases ------------------------------------------------------------------------


def edit_visit(
    engine: Engine,
    practice_id: str,
    actor: str,
    visit_id: str,
    changes: Mapping[str, Any],
    *,
    as_of: date,
    reason: str | None = None,
    clock: Clock = current_time,
) -> ChangeResult:
    """Edit a saved visit; its unsent claim is replaced by a re-coded, re-scrubbed version.

    Raises:
        ClaimChangeError: the claim has left (``visit-claim-sent``: correct or void it;
            ``visit-claim-rejected``: re-bill it) or is a void.
        RecordsError: a field that cannot be edited, or an encounter the schema refuses.
        NotFoundError: no such visit in the practice.
    """
    why = _reason(reason) or "visit edited"
    with _together(engine):
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            visit = uow.records.get(visits, visit_id, for_update=True)
            old = _standing_claim(uow.records, visit_id)
            if old is not None and old.frequency == "8":
                raise rules.refuse_change(
                    "claim-is-void", "claim", "the visit's claim was voided; it is not edited"
                )
            rules.check_visit_edit(old.status if old is not None else None)
            _, note_version = _edited_document(uow, visit, changes, {})
        if old is None:
            return _result(rules.ChangeKind.EDIT, visit_id, None, None, None, note_version)
        _supersede(engine, practice_id, actor, old, ClaimStatus.REPLACED.value, f"edit: {why}", clock)
        new = _recode(
            engine,
            practice_id,
            actor,
            visit_id,
            old,
            kind=rules.ChangeKind.EDIT,
            note=why,
            as_of=as_of,
            clock=clock,
        )
    return _result(rules.ChangeKind.EDIT, visit_id, old, ClaimStatus.REPLACED.value, new, note_version)


def void(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    *,
    reason: str | None = None,
    clock: Clock = current_time,
) -> ChangeResult:
    """Void a claim: in place when the payer never got it; else with a frequency-8 version
    (the lines as sent, REF*F8 = the payer's claim number), ready to send.

    Raises:
        ClaimChangeError: ``claim-closed``, ``claim-payer-number-missing``, ``claim-is-void``.
    """
    why = _reason(reason) or "voided"
    claim = _claim_for_change(engine, practice_id, actor, claim_id)
    rules.check_void(claim.status, claim.payer_claim_control_number)
    if rules.void_in_place(claim.status):
        _supersede(engine, practice_id, actor, claim, ClaimStatus.VOIDED.value, f"void: {why}", clock)
        return _result(rules.ChangeKind.VOID, claim.visit_id, claim, ClaimStatus.VOIDED.value, None)
    with _together(engine):
        _supersede(engine, practice_id, actor, claim, ClaimStatus.VOIDED.value, f"void: {why}", clock)
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            new = _void_version(uow, claim, why)
    return _result(rules.ChangeKind.VOID, claim.visit_id, claim, ClaimStatus.VOIDED.value, new)


def _void_document(uow: UnitOfWork, claim: Row[Any]) -> dict[str, Any]:
    """The claim as it was coded, now saying "void this claim" (CLM05-3 8, REF*F8)."""
    if claim.coded_document is not None:
        doc = dict(claim.coded_document)
    else:  # coded before claims kept their document: as the records say now
        visit = uow.records.get(visits, claim.visit_id)
        doc = encounter_document(uow.records, visit._mapping, exclude_visit=claim.visit_id)
    doc.update(claim_frequency="8", payer_claim_control_number=claim.payer_claim_control_number)
    return doc


def _void_version(uow: UnitOfWork, claim: Row[Any], why: str) -> Row[Any]:
    """A frequency-8 copy of ``claim`` (its lines as sent; no charges: a void owes nothing)."""
    chain = claim_versions.chain(uow.records, claim)
    number = rules.version_number(chain[0].claim_number, len(chain) + 1)
    new = new_id()
    now = uow.now()
    uow.records.insert(
        claims,
        id=new,
        visit_id=claim.visit_id,
        patient_id=claim.patient_id,
        payer_id=claim.payer_id,
        coverage_id=claim.coverage_id,
        claim_number=number,
        payer_claim_control_number=claim.payer_claim_control_number,
        frequency="8",
        replaces_claim_id=claim.id,
        status=ClaimStatus.DRAFT.value,
        date_of_service=claim.date_of_service,
        total_charge_cents=claim.total_charge_cents,
        findings=None,
        has_errors=False,
        coded_document=_void_document(uow, claim),
        created_at=now,
        updated_at=now,
    )
    uow.records.insert_many(
        claim_lines,
        [
            {
                **{k: v for k, v in ln._mapping.items() if k not in ("id", "practice_id", "claim_id")},
                "id": new_id(),
                "claim_id": new,
            }
            for ln in uow.records.lines_of(claim.id)
        ],
    )
    _event(uow, new, ClaimStatus.DRAFT.value, f"void: {why}")
    _event(uow, new, ClaimStatus.SCRUBBED.value, "a void repeats the claim as sent: nothing to re-code")
    uow.records.update(claims, new, status=ClaimStatus.READY.value)
    _event(uow, new, ClaimStatus.READY.value, f"ready to send (REF*F8 {claim.payer_claim_control_number})")
    uow.record("claim.version", "claim", new, {"replaces": claim.id, "number": number, "frequency": "8"})
    return uow.records.get(claims, new)


def correct(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    *,
    as_of: date,
    changes: Mapping[str, Any] | None = None,
    reason: str | None = None,
    clock: Clock = current_time,
) -> ChangeResult:
    """Replace a claim the payer has with a corrected one (frequency 7, REF*F8), re-coded and
    re-scrubbed from the visit with ``changes`` applied.

    Raises:
        ClaimChangeError: ``claim-not-sent``, ``claim-rejected``, ``claim-closed``,
            ``claim-payer-number-missing``, ``claim-is-void``.
    """
    why = _reason(reason) or "corrected"
    claim = _claim_for_change(engine, practice_id, actor, claim_id)
    rules.check_correct(claim.status, claim.payer_claim_control_number)
    return _new_version(
        engine,
        practice_id,
        actor,
        claim,
        rules.ChangeKind.CORRECT,
        changes or {},
        {"claim_frequency": "7", "payer_claim_control_number": claim.payer_claim_control_number},
        why,
        as_of,
        clock,
    )


def rebill(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    *,
    as_of: date,
    changes: Mapping[str, Any] | None = None,
    reason: str | None = None,
    clock: Clock = current_time,
) -> ChangeResult:
    """Bill a rejected claim again, with ``changes`` applied: a new original (frequency 1), or
    a rejected correction again as a correction (frequency 7, the same REF*F8).

    Raises:
        ClaimChangeError: ``claim-not-rejected``, ``claim-is-void``.
    """
    why = _reason(reason) or "re-billed after a rejection"
    claim = _claim_for_change(engine, practice_id, actor, claim_id)
    rules.check_rebill(claim.status)
    return _new_version(
        engine,
        practice_id,
        actor,
        claim,
        rules.ChangeKind.REBILL,
        changes or {},
        _rebill_fields(claim),
        why,
        as_of,
        clock,
    )


def _rebill_fields(claim: Row[Any]) -> dict[str, Any]:
    """A re-bill sends what was rejected again: a new original, or a rejected correction as the
    same correction (frequency 7 with the REF*F8 it carried)."""
    sent = dict(claim.coded_document or {})
    if claim.frequency == "7" and sent.get("payer_claim_control_number"):
        return {"claim_frequency": "7", "payer_claim_control_number": sent["payer_claim_control_number"]}
    return {"claim_frequency": "1", "payer_claim_control_number": None}


def _new_version(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim: Row[Any],
    kind: rules.ChangeKind,
    changes: Mapping[str, Any],
    claim_fields: Mapping[str, Any],
    why: str,
    as_of: date,
    clock: Clock,
) -> ChangeResult:
    with _together(engine):
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            visit = uow.records.get(visits, claim.visit_id, for_update=True)
            standing = _standing_claim(uow.records, claim.visit_id)
            if standing is None or standing.id != claim.id:
                raise rules.refuse_change(
                    "claim-not-latest", "claim", "a newer version of this claim exists: change that one"
                )
            _, note_version = _edited_document(uow, visit, changes, claim_fields)
        _supersede(
            engine, practice_id, actor, claim, ClaimStatus.REPLACED.value, f"{kind.value}: {why}", clock
        )
        new = _recode(
            engine, practice_id, actor, claim.visit_id, claim, kind=kind, note=why, as_of=as_of, clock=clock
        )
    return _result(kind, claim.visit_id, claim, ClaimStatus.REPLACED.value, new, note_version)
