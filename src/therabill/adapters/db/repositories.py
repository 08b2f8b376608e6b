"""The practice-scoped repository: every query filters on the practice it was made for.

``Records(session, practice_id)`` is the only way the service layer reads or writes
practice data. A lookup of an id that belongs to another practice finds nothing, exactly
like an id that does not exist (``NotFoundError``), so ids cannot be probed across practices.
Inserts set ``practice_id`` themselves; callers cannot pass another practice's id.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, Select, Table, bindparam, func, select
from sqlalchemy.orm import Session

from therabill.adapters.db import mappers, visits_to_bill
from therabill.adapters.db.tables import (
    authorizations,
    claim_lines,
    claim_status_events,
    claims,
    coverages,
    patients,
    visit_notes,
    visits,
)
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.records import ClaimSummary, PatientRecord


def new_id() -> str:
    """A new opaque id: 32 random hex characters (128 bits)."""
    return secrets.token_hex(16)


@functools.cache
def _by_id(table: Table, for_update: bool) -> Select[Any]:
    """``SELECT * FROM table WHERE practice_id = :_practice AND id = :_id``, built once per table
    (building and keying a statement costs more than running a lookup by key)."""
    query = select(table).where(table.c.practice_id == bindparam("_practice"), table.c.id == bindparam("_id"))
    return query.with_for_update() if for_update else query


class Records:
    """Reads and writes of one practice's records.

    Attributes:
        session: the unit of work's session.
        practice_id: the practice every statement is scoped to.
        memo: with ``remember=True`` (a read-only unit of work), the rows ``get`` and ``find``
            read by id, kept for this object's life, so that a use case that builds several
            things from the same patient, payer or provider reads each once; any write through
            this object empties it. Never shared: one object serves one practice's one unit of
            work.
    """

    def __init__(self, session: Session, practice_id: str, *, remember: bool = False) -> None:
        self.session = session
        self.practice_id = practice_id
        self.memo: dict[tuple[str, str], Row[Any] | None] | None = {} if remember else None

    # -- generic, always scoped ------------------------------------------------------------
    def scoped(self, table: Table) -> Select[Any]:
        """``SELECT * FROM table WHERE practice_id = <this practice>``."""
        return select(table).where(table.c.practice_id == self.practice_id)

    def find(self, table: Table, id_: str) -> Row[Any] | None:
        """The row with ``id_`` in this practice, or ``None``."""
        memo = self.memo
        if memo is not None:
            key = (table.name, id_)
            if key in memo:
                return memo[key]
        row = self.session.execute(_by_id(table, False), {"_practice": self.practice_id, "_id": id_}).first()
        if memo is not None:
            memo[key] = row
        return row

    def get(self, table: Table, id_: str, *, for_update: bool = False) -> Row[Any]:
        """The row with ``id_`` in this practice; ``NotFoundError`` otherwise."""
        if for_update:
            row = self.session.execute(
                _by_id(table, True), {"_practice": self.practice_id, "_id": id_}
            ).first()
        else:
            row = self.find(table, id_)
        if row is None:
            kind = table.name.rstrip("s")
            raise NotFoundError(
                f"no such {kind}", (Problem(f"{kind}-not-found", kind, f"no {kind} {id_!r}"),)
            )
        return row

    def insert(self, table: Table, **values: Any) -> str:
        """Insert a row of this practice; returns its new id. A visit gets its ``awaiting_claim``
        from its document; a claim clears it on its visit (``visits_to_bill``)."""
        self._forget()
        values.pop("practice_id", None)
        row_id = values.pop("id", None) or new_id()
        if table is visits:
            visits_to_bill.visit_written(self.session, self.practice_id, values, None)
        self.session.execute(table.insert().values(id=row_id, practice_id=self.practice_id, **values))
        if table is claims:
            visits_to_bill.claim_inserted(self.session, self.practice_id, values.get("visit_id"))
        return str(row_id)

    def insert_many(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        """Insert several rows of this practice (each needs its ``id``), as ``insert`` does."""
        self._forget()
        batch = [{**r, "practice_id": self.practice_id} for r in rows]
        if table is visits:
            for r in batch:
                visits_to_bill.visit_written(self.session, self.practice_id, r, None)
        if batch:
            self.session.execute(table.insert(), batch)
        if table is claims:
            for visit_id in dict.fromkeys(r.get("visit_id") for r in batch):
                visits_to_bill.claim_inserted(self.session, self.practice_id, visit_id)

    def update(self, table: Table, id_: str, **values: Any) -> None:
        """Update the row ``id_`` of this practice; ``NotFoundError`` when it is not there. A
        visit given a new document gets its ``awaiting_claim`` again (``visits_to_bill``)."""
        self._forget()
        if table is visits:
            visits_to_bill.visit_written(self.session, self.practice_id, values, id_)
        result = self.session.execute(
            table.update().where(table.c.id == id_, table.c.practice_id == self.practice_id).values(**values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFoundError("no such record", (Problem("not-found", table.name, f"no row {id_!r}"),))

    def _forget(self) -> None:
        if self.memo:
            self.memo.clear()

    def rows(self, table: Table, *where: Any, order_by: Sequence[Any] = ()) -> list[Row[Any]]:
        """All rows of this practice matching ``where``."""
        return list(self.session.execute(self.scoped(table).where(*where).order_by(*order_by)).all())

    # -- patients --------------------------------------------------------------------------
    def patient(self, patient_id: str) -> PatientRecord:
        """One patient."""
        return mappers.patient_to_domain(self.get(patients, patient_id))

    def add_patient(self, record: PatientRecord, created_at: Any) -> str:
        """Store a new patient record."""
        row = mappers.patient_to_row(record)
        row["created_at"] = created_at
        return self.insert(patients, **row)

    def patients(self) -> list[PatientRecord]:
        """Every patient, by last name, first name, chart number."""
        found = self.rows(
            patients, order_by=(patients.c.last_name, patients.c.first_name, patients.c.chart_number)
        )
        return [mappers.patient_to_domain(r) for r in found]

    def patients_by_id(self, ids: Iterable[str | None]) -> dict[str, PatientRecord]:
        """The patients of ``ids`` (``None`` and unknown ids left out), patient id → patient: the
        names a page shows for its rows, without reading every patient of the practice."""
        wanted = sorted({i for i in ids if i})
        found: dict[str, PatientRecord] = {}
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            for row in self.session.execute(self.scoped(patients).where(patients.c.id.in_(chunk))):
                found[row.id] = mappers.patient_to_domain(row)
        return found

    def coverages_of(self, patient_id: str) -> list[Row[Any]]:
        """The patient's coverages, primary first."""
        order = {"primary": 1, "secondary": 2, "tertiary": 3}
        found = self.rows(coverages, coverages.c.patient_id == patient_id)
        return sorted(found, key=lambda r: (order.get(r.sequence, 9), r.created_at))

    def authorizations_of(self, coverage_id: str) -> list[Row[Any]]:
        """The coverage's authorizations."""
        return self.rows(
            authorizations,
            authorizations.c.coverage_id == coverage_id,
            order_by=[authorizations.c.start_date],
        )

    # -- visits ----------------------------------------------------------------------------
    def latest_note_version(self, visit_id: str) -> int:
        """The newest note version of a visit (0 when none)."""
        found = self.session.execute(
            select(func.max(visit_notes.c.version)).where(
                visit_notes.c.practice_id == self.practice_id, visit_notes.c.visit_id == visit_id
            )
        ).scalar()
        return int(found or 0)

    # -- claims ----------------------------------------------------------------------------
    def claims_by_status(self, statuses: Sequence[str] = ()) -> list[ClaimSummary]:
        """Claims (all, or in ``statuses``), newest date of service first."""
        where = [claims.c.status.in_(list(statuses))] if statuses else []
        found = self.rows(claims, *where, order_by=(claims.c.date_of_service.desc(), claims.c.claim_number))
        return [mappers.claim_summary_to_domain(r) for r in found]

    def claim_by_number(self, claim_number: str) -> Row[Any] | None:
        """The claim with this CLM01 in this practice."""
        return self.session.execute(self.scoped(claims).where(claims.c.claim_number == claim_number)).first()

    def lines_of(self, claim_id: str) -> list[Row[Any]]:
        """The claim's lines in order."""
        return self.rows(
            claim_lines, claim_lines.c.claim_id == claim_id, order_by=[claim_lines.c.line_number]
        )

    def status_history(self, claim_id: str) -> list[Row[Any]]:
        """The claim's status events, oldest first."""
        return self.rows(
            claim_status_events,
            claim_status_events.c.claim_id == claim_id,
            order_by=[claim_status_events.c.seq],
        )
