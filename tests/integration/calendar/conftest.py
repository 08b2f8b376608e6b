"""The storage engineer's engines (SQLite and PostgreSQL, migrated) for the calendar tests."""

from tests.integration.db.conftest import empty_engine, engine, pg_databases

__all__ = ["empty_engine", "engine", "pg_databases"]
