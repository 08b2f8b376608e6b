"""The derived tables of revenue and aging at practice scale (``ledger_day_totals``,
``ledger_line_payments``, ``ledger_unit_totals``, ``ledger_patient_open``): on generated
postings (a seeded random mix of insurance payments, recoupments and reversals on claim lines
over several months, patient charges, payments, credits and unapplied payments) the kept tables
equal their recomputation, and the reports' fast paths give what the plain queries over every
entry give, for ranges whose bounds cut through lines paid on several days. Both engines.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, insert, select, text

from tests.conftest import require
from tests.integration.db.conftest import PgDatabases, new_empty_engine, pg_available
from tests.integration.reports.conftest import Practice, build_practice
from therabill.adapters.db import migrations, report_totals
from therabill.adapters.db.base import metadata
from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.summary_tables import SUMMARY_TABLES
from therabill.adapters.db.tables import claim_lines, claim_status_events, claims
from therabill.reports import ReportQuery, aging, revenue
from therabill.reports.common import load_names, read_connection, start_of
from therabill.reports.revenue_units import kept_rows, reference_rows

FIRST = date(2027, 1, 3)
DAYS = 150
AS_OF = FIRST + timedelta(days=DAYS + 5)
REVISION = "0025_aging_revenue_scale"


def _at(day: date, seconds: int) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC) + timedelta(seconds=seconds)


def _generate(p: Practice, seed: int, batches: int = 40) -> int:
    """Post seeded random entries on the practice's claim lines and patients, batch by batch
    in one transaction each, adding each batch to the kept tables as posting does."""
    rnd = random.Random(seed)
    with p.engine.connect() as conn:
        lines = conn.execute(
            select(claim_lines.c.id, claim_lines.c.claim_id, claims.c.patient_id, claims.c.payer_id)
            .join(claims, claims.c.id == claim_lines.c.claim_id)
            .where(claims.c.practice_id == p.practice_id)
            .order_by(claim_lines.c.id)
        ).all()
    payers = sorted(p.payers.values())
    posted = 0
    for b in range(batches):
        rows: list[dict[str, Any]] = []
        for _ in range(rnd.randint(1, 12)):
            line = rnd.choice(lines)
            day = FIRST + timedelta(days=rnd.randrange(DAYS))
            at = _at(day, rnd.randrange(86_400))
            roll = rnd.random()
            base = {
                "id": uuid.uuid4().hex,
                "practice_id": p.practice_id,
                "patient_id": line.patient_id,
                "posted_at": at,
                "posted_by": "test",
            }
            if roll < 0.45:  # an insurance payment, a recoupment or a reversal on the line
                amount = rnd.choice([1, 1, 1, -1]) * rnd.randint(100, 9000)
                payer = rnd.choice([*payers, line.payer_id, None])
                rows.append(
                    base
                    | {
                        "claim_id": line.claim_id if rnd.random() < 0.95 else None,
                        "claim_line_id": line.id,
                        "item_id": line.id,
                        "payer_id": payer,
                        "kind": "insurance-payment",
                        "bucket": "insurance",
                        "amount_cents": amount,
                    }
                )
            elif roll < 0.7:  # a patient charge or transfer on an item (the line, or its own)
                item = line.id if rnd.random() < 0.7 else uuid.uuid4().hex
                rows.append(
                    base
                    | {
                        "item_id": item,
                        "kind": "charge",
                        "bucket": "patient",
                        "detail": "copay",
                        "amount_cents": rnd.randint(500, 8000),
                    }
                )
            else:  # a patient payment: on the line's item, more than owed, or unapplied
                rows.append(
                    base
                    | {
                        "item_id": rnd.choice([line.id, line.id, None]),
                        "claim_id": line.claim_id if rnd.random() < 0.5 else None,
                        "kind": "patient-payment",
                        "bucket": "patient",
                        "detail": "card",
                        "amount_cents": rnd.randint(100, 9000),
                    }
                )
        with p.engine.begin() as conn:
            conn.execute(
                insert(le), [{**{c.name: None for c in le.c if not c.primary_key}, **r} for r in rows]
            )
            report_totals.add_posted(conn, rows)
        posted += len(rows)
        del b
    return posted


@pytest.fixture(scope="module")
def generated(engine: Engine) -> Practice:
    p = build_practice(engine)
    assert _generate(p, seed=22) > 100
    return p


def test_kept_tables_equal_their_recomputation(generated: Practice) -> None:
    with generated.engine.connect() as conn:
        assert report_totals.differences(conn, generated.practice_id) == []
        spread = conn.execute(
            text(
                "SELECT count(*) FROM ledger_line_payments WHERE practice_id = :p AND first_day <> last_day"
            ),
            {"p": generated.practice_id},
        ).scalar_one()
        credits = conn.execute(
            text("SELECT sum(credit_rows) FROM ledger_patient_open WHERE practice_id = :p"),
            {"p": generated.practice_id},
        ).scalar_one()
        unsubmitted, ages = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM ledger_claim_open WHERE practice_id = :p AND submitted_at IS NULL"
                " AND balance_cents <> 0), (SELECT count(*) FROM ledger_claim_ages WHERE practice_id = :p)"
            ),
            {"p": generated.practice_id},
        ).one()
    assert spread > 3, "some lines are paid on several days (the range bounds cut through them)"
    assert unsubmitted > 0 and ages > 3, "open balances of claims submitted and of no claim"
    assert credits and credits > 0, "some patient balances are credits"


RANGES = [
    (None, None),
    (FIRST + timedelta(days=20), FIRST + timedelta(days=90)),
    (FIRST + timedelta(days=31), None),
    (None, FIRST + timedelta(days=64)),
    (FIRST + timedelta(days=45), FIRST + timedelta(days=45)),
    (date(2027, 2, 1), date(2027, 3, 31)),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
@pytest.mark.parametrize("by_payer", [False, True])
def test_paid_per_unit_from_the_kept_lines_equals_the_entries(
    generated: Practice, start: date | None, end: date | None, by_payer: bool
) -> None:
    payer = sorted(generated.payers.values())[0] if by_payer else None
    q = ReportQuery(generated.practice_id, start, end, payer, AS_OF)
    with read_connection(generated.engine) as conn:
        fast, reference = kept_rows(conn, q), reference_rows(conn, q)
    assert fast == reference
    if not by_payer and start is None and end is None:
        assert reference, "the practice has paid lines of the codes"


@pytest.mark.parametrize(("start", "end"), RANGES[1:4])
def test_revenue_days_from_the_day_totals_equal_the_entries(
    generated: Practice, start: date | None, end: date | None
) -> None:
    from tests.integration.reports.test_revenue_reference import _figures, _reference

    q = ReportQuery(generated.practice_id, start, end, None, AS_OF)
    report = revenue.build(generated.engine, q)
    ref = _reference(generated, q)
    for dim, groups in (("month", report.by_month), ("payer", report.by_payer), ("code", report.by_code)):
        assert _figures(groups) == {k: {f: v for f, v in figs.items() if v} for k, figs in ref[dim].items()}


@pytest.mark.parametrize("days_after", [0, 20, 45, 100, 400])
def test_aging_from_the_kept_totals_equals_aging_from_the_ledger(
    generated: Practice, monkeypatch: pytest.MonkeyPatch, days_after: int
) -> None:
    q = ReportQuery(generated.practice_id, as_of=AS_OF + timedelta(days=days_after))
    with generated.engine.connect() as conn:
        assert report_totals.balances_complete_before(conn, q.practice_id, start_of(q.day))
    kept = aging.build(generated.engine, q)
    monkeypatch.setattr(aging, "balances_complete_before", lambda *_a: False)
    from_ledger = aging.build(generated.engine, q)
    assert (kept.insurance, kept.patients, kept.insurance_credits, kept.patient_credits) == (
        from_ledger.insurance,
        from_ledger.patients,
        from_ledger.insurance_credits,
        from_ledger.patient_credits,
    )
    assert kept.patients and kept.patient_credits < 0


def _aging_agrees(p: Practice, monkeypatch: pytest.MonkeyPatch) -> aging.AgingReport:
    q = ReportQuery(p.practice_id, as_of=AS_OF)
    kept = aging.build(p.engine, q)
    with monkeypatch.context() as m:
        m.setattr(aging, "balances_complete_before", lambda *_a: False)
        from_ledger = aging.build(p.engine, q)
    assert (kept.insurance, kept.insurance_credits) == (from_ledger.insurance, from_ledger.insurance_credits)
    assert (kept.patients, kept.patient_credits) == (from_ledger.patients, from_ledger.patient_credits)
    with p.engine.connect() as conn:
        assert report_totals.differences(conn, p.practice_id) == []
    return kept


def test_a_claim_submitted_after_its_charge_ages_from_its_submission(
    generated: Practice, monkeypatch: pytest.MonkeyPatch
) -> None:
    with generated.engine.connect() as conn:
        claim = dict(
            conn.execute(select(claims).where(claims.c.practice_id == generated.practice_id).limit(1))
            .one()
            ._mapping
        )
    claim |= {"id": uuid.uuid4().hex, "claim_number": "T" + uuid.uuid4().hex[:9], "status": "ready"}
    claim |= {"replaces_claim_id": None, "primary_claim_id": None, "batch_id": None}
    charge = {
        "id": uuid.uuid4().hex,
        "practice_id": generated.practice_id,
        "patient_id": claim["patient_id"],
        "claim_id": claim["id"],
        "payer_id": claim["payer_id"],
        "kind": "charge",
        "bucket": "insurance",
        "amount_cents": 123_456,
        "posted_at": _at(FIRST + timedelta(days=10), 3600),
        "posted_by": "test",
    }
    with generated.engine.begin() as conn:
        conn.execute(insert(claims), [claim])
        conn.execute(insert(le), [{**{c.name: None for c in le.c if not c.primary_key}, **charge}])
        report_totals.add_posted(conn, [charge])
    before = _aging_agrees(generated, monkeypatch)  # not submitted: ages from its creation
    with generated.engine.begin() as conn:
        conn.execute(
            insert(claim_status_events),
            [
                {
                    "id": uuid.uuid4().hex,
                    "practice_id": generated.practice_id,
                    "claim_id": claim["id"],
                    "seq": 1,
                    "status": "submitted",
                    "at": _at(AS_OF - timedelta(days=3), 0),
                    "actor": "test",
                }
            ],
        )
    after = _aging_agrees(generated, monkeypatch)  # submitted since: ages from the submission
    assert before.insurance != after.insurance
    payment = charge | {"id": uuid.uuid4().hex, "kind": "insurance-payment", "amount_cents": 23_456}
    payment["posted_at"] = _at(AS_OF - timedelta(days=2), 0)
    with generated.engine.begin() as conn:
        conn.execute(insert(le), [{**{c.name: None for c in le.c if not c.primary_key}, **payment}])
        report_totals.add_posted(conn, [payment])
    _aging_agrees(generated, monkeypatch)  # the balance moved to the submitted claims' totals


def test_a_drifted_unit_total_is_found_and_rebuilt(generated: Practice) -> None:
    with generated.engine.begin() as conn:
        conn.execute(
            text("UPDATE ledger_patient_open SET aged_items = aged_items + 1 WHERE practice_id = :p"),
            {"p": generated.practice_id},
        )
        conn.execute(
            text("UPDATE ledger_unit_totals SET paid_cents = paid_cents + 1 WHERE practice_id = :p"),
            {"p": generated.practice_id},
        )
    with generated.engine.connect() as conn:
        found = {d.get("table") for d in report_totals.differences(conn, generated.practice_id)}
    assert {"ledger_patient_open", "ledger_unit_totals"} <= found
    with generated.engine.begin() as conn:
        report_totals.rebuild(conn, [generated.practice_id])
    with generated.engine.connect() as conn:
        assert report_totals.differences(conn, generated.practice_id) == []
        assert load_names(conn, generated.practice_id).practice


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Any, pg_databases: PgDatabases) -> Iterator[Engine]:
    if request.param == "postgresql":
        require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    eng = new_empty_engine(request.param, tmp_path, pg_databases)
    yield eng
    eng.dispose()


def test_the_revision_fills_the_tables_from_what_is_posted(fresh: Engine) -> None:
    migrations.upgrade(fresh)
    with fresh.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    names = {t.name for t in SUMMARY_TABLES}
    assert [d for d in diffs if any(n in repr(d) for n in (*names, "ix_ledger_balances_started"))] == []
    p = build_practice(fresh)
    _generate(p, seed=7, batches=10)
    previous = migrations.revisions()[migrations.revisions().index(REVISION) - 1]
    migrations.downgrade(fresh, previous)
    migrations.upgrade(fresh)
    with fresh.connect() as conn:
        assert report_totals.differences(conn, p.practice_id) == []
        kept = conn.execute(select(func.count()).select_from(SUMMARY_TABLES[0])).scalar_one()
    assert kept > 5
