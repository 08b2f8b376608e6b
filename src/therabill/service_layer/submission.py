"""Claim submission and collection: batches to the clearinghouse, answers back into the records.

``submit`` sends each claim batch that has not been sent: it writes the batch's 837P (the
same bytes on every attempt: the batch's control number and creation time are fixed), records
the intent (``submissions`` row ``sending``, one per batch by a UNIQUE constraint), hands
the file to the connector (temporary name, size and hash checked, then renamed), and only
then marks the row ``sent``. A run that finds a row still ``sending`` (the connection
dropped, or the process died after the upload) first asks the far side whether the file is
there with the recorded hash: if so it is recorded as sent without a second upload,
otherwise it is uploaded again. So nothing is recorded as sent that did not arrive, and a
retry never sends a batch twice.

``fetch`` collects inbound files: each is kept in the data folder and recorded
(``inbound_files``, one row per distinct SHA-256) before it is read, then read by kind (TA1,
999, 277CA, 277, 835, 271): claim statuses move (records service), remittances post (ledger
service, idempotent), and the file is archived on the far side last. A re-run after a crash
processes a recorded but unprocessed file again; a file already processed is only archived.

``follow_up`` lists claims still waiting for an answer after a number of days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.clearinghouse.base import (
    Connector,
    ConnectorError,
    check_name,
    name_values,
    render_name,
    sha256_hex,
)
from therabill.adapters.db.interop_tables import inbound_files, submissions
from therabill.adapters.db.repositories import new_id
from therabill.adapters.db.tables import claim_batches, claims, patients, payers, practices
from therabill.adapters.files import write_private
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.clock import Clock, current_time
from therabill.domain.errors import TherabillError
from therabill.domain.records import ClaimStatus
from therabill.service_layer import acknowledgments, batches, remittances
from therabill.service_layer import claims as claims_svc
from therabill.service_layer.acknowledgments import AWAITING_ANSWER, detect_kind
from therabill.service_layer.uow import UnitOfWork

_S = ClaimStatus

INBOUND_KINDS = ("TA1", "999", "277CA", "277", "835", "271", "unknown")


class SubmissionError(TherabillError):
    """Submission or collection could not proceed (the problems say why)."""

    code = "submission-failed"


# -- submit ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What happened to one batch.

    Attributes:
        batch_id: the batch.
        control_number: its interchange control number.
        remote_name: the file name on the far side.
        sha256: the file's hash.
        outcome: ``sent`` (uploaded now), ``found`` (it had arrived on an earlier attempt;
            recorded now, not sent again) or ``failed`` (not recorded as sent; retry later).
        claims: how many claims the batch holds.
        error: why it failed.
    """

    batch_id: str
    control_number: int
    remote_name: str
    sha256: str
    outcome: str
    claims: int
    error: str | None = None


def _unsent_batches(engine: Engine, practice_id: str, actor: str) -> list[Any]:
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        sent = select(submissions.c.batch_id).where(
            submissions.c.practice_id == practice_id, submissions.c.status == "sent"
        )
        return uow.records.rows(
            claim_batches, claim_batches.c.id.not_in(sent), order_by=[claim_batches.c.control_number]
        )


def _keep_copy(folder: Path | None, sub: str, name: str, data: bytes) -> str:
    """Write ``data`` under ``folder/sub`` (mode 0600, fsync'd); returns its path."""
    if folder is None:
        return ""
    target_dir = folder / sub
    target_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = target_dir / name
    write_private(target, data)
    return str(target)


