"""The storage engineer's engines (SQLite and PostgreSQL, migrated) for the calendar tests, and a
migrated PostgreSQL database of its own for the tests that start worker processes."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.conftest import require
from tests.integration.db.conftest import PgDatabases, empty_engine, engine, pg_available, pg_databases
from therabill.adapters.db import migrations

__all__ = ["empty_engine", "engine", "pg_databases"]


@pytest.fixture
def pg_engine(pg_databases: PgDatabases) -> Iterator[Engine]:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    engine = pg_databases.new()
    migrations.upgrade(engine)
    yield engine
    engine.dispose()
