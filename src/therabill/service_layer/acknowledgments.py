"""Acknowledgments and claim status answers: ONE applier for every surface (``claims ack``,
``fetch``, the web and the API).

``apply_file`` reads a TA1, 999 or 277CA file (or, where claim status answers are welcome, a
277 of 005010X212) and moves the claims it answers, one transaction per acknowledgment:

* TA1 rejected: every claim of that interchange (ISA13) becomes ``batch_rejected``;
* 999: each claim of the group (GS06) by its transaction's verdict (AK2/IK5), else the
  group's (AK9): ``batch_accepted`` or ``batch_rejected``;
* 277CA: each claim (CLM01) accepted goes to ``clearinghouse_accepted`` (then
  ``payer_accepted``), rejected to ``clearinghouse_rejected`` (or ``payer_rejected``); the
  payer's claim number is kept. A status above the patient level (the batch, 2200B/C) is
  reported as the batch's; a rejection there rejects the claims of that transaction that
  the file does not answer one by one;
* 277 (claim status, X212): pending (P*) → ``pending``, finalized denial (F2/F4) →
  ``denied``, a payer rejection → ``payer_rejected``; the rest is recorded only.

Every move's note names the answer, so applying the same file twice changes nothing the
second time. Each claim looked at gives one entry ``{"claim", "from", "to", "note"}``
(``to`` is ``None`` when the claim was left as it was).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.db.tables import claims
from therabill.adapters.x12.acknowledgments import read_acknowledgments
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import iter_segments
from therabill.adapters.x12.x277_005010X212 import read_277
from therabill.clock import Clock, current_time
from therabill.domain.acknowledgment import Acknowledgment, ClaimAck
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.records import ClaimStatus, TransitionError, check_claim_transition
from therabill.service_layer import claim_status
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "ACK_KINDS",
    "ANSWER_KINDS",
    "AWAITING_ANSWER",
    "AckResult",
    "AcknowledgmentError",
    "apply_acknowledgments",
    "apply_file",
    "detect_kind",
]

_S = ClaimStatus
ACK_KINDS = frozenset({"TA1", "999", "277CA"})
"""What ``claims ack`` applies: acknowledgments of what was sent."""

ANSWER_KINDS = ACK_KINDS | {"277"}
"""What ``fetch`` applies: the acknowledgments and the payers' claim status answers."""

AWAITING_ANSWER = frozenset(
    {_S.SUBMITTED, _S.BATCH_ACCEPTED, _S.CLEARINGHOUSE_ACCEPTED, _S.PAYER_ACCEPTED, _S.PENDING}
)
"""Claim statuses that wait for an answer from the clearinghouse or the payer."""

_SENT = frozenset({_S.SUBMITTED})
_ACKED = frozenset({_S.SUBMITTED, _S.BATCH_ACCEPTED})
_ANSWERABLE = AWAITING_ANSWER | {_S.APPEALED}
_KIND_WORDS = {
    "277": "a claim status response (277, 005010X212)",
    "835": "a remittance (835)",
    "271": "an eligibility response (271)",
    "unknown": "not a file therabill can read as X12",
}


class AcknowledgmentError(TherabillError):
    """The file is not an acknowledgment this command applies."""

    code = "ack-wrong-kind"


