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

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
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
from therabill.adapters.x12.acknowledgments import read_acknowledgments
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import iter_segments
from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.adapters.x12.x277_005010X212 import read_277
from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.records import ClaimStatus, TransitionError, check_claim_transition
from therabill.service_layer import ledger
from therabill.service_layer import records as rec
from therabill.service_layer.uow import Clock, UnitOfWork, utc_now

_S = ClaimStatus

AWAITING_ANSWER = frozenset(
    {_S.SUBMITTED, _S.BATCH_ACCEPTED, _S.CLEARINGHOUSE_ACCEPTED, _S.PAYER_ACCEPTED, _S.PENDING}
)
"""Claim statuses that wait for an answer from the clearinghouse or the payer."""

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


def _batch_claims(uow: UnitOfWork, batch_id: str) -> list[Any]:
    return uow.records.rows(claims, claims.c.batch_id == batch_id, order_by=[claims.c.claim_number])


def _unsent_batches(engine: Engine, practice_id: str, actor: str) -> list[Any]:
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        sent = select(submissions.c.batch_id).where(
            submissions.c.practice_id == practice_id, submissions.c.status == "sent"
        )
        return uow.records.rows(
            claim_batches, claim_batches.c.id.not_in(sent), order_by=[claim_batches.c.control_number]
        )


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo else value


