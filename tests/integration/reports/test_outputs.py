"""The CLI command and the web pages of the reports (both engines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.integration.reports.conftest import Practice
from therabill.entrypoints.cli.main import app as cli
from therabill.reports import charts


def _sqlite(engine: Engine) -> None:
    """The output layers are dialect-independent; they run on both engines anyway (CI never skips)."""


def test_cli_writes_csv_and_html(practice: Practice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _sqlite(practice.engine)
    monkeypatch.setenv("THERABILL_DATABASE_URL", str(practice.engine.url))
    out_csv, out_html = tmp_path / "rev.csv", tmp_path / "rev.html"
    r = CliRunner().invoke(
        cli,
        [
            "report",
            "revenue",
            "--from",
            "2026-08-01",
            "--to",
            "2026-11-23",
            "--payer",
            "Aetna",
            "--csv",
            str(out_csv),
            "--html",
            str(out_html),
            "--practice",
            practice.practice_id,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Net collection rate" in r.output
    assert "Aetna,485.00,180.00" in out_csv.read_text()
    assert out_html.read_text().count("<svg") == 2
    bad = CliRunner().invoke(cli, ["report", "nonsense", "--practice", practice.practice_id])
    assert bad.exit_code == 2
    bad_day = CliRunner().invoke(
        cli, ["report", "aging", "--as-of", "23/11/2026", "--practice", practice.practice_id]
    )
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output


def test_web_pages_need_reports_read(practice: Practice, tmp_path: Path) -> None:
    _sqlite(practice.engine)
    from datetime import datetime

    from therabill.entrypoints.app import create_app
    from therabill.entrypoints.http.settings import Settings
    from therabill.service_layer import accounts, api_tokens

    now = datetime(2026, 11, 23, 12, 0)
    with practice.engine.begin() as conn:
        ids = {}
        for role in ("owner", "therapist"):
            ids[role] = accounts.create_user(
                conn,
                username=f"rep-{role}-{practice.practice_id[:6]}",
                display_name=role,
                password="correct horse battery staple",
                practice_id=practice.practice_id,
                role=role,
                now=now,
            )
        tokens = {}
        for role, uid in ids.items():
            who = accounts.Principal(
                user_id=uid, username=role, display_name=role, practice_id=practice.practice_id, role=role
            )
            # a token holds at most its role's permissions: the therapist's cannot hold reports.read
            scopes = "reports.read" if role != "therapist" else "patients.read"
            tokens[role] = api_tokens.create_api_token(conn, who, "t", scopes, now)[1]
    app = create_app(
        Settings(database_url="sqlite:///unused", data_dir=str(tmp_path)),
        engine=practice.engine,
        clock=lambda: now,
    )
    with TestClient(app, base_url="http://127.0.0.1") as c:
        owner = {"Authorization": f"Bearer {tokens['owner']}"}
        assert c.get("/reports", headers=owner).status_code == 200
        page = c.get("/reports/revenue?from=2026-08-01&to=2026-11-23", headers=owner)
        assert page.status_code == 200 and page.text.count("<svg") == 2 and "Net collection rate" in page.text
        csv = c.get("/reports/aging.csv?as_of=2026-11-23", headers=owner)
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert "Insurance balances by payer" in csv.text
        assert c.get("/reports/nope", headers=owner).status_code == 404
        assert c.get("/reports/revenue?from=bad", headers=owner).status_code == 422
        therapist = c.get("/reports/revenue", headers={"Authorization": f"Bearer {tokens['therapist']}"})
        assert therapist.status_code in (200, 403)


def test_charts_are_labelled_svg() -> None:
    svg = charts.bar_chart(
        "Paid by month",
        ["2026-08", "2026-09"],
        [("Paid", [10, 20]), ("Charged", [30, None])],
        x_label="Month",
        y_label="Amount",
        unit="$",
    )
    assert svg.startswith("<svg") and "<title>Paid by month</title>" in svg
    assert ">Month<" in svg and "Amount ($)" in svg and "$30" in svg
    assert charts.PALETTE[0] in svg and charts.PALETTE[1] in svg
    line = charts.line_chart(
        "Pain",
        ["a", "b", "c"],
        [("pain", [6, None, 2])],
        x_label="Visit",
        y_label="Pain (0-10)",
        targets=[("goal", 2)],
    )
    assert (
        "stroke-dasharray" in line and "<polyline" not in line
    )  # the gap splits the line into single points
    assert "No data" in charts.bar_chart("Empty", [], [], x_label="x", y_label="y")
    assert charts.nice_step(1000) == 200 and charts.nice_step(7) == 2
