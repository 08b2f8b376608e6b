"""Findings 8, 9 (JSON depth) and 18: bodies are limited before they are read, deep JSON is
refused before it is parsed, and an unexpected error is logged with an id, never a traceback,
SQL parameters or PHI.

The body attacks talk ASGI to the app directly, with a client that keeps offering 1 MiB
chunks for ever: the test counts how many bytes the app pulled before it answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.e2e.api.conftest import bearer, token_for
from tests.e2e.api.world import World
from therabill.entrypoints.http.limits import json_depth

MIB = 1024 * 1024


def _send_endless(
    app: Any, method: str, path: str, headers: dict[str, str], *, total: int = 100 * MIB
) -> tuple[int, int]:
    """Offer ``total`` bytes in 1 MiB chunks (no Content-Length unless given); (status, bytes pulled)."""
    pulled = 0
    status = 0
    offered = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled, offered
        if offered >= total:
            return {"type": "http.disconnect"}
        chunk = b"[" * MIB if headers.get("content-type", "").endswith("json") else b"x" * MIB
        offered += len(chunk)
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": offered < total}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start" and not status:
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("192.0.2.10", 40000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }

    # A thread of its own: the test process may already run an event loop in this one.
    worker = threading.Thread(target=lambda: asyncio.run(app(scope, receive, send)))
    worker.start()
    worker.join()
    return status, pulled


def test_anonymous_100_mib_json_with_length_is_refused_unread(app: Any) -> None:
    status, pulled = _send_endless(
        app,
        "POST",
        "/api/v1/patients",
        {"content-type": "application/json", "content-length": str(100 * MIB)},
    )
    assert status == 413 and pulled == 0


def test_anonymous_chunked_json_is_cut_off_early(app: Any) -> None:
    status, pulled = _send_endless(app, "POST", "/api/v1/patients", {"content-type": "application/json"})
    assert status == 413 and pulled <= 1 * MIB


def test_anonymous_chunked_form_to_login_is_cut_off_early(app: Any) -> None:
    status, pulled = _send_endless(
        app, "POST", "/login", {"content-type": "application/x-www-form-urlencoded"}
    )
    assert status == 413 and pulled <= 1 * MIB


def test_authenticated_chunked_upload_stops_at_the_upload_limit(app: Any, world: World) -> None:
    token = token_for(world, "a", "biller")
    status, pulled = _send_endless(
        app,
        "POST",
        "/api/v1/remittances",
        {"content-type": "application/octet-stream", "authorization": f"Bearer {token}"},
    )
    assert status == 413
    assert pulled <= 12 * MIB  # the 10 MiB upload limit and one chunk, never the 100 MiB offered


def test_authenticated_json_body_is_limited_too(app: Any, world: World) -> None:
    token = token_for(world, "a", "owner")
    status, pulled = _send_endless(
        app,
        "POST",
        "/api/v1/patients",
        {"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    assert status == 413 and pulled <= 2 * MIB


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deep_json_is_refused_before_parsing(client: TestClient, world: World, depth: int) -> None:
    token = token_for(world, "a", "owner")
    body = "[" * depth + "]" * depth
    for path in ("/api/v1/patients", "/api/v1/units", "/api/v1/tokens"):
        r = client.post(path, content=body, headers={**bearer(token), "content-type": "application/json"})
        assert r.status_code == 422, (path, r.status_code)
        assert r.json()["error"]["code"] == "json-too-deep"
    nested = {"services": [{"code": "97124", "minutes": 60, "x": json.loads("[" * 60 + "]" * 60)}]}
    r = client.post("/api/v1/units", json=nested, headers=bearer(token))
    assert r.status_code < 500


def test_json_depth_skips_strings() -> None:
    assert json_depth(b'{"a": "[[[[[[[[", "b": [1, {"c": "\\"]]]"}]}') == 3


# --- finding 18: errors logged with an id, never a traceback, SQL parameters or PHI -----

PHI = "Jane Secretname 1980-04-02"


def test_unexpected_error_is_an_error_id_without_phi(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from therabill.entrypoints.api.routes import records_api

    def broken(row: Any) -> dict[str, Any]:
        with world.engine.begin() as conn:
            conn.execute(text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": PHI})
        return {}

    monkeypatch.setattr(records_api, "patient_public", broken)
    token = token_for(world, "a", "owner")
    caplog.set_level(logging.DEBUG)
    # raise_server_exceptions stays on: the exception must not escape the app (a server
    # logs whatever escapes with its full traceback)
    r = client.get(f"/api/v1/patients/{world.a.patient_id}", headers=bearer(token))
    assert r.status_code == 500
    error = r.json()["error"]
    assert error["code"] == "internal-error" and len(error["error_id"]) == 12
    assert error["error_id"] in error["message"]
    logged = "\n".join(
        rec.getMessage() + (str(rec.exc_info) if rec.exc_info else "") for rec in caplog.records
    )
    assert error["error_id"] in logged
    assert "Secretname" not in logged and "Traceback" not in logged and "no_such_table" not in logged
    assert "Secretname" not in r.text and "no_such_table" not in r.text


def test_sql_errors_never_carry_their_parameters(world: World) -> None:
    with pytest.raises(OperationalError) as err, world.engine.begin() as conn:
        conn.execute(text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": PHI})
    assert "Secretname" not in str(err.value)


def test_page_error_shows_the_id(client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.e2e.api.conftest import login
    from therabill.entrypoints.web import pages

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError(PHI)

    monkeypatch.setattr(pages, "render", broken)
    login(client, world, "a", "front_desk")
    r = client.get("/patients")
    assert r.status_code == 500 and "quote error" in r.text and "Secretname" not in r.text
