"""Engines and sessions: SQLite by default, PostgreSQL when ``THERABILL_DATABASE_URL`` says so.

SQLite is set up for durability and for several writers: WAL journal, ``synchronous=FULL``
(commits survive a power loss, not only a process crash), foreign keys on, a busy timeout
of ``BUSY_TIMEOUT_MS`` and ``BEGIN IMMEDIATE`` for every write transaction, so a second
writer waits for the first instead of failing halfway through with "database is locked".
The driver runs in autocommit mode and SQLAlchemy's ``begin`` event issues the ``BEGIN``.

Every new pooled connection is checked: when a setting did not take (a read-only file
system, a server with ``fsync`` off), the engine refuses it with ``UnsafeDatabaseError``,
unless ``THERABILL_ALLOW_UNSAFE_DB=1`` is set, which is meant for throw-away databases.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import Session, sessionmaker

from therabill import config
from therabill.config import database_url
from therabill.domain.errors import Problem, TherabillError

BUSY_TIMEOUT_MS = 15_000
"""How long a SQLite writer waits for another writer before giving up (milliseconds)."""

SQLITE_PRAGMAS = {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}
POSTGRES_SETTINGS = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on"}

READ_ONLY = "therabill_read_only"
"""Execution option: ``True`` opens a deferred (read) transaction on SQLite."""

ONE_STATEMENT = "therabill_one_statement"
"""Execution option (``one_read_statement``): no ``BEGIN`` on SQLite, where a lone statement is
a transaction of its own."""


class UnsafeDatabaseError(TherabillError):
    """The database is not configured to keep committed data (see ``docs/storage.md``)."""

    code = "db-unsafe-settings"


class DatabaseUrlError(TherabillError):
    """The database URL names an engine therabill does not support."""

    code = "db-url-unsupported"


def _unsafe_allowed() -> bool:
    return config.current().allow_unsafe_db


def _refuse(what: str, settings: dict[str, Any]) -> None:
    if _unsafe_allowed():
        return
    problems = tuple(Problem("db-unsafe-settings", k, f"{k} is {v!r}") for k, v in settings.items())
    raise UnsafeDatabaseError(f"{what} is not set up to keep committed data", problems)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # autocommit driver; BEGIN is issued by the begin event
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        found = {name: cur.execute(f"PRAGMA {name}").fetchone()[0] for name in SQLITE_PRAGMAS}
        timeout = cur.execute("PRAGMA busy_timeout").fetchone()[0]
    finally:
        cur.close()
    wrong = {k: v for k, v in found.items() if str(v).lower() != str(SQLITE_PRAGMAS[k])}
    if timeout < 5000:
        wrong["busy_timeout"] = timeout
    if wrong:
        _refuse("the SQLite database", wrong)


def _sqlite_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get(ONE_STATEMENT):
        return  # the driver is in autocommit mode: the one statement is its own transaction
    conn.exec_driver_sql(f"BEGIN {'DEFERRED' if options.get(READ_ONLY) else 'IMMEDIATE'}")


def _postgres_connect(dbapi_conn: Any, _record: Any) -> None:
    found: dict[str, Any] = {}
    with dbapi_conn.cursor() as cur:
        for name in POSTGRES_SETTINGS:
            cur.execute(f"SHOW {name}")
            found[name] = cur.fetchone()[0]
    # psycopg opens a transaction for the SHOW statements; end it before the pool hands it out.
    dbapi_conn.rollback()
    wrong = {k: v for k, v in found.items() if v != POSTGRES_SETTINGS[k]}
    if wrong:
        _refuse("the PostgreSQL server", wrong)


def _private_sqlite_file(database: str) -> None:
    """Create the SQLite file readable by its owner only (0600), in a folder of mode 0700 when new.

    SQLite gives its ``-wal`` and ``-shm`` files the main file's mode, so they are private too.
    An existing file (and its companions) of this user is tightened to 0600.
    """
    if database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if each.exists() and each.stat().st_uid == os.getuid() and each.stat().st_mode & 0o077:
                each.chmod(0o600)
        except OSError:
            pass


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: ``therabill.config.database_url()``), set up for safety.

    Args:
        url: a SQLAlchemy URL; ``postgresql://`` is read as ``postgresql+psycopg://``.
        **kwargs: passed to ``create_engine`` (``echo``, pool sizes).

    Raises:
        DatabaseUrlError: the URL is neither SQLite nor PostgreSQL.
    """
    raw = url or database_url()
    parsed = make_url(raw)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise DatabaseUrlError(
                "an in-memory SQLite database cannot be shared by sessions; use a file",
                (Problem("db-url-unsupported", "url", "use sqlite:///path/to/file.sqlite3"),),
            )
        _private_sqlite_file(parsed.database)
        kwargs.setdefault("hide_parameters", True)
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("hide_parameters", True)
        # No JIT compilation: the application's statements are short, and on a large practice
        # their cost estimates make PostgreSQL compile them, which takes longer (0.5-2.4 s) than
        # running them.
        kwargs.setdefault("connect_args", {"options": "-c jit=off"})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _postgres_connect)
        return engine
    raise DatabaseUrlError(
        f"unsupported database {backend!r}",
        (Problem("db-url-unsupported", "THERABILL_DATABASE_URL", "use sqlite:/// or postgresql://"),),
    )


