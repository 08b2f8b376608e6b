"""The storage engineer's engines (SQLite and PostgreSQL, migrated) for the intake tests."""

from tests.integration.db.conftest import engine, pg_databases

__all__ = ["engine", "pg_databases"]
