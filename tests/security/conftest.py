"""Fixtures of the attack suite: the API tests' world (two practices, every role) and app,
and the storage tests' throw-away SQLite/PostgreSQL databases."""

from __future__ import annotations

from tests.e2e.api.conftest import app, client, world
from tests.integration.db.conftest import empty_engine, pg_databases

__all__ = ["app", "client", "empty_engine", "pg_databases", "world"]
