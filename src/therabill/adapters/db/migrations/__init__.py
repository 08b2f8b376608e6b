"""Schema migrations (Alembic) and the helpers the CLI and tests use to run them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

HERE = Path(__file__).resolve().parent


def alembic_config() -> Config:
    """The Alembic configuration shipped inside the package."""
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def head() -> str:
    """The newest revision id."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {heads}")
    return heads[0]


def current(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for a migration run.

    On SQLite a revision that changes a table rebuilds it (copy, drop, rename); with foreign
    keys enforced, dropping a table that other rows reference fails. As SQLite prescribes for
    such changes, enforcement is off for the run (it can only change outside a transaction)
    and ``PRAGMA foreign_key_check`` must find nothing before the commit.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows with broken references: {broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest), in one transaction; then, on
    PostgreSQL, vacuum the tables the applied revisions name in ``vacuum_after`` (a revision
    that rewrote many rows of a table leaves them out of the visibility map until a vacuum,
    which autovacuum may not run soon: index-only scans need it)."""
    before = current(engine)
    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    if engine.dialect.name == "postgresql":
        _vacuum_after(engine, before, current(engine))


def _vacuum_after(engine: Engine, before: str | None, after: str | None) -> None:
    if after is None or after == before:
        return
    script = ScriptDirectory.from_config(alembic_config())
    tables: dict[str, None] = {}
    for rev in script.iterate_revisions(after, before or "base"):
        tables.update(dict.fromkeys(getattr(rev.module, "vacuum_after", ())))
    if not tables:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (``base`` for empty)."""
    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
