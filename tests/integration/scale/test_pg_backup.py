"""``therabill backup`` / ``restore`` on PostgreSQL (pg_dump / pg_restore): the round trip keeps
every count, sum and audit head; a restore is refused before the live database is touched
when the file is altered, encrypted with another passphrase, of another engine, or lacks a
live practice. Real PostgreSQL and its client tools (fail under CI when missing)."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from tests.conftest import require
from tests.integration.db.builders import ACTOR, a_practice, a_visit
from tests.integration.db.conftest import PgDatabases, pg_available
from tests.integration.scale.conftest import not_analyzed
from therabill.adapters.db import migrations
from therabill.adapters.db.backup import BackupError, read_manifest
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.transfer import Facts, facts
from therabill.entrypoints.cli.main import app
from therabill.service_layer import database
from therabill.service_layer import patients as rec

runner = CliRunner()


def _url(engine: Engine) -> str:
    return make_url(engine.url).render_as_string(hide_password=False)


def _facts(engine: Engine) -> Facts:
    with engine.connect() as conn:
        return facts(conn)


@pytest.fixture
def live(pg_databases: PgDatabases) -> Iterator[Engine]:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    require("pg_dump and pg_restore", bool(shutil.which("pg_dump") and shutil.which("pg_restore")))
    engine = pg_databases.new()
    migrations.upgrade(engine)
    p = a_practice(engine)
    a_visit(p)
    yield engine


def test_pg_backup_restore_round_trip(live: Engine, tmp_path: Path) -> None:
    """Encrypted here; the command-line test below makes a plain one."""
    passphrase = "correct horse battery staple"
    before = _facts(live)
    target = tmp_path / "pg.tbk"
    manifest = database.backup(target, passphrase, url=_url(live))
    assert manifest.engine == "postgresql" and len(manifest.practices) == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert read_manifest(target)[0] == manifest
    assert b"Miller" not in target.read_bytes() and b"PGDMP" not in target.read_bytes()
    pid = manifest.practices[0]
    # after the backup: a new patient the restore must take away again
    rec.register_patient(live, pid, ACTOR, chart_number="P-LATE", first_name="Late", last_name="Comer")
    assert _facts(live) != before
    with pytest.raises(BackupError) as err:
        database.restore(target, "wrong", url=_url(live))
    assert err.value.problems[0].code == "backup-passphrase-wrong"
    restored = database.restore(target, passphrase, url=_url(live))
    assert restored == manifest
    assert _facts(live) == before
    assert [x.chart_number for x in rec.list_patients(live, pid, ACTOR)] == ["P-0101"]
    assert database.check(live, tmp_path / "anchor").ok
    assert not_analyzed(live) == []  # the restored tables have statistics for the planner


def test_pg_restore_refusals_leave_the_live_database_unchanged(
    live: Engine, pg_databases: PgDatabases, tmp_path: Path
) -> None:
    target = tmp_path / "pg.tbk"
    database.backup(target, url=_url(live))
    other = pg_databases.new()  # a live database with a practice the backup lacks
    migrations.upgrade(other)
    a_practice(other)
    kept = _facts(other)
    with pytest.raises(BackupError) as err:
        database.restore(target, url=_url(other))
    assert err.value.problems[0].code == "backup-other-practice"
    assert _facts(other) == kept

    cut = tmp_path / "cut.tbk"  # cut short
    cut.write_bytes(target.read_bytes()[:-100])
    with pytest.raises(BackupError) as err:
        database.restore(cut, url=_url(other), replace_practices=True)
    assert err.value.problems[0].code == "backup-checksum-mismatch"
    assert _facts(other) == kept

    sqlite_backup = tmp_path / "sqlite.tbk"  # a SQLite backup is not restored into PostgreSQL
    small = make_engine(f"sqlite:///{tmp_path / 'small.sqlite3'}")
    migrations.upgrade(small)
    small.dispose()
    database.backup(sqlite_backup, url=f"sqlite:///{tmp_path / 'small.sqlite3'}")
    with pytest.raises(BackupError) as err:
        database.restore(sqlite_backup, url=_url(other), replace_practices=True)
    assert err.value.problems[0].code == "backup-other-engine"
    assert _facts(other) == kept

    database.restore(target, url=_url(other), replace_practices=True)  # asked for: replaced
    assert _facts(other) == _facts(live)


def test_pg_backup_refuses_a_broken_audit_chain(live: Engine, tmp_path: Path) -> None:
    with live.begin() as conn:  # someone with database access rewrites an audit row
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1"))
    with pytest.raises(BackupError) as err:
        database.backup(tmp_path / "pg.tbk", url=_url(live))
    assert err.value.problems[0].code == "backup-audit-chain-broken"
    assert not (tmp_path / "pg.tbk").exists()


def test_backup_and_restore_commands_on_postgresql(live: Engine, tmp_path: Path) -> None:
    before = _facts(live)
    target = tmp_path / "cli.tbk"
    env = {"THERABILL_DATABASE_URL": _url(live), "THERABILL_DATA_DIR": str(tmp_path / "data")}
    r = runner.invoke(app, ["backup", str(target)], env=env)
    assert r.exit_code == 0, r.output
    assert b"PGDMP" in target.read_bytes()  # not encrypted: the pg_dump archive follows the manifest
    r = runner.invoke(app, ["restore", str(target)], env=env)
    assert r.exit_code == 0, r.output
    assert _facts(live) == before
