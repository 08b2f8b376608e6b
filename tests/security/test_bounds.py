"""Finding 9 (and 10): money and counts are bounded where they enter; a bad value is a clear
refusal naming the field (422 / exit 2), never a 500, and nothing is stored."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.api.conftest import bearer, login, token_for
from tests.e2e.api.world import World, make_835
from therabill.adapters.db.ledger_tables import remittances
from therabill.domain.errors import ReferenceDataError, TherabillError
from therabill.domain.money import MAX_AMOUNT, D, MoneyError
from therabill.refdata.fees import import_fees
from therabill.service_layer import practice as practice_svc

HUGE = "50000000000000000.00"  # 5e16 dollars


@pytest.mark.parametrize(
    "text", [HUGE, "1000000000000.00", "-1000000000000.00", "120000000000000000000000000000.00"]
)
def test_money_door_refuses_more_than_12_digits(text: str) -> None:
    with pytest.raises(MoneyError):
        D(text)
    assert D("999999999999.99") == MAX_AMOUNT


def test_huge_remittance_amounts_are_never_stored(client: TestClient, world: World) -> None:
    """Amounts past the bound are problems of the remittance (its claims go to the worklist,
    like any unreadable amount); nothing past the bound reaches the ledger or the reports."""
    token = token_for(world, "a", "biller")
    for trn in ("HUGE-1", "HUGE-2"):
        body = make_835("NOCLAIM-1", [("97124", 4, HUGE, HUGE, [])], trn=trn)
        r = client.post(
            "/api/v1/remittances",
            content=body.encode(),
            headers={**bearer(token), "content-type": "text/plain"},
        )
        assert r.status_code == 200, r.text
        assert r.json()[0]["paid"] == "0.00" and len(r.json()[0]["worklist"]) >= 1
    with world.engine.connect() as conn:
        largest = conn.execute(select(func.max(func.abs(remittances.c.payment_cents)))).scalar_one()
    assert largest is None or largest <= int(MAX_AMOUNT * 100)
    login(client, world, "a", "owner")
    assert client.get("/").status_code == 200  # the dashboard
    assert client.get("/api/v1/reports/summary", headers=bearer(token)).status_code < 500


def test_huge_units_in_a_remittance_are_refused(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "biller")
    body = make_835("NOCLAIM-2", [("97124", 10**20, "10.00", "10.00", [])], trn="HUGE-3")
    r = client.post(
        "/api/v1/remittances", content=body.encode(), headers={**bearer(token), "content-type": "text/plain"}
    )
    assert r.status_code == 200, r.text
    assert len(r.json()[0]["worklist"]) >= 1


def test_fee_of_1_2e29_in_a_fee_schedule_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "fees.csv"
    for fee in ("1.2e29", "120000000000000000000000000000"):
        csv.write_text(f"code,practice_fee,medicare_amount,effective_from\n97124,{fee},,2026-01-01\n")
        with pytest.raises(ReferenceDataError) as err:
            import_fees(csv, tmp_path)
        assert err.value.problems and err.value.problems[0].code == "refdata-fee-invalid"


def test_fee_of_1_2e29_on_a_practice_is_refused(world: World) -> None:
    with pytest.raises(TherabillError) as err:
        practice_svc.create_practice(
            world.engine, name="Huge", slug="huge-fee", actor="test", fees={"97124": "1" + "0" * 29 + ".00"}
        )
    assert err.value.problems[0].code == "practice-fee-invalid"
    assert err.value.problems[0].loc == "fees.97124"


@pytest.mark.parametrize("before", ["9" * 30, "-1", str(2**63)])
def test_audit_cursor_of_30_digits_is_refused(client: TestClient, world: World, before: str) -> None:
    login(client, world, "a", "owner")
    r = client.get(f"/audit?before={before}")
    assert r.status_code == 422, r.status_code


@pytest.mark.parametrize("field", ["minutes", "units"])
def test_counts_are_bounded(client: TestClient, world: World, field: str) -> None:
    token = token_for(world, "a", "therapist")
    service = {"code": "97124", "minutes": 60, field: 10**30}
    r = client.post("/api/v1/units", json={"services": [service]}, headers=bearer(token))
    assert r.status_code == 422, r.text
    assert any(field in p["loc"] for p in r.json()["error"]["problems"])


def test_decimal_bound_constant() -> None:
    assert Decimal("999999999999.99") == MAX_AMOUNT
