"""The database as a whole: open it, bring it to the newest schema, check it, rebuild totals.

The operator's use cases behind ``therabill db``, ``run``, ``serve`` and ``demo``: entry points
call these and never the database adapters themselves.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.orm import Session

from therabill.adapters.db import migrations, pg_backup, report_totals
from therabill.adapters.db.backup import (
    MAGIC,
    REQUIRED_TABLES,
    BackupError,
    Manifest,
    backup_sqlite,
    check_documents,
    collect_documents,
    is_encrypted,
    pack,
    read_manifest,
    referral_files,
    restore_sqlite,
    seal,
    unpack,
    unseal,
    write_documents,
)
from therabill.adapters.db.engine import analyze, durability_settings, make_engine
from therabill.adapters.db.tables import practices
from therabill.adapters.db.transfer import Transfer, copy_database
from therabill.adapters.files import write_private
from therabill.domain.errors import Problem, TherabillError
from therabill.service_layer import audit
from therabill.service_layer.audit import chain_heads, verify_chain
from therabill.service_layer.integrity import AuditCheck, check_audit

__all__ = [
    "DatabaseCheck",
    "backup",
    "backup_is_encrypted",
    "restore",
    "DatabaseNotReadyError",
    "check",
    "copy",
    "move_to_postgres",
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


def has_schema(engine: Engine) -> bool:
    """Whether the database holds the therabill schema (any revision)."""
    return migrations.current(engine) is not None


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


def backup(
    target: Path, passphrase: str | None = None, url: str | None = None, data_folder: Path | None = None
) -> Manifest:
    """A consistent, checked copy of the database in ``target``, with its manifest: SQLite with
    its online backup API (``adapters.db.backup``), PostgreSQL with ``pg_dump`` of one snapshot
    whose revision, practices and verified audit chains the manifest records. The stored
    documents under ``data_folder`` (signed referrals and prescriptions) go in the same file,
    each checked against the referral that names it."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            return _backup_postgres(engine, target, passphrase, data_folder)
        return backup_sqlite(engine, target, passphrase, data_folder, audit=audit)
    finally:
        engine.dispose()


def backup_is_encrypted(source: Path) -> bool:
    """Whether a backup file says its content is encrypted (it then needs the passphrase)."""
    return is_encrypted(source)