def submit(
    engine: Engine,
    practice_id: str,
    actor: str,
    connector: Connector,
    *,
    connector_name: str,
    envelope: EnvelopeSettings | None = None,
    file_name: str = "{practice}_{control}_{ts}.837",
    build: bool = True,
    data_dir: Path | None = None,
    clock: Clock = current_time,
) -> list[SubmitResult]:
    """Send every batch not yet sent (building one from the ready claims first when ``build``).

    Stops at the first transport failure (the connection is likely gone); the batches not
    tried are sent on the next run. A copy of each file sent is kept under
    ``data_dir/outbound`` when a data folder is given.
    """
    envelope = envelope or EnvelopeSettings()
    if build and claims_svc.list_claims(engine, practice_id, actor, [_S.READY.value]):
        batches.build_batch(engine, practice_id, actor, envelope=envelope, clock=clock)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        slug = uow.session.execute(select(practices.c.slug).where(practices.c.id == practice_id)).scalar_one()
    results: list[SubmitResult] = []
    for batch in _unsent_batches(engine, practice_id, actor):
        built = batches.batch_file(engine, practice_id, actor, batch.id, envelope)
        data, count, st_numbers = built.data, built.claim_count, built.st_numbers
        sha = sha256_hex(data)
        wanted_name = render_name(
            file_name,
            name_values(
                practice=slug,
                control=int(batch.control_number),
                created=built.created_at,
                batch=batch.id,
            ),
        )
        name, retry = _intend(
            engine, practice_id, actor, batch, connector_name, wanted_name, data, sha, st_numbers, clock
        )
        try:
            receipt = connector.find_sent(name) if retry else None
            outcome = "found"
            if receipt is None or receipt.sha256 != sha:
                receipt = connector.send(name, data)
                outcome = "sent"
        except ConnectorError as exc:
            results.append(
                SubmitResult(batch.id, int(batch.control_number), name, sha, "failed", count, str(exc))
            )
            break
        if receipt.sha256 != sha or receipt.size != len(data):
            results.append(
                SubmitResult(batch.id, int(batch.control_number), name, sha, "failed", count, "hash mismatch")
            )
            break
        _keep_copy(data_dir, "outbound", name, data)
        _record_sent(engine, practice_id, actor, batch.id, receipt.size, clock, outcome)
        results.append(SubmitResult(batch.id, int(batch.control_number), name, sha, outcome, count))
    return results


def _intend(
    engine: Engine,
    practice_id: str,
    actor: str,
    batch: Any,
    connector_name: str,
    name: str,
    data: bytes,
    sha: str,
    st_numbers: Sequence[str],
    clock: Clock,
) -> tuple[str, bool]:
    """Record the intent to send (row ``sending``); returns the remote name and whether it is a retry."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        found = uow.session.execute(
            select(submissions).where(
                submissions.c.practice_id == practice_id, submissions.c.batch_id == batch.id
            )
        ).first()
        if found is not None:
            if found.sha256 != sha:  # a batch built before snapshots, rendered anew
                uow.session.execute(
                    submissions.update()
                    .where(submissions.c.id == found.id)
                    .values(sha256=sha, size_bytes=len(data))
                )
            return str(found.remote_name), True
        uow.session.execute(
            submissions.insert().values(
                id=new_id(),
                practice_id=practice_id,
                batch_id=batch.id,
                connector=connector_name,
                remote_name=name,
                sha256=sha,
                size_bytes=len(data),
                interchange_control_number=int(batch.control_number),
                group_control_number=int(batch.control_number),
                transaction_control_numbers=list(st_numbers),
                status="sending",
                created_at=uow.now(),
            )
        )
        uow.record("submission.intent", "claim_batch", batch.id, {"remote_name": name, "sha256": sha})
    return name, False


def _record_sent(
    engine: Engine, practice_id: str, actor: str, batch_id: str, size: int, clock: Clock, outcome: str
) -> None:
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.session.execute(
            submissions.update()
            .where(submissions.c.practice_id == practice_id, submissions.c.batch_id == batch_id)
            .values(status="sent", sent_at=uow.now(), size_bytes=size)
        )
        uow.records.update(claim_batches, batch_id, status="sent")
        uow.record("submission.sent", "claim_batch", batch_id, {"how": outcome})


def list_submissions(engine: Engine, practice_id: str, actor: str) -> list[dict[str, Any]]:
    """Every submission row of the practice, oldest first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        found = uow.session.execute(
            select(submissions)
            .where(submissions.c.practice_id == practice_id)
            .order_by(submissions.c.interchange_control_number)
        )
        return [dict(r._mapping) for r in found]


