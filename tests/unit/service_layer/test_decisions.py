"""Service-layer decisions on the fake unit of work (no database): claim status transitions,
authorizations being used and running out, who may see which visits, posting a remittance's
verdict onto a claim, and ready claims grouped into one batch per payer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.unit.service_layer.fake_uow import FakeRow, FakeUnitOfWork
from therabill.adapters.db.tables import (
    authorization_events,
    authorizations,
    claim_status_events,
    claims,
    coverages,
    objective_measures,
    patients,
    visits,
)
from therabill.domain.errors import NotFoundError
from therabill.domain.posting import ClaimRef
from therabill.domain.records import TransitionError
from therabill.domain.remittance import ClaimPayment
from therabill.service_layer import claim_status
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer.accounts import Principal
from therabill.service_layer.dashboard import authorizations_running_out_in
from therabill.service_layer.patients import patient_chart_in
from therabill.service_layer.remittance_posting import update_claim_status_in
from therabill.service_layer.visits import visits_of_patient_in
from therabill.service_layer.work_queues import ready_groups

DAY = date(2026, 11, 23)


def _claim(uow: FakeUnitOfWork, status: str, number: str = "TB1", **values: Any) -> str:
    return uow.add(claims, claim_number=number, status=status, findings=None, **values)


# --- claim status --------------------------------------------------------------------------


def test_a_claim_moves_along_its_life_cycle_with_an_event_and_an_audit_row() -> None:
    uow = FakeUnitOfWork()
    cid = _claim(uow, "scrubbed")
    with uow:
        claim_status.set_status_in(uow, uow.row(claims, cid), "ready", note="checked")
        claim_status.set_status_in(uow, uow.row(claims, cid), "submitted")
    assert uow.row(claims, cid).status == "submitted"
    events = uow.records.status_history(cid)
    assert [(e.seq, e.status, e.actor) for e in events] == [
        (1, "ready", "user:test"),
        (2, "submitted", "user:test"),
    ]
    assert events[0].note == "checked"
    assert uow.audited() == ["claim.status", "claim.status"]


@pytest.mark.parametrize(
    ("start", "target"), [("draft", "submitted"), ("submitted", "ready"), ("paid", "draft")]
)
def test_a_move_the_life_cycle_does_not_allow_changes_nothing(start: str, target: str) -> None:
    uow = FakeUnitOfWork()
    cid = _claim(uow, start)
    with pytest.raises(TransitionError), uow:
        claim_status.set_status_in(uow, uow.row(claims, cid), target)
    assert uow.row(claims, cid).status == start
    assert uow.records.rows(claim_status_events) == [] and uow.audited() == []


# --- authorizations ----------------------------------------------------------------------


def _authorization(uow: FakeUnitOfWork, patient: str = "pat1", **values: Any) -> tuple[str, str]:
    cov = uow.add(coverages, patient_id=patient, payer_id="payer1", sequence="primary", member_id="M1")
    defaults = {"number": "PA-1", "start_date": date(2026, 11, 1), "end_date": date(2026, 12, 31), "codes": [],
                "visits_allowed": 12, "visits_used": 0, "units_allowed": 48, "units_used": 0}  # fmt: skip
    return cov, uow.add(authorizations, coverage_id=cov, **{**defaults, **values})


def _coded(number: str, dos: date, lines: list[tuple[str, int]]) -> Any:
    """What ``use_authorization_in`` reads of a coded claim."""
    coverage = SimpleNamespace(authorization=SimpleNamespace(number=number))
    return cast(Any, SimpleNamespace(
        encounter=SimpleNamespace(coverage=coverage, date_of_service=dos),
        lines=[SimpleNamespace(code=c, units=u) for c, u in lines],
    ))  # fmt: skip


def test_a_claim_uses_its_authorization_and_a_void_gives_it_back() -> None:
    uow = FakeUnitOfWork()
    cov, auth = _authorization(uow, codes=["97124"])
    with uow:
        coverages_svc.use_authorization_in(uow, "c1", cov, _coded("PA-1", DAY, [("97124", 4), ("97140", 2)]))
    assert (uow.row(authorizations, auth).visits_used, uow.row(authorizations, auth).units_used) == (1, 4)
    with uow:
        coverages_svc.release_authorization_in(uow, "c1")
        coverages_svc.release_authorization_in(uow, "c1")  # twice: nothing more to give back
    assert (uow.row(authorizations, auth).visits_used, uow.row(authorizations, auth).units_used) == (0, 0)
    kinds = [e.kind for e in uow.records.rows(authorization_events, order_by=[authorization_events.c.at])]
    assert sorted(kinds) == ["release", "use"]


def test_an_authorization_of_another_number_or_out_of_its_dates_is_not_used() -> None:
    uow = FakeUnitOfWork()
    cov, auth = _authorization(uow)
    with uow:
        coverages_svc.use_authorization_in(uow, "c1", cov, _coded("PA-OTHER", DAY, [("97124", 4)]))
        coverages_svc.use_authorization_in(uow, "c2", cov, _coded("PA-1", date(2027, 1, 5), [("97124", 4)]))
    assert uow.row(authorizations, auth).visits_used == 0
    assert uow.records.rows(authorization_events) == []


def test_authorizations_running_out() -> None:
    uow = FakeUnitOfWork()
    _, few_visits = _authorization(uow, "a", visits_used=10)  # 2 visits left
    _, few_units = _authorization(uow, "b", units_used=40)  # 8 units left
    _, ending = _authorization(uow, "c", end_date=date(2026, 11, 28))  # 5 days left
    _authorization(uow, "d")  # plenty left
    _authorization(uow, "e", visits_used=12, end_date=date(2026, 11, 20))  # already over: not "running out"
    with uow:
        found = authorizations_running_out_in(uow, DAY)
    assert {(a.id, a.patient_id) for a in found} == {(few_visits, "a"), (few_units, "b"), (ending, "c")}
    left = next(a for a in found if a.id == few_visits)
    assert (left.visits_allowed, left.visits_used) == (12, 10)


# --- who may see what ----------------------------------------------------------------------


def _principal(role: str, provider_id: str | None = None) -> Principal:
    return Principal("u1", "u", "U", "p1", role, provider_id)


def _two_therapists_visits(uow: FakeUnitOfWork) -> tuple[str, str, str]:
    pat = uow.add(patients, chart_number="C-1", first_name="Ann", last_name="Lee")
    mine = uow.add(
        visits, patient_id=pat, provider_id="prov-a", date_of_service=date(2026, 11, 2), status="signed"
    )
    theirs = uow.add(
        visits, patient_id=pat, provider_id="prov-b", date_of_service=date(2026, 11, 9), status="signed"
    )
    for v in (mine, theirs):
        uow.add(
            objective_measures,
            patient_id=pat,
            visit_id=v,
            measured_on=date(2026, 11, 2),
            kind="pain",
            value="4",
        )
    return pat, mine, theirs


def test_a_therapist_sees_only_their_own_visits_and_measures() -> None:
    uow = FakeUnitOfWork()
    pat, mine, theirs = _two_therapists_visits(uow)
    with uow:
        assert [v.id for v in visits_of_patient_in(uow, _principal("therapist", "prov-a"), "C-1")] == [mine]
        assert visits_of_patient_in(uow, _principal("therapist"), pat) == []  # linked to no provider
        assert [v.id for v in visits_of_patient_in(uow, _principal("owner"), pat)] == [mine, theirs]
        chart = patient_chart_in(uow, _principal("therapist", "prov-a"), pat)
    assert [v.id for v in chart.visits] == [mine] and [m.visit_id for m in chart.measures] == [mine]


def test_front_desk_sees_no_clinical_records_and_other_practices_see_nothing() -> None:
    uow = FakeUnitOfWork()
    pat, _, _ = _two_therapists_visits(uow)
    with uow:
        chart = patient_chart_in(uow, _principal("front_desk"), pat)
        assert not chart.clinical and chart.visits == [] and chart.measures == []
    other = FakeUnitOfWork("p2")
    other.records.tables = uow.records.tables  # the same store, another practice
    with pytest.raises(NotFoundError), other:
        visits_of_patient_in(other, _principal("owner"), pat)


# --- posting decisions ---------------------------------------------------------------------


def _payment(status: str, charge: str, paid: str) -> ClaimPayment:
    return ClaimPayment("TB1", status, Decimal(charge), Decimal(paid), payer_claim_control_number="PCN-9")


@pytest.mark.parametrize(
    ("start", "payment", "after"),
    [
        ("submitted", _payment("1", "100.00", "100.00"), "paid"),
        ("payer_accepted", _payment("4", "100.00", "0.00"), "denied"),
        ("submitted", _payment("1", "100.00", "0.00"), "denied"),  # nothing paid on a charged claim
        ("submitted", _payment("19", "100.00", "80.00"), "crossed_over"),
    ],
)
def test_a_remittance_moves_the_claim_it_adjudicates(start: str, payment: ClaimPayment, after: str) -> None:
    uow = FakeUnitOfWork()
    cid = _claim(uow, start)
    ref = ClaimRef(cid, "TB1", "pat1", "payer1", ())
    with uow:
        work = update_claim_status_in(uow, ref, payment, "TRACE1")
    assert work == [] and uow.row(claims, cid).status == after
    assert uow.row(claims, cid).payer_claim_control_number == "PCN-9"
    assert "TRACE1" in uow.records.status_history(cid)[-1].note


def test_a_remittance_for_a_claim_that_cannot_move_becomes_work() -> None:
    uow = FakeUnitOfWork()
    cid = _claim(uow, "voided")
    with uow:
        work = update_claim_status_in(
            uow, ClaimRef(cid, "TB1", "pat1", "payer1", ()), _payment("1", "50", "50"), None
        )
    assert [w.kind for w in work] == ["status-not-updated"]
    assert uow.row(claims, cid).status == "voided"


# --- batches -------------------------------------------------------------------------------


def test_ready_claims_make_one_batch_per_payer() -> None:
    def row(number: str, status: str, payer: str | None, name: str | None, cents: int) -> Any:
        return FakeRow({"claim_number": number, "status": status, "payer_id": payer, "payer_name": name,
                        "total_charge_cents": cents})  # fmt: skip

    rows = [
        row("1", "ready", "bcbs", "Blue Cross", 10_000),
        row("2", "scrubbed", "aetna", "Aetna", 5_000),  # not ready: in no batch
        row("3", "ready", "aetna", "Aetna", 7_500),
        row("4", "ready", "bcbs", "Blue Cross", 2_500),
        row("5", "ready", None, None, 1_000),
    ]
    groups = ready_groups(rows)
    assert [(g.payer_name, [c.claim_number for c in g.claims], g.total_cents) for g in groups] == [
        ("No payer", ["5"], 1_000),
        ("Aetna", ["3"], 7_500),
        ("Blue Cross", ["1", "4"], 12_500),
    ]


def test_the_fake_reads_where_clauses_as_sql_does() -> None:
    uow = FakeUnitOfWork()
    a = _claim(uow, "ready", "A", has_errors=True, payer_id=None)
    b = _claim(uow, "paid", "B", has_errors=False, payer_id="x")
    rows = uow.records.rows
    assert [r.id for r in rows(claims, claims.c.payer_id == "x")] == [b]
    assert rows(claims, claims.c.payer_id != "y") != [] and a not in [
        r.id for r in rows(claims, claims.c.payer_id != "y")
    ]
    assert [r.id for r in rows(claims, claims.c.payer_id.is_(None))] == [a]
    assert [r.id for r in rows(claims, claims.c.has_errors.is_(True) | claims.c.status.in_(["paid"]))] == [
        a,
        b,
    ] or {r.id for r in rows(claims, claims.c.has_errors.is_(True) | claims.c.status.in_(["paid"]))} == {a, b}
    assert [r.id for r in rows(claims, claims.c.status.not_in(["ready"]))] == [b]
    assert [r.claim_number for r in rows(claims, order_by=[claims.c.claim_number.desc()])] == ["B", "A"]
    with pytest.raises(NotImplementedError):
        rows(claims, claims.c.claim_number.like("A%"))
