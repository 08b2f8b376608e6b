"""Revoke or rotate a therapist's calendar feed on the setup page and through the API: a
revoked URL answers 410 Gone, the new one the calendar."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, csrf_of, login, token_for
from tests.e2e.api.world import World


def _path(url: str) -> str:
    return urlsplit(url).path


def test_the_api_revokes_and_rotates_a_feed(client: TestClient, world: World) -> None:
    desk = bearer(token_for(world, "b", "front_desk"))
    base = f"/api/v1/providers/{world.b.provider_id}/calendar-feed"
    old = client.post(base, headers=desk).json()["url"]
    assert client.get(_path(old)).status_code == 200
    rotated = client.post(base + "/rotate", headers=desk)
    assert rotated.status_code == 201
    new = rotated.json()["url"]
    gone = client.get(_path(old))
    assert gone.status_code == 410 and "revoked" in gone.text
    assert client.get(_path(new)).status_code == 200
    assert client.delete(base, headers=desk).status_code == 204
    assert client.get(_path(new)).status_code == 410
    other = bearer(token_for(world, "a", "owner"))
    assert client.delete(base, headers=other).status_code == 404  # another practice's therapist


def test_the_setup_page_rotates_and_revokes_a_feed(client: TestClient, world: World) -> None:
    csrf = login(client, world, "b", "owner")
    data = {"csrf_token": csrf, "provider_id": world.b.provider_id}
    made = client.post("/calendar/setup/feed", data=data)
    old = re.search(r'value="(http[^"]+/calendar/feed/[A-Za-z0-9_-]+\.ics)"', made.text)
    assert old
    rotated = client.post("/calendar/setup/feed/rotate", data=data)
    assert rotated.status_code == 200 and "The old addresses are revoked" in rotated.text
    new = re.search(r'value="(http[^"]+/calendar/feed/[A-Za-z0-9_-]+\.ics)"', rotated.text)
    assert new and new.group(1) != old.group(1)
    assert client.get(_path(old.group(1))).status_code == 410
    assert client.get(_path(new.group(1))).status_code == 200
    revoked = client.post("/calendar/setup/feed/revoke", data={**data, "csrf_token": csrf_of(rotated.text)})
    assert revoked.status_code == 200 and "addresses are revoked" in revoked.text
    assert client.get(_path(new.group(1))).status_code == 410
