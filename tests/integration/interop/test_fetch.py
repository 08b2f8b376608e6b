"""Fetch: answers are kept, recorded once, read, and move claims and money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from tests.integration.db.builders import ACTOR, Practice, fixed_clock
from tests.integration.interop import x12_files as xf
from tests.integration.interop.conftest import SftpServer, password, ready_claim
from therabill.adapters.clearinghouse import FileDropConnector
from therabill.adapters.clearinghouse.sftp import SftpConnector
from therabill.adapters.db.ledger_tables import remittances
from therabill.adapters.db.tables import claim_lines, claims
from therabill.domain.money import from_cents
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import submission as sub


def _submitted(p: Practice, tmp_path: Path) -> tuple[FileDropConnector, str, str, int]:
    claim_id = ready_claim(p)
    drop = FileDropConnector(tmp_path / "out", tmp_path / "in", tmp_path / "arch")
    res = sub.submit(p.engine, p.id, ACTOR, drop, connector_name="desk", clock=fixed_clock)
    number = claims_svc.list_claims(p.engine, p.id, ACTOR)[0].claim_number
    return drop, claim_id, number, res[0].control_number


def _status(p: Practice, claim_id: str) -> str:
    return str(claims_svc.claim_history(p.engine, p.id, ACTOR, claim_id)[-1]["status"])


def test_999_then_277ca_then_835_move_the_claim_to_paid(practice: Practice, tmp_path: Path) -> None:
    drop, claim_id, number, control = _submitted(practice, tmp_path)
    with practice.engine.connect() as conn:
        lines = conn.execute(select(claim_lines).where(claim_lines.c.claim_id == claim_id)).all()
        charge = from_cents(
            conn.execute(select(claims.c.total_charge_cents).where(claims.c.id == claim_id)).scalar_one()
        )
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.999").write_bytes(xf.ack_999(control))
    (inbox / "b.277").write_bytes(xf.ack_277ca(number, charge))
    remit = [
        (ln.code, from_cents(ln.charge_cents), from_cents(ln.charge_cents) * Decimal("0.8"), ln.line_id)
        for ln in lines
    ]
    (inbox / "c.835").write_bytes(xf.remit_835(number, remit))
    data = tmp_path / "data"
    got = sub.fetch(
        practice.engine, practice.id, ACTOR, drop, connector_name="desk", data_dir=data, clock=fixed_clock
    )
    assert [r.kind for r in got] == ["999", "277CA", "835"]
    history = [h["status"] for h in claims_svc.claim_history(practice.engine, practice.id, ACTOR, claim_id)]
    assert history[-3:] == ["batch_accepted", "clearinghouse_accepted", "paid"]
    with practice.engine.connect() as conn:
        pccn = conn.execute(
            select(claims.c.payer_claim_control_number).where(claims.c.id == claim_id)
        ).scalar_one()
        rem = conn.execute(select(remittances).where(remittances.c.practice_id == practice.id)).all()
    assert pccn == "PCN-777"
    assert len(rem) == 1 and rem[0].trace_number == "TRACE-1"
    # Every file is kept in the data folder and archived on the far side.
    stored = sub.list_inbound_files(practice.engine, practice.id, ACTOR)
    assert {Path(s["stored_path"]).read_bytes() for s in stored} == {
        (tmp_path / "arch" / n).read_bytes() for n in ("a.999", "b.277", "c.835")
    }
    assert all(s["processed_at"] is not None for s in stored)
    assert list(inbox.iterdir()) == []


def test_the_same_file_twice_is_recorded_and_applied_once(practice: Practice, tmp_path: Path) -> None:
    drop, claim_id, number, control = _submitted(practice, tmp_path)
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.999").write_bytes(xf.ack_999(control))
    sub.fetch(
        practice.engine,
        practice.id,
        ACTOR,
        drop,
        connector_name="desk",
        data_dir=tmp_path / "d",
        clock=fixed_clock,
    )
    (inbox / "a-again.999").write_bytes(xf.ack_999(control))
    again = sub.fetch(
        practice.engine,
        practice.id,
        ACTOR,
        drop,
        connector_name="desk",
        data_dir=tmp_path / "d",
        clock=fixed_clock,
    )
    assert [r.duplicate for r in again] == [True]
    assert len(sub.list_inbound_files(practice.engine, practice.id, ACTOR)) == 1
    statuses = [h["status"] for h in claims_svc.claim_history(practice.engine, practice.id, ACTOR, claim_id)]
    assert statuses.count("batch_accepted") == 1


def test_rejections_and_claim_status_answers(practice: Practice, tmp_path: Path) -> None:
    drop, claim_id, number, control = _submitted(practice, tmp_path)
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.999").write_bytes(xf.ack_999(control))
    (inbox / "b.277").write_bytes(xf.ack_277ca(number, Decimal("1"), accepted=True))
    (inbox / "c.277").write_bytes(xf.status_277(number, "P1"))
    sub.fetch(
        practice.engine,
        practice.id,
        ACTOR,
        drop,
        connector_name="desk",
        data_dir=tmp_path / "d",
        clock=fixed_clock,
    )
    assert _status(practice, claim_id) == "pending"
    kinds = {f["name"]: f["kind"] for f in sub.list_inbound_files(practice.engine, practice.id, ACTOR)}
    assert kinds == {"a.999": "999", "b.277": "277CA", "c.277": "277"}


def test_a_rejected_999_rejects_the_batch(practice: Practice, tmp_path: Path) -> None:
    drop, claim_id, number, control = _submitted(practice, tmp_path)
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.999").write_bytes(xf.ack_999(control, accepted=False))
    (inbox / "junk.txt").write_bytes(b"not x12 at all")
    got = sub.fetch(
        practice.engine,
        practice.id,
        ACTOR,
        drop,
        connector_name="desk",
        data_dir=tmp_path / "d",
        clock=fixed_clock,
    )
    assert _status(practice, claim_id) == "batch_rejected"
    junk = next(r for r in got if r.name == "junk.txt")
    assert junk.kind == "unknown" and "error" in junk.outcome
    assert Path(junk.stored_path).read_bytes() == b"not x12 at all"


def test_fetch_over_sftp_and_follow_up(practice: Practice, sftp_server: SftpServer, tmp_path: Path) -> None:
    claim_id = ready_claim(practice)
    with SftpConnector(sftp_server.settings(), password()) as conn:
        res = sub.submit(practice.engine, practice.id, ACTOR, conn, connector_name="acme", clock=fixed_clock)
        name = f"ack-{res[0].control_number}.999"
        (sftp_server.folder("/from-payer") / name).write_bytes(xf.ack_999(res[0].control_number))
        got = sub.fetch(
            practice.engine,
            practice.id,
            ACTOR,
            conn,
            connector_name="acme",
            data_dir=tmp_path,
            clock=fixed_clock,
        )
    assert [(r.name, r.kind) for r in got] == [(name, "999")]
    assert (sftp_server.folder("/from-payer/archive") / name).exists()
    assert _status(practice, claim_id) == "batch_accepted"
    # The claim changed status on 2026-11-23 (the fixed clock): due for follow-up 30 days later.
    assert sub.follow_up(practice.engine, practice.id, ACTOR, as_of=date(2026, 12, 22), days=30) == []
    due = sub.follow_up(practice.engine, practice.id, ACTOR, as_of=date(2026, 12, 23), days=30)
    assert [(d["claim_id"], d["status"], d["days_waiting"]) for d in due] == [
        (claim_id, "batch_accepted", 30)
    ]


def _fetch_one(
    p: Practice, drop: FileDropConnector, tmp_path: Path, name: str, data: bytes
) -> sub.FetchResult:
    inbox = tmp_path / "in"
    inbox.mkdir(exist_ok=True)
    (inbox / name).write_bytes(data)
    got = sub.fetch(
        p.engine, p.id, ACTOR, drop, connector_name="desk", data_dir=tmp_path / "d", clock=fixed_clock
    )
    assert [r.name for r in got] == [name]
    return got[0]


def test_277ca_batch_level_trace_is_reported_as_the_batch_not_an_unknown_claim(
    practice: Practice, tmp_path: Path
) -> None:
    drop, claim_id, number, control = _submitted(practice, tmp_path)
    trace = f"{control}0001"  # our 837's BHT03: interchange control number + ST02
    got = _fetch_one(
        practice, drop, tmp_path, "ca.277", xf.ack_277ca(number, Decimal("1"), batch_trace=trace)
    )
    assert all(c.get("result") != "unknown claim" for c in got.outcome["claims"])
    assert [c["claim"] for c in got.outcome["claims"]] == [number]
    assert got.outcome["batches"] == [
        {
            "batch_trace": trace,
            "category": "A1",
            "status_code": "19",
            "accepted": True,
            "words": "received",
            "interchange": control,
            "transaction": "0001",
            "claims": 1,
            "result": "batch acknowledged",
        }
    ]
    assert _status(practice, claim_id) == "clearinghouse_accepted"


def test_277ca_batch_rejected_rejects_the_claims_it_does_not_answer(
    practice: Practice, tmp_path: Path
) -> None:
    drop, claim_id, number, control = _submitted(practice, tmp_path)
    data = xf.ack_277ca(None, Decimal("1"), batch_trace=f"{control}0001", batch_stc="A3:24")
    got = _fetch_one(practice, drop, tmp_path, "ca.277", data)
    assert [b["result"] for b in got.outcome["batches"]] == [
        "batch rejected: 1 claim(s) not answered one by one rejected"
    ]
    assert [(c["claim"], c["to"]) for c in got.outcome["claims"]] == [(number, "clearinghouse_rejected")]
    assert _status(practice, claim_id) == "clearinghouse_rejected"


def test_277ca_batch_trace_of_someone_else_is_only_reported(practice: Practice, tmp_path: Path) -> None:
    drop, claim_id, number, _ = _submitted(practice, tmp_path)
    got = _fetch_one(
        practice, drop, tmp_path, "ca.277", xf.ack_277ca(number, Decimal("1"), batch_stc="A3:24")
    )
    assert got.outcome["batches"][0]["batch_trace"] == "BATCH1"
    assert got.outcome["batches"][0]["result"] == "batch-level status; no batch of ours has this trace"
    # the claim answered one by one keeps its own verdict
    assert _status(practice, claim_id) == "clearinghouse_accepted"
