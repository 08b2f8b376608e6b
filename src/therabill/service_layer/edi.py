"""Stored claims and X12: export an 837P batch, apply acknowledgments, store 271 answers.

``export_837`` builds a batch (``batches.build_batch``, the one builder every surface
uses) and writes its 837P to a file that appears only once the batch is committed. A claim
leaves ``ready`` once batched, so a second export does not send it again;
``batches.batch_file`` gives a recorded batch's file byte for byte for an explicit re-send.

``store_eligibility`` keeps a 271 summary as an eligibility check of the patient's coverage.
Acknowledgments are applied by ``acknowledgments.apply_file``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.db.tables import coverages
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.x276_005010X212 import write_276
from therabill.clock import Clock, current_time, naive_utc
from therabill.domain.eligibility import EligibilitySummary
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.records import ClaimStatus
from therabill.service_layer import batches
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer.submission import payer_claim_numbers
from therabill.service_layer.uow import UnitOfWork, one_transaction

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
    settings: EnvelopeSettings,
    statuses: Sequence[str] = (_S.READY.value,),
    claim_ids: Sequence[str] | None = None,
    override_reason: str | None = None,
    out: Path | None = None,
    clock: Clock = current_time,
) -> Export:
    """Build a batch of stored claims (``batches.build_batch``) and write its 837P to ``out``.

    The file is written under a temporary name and put in place only after the batch is
    committed: if anything fails, nothing is recorded and no file appears.

    Raises:
        ExportError: what ``build_batch`` refuses (a status that cannot be exported, an empty
            override reason, nothing to export), with its problems.
        X12Error: a claim cannot be written (every problem listed); nothing is recorded.
    """
    temp: Path | None = None
    try:
        try:
            with one_transaction(engine):
                batch = batches.build_batch(
                    engine,
                    practice_id,
                    actor,
                    claim_ids,
                    envelope=settings,
                    statuses=statuses,
                    override_reason=override_reason,
                    clock=clock,
                )
                if out is not None:
                    temp = _write_temp(out, batch.text)
        except batches.BatchError as exc:
            raise ExportError(str(exc), exc.problems) from exc
        if temp is not None and out is not None:
            os.replace(temp, out)
            temp = None
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)
    return Export(
        batch.batch_id,
        batch.control_number,
        batch.claim_numbers,
        batch.skipped,
        batch.sha256,
        out,
        batch.text,
    )


def request_276(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    *,
    envelope: EnvelopeSettings,
    clock: Clock = current_time,
) -> tuple[str, int]:
    """A 276 claim status request for a stored claim, with the practice's next control number
    (recorded and audited); returns the text and the control number."""
    claim = claims_svc.claim_record(engine, practice_id, actor, claim_id)
    numbers = payer_claim_numbers(engine, practice_id, actor, [claim_id])
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        control = batches.allocate_control_number(uow)
        uow.record("claim.status-request", "claim", claim_id, {"control_number": control})
        created = naive_utc(uow.now())
    text = write_276([claim], envelope, control_number=control, created=created, payer_claim_numbers=numbers)
    return text, control


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
    return coverages_svc.record_eligibility_check(
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
