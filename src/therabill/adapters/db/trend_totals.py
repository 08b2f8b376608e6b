"""The trends and what-if reports' derived tables (``trend_tables``): the triggers that keep
them, the statements that fill them from the records, and their check and rebuild (with the
outcomes report's tables of ``outcome_totals``).

Kept by the database, not by the application: a claim's status, a visit's payer or a claim's
units change on many code paths (claim changes, remittance posting, acknowledgments, coverage
edits, imports), and triggers see every one of them in the writing statement's transaction.
The records' triggers only update the one *facts* row of the claim or visit concerned; the
facts' own triggers move that row's contribution between the *day* totals (the row as it was
subtracted, the row as it is added), so no trigger recomputes a sum.

* claim facts: ``claims`` (insert, update of status, payer, date, visit; delete),
  ``claim_lines`` (units), ``claim_status_events`` (the first ``submitted`` event) and
  ``ledger_entries`` (the first positive insurance payment);
* visit facts: ``visits`` (insert, update, delete), and the visit's payer again when a claim of
  the visit or a coverage of its patient changes.

The same SQL runs on SQLite (trigger bodies) and PostgreSQL (PL/pgSQL functions); only the day
difference, the services text and the key of a services text differ. ``rebuild`` recomputes a
practice's rows from the records (``report_totals.rebuild`` calls it); ``differences`` compares
the kept rows with that recomputation (``report_totals.differences``).

Two writers that change rows of the same day, payer and status wait on that day total's row in
turn. A table rebuilt by a later SQLite revision (copy, drop, rename) loses its triggers: such
a revision must create them again (``create_sql``); ``differences`` would show the drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from therabill.adapters.db import outcome_totals
from therabill.adapters.db.kept_sql import Trigger, changed, drop_trigger_sql, keyed_rows, trigger_sql

__all__ = [
    "TRIGGERS",
    "StatementTrigger",
    "create_sql",
    "differences",
    "drop_sql",
    "fill_sql",
    "rebuild",
    "statement_trigger_sql",
    "statement_triggers",
    "triggers",
]

CLOSED = ("voided", "replaced")
"""Claim statuses that do not count as the visit's claim (as the reports say)."""


def _days(ts: str, day: str, dialect: str) -> str:
    """Whole days from a date to the UTC day of a timestamp (as ``reports.common.days_between``)."""
    if dialect == "postgresql":
        return f"(CAST(timezone('UTC', {ts}) AS date) - {day})"
    return f"CAST(julianday(substr({ts}, 1, 10)) - julianday({day}) AS INTEGER)"


def _services(row: str, dialect: str) -> str:
    """The text of a visit's encounter ``services`` (as the what-if report reads it)."""
    if dialect == "postgresql":
        return f"({row}.encounter_json ->> 'services')"
    return f"json_extract({row}.encounter_json, '$.\"services\"')"


def _key(services: str, dialect: str) -> str:
    """The key of a services text: its MD5 on PostgreSQL (an index entry has a size limit)."""
    if dialect == "postgresql":
        return f"md5(COALESCE({services}, ''))"
    return f"COALESCE({services}, '')"


def _payer(visit: str) -> str:
    """The what-if payer of visit ``visit``: its live claim's, its coverage's, its patient's
    primary coverage's, else ``''`` (self-pay)."""
    return (
        "COALESCE("
        "(SELECT MAX(c.payer_id) FROM claims c JOIN visits v ON v.id = c.visit_id"
        f" AND v.practice_id = c.practice_id WHERE c.visit_id = {visit}"
        f" AND c.status NOT IN {CLOSED!r}), "
        "(SELECT cv.payer_id FROM visits v JOIN coverages cv ON cv.id = v.coverage_id"
        f" WHERE v.id = {visit}), "
        "(SELECT MIN(cv.payer_id) FROM visits v JOIN coverages cv ON cv.patient_id = v.patient_id"
        f" AND cv.practice_id = v.practice_id WHERE v.id = {visit} AND cv.sequence = 'primary'), "
        "'')"
    )


