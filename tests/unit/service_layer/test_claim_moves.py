"""Claim status moves queued and written together (``ClaimMoves``), on the fake unit of work:
the same rules as one move at a time (``claim_status.set_status_in``)."""

from __future__ import annotations

import pytest

from tests.unit.service_layer.fake_uow import FakeUnitOfWork
from therabill.adapters.db.tables import claim_status_events, claims
from therabill.domain.records import TransitionError
from therabill.service_layer import claim_status
from therabill.service_layer.claim_moves import ClaimMoves


def _claim(uow: FakeUnitOfWork, status: str, number: str) -> str:
    return uow.add(claims, claim_number=number, status=status, findings={"n": number})


def test_moves_are_written_at_flush_with_their_events_numbered_after_the_history() -> None:
    uow = FakeUnitOfWork()
    a = _claim(uow, "scrubbed", "A")
    with uow:
        claim_status.set_status_in(uow, uow.row(claims, a), "ready", note="first")
        moves = ClaimMoves(uow)  # one claim here; many claims at once: tests on the databases
        moves.move(a, "submitted", note="batch 7", batch_id="b7")
        moves.move(a, "payer_accepted")  # a second move of one claim sees the first
        assert uow.row(claims, a).status == "ready"  # nothing written before flush
        moves.flush()
    assert (uow.row(claims, a).status, uow.row(claims, a).batch_id) == ("payer_accepted", "b7")
    assert [(e.seq, e.status, e.note) for e in uow.records.status_history(a)] == [
        (1, "ready", "first"),
        (2, "submitted", "batch 7"),
        (3, "payer_accepted", None),
    ]
    assert uow.records.status_history(a)[1].findings == {"n": "A"}  # the claim's findings, as one move
    assert uow.audited() == ["claim.status"] * 3


def test_a_move_the_life_cycle_refuses_queues_nothing() -> None:
    uow = FakeUnitOfWork()
    a = _claim(uow, "paid", "A")
    with uow:
        moves = ClaimMoves(uow)
        with pytest.raises(TransitionError):
            moves.move(a, "draft")
        moves.set_values(a, payer_claim_control_number="PCN-1")
        moves.flush()
    assert uow.row(claims, a).status == "paid" and uow.row(claims, a).payer_claim_control_number == "PCN-1"
    assert uow.records.rows(claim_status_events) == [] and uow.audited() == []


def test_a_known_claim_is_not_read_again_and_forget_drops_it_after_writing() -> None:
    uow = FakeUnitOfWork()
    a = _claim(uow, "submitted", "A")
    with uow:
        moves = ClaimMoves(uow)
        moves.know([uow.row(claims, a)])
        moves.move(a, "paid")
        assert moves.claim(a).status == "paid"
        moves.forget()
        assert uow.row(claims, a).status == "paid"
        assert moves.claim(a).status == "paid"  # read again, as written