# -- fetch -------------------------------------------------------------------------------


@dataclass
class FetchResult:
    """What collecting one inbound file did.

    Attributes:
        name: the file name on the far side.
        sha256: its hash.
        kind: ``TA1``, ``999``, ``277CA``, ``277``, ``835``, ``271`` or ``unknown``.
        stored_path: the copy kept in the data folder.
        duplicate: True when the same bytes were received and processed before.
        outcome: what processing did (claims moved, remittances posted, problems).
    """

    name: str
    sha256: str
    kind: str
    stored_path: str
    duplicate: bool = False
    outcome: dict[str, Any] = field(default_factory=dict)


def _apply_835(engine: Engine, practice_id: str, actor: str, data: bytes, sha: str) -> dict[str, Any]:
    """Post the 835 (``remittances.post_835``: the one posting, which moves each claim too)."""
    posted = remittances.post_835(engine, practice_id, actor, data, file_sha256=sha)
    return {"remittances": [r.as_dict() for r in posted]}


def _apply_271(data: bytes) -> dict[str, Any]:
    out = [
        {"member_id": s.member_id, "payer": s.payer_name, "active": getattr(s, "active", None)}
        for s in read_271(data)
    ]
    return {"eligibility": out}


def process_file(
    engine: Engine,
    practice_id: str,
    actor: str,
    kind: str,
    data: bytes,
    sha: str,
    clock: Clock = current_time,
) -> dict[str, Any]:
    """Read one inbound file of ``kind`` and apply it; problems are reported, not raised."""
    try:
        if kind in acknowledgments.ANSWER_KINDS:
            applied = acknowledgments.apply_file(
                engine, practice_id, actor, data, accept=acknowledgments.ANSWER_KINDS, clock=clock
            )
            return applied.as_dict()
        if kind == "835":
            return _apply_835(engine, practice_id, actor, data, sha)
        if kind == "271":
            return _apply_271(data)
    except TherabillError as exc:
        return {"error": str(exc), "problems": [asdict(p) for p in exc.problems]}
    return {"error": "not a file therabill reads (TA1, 999, 277CA, 277, 835, 271)"}


def fetch(
    engine: Engine,
    practice_id: str,
    actor: str,
    connector: Connector,
    *,
    connector_name: str,
    data_dir: Path,
    clock: Clock = current_time,
) -> list[FetchResult]:
    """Collect, keep, record, read and apply every inbound file; archive each on the far side last."""
    results: list[FetchResult] = []
    for name in connector.list_inbound():
        # One odd file never stops the others: a name that is not a safe file name, or a file
        # that cannot be read, is left where it is and reported (kind ``skipped``).
        try:
            data = connector.fetch(check_name(name))
        except ConnectorError as exc:
            problems = [asdict(p) for p in exc.problems]
            results.append(
                FetchResult(
                    repr(name)[1:-1][:200],
                    "",
                    "skipped",
                    "",
                    outcome={"error": f"skipped, left in the inbound folder: {exc}", "problems": problems},
                )
            )
            continue
        sha = sha256_hex(data)
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            row = uow.session.execute(
                select(inbound_files).where(
                    inbound_files.c.practice_id == practice_id, inbound_files.c.sha256 == sha
                )
            ).first()
            if row is None:
                kind = detect_kind(data)
                day = uow.now().strftime("%Y-%m-%d")
                stored = _keep_copy(data_dir, f"inbound/{day}", f"{sha[:16]}-{name}", data)
                file_id = new_id()
                uow.session.execute(
                    inbound_files.insert().values(
                        id=file_id,
                        practice_id=practice_id,
                        connector=connector_name,
                        name=name,
                        sha256=sha,
                        size_bytes=len(data),
                        kind=kind,
                        received_at=uow.now(),
                        stored_path=stored,
                    )
                )
                uow.record("inbound.received", "inbound_file", file_id, {"name": name, "kind": kind})
                processed = False
            else:
                file_id, kind, stored, processed = (
                    row.id,
                    row.kind,
                    row.stored_path,
                    row.processed_at is not None,
                )
        result = FetchResult(name, sha, kind, stored, duplicate=processed)
        if not processed:
            result.outcome = process_file(engine, practice_id, actor, kind, data, sha, clock)
            with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
                uow.session.execute(
                    inbound_files.update()
                    .where(inbound_files.c.id == file_id)
                    .values(processed_at=uow.now(), outcome=result.outcome)
                )
                uow.record("inbound.processed", "inbound_file", file_id, {"kind": kind})
        connector.archive(name)
        results.append(result)
    return results


