"""``visits.awaiting_claim`` (treated, no claim yet) on SQLite and PostgreSQL: kept by every write
of visits and claims, the same rule in SQL as in Python, filled by its revision, checked and
rebuilt with the totals, and read through the partial index ``ix_visits_to_bill``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event, inspect, select, text, update

from tests.integration.db.builders import ACTOR, AS_OF, a_practice, a_visit, clean_scrubber, visit_document
from therabill.adapters.db import migrations, report_totals, visits_to_bill
from therabill.adapters.db.tables import visits
from therabill.domain.records import has_treatment
from therabill.service_layer import claim_changes, work_queues
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import dashboard as dashboard_svc
from therabill.service_layer import visits as visits_svc

EDGE_DOCUMENTS: list[tuple[dict[str, Any], bool]] = [
    ({"services": [{"code": "97124", "minutes": 30}]}, True),
    ({"services": [{"code": "97124", "minutes": 0}]}, False),
    ({"services": [{"code": "97124", "minutes": 0, "units": 2}]}, True),
    ({"services": [{"code": "97124", "minutes": 0, "units": 0}]}, False),
    ({"services": [{"code": "97124", "minutes": 0, "units": None}]}, False),
    ({"services": [{"code": "97124", "units": 1}]}, True),
    ({"services": [{"minutes": 0}, {"minutes": 15}]}, True),
    ({"services": [{"minutes": "30"}]}, False),  # not a number
    ({"services": [{"minutes": True}]}, False),
    ({"services": ["97124", 3]}, False),
    ({"services": {"minutes": 5}}, False),  # not a list
    ({"services": []}, False),
    ({"services": None}, False),
    ({}, False),
]


def _flag(engine: Engine, visit_id: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(visits.c.awaiting_claim).where(visits.c.id == visit_id)).scalar_one())


def _untreated() -> dict[str, Any]:
    doc = visit_document()
    for s in doc["services"]:
        s["minutes"] = 0
        s.pop("units", None)
    return doc


def test_the_sql_rule_is_the_python_rule(engine: Engine) -> None:
    assert [has_treatment(doc) for doc, _ in EDGE_DOCUMENTS] == [want for _, want in EDGE_DOCUMENTS]
    p = a_practice(engine)
    ids = [a_visit(p, dos=AS_OF - timedelta(days=i)) for i in range(len(EDGE_DOCUMENTS))]
    with engine.begin() as conn:  # stored around the repository, every flag the opposite of right
        for visit_id, (doc, want) in zip(ids, EDGE_DOCUMENTS, strict=True):
            conn.execute(
                update(visits)
                .where(visits.c.id == visit_id)
                .values(encounter_json=doc, awaiting_claim=not want)
            )
    with engine.connect() as conn:
        wrong = visits_to_bill.differences(conn, p.id)
        assert {d["visit_id"] for d in wrong} == set(ids)
        assert all(d["expected"] != d["kept"] for d in wrong)
        assert len(report_totals.differences(conn, p.id)) == len(ids)  # the database check sees them
    with engine.begin() as conn:
        assert report_totals.rebuild(conn, [p.id]) >= 0
    assert [_flag(engine, v) for v in ids] == [want for _, want in EDGE_DOCUMENTS]
    with engine.connect() as conn:
        assert visits_to_bill.differences(conn, p.id) == []
    with engine.begin() as conn:
        assert visits_to_bill.rebuild(conn, p.id) == 0  # nothing left to change


def test_every_write_of_visits_and_claims_keeps_the_flag(engine: Engine) -> None:
    p = a_practice(engine)
    treated = a_visit(p, dos=AS_OF - timedelta(days=3))
    assert _flag(engine, treated)
    untreated = visits_svc.record_visit(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        date_of_service=AS_OF - timedelta(days=4), document=_untreated(),
    )  # fmt: skip
    assert not _flag(engine, untreated)
    undocumented = visit_document()
    undocumented.pop("documentation", None)
    open_visit = visits_svc.record_visit(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        date_of_service=AS_OF - timedelta(days=5), document=undocumented,
    )  # fmt: skip
    assert _flag(engine, open_visit)  # treated, no claim: awaiting, but not to bill while open
    assert [v.id for v in work_queues.billing_queues(engine, p.id, ACTOR).to_bill] == [treated]

    visits_svc.edit_note(engine, p.id, ACTOR, open_visit, visit_document()["documentation"])
    assert [v.id for v in work_queues.billing_queues(engine, p.id, ACTOR).to_bill] == [open_visit, treated]

    claims_svc.code_visit(engine, p.id, ACTOR, treated, as_of=AS_OF, scrubber=clean_scrubber)
    assert not _flag(engine, treated)
    claim_changes.edit_visit(engine, p.id, ACTOR, treated, {"start_time": "10:00"}, as_of=AS_OF)
    assert not _flag(engine, treated)  # a new document, but the visit has its claim
    queues = work_queues.billing_queues(engine, p.id, ACTOR)
    assert queues.to_bill_count == 1 and [v.id for v in queues.to_bill] == [open_visit]
    board = dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF, billing=True)
    assert board.to_bill == 1
    with engine.connect() as conn:
        assert visits_to_bill.differences(conn, p.id) == []


def _explained(engine: Engine, call: Callable[[], Any]) -> list[str]:
    """The query plans (as text) of the statements ``call`` sends that read the flag."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "awaiting_claim" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    plans = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            if engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE visits"))  # the statistics autovacuum would have
                conn.execute(text("SET enable_seqscan = off"))
                rows = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
                plans.append(json.dumps(rows))
            else:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                plans.append(" | ".join(str(r[-1]) for r in rows))
    return plans


