"""The follow-up worklist's head and count from the database against the plain way (every waiting
claim read and decided one by one with the domain's rule), on both engines, for every filter."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.integration.db.builders import ACTOR, AS_OF, DOS, Practice, a_practice
from tests.integration.db.test_followup import _coded, _denied
from tests.integration.db.test_money_flow import _submitted
from therabill.adapters.db.followup_tables import claim_followups
from therabill.adapters.db.tables import claims
from therabill.domain import claim_changes as rules
from therabill.service_layer import claims as rec
from therabill.service_layer import followup
from therabill.service_layer.uow import UnitOfWork


def _plain(
    p: Practice, *, as_of: date, unpaid_days: int, include_done: bool, owner: str | None, reason: str | None
) -> list[tuple[str, str, str | None]]:
    """(claim, reason, owner) of every claim on the worklist, decided in Python claim by claim."""
    with UnitOfWork(p.engine, p.id, ACTOR, read_only=True) as uow:
        stored = {r.claim_id: r for r in uow.records.rows(claim_followups)}
        every = uow.session.execute(
            select(claims.c.id, claims.c.status, claims.c.date_of_service, claims.c.frequency)
            .where(claims.c.practice_id == p.id)
            .order_by(claims.c.date_of_service, claims.c.claim_number, claims.c.id)
        ).all()
    out = []
    for row in every:
        why = rules.follow_up_reason(
            row.status, date_of_service=row.date_of_service, as_of=as_of, unpaid_days=unpaid_days
        )
        if why is None or row.frequency == "8" or (reason is not None and why.value != reason):
            continue
        kept = stored.get(row.id)
        if kept is not None and kept.state == "done" and not include_done:
            continue
        if owner is not None and (kept is None or (kept.owner or "") != owner):
            continue
        out.append((row.id, why.value, kept.owner if kept is not None else None))
    return out


@pytest.fixture(scope="module")
def worked(engine: Engine) -> Practice:
    """A practice with a claim of every kind the worklist decides on."""
    p = a_practice(engine)
    denied = _denied(p)
    _denied(p)
    rejected = _coded(p)
    _submitted(p, rejected)
    rec.set_claim_status(engine, p.id, ACTOR, rejected, "clearinghouse_rejected")
    for days in (45, 45, 45, 10, 0):  # three on one day: the claim number decides their order
        _submitted(p, _coded(p, dos=DOS - timedelta(days=days)))
    appealed = _denied(p)  # awaiting payment again: unpaid from the date of service
    rec.set_claim_status(engine, p.id, ACTOR, appealed, "appealed")
    _coded(p, dos=DOS - timedelta(days=90))  # never sent
    voided = _denied(p)
    followup.act(engine, p.id, ACTOR, voided, "void", as_of=AS_OF)  # a void version (frequency 8)
    written = _coded(p, dos=DOS - timedelta(days=60))
    _submitted(p, written)
    followup.act(engine, p.id, ACTOR, written, "write_off", as_of=AS_OF)  # done
    followup.update(engine, p.id, ACTOR, denied, as_of=AS_OF, owner="Bea Biller")
    followup.update(engine, p.id, ACTOR, rejected, as_of=AS_OF, note="called")  # worked, nobody owns it
    return p


def test_the_head_and_count_are_the_plain_worklists(worked: Practice) -> None:
    p = worked
    seen_reasons: set[str] = set()
    for days, reason, done, owner in itertools.product(
        (0, 3, 30, 60), (None, "denied", "rejected", "unpaid"), (False, True), (None, "Bea Biller", "")
    ):
        filters: dict[str, Any] = {
            "unpaid_days": days,
            "include_done": done,
            "owner": owner,
            "reason": reason,
        }
        expected = _plain(p, as_of=AS_OF, **filters)
        seen_reasons.update(r for _, r, _ in expected)
        for rows in (None, 1, 2, len(expected), 100):
            items, total = followup.worklist_head(p.engine, p.id, ACTOR, as_of=AS_OF, rows=rows, **filters)
            assert total == len(expected), filters
            assert [(i.claim_id, i.reason, i.owner) for i in items] == expected[:rows], (filters, rows)
        assert [i.claim_id for i in followup.worklist(p.engine, p.id, ACTOR, as_of=AS_OF, **filters)] == [
            c for c, _, _ in expected
        ]
    assert seen_reasons == {"denied", "rejected", "unpaid"}
    every, _ = followup.worklist_head(p.engine, p.id, ACTOR, as_of=AS_OF, rows=None, include_done=True)
    assert {i.state for i in every} == {"open", "in_progress", "done"}
    assert len(_plain(p, as_of=AS_OF, unpaid_days=30, include_done=False, owner=None, reason=None)) >= 6


def test_a_row_shows_the_stored_item_and_the_names(worked: Practice) -> None:
    p = worked
    head, total = followup.worklist_head(p.engine, p.id, ACTOR, as_of=AS_OF, rows=3, owner="Bea Biller")
    assert total == 1 and head[0].owner == "Bea Biller" and head[0].state == "in_progress"
    assert head[0].patient and head[0].payer and head[0].reason == "denied"
    whole = followup.item(p.engine, p.id, ACTOR, head[0].claim_id, as_of=AS_OF)
    assert head[0] == whole.__class__(**{**{f: getattr(whole, f) for f in whole.__slots__}, "notes": ()})
