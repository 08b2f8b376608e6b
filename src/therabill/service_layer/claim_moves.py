"""Claim status moves of one transaction, written together (posting a remittance, a batch).

``ClaimMoves`` applies ``claim_status``'s rules to many claims at once: the same transition
check (``check_claim_transition``, refused before anything is queued), the same columns set
(the status, ``updated_at`` and the caller's values in one update), the same status-history
event (the claim's next sequence number, the claim's findings unless given) and the same audit
row. What changes is when it is written: the claims' current state is kept as the moves leave
it, and ``flush`` writes every queued update and event with a few statements (the sequence
numbers of all the claims read in one query, the updates and the events each sent together),
instead of four statements per claim. On PostgreSQL the claims that set the same columns are
updated by one statement (``UPDATE ... FROM unnest(...)``, each column one array) and the events written by one
``COPY`` (``bulk.insert_rows``), so the statement-level triggers that keep the trend
totals (``trend_totals``) run once for them all; on SQLite one statement is run
for each claim's values (its triggers are row triggers anyway). Either way the claims are
updated in the order of their ids. Nothing is written before ``flush``; the caller flushes
before anything else reads or writes those claims, and always before its transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Row, bindparam, column, func, select, values

from therabill.adapters.db import bulk
from therabill.adapters.db.tables import claim_status_events, claims
from therabill.domain.ledger import new_id
from therabill.domain.records import check_claim_transition
from therabill.service_layer.uow import UnitOfWork

__all__ = ["ClaimMoves"]

_KEPT = ("id", "status", "findings", "payer_claim_control_number", "claim_number")
"""The columns of a claim a move reads."""

_TOGETHER = 2_000
"""At most this many claims in one update statement (PostgreSQL binds at most 65,535 values)."""


class ClaimState:
    """A claim as the queued moves leave it (the columns a move reads)."""

    __slots__ = _KEPT

    id: str
    status: str
    findings: Any
    payer_claim_control_number: str | None
    claim_number: str

    def __init__(self, row: Any) -> None:
        for name in _KEPT:
            setattr(self, name, getattr(row, name, None))


class ClaimMoves:
    """The status moves and claim updates of one transaction, queued and written by ``flush``."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._state: dict[str, ClaimState] = {}
        self._updates: dict[str, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._seq: dict[str, int] = {}

    def know(self, rows: Iterable[Row[Any]]) -> None:
        """Claims read (locked) in this transaction: their state, unless a move changed it since."""
        for row in rows:
            if row.id not in self._state:
                self._state[row.id] = ClaimState(row)

    def claim(self, claim_id: str) -> ClaimState:
        """The claim as the queued moves leave it (read for update when not known yet).

        Raises:
            NotFoundError: no such claim in the practice.
        """
        found = self._state.get(claim_id)
        if found is None:
            found = self._state[claim_id] = ClaimState(
                self._uow.records.get(claims, claim_id, for_update=True)
            )
        return found

    def set_values(self, claim_id: str, **values: Any) -> None:
        """Queue columns of the claim to set (no status move, no event)."""
        state = self.claim(claim_id)
        for name, value in values.items():
            if name in _KEPT:
                setattr(state, name, value)
        self._updates.setdefault(claim_id, {}).update(values)

    def move(
        self, claim_id: str, new_status: str, *, findings: Any = None, note: str | None = None, **values: Any
    ) -> None:
        """Queue the claim's move to ``new_status`` with its event and audit row (``values``:
        other columns set in the same update), as ``claim_status.set_status_in`` does.

        Raises:
            TransitionError: the life cycle does not allow the move (nothing is queued).
        """
        state = self.claim(claim_id)
        old = state.status
        nxt = check_claim_transition(old, new_status)
        event_findings = findings if findings is not None else state.findings
        self.set_values(claim_id, status=nxt.value, updated_at=self._uow.now(), **values)
        self.event(claim_id, nxt.value, findings=event_findings, note=note)
        self._uow.record("claim.status", "claim", claim_id, {"from": old, "to": nxt.value})

    def event(self, claim_id: str, status: str, *, findings: Any = None, note: str | None = None) -> None:
        """Queue an event in the claim's status history without a move (a claim's first events)."""
        self._events.append(
            {
                "id": new_id(),
                "claim_id": claim_id,
                "status": status,
                "at": self._uow.now(),
                "actor": self._uow.actor,
                "note": note,
                "findings": findings,
            }
        )

    def flush(self) -> None:
        """Write the queued updates and events (each claim's events numbered after its history)."""
        self._write_updates()
        self._write_events()

    def forget(self) -> None:
        """Drop what is known of the claims (after other code changed them); flush first."""
        self.flush()
        self._state, self._seq = {}, {}

    def _write_updates(self) -> None:
        updates, self._updates = self._updates, {}
        if len(updates) == 1:
            ((claim_id, changed),) = updates.items()
            self._uow.records.update(claims, claim_id, **changed)
            return
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for claim_id in sorted(updates):  # the claims' rows in one order whatever the writer
            changed = updates[claim_id]
            groups.setdefault(tuple(sorted(changed)), []).append({"_id": claim_id, **changed})
        together = self._one_statement()
        for names, rows in groups.items():
            if together and len(rows) > 1:
                self._update_together(names, rows)
                continue
            stmt = (
                claims.update()
                .where(claims.c.id == bindparam("_id"), claims.c.practice_id == self._uow.practice_id)
                .values({name: bindparam(f"_v_{name}") for name in names})
            )
            self._uow.session.execute(
                stmt, [{"_id": r["_id"], **{f"_v_{k}": r[k] for k in names}} for r in rows]
            )

    def _one_statement(self) -> bool:
        """Whether many rows are written by one statement: on PostgreSQL (a unit of work over no
        database, as the unit tests use, writes row by row)."""
        bound = getattr(self._uow, "session", None)
        return bound is not None and bound.get_bind().dialect.name == "postgresql"

    def _update_together(self, names: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        """One ``UPDATE claims ... FROM unnest(...)`` for the claims that set the same columns
        (PostgreSQL: the statement-level triggers of ``trend_totals`` then run once for them all),
        by ``bulk.update_rows``; a JSON column (no array of it is bound) is sent in a ``VALUES``
        list instead."""
        if any(isinstance(claims.c[n].type, JSON) for n in names):
            for start in range(0, len(rows), _TOGETHER):
                part = rows[start : start + _TOGETHER]
                listed = values(
                    column("_id", claims.c.id.type),
                    *(column(n, claims.c[n].type) for n in names),
                    name="moved",
                ).data([(r["_id"], *(r[n] for n in names)) for r in part])
                self._uow.session.execute(_update_from(listed, names, self._uow.practice_id))
            return
        practice_id = self._uow.practice_id
        bulk.update_rows(
            self._uow.session,
            claims,
            [{"id": r["_id"], "practice_id": practice_id, **{n: r[n] for n in names}} for r in rows],
            ("id", "practice_id"),
        )

    def _counted(self, claim_ids: list[str]) -> dict[str, int]:
        """Claim id → the number of events in its history."""
        ev = claim_status_events
        found = self._uow.session.execute(
            select(ev.c.claim_id, func.count())
            .where(
                ev.c.practice_id == self._uow.practice_id,
                bulk.among(ev.c.claim_id, claim_ids, "claim_ids", self._uow.session.get_bind().dialect.name),
            )
            .group_by(ev.c.claim_id)
        )
        return {str(c): int(n) for c, n in found}

    def _write_events(self) -> None:
        events, self._events = self._events, []
        if not events:
            return
        unknown = sorted({e["claim_id"] for e in events} - set(self._seq))
        if len(unknown) == 1:
            self._seq[unknown[0]] = len(self._uow.records.status_history(unknown[0]))
        elif unknown:
            counted = self._counted(unknown)
            self._seq.update({claim_id: int(counted.get(claim_id, 0)) for claim_id in unknown})
        for e in events:
            self._seq[e["claim_id"]] += 1
            e["seq"] = self._seq[e["claim_id"]]
        if len(events) > 1 and self._one_statement():  # one COPY: its statement triggers run once
            bulk.insert_rows(
                self._uow.session,
                claim_status_events,
                [{**e, "practice_id": self._uow.practice_id} for e in events],
            )
            return
        self._uow.records.insert_many(claim_status_events, events)


def _update_from(given: Any, names: tuple[str, ...], practice_id: str) -> Any:
    """``UPDATE claims SET name = given.name ... FROM given`` for the claims of ``given._id``."""
    return (
        claims.update()
        .where(claims.c.id == given.c._id, claims.c.practice_id == practice_id)
        .values({n: given.c[n] for n in names})
    )
