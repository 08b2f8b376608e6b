"""The unit of work: one use case, one transaction, one practice.

``UnitOfWork(engine, practice_id, actor)`` opens a session; on a clean exit it appends the
use case's audit events and commits, on an exception it rolls back, so nothing is ever half
written. A write unit locks its practice row first (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite's ``BEGIN IMMEDIATE`` already holds the write lock), so two writers of one practice
run one after the other and a read-modify-write never loses an update.

``one_transaction(engine)`` runs several use cases as ONE transaction (the demo loader, an
import): inside it every ``UnitOfWork`` on that engine joins the outer session and runs in
a SAVEPOINT, so a use case that fails rolls back only its own changes, and an exception
leaving the block rolls back everything: nothing is left half loaded.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session, SessionTransaction

from therabill.adapters.db.engine import begin_session
from therabill.adapters.db.repositories import Records
from therabill.adapters.db.tables import practices
from therabill.clock import Clock, current_time
from therabill.domain.errors import NotFoundError, Problem
from therabill.service_layer import audit


class _Ambient:
    """The state of a ``one_transaction`` block: its session, checked practices, audit queue."""

    def __init__(self, engine: Engine, session: Session, savepoints: bool) -> None:
        self.engine = engine
        self.session = session
        self.savepoints = savepoints
        self.practices: set[str] = set()
        self.audit: list[tuple[str, str, list[audit.AuditEvent], datetime]] = []


_AMBIENT: ContextVar[_Ambient | None] = ContextVar("therabill_ambient_session", default=None)


@contextmanager
def one_transaction(
    engine: Engine, *, savepoints: bool = True, known_practices: Iterable[str] = (), read_only: bool = False
) -> Iterator[Session]:
    """Run the use cases called inside the block as one transaction on ``engine``.

    Commits when the block ends normally; rolls everything back when it raises. The audit
    events of the use cases are appended, in order, just before the commit. With
    ``savepoints`` (the default) each use case runs in its own SAVEPOINT, so one that fails
    undoes only itself; a caller that lets any failure end the block (a bulk loader) may
    turn them off and wrap only the calls whose failure it handles in ``attempt``.
    ``known_practices`` are practices the caller has just read from the database (a
    signed-in user's, through its role's foreign key): their units of work skip the check.
    ``read_only``: the use cases only read (a deferred transaction on SQLite, which never
    waits for a writer).
    """
    if _AMBIENT.get() is not None:
        raise RuntimeError("one_transaction blocks do not nest")
    session = begin_session(engine, read_only=read_only)
    state = _Ambient(engine, session, savepoints)
    state.practices.update(known_practices)
    token = _AMBIENT.set(state)
    try:
        yield session
        audit.append_many(session, state.audit)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _AMBIENT.reset(token)
        session.close()


@contextmanager
def attempt(engine: Engine) -> Iterator[None]:
    """Inside ``one_transaction``: undo the block's changes if it raises (a SAVEPOINT)."""
    state = _ambient(engine)
    if state is None:
        yield
        return
    savepoint = state.session.begin_nested()
    queued = len(state.audit)
    try:
        yield
    except BaseException:
        savepoint.rollback()
        del state.audit[queued:]
        raise
    savepoint.commit()


def _ambient(engine: Engine) -> _Ambient | None:
    found = _AMBIENT.get()
    return found if found is not None and found.engine is engine else None


def ambient_session(engine: Engine) -> Session | None:
    """The session of the enclosing ``one_transaction`` block on ``engine``, if any."""
    found = _ambient(engine)
    return found.session if found is not None else None


def system_actor() -> str:
    """The operating-system user, recorded as the actor of CLI commands."""
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):
        return "os:unknown"


_PRACTICE_CHECK = select(practices.c.id).where(practices.c.id == bindparam("practice_id"))
"""The practice check of every unit of work, built once (building and keying a statement costs
more than running this one)."""
_PRACTICE_LOCK = _PRACTICE_CHECK.with_for_update()
"""The same, locking the practice row (a write unit on PostgreSQL)."""


class UnitOfWork:
    """One transaction of one use case for one practice.

    Attributes:
        practice_id: the practice every query is scoped to.
        actor: who acts (``os:alice``, ``user:<id>``), recorded in the audit log.
        records: the practice-scoped repository (valid inside the ``with`` block).
        session: the SQLAlchemy session (valid inside the ``with`` block).
    """

    def __init__(
        self,
        engine: Engine,
        practice_id: str,
        actor: str,
        *,
        read_only: bool = False,
        clock: Clock = current_time,
    ) -> None:
        self._engine = engine
        self.practice_id = practice_id
        self.actor = actor
        self.read_only = read_only
        self.clock = clock
        self._events: list[audit.AuditEvent] = []
        self._savepoint: SessionTransaction | None = None
        self._ambient: _Ambient | None = None
        self.session: Session
        self.records: Records

    def __enter__(self) -> UnitOfWork:
        self._ambient = _ambient(self._engine)
        if self._ambient is not None:
            self.session = self._ambient.session
            if not self.read_only and self._ambient.savepoints:
                self._savepoint = self.session.begin_nested()
            if self.practice_id in self._ambient.practices:
                self.records = Records(self.session, self.practice_id, remember=self.read_only)
                return self
        else:
            self.session = begin_session(self._engine, read_only=self.read_only)
        try:
            lock = not self.read_only and self._engine.dialect.name == "postgresql"
            query = _PRACTICE_LOCK if lock else _PRACTICE_CHECK
            if self.session.execute(query, {"practice_id": self.practice_id}).first() is None:
                raise NotFoundError(
                    "no such practice",
                    (Problem("practice-not-found", "practice", f"no practice {self.practice_id!r}"),),
                )
        except BaseException:
            self._end(commit=False)
            raise
        if self._ambient is not None:
            self._ambient.practices.add(self.practice_id)
        self.records = Records(self.session, self.practice_id, remember=self.read_only)
        return self

    def record(
        self, action: str, object_type: str, object_id: str | None, details: dict[str, Any] | None = None
    ) -> None:
        """Queue an audit event; it is written at commit, in this transaction."""
        self._events.append(audit.AuditEvent(action, object_type, object_id, details))

    def now(self) -> datetime:
        """This unit's clock."""
        return self.clock()

    def _end(self, *, commit: bool) -> None:
        if self._ambient is not None:
            if commit and not self.read_only:
                if self._savepoint is not None:
                    self._savepoint.commit()
                self._ambient.audit.append((self.practice_id, self.actor, self._events, self.now()))
            elif self._savepoint is not None:
                self._savepoint.rollback()
            return
        try:
            if commit:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and not self.read_only and self._ambient is None:
            try:
                audit.append(self.session, self.practice_id, self.actor, self._events, self.now())
            except BaseException:
                self._end(commit=False)
                raise
            self._end(commit=True)
        elif exc_type is None and not self.read_only:
            self._end(commit=True)
        else:
            self._end(commit=False)
