"""PostgreSQL backups with PostgreSQL's own tools: ``pg_dump`` and ``pg_restore``.

The backup file has the same shape as a SQLite backup (``adapters.db.backup``: magic line,
JSON manifest, payload, optionally encrypted), with ``engine: postgresql`` in the manifest
and a ``pg_dump`` archive (custom format) as the database copy.

``dump`` runs ``pg_dump --snapshot`` on a snapshot the caller exported from an open
REPEATABLE READ transaction (``exported_snapshot``), so the facts the caller reads in that
transaction (revision, practices, audit heads) describe exactly the rows in the archive.

``scratch_database`` makes a throw-away database on the same server (the role needs
CREATEDB), where a restore is first tried and checked before the live database is touched;
``pg_restore_into`` then replaces the live content in ONE transaction (``--single-transaction
--clean --if-exists --exit-on-error``): all of it, or nothing.

The password of the URL is handed to the tools in ``PGPASSWORD``, never on the command line.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from therabill.adapters.db.backup import BackupError
from therabill.adapters.db.engine import make_engine
from therabill.config import child_environment
from therabill.domain.errors import Problem

TOOL_TIMEOUT_SECONDS = 6 * 3600


def _fail(code: str, message: str) -> BackupError:
    return BackupError(message, (Problem(code, "backup", message),))


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it."""
    env = child_environment(**({"PGPASSWORD": str(url.password)} if url.password else {}))
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise _fail("backup-tool-missing", f"{name} is not installed (Debian: postgresql-client)")
    return found


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise _fail(
            "backup-tool-failed", f"{Path(args[0]).name} failed (exit {done.returncode}): {last[:300]}"
        )


def exported_snapshot(conn: Connection) -> str:
    """Export the snapshot of ``conn``'s open transaction (start it REPEATABLE READ)."""
    return str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())


def dump(engine: Engine, target: Path, snapshot: str) -> None:
    """``pg_dump`` the database of ``engine`` as of ``snapshot`` into ``target`` (custom format)."""
    uri, env = _libpq(engine.url)
    _run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            f"--snapshot={snapshot}",
            "--file",
            str(target),
            uri,
        ],
        env,
    )


def pg_restore_into(url: URL, archive: Path, *, clean: bool) -> None:
    """Restore ``archive`` into the database at ``url`` in one transaction (all or nothing);
    ``clean`` drops the archive's objects first."""
    uri, env = _libpq(url)
    args = [_tool("pg_restore"), "--exit-on-error", "--single-transaction", "--no-owner"]
    if clean:
        args += ["--clean", "--if-exists"]
    _run([*args, "--dbname", uri, str(archive)], env)


def _admin(engine: Engine) -> Engine:
    return create_engine(
        engine.url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


@contextmanager
def scratch_database(engine: Engine) -> Iterator[Engine]:
    """A new, empty database on the server of ``engine``, dropped at the end."""
    name = f"therabill_restore_{uuid.uuid4().hex[:12]}"
    admin = _admin(engine)
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001 - any refusal is reported as one clear problem
            raise _fail(
                "backup-scratch-refused",
                "a restore is first checked in a new database on the same server; the role needs "
                f"CREATEDB ({type(exc).__name__})",
            ) from None
        scratch = make_engine(make_url(engine.url).set(database=name).render_as_string(hide_password=False))
        try:
            yield scratch
        finally:
            scratch.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