@dataclass(slots=True)
class AckResult:
    """What applying a file did.

    Attributes:
        kind: the file's kind (``detect_kind``).
        acknowledgments: each acknowledgment read: kind, status, words, rejected.
        claims: one entry per claim looked at.
        batches: batch-level 277CA statuses (a 2200B/C STC), with what they did.
    """

    kind: str
    acknowledgments: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejects_anything(self) -> bool:
        """True when the file rejects an interchange, group, transaction or claim."""
        return any(a["rejected"] for a in self.acknowledgments) or any(
            (c["to"] or "").endswith("rejected") for c in self.claims
        )

    def as_dict(self) -> dict[str, Any]:
        """The public shape (``--json``, fetch results)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "acknowledgments": self.acknowledgments,
            "claims": self.claims,
        }
        if self.batches:
            out["batches"] = self.batches
        return out


def detect_kind(data: bytes) -> str:
    """The kind of an X12 file from its GS/ST headers: ``TA1``, ``999``, ``277CA``, ``277``
    (claim status), ``835``, ``271`` or ``unknown``."""
    gs08 = ""
    has_ta1 = False
    try:
        for seg in iter_segments(data):
            sid = seg[0]
            if sid == "TA1":
                has_ta1 = True
            elif sid == "GS":
                gs08 = seg[8] if len(seg) > 8 else ""
            elif sid == "ST":
                st01 = seg[1] if len(seg) > 1 else ""
                if st01 == "277":
                    return "277CA" if "X214" in gs08 else "277"
                return st01 if st01 in ("999", "835", "271") else "unknown"
    except X12Error:
        return "unknown"
    return "TA1" if has_ta1 else "unknown"


def _control(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _move(
    uow: UnitOfWork,
    row: Any,
    candidates: Sequence[tuple[frozenset[ClaimStatus], ClaimStatus]],
    note: str,
    pccn: str | None = None,
) -> dict[str, Any]:
    """Move a claim to the status its current status calls for, if any (once per note)."""
    note = note[:300]
    if any(e.note == note for e in uow.records.status_history(row.id)):
        return {"claim": row.claim_number, "from": row.status, "to": None, "note": "already applied"}
    if pccn and row.payer_claim_control_number != pccn:
        uow.records.update(claims, row.id, payer_claim_control_number=pccn)
    for sources, target in candidates:
        if ClaimStatus(row.status) not in sources:
            continue
        try:
            check_claim_transition(row.status, target.value)
        except TransitionError:
            continue
        claim_status.set_status_in(uow, row, target.value, note=note)
        return {"claim": row.claim_number, "from": row.status, "to": target.value, "note": note}
    return {"claim": row.claim_number, "from": row.status, "to": None, "note": f"left {row.status}"}


def _unknown(claim_number: str) -> dict[str, Any]:
    return {"claim": claim_number, "from": None, "to": None, "note": "unknown claim"}


def _claim_moves(c: ClaimAck) -> list[tuple[frozenset[ClaimStatus], ClaimStatus]]:
    if c.accepted:
        return [
            (_ACKED, _S.CLEARINGHOUSE_ACCEPTED),
            (frozenset({_S.CLEARINGHOUSE_ACCEPTED}), _S.PAYER_ACCEPTED),
        ]
    return [
        (_ACKED, _S.CLEARINGHOUSE_REJECTED),
        (frozenset({_S.CLEARINGHOUSE_ACCEPTED, _S.PAYER_ACCEPTED}), _S.PAYER_REJECTED),
    ]


def _batch_trace(trace: str) -> tuple[int, str] | None:
    """Our 837's BHT03 is the interchange control number followed by the 4-digit ST02."""
    if len(trace) > 4 and trace.isdigit():
        return int(trace[:-4]), trace[-4:]
    return None


def batch_level_traces(data: bytes) -> frozenset[str]:
    """TRN*2 traces of a 277CA above the patient level: 2200B (the batch: our 837's BHT03).

    The acknowledgment reader reports every STC with the last TRN*2 before it, so the
    information receiver's status (and a billing provider's, 2200C, which has no TRN*2 of its
    own) comes out under the batch's trace; these are told apart from claims here. A trace
    also used at the patient level is taken as a claim.
    """
    above: set[str] = set()
    below: set[str] = set()
    level = ""
    try:
        for seg in iter_segments(data):
            if seg[0] == "HL":
                level = seg[3] if len(seg) > 3 else ""
            elif seg[0] == "TRN" and len(seg) > 2 and seg[1] == "2" and seg[2]:
                (below if level in ("PT", "22", "23") else above).add(seg[2])
    except X12Error:
        return frozenset()
    return frozenset(above - below)


def _apply_one(
    uow: UnitOfWork, ack: Acknowledgment, batch_traces: Collection[str], result: AckResult
) -> None:
    ref = ack.interchange_control_number
    if ack.kind == "TA1":
        ctrl = _control(ref)
        if ctrl is None or ack.accepted:
            return
        result.claims.extend(
            _move(uow, row, [(_SENT, _S.BATCH_REJECTED)], f"TA1 {ref}: {ack.words}")
            for row in uow.records.rows(claims, claims.c.interchange_control_number == ctrl)
        )
    elif ack.kind == "999":
        ctrl = _control(ack.group_control_number)
        if ctrl is None:
            return
        verdicts = {t.control_number: t for t in ack.transactions if t.transaction_type == "837"}
        for row in uow.records.rows(claims, claims.c.group_control_number == ctrl):
            verdict = verdicts.get(row.transaction_control_number or "")
            ok = verdict.accepted if verdict is not None else ack.accepted
            target = _S.BATCH_ACCEPTED if ok else _S.BATCH_REJECTED
            result.claims.append(_move(uow, row, [(_SENT, target)], f"999 {ref}: {ack.words}"))
    elif ack.kind == "277CA":
        claim_level = [c for c in ack.claims if c.claim_id not in batch_traces]
        answered = {c.claim_id for c in claim_level}
        for c in ack.claims:
            if c.claim_id in batch_traces:
                result.batches.append(_batch_status(uow, ack, c, answered, result))
        for c in claim_level:
            found = uow.records.claim_by_number(c.claim_id)
            if found is None:
                result.claims.append(_unknown(c.claim_id))
                continue
            note = f"277CA {ref}: {c.category}:{c.status_code} {c.words}"
            result.claims.append(_move(uow, found, _claim_moves(c), note, c.payer_claim_control_number))


