"""The pages read only what they show: patient search matches names and chart numbers as before
(in the patient list's order, at most the limit), and the claims worklist and dashboard name
the patients of their rows; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from tests.integration.db.builders import (
    ACTOR,
    AS_OF,
    a_practice,
    a_visit,
    clean_scrubber,
    failing_scrubber,
    visit_document,
)
from therabill.service_layer import appointments, work_queues
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import dashboard as dashboard_svc
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.accounts import Principal


def _principal(practice_id: str) -> Principal:
    return Principal(user_id="u", username="u", display_name="U", practice_id=practice_id, role="owner")


def test_patient_search_matches_either_name_order_and_the_chart_number(engine: Engine) -> None:
    p = a_practice(engine)
    for chart, first, last in (("C-1", "Ana", "Zed"), ("C-2", "Bea", "Young"), ("C-3", "Ana", "Young")):
        patients_svc.register_patient(
            engine, p.id, ACTOR, chart_number=chart, first_name=first, last_name=last
        )
    who = _principal(p.id)

    def names(q: str, limit: int = 50) -> list[str]:
        return [f"{r.first_name} {r.last_name}" for r in patients_svc.search(engine, who, q, limit=limit)]

    assert names("ana ") == ["Ana Young", "Ana Zed"]  # the list's order: last name, first name
    assert names("young, b") == ["Bea Young"]
    assert names("c-2") == ["Bea Young"]
    assert names("c-") == []  # a chart number matches whole, names match in part
    assert names("young", limit=1) == ["Ana Young"]
    assert names("nobody") == []
    everyone = patients_svc.list_patients(engine, p.id, ACTOR)
    assert [r.id for r in patients_svc.search(engine, who, "")] == [r.id for r in everyone]


def test_the_worklist_and_the_dashboard_name_the_patients_of_their_rows(engine: Engine) -> None:
    p = a_practice(engine)
    patients_svc.register_patient(
        engine, p.id, ACTOR, chart_number="X-9", first_name="Not", last_name="Shown"
    )
    visit = a_visit(p)
    claims_svc.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF, scrubber=clean_scrubber)
    work = claims_svc.worklist(engine, p.id, ACTOR)
    assert work.claims and set(work.patients) == {c.patient_id for c in work.claims}
    board = dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF, billing=True)
    shown = {r.patient_id for r in (*board.undocumented, *board.running_out, *board.attention)}
    assert set(board.patients) == shown


def test_visits_to_bill_count_only_treated_visits_and_list_the_oldest(engine: Engine) -> None:
    p = a_practice(engine)
    treated = [a_visit(p, dos=AS_OF - timedelta(days=d)) for d in (3, 9, 5)]
    untreated = visit_document()
    for s in untreated["services"]:
        s["minutes"] = 0
        s.pop("units", None)
    visits_svc.record_visit(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        provider_id=p.provider_id,
        date_of_service=AS_OF - timedelta(days=20),
        document=untreated,
    )
    claims_svc.code_visit(engine, p.id, ACTOR, treated[0], as_of=AS_OF, scrubber=clean_scrubber)  # billed
    queues = work_queues.billing_queues(engine, p.id, ACTOR, limit=1)
    assert queues.to_bill_count == 2
    assert [v.id for v in queues.to_bill] == [treated[1]]  # the oldest treated visit without a claim
    everything = work_queues.billing_queues(engine, p.id, ACTOR)
    assert [v.id for v in everything.to_bill] == [treated[1], treated[2]]
    assert work_queues.billing_queues(engine, p.id, ACTOR, limit=0).to_bill == []


def test_the_queues_list_the_oldest_of_each_with_every_count(engine: Engine) -> None:
    p = a_practice(engine)
    made = [
        claims_svc.code_visit(
            engine,
            p.id,
            ACTOR,
            a_visit(p, dos=AS_OF - timedelta(days=d)),
            as_of=AS_OF,
            scrubber=clean_scrubber,
        )
        for d in (5, 9, 7)
    ]
    oldest = [made[1].claim_id, made[2].claim_id]
    queues = work_queues.billing_queues(engine, p.id, ACTOR, limit=2)
    assert [c.id for c in queues.to_mark_ready] == oldest and queues.to_mark_ready_count == 3
    whole = work_queues.billing_queues(engine, p.id, ACTOR, limit=2, whole="to-mark-ready")
    assert {c.id for c in whole.to_mark_ready} == {m.claim_id for m in made}
    board = dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF, billing=True)
    assert (board.to_mark_ready, board.ready) == (3, 0)

    work_queues.mark_ready_many(engine, p.id, ACTOR, [m.claim_id for m in made])
    erred = claims_svc.code_visit(engine, p.id, ACTOR, a_visit(p), as_of=AS_OF, scrubber=failing_scrubber)
    queues = work_queues.billing_queues(engine, p.id, ACTOR, limit=2)
    assert queues.to_mark_ready == [] and queues.to_mark_ready_count == 0
    (group,) = queues.ready
    assert (group.payer_id, group.count, [c.id for c in group.claims]) == (p.payer_id, 3, oldest)
    assert group.total_cents == sum(m.total_charge_cents for m in made) and queues.ready_count == 3
    assert [c.id for c in work_queues.billing_queues(engine, p.id, ACTOR, whole="ready").ready[0].claims] == [
        made[1].claim_id, made[2].claim_id, made[0].claim_id,
    ]  # fmt: skip
    assert work_queues.ready_claim_ids(engine, p.id, ACTOR, p.payer_id) == [
        made[1].claim_id, made[2].claim_id, made[0].claim_id,
    ]  # fmt: skip
    assert queues.attention_counts == {work_queues.SCRUB_ERRORS: 1} and queues.attention_count == 1
    assert [c.id for c in queues.attention[work_queues.SCRUB_ERRORS]] == [erred.claim_id]
    board = dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF, billing=True)
    assert (board.to_mark_ready, board.ready, board.attention_count) == (0, 3, 1)
    assert [c.id for c in board.attention] == [erred.claim_id]


def test_the_dashboard_lists_the_oldest_claims_needing_attention_and_counts_them_all(engine: Engine) -> None:
    p = a_practice(engine)
    shown = dashboard_svc.ATTENTION_SHOWN
    for d in range(shown + 2):
        visit = a_visit(p, dos=AS_OF - timedelta(days=d))
        claims_svc.code_visit(engine, p.id, ACTOR, visit, as_of=AS_OF, scrubber=failing_scrubber)
    board = dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF, billing=True)
    assert board.attention_count == shown + 2 and len(board.attention) == shown
    days = [c.date_of_service for c in board.attention]
    assert days == sorted(days) and days[0] == AS_OF - timedelta(days=shown + 1)


def test_the_dashboard_lists_the_visits_seen_but_not_documented_by_name(engine: Engine) -> None:
    p = a_practice(engine)
    appt = appointments.schedule_appointment(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        start=datetime(2026, 11, 20, 10), end=datetime(2026, 11, 20, 11),
    )  # fmt: skip
    appointments.check_in(engine, p.id, ACTOR, appt)
    for billing in (False, True):
        board = dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF, billing=billing)
        assert [a.id for a in board.undocumented] == [appt]
        name = board.patients[p.patient_id]
        assert (name.first_name, name.last_name) != ("", "") and set(board.patients) == {p.patient_id}
    earlier = dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF - timedelta(days=4), billing=True)
    assert earlier.undocumented == []  # seen after that day
    visits_svc.record_visit(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        date_of_service=AS_OF, document=visit_document(), appointment_id=appt,
    )  # fmt: skip
    assert dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF, billing=True).undocumented == []
