"""Stored claims and X12: export an 837P batch, apply acknowledgments, store 271 answers.

``export_837`` takes the practice's claims in a status (``ready`` by default), builds a
batch with the practice's next interchange control number (persisted, unique per
practice), writes the 837P through the X12 layer (``write_837p``), and in ONE transaction
records the batch with the file's SHA-256, each claim's interchange, group and
transaction control numbers, and moves each claim to ``submitted``. The file is written
to a temporary name first and put in place only after the commit; if anything fails,
nothing is recorded and no file appears. A claim leaves ``ready`` once exported, so a
second export does not send it again; ``batch_837`` rewrites a recorded batch byte for
byte (same control number and time) for an explicit re-send.

Only claims without scrub errors are exported. A claim with errors goes out only with an
override: ``override_reason`` given, recorded in the claim's status history and in the
audit log with the acting user.

``apply_acknowledgments`` moves claims by TA1 (interchange), 999 (group and transaction)
and 277CA (claim) verdicts; ``store_eligibility`` keeps a 271 summary as an eligibility
check of the patient's coverage.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.db.tables import claim_batches, claims, coverages
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.clock import Clock, current_time
from therabill.domain.acknowledgment import Acknowledgment
from therabill.domain.eligibility import EligibilitySummary
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.records import ClaimStatus, TransitionError, check_claim_transition
from therabill.service_layer import records as rec
from therabill.service_layer.uow import UnitOfWork

_S = ClaimStatus


class ExportError(TherabillError):
    """Nothing could be exported (the problems say why)."""

    code = "export-837-refused"


@dataclass(frozen=True, slots=True)
class Export:
    """What an export wrote.

    Attributes:
        batch_id: the recorded batch.
        control_number: its interchange control number (ISA13 = GS06).
        claim_numbers: the claims in the file (CLM01), in file order.
        skipped: claims left out, with the reason (``claim-has-scrub-errors``...).
        sha256: the file's hash, as recorded.
        path: where the file was written (``None`` when only the text was asked for).
        text: the 837P.
    """

    batch_id: str
    control_number: int
    claim_numbers: tuple[str, ...]
    skipped: tuple[Problem, ...]
    sha256: str
    path: Path | None
    text: str


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo else value


def _write_temp(path: Path, text: str) -> Path:
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return temp


def export_837(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    settings: EnvelopeSettings | None = None,
    statuses: Sequence[str] = (_S.READY.value,),
    claim_ids: Sequence[str] | None = None,
    override_reason: str | None = None,
    out: Path | None = None,
    clock: Clock = current_time,
) -> Export:
    """Export stored claims as one 837P batch and mark them submitted (one transaction).

    Args:
        engine: the database.
        practice_id: the practice.
        actor: who exports (recorded with any override).
        settings: envelope settings (usage indicator ``T`` unless ``P`` is set).
        statuses: which claims to take (``ready``; ``scrubbed`` needs ``override_reason``
            for claims with errors and passes through ``ready``).
        claim_ids: only these claims (by id), if given.
        override_reason: send claims with scrub errors anyway, for this recorded reason.
        out: write the file here (temporary name until the commit).
        clock: the time written into the envelope and the records.

    Raises:
        ExportError: no claim to export (``export-837-nothing``), or every candidate has
            scrub errors and no override was given.
        X12Error: a claim cannot be written (every problem listed); nothing is recorded.
    """
    allowed = {_S.READY.value, _S.SCRUBBED.value}
    bad = [s for s in statuses if s not in allowed]
    if bad:
        raise ExportError(
            "only ready or scrubbed claims can be exported",
            tuple(Problem("export-837-status", "--status", f"{s!r} cannot be exported") for s in bad),
        )
    if override_reason is not None and not override_reason.strip():
        raise ExportError(
            "an override needs a reason", (Problem("export-837-override-reason", "--override", "empty"),)
        )
    temp: Path | None = None
    try:
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            if claim_ids is not None:
                rows = [uow.records.get(claims, cid, for_update=True) for cid in claim_ids]
                rows = [r for r in rows if r.status in statuses]
            else:
                rows = uow.records.rows(
                    claims, claims.c.status.in_(list(statuses)), order_by=[claims.c.claim_number]
                )
            skipped: list[Problem] = []
            chosen = []
            for r in rows:
                if r.has_errors and override_reason is None:
                    skipped.append(
                        Problem("claim-has-scrub-errors", r.claim_number, "scrub errors; not exported")
                    )
                else:
                    chosen.append(r)
            if not chosen:
                raise ExportError(
                    "no claim to export",
                    tuple(skipped) or (Problem("export-837-nothing", "claims", "no claim in that status"),),
                )
            control = rec.allocate_control_number(uow)
            now = uow.now()
            domain_claims = [rec.claim_in(uow, r.id) for r in chosen]
            settings = settings or EnvelopeSettings()
            text = write_837p(domain_claims, settings, control_number=control, created=_naive(now))
            digest = hashlib.sha256(text.encode("ascii")).hexdigest()
            batch_id = uow.records.insert(
                claim_batches,
                control_number=control,
                status="exported",
                claim_count=len(chosen),
                total_charge_cents=sum(int(r.total_charge_cents) for r in chosen),
                file_sha256=digest,
                created_at=now,
            )
            size = settings.max_claims_per_transaction
            for n, r in enumerate(chosen):
                if r.has_errors:
                    note = f"scrub errors overridden by {actor}: {override_reason}"[:300]
                    if r.status != _S.READY.value:
                        rec.set_status_in(uow, r, _S.READY.value, note=note)
                        r = uow.records.get(claims, r.id)
                    uow.record("claim.override", "claim", r.id, {"reason": override_reason})
                elif r.status != _S.READY.value:
                    rec.set_status_in(uow, r, _S.READY.value, note="exported")
                    r = uow.records.get(claims, r.id)
                rec.set_status_in(uow, r, _S.SUBMITTED.value, note=f"837P interchange {control}")
                uow.records.update(
                    claims,
                    r.id,
                    batch_id=batch_id,
                    interchange_control_number=control,
                    group_control_number=control,
                    transaction_control_number=f"{n // size + 1:04d}",
                )
            uow.record(
                "batch.export-837",
                "claim_batch",
                batch_id,
                {
                    "claims": len(chosen),
                    "control_number": control,
                    "sha256": digest,
                    "usage": settings.usage_indicator,
                },
            )
            if out is not None:
                temp = _write_temp(out, text)
        if temp is not None and out is not None:
            os.replace(temp, out)
            temp = None
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)
    return Export(
        batch_id,
        control,
        tuple(c.claim_id for c in domain_claims),
        tuple(skipped),
        digest,
        out,
        text,
    )


def batch_837(
    engine: Engine, practice_id: str, actor: str, batch_id: str, settings: EnvelopeSettings | None = None
) -> str:
    """The 837P of a recorded batch again, byte for byte (same control number and time).

    Nothing changes in the records: this is for an explicit re-send of a lost file.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        batch = uow.records.get(claim_batches, batch_id)
        rows = uow.records.rows(claims, claims.c.batch_id == batch_id, order_by=[claims.c.claim_number])
        if not rows:
            raise ExportError("the batch holds no claim", (Problem("batch-empty", batch_id, "no claim"),))
        domain_claims = [rec.claim_in(uow, r.id) for r in rows]
    return write_837p(
        domain_claims,
        settings or EnvelopeSettings(),
        control_number=int(batch.control_number),
        created=_naive(batch.created_at),
    )


