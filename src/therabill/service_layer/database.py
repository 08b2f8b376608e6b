"""The database as a whole: open it, bring it to the newest schema, check it, rebuild totals.

The operator's use cases behind ``therabill db``, ``run``, ``serve`` and ``demo``: entry points
call these and never the database adapters themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db import migrations, report_totals
from therabill.adapters.db.backup import Manifest, backup_sqlite, is_encrypted, restore_sqlite
from therabill.adapters.db.engine import durability_settings, make_engine
from therabill.adapters.db.tables import practices
from therabill.domain.errors import Problem, TherabillError
from therabill.service_layer.integrity import AuditCheck, check_audit

__all__ = [
    "DatabaseCheck",
    "backup",
    "backup_is_encrypted",
    "restore",
    "DatabaseNotReadyError",
    "check",
    "open_database",
    "open_existing",
    "rebuild_totals",
    "upgrade",
]


def open_database(url: str | None = None, *, upgraded: bool = False) -> Engine:
    """The engine of the database at ``url`` (default: ``THERABILL_DATABASE_URL``, else the data
    folder's SQLite file), brought to the newest schema first when ``upgraded``."""
    engine = make_engine(url)
    if upgraded:
        migrations.upgrade(engine)
    return engine


class DatabaseNotReadyError(TherabillError):
    """The database has no therabill schema yet (nothing was set up in this data folder)."""

    code = "database-not-ready"


def open_existing(url: str | None = None) -> Engine:
    """The engine of a database that already holds the therabill schema.

    Raises:
        DatabaseNotReadyError: the database is empty (``therabill db upgrade`` or
            ``therabill run`` / ``demo`` first), named with a clear problem.
    """
    engine = make_engine(url)
    if migrations.current(engine) is None:
        engine.dispose()
        raise DatabaseNotReadyError(
            "there is no therabill database here yet",
            (
                Problem(
                    "database-not-ready",
                    "database",
                    "run `therabill db upgrade` (or `therabill demo` / `make run`) first, or set "
                    "THERABILL_DATA_DIR / THERABILL_DATABASE_URL to the practice's database",
                ),
            ),
        )
    return engine


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the database to the newest schema; returns the revisions before and after."""
    before = migrations.current(engine)
    migrations.upgrade(engine)
    return before, migrations.current(engine)


def _practice_ids(conn: Any) -> list[str]:
    return list(conn.execute(select(practices.c.id).order_by(practices.c.id)).scalars())


@dataclass(frozen=True, slots=True)
class DatabaseCheck:
    """What ``check`` found.

    Attributes:
        revision: the schema revision, ``None`` for an empty database.
        known: whether it is a therabill schema revision at all.
        settings: the durability settings in force.
        totals_differing: practice id → rows of the monthly totals that differ from the ledger.
        audit: the audit chains and their anchor (``None`` when the revision is unknown).
    """

    revision: str | None
    known: bool
    settings: dict[str, Any]
    totals_differing: dict[str, int]
    audit: AuditCheck | None

    @property
    def ok(self) -> bool:
        """True when everything agrees."""
        return (
            self.known
            and self.audit is not None
            and self.audit.ok
            and not any(self.totals_differing.values())
        )


def check(engine: Engine, data_folder: Path, *, reanchor: bool = False) -> DatabaseCheck:
    """The schema revision, durability settings, the ledger's monthly totals against the
    entries, and the audit chains against their anchor in ``data_folder``."""
    revision = migrations.current(engine)
    if revision not in migrations.revisions():
        return DatabaseCheck(revision, False, {}, {}, None)
    settings = durability_settings(engine)
    with engine.connect() as conn:
        differing = {pid: len(report_totals.differences(conn, pid)) for pid in _practice_ids(conn)}
    audit = check_audit(engine, data_folder, reanchor=reanchor)
    return DatabaseCheck(revision, True, settings, differing, audit)


def rebuild_totals(engine: Engine) -> tuple[int, int]:
    """Recompute every practice's monthly totals from the posted entries (the ledger is only
    read); returns (practices, rows)."""
    with engine.begin() as conn:
        ids = _practice_ids(conn)
        rows = report_totals.rebuild(conn, ids)
    return len(ids), rows


def backup(target: Path, passphrase: str | None = None, url: str | None = None) -> Manifest:
    """A consistent, checked copy of the database in ``target``, with its manifest
    (``adapters.db.backup``: SQLite; PostgreSQL is backed up with pg_dump, see docs/storage.md)."""
    engine = make_engine(url)
    try:
        return backup_sqlite(engine, target, passphrase)
    finally:
        engine.dispose()


def backup_is_encrypted(source: Path) -> bool:
    """Whether a backup file says its content is encrypted (it then needs the passphrase)."""
    return is_encrypted(source)


def restore(
    source: Path, passphrase: str | None = None, *, replace_practices: bool = False, url: str | None = None
) -> Manifest:
    """Replace the database's content with the backup ``source``, every check made before
    anything is touched (``adapters.db.backup.restore_sqlite``)."""
    engine = make_engine(url)
    try:
        return restore_sqlite(engine, source, passphrase, replace_practices=replace_practices)
    finally:
        engine.dispose()
