"""The follow-up worklist: denied, rejected and unpaid claims, worked by a biller.

Which claims are on it is decided from the claims (``domain.claim_changes.follow_up_reason``:
denied, rejected, or sent and unpaid ``unpaid_days`` after the date of service; aging counts
from the date of service). What the biller adds is stored per claim: a state (open,
in progress, waiting, done), an owner, a next-action date, the payer's remark codes, and notes
(append-only, one per change or action). Actions run the one use case of each: correct, void,
re-bill (``claim_changes``), appeal (the claim becomes ``appealed``; the letter is a PDF built
from the note, the diagnoses, the CARC/RARC and the payer's address), write off and transfer
to the patient (ledger entries, never edits).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Row, func, select

from therabill.adapters.db.followup_tables import claim_followup_notes, claim_followups
from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.tables import claims, patients, payers
from therabill.clock import Clock, current_time
from therabill.domain import claim_changes as rules
from therabill.domain.ledger import Bucket
from therabill.domain.money import from_cents
from therabill.domain.records import ClaimStatus
from therabill.service_layer import claim_changes, followup_query, ledger, ledger_corrections
from therabill.service_layer import claims as claims_svc
from therabill.service_layer.errors import refuse
from therabill.service_layer.uow import UnitOfWork, ambient_session, one_transaction

__all__ = [
    "DEFAULT_UNPAID_DAYS",
    "FollowUpItem",
    "act",
    "adjustment_codes",
    "item",
    "update",
    "worklist",
]

DEFAULT_UNPAID_DAYS = 30
_NOTE_MAX = 2000
_RARC = re.compile(r"^[A-Z]{1,2}\d{1,3}$")
_CARC = re.compile(r"^[A-Z0-9]{1,3}$")


@dataclass(frozen=True, slots=True)
class FollowUpItem:
    """A claim on the follow-up worklist.

    Attributes:
        claim_id: opaque id.
        claim_number: CLM01.
        status: the claim's status.
        reason: ``denied``, ``rejected`` or ``unpaid``.
        date_of_service: the visit date.
        age_days: days since the date of service.
        aging: the aging bucket (``0-30`` ... ``121+``).
        patient: the patient's name.
        payer: the payer's name.
        total_charge_cents: the claim total.
        payer_claim_control_number: the payer's claim number, if any.
        state: the biller's state of the item.
        owner: who works it.
        next_action_on: when to act next.
        remark_codes: the payer's RARCs recorded on it.
        actions: what can be done.
        notes: the notes, oldest first (``item`` fills them; the list leaves them out).
    """

    claim_id: str
    claim_number: str
    status: str
    reason: str
    date_of_service: date
    age_days: int
    aging: str
    patient: str
    payer: str
    total_charge_cents: int
    payer_claim_control_number: str | None
    state: str
    owner: str | None
    next_action_on: date | None
    remark_codes: tuple[str, ...]
    actions: tuple[str, ...]
    notes: tuple[dict[str, Any], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """The public shape (API and CLI ``--json``)."""
        return {
            "claim_id": self.claim_id,
            "claim_number": self.claim_number,
            "status": self.status,
            "reason": self.reason,
            "date_of_service": self.date_of_service.isoformat(),
            "age_days": self.age_days,
            "aging": self.aging,
            "patient": self.patient,
            "payer": self.payer,
            "total_charge": str(from_cents(self.total_charge_cents)),
            "payer_claim_control_number": self.payer_claim_control_number,
            "state": self.state,
            "owner": self.owner,
            "next_action_on": self.next_action_on.isoformat() if self.next_action_on else None,
            "remark_codes": list(self.remark_codes),
            "actions": list(self.actions),
            "notes": [dict(n, at=n["at"].isoformat()) for n in self.notes],
        }


def _item_of(
    row: Row[Any],
    stored: Row[Any] | None,
    reason: rules.FollowUpReason,
    as_of: date,
    patient: str,
    payer: str,
    notes: tuple[dict[str, Any], ...] = (),
) -> FollowUpItem:
    age = rules.age_days(row.date_of_service, as_of)
    return FollowUpItem(
        claim_id=row.id,
        claim_number=row.claim_number,
        status=row.status,
        reason=reason.value,
        date_of_service=row.date_of_service,
        age_days=age,
        aging=rules.aging_bucket(age),
        patient=patient,
        payer=payer,
        total_charge_cents=int(row.total_charge_cents),
        payer_claim_control_number=row.payer_claim_control_number,
        state=stored.state if stored is not None else "open",
        owner=stored.owner if stored is not None else None,
        next_action_on=stored.next_action_on if stored is not None else None,
        remark_codes=tuple((stored.remark_codes or []) if stored is not None else ()),
        actions=tuple(a.value for a in rules.follow_up_actions(row.status, row.payer_claim_control_number)),
        notes=notes,
    )


def worklist(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    as_of: date,
    unpaid_days: int = DEFAULT_UNPAID_DAYS,
    include_done: bool = False,
    owner: str | None = None,
    reason: str | None = None,
) -> list[FollowUpItem]:
    """The claims that need follow-up, oldest date of service first (``done`` items left out
    unless ``include_done``; ``owner``/``reason`` filter)."""
    items, _total = worklist_head(
        engine,
        practice_id,
        actor,
        as_of=as_of,
        unpaid_days=unpaid_days,
        include_done=include_done,
        owner=owner,
        reason=reason,
        rows=None,
    )
    return items


def worklist_head(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    as_of: date,
    rows: int | None,
    unpaid_days: int = DEFAULT_UNPAID_DAYS,
    include_done: bool = False,
    owner: str | None = None,
    reason: str | None = None,
) -> tuple[list[FollowUpItem], int]:
    """The first ``rows`` items of ``worklist`` (all when ``None``) and how many there are in
    all: a page lists the oldest without building an item, or reading a name, for the rest."""
    if unpaid_days < 0 or unpaid_days > 3650:
        raise refuse("followup-days-invalid", "days", "must be between 0 and 3650")
    if reason is not None and reason not in {r.value for r in rules.FollowUpReason}:
        raise refuse("followup-reason-unknown", "reason", "must be denied, rejected or unpaid")
    joined, conds = followup_query.worklist_query(
        practice_id,
        as_of=as_of,
        unpaid_days=unpaid_days,
        include_done=include_done,
        owner=owner,
        reason=reason,
    )
    # The oldest first from the database (a page reads only its rows), the count apart: neither
    # builds an item, or reads a name, for a claim the page does not show.
    head = (
        select(
            *followup_query.CANDIDATE_COLUMNS,
            claim_followups.c.id.label("stored_id"),
            *followup_query.STORED_COLUMNS,
        )
        .select_from(joined)
        .where(*conds)
        .order_by(claims.c.date_of_service, claims.c.claim_number, claims.c.id)
    )
    if rows is not None:
        head = head.limit(rows)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        shown: list[Row[Any]] = list(uow.session.execute(head))
        if rows is None or len(shown) < rows:
            total = len(shown)
        else:
            needs_join = not include_done or owner is not None
            counted = select(func.count()).select_from(joined if needs_join else claims).where(*conds)
            total = int(uow.session.execute(counted).scalar_one())
        payer_names = dict(
            uow.session.execute(
                select(payers.c.id, payers.c.name).where(
                    payers.c.practice_id == practice_id,
                    payers.c.id.in_(sorted({r.payer_id for r in shown if r.payer_id})),
                )
            ).all()
        )
        people = uow.records.patients_by_id(row.patient_id for row in shown)
    names = {pid: f"{p.last_name}, {p.first_name}" for pid, p in people.items()}
    items = []
    for row in shown:
        why = rules.follow_up_reason(
            row.status, date_of_service=row.date_of_service, as_of=as_of, unpaid_days=unpaid_days
        )
        assert why is not None  # the query asks for exactly the claims with a reason
        kept = row if row.stored_id is not None else None
        items.append(
            _item_of(
                row, kept, why, as_of, names.get(row.patient_id, ""), payer_names.get(row.payer_id or "", "")
            )
        )
    return items, total


def item(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    *,
    as_of: date,
    unpaid_days: int = DEFAULT_UNPAID_DAYS,
) -> FollowUpItem:
    """One claim's follow-up item with its notes (any claim: a claim that no longer needs
    follow-up shows why it was worked)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        row = uow.records.get(claims, claim_id)
        kept = _stored(uow, claim_id)
        notes = tuple(
            {"at": n.at, "actor": n.actor, "action": n.action, "text": n.text}
            for n in uow.records.rows(
                claim_followup_notes,
                claim_followup_notes.c.claim_id == claim_id,
                order_by=[claim_followup_notes.c.at],
            )
        )
        patient = uow.records.get(patients, row.patient_id)
        payer = uow.records.find(payers, row.payer_id) if row.payer_id else None
    why = rules.follow_up_reason(
        row.status, date_of_service=row.date_of_service, as_of=as_of, unpaid_days=unpaid_days
    )
    return _item_of(
        row,
        kept,
        why or rules.FollowUpReason.UNPAID,
        as_of,
        f"{patient.last_name}, {patient.first_name}",
        payer.name if payer is not None else "",
        notes,
    )


