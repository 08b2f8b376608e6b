"""The navigation bar links to the reports for the roles that may read them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from tests.integration.reports.conftest import Practice


def test_reports_link_for_owner_and_biller_only(practice: Practice, tmp_path: Path) -> None:
    from therabill.entrypoints.app import create_app
    from therabill.entrypoints.http.settings import Settings
    from therabill.service_layer import accounts, api_tokens

    now = datetime(2026, 11, 23, 12, 0)
    tokens = {}
    with practice.engine.begin() as conn:
        for role in ("owner", "biller", "therapist"):
            uid = accounts.create_user(
                conn,
                username=f"nav-{role}-{practice.practice_id[:6]}",
                display_name=role,
                password="correct horse battery staple",
                practice_id=practice.practice_id,
                role=role,
                now=now,
            )
            who = accounts.Principal(
                user_id=uid, username=role, display_name=role, practice_id=practice.practice_id, role=role
            )
            # a token holds at most its role's permissions: the therapist's lacks reports.read
            scopes = "patients.read,reports.read" if role != "therapist" else "patients.read"
            tokens[role] = api_tokens.create_api_token(conn, who, "t", scopes, now)[1]
    app = create_app(
        Settings(database_url="sqlite:///unused", data_dir=str(tmp_path)),
        engine=practice.engine,
        clock=lambda: now,
    )
    link = '<a href="/reports">Reports</a>'
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for role, shown in (("owner", True), ("biller", True), ("therapist", False)):
            page = c.get("/patients", headers={"Authorization": f"Bearer {tokens[role]}"})
            assert page.status_code == 200, (role, page.status_code)
            assert (link in page.text) is shown, role