def batch_file(
    engine: Engine, practice_id: str, actor: str, batch_id: str, envelope: EnvelopeSettings
) -> tuple[bytes, int, list[str]]:
    """The 837P of a stored batch: its bytes, the claim count and the ST control numbers.

    The batch's control number and creation time go into the envelope, so the same batch
    always gives the same bytes (and hash) with the same settings.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        batch = uow.records.get(claim_batches, batch_id)
        rows = _batch_claims(uow, batch_id)
    if not rows:
        raise SubmissionError(
            "the batch holds no claim", (Problem("batch-empty", batch_id, "no claim in this batch"),)
        )
    domain_claims = [rec.claim_record(engine, practice_id, actor, r.id) for r in rows]
    text = write_837p(
        domain_claims, envelope, control_number=int(batch.control_number), created=_naive(batch.created_at)
    )
    size = envelope.max_claims_per_transaction
    st_numbers = [f"{k + 1:04d}" for k in range((len(rows) + size - 1) // size)]
    return text.encode("ascii"), len(rows), st_numbers


def _keep_copy(folder: Path | None, sub: str, name: str, data: bytes) -> str:
    """Write ``data`` under ``folder/sub`` (mode 0600, fsync'd); returns its path."""
    if folder is None:
        return ""
    target_dir = folder / sub
    target_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = target_dir / name
    temp = target_dir / f".{name}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, target)
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
    clock: Clock = utc_now,
) -> list[SubmitResult]:
    """Send every batch not yet sent (building one from the ready claims first when ``build``).

    Stops at the first transport failure (the connection is likely gone); the batches not
    tried are sent on the next run. A copy of each file sent is kept under
    ``data_dir/outbound`` when a data folder is given.
    """
    envelope = envelope or EnvelopeSettings()
    if build and rec.list_claims(engine, practice_id, actor, [_S.READY.value]):
        rec.build_batch(engine, practice_id, actor, clock=clock)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        slug = uow.session.execute(select(practices.c.slug).where(practices.c.id == practice_id)).scalar_one()
    results: list[SubmitResult] = []
    for batch in _unsent_batches(engine, practice_id, actor):
        data, count, st_numbers = batch_file(engine, practice_id, actor, batch.id, envelope)
        sha = sha256_hex(data)
        wanted_name = render_name(
            file_name,
            name_values(
                practice=slug,
                control=int(batch.control_number),
                created=_naive(batch.created_at),
                batch=batch.id,
            ),
        )
        name, retry = _intend(
            engine, practice_id, actor, batch, connector_name, wanted_name, data, sha, st_numbers,
            envelope.max_claims_per_transaction, clock,
        )  # fmt: skip
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
    per_transaction: int,
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
            if found.sha256 != sha:  # the envelope settings changed since the failed attempt
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
        for k, row in enumerate(_batch_claims(uow, batch.id)):
            uow.records.update(
                claims,
                row.id,
                group_control_number=int(batch.control_number),
                transaction_control_number=st_numbers[min(k // per_transaction, len(st_numbers) - 1)],
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


def detect_kind(data: bytes) -> str:
    """The kind of an inbound X12 file from its GS/ST headers (``unknown`` when unreadable)."""
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


def _move(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_number: str,
    candidates: Sequence[tuple[frozenset[ClaimStatus], ClaimStatus]],
    note: str,
    clock: Clock,
    pccn: str | None = None,
) -> dict[str, Any]:
    """Move a claim (by CLM01) to the status its current status calls for, if any."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        row = uow.records.claim_by_number(claim_number)
    if row is None:
        return {"claim": claim_number, "result": "unknown claim"}
    for sources, target in candidates:
        if ClaimStatus(row.status) not in sources:
            continue
        try:
            check_claim_transition(row.status, target.value)
            rec.set_claim_status(
                engine, practice_id, actor, row.id, target.value, note=note[:300],
                payer_claim_control_number=pccn, clock=clock,
            )  # fmt: skip
        except TransitionError:
            continue
        return {"claim": claim_number, "from": row.status, "to": target.value}
    return {"claim": claim_number, "result": f"left {row.status}"}


_SENT = frozenset({_S.SUBMITTED})
_ACKED = frozenset({_S.SUBMITTED, _S.BATCH_ACCEPTED})


def _claims_of_interchange(
    engine: Engine, practice_id: str, actor: str, control: int, st: str | None = None
) -> list[str]:
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        where = [claims.c.interchange_control_number == control]
        if st is not None:
            where.append(claims.c.transaction_control_number == st)
        return [r.claim_number for r in uow.records.rows(claims, *where)]


def _control(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _apply_acks(engine: Engine, practice_id: str, actor: str, data: bytes, clock: Clock) -> dict[str, Any]:
    moved: list[dict[str, Any]] = []
    batches: list[dict[str, Any]] = []
    acks = list(read_acknowledgments(data))
    for a in acks:
        if a.kind == "TA1":
            ctrl = _control(a.interchange_control_number)
            if ctrl is not None and not a.accepted:
                rejected = [(_SENT, _S.BATCH_REJECTED)]
                moved.extend(
                    _move(engine, practice_id, actor, number, rejected, f"TA1: {a.words}", clock)
                    for number in _claims_of_interchange(engine, practice_id, actor, ctrl)
                )
        elif a.kind == "999":
            ctrl = _control(a.group_control_number)
            if ctrl is None:
                continue
            verdicts = {t.control_number: t for t in a.transactions if t.transaction_type == "837"}
            for number in _claims_of_interchange(engine, practice_id, actor, ctrl):
                with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
                    row = uow.records.claim_by_number(number)
                t = verdicts.get(row.transaction_control_number) if row is not None else None
                ok = t.accepted if t is not None else a.accepted
                target = _S.BATCH_ACCEPTED if ok else _S.BATCH_REJECTED
                moved.append(
                    _move(engine, practice_id, actor, number, [(_SENT, target)], f"999: {a.words}", clock)
                )
        elif a.kind == "277CA":
            above = _batch_level_traces(data)
            claim_level = [c for c in a.claims if c.claim_id not in above]
            answered = {c.claim_id for c in claim_level}
            batches.extend(
                _batch_ack(engine, practice_id, actor, c, answered, moved, clock)
                for c in a.claims
                if c.claim_id in above
            )
            for c in claim_level:
                if c.accepted:
                    cands = [
                        (_ACKED, _S.CLEARINGHOUSE_ACCEPTED),
                        (frozenset({_S.CLEARINGHOUSE_ACCEPTED}), _S.PAYER_ACCEPTED),
                    ]
                else:
                    cands = [
                        (_ACKED, _S.CLEARINGHOUSE_REJECTED),
                        (frozenset({_S.CLEARINGHOUSE_ACCEPTED, _S.PAYER_ACCEPTED}), _S.PAYER_REJECTED),
                    ]
                note = f"277CA {c.category}:{c.status_code} {c.words}"
                moved.append(
                    _move(
                        engine,
                        practice_id,
                        actor,
                        c.claim_id,
                        cands,
                        note,
                        clock,
                        c.payer_claim_control_number,
                    )
                )
    return {
        "acknowledgments": [{"kind": a.kind, "status": a.status, "words": a.words} for a in acks],
        "claims": moved,
        **({"batches": batches} if batches else {}),
    }


def _batch_level_traces(data: bytes) -> frozenset[str]:
    """TRN*2 traces of a 277CA above the patient level: 2200B (the batch: our 837's BHT03).

    The acknowledgment reader reports every STC with the last TRN*2 before it, so the
    information receiver's status (and a billing provider's, 2200C, which has no TRN*2 of its
    own) comes out under the batch's trace; these are told apart from claims here.
    A trace also used at the patient level is taken as a claim.
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


def _batch_trace(trace: str) -> tuple[int, str] | None:
    """Our 837's BHT03 is the interchange control number followed by the 4-digit ST02."""
    if len(trace) > 4 and trace.isdigit():
        return int(trace[:-4]), trace[-4:]
    return None


def _batch_ack(
    engine: Engine,
    practice_id: str,
    actor: str,
    c: Any,
    answered: set[str],
    moved: list[dict[str, Any]],
    clock: Clock,
) -> dict[str, Any]:
    """A batch-level (or billing-provider-level) 277CA status: reported, not taken for a claim.

    A rejection there rejects the transaction's claims that the file does not answer one by
    one (a claim answered at the patient level keeps its own verdict); those moves are
    appended to ``moved``.
    """
    entry: dict[str, Any] = {
        "batch_trace": c.claim_id,
        "category": c.category,
        "status_code": c.status_code,
        "accepted": c.accepted,
        "words": c.words,
    }
    found = _batch_trace(c.claim_id)
    numbers = _claims_of_interchange(engine, practice_id, actor, found[0], found[1]) if found else []
    if found is None or not numbers:
        entry["result"] = "batch-level status; no batch of ours has this trace"
        return entry
    entry.update(interchange=found[0], transaction=found[1], claims=len(numbers))
    if c.accepted:
        entry["result"] = "batch acknowledged"
        return entry
    todo = [n for n in numbers if n not in answered]
    note = f"277CA batch {c.category}:{c.status_code} {c.words}"
    moved.extend(
        _move(engine, practice_id, actor, n, [(_ACKED, _S.CLEARINGHOUSE_REJECTED)], note, clock) for n in todo
    )
    entry["result"] = f"batch rejected: {len(todo)} claim(s) not answered one by one rejected"
    return entry


_ANSWERABLE = AWAITING_ANSWER | {_S.APPEALED}


def _apply_277(engine: Engine, practice_id: str, actor: str, data: bytes, clock: Clock) -> dict[str, Any]:
    moved: list[dict[str, Any]] = []
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
        moved.append(
            _move(
                engine, practice_id, actor, ans.claim_id, cands, note, clock, ans.payer_claim_control_number
            )
        )
    return {"claims": moved}


def _apply_835(
    engine: Engine, practice_id: str, actor: str, data: bytes, sha: str, clock: Clock
) -> dict[str, Any]:
    posted: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for rem in read_835(data):
        res = ledger.post_remittance(engine, practice_id, actor, rem, file_sha256=sha)
        posted.append(
            {
                "remittance_id": res.remittance_id,
                "new": res.new,
                "posted_claims": res.posted_claims,
                "skipped_claims": res.skipped_claims,
                "entries": res.entries,
                "worklist": len(res.worklist),
                "paid": str(res.paid),
            }
        )
        for cp in rem.claims:
            if cp.is_reversal:
                continue
            if cp.paid <= 0 or cp.is_denied:
                target = _S.DENIED
            elif any(ln.paid <= 0 < ln.charge for ln in cp.lines):
                target = _S.PARTLY_PAID
            else:
                target = _S.PAID
            note = f"835 {rem.trace_number or ''}: {cp.status_words}, paid {cp.paid}"
            moved.append(
                _move(
                    engine,
                    practice_id,
                    actor,
                    cp.claim_id,
                    [(_ANSWERABLE, target)],
                    note,
                    clock,
                    cp.payer_claim_control_number,
                )
            )
    return {"remittances": posted, "claims": moved}


def _apply_271(data: bytes) -> dict[str, Any]:
    out = [
        {"member_id": s.member_id, "payer": s.payer_name, "active": getattr(s, "active", None)}
        for s in read_271(data)
    ]
    return {"eligibility": out}


def process_file(
    engine: Engine, practice_id: str, actor: str, kind: str, data: bytes, sha: str, clock: Clock = utc_now
) -> dict[str, Any]:
    """Read one inbound file of ``kind`` and apply it; problems are reported, not raised."""
    try:
        if kind in ("TA1", "999", "277CA"):
            return _apply_acks(engine, practice_id, actor, data, clock)
        if kind == "277":
            return _apply_277(engine, practice_id, actor, data, clock)
        if kind == "835":
            return _apply_835(engine, practice_id, actor, data, sha, clock)
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
    clock: Clock = utc_now,
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
    out: list[dict[str, Any]] = []
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.records.rows(
            claims,
            claims.c.status.in_([s.value for s in AWAITING_ANSWER]),
            order_by=[claims.c.updated_at, claims.c.claim_number],
        )
        payer_names = {r.id: r.name for r in uow.records.rows(payers)}
        patient_names = {r.id: f"{r.last_name}, {r.first_name}" for r in uow.records.rows(patients)}
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
                    "patient": patient_names.get(r.patient_id, ""),
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
