"""Plan shape on PostgreSQL, not time: every query that a report or a main page sends for one
practice of a database shared by many practices reaches the big tables through an index that
starts with the practice (no sequential scan of a shared table), and the aging report reads
the open balances through their partial index. The data is the scale benchmark's generator
(``bench/scale_data.sql``) at a small size: 12 practices of different sizes.

Sequential scans are switched off for the EXPLAIN (``enable_seqscan = off``): on tables this
small the planner may rightly prefer one, and the question here is whether an index fit for
the query exists, which the planner then shows by not falling back to a (disabled) scan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from bench.bench_scale import LAST_DAY, statements
from sqlalchemy import Engine, event, text

from tests.conftest import require
from tests.integration.db.conftest import PgDatabases, pg_available
from therabill.adapters.db import migrations, report_totals
from therabill.reports import REPORTS, ReportQuery, build_report
from therabill.service_layer import claims as claims_service
from therabill.service_layer import dashboard as dashboard_service
from therabill.service_layer import followup, submission, work_queues
from therabill.service_layer import patients as patients_service
from therabill.service_layer.accounts import Principal

SIZES = {"practices": 12, "largest": 1500, "medium": 400, "small": 100, "tail": 40}
SHARED_TABLES = (
    "ledger_entries",
    "ledger_balances",
    "ledger_month_totals",
    "ledger_line_denials",
    "ledger_denial_days",
    "ledger_denial_reasons",
    "ledger_day_totals",
    "ledger_line_payments",
    "ledger_unit_totals",
    "ledger_patient_open",
    "ledger_claim_open",
    "ledger_claim_ages",
    "claims",
    "claim_lines",
    "claim_status_events",
    "visits",
    "objective_measures",
    "patients",
    "claim_day_totals",
    "visit_day_totals",
    "measure_days",
    "measure_visit_days",
)
PID = hashlib.md5(b"p1").hexdigest()  # noqa: S324 - the generator's id of practice 1


@pytest.fixture(scope="module")
def shared(pg_databases: PgDatabases) -> Iterator[Engine]:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    engine = pg_databases.new()
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for stmt in statements(SIZES):
            conn.exec_driver_sql(stmt.replace("%", "%%"))
        pids = list(conn.execute(text("SELECT id FROM practices")).scalars())
        report_totals.rebuild(conn, pids)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    yield engine


def _captured(engine: Engine, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plans(
    engine: Engine, found: list[tuple[str, Any]], *, hash_aggregates: bool = True
) -> list[tuple[str, list[dict[str, Any]]]]:
    out = []
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        if not hash_aggregates:
            conn.execute(text("SET enable_hashagg = off"))
            conn.execute(text("SET enable_bitmapscan = off"))
        for statement, parameters in found:
            raw = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
            doc = raw if isinstance(raw, list) else json.loads(raw)
            out.append((statement, list(_nodes(doc[0]["Plan"]))))
    return out


def _seq_scans(plans: list[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    return [
        f"{n['Relation Name']}: {statement[:160]}"
        for statement, nodes in plans
        for n in nodes
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in SHARED_TABLES
    ]


def _calls() -> dict[str, Callable[[Engine], Any]]:
    calls: dict[str, Callable[[Engine], Any]] = {}
    for name in REPORTS:
        calls[f"report {name}"] = lambda e, n=name: build_report(n, e, ReportQuery(PID, as_of=LAST_DAY))
        calls[f"report {name} last year"] = lambda e, n=name: build_report(
            n, e, ReportQuery(PID, LAST_DAY - timedelta(days=365), LAST_DAY, as_of=LAST_DAY)
        )
    calls["dashboard"] = lambda e: dashboard_service.dashboard(e, PID, "test", day=LAST_DAY, billing=True)
    calls["claims worklist"] = lambda e: claims_service.worklist(e, PID, "test")
    calls["follow-up"] = lambda e: submission.follow_up(e, PID, "test", as_of=LAST_DAY)
    calls["follow-up worklist"] = lambda e: followup.worklist_head(e, PID, "test", as_of=LAST_DAY, rows=20)
    calls["claims page"] = lambda e: (
        work_queues.claims_page(e, PID, "test"),
        work_queues.billing_queues(e, PID, "test"),
    )
    calls["patient search"] = lambda e: patients_service.search(
        e, Principal(user_id="t", username="t", display_name="T", practice_id=PID, role="owner"), "L12"
    )
    return calls


@pytest.mark.parametrize("name", list(_calls()))
def test_every_query_reaches_the_shared_tables_through_a_practice_index(shared: Engine, name: str) -> None:
    found = _captured(shared, lambda: _calls()[name](shared))
    assert found, "the call sent no query"
    plans = _plans(shared, found)
    assert _seq_scans(plans) == []
    for _statement, nodes in plans:  # every index scan of a shared table is bounded by the practice (or a
        # primary-key lookup joined from a row that was)
        for n in nodes:
            if n.get("Relation Name") in SHARED_TABLES and "Index" in n["Node Type"]:
                assert "practice_id" in (n.get("Index Cond", "") + n.get("Filter", "")) or n.get(
                    "Index Name", ""
                ).endswith(
                    ("_report_id", "_pkey", "pk_claims", "pk_claim_lines", "pk_visits", "pk_patients")
                ), n


def test_aging_reads_the_open_balances_through_their_partial_index(shared: Engine) -> None:
    found = _captured(shared, lambda: build_report("aging", shared, ReportQuery(PID, as_of=LAST_DAY)))
    plans = _plans(shared, found)
    used = {n.get("Index Name") for _s, nodes in plans for n in nodes}
    # the recent patient items by the time they started, the claims not submitted when they last
    # changed, the kept per-payer-and-day and per-patient totals by their keys
    assert {"ix_ledger_balances_started", "ix_ledger_claim_open_unsubmitted"} <= used
    assert {"pk_ledger_claim_ages", "pk_ledger_patient_open"} <= used
    scanned = {n.get("Relation Name") for _s, nodes in plans for n in nodes}
    assert "ledger_entries" not in scanned  # the kept balances alone, not the practice's entries


def test_aging_of_a_past_day_groups_the_index_in_its_order(shared: Engine) -> None:
    """Entries were posted after the day, so the ledger is read: grouped without a sort (with
    hash aggregation and bitmap scans off, a GROUP BY in another order than the covering
    index would need one)."""
    day = LAST_DAY - timedelta(days=200)
    found = _captured(shared, lambda: build_report("aging", shared, ReportQuery(PID, as_of=day)))
    plans = _plans(shared, found, hash_aggregates=False)
    insurance = [
        nodes
        for _s, nodes in plans
        if any(
            n.get("Index Name") == "ix_ledger_entries_report_bucket"
            and "insurance" in n.get("Index Cond", "")
            for n in nodes
        )
    ]
    assert len(insurance) == 1, [
        (n["Node Type"], n.get("Index Name"), n.get("Index Cond"))
        for _s, nodes in plans
        for n in nodes
        if n.get("Relation Name") == "ledger_entries"
    ]

    # The aggregate that reads the entries has no sort below it (what is sorted above it, for the
    # sums per payer and bucket, is one row per claim, not every entry).
    def reads_entries(node: dict[str, Any]) -> bool:
        return node.get("Index Name") == "ix_ledger_entries_report_bucket"

    grouping = [
        n
        for n in insurance[0]
        if n["Node Type"] == "Aggregate"
        and any(reads_entries(m) for m in _nodes(n))
        and not any(m["Node Type"] == "Aggregate" for m in list(_nodes(n))[1:])
    ]
    assert len(grouping) == 1, [n["Node Type"] for n in insurance[0]]
    kinds = [n["Node Type"] for n in _nodes(grouping[0])]
    assert "Sort" not in kinds, kinds


@pytest.mark.parametrize("last_year", [False, True])
def test_denials_read_the_kept_day_and_reason_rows_not_the_entries(shared: Engine, last_year: bool) -> None:
    q = ReportQuery(PID, LAST_DAY - timedelta(days=365), LAST_DAY) if last_year else ReportQuery(PID)
    found = _captured(shared, lambda: build_report("denials", shared, q))
    plans = _plans(shared, found)
    scanned = {n.get("Relation Name") for _s, nodes in plans for n in nodes}
    assert {"ledger_denial_days", "ledger_denial_reasons"} <= scanned
    assert not scanned & {"ledger_entries", "claim_lines", "ledger_line_denials"}
    used = {n.get("Index Name") for _s, nodes in plans for n in nodes}
    assert {"pk_ledger_denial_days", "ix_ledger_denial_reasons_day"} <= used, used


@pytest.mark.parametrize("reason", [None, "unpaid"])
def test_the_follow_up_page_reads_its_oldest_rows_in_order_from_the_waiting_claims_index(
    shared: Engine, reason: str | None
) -> None:
    """The page's rows without a sort (the index's order, stopped at the page's last row) and the
    count of all from the partial index of the claims that can be due, not from the claims."""
    found = _captured(
        shared, lambda: followup.worklist_head(shared, PID, "test", as_of=LAST_DAY, rows=20, reason=reason)
    )
    plans = [(s, nodes) for s, nodes in _plans(shared, found) if "FROM claims" in s]
    assert len(plans) == 2, [s[:120] for s, _ in plans]  # the rows, the count
    for _statement, nodes in plans:
        on_claims = [n for n in nodes if n.get("Relation Name") == "claims"]
        assert [(n["Node Type"], n.get("Index Name")) for n in on_claims] == [
            ("Index Only Scan", "ix_claims_followup")
        ]
    head_kinds = [n["Node Type"] for n in plans[0][1]]
    assert head_kinds[0] == "Limit" and "Sort" not in head_kinds and "Incremental Sort" not in head_kinds