def _claim_total(row: str, sign: int, dialect: str) -> str:
    """Add (``sign`` 1) or take away (-1) a claim facts row's contribution to its day total."""
    sub, pay, dos = f"{row}.submitted_at", f"{row}.paid_at", f"{row}.date_of_service"
    to_sub, to_pay = _days(sub, dos, dialect), _days(pay, dos, dialect)
    both = f"{sub} IS NULL OR {pay} IS NULL"
    sums = ("claims", "units", "claim_days", "claimed", "payment_days", "paid")
    return (
        "INSERT INTO claim_day_totals (practice_id, date_of_service, payer_id, status, "
        f"{', '.join(sums)}) VALUES ({row}.practice_id, {dos}, {row}.payer_id, {row}.status, "
        f"{sign}, {sign} * {row}.units, "
        f"CASE WHEN {sub} IS NULL THEN 0 ELSE {sign} * {to_sub} END, "
        f"CASE WHEN {sub} IS NULL THEN 0 ELSE {sign} END, "
        f"CASE WHEN {both} THEN 0 ELSE {sign} * ({to_pay} - {to_sub}) END, "
        f"CASE WHEN {both} THEN 0 ELSE {sign} END) "
        "ON CONFLICT (practice_id, date_of_service, payer_id, status) DO UPDATE SET "
        + ", ".join(f"{s} = claim_day_totals.{s} + excluded.{s}" for s in sums)
    )


def _visit_total(row: str, sign: int, dialect: str) -> str:
    """Add or take away a visit facts row's count in its day total."""
    return (
        "INSERT INTO visit_day_totals (practice_id, date_of_service, payer_id, services_key, services, "
        f"visits) VALUES ({row}.practice_id, {row}.date_of_service, {row}.payer_id, "
        f"{_key(f'{row}.services', dialect)}, {row}.services, {sign}) "
        "ON CONFLICT (practice_id, date_of_service, payer_id, services_key) DO UPDATE SET "
        "visits = visit_day_totals.visits + excluded.visits"
    )


def _visit_payers(where: str) -> str:
    return (
        f"UPDATE visit_trend_facts SET payer_id = {_payer('visit_trend_facts.visit_id')} "
        f"WHERE visit_id IN ({where})"
    )


@dataclass(frozen=True, slots=True)
class StatementTrigger:
    """A PostgreSQL trigger run once per statement (``FOR EACH STATEMENT``) that reads the
    statement's rows from its transition tables: ``old_rows`` (update, delete) and ``new_rows``
    (insert, update). One event each: PostgreSQL refuses transition tables on a trigger of
    several events."""

    name: str
    table: str
    event: str
    body: tuple[str, ...]


_CLAIM_KEY = ("practice_id", "date_of_service", "payer_id", "status")
_CLAIM_SUMS = ("claims", "units", "claim_days", "claimed", "payment_days", "paid")
_VISIT_KEY = ("practice_id", "date_of_service", "payer_id", "services_key")


def _claim_contribution(rel: str, sign: int) -> str:
    """The contribution of each claim facts row of ``rel`` to its day total (``sign`` 1 to add,
    -1 to take away), as ``_claim_total`` writes it for one row (PostgreSQL)."""
    sub, pay, dos = "r.submitted_at", "r.paid_at", "r.date_of_service"
    to_sub, to_pay = _days(sub, dos, "postgresql"), _days(pay, dos, "postgresql")
    both = f"{sub} IS NULL OR {pay} IS NULL"
    return (
        f"SELECT r.practice_id, r.date_of_service, r.payer_id, r.status, {sign} AS claims,"
        f" {sign} * r.units AS units,"
        f" CASE WHEN {sub} IS NULL THEN 0 ELSE {sign} * {to_sub} END AS claim_days,"
        f" CASE WHEN {sub} IS NULL THEN 0 ELSE {sign} END AS claimed,"
        f" CASE WHEN {both} THEN 0 ELSE {sign} * ({to_pay} - {to_sub}) END AS payment_days,"
        f" CASE WHEN {both} THEN 0 ELSE {sign} END AS paid FROM {rel} r"
    )