def test_the_visits_to_bill_are_read_through_the_partial_index(empty_engine: Engine) -> None:
    # A database of its own: what other tests leave in the shared one sways the planner.
    engine = empty_engine
    migrations.upgrade(engine)
    p = a_practice(engine)
    a_visit(p)
    plans = _explained(engine, lambda: work_queues.billing_queues(engine, p.id, ACTOR))
    assert len(plans) == 2  # the count and the oldest
    assert all("ix_visits_to_bill" in plan for plan in plans), plans
    plans = _explained(engine, lambda: dashboard_svc.dashboard(engine, p.id, ACTOR, day=AS_OF, billing=True))
    assert len(plans) == 1 and "ix_visits_to_bill" in plans[0], plans


def test_the_revision_sets_the_flag_from_the_stored_visits_and_claims(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    p = a_practice(empty_engine)
    billed = a_visit(p, dos=AS_OF - timedelta(days=2))
    claims_svc.code_visit(empty_engine, p.id, ACTOR, billed, as_of=AS_OF, scrubber=clean_scrubber)
    waiting = a_visit(p, dos=AS_OF - timedelta(days=1))
    untreated = visits_svc.record_visit(
        empty_engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        date_of_service=AS_OF, document=_untreated(),
    )  # fmt: skip
    migrations.downgrade(empty_engine, "0023_practice_pages")
    with empty_engine.connect() as conn:
        assert "awaiting_claim" not in {c["name"] for c in _columns(conn)}
    migrations.upgrade(empty_engine)
    assert [_flag(empty_engine, v) for v in (billed, waiting, untreated)] == [False, True, False]
    if empty_engine.dialect.name == "postgresql":  # vacuumed after the upgrade (index-only counts)
        with empty_engine.connect() as conn:
            vacuumed = conn.execute(
                text("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'visits'")
            ).scalar()
        assert vacuumed is not None
    assert [v.id for v in work_queues.billing_queues(empty_engine, p.id, ACTOR).to_bill] == [waiting]


def _columns(conn: Any) -> list[Any]:
    return list(inspect(conn).get_columns("visits"))
