"""Fixtures of the attack suite: the API tests' world (two practices, every role) and app."""

from __future__ import annotations

from tests.e2e.api.conftest import app, client, world

__all__ = ["app", "client", "world"]
