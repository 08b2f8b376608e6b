"""Batches: claims sent together as one 837P interchange. ONE builder, ONE renderer.

``build_batch`` is the only way claims become a batch (web, API, ``claims export-837``,
``submit`` and the demo call it): in one transaction it takes the claims, draws the
practice's next control number (the one sequence of every interchange the practice sends:
837, 270, 276), renders the 837P with the practice's envelope settings, keeps that text on
the batch (the snapshot), and moves the claims to ``submitted`` with their ISA13, GS06 and
ST02 numbers, so that acknowledgments (999, TA1, 277CA) find them whatever surface built the
batch.

``batch_file`` is the only way to get a batch's 837P: the snapshot, byte for byte, whatever
changed in the records since (a renamed provider, a new fee). A batch built before snapshots
existed is rendered from the records once, when first asked for, and kept.

``practice_envelope`` is the only place the envelope settings are read: the ``[x12]`` table
of ``clearinghouse.toml`` in the data folder, the file ``submit`` uses too.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.tables import claim_batches, claims, practices
from therabill.adapters.x12.envelope import EnvelopeSettings, load_settings
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.clock import Clock, current_time, naive_utc
from therabill.domain.claim import Claim
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.records import ClaimStatus
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import claims_read
from therabill.service_layer.claim_moves import ClaimMoves
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "CONFIG_FILE",
    "Batch",
    "BatchError",
    "BatchFile",
    "allocate_control_number",
    "batch_file",
    "batch_with_claims",
    "recent_batches",
    "build_batch",
    "next_control_number",
    "practice_envelope",
]

CONFIG_FILE = "clearinghouse.toml"
_S = ClaimStatus


class BatchError(TherabillError):
    """No batch could be built (the problems say why)."""

    code = "batch-refused"


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch as built.

    Attributes:
        batch_id: opaque id.
        control_number: its interchange control number (ISA13 = GS06).
        claim_ids: the claims in it (ids), in file order.
        claim_numbers: the same claims' numbers (CLM01), in file order.
        skipped: claims asked for but left out, with the reason.
        total_charge_cents: their total charge.
        sha256: the hash of the 837P text.
        text: the 837P.
    """

    batch_id: str
    control_number: int
    claim_ids: tuple[str, ...]
    claim_numbers: tuple[str, ...]
    skipped: tuple[Problem, ...]
    total_charge_cents: int
    sha256: str
    text: str


@dataclass(frozen=True, slots=True)
class BatchFile:
    """The 837P of a batch, as built.

    Attributes:
        batch_id: the batch.
        control_number: ISA13.
        created_at: when the batch was built (naive UTC, as in the envelope).
        claim_count: claims in the file.
        st_numbers: the ST02 numbers of its transactions.
        text: the 837P.
        sha256: its hash.
    """

    batch_id: str
    control_number: int
    created_at: datetime
    claim_count: int
    st_numbers: tuple[str, ...]
    text: str
    sha256: str

    @property
    def data(self) -> bytes:
        """The file's bytes (X12 is ASCII)."""
        return self.text.encode("ascii")


def practice_envelope(
    data_folder: Path | None, *, production: bool | None = None, config_file: Path | None = None
) -> EnvelopeSettings:
    """The practice's envelope settings: ``[x12]`` of ``config_file`` (default: the data
    folder's ``clearinghouse.toml``), with the usage indicator forced to ``P`` or ``T`` when
    ``production`` is given.

    Raises:
        X12Error: the settings cannot be written (``x12-settings-invalid``), or a production
            interchange still has placeholder ids (``x12-placeholder-in-production``).
    """
    path = config_file or (data_folder / CONFIG_FILE if data_folder is not None else None)
    table: dict[str, Any] = {}
    if path is not None and path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise X12Error(f"cannot read settings {path}: {exc}", code="x12-settings-invalid") from exc
        found = raw.get("x12", {})
        table = dict(found) if isinstance(found, dict) else {}
    if production is not None:
        table["usage_indicator"] = "P" if production else "T"
    return load_settings(None, table)


def allocate_control_number(uow: UnitOfWork) -> int:
    """The practice's next interchange control number (read-modify-write under the practice
    lock): one sequence for every interchange the practice sends."""
    current = uow.session.execute(
        select(practices.c.next_control_number).where(practices.c.id == uow.practice_id)
    ).scalar_one()
    uow.session.execute(
        practices.update().where(practices.c.id == uow.practice_id).values(next_control_number=current + 1)
    )
    return int(current)


