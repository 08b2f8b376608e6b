from sqlalchemy import Engine, text

from tests.integration.db.conftest import pg_databases

__all__ = ["not_analyzed", "pg_databases"]


def not_analyzed(engine: Engine) -> list[str]:
    """The tables of the records no ``ANALYZE`` was run on (autovacuum's own do not count)."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NULL "
                    "AND relname IN ('patients', 'visits', 'claims', 'ledger_entries', 'audit_log') "
                    "ORDER BY relname"
                )
            ).scalars()
        )
