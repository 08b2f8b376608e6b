"""Every report on the fixture practice, cross-checked against the ledger to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from tests.integration.reports.conftest import ACTOR, AS_OF, Practice
from therabill.adapters.db.tables import goals
from therabill.domain.ledger import EntryKind, balance_of
from therabill.domain.money import ZERO
from therabill.reports import (
    REPORTS,
    ReportQuery,
    aging,
    authorizations,
    denials,
    outcomes,
    revenue,
    trends,
    what_if,
)
from therabill.reports.common import ReportError
from therabill.reports.export import to_csv, to_html
from therabill.service_layer import ledger as svc


def _sum(entries, pred) -> Decimal:  # type: ignore[no-untyped-def]
    return sum((e.amount for e in entries if pred(e)), ZERO)


@pytest.fixture(scope="module")
def entries(practice: Practice):  # type: ignore[no-untyped-def]
    return svc.all_entries(practice.engine, practice.practice_id, ACTOR)


def test_revenue_totals_equal_the_ledger(practice: Practice, entries) -> None:  # type: ignore[no-untyped-def]
    r = revenue.build(practice.engine, ReportQuery(practice.practice_id, as_of=AS_OF))
    bal = balance_of(entries)
    t = r.total
    assert (
        t.charges
        == _sum(entries, lambda e: e.kind is EntryKind.CHARGE and e.detail != "sales-tax")
        == Decimal("761.00")
    )
    assert t.sales_tax == Decimal("1.60")
    assert t.insurance_payments == bal.insurance_payments == Decimal("270.00")
    assert t.patient_payments + t.redemptions == bal.patient_payments
    assert t.redemptions == Decimal("80.00")
    assert t.contractual + t.other_adjustments + t.write_offs == bal.adjustments
    assert t.contractual == Decimal("67.00") and t.other_adjustments == Decimal("35.00")
    assert t.tips == _sum(entries, lambda e: e.kind is EntryKind.TIP) == Decimal("15.00")
    assert t.prepaid_sales == Decimal("240.00")
    assert t.net_collection_rate == (Decimal(100) * t.payments / (t.charges - t.contractual)).quantize(
        Decimal("0.1")
    )
    for groups in (r.by_month, r.by_payer, r.by_code, r.by_provider, r.by_location):
        for field in (
            "charges",
            "insurance_payments",
            "patient_payments",
            "contractual",
            "write_offs",
            "tips",
        ):
            assert sum((getattr(f, field) for f in groups.values()), ZERO) == getattr(t, field), field
    assert r.cash_services == {
        "self-pay": Decimal("90.00"),
        "no-show-fee": Decimal("40.00"),
        "retail": Decimal("20.00"),
        "sales-tax": Decimal("1.60"),
    }
    per_unit = {(p.payer, p.code): p for p in r.per_unit}
    # Aetna paid 97124: 80.00 on 4 units, 60.00 on 3, 40.00 on 2 -> 180 / 9
    assert per_unit[("Aetna", "97124")].average == Decimal("20.00")
    assert per_unit[("Aetna", "97124")].practice_fee == Decimal("30.00")


def test_revenue_range_and_payer_filter(practice: Practice, entries) -> None:  # type: ignore[no-untyped-def]
    q = ReportQuery(practice.practice_id, date(2026, 9, 1), date(2026, 9, 30), practice.payers["aetna"])
    r = revenue.build(practice.engine, q)
    assert set(r.by_month) == {"2026-09"} and set(r.by_payer) == {"Aetna"}
    assert r.total.insurance_payments == Decimal("40.00")  # c1 paid on 2026-09-25
    with pytest.raises(ReportError):
        revenue.build(practice.engine, ReportQuery(practice.practice_id, payer_id="no-such-payer"))
    with pytest.raises(ReportError):
        ReportQuery(practice.practice_id, date(2026, 10, 1), date(2026, 9, 1))


def test_aging_equals_ledger_balances(practice: Practice, entries) -> None:  # type: ignore[no-untyped-def]
    r = aging.build(practice.engine, ReportQuery(practice.practice_id, as_of=AS_OF))
    bal = balance_of(entries)
    assert r.insurance_total + r.insurance_credits == bal.insurance_balance == Decimal("180.00")
    assert r.patient_total + r.patient_credits == bal.patient_balance
    assert r.patient_credits == Decimal("-5.00")  # Ann paid 15.00 too much, 10.00 was refunded
    assert any("first submission" in n for n in r.notes) and any("first statement" in n for n in r.notes)


@pytest.mark.parametrize(
    ("as_of", "a3_bucket", "c2_bucket"),
    [
        # a3 first submitted 2026-10-28, c2 on 2026-11-20
        (date(2026, 11, 27), "0-30", "0-30"),
        (date(2026, 11, 28), "31-60", "0-30"),
        (date(2026, 12, 28), "61-90", "31-60"),
        (date(2027, 2, 26), "121+", "91-120"),
    ],
)
def test_insurance_aging_buckets_on_fixed_dates(
    practice: Practice, as_of: date, a3_bucket: str, c2_bucket: str
) -> None:
    r = aging.build(practice.engine, ReportQuery(practice.practice_id, as_of=as_of))
    (aetna,) = r.insurance
    expected: dict[str, Decimal] = {}
    expected[a3_bucket] = expected.get(a3_bucket, ZERO) + Decimal("120.00")
    expected[c2_bucket] = expected.get(c2_bucket, ZERO) + Decimal("60.00")
    assert {k: v for k, v in aetna.buckets.items() if v} == expected


def test_patient_aging_from_the_first_day_owed(practice: Practice) -> None:
    # Dee's self-pay charge and its redemption are from 2026-10-05, the no-show fee and the
    # retail sale from 2026-10-12.
    r = aging.build(practice.engine, ReportQuery(practice.practice_id, as_of=date(2026, 11, 11)))
    dee = next(p for p in r.patients if p.name.startswith("Test, Dee"))
    assert {k for k, v in dee.buckets.items() if v} == {"31-60", "0-30"}
    assert dee.total == Decimal("11.60")
    before = aging.build(practice.engine, ReportQuery(practice.practice_id, as_of=date(2026, 10, 6)))
    dee_then = next(p for p in before.patients if p.name.startswith("Test, Dee"))
    assert dee_then.buckets == {"0-30": Decimal("10.00")}  # 90.00 charged, 80.00 redeemed


def test_aging_bucket_edges() -> None:
    assert [aging.bucket_of(d) for d in (-3, 0, 30, 31, 60, 61, 90, 91, 120, 121, 999)] == [
        "0-30",
        "0-30",
        "0-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "91-120",
        "91-120",
        "121+",
        "121+",
    ]


def test_denials_money_at_stake_is_the_ledgers(practice: Practice, entries) -> None:  # type: ignore[no-untyped-def]
    r = denials.build(practice.engine, ReportQuery(practice.practice_id))
    stake = _sum(
        entries,
        lambda e: (
            e.kind is EntryKind.ADJUSTMENT
            and e.group_code in ("CO", "OA", "PI")
            and e.reason_code not in ("45", "253")
        ),
    )
    assert r.total.at_stake == stake == Decimal("35.00")
    assert (r.total.adjudicated, r.total.denied, r.total.fixed_and_paid) == (6, 2, 1)
    reasons = {x.code: x for x in r.reasons}
    assert reasons["CO-97"].amount == Decimal("35.00") and "Bundled" in reasons["CO-97"].words
    assert reasons["CO-50"].amount == ZERO  # the line denied and fixed: nothing at stake now
    by_code = {g.name: g for g in r.by_code}
    assert by_code["97140"].rate == Decimal("100.0")


def test_what_if_on_visits_whose_methods_differ(practice: Practice) -> None:
    r = what_if.build(practice.engine, ReportQuery(practice.practice_id))
    blue = next(f for f in r.payers if f.payer == "Blue Plan")
    # b1: 97110 23 + 97140 8 -> cms 2 units (31 min), per-code 2 + 1 = 3
    # b2: 97110 8 + 97140 8 -> cms 1 unit, per-code 1 + 1 = 2
    assert (blue.visits, blue.visits_differing, blue.units_cms, blue.units_per_code) == (2, 2, 3, 5)
    assert blue.revenue_cms == Decimal("126.00")  # 3 x 97110 at 42.00
    assert blue.revenue_per_code == Decimal("196.00")  # 3 x 42.00 + 2 x 35.00
    assert blue.payer_method == "cms" and blue.cost_of_rule == Decimal("70.00")
    aetna = next(f for f in r.payers if f.payer == "Aetna")
    assert aetna.units_cms == aetna.units_per_code == 16 and aetna.visits_differing == 0
    only = what_if.build(
        practice.engine, ReportQuery(practice.practice_id, date(2026, 9, 21), date(2026, 9, 21))
    )
    assert [(f.payer, f.units_cms, f.units_per_code) for f in only.payers] == [("Blue Plan", 1, 2)]


def test_authorizations_used_and_left(practice: Practice) -> None:
    r = authorizations.build(practice.engine, ReportQuery(practice.practice_id, as_of=AS_OF))
    (a,) = r.rows
    assert (a.visits_used, a.visits_left, a.units_used, a.units_left) == (2, 2, 5, 7)
    assert a.status == "expiring soon"  # ends 2026-12-10, within 30 days
    later = authorizations.build(practice.engine, ReportQuery(practice.practice_id, as_of=date(2026, 12, 11)))
    assert later.rows[0].status == "expired"
    early = authorizations.build(practice.engine, ReportQuery(practice.practice_id, as_of=date(2026, 9, 5)))
    assert early.rows[0].status == "active"


def test_trends(practice: Practice) -> None:
    r = trends.build(practice.engine, ReportQuery(practice.practice_id))
    months = {m.month: m for m in r.months}
    assert months["2026-08"].visits == 2 and months["2026-08"].units == 6
    assert months["2026-10"].visits == 2 and months["2026-10"].claims == 1  # Dee's visit is not billed
    assert months["2026-08"].days_to_claim == Decimal("2.0")
    # a1: submitted 08-05, paid 08-24 (19 days); b1: submitted 08-12, first paid 09-28 (47 days)
    assert months["2026-08"].days_to_payment == Decimal("33.0")
    assert sum(sum(s.values()) for s in r.statuses.values()) == 7


def test_outcomes_and_share_of_goals_met(practice: Practice, engine: Engine) -> None:
    r = outcomes.build(practice.engine, ReportQuery(practice.practice_id))
    ann = next(p for p in r.patients if p.patient.startswith("Test, Ann"))
    pain = next(s for s in ann.series if s.kind == "pain")
    assert [v for _, v in pain.points] == [6, 4, 2] and pain.improved
    strength = next(s for s in ann.series if s.kind == "strength")
    assert strength.first == Decimal("3.5") and strength.last == Decimal("4.5")
    assert (r.goals_total, r.goals_met) == (4, 0)
    one = outcomes.build(
        practice.engine, ReportQuery(practice.practice_id, patient_id=practice.patients["bob"])
    )
    assert [p.patient for p in one.patients] == ["Test, Bob (C-2)"]


def test_every_report_exports_csv_and_html(practice: Practice) -> None:
    from therabill.reports import build_report

    for name in REPORTS:
        report = build_report(name, practice.engine, ReportQuery(practice.practice_id, as_of=AS_OF))
        text = to_csv(report)
        assert text.startswith(f"# {report.title}")
        for t in report.tables():
            assert f"# {t.title}" in text
        page = to_html(report)
        assert page.count("<svg") == len(report.charts()) >= 1
        assert "<script" not in page


def test_goal_met_counts(practice: Practice) -> None:
    # No use case marks a goal met yet; the status column is what a future one will set.
    with practice.engine.begin() as c:
        c.execute(
            goals.update()
            .where(
                goals.c.practice_id == practice.practice_id, goals.c.patient_id == practice.patients["ann"]
            )
            .values(status="met")
        )
    r = outcomes.build(practice.engine, ReportQuery(practice.practice_id))
    assert (r.goals_total, r.goals_met, r.share_met) == (4, 1, Decimal("25.0"))
