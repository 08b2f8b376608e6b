"""Engines for the storage tests: every test runs on SQLite and on PostgreSQL.

PostgreSQL: each test session (each xdist worker) creates its own database on the server
named by ``THERABILL_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
and drops it at the end. Without a server the PostgreSQL half skips loudly, and fails
under ``CI`` (``tests/conftest.py:require``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import require
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine

PG_ADMIN_URL = os.environ.get("THERABILL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin() -> Engine:
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def pg_available() -> bool:
    """True when the test PostgreSQL server answers."""
    try:
        eng = _pg_admin()
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


class PgDatabases:
    """Creates throw-away databases on the test server and drops them at the end."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.engines: list[Engine] = []

    def new(self) -> Engine:
        name = f"therabill_t_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.names.append(name)
        engine = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
        self.engines.append(engine)
        return engine

    def drop_all(self) -> None:
        for eng in self.engines:
            eng.dispose()
        admin = _pg_admin()
        with admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases()
    yield dbs
    if dbs.names:
        dbs.drop_all()


def new_empty_engine(kind: str, tmp_path: Path, pg_databases: PgDatabases) -> Engine:
    """An empty database of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.sqlite3'}")
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    return pg_databases.new()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_databases: PgDatabases
) -> Iterator[Engine]:
    """A migrated database shared by the session's tests (each test makes its own practice)."""
    eng = new_empty_engine(request.param, tmp_path_factory.mktemp("db"), pg_databases)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases
) -> Iterator[Engine]:
    """A fresh empty database (for migration and backup tests)."""
    eng = new_empty_engine(request.param, tmp_path, pg_databases)
    yield eng
    eng.dispose()
