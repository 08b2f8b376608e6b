"""The outcomes report's derived tables (``trend_tables.measure_days`` and
``measure_visit_days``): the triggers that keep them, the statements that fill them, their
check and rebuild.

A trigger on ``objective_measures`` (insert, update, delete of a pain, range of motion or
strength measure) writes the rows of the measure's patient and day again, counted from the
measures of that patient and day (a patient's index): each measure's count and greatest text,
the visits with a measure, and the measures whose text is not plainly a number. Recounting makes the trigger
right whatever the order its rows are seen in (a statement inserting several measures of one
visit). ``differences`` and ``rebuild`` work as ``trend_totals``'s.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from therabill.adapters.db.kept_sql import Trigger, changed, keyed_rows

__all__ = ["KINDS", "differences", "fill_sql", "rebuild", "triggers"]

KINDS = ("pain", "rom", "strength")
"""The measures the outcomes report reads."""


def plain(alias: str, dialect: str) -> str:
    """Whether a measure's text is plainly a number (SQL): a strength grade that starts with a
    digit, else digits with at most one decimal point. The report reads such a text with
    ``reports.outcomes.measure_value`` and always finds a number."""
    v = f"{alias}.value"
    if dialect == "postgresql":
        return (
            f"(CASE WHEN {alias}.kind = 'strength' THEN {v} ~ '^[0-9]' ELSE {v} ~ '^[0-9]+(\\.[0-9]*)?$' END)"
        )
    number = f"({v} GLOB '[0-9]*' AND {v} NOT GLOB '*[^0-9.]*' AND {v} NOT GLOB '*.*.*')"
    return f"(CASE WHEN {alias}.kind = 'strength' THEN {v} GLOB '[0-9]*' ELSE {number} END)"


def _recount(row: str, dialect: str) -> tuple[str, str]:
    same_day = (
        f"m.patient_id = {row}.patient_id AND m.practice_id = {row}.practice_id"
        f" AND m.measured_on = {row}.measured_on AND m.kind IN {KINDS!r}"
    )
    series = (
        f"{same_day} AND m.kind = {row}.kind AND m.name = {row}.name"
        f" AND COALESCE(m.unit, '') = COALESCE({row}.unit, '')"
    )
    days = (
        "INSERT INTO measure_days (practice_id, patient_id, kind, name, unit_key, measured_on, point, measures)"
        f" VALUES ({row}.practice_id, {row}.patient_id, {row}.kind, {row}.name, COALESCE({row}.unit, ''),"
        f" {row}.measured_on, {_day_text(f'{row}.measured_on', dialect)}"
        f" || COALESCE((SELECT MAX(m.value) FROM objective_measures m WHERE {series}), ''),"
        f" (SELECT COUNT(*) FROM objective_measures m WHERE {series}))"
        " ON CONFLICT (practice_id, patient_id, kind, name, unit_key, measured_on)"
        " DO UPDATE SET point = excluded.point, measures = excluded.measures"
    )
    visits = (
        "INSERT INTO measure_visit_days (practice_id, patient_id, measured_on, visits, odd)"
        f" VALUES ({row}.practice_id, {row}.patient_id, {row}.measured_on,"
        f" (SELECT COUNT(DISTINCT m.visit_id) FROM objective_measures m WHERE {same_day}),"
        f" (SELECT COUNT(*) FROM objective_measures m WHERE {same_day} AND NOT {plain('m', dialect)}))"
        " ON CONFLICT (practice_id, patient_id, measured_on)"
        " DO UPDATE SET visits = excluded.visits, odd = excluded.odd"
    )
    return days, visits


def triggers(dialect: str) -> tuple[Trigger, ...]:
    """The triggers on ``objective_measures``."""
    kinds = ", ".join(f"'{k}'" for k in KINDS)
    columns = ("practice_id", "patient_id", "visit_id", "measured_on", "kind", "name", "value", "unit")
    return (
        Trigger(
            "outcome_measures_ins",
            "objective_measures",
            "AFTER INSERT",
            f"NEW.kind IN ({kinds})",
            _recount("NEW", dialect),
        ),
        Trigger(
            "outcome_measures_del",
            "objective_measures",
            "AFTER DELETE",
            f"OLD.kind IN ({kinds})",
            _recount("OLD", dialect),
        ),
        Trigger(
            "outcome_measures_upd",
            "objective_measures",
            "AFTER UPDATE",
            changed(columns, dialect),
            (*_recount("OLD", dialect), *_recount("NEW", dialect)),
        ),
    )


def _day_text(day: str, dialect: str) -> str:
    """``YYYY-MM-DD`` of a date (SQL)."""
    return f"to_char({day}, 'YYYY-MM-DD')" if dialect == "postgresql" else day


def _days_select(dialect: str, practice: bool) -> str:
    return (
        "SELECT practice_id, patient_id, kind, name, COALESCE(unit, '') AS unit_key, measured_on,"
        f" {_day_text('measured_on', dialect)} || MAX(value) AS point, COUNT(*) AS measures"
        f" FROM objective_measures WHERE kind IN {KINDS!r}"
        + (" AND practice_id = :p" if practice else "")
        + " GROUP BY practice_id, patient_id, kind, name, COALESCE(unit, ''), measured_on"
    )


def _visit_days_select(dialect: str, practice: bool) -> str:
    return (
        "SELECT m.practice_id, m.patient_id, m.measured_on, COUNT(DISTINCT m.visit_id) AS visits,"
        f" SUM(CASE WHEN {plain('m', dialect)} THEN 0 ELSE 1 END) AS odd"
        f" FROM objective_measures m WHERE m.kind IN {KINDS!r}"
        + (" AND m.practice_id = :p" if practice else "")
        + " GROUP BY m.practice_id, m.patient_id, m.measured_on"
    )


DAYS = "practice_id, patient_id, kind, name, unit_key, measured_on, point, measures"
VISIT_DAYS = "practice_id, patient_id, measured_on, visits, odd"


def fill_sql(dialect: str, *, practice: bool = False) -> list[str]:
    """The statements that fill both tables from the measures (of one practice ``:p``)."""
    return [
        f"INSERT INTO measure_days ({DAYS}) {_days_select(dialect, practice)}",
        f"INSERT INTO measure_visit_days ({VISIT_DAYS}) {_visit_days_select(dialect, practice)}",
    ]


def rebuild(conn: Connection, practice_id: str) -> None:
    """Recompute one practice's rows from its measures."""
    p = {"p": practice_id}
    for table in ("measure_days", "measure_visit_days"):
        conn.execute(text(f"DELETE FROM {table} WHERE practice_id = :p"), p)
    for statement in fill_sql(conn.dialect.name, practice=True):
        conn.execute(text(statement), p)


def differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    """Where the kept rows differ from the measures (empty when they agree)."""
    p = {"p": practice_id}
    checks = (
        (
            "measure_days",
            ("patient_id", "kind", "name", "unit_key", "measured_on"),
            _days_select(conn.dialect.name, True),
            DAYS,
        ),
        (
            "measure_visit_days",
            ("patient_id", "measured_on"),
            _visit_days_select(conn.dialect.name, True),
            VISIT_DAYS,
        ),
    )
    out: list[dict[str, Any]] = []
    for table, key, expected_sql, columns in checks:
        cols = ", ".join(c for c in columns.split(", ") if c != "practice_id")
        expected = keyed_rows(conn.execute(text(f"SELECT {cols} FROM ({expected_sql}) x"), p), key, "zero")
        kept = keyed_rows(
            conn.execute(text(f"SELECT {cols} FROM {table} WHERE practice_id = :p"), p), key, "zero"
        )
        out.extend(
            {"table": table, "key": k, "expected": expected.get(k), "kept": kept.get(k)}
            for k in sorted(set(expected) | set(kept))
            if expected.get(k) != kept.get(k)
        )
    return out