def _batch_status(
    uow: UnitOfWork, ack: Acknowledgment, c: ClaimAck, answered: set[str], result: AckResult
) -> dict[str, Any]:
    """A batch-level 277CA status: reported; a rejection rejects the transaction's claims that
    the file does not answer one by one."""
    entry: dict[str, Any] = {
        "batch_trace": c.claim_id,
        "category": c.category,
        "status_code": c.status_code,
        "accepted": c.accepted,
        "words": c.words,
    }
    found = _batch_trace(c.claim_id)
    rows = (
        uow.records.rows(
            claims,
            claims.c.interchange_control_number == found[0],
            claims.c.transaction_control_number == found[1],
        )
        if found
        else []
    )
    if found is None or not rows:
        entry["result"] = "batch-level status; no batch of ours has this trace"
        return entry
    entry.update(interchange=found[0], transaction=found[1], claims=len(rows))
    if c.accepted:
        entry["result"] = "batch acknowledged"
        return entry
    todo = [r for r in rows if r.claim_number not in answered]
    note = f"277CA {ack.interchange_control_number} batch {c.category}:{c.status_code} {c.words}"
    result.claims.extend(_move(uow, r, [(_ACKED, _S.CLEARINGHOUSE_REJECTED)], note) for r in todo)
    entry["result"] = f"batch rejected: {len(todo)} claim(s) not answered one by one rejected"
    return entry


def apply_acknowledgments(
    engine: Engine,
    practice_id: str,
    actor: str,
    acks: Iterable[Acknowledgment],
    *,
    batch_traces: Collection[str] = frozenset(),
    kind: str = "acknowledgments",
    clock: Clock = current_time,
) -> AckResult:
    """Move claims by acknowledgments already read, one transaction per acknowledgment.

    ``batch_traces`` are the 277CA traces that stand for a batch, not a claim
    (``batch_level_traces`` of the file).
    """
    result = AckResult(kind)
    for ack in acks:
        result.acknowledgments.append(
            {
                "kind": ack.kind,
                "control_number": ack.interchange_control_number,
                "status": ack.status,
                "words": ack.words,
                "rejected": not ack.accepted
                or any(not t.accepted for t in ack.transactions)
                or any(not c.accepted for c in ack.claims),
            }
        )
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            _apply_one(uow, ack, batch_traces, result)
    return result


def _apply_277(engine: Engine, practice_id: str, actor: str, data: bytes, clock: Clock) -> AckResult:
    result = AckResult("277")
    for ans in read_277(data):
        cat = ans.category
        note = f"277 {cat}: " + "; ".join(f"{s.category}:{s.code} {s.words}" for s in ans.statuses)
        if cat.startswith("P"):
            cands = [(_ANSWERABLE, _S.PENDING)]
        elif cat in ("F2", "F4"):
            cands = [(_ANSWERABLE, _S.DENIED)]
        elif ans.rejected:
            cands = [(frozenset({_S.CLEARINGHOUSE_ACCEPTED, _S.PAYER_ACCEPTED}), _S.PAYER_REJECTED)]
        else:  # A1/A2 acknowledgements, F1 paid (the 835 posts the money): recorded only
            cands = []
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            row = uow.records.claim_by_number(ans.claim_id)
            result.claims.append(
                _unknown(ans.claim_id)
                if row is None
                else _move(uow, row, cands, note, ans.payer_claim_control_number)
            )
    return result


def apply_file(
    engine: Engine,
    practice_id: str,
    actor: str,
    data: bytes,
    *,
    accept: Collection[str] = ACK_KINDS,
    clock: Clock = current_time,
) -> AckResult:
    """Read an acknowledgment (or claim status) file and move the claims it answers.

    Args:
        accept: the kinds this caller applies (``claims ack``: TA1, 999, 277CA; fetch adds
            the claim status 277).

    Raises:
        AcknowledgmentError: the file is of another kind (``ack-wrong-kind``), named.
        X12Error: the file cannot be read (naming the segment); nothing is applied.
    """
    kind = detect_kind(data)
    if kind not in accept:
        what = _KIND_WORDS.get(kind, kind)
        raise AcknowledgmentError(
            f"the file is {what}, not {' / '.join(sorted(accept))}",
            (Problem("ack-wrong-kind", "file", f"{kind}: {what}"),),
        )
    if kind == "277":
        return _apply_277(engine, practice_id, actor, data, clock)
    acks = list(read_acknowledgments(data))
    return apply_acknowledgments(
        engine,
        practice_id,
        actor,
        acks,
        batch_traces=batch_level_traces(data) if kind == "277CA" else frozenset(),
        kind=kind,
        clock=clock,
    )