def _claim_totals_of(parts: tuple[str, ...]) -> str:
    """Add the contributions ``parts`` to the claim day totals: summed per day total first, the
    totals whose figures do not change left alone, the others written in the order of their
    key (two statements writing the same totals lock them in the same order: no deadlock)."""
    key = ", ".join(_CLAIM_KEY)
    sums = ", ".join(f"SUM(d.{s})" for s in _CLAIM_SUMS)
    moved = " OR ".join(f"SUM(d.{s}) <> 0" for s in _CLAIM_SUMS)
    return (
        f"INSERT INTO claim_day_totals ({key}, {', '.join(_CLAIM_SUMS)})"
        f" SELECT {', '.join(f'd.{k}' for k in _CLAIM_KEY)}, {sums}"
        f" FROM ({' UNION ALL '.join(parts)}) d GROUP BY {', '.join(f'd.{k}' for k in _CLAIM_KEY)}"
        f" HAVING {moved} ORDER BY {', '.join(f'd.{k}' for k in _CLAIM_KEY)}"
        f" ON CONFLICT ({key}) DO UPDATE SET "
        + ", ".join(f"{s} = claim_day_totals.{s} + excluded.{s}" for s in _CLAIM_SUMS)
    )


def _visit_contribution(rel: str, sign: int) -> str:
    return (
        "SELECT r.practice_id, r.date_of_service, r.payer_id,"
        f" {_key('r.services', 'postgresql')} AS services_key, r.services, {sign} AS visits FROM {rel} r"
    )


def _visit_totals_of(parts: tuple[str, ...]) -> str:
    """As ``_claim_totals_of``, for the visit day totals."""
    key = ", ".join(_VISIT_KEY)
    dkey = ", ".join(f"d.{k}" for k in _VISIT_KEY)
    return (
        f"INSERT INTO visit_day_totals ({key}, services, visits)"
        f" SELECT {dkey}, MIN(d.services), SUM(d.visits) FROM ({' UNION ALL '.join(parts)}) d"
        f" GROUP BY {dkey} HAVING SUM(d.visits) <> 0 ORDER BY {dkey}"
        f" ON CONFLICT ({key}) DO UPDATE SET visits = visit_day_totals.visits + excluded.visits"
    )


def _first_of(column: str, rows: str) -> str:
    """Set a claim facts row's ``column`` to the earliest moment ``at`` of ``rows`` (a claim's
    per row, from the statement's rows) when that is earlier than the kept one."""
    return (
        f"UPDATE claim_trend_facts f SET {column} = x.at FROM ({rows}) x"
        f" WHERE f.claim_id = x.claim_id AND (f.{column} IS NULL OR f.{column} > x.at)"
    )


def statement_triggers() -> tuple[StatementTrigger, ...]:
    """PostgreSQL: the triggers that run once per statement, in place of the row triggers of the
    same names (``triggers``). They are the ones a posting or a batch runs for many rows at once:
    the day totals of a statement's claim and visit facts rows (one write per day total, not
    one per row), the facts of a statement's updated claims, first submissions and first
    payments."""
    claim_moved = " OR ".join(
        f"o.{c} IS DISTINCT FROM n.{c}" for c in ("practice_id", "payer_id", "status", "date_of_service")
    )
    return (
        StatementTrigger(
            "trend_claim_facts_ins",
            "claim_trend_facts",
            "AFTER INSERT",
            (_claim_totals_of((_claim_contribution("new_rows", 1),)),),
        ),
        StatementTrigger(
            "trend_claim_facts_del",
            "claim_trend_facts",
            "AFTER DELETE",
            (_claim_totals_of((_claim_contribution("old_rows", -1),)),),
        ),
        StatementTrigger(
            "trend_claim_facts_upd",
            "claim_trend_facts",
            "AFTER UPDATE",
            (_claim_totals_of((_claim_contribution("old_rows", -1), _claim_contribution("new_rows", 1))),),
        ),
        StatementTrigger(
            "trend_visit_facts_ins",
            "visit_trend_facts",
            "AFTER INSERT",
            (_visit_totals_of((_visit_contribution("new_rows", 1),)),),
        ),
        StatementTrigger(
            "trend_visit_facts_del",
            "visit_trend_facts",
            "AFTER DELETE",
            (_visit_totals_of((_visit_contribution("old_rows", -1),)),),
        ),
        StatementTrigger(
            "trend_visit_facts_upd",
            "visit_trend_facts",
            "AFTER UPDATE",
            (_visit_totals_of((_visit_contribution("old_rows", -1), _visit_contribution("new_rows", 1))),),
        ),
        StatementTrigger(
            "trend_claims_upd",
            "claims",
            "AFTER UPDATE",
            (
                "UPDATE claim_trend_facts f SET practice_id = n.practice_id, date_of_service = n.date_of_service,"
                " payer_id = COALESCE(n.payer_id, ''), status = n.status"
                f" FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE f.claim_id = n.id AND ({claim_moved})",
            ),
        ),
        StatementTrigger(
            "trend_events_ins",
            "claim_status_events",
            "AFTER INSERT",
            (
                _first_of(
                    "submitted_at",
                    "SELECT claim_id, MIN(at) AS at FROM new_rows WHERE status = 'submitted' GROUP BY claim_id",
                ),
            ),
        ),
        StatementTrigger(
            "trend_entries_ins",
            "ledger_entries",
            "AFTER INSERT",
            (
                _first_of(
                    "paid_at",
                    "SELECT claim_id, MIN(posted_at) AS at FROM new_rows WHERE kind = 'insurance-payment'"
                    " AND amount_cents > 0 AND claim_id IS NOT NULL GROUP BY claim_id",
                ),
            ),
        ),
    )


