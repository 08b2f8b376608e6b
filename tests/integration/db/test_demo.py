"""The demo practice: loads once, through the use cases, in one transaction, on both engines.

Checked: claims in every adjudicated state (paid, partly paid, denied) from its
remittances, the ledger's checks (every item's equation, balanced journals), the invariant
for every claim line, the practice-level PLB entry, patient payments, no-show fees,
packages and a gift certificate, eligibility checks and enrollments; and that a load that
fails part way leaves nothing behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.integration.db.conftest import PgDatabases, new_empty_engine
from therabill.adapters.db import migrations
from therabill.adapters.db.tables import (
    audit_log,
    eligibility_checks,
    practices,
    provider_enrollments,
    provider_licenses,
)
from therabill.domain.ledger import ChargeType, EntryKind, balances_by
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import demo as demo_module
from therabill.service_layer import ledger, remittances
from therabill.service_layer import patients as patients_svc
from therabill.service_layer.audit import verify_chain
from therabill.service_layer.demo import load_demo
from therabill.service_layer.uow import UnitOfWork

TODAY = date(2026, 11, 23)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases) -> Iterator[Engine]:
    eng = new_empty_engine(request.param, tmp_path, pg_databases)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


def _count(uow: UnitOfWork, table: object) -> int:
    return int(uow.session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_demo_loads_once_with_money_in_every_state(fresh: Engine) -> None:
    first = load_demo(fresh, "os:t", today=TODAY)
    assert first.created and first.patients == 40 and first.appointments > 200 and first.claims > 100
    assert first.remittances >= 2 and first.payments > 10
    statuses = Counter(c.status for c in claims_svc.list_claims(fresh, first.practice_id, "os:t"))
    assert {"paid", "partly_paid", "denied", "ready", "scrubbed"} <= set(statuses)
    assert ledger.check_ledger(fresh, first.practice_id, "os:t") == []
    entries = ledger.all_entries(fresh, first.practice_id, "os:t")
    lines = balances_by([e for e in entries if e.claim_line_id], lambda e: e.claim_line_id)
    assert len(lines) > 100 and all(b.holds() for b in lines.values())
    kinds = Counter(e.kind for e in entries)
    assert kinds[EntryKind.INSURANCE_PAYMENT] > 0 and kinds[EntryKind.PATIENT_PAYMENT] > 0
    assert kinds[EntryKind.PREPAID_SALE] == 3 and kinds[EntryKind.REDEMPTION] > 0 and kinds[EntryKind.TIP] > 0
    assert any(e.detail == ChargeType.NO_SHOW for e in entries if e.kind is EntryKind.CHARGE)
    assert [p["reason"] for p in remittances.provider_adjustments(fresh, first.practice_id, "os:t")] == ["L6"]
    denials = remittances.denial_worklist(fresh, first.practice_id, "os:t")
    codes = {r["code"] for d in denials for r in d["reasons"]}
    assert "CO-97" in codes and codes & {"CO-197", "CO-50", "CO-29"} and "CO-45" not in codes
    with UnitOfWork(fresh, first.practice_id, "os:t", read_only=True) as uow:
        assert _count(uow, eligibility_checks) == 34
        assert _count(uow, provider_enrollments) == 15 and _count(uow, provider_licenses) == 3
        assert verify_chain(uow.session, first.practice_id).ok
    again = load_demo(fresh, "os:t", today=TODAY)
    assert not again.created and again.practice_id == first.practice_id
    assert len(patients_svc.list_patients(fresh, first.practice_id, "os:t")) == 40


def test_a_failed_demo_load_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from therabill.adapters.db.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    migrations.upgrade(engine)

    def crash(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo_module, "_sell_prepaid", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        load_demo(engine, "os:t", today=TODAY)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(practices)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