def next_control_number(engine: Engine, practice_id: str, actor: str) -> int:
    """Take the practice's next interchange control number in its own transaction (for a file
    written outside a batch: ``x12 837`` and ``eligibility request`` on documents)."""
    with UnitOfWork(engine, practice_id, actor) as uow:
        number = allocate_control_number(uow)
        uow.record("x12.control-number", "practice", practice_id, {"control_number": number})
    return number


def _st_numbers(count: int, per_transaction: int) -> tuple[str, ...]:
    return tuple(f"{k + 1:04d}" for k in range((count + per_transaction - 1) // per_transaction))


CLAIMS_PER_READ = 100
"""Claims whose coded documents are read and made domain claims at a time while a batch's
837P is written: the writer keeps only the text, so a batch of any size holds at most this
many documents and domain claims at once."""


def _streamed(uow: UnitOfWork, rows: Sequence[Any], numbers: list[str]) -> Iterator[Claim]:
    """The domain claims of ``rows``, in order, read ``CLAIMS_PER_READ`` at a time (their
    numbers appended to ``numbers`` as they go)."""
    for start in range(0, len(rows), CLAIMS_PER_READ):
        for claim in claims_read.claims_in(uow, rows[start : start + CLAIMS_PER_READ]):
            numbers.append(claim.claim_id)
            yield claim


def build_batch(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_ids: Sequence[str] | None = None,
    *,
    envelope: EnvelopeSettings,
    statuses: Sequence[str] = (_S.READY.value,),
    override_reason: str | None = None,
    clock: Clock = current_time,
) -> Batch:
    """Put claims into a new batch, render its 837P and mark the claims submitted (one transaction).

    Args:
        engine: the database.
        practice_id: the practice.
        actor: who builds (recorded with any override).
        claim_ids: exactly these claims (each must be in one of ``statuses``); default:
            every claim of the practice in ``statuses``.
        envelope: the practice's envelope settings (``practice_envelope``).
        statuses: which claims may be taken: ``ready`` (the default) and, with
            ``override_reason`` for those with scrub errors, ``scrubbed``.
        override_reason: send claims with scrub errors anyway, for this recorded reason.
        clock: the time of the batch (written into the envelope).

    Raises:
        BatchError: a status that cannot be batched (``batch-status``), a named claim not in
            one of ``statuses`` (``claim-not-ready``), an empty override reason
            (``batch-override-reason``), or nothing to batch (``batch-empty``, with the
            claims left out for scrub errors).
        X12Error: a claim cannot be written (every problem listed); nothing is recorded.
    """
    allowed = {_S.READY.value, _S.SCRUBBED.value}
    bad = [s for s in statuses if s not in allowed]
    if bad:
        raise BatchError(
            "only ready or scrubbed claims can be batched",
            tuple(Problem("batch-status", "status", f"{s!r} cannot be batched") for s in bad),
        )
    if override_reason is not None and not override_reason.strip():
        raise BatchError(
            "an override needs a reason", (Problem("batch-override-reason", "override_reason", "empty"),)
        )
    envelope.check()
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        if claim_ids is None:
            rows = uow.records.rows(
                claims, claims.c.status.in_(list(statuses)), order_by=[claims.c.claim_number]
            )
        else:
            rows = claims_read.claims_for_update(uow, claim_ids)
            not_ready = [r.claim_number for r in rows if r.status not in statuses]
            if not_ready:
                raise BatchError(
                    "only ready claims can be batched",
                    tuple(Problem("claim-not-ready", n, "is not ready") for n in not_ready),
                )
        skipped = tuple(
            Problem("claim-has-scrub-errors", r.claim_number, "scrub errors; not batched")
            for r in rows
            if r.has_errors and override_reason is None
        )
        chosen = [r for r in rows if not (r.has_errors and override_reason is None)]
        if not chosen:
            raise BatchError(
                "no claim to batch", skipped or (Problem("batch-empty", "claims", "no ready claim to batch"),)
            )
        control = allocate_control_number(uow)
        now = uow.now()
        numbers: list[str] = []
        text = write_837p(
            _streamed(uow, chosen, numbers), envelope, control_number=control, created=naive_utc(now)
        )
        digest = hashlib.sha256(text.encode("ascii")).hexdigest()
        total = sum(int(r.total_charge_cents) for r in chosen)
        batch_id = uow.records.insert(
            claim_batches,
            control_number=control,
            status="built",
            claim_count=len(chosen),
            total_charge_cents=total,
            file_sha256=digest,
            x12_text=text,
            created_at=now,
        )
        size = envelope.max_claims_per_transaction
        moves = ClaimMoves(uow)  # every claim's move written together
        moves.know(chosen)
        for n, r in enumerate(chosen):
            if r.has_errors:
                note = f"scrub errors overridden by {actor}: {override_reason}"[:300]
                uow.record("claim.override", "claim", r.id, {"reason": override_reason})
            else:
                note = None
            if r.status != _S.READY.value:
                moves.move(r.id, _S.READY.value, note=note or "batched")
            moves.move(  # the status and the batch's numbers in one update
                r.id,
                _S.SUBMITTED.value,
                note=f"837P interchange {control}",
                batch_id=batch_id,
                interchange_control_number=control,
                group_control_number=control,
                transaction_control_number=f"{n // size + 1:04d}",
            )
        moves.flush()
        uow.record(
            "batch.build",
            "claim_batch",
            batch_id,
            {
                "claims": len(chosen),
                "control_number": control,
                "sha256": digest,
                "usage": envelope.usage_indicator,
            },
        )
    return Batch(
        batch_id,
        control,
        tuple(r.id for r in chosen),
        tuple(numbers),
        skipped,
        total,
        digest,
        text,
    )


def batch_file(
    engine: Engine, practice_id: str, actor: str, batch_id: str, envelope: EnvelopeSettings
) -> BatchFile:
    """The 837P of a batch as it was built (``envelope`` is used only for a batch built
    before snapshots were kept, which is rendered once from the records and kept).

    Raises:
        NotFoundError: no such batch in the practice.
        BatchError: the batch holds no claim (``batch-empty``).
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        batch = uow.records.get(claim_batches, batch_id)
        rows = uow.records.rows(claims, claims.c.batch_id == batch_id, order_by=[claims.c.claim_number])
        if not rows:
            raise BatchError("the batch holds no claim", (Problem("batch-empty", batch_id, "no claim"),))
        text = batch.x12_text
        if text is None:
            domain_claims = [claims_svc.claim_in(uow, r.id) for r in rows]
    if text is None:
        text = write_837p(
            domain_claims,
            envelope,
            control_number=int(batch.control_number),
            created=naive_utc(batch.created_at),
        )
        with UnitOfWork(engine, practice_id, actor) as uow:
            uow.records.update(
                claim_batches,
                batch_id,
                x12_text=text,
                file_sha256=hashlib.sha256(text.encode("ascii")).hexdigest(),
            )
    st_numbers = tuple(
        sorted({r.transaction_control_number for r in rows if r.transaction_control_number})
    ) or _st_numbers(len(rows), envelope.max_claims_per_transaction)
    return BatchFile(
        batch_id,
        int(batch.control_number),
        naive_utc(batch.created_at),
        len(rows),
        st_numbers,
        text,
        hashlib.sha256(text.encode("ascii")).hexdigest(),
    )


_SUMMARY = [c for c in claim_batches.c if c.name != "x12_text"]


def recent_batches(engine: Engine, practice_id: str, actor: str, *, limit: int = 100) -> list[Any]:
    """The practice's batches, newest first (at most ``limit``): every column but the file
    itself (``x12_text``, read by ``batch_file``)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return list(
            uow.session.execute(
                uow.records.scoped(claim_batches)
                .with_only_columns(*_SUMMARY)
                .order_by(claim_batches.c.created_at.desc())
                .limit(limit)
            ).all()
        )


def batch_with_claims(engine: Engine, practice_id: str, actor: str, batch_id: str) -> tuple[Any, list[Any]]:
    """A batch and its claims (ordered by claim number).

    Raises:
        NotFoundError: no such batch in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        batch = uow.records.get(claim_batches, batch_id)
        rows = uow.records.rows(claims, claims.c.batch_id == batch_id, order_by=[claims.c.claim_number])
        return batch, list(rows)