def _stored(uow: UnitOfWork, claim_id: str) -> Row[Any] | None:
    found = uow.records.rows(claim_followups, claim_followups.c.claim_id == claim_id)
    return found[0] if found else None


def _note(uow: UnitOfWork, claim_id: str, action: str, text: str | None) -> None:
    uow.records.insert(
        claim_followup_notes, claim_id=claim_id, at=uow.now(), actor=uow.actor, action=action, text=text
    )


def _clean_note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > _NOTE_MAX:
        raise refuse("followup-note-too-long", "note", f"at most {_NOTE_MAX} characters")
    return text or None


def _clean_remarks(codes: Sequence[str] | None) -> list[str] | None:
    if codes is None:
        return None
    out: list[str] = []
    for i, raw in enumerate(codes):
        code = raw.strip().upper()
        if not _RARC.fullmatch(code):
            raise refuse("followup-remark-invalid", f"remark_codes[{i}]", "a remark code such as N362 or M80")
        if code not in out:
            out.append(code)
    return out


def update(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    *,
    as_of: date,
    note: str | None = None,
    state: str | None = None,
    owner: str | None = None,
    next_action_on: date | None = None,
    remark_codes: Sequence[str] | None = None,
    clock: Clock = current_time,
) -> FollowUpItem:
    """Add a note, assign an owner (``""`` clears it), set the state, the next-action date or
    the payer's remark codes; each change is written down as a note with who and when.

    Raises:
        ClaimChangeError: an unknown state, an owner over 80 characters, a date in the past.
        RecordsError: a note over 2,000 characters, a malformed remark code.
        NotFoundError: no such claim.
    """
    change = rules.check_follow_up_change(rules.FollowUpChange(state, owner, next_action_on), as_of=as_of)
    text = _clean_note(note)
    remarks = _clean_remarks(remark_codes)
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(claims, claim_id, for_update=True)
        _save(uow, claim_id, change, remarks)
        said = []
        if change.owner is not None:
            said.append(f"owner: {change.owner or 'nobody'}")
        if change.state is not None:
            said.append(f"state: {change.state}")
        if change.next_action_on is not None:
            said.append(f"next action on {change.next_action_on.isoformat()}")
        if remarks is not None:
            said.append(f"remark codes: {', '.join(remarks) or 'none'}")
        if said:
            _note(uow, claim_id, "update", "; ".join(said))
        if text:
            _note(uow, claim_id, "note", text)
        uow.record("followup.update", "claim", claim_id, {"changed": said, "note": bool(text)})
    return item(engine, practice_id, actor, claim_id, as_of=as_of)


