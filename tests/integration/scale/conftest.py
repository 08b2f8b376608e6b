from tests.integration.db.conftest import pg_databases

__all__ = ["pg_databases"]
