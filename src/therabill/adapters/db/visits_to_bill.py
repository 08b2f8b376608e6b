"""``visits.awaiting_claim``: a visit treated (``domain.records.has_treatment``) with no claim yet.

The visits to bill are the documented visits awaiting a claim; the partial index
``ix_visits_to_bill`` holds exactly them, so the dashboard counts them and the claims page lists
the oldest without decoding any visit's document or looking for the claim of every visit.

The flag is kept where rows are written, by the practice-scoped repository
(``adapters.db.repositories.Records``): a visit inserted or given a new document gets it from its
document (and, when changed, from whether a claim of it exists); a claim inserted clears it on
its visit (claims are never deleted). ``rebuild`` sets it from the rows (after a bulk load that
went around the repository, and by the totals rebuild); ``differences`` lists the visits where it
is wrong (the database check). Both decide "treated" in SQL with ``treated_sql``, the same rule as
``has_treatment`` (a test holds them together on both engines).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, false, select, text, true, update
from sqlalchemy.orm import Session

from therabill.adapters.db.tables import claims, visits
from therabill.domain.records import has_treatment

__all__ = ["claim_inserted", "differences", "rebuild", "treated_sql", "visit_written"]


def treated_sql(dialect: str, document: str = "visits.encounter_json") -> str:
    """SQL true when ``document`` (a JSON column) has a service with minutes or units above zero."""
    if dialect == "postgresql":

        def positive(key: str) -> str:
            return (
                f"(CASE WHEN json_typeof(s.e -> '{key}') = 'number'"
                f" THEN (s.e ->> '{key}')::numeric ELSE 0 END) > 0"
            )

        return (
            "EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof("
            f"{document} -> 'services') = 'array' THEN {document} -> 'services' END) AS s(e)"
            f" WHERE json_typeof(s.e) = 'object' AND ({positive('minutes')} OR {positive('units')}))"
        )

    def positive_sqlite(key: str) -> str:
        return (
            f"(CASE WHEN json_type(s.value, '$.{key}') IN ('integer', 'real')"
            f" THEN json_extract(s.value, '$.{key}') ELSE 0 END) > 0"
        )

    return (
        f"EXISTS (SELECT 1 FROM json_each({document}, '$.services') AS s"
        f" WHERE json_type({document}, '$.services') = 'array' AND s.type = 'object'"
        f" AND ({positive_sqlite('minutes')} OR {positive_sqlite('units')}))"
    )


def _expected(dialect: str) -> Any:
    unclaimed = ~exists().where(
        claims.c.practice_id == visits.c.practice_id, claims.c.visit_id == visits.c.id
    )
    return unclaimed & text(treated_sql(dialect))


def visit_written(session: Session, practice_id: str, values: dict[str, Any], visit_id: str | None) -> None:
    """Set ``awaiting_claim`` in the values of a visit being inserted (``visit_id`` ``None``) or
    updated, when they carry its document (and do not set the flag themselves)."""
    if "encounter_json" not in values or "awaiting_claim" in values:
        return
    treated = has_treatment(values["encounter_json"])
    if treated and visit_id is not None:
        claimed = session.execute(
            select(claims.c.id)
            .where(claims.c.practice_id == practice_id, claims.c.visit_id == visit_id)
            .limit(1)
        ).first()
        treated = claimed is None
    values["awaiting_claim"] = treated


def claim_inserted(session: Session, practice_id: str, visit_id: str | None) -> None:
    """The visit of a claim just inserted is billed: it no longer awaits a claim."""
    if visit_id is None:
        return
    session.execute(
        update(visits)
        .where(
            visits.c.id == visit_id, visits.c.practice_id == practice_id, visits.c.awaiting_claim == true()
        )
        .values(awaiting_claim=False)
    )


def rebuild(conn: Connection, practice_id: str) -> int:
    """Set the flag of every visit of the practice from its document and claims (only rows where
    it is wrong are written); returns the rows changed."""
    expected = _expected(conn.dialect.name)
    changed = 0
    for now, should in ((False, expected), (True, ~expected)):
        result = conn.execute(
            update(visits)
            .where(visits.c.practice_id == practice_id, visits.c.awaiting_claim == now, should)
            .values(awaiting_claim=not now)
        )
        changed += max(result.rowcount or 0, 0)
    return changed


def differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    """The visits of the practice whose flag is wrong: ``visit_id``, ``expected``, ``kept``."""
    expected = _expected(conn.dialect.name)
    wrong = conn.execute(
        select(visits.c.id, visits.c.awaiting_claim)
        .where(
            visits.c.practice_id == practice_id,
            ((visits.c.awaiting_claim == true()) & ~expected)
            | ((visits.c.awaiting_claim == false()) & expected),
        )
        .order_by(visits.c.id)
    )
    return [
        {"visit_id": r.id, "expected": not r.awaiting_claim, "kept": bool(r.awaiting_claim)} for r in wrong
    ]