def _save(
    uow: UnitOfWork, claim_id: str, change: rules.FollowUpChange, remarks: list[str] | None = None
) -> None:
    kept = _stored(uow, claim_id)
    values: dict[str, Any] = {"updated_at": uow.now()}
    if change.state is not None:
        values["state"] = change.state
    if change.owner is not None:
        values["owner"] = change.owner or None
    if change.next_action_on is not None:
        values["next_action_on"] = change.next_action_on
    if remarks is not None:
        values["remark_codes"] = remarks
    if kept is None:
        uow.records.insert(
            claim_followups,
            claim_id=claim_id,
            state=values.pop("state", "in_progress"),
            created_at=uow.now(),
            **values,
        )
    else:
        uow.records.update(claim_followups, kept.id, **values)


# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a worklist action did.

    Attributes:
        action: the action.
        claim_id: the claim worked.
        new_claim_id: the new version, when the action made one.
        entries: ledger entries posted.
    """

    action: str
    claim_id: str
    new_claim_id: str | None
    entries: int

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {
            "action": self.action,
            "claim_id": self.claim_id,
            "new_claim_id": self.new_claim_id,
            "entries": self.entries,
        }


def act(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    action: str,
    *,
    as_of: date,
    note: str | None = None,
    reason_code: str | None = None,
    clock: Clock = current_time,
) -> ActionResult:
    """Do one worklist action on the claim, with a note, in one transaction.

    ``write_off`` writes off the insurance balance of every line (group CO, ``reason_code``,
    default the denial's own); ``transfer_to_patient`` moves it to the patient (PR). The item
    is ``done`` after a write-off, a transfer, a void or a new version, ``waiting`` after an
    appeal.

    Raises:
        RecordsError: an unknown action, or one the claim's status does not allow.
    """
    try:
        kind = rules.FollowUpAction(action)
    except ValueError:
        raise refuse(
            "followup-action-unknown",
            "action",
            "must be one of " + ", ".join(a.value for a in rules.FollowUpAction),
        ) from None
    text = _clean_note(note)
    if reason_code is not None and not _CARC.fullmatch(reason_code.strip().upper()):
        raise refuse(
            "followup-reason-code-invalid", "reason_code", "a claim adjustment reason code such as 45"
        )
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        row = uow.records.get(claims, claim_id)
    allowed = rules.follow_up_actions(row.status, row.payer_claim_control_number)
    if kind not in allowed:
        raise refuse(
            "followup-action-not-allowed",
            "action",
            f"a {row.status.replace('_', ' ')} claim allows: {', '.join(a.value for a in allowed)}",
        )
    new_claim: str | None = None
    entries = 0
    outer = ambient_session(engine)
    with one_transaction(engine, savepoints=False) if outer is None else nullcontext():
        if kind is rules.FollowUpAction.CORRECT:
            new_claim = claim_changes.correct(
                engine, practice_id, actor, claim_id, as_of=as_of, reason=text, clock=clock
            ).claim_id
        elif kind is rules.FollowUpAction.VOID:
            new_claim = claim_changes.void(
                engine, practice_id, actor, claim_id, reason=text, clock=clock
            ).claim_id
        elif kind is rules.FollowUpAction.REBILL:
            new_claim = claim_changes.rebill(
                engine, practice_id, actor, claim_id, as_of=as_of, reason=text, clock=clock
            ).claim_id
        elif kind is rules.FollowUpAction.APPEAL:
            claims_svc.set_claim_status(
                engine,
                practice_id,
                actor,
                claim_id,
                ClaimStatus.APPEALED.value,
                note=f"appeal: {text or ''}"[:300],
            )
        else:
            entries = _move_money(engine, practice_id, actor, claim_id, kind, reason_code)
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            state = "waiting" if kind is rules.FollowUpAction.APPEAL else "done"
            _save(uow, claim_id, rules.FollowUpChange(state=state))
            _note(uow, claim_id, kind.value, text)
            uow.record("followup.act", "claim", claim_id, {"action": kind.value, "new_claim": new_claim})
    return ActionResult(kind.value, claim_id, new_claim, entries)


def adjustment_codes(engine: Engine, practice_id: str, actor: str, claim_id: str) -> list[tuple[str, str]]:
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.records.rows(
            ledger_entries,
            ledger_entries.c.claim_id == claim_id,
            ledger_entries.c.reason_code.is_not(None),
            ledger_entries.c.reverses_entry_id.is_(None),
            order_by=[ledger_entries.c.posted_at],
        )
    out: list[tuple[str, str]] = []
    for r in rows:
        pair = (r.group_code or "", r.reason_code or "")
        if pair not in out and pair[0] in ("CO", "OA", "PI", "PR", "CR"):
            out.append(pair)
    return out


def _denial_reason(engine: Engine, practice_id: str, actor: str, claim_id: str) -> str:
    codes = adjustment_codes(engine, practice_id, actor, claim_id)
    return next((reason for group, reason in codes if group in ("CO", "OA", "PI")), "A1")


def _move_money(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    kind: rules.FollowUpAction,
    reason_code: str | None,
) -> int:
    lines = ledger.balances(engine, practice_id, actor, claim_id=claim_id)["lines"]
    posted = 0
    reason = (reason_code or "").strip().upper() or _denial_reason(engine, practice_id, actor, claim_id)
    for line_id, figures in sorted(lines.items()):
        owed = Decimal(figures["insurance_balance"])
        if owed <= 0:
            continue
        if kind is rules.FollowUpAction.WRITE_OFF:
            done = ledger_corrections.write_off(
                engine,
                practice_id,
                actor,
                item_id=line_id,
                amount=owed,
                bucket=Bucket.INSURANCE,
                group_code="CO",
                reason_code=reason,
                key=f"followup-write-off:{claim_id}:{line_id}",
            )
        else:
            done = ledger_corrections.transfer_balance(
                engine,
                practice_id,
                actor,
                item_id=line_id,
                to="patient",
                amount=owed,
                reason_code=reason,
                key=f"followup-transfer:{claim_id}:{line_id}",
            )
        posted += len(done.entry_ids)
    if posted == 0:
        raise refuse("followup-nothing-owed", "claim", "insurance owes nothing on this claim")
    return posted