# -- acknowledgments -----------------------------------------------------------------------

_SENT = frozenset({_S.SUBMITTED})
_BATCH_OK = frozenset({_S.SUBMITTED, _S.BATCH_ACCEPTED})


def _control(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _move(
    uow: UnitOfWork,
    row: Any,
    candidates: Sequence[tuple[frozenset[ClaimStatus], ClaimStatus]],
    note: str,
    pccn: str | None = None,
) -> dict[str, Any]:
    note = note[:300]
    if any(e.note == note for e in uow.records.status_history(row.id)):
        return {"claim": row.claim_number, "from": row.status, "to": None, "note": "already applied"}
    for sources, target in candidates:
        if ClaimStatus(row.status) not in sources:
            continue
        try:
            check_claim_transition(row.status, target.value)
        except TransitionError:
            continue
        rec.set_status_in(uow, row, target.value, note=note)
        if pccn:
            uow.records.update(claims, row.id, payer_claim_control_number=pccn)
        return {"claim": row.claim_number, "from": row.status, "to": target.value}
    return {"claim": row.claim_number, "from": row.status, "to": None, "note": f"left {row.status}"}


def apply_acknowledgments(
    engine: Engine,
    practice_id: str,
    actor: str,
    acks: Iterable[Acknowledgment],
    *,
    clock: Clock = current_time,
) -> list[dict[str, Any]]:
    """Move claims by their acknowledgments; one transaction per acknowledgment.

    * TA1 rejected → every claim of that interchange (ISA13) ``batch_rejected``;
    * 999 → each claim of the group (GS06) by its transaction's verdict (AK2/IK5), else
      the group's (AK9): ``batch_accepted`` or ``batch_rejected``;
    * 277CA → each claim (CLM01): accepted → ``clearinghouse_accepted`` (then
      ``payer_accepted`` when already accepted by the clearinghouse), rejected →
      ``clearinghouse_rejected`` (or ``payer_rejected``); the payer's claim number is kept.

    Each move's note names the acknowledgment (kind and its interchange control number), so
    applying the same acknowledgment file twice changes nothing the second time. Returns one
    entry per claim looked at (``to`` is ``None`` when the claim was left as it was).
    """
    moved: list[dict[str, Any]] = []
    for ack in acks:
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            if ack.kind == "TA1":
                ctrl = _control(ack.interchange_control_number)
                if ctrl is None or ack.accepted:
                    continue
                moved.extend(
                    _move(
                        uow,
                        row,
                        [(_SENT, _S.BATCH_REJECTED)],
                        f"TA1 {ack.interchange_control_number}: {ack.words}",
                    )
                    for row in uow.records.rows(claims, claims.c.interchange_control_number == ctrl)
                )
            elif ack.kind == "999":
                ctrl = _control(ack.group_control_number)
                if ctrl is None:
                    continue
                verdicts = {t.control_number: t for t in ack.transactions if t.transaction_type == "837"}
                for row in uow.records.rows(claims, claims.c.group_control_number == ctrl):
                    verdict = verdicts.get(row.transaction_control_number or "")
                    ok = verdict.accepted if verdict is not None else ack.accepted
                    target = _S.BATCH_ACCEPTED if ok else _S.BATCH_REJECTED
                    moved.append(
                        _move(
                            uow, row, [(_SENT, target)], f"999 {ack.interchange_control_number}: {ack.words}"
                        )
                    )
            elif ack.kind == "277CA":
                for c in ack.claims:
                    found = uow.records.claim_by_number(c.claim_id)
                    if found is None:
                        moved.append({"claim": c.claim_id, "from": None, "to": None, "note": "unknown claim"})
                        continue
                    if c.accepted:
                        cands = [
                            (_BATCH_OK, _S.CLEARINGHOUSE_ACCEPTED),
                            (frozenset({_S.CLEARINGHOUSE_ACCEPTED}), _S.PAYER_ACCEPTED),
                        ]
                    else:
                        cands = [
                            (_BATCH_OK, _S.CLEARINGHOUSE_REJECTED),
                            (frozenset({_S.CLEARINGHOUSE_ACCEPTED, _S.PAYER_ACCEPTED}), _S.PAYER_REJECTED),
                        ]
                    note = f"277CA {ack.interchange_control_number}: {c.category}:{c.status_code} {c.words}"
                    moved.append(_move(uow, found, cands, note, c.payer_claim_control_number))
    return moved


# -- eligibility ---------------------------------------------------------------------------


def _jsonable(summary: EligibilitySummary) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(asdict(summary), default=str))
    return loaded


def store_eligibility(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    summary: EligibilitySummary,
    service_date: date | None = None,
    clock: Clock = current_time,
) -> str:
    """Keep a 271 answer as an eligibility check of the patient's matching coverage.

    The coverage is the one whose member id the 271 names, else the patient's primary.
    An active answer stamps the coverage as verified (the scrubber's freshness rule).
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        covs = uow.records.rows(coverages, coverages.c.patient_id == patient_id)
    match = next((c for c in covs if summary.member_id and c.member_id == summary.member_id), None)
    match = match or next((c for c in covs if c.sequence == "primary"), None)
    if match is None:
        raise NotFoundError(
            "the patient has no coverage to check",
            (Problem("coverage-not-found", "patient", "no coverage on file for this patient"),),
        )
    return rec.record_eligibility_check(
        engine,
        practice_id,
        actor,
        coverage_id=match.id,
        service_date=service_date,
        active=summary.active,
        source="271",
        result=_jsonable(summary),
        clock=clock,
    )
