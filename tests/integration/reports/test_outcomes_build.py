"""The outcomes report's goals and names against the plain way (every goal row read and the latest
of each kept in Python), on both engines, and the garbage collector left as it was found."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from tests.integration.reports.conftest import Practice, build_practice
from therabill.adapters.db.tables import goals, patients
from therabill.reports import ReportQuery, outcomes


@pytest.fixture(scope="module")
def worked(engine: Engine) -> Practice:
    """A practice whose patient Ann has one goal written down three times: twice at the same
    moment (the id decides which is later) and once earlier with another status."""
    p = build_practice(engine)
    ann = p.patients["ann"]
    later, earlier = datetime(2026, 9, 2, 9, 0, tzinfo=UTC), datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for gid, at, status in (("g-b", later, "open"), ("g-z", earlier, "met"), ("g-a", later, "met")):
            conn.execute(
                insert(goals).values(
                    id=f"{gid}-{p.practice_id[:8]}",
                    practice_id=p.practice_id,
                    patient_id=ann,
                    description="Walk 1 km",
                    target="1 km",
                    status=status,
                    created_at=at,
                )
            )
    return p


def _plain_goals(p: Practice) -> dict[str, list[tuple[str, str | None, bool]]]:
    """Patient's name → (description, target, met) of the latest row of each goal, by description."""
    with p.engine.connect() as conn:
        rows = conn.execute(
            select(goals, patients.c.first_name, patients.c.last_name, patients.c.chart_number)
            .join(patients, patients.c.id == goals.c.patient_id)
            .where(goals.c.practice_id == p.practice_id)
        ).all()
    latest = {}
    for g in sorted(rows, key=lambda g: (g.created_at, g.id)):
        latest[(f"{g.last_name}, {g.first_name} ({g.chart_number})", g.description)] = (g.target, g.status)
    out: dict[str, list[tuple[str, str | None, bool]]] = {}
    for (name, description), (target, status) in sorted(latest.items()):
        out.setdefault(name, []).append((description, target, status == "met"))
    return out


def test_each_goal_counts_once_as_its_latest_row_says(worked: Practice) -> None:
    report = outcomes.build(worked.engine, ReportQuery(worked.practice_id))
    expected = _plain_goals(worked)
    assert {p.patient: list(p.goals) for p in report.patients if p.goals} == expected
    ann = next(p for p in report.patients if p.patient.startswith("Test, Ann"))
    assert ("Walk 1 km", "1 km", False) in ann.goals  # the later of the two at 9:00 is open
    assert report.goals_total == sum(len(v) for v in expected.values())
    assert [p.patient for p in report.patients] == sorted(p.patient for p in report.patients)
    one = outcomes.build(worked.engine, ReportQuery(worked.practice_id, patient_id=worked.patients["ann"]))
    assert [(p.patient, p.goals) for p in one.patients] == [(ann.patient, ann.goals)]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(worked: Practice, enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        outcomes.build(worked.engine, ReportQuery(worked.practice_id))
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