def is_sqlite(engine: Engine) -> bool:
    """True for a SQLite engine."""
    return engine.dialect.name == "sqlite"


_FACTORIES = "_therabill_session_factories"


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """A session factory; ``read_only`` sessions open deferred transactions on SQLite (bound to
    an engine made with the option: fine for a command's few reads; a request's units of work
    use ``begin_session``, which sets the option on the connection instead).

    Made once per engine and kind: a ``sessionmaker`` defines a new ``Session`` subclass, whose
    event set-up cost more CPU than many a query when it was made for every unit of work. The
    factories are kept on the engine itself, so they go when it goes.
    """
    made: dict[bool, sessionmaker[Session]] | None = engine.__dict__.get(_FACTORIES)
    if made is None:
        made = {}
        setattr(engine, _FACTORIES, made)
    factory = made.get(read_only)
    if factory is None:
        bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
        factory = made[read_only] = sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)
    return factory


@contextmanager
def one_read_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for exactly one read statement (a sign-in lookup on every request).

    On SQLite the driver is in autocommit mode, so the statement runs as a transaction of its
    own and no ``BEGIN``/``COMMIT`` pair is sent around it; on PostgreSQL it runs in a read
    transaction as usual, rolled back when the block ends. A second statement in the block
    would run in a transaction of its own on SQLite: read it in ``engine.begin()`` instead.
    The options are set on the connection, not on an engine made with them (each statement on
    such an engine costs more: its events are looked up on it and on the engine it came from).
    """
    with engine.connect() as conn:
        conn.execution_options(**_ONE_STATEMENT_OPTIONS)
        yield conn


_ONE_STATEMENT_OPTIONS = {READ_ONLY: True, ONE_STATEMENT: True}


def begin_session(engine: Engine, *, read_only: bool = False) -> Session:
    """A new session of ``engine`` with its transaction begun; ``read_only`` on SQLite: a
    deferred transaction, which never waits for a writer.

    The session is bound to ``engine`` itself and the read-only option set on its connection
    (``session_factory(read_only=True)`` binds to an engine made with the option, whose every
    statement costs more).
    """
    session = session_factory(engine)()
    session.begin()
    if read_only and is_sqlite(engine):
        session.connection(execution_options=_READ_ONLY_OPTIONS)  # BEGIN DEFERRED
    return session


_READ_ONLY_OPTIONS = {READ_ONLY: True}


def durability_settings(engine: Engine) -> dict[str, Any]:
    """The durability settings a connection of ``engine`` actually has (for ``db check``)."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            names = [*SQLITE_PRAGMAS, "busy_timeout"]
            return {n: conn.exec_driver_sql(f"PRAGMA {n}").scalar() for n in names}
        return {n: conn.exec_driver_sql(f"SHOW {n}").scalar() for n in POSTGRES_SETTINGS}


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics of every table (``ANALYZE``), as after loading many rows
    at once: a table's statistics are otherwise those of before the load until autovacuum gets
    to it, and a plan made for a table the statistics call nearly empty can read it whole for
    every value of a list. PostgreSQL samples each table (seconds at a million visits); SQLite
    rebuilds ``sqlite_stat1``, which its planner reads to choose the covering indexes."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
