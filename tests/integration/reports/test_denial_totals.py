"""The denials report's tables kept at posting (``ledger_line_denials``, ``ledger_denial_days``,
``ledger_denial_reasons``): equal to the ledger on both engines, the report read from them says
what grouping every entry and line says (the whole range, a range of days, one payer), ``db
check`` finds a drift and ``rebuild-totals`` repairs it, and revision 0023 fills them from the
entries already posted."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, and_, case, func, select, text, update

from tests.conftest import require
from tests.integration.db.conftest import PgDatabases, pg_available
from tests.integration.reports.conftest import Practice, build_practice
from therabill.adapters.db import denial_totals, migrations, report_totals
from therabill.adapters.db.ledger_tables import ledger_denial_days, ledger_line_denials
from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.tables import claim_lines
from therabill.reports import ReportQuery, denials
from therabill.reports.common import date_range, load_names
from therabill.reports.revenue import contractual_codes

PREVIOUS = migrations.revisions()[migrations.revisions().index("0023_practice_pages") - 1]


def test_the_routine_reasons_are_the_revenue_reports() -> None:
    assert denial_totals.routine_reasons() == contractual_codes()[1]


def test_kept_denial_tables_equal_the_entries(practice: Practice) -> None:
    with practice.engine.connect() as conn:
        assert denial_totals.differences(conn, practice.practice_id) == []
        counts = {
            t: conn.execute(
                text(f"SELECT count(*) FROM {t} WHERE practice_id = :p"),  # noqa: S608 - fixed names
                {"p": practice.practice_id},
            ).scalar_one()
            for t in ("ledger_line_denials", "ledger_denial_days", "ledger_denial_reasons")
        }
    assert all(n > 0 for n in counts.values()), counts


def _from_entries(
    engine: Engine, q: ReportQuery
) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """By payer and by reason, grouped from every entry and line (the full computation)."""
    routine = sorted(contractual_codes()[1])
    is_denial = and_(
        le.c.kind == "adjustment", le.c.group_code.in_(("CO", "OA", "PI")), le.c.reason_code.not_in(routine)
    )
    conds = [
        le.c.practice_id == q.practice_id,
        le.c.bucket == "insurance",
        le.c.kind.in_(("insurance-payment", "adjustment")),
        *date_range(claim_lines.c.date_of_service, q),
        *([le.c.payer_id == q.payer_id] if q.payer_id else []),
    ]
    per_line = (
        select(
            le.c.payer_id.label("payer"),
            func.max(case((and_(is_denial, le.c.reverses_entry_id.is_(None)), 1), else_=0)).label("denied"),
            func.sum(case((is_denial, le.c.amount_cents), else_=0)).label("stake"),
            func.sum(case((le.c.kind == "insurance-payment", le.c.amount_cents), else_=0)).label("paid"),
        )
        .select_from(le.join(claim_lines, claim_lines.c.id == le.c.claim_line_id))
        .where(*conds)
        .group_by(le.c.payer_id, claim_lines.c.id)
    )
    reason_rows = (
        select(
            le.c.group_code, le.c.reason_code, le.c.claim_line_id, func.sum(le.c.amount_cents).label("cents")
        )
        .select_from(le.join(claim_lines, claim_lines.c.id == le.c.claim_line_id))
        .where(*conds, is_denial)
        .group_by(le.c.group_code, le.c.reason_code, le.c.claim_line_id)
    )
    with engine.connect() as conn:
        names = load_names(conn, q.practice_id)
        by_payer: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r in conn.execute(per_line):
            a = by_payer[names.payer(r.payer)]
            fixed = 1 if r.denied == 1 and r.stake == 0 and r.paid > 0 else 0
            for i, v in enumerate((1, int(r.denied), int(r.stake), fixed)):
                a[i] += v
        by_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in conn.execute(reason_rows):
            a = by_reason[f"{r.group_code}-{r.reason_code}"]
            a[0] += 1
            a[1] += int(r.cents)
    return {k: tuple(v) for k, v in by_payer.items()}, {k: tuple(v) for k, v in by_reason.items()}


@pytest.mark.parametrize("span", ["all", "days", "payer"])
def test_the_report_from_the_kept_tables_equals_grouping_the_entries(practice: Practice, span: str) -> None:
    q = ReportQuery(practice.practice_id)
    if span == "days":
        q = ReportQuery(practice.practice_id, date(2026, 8, 1), date(2026, 9, 15))
    elif span == "payer":
        with practice.engine.connect() as conn:
            payer = conn.execute(
                select(le.c.payer_id)
                .where(le.c.practice_id == practice.practice_id, is_denied_entry())
                .limit(1)
            ).scalar_one()
        q = ReportQuery(practice.practice_id, payer_id=payer)
    report = denials.build(practice.engine, q)
    by_payer, by_reason = _from_entries(practice.engine, q)
    assert {
        g.name: (g.adjudicated, g.denied, int(g.at_stake * 100), g.fixed_and_paid) for g in report.by_payer
    } == by_payer
    assert {r.code: (r.lines, int(r.amount * 100)) for r in report.reasons} == by_reason
    if span == "all":
        assert report.total.denied > 0 and report.total.fixed_and_paid > 0  # the fixture has both


def is_denial_condition() -> Any:
    return denial_totals.denial_condition()


def is_denied_entry() -> Any:
    return and_(is_denial_condition(), le.c.payer_id.is_not(None))


def test_a_drifted_denial_day_is_found_and_rebuilt(practice: Practice) -> None:
    with practice.engine.begin() as conn:
        conn.execute(
            update(ledger_denial_days)
            .where(ledger_denial_days.c.practice_id == practice.practice_id)
            .values(lines=ledger_denial_days.c.lines + 1)
        )
    with practice.engine.connect() as conn:
        found = report_totals.differences(conn, practice.practice_id)
        assert found and {d.get("table") for d in found} == {"ledger_denial_days"}
    with practice.engine.begin() as conn:
        report_totals.rebuild(conn, [practice.practice_id])
    with practice.engine.connect() as conn:
        assert report_totals.differences(conn, practice.practice_id) == []


@pytest.fixture
def pg(pg_databases: PgDatabases) -> Engine:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    return pg_databases.new()


def test_the_revision_fills_the_denial_tables_from_the_posted_entries(pg: Engine) -> None:
    migrations.upgrade(pg)
    p = build_practice(pg)
    with pg.connect() as conn:
        kept_before = conn.execute(text("SELECT count(*) FROM ledger_line_denials")).scalar_one()
    migrations.downgrade(pg, PREVIOUS)
    migrations.upgrade(pg)
    with pg.connect() as conn:
        assert denial_totals.differences(conn, p.practice_id) == []
        assert conn.execute(text("SELECT count(*) FROM ledger_line_denials")).scalar_one() == kept_before > 0


def test_two_postings_on_one_line_at_once_keep_the_day_row_exact(pg: Engine) -> None:
    """A denial and then its reversal and a payment, posted by two transactions on one line at
    once (PostgreSQL): the second waits for the first's line row, and the day row ends as the
    line rows say (denied, fixed and paid)."""
    migrations.upgrade(pg)
    p = build_practice(pg)
    with pg.connect() as conn:
        line = conn.execute(
            select(claim_lines.c.id, claim_lines.c.date_of_service, claim_lines.c.code)
            .where(claim_lines.c.practice_id == p.practice_id)
            .limit(1)
        ).one()
    base = {
        "practice_id": p.practice_id,
        "claim_line_id": line.id,
        "payer_id": "payer-at-once",
        "bucket": "insurance",
        "reverses_entry_id": None,
    }
    denial = {**base, "kind": "adjustment", "group_code": "CO", "reason_code": "50", "amount_cents": 900}
    reversal = {**denial, "amount_cents": -900, "reverses_entry_id": "x"}
    payment = {
        **base,
        "kind": "insurance-payment",
        "group_code": None,
        "reason_code": None,
        "amount_cents": 700,
    }
    first_done = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with pg.begin() as conn:
                denial_totals.add_posted(conn, [denial])
                first_done.set()
                time.sleep(0.3)  # holds the line row while the second posts
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            first_done.set()

    def second() -> None:
        first_done.wait()
        try:
            with pg.begin() as conn:
                denial_totals.add_posted(conn, [reversal, payment])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pg.connect() as conn:
        kept = conn.execute(
            select(ledger_line_denials).where(
                ledger_line_denials.c.claim_line_id == line.id,
                ledger_line_denials.c.payer_id == "payer-at-once",
            )
        ).one()
        day = conn.execute(
            select(ledger_denial_days).where(
                ledger_denial_days.c.practice_id == p.practice_id,
                ledger_denial_days.c.date_of_service == line.date_of_service,
                ledger_denial_days.c.payer_id == "payer-at-once",
                ledger_denial_days.c.code == line.code,
            )
        ).one()
    assert (kept.entries, kept.denials, kept.stake_cents, kept.paid_cents) == (3, 1, 0, 700)
    assert (day.lines, day.denied, day.stake_cents, day.fixed) == (1, 1, 0, 1)
