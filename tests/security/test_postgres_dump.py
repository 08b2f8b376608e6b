"""Finding 1 on PostgreSQL: the documented pg_dump / pg_restore procedure (docs/storage.md)
with the same checks as ``therabill restore``: restore into a NEW database, then
``therabill db check`` (known schema revision, every audit chain verifies and reaches the
anchored head) before the application is pointed at it; the live database is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from tests.conftest import require
from tests.integration.db.builders import a_practice, a_visit
from tests.integration.db.conftest import PgDatabases, pg_available
from therabill.adapters.db import migrations
from therabill.entrypoints.cli.main import app

runner = CliRunner()


def _libpq(engine: Engine) -> str:
    return make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def live(pg_databases: PgDatabases) -> Iterator[Engine]:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    require("pg_dump and pg_restore", bool(shutil.which("pg_dump") and shutil.which("pg_restore")))
    engine = pg_databases.new()
    migrations.upgrade(engine)
    p = a_practice(engine)
    a_visit(p)
    yield engine


def _check(url: str, data_dir: Path, *extra: str) -> Result:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATABASE_URL", url)
        mp.setenv("THERABILL_DATA_DIR", str(data_dir))
        return runner.invoke(app, ["db", "check", *extra])


def _dump_and_restore(source: Engine, pg_databases: PgDatabases, tmp_path: Path) -> Engine:
    dump = tmp_path / "practice.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), _libpq(source)], check=True)
    assert dump.stat().st_size > 0
    target = pg_databases.new()
    subprocess.run(
        ["pg_restore", "--exit-on-error", "--no-owner", "--dbname", _libpq(target), str(dump)], check=True
    )
    return target


def test_restored_dump_passes_db_check(live: Engine, pg_databases: PgDatabases, tmp_path: Path) -> None:
    anchor_dir = tmp_path / "data"
    assert _check(_libpq(live), anchor_dir).exit_code == 0  # anchors the live heads
    restored = _dump_and_restore(live, pg_databases, tmp_path)
    r = _check(_libpq(restored), anchor_dir)
    assert r.exit_code == 0, r.output


def test_truncated_audit_in_a_dump_is_caught_before_use(
    live: Engine, pg_databases: PgDatabases, tmp_path: Path
) -> None:
    anchor_dir = tmp_path / "data"
    assert _check(_libpq(live), anchor_dir).exit_code == 0
    with live.begin() as conn:  # someone with database access cuts the chain's end
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 2 FROM audit_log)"))
    restored = _dump_and_restore(live, pg_databases, tmp_path)
    r = _check(_libpq(restored), anchor_dir)
    assert r.exit_code == 1 and "rows-removed" in r.output, r.output


def test_dump_of_another_database_is_refused(pg_databases: PgDatabases, tmp_path: Path) -> None:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    foreign = pg_databases.new()
    with foreign.begin() as conn:
        conn.execute(text("CREATE TABLE things (x int)"))
    restored = _dump_and_restore(foreign, pg_databases, tmp_path)
    r = _check(_libpq(restored), tmp_path / "data")
    assert r.exit_code == 1 and "not a therabill database" in r.output