def list_inbound_files(engine: Engine, practice_id: str, actor: str) -> list[dict[str, Any]]:
    """Every file received, oldest first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        found = uow.session.execute(
            select(inbound_files)
            .where(inbound_files.c.practice_id == practice_id)
            .order_by(inbound_files.c.received_at, inbound_files.c.name)
        )
        return [dict(r._mapping) for r in found]


# -- follow-up ---------------------------------------------------------------------------


def follow_up(
    engine: Engine, practice_id: str, actor: str, *, as_of: date, days: int = 30
) -> list[dict[str, Any]]:
    """Claims waiting for an answer (submitted ... pending) whose status is ``days`` or more old."""
    cutoff = as_of - timedelta(days=days)
    # Read through (practice, status, updated_at), an index with every column shown: only the
    # claims waiting since before the cutoff (a day's margin for the time zone; the day itself
    # is checked below), with their patients' names joined.
    before = datetime.combine(cutoff + timedelta(days=2), time.min, tzinfo=UTC)
    out: list[dict[str, Any]] = []
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = list(
            uow.session.execute(
                select(
                    claims.c.id,
                    claims.c.claim_number,
                    claims.c.status,
                    claims.c.updated_at,
                    claims.c.date_of_service,
                    claims.c.payer_id,
                    claims.c.payer_claim_control_number,
                    patients.c.last_name,
                    patients.c.first_name,
                )
                .select_from(claims.outerjoin(patients, patients.c.id == claims.c.patient_id))
                .where(
                    claims.c.practice_id == practice_id,
                    claims.c.status.in_([s.value for s in AWAITING_ANSWER]),
                    claims.c.updated_at < before,
                )
                .order_by(claims.c.updated_at, claims.c.claim_number)
            )
        )
        payer_names = {r.id: r.name for r in uow.records.rows(payers)}
        for r in rows:
            since = r.updated_at.date()
            if since > cutoff:
                continue
            out.append(
                {
                    "claim_id": r.id,
                    "claim_number": r.claim_number,
                    "status": r.status,
                    "since": since.isoformat(),
                    "days_waiting": (as_of - since).days,
                    "date_of_service": r.date_of_service.isoformat(),
                    "patient": f"{r.last_name}, {r.first_name}" if r.last_name is not None else "",
                    "payer": payer_names.get(r.payer_id, "") if r.payer_id else "",
                    "payer_claim_control_number": r.payer_claim_control_number,
                }
            )
    return out


def payer_claim_numbers(
    engine: Engine, practice_id: str, actor: str, claim_ids: Iterable[str]
) -> dict[str, str]:
    """The payer's claim number by our CLM01, for the claims that have one."""
    out: dict[str, str] = {}
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        for cid in claim_ids:
            row = uow.records.get(claims, cid)
            if row.payer_claim_control_number:
                out[row.claim_number] = row.payer_claim_control_number
    return out