def restore(
    source: Path,
    passphrase: str | None = None,
    *,
    replace_practices: bool = False,
    url: str | None = None,
    data_folder: Path | None = None,
) -> Manifest:
    """Replace the database's content with the backup ``source``, every check made before
    anything is touched (SQLite: ``adapters.db.backup.restore_sqlite``; PostgreSQL: the archive
    is restored and checked in a scratch database first, then into the live one in one
    transaction). The backup's documents, each checked against the manifest and the restored
    referrals, are written back under ``data_folder`` first."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            return _restore_postgres(
                engine, source, passphrase, replace_practices=replace_practices, data_folder=data_folder
            )
        return restore_sqlite(
            engine,
            source,
            passphrase,
            audit=audit,
            replace_practices=replace_practices,
            data_folder=data_folder,
        )
    finally:
        engine.dispose()


def _backup_fail(code: str, message: str) -> BackupError:
    return BackupError(message, (Problem(code, "backup", message),))


@dataclass(frozen=True, slots=True)
class _PgFacts:
    revision: str
    practices: tuple[str, ...]
    audit_heads: dict[str, tuple[int, str]]
    documents: dict[str, str]


def _examine_pg(conn: Connection) -> _PgFacts:
    """Revision, practices and audit heads of a PostgreSQL database; every chain must verify.

    Raises:
        BackupError: not a therabill database of a known revision, or a broken audit chain.
    """
    missing = sorted(REQUIRED_TABLES - set(inspect(conn).get_table_names()))
    if missing:
        raise _backup_fail(
            "backup-not-therabill", f"not a therabill database: no table(s) {', '.join(missing)}"
        )
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision not in migrations.revisions():
        raise _backup_fail("backup-revision-unknown", f"the schema revision {revision!r} is unknown")
    session = Session(bind=conn)
    ids = tuple(str(p) for p in session.execute(select(practices.c.id).order_by(practices.c.id)).scalars())
    for pid in ids:
        report = verify_chain(session, pid)
        if not report.ok:
            raise _backup_fail(
                "backup-audit-chain-broken",
                f"the audit chain of practice {pid} breaks at row {report.first_bad_seq}: {report.reason}",
            )
    return _PgFacts(str(revision), ids, chain_heads(session), referral_files(session))


def _backup_postgres(
    engine: Engine, target: Path, passphrase: str | None, data_folder: Path | None
) -> Manifest:
    target = target.expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = pg_backup.exported_snapshot(conn)  # first statement: the transaction's snapshot
            facts = _examine_pg(conn)
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".therabill-") as tmp:
                archive = Path(tmp) / "database.dump"
                pg_backup.dump(engine, archive, snapshot)
                documents = collect_documents(data_folder)
                check_documents(facts.documents, documents)
                data = pack(archive.read_bytes(), documents)
    payload = seal(data, passphrase)
    manifest = Manifest(
        encrypted=bool(passphrase),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        revision=facts.revision,
        practices=facts.practices,
        audit_heads=facts.audit_heads,
        engine="postgresql",
        documents={name: hashlib.sha256(blob).hexdigest() for name, blob in documents.items()},
    )
    write_private(target, MAGIC + manifest.to_json() + b"\n" + payload)
    return manifest


def _facts_of(engine: Engine) -> _PgFacts:
    with engine.connect() as conn, conn.begin():
        return _examine_pg(conn)


def _restore_postgres(
    engine: Engine, source: Path, passphrase: str | None, *, replace_practices: bool, data_folder: Path | None
) -> Manifest:
    manifest, payload = read_manifest(source)
    if manifest.engine != "postgresql":
        raise _backup_fail(
            "backup-other-engine", f"the backup is of a {manifest.engine} database; restore it into one"
        )
    data, documents = unpack(manifest, unseal(manifest, payload, passphrase))
    with tempfile.TemporaryDirectory(prefix="therabill-restore-") as tmp:
        archive = Path(tmp) / "database.dump"
        write_private(archive, data)
        with pg_backup.scratch_database(engine) as scratch:
            pg_backup.pg_restore_into(scratch.url, archive, clean=False)
            tried = _facts_of(scratch)
        if tried.revision != manifest.revision or tried.audit_heads != manifest.audit_heads:
            raise _backup_fail("backup-manifest-mismatch", "the database copy does not match its manifest")
        if manifest.format >= 3:
            check_documents(tried.documents, documents)
        with engine.connect() as conn:
            live = (
                set(conn.execute(select(practices.c.id)).scalars())
                if inspect(conn).has_table("practices")
                else set()
            )
        lost = sorted(live - set(tried.practices))
        if lost and not replace_practices:
            raise _backup_fail(
                "backup-other-practice",
                f"the backup lacks {len(lost)} practice(s) of the live database; "
                "give --replace-practices to restore it anyway",
            )
        if data_folder is not None:  # first: a document the live database does not name is inert
            write_documents(data_folder, documents)
        engine.dispose()  # the live database is replaced in one transaction: all of it or nothing
        pg_backup.pg_restore_into(engine.url, archive, clean=True)
    after = _facts_of(engine)
    if after.audit_heads != manifest.audit_heads or after.revision != manifest.revision:
        raise _backup_fail("backup-restore-failed", "the restored database differs from the backup")
    analyze(engine)  # pg_restore leaves the planner's statistics to autovacuum
    return manifest


def copy(
    source_url: str | None, target_url: str, *, progress: Callable[[str, int], None] | None = None
) -> Transfer:
    """Copy every row of the database at ``source_url`` (default: the configured one) into the
    database at ``target_url``, brought to the newest schema first; one transaction, verified by
    every table's count, the ledger's counts and sums, the monthly totals and the audit heads
    (``adapters.db.transfer``); then the target's statistics are refreshed for its new rows."""
    source = make_engine(source_url)
    target = make_engine(target_url)
    try:
        migrations.upgrade(target)
        moved = copy_database(source, target, progress=progress)
        analyze(target)
        return moved
    finally:
        source.dispose()
        target.dispose()


def move_to_postgres(
    target_url: str, source_url: str | None = None, *, progress: Callable[[str, int], None] | None = None
) -> Transfer:
    """Copy a practice's SQLite database (default: the configured one) into PostgreSQL, verified
    as ``copy`` does; the SQLite file is only read.

    Raises:
        TherabillError: the source is not SQLite or the target not PostgreSQL
            (``db-transfer-wrong-engines``), or the copy was refused or failed its checks.
    """
    source_engine = make_engine(source_url)
    target_engine = make_engine(target_url)
    kinds = (source_engine.dialect.name, target_engine.dialect.name)
    source_engine.dispose()
    target_engine.dispose()
    if kinds != ("sqlite", "postgresql"):
        message = f"move-to-postgres copies SQLite into PostgreSQL, not {kinds[0]} into {kinds[1]}"
        raise TherabillError(message, (Problem("db-transfer-wrong-engines", "url", message),))
    return copy(source_url, target_url, progress=progress)
