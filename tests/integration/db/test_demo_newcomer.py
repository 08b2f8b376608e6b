"""What a newcomer sees in the demo, on SQLite and PostgreSQL: forty different patients, money
posted on the days it happened across the three months, and a batch awaiting payment for which
``era example`` writes an 835 that posts on the demo's own claims."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.integration.db.conftest import PgDatabases, new_empty_engine
from therabill.adapters.db import migrations
from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.tables import patients
from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import received_payments, remittances
from therabill.service_layer.demo import load_demo
from therabill.service_layer.uow import UnitOfWork

TODAY = date(2026, 11, 23)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases) -> Iterator[Engine]:
    eng = new_empty_engine(request.param, tmp_path, pg_databases)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


def test_the_demo_shows_a_newcomer_a_remittance_post(fresh: Engine) -> None:
    pid = load_demo(fresh, "os:t", today=TODAY).practice_id
    with UnitOfWork(fresh, pid, "os:t", read_only=True) as uow:
        names = [(r.first_name, r.last_name) for r in uow.records.rows(patients)]
        posted = [
            r.posted_at.date()
            for r in uow.session.execute(
                select(ledger_entries.c.posted_at).where(ledger_entries.c.practice_id == pid)
            )
        ]
    assert len(names) == 40 and len(set(names)) == 40
    months = {(d.year, d.month) for d in posted}
    assert len(months) >= 3 and max(posted) <= TODAY
    assert sum(1 for d in posted if d == TODAY) < len(posted) / 10  # not everything on load day

    awaiting = claims_svc.list_claims(fresh, pid, "os:t", ["submitted"])
    assert awaiting, "a batch awaits payment"
    assert claims_svc.list_claims(fresh, pid, "os:t", ["ready"]), "some claims are still to send"
    text = remittances.example_835(fresh, pid, "os:t")
    rems = list(read_835(text))
    assert {c.claim_id for r in rems for c in r.claims} == {c.claim_number for c in awaiting}
    results = remittances.post_835(fresh, pid, "os:t", text)
    assert sum(r.matched_claims for r in results) == len(awaiting)
    assert all(r.not_matched == 0 for r in results)
    received = {r.trace_number: r for r in received_payments.received_payments(fresh, pid, "os:t")}
    assert all(received[r.trace_number].unmatched == 0 for r in results)
    assert not claims_svc.list_claims(fresh, pid, "os:t", ["submitted"])
