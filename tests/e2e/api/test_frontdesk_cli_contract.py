"""The command line and the API agree on the front desk's records: one service behind both, so
an authorization made on one surface and extended on the other reads the same on each, and a
patient's history is the same list whichever surface asks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.e2e.api.conftest import bearer, token_for
from tests.e2e.api.world import World
from therabill.entrypoints.cli.main import app as cli

runner = CliRunner()


def _cli(*args: str) -> Any:
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_cli_and_the_api_agree_on_the_front_desk_records(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THERABILL_DATABASE_URL", world.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("THERABILL_PRACTICE", world.a.practice_id)
    desk = bearer(token_for(world, "a", "front_desk"))
    body = {
        "chart_number": "CT-0001",
        "first_name": "Rosa",
        "last_name": "Contract",
        "birth_date": "1981-06-30",
    }
    patient = client.post("/api/v1/patients", json=body, headers=desk)
    assert patient.status_code == 201, patient.text
    cov = client.post(
        "/api/v1/patients/CT-0001/coverages",
        json={"payer_id": world.a.payer_id, "member_id": "CT1"},
        headers=desk,
    ).json()

    made = _cli(
        "authorizations", "create", "CT-0001", "--number", "CT-AUTH-1", "--codes", "97124",
        "--from", "2026-11-01", "--to", "2026-12-31", "--visits", "6", "--units", "24",
    )  # fmt: skip
    (read,) = client.get(f"/api/v1/coverages/{cov['id']}/authorizations", headers=desk).json()
    assert read["id"] == made["id"] and read["number"] == "CT-AUTH-1" and read["codes"] == ["97124"]
    assert (
        (read["visits_remaining"], read["units_remaining"])
        == (made["visits_left"], made["units_left"])
        == (6, 24)
    )

    extended = client.post(
        f"/api/v1/authorizations/{made['id']}/extend", json={"add_visits": 4}, headers=desk
    )
    assert extended.status_code == 200
    (listed,) = _cli("authorizations", "list", "CT-0001")
    assert listed["visits_allowed"] == extended.json()["visits_allowed"] == 10 and listed["visits_left"] == 10

    edited = _cli("patients", "edit", "CT-0001", "--phone", "2175550142", "--email", "rosa@example.org")
    api_patient = client.get("/api/v1/patients/CT-0001", headers=desk).json()
    assert (api_patient["phone"], api_patient["email"]) == (edited["phone"], edited["email"])
    _cli("patients", "coverage-end", "CT-0001", "--last-day", "2026-12-31")
    assert client.get(f"/api/v1/coverages/{cov['id']}", headers=desk).json()["active_to"] == "2026-12-31"

    api_history = client.get("/api/v1/patients/CT-0001/history", headers=desk).json()
    cli_history = _cli("patients", "history", "CT-0001")
    assert [(h["action"], h["who"], h["fields"]) for h in api_history] == [
        (h["action"], h["who"], h["fields"]) for h in cli_history
    ]
    actions = [(h["action"], h["who"] == "command line") for h in cli_history]
    assert actions[:4] == [
        ("coverage.end", True), ("patient.update", True), ("authorization.extend", False), ("authorization.add", True)
    ]  # fmt: skip