def statement_trigger_sql(made: tuple[StatementTrigger, ...]) -> list[str]:
    """The statements that create PostgreSQL statement triggers and their functions."""
    out = []
    for t in made:
        tables = {
            "AFTER INSERT": "NEW TABLE AS new_rows",
            "AFTER DELETE": "OLD TABLE AS old_rows",
            "AFTER UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }[t.event]
        out.append(
            f"CREATE OR REPLACE FUNCTION {t.name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {'; '.join(t.body)}; RETURN NULL; END $$"
        )
        out.append(
            f"CREATE TRIGGER {t.name} {t.event} ON {t.table} REFERENCING {tables}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {t.name}_fn()"
        )
    return out


def triggers(dialect: str) -> tuple[Trigger, ...]:
    """Every trigger, in the order they are created."""
    claim_facts = ("practice_id", "date_of_service", "payer_id", "status", "units", "submitted_at", "paid_at")
    visit_facts = ("practice_id", "date_of_service", "payer_id", "services")
    first_sub = (
        "SELECT MIN(e.at) FROM claim_status_events e WHERE e.claim_id = NEW.id AND e.status = 'submitted'"
    )
    first_pay = (
        "SELECT MIN(le.posted_at) FROM ledger_entries le WHERE le.claim_id = NEW.id"
        " AND le.kind = 'insurance-payment' AND le.amount_cents > 0"
    )
    units = "SELECT SUM(l.units) FROM claim_lines l WHERE l.claim_id = NEW.id"

    def units_by(sign: str, row: str) -> str:
        return (
            f"UPDATE claim_trend_facts SET units = units {sign} {row}.units WHERE claim_id = {row}.claim_id"
        )

    def first(column: str, at: str) -> str:
        return (
            f"UPDATE claim_trend_facts SET {column} = {at} WHERE claim_id = NEW.claim_id"
            f" AND ({column} IS NULL OR {column} > {at})"
        )

    return (
        Trigger(
            "trend_claim_facts_ins",
            "claim_trend_facts",
            "AFTER INSERT",
            None,
            (_claim_total("NEW", 1, dialect),),
        ),
        Trigger(
            "trend_claim_facts_del",
            "claim_trend_facts",
            "AFTER DELETE",
            None,
            (_claim_total("OLD", -1, dialect),),
        ),
        Trigger(
            "trend_claim_facts_upd",
            "claim_trend_facts",
            "AFTER UPDATE",
            changed(claim_facts, dialect),
            (_claim_total("OLD", -1, dialect), _claim_total("NEW", 1, dialect)),
        ),
        Trigger(
            "trend_visit_facts_ins",
            "visit_trend_facts",
            "AFTER INSERT",
            None,
            (_visit_total("NEW", 1, dialect),),
        ),
        Trigger(
            "trend_visit_facts_del",
            "visit_trend_facts",
            "AFTER DELETE",
            None,
            (_visit_total("OLD", -1, dialect),),
        ),
        Trigger(
            "trend_visit_facts_upd",
            "visit_trend_facts",
            "AFTER UPDATE",
            changed(visit_facts, dialect),
            (_visit_total("OLD", -1, dialect), _visit_total("NEW", 1, dialect)),
        ),
        Trigger(
            "trend_claims_ins",
            "claims",
            "AFTER INSERT",
            None,
            (
                "INSERT INTO claim_trend_facts (claim_id, practice_id, date_of_service, payer_id, status, units,"
                " submitted_at, paid_at) VALUES (NEW.id, NEW.practice_id, NEW.date_of_service,"
                f" COALESCE(NEW.payer_id, ''), NEW.status, COALESCE(({units}), 0), ({first_sub}), ({first_pay}))",
                _visit_payers("NEW.visit_id"),
            ),
        ),
        Trigger(
            "trend_claims_upd",
            "claims",
            "AFTER UPDATE",
            changed(("practice_id", "payer_id", "status", "date_of_service"), dialect),
            (
                "UPDATE claim_trend_facts SET practice_id = NEW.practice_id, date_of_service = NEW.date_of_service,"
                " payer_id = COALESCE(NEW.payer_id, ''), status = NEW.status WHERE claim_id = NEW.id",
            ),
        ),
        Trigger(  # the visit's payer: only when the claim's payer, visit or liveness changes
            "trend_claims_payer",
            "claims",
            "AFTER UPDATE",
            f"{changed(('practice_id', 'visit_id', 'payer_id'), dialect)}"
            f" OR (OLD.status IN {CLOSED!r}) <> (NEW.status IN {CLOSED!r})",
            (_visit_payers("OLD.visit_id, NEW.visit_id"),),
        ),
        Trigger(
            "trend_claims_del",
            "claims",
            "AFTER DELETE",
            None,
            ("DELETE FROM claim_trend_facts WHERE claim_id = OLD.id", _visit_payers("OLD.visit_id")),
        ),
        Trigger("trend_lines_ins", "claim_lines", "AFTER INSERT", None, (units_by("+", "NEW"),)),
        Trigger("trend_lines_del", "claim_lines", "AFTER DELETE", None, (units_by("-", "OLD"),)),
        Trigger(
            "trend_lines_upd",
            "claim_lines",
            "AFTER UPDATE",
            changed(("claim_id", "units"), dialect),
            (units_by("-", "OLD"), units_by("+", "NEW")),
        ),
        Trigger(
            "trend_events_ins",
            "claim_status_events",
            "AFTER INSERT",
            "NEW.status = 'submitted'",
            (first("submitted_at", "NEW.at"),),
        ),
        Trigger(
            "trend_entries_ins",
            "ledger_entries",
            "AFTER INSERT",
            "NEW.kind = 'insurance-payment' AND NEW.amount_cents > 0 AND NEW.claim_id IS NOT NULL",
            (first("paid_at", "NEW.posted_at"),),
        ),
        Trigger(
            "trend_visits_ins",
            "visits",
            "AFTER INSERT",
            None,
            (
                "INSERT INTO visit_trend_facts (visit_id, practice_id, date_of_service, payer_id, services)"
                f" VALUES (NEW.id, NEW.practice_id, NEW.date_of_service, {_payer('NEW.id')},"
                f" {_services('NEW', dialect)})",
            ),
        ),
        Trigger(
            "trend_visits_upd",
            "visits",
            "AFTER UPDATE",
            None,
            (
                "UPDATE visit_trend_facts SET practice_id = NEW.practice_id, date_of_service = NEW.date_of_service,"
                f" payer_id = {_payer('NEW.id')}, services = {_services('NEW', dialect)} WHERE visit_id = NEW.id",
            ),
        ),
        Trigger(
            "trend_visits_del",
            "visits",
            "AFTER DELETE",
            None,
            ("DELETE FROM visit_trend_facts WHERE visit_id = OLD.id",),
        ),
        Trigger(
            "trend_coverages_ins",
            "coverages",
            "AFTER INSERT",
            None,
            (_visit_payers("SELECT v.id FROM visits v WHERE v.patient_id = NEW.patient_id"),),
        ),
        Trigger(
            "trend_coverages_upd",
            "coverages",
            "AFTER UPDATE",
            changed(("practice_id", "patient_id", "payer_id", "sequence"), dialect),
            (
                _visit_payers(
                    "SELECT v.id FROM visits v WHERE v.patient_id IN (OLD.patient_id, NEW.patient_id)"
                ),
            ),
        ),
        Trigger(
            "trend_coverages_del",
            "coverages",
            "AFTER DELETE",
            None,
            (_visit_payers("SELECT v.id FROM visits v WHERE v.patient_id = OLD.patient_id"),),
        ),
    )


TRIGGERS = tuple(t.name for t in triggers("sqlite"))
"""The triggers' names."""


def _row_triggers(dialect: str) -> tuple[Trigger, ...]:
    """The row triggers of ``dialect``: on PostgreSQL those without a statement trigger."""
    if dialect != "postgresql":
        return triggers(dialect)
    instead = {t.name for t in statement_triggers()}
    return tuple(t for t in triggers(dialect) if t.name not in instead)


def create_sql(dialect: str) -> list[str]:
    """The statements that create every trigger of the trends, what-if and outcomes tables."""
    made = trigger_sql(dialect, _row_triggers(dialect))
    if dialect == "postgresql":
        made += statement_trigger_sql(statement_triggers())
    return [*made, *trigger_sql(dialect, outcome_totals.triggers(dialect))]


def drop_sql(dialect: str) -> list[str]:
    """The statements that drop them."""
    return [  # the same names whichever kind they are (``triggers``)
        *drop_trigger_sql(dialect, outcome_totals.triggers(dialect)),
        *drop_trigger_sql(dialect, triggers(dialect)),
    ]


def _facts_select(practice: bool) -> dict[str, str]:
    """The facts rows as the records give them (of one practice ``:p`` when ``practice``)."""
    p = " AND practice_id = :p" if practice else ""
    claims = (
        "SELECT c.id AS claim_id, c.practice_id, c.date_of_service, COALESCE(c.payer_id, '') AS payer_id,"
        " c.status, COALESCE(u.units, 0) AS units, s.at AS submitted_at, pay.at AS paid_at"
        " FROM claims c"
        f" LEFT JOIN (SELECT claim_id, SUM(units) AS units FROM claim_lines WHERE 1 = 1{p}"
        " GROUP BY claim_id) u ON u.claim_id = c.id"
        " LEFT JOIN (SELECT claim_id, MIN(at) AS at FROM claim_status_events WHERE status = 'submitted'"
        f"{p} GROUP BY claim_id) s ON s.claim_id = c.id"
        " LEFT JOIN (SELECT claim_id, MIN(posted_at) AS at FROM ledger_entries"
        " WHERE kind = 'insurance-payment' AND amount_cents > 0 AND claim_id IS NOT NULL"
        f"{p} GROUP BY claim_id) pay ON pay.claim_id = c.id"
        + (" WHERE c.practice_id = :p" if practice else "")
    )
    return {"claims": claims}


def _visit_facts_select(dialect: str, practice: bool) -> str:
    p = " AND practice_id = :p" if practice else ""
    return (
        "SELECT v.id AS visit_id, v.practice_id, v.date_of_service,"
        " COALESCE(lc.payer, vc.payer_id, pc.payer, '') AS payer_id,"
        f" {_services('v', dialect)} AS services"
        " FROM visits v"
        " LEFT JOIN (SELECT visit_id, practice_id, MAX(payer_id) AS payer FROM claims"
        f" WHERE status NOT IN {CLOSED!r}{p} GROUP BY visit_id, practice_id) lc"
        " ON lc.visit_id = v.id AND lc.practice_id = v.practice_id"
        " LEFT JOIN coverages vc ON vc.id = v.coverage_id"
        " LEFT JOIN (SELECT patient_id, practice_id, MIN(payer_id) AS payer FROM coverages"
        f" WHERE sequence = 'primary'{p} GROUP BY patient_id, practice_id) pc"
        " ON pc.patient_id = v.patient_id AND pc.practice_id = v.practice_id"
        + (" WHERE v.practice_id = :p" if practice else "")
    )


def _claim_days_select(dialect: str, practice: bool) -> str:
    to_sub = _days("submitted_at", "date_of_service", dialect)
    to_pay = _days("paid_at", "date_of_service", dialect)
    both = "submitted_at IS NULL OR paid_at IS NULL"
    return (
        "SELECT practice_id, date_of_service, payer_id, status, COUNT(*) AS claims, SUM(units) AS units,"
        f" SUM(CASE WHEN submitted_at IS NULL THEN 0 ELSE {to_sub} END) AS claim_days,"
        " SUM(CASE WHEN submitted_at IS NULL THEN 0 ELSE 1 END) AS claimed,"
        f" SUM(CASE WHEN {both} THEN 0 ELSE {to_pay} - {to_sub} END) AS payment_days,"
        f" SUM(CASE WHEN {both} THEN 0 ELSE 1 END) AS paid"
        " FROM claim_trend_facts"
        + (" WHERE practice_id = :p" if practice else "")
        + " GROUP BY practice_id, date_of_service, payer_id, status"
    )


def _visit_days_select(dialect: str, practice: bool) -> str:
    key = _key("services", dialect)
    return (
        f"SELECT practice_id, date_of_service, payer_id, {key} AS services_key, MIN(services) AS services,"
        " COUNT(*) AS visits FROM visit_trend_facts"
        + (" WHERE practice_id = :p" if practice else "")
        + f" GROUP BY practice_id, date_of_service, payer_id, {key}"
    )


CLAIM_FACTS = "claim_id, practice_id, date_of_service, payer_id, status, units, submitted_at, paid_at"
CLAIM_DAYS = (
    "practice_id, date_of_service, payer_id, status, claims, units, claim_days, claimed, payment_days, paid"
)
VISIT_FACTS = "visit_id, practice_id, date_of_service, payer_id, services"
VISIT_DAYS = "practice_id, date_of_service, payer_id, services_key, services, visits"


def fill_sql(dialect: str, *, practice: bool = False) -> list[str]:
    """The statements that fill the four tables from the records, facts first (of one practice
    ``:p`` when ``practice``; the day tables from the facts as they then are)."""
    return [
        f"INSERT INTO claim_trend_facts ({CLAIM_FACTS}) {_facts_select(practice)['claims']}",
        f"INSERT INTO visit_trend_facts ({VISIT_FACTS}) {_visit_facts_select(dialect, practice)}",
        f"INSERT INTO claim_day_totals ({CLAIM_DAYS}) {_claim_days_select(dialect, practice)}",
        f"INSERT INTO visit_day_totals ({VISIT_DAYS}) {_visit_days_select(dialect, practice)}",
    ]


def rebuild(conn: Connection, practice_id: str) -> None:
    """Recompute one practice's rows from its records (the outcomes' tables too)."""
    outcome_totals.rebuild(conn, practice_id)
    dialect = conn.dialect.name
    p = {"p": practice_id}
    for table in ("claim_trend_facts", "visit_trend_facts", "claim_day_totals", "visit_day_totals"):
        conn.execute(text(f"DELETE FROM {table} WHERE practice_id = :p"), p)
    claims_facts, visit_facts, claim_days, visit_days = fill_sql(dialect, practice=True)
    conn.execute(text(claims_facts), p)
    conn.execute(text(visit_facts), p)
    # the facts' triggers added the new rows to the day totals; write those again from the facts
    conn.execute(text("DELETE FROM claim_day_totals WHERE practice_id = :p"), p)
    conn.execute(text("DELETE FROM visit_day_totals WHERE practice_id = :p"), p)
    conn.execute(text(claim_days), p)
    conn.execute(text(visit_days), p)


def differences(conn: Connection, practice_id: str) -> list[dict[str, Any]]:
    """Where the kept facts differ from the records, or the kept day totals from the kept
    facts, or the outcomes' tables from the measures (empty when they agree)."""
    dialect = conn.dialect.name
    p = {"p": practice_id}
    checks = (
        ("claim_trend_facts", ("claim_id",), _facts_select(True)["claims"], CLAIM_FACTS),
        ("visit_trend_facts", ("visit_id",), _visit_facts_select(dialect, True), VISIT_FACTS),
        (
            "claim_day_totals",
            ("date_of_service", "payer_id", "status"),
            _claim_days_select(dialect, True),
            CLAIM_DAYS,
        ),
        (
            "visit_day_totals",
            ("date_of_service", "payer_id", "services_key"),
            _visit_days_select(dialect, True),
            VISIT_DAYS,
        ),
    )
    out: list[dict[str, Any]] = []
    for table, key, expected_sql, columns in checks:
        cols = ", ".join(c for c in columns.split(", ") if c != "practice_id")
        kept_sql = f"SELECT {cols} FROM {table} WHERE practice_id = :p"
        wanted = f"SELECT {cols} FROM ({expected_sql}) x"
        zero = "day" if table.endswith("_totals") else None
        expected = keyed_rows(conn.execute(text(wanted), p), key, zero)
        kept = keyed_rows(conn.execute(text(kept_sql), p), key, zero)
        out.extend(
            {"table": table, "key": k, "expected": expected.get(k), "kept": kept.get(k)}
            for k in sorted(set(expected) | set(kept))
            if expected.get(k) != kept.get(k)
        )
    return out + outcome_totals.differences(conn, practice_id)
