"""The trends, what-if and outcomes reports' kept tables (``trend_tables``, kept by triggers): on
both engines they equal their recomputation from the records, after inserts, updates and deletes
on every table they follow; each report built from them equals the report built from the
records; ``db check`` finds a drift and ``rebuild-totals`` repairs it; and revision 0026 fills
them from the records already there."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update

from tests.integration.db.conftest import PgDatabases, new_empty_engine
from tests.integration.reports.conftest import Practice
from therabill.adapters.db import migrations, report_totals, trend_totals
from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.tables import (
    claim_lines,
    claim_status_events,
    claims,
    coverages,
    goals,
    objective_measures,
    patients,
    payers,
    practices,
    providers,
    visits,
)
from therabill.adapters.db.transfer import copy_database
from therabill.adapters.db.trend_tables import TREND_TABLES, claim_day_totals
from therabill.reports import ReportQuery, outcomes, trends, what_if

START = date(2026, 1, 1)
AT = datetime(2026, 1, 1, 12, tzinfo=UTC)
PATTERNS: tuple[list[tuple[str, int]], ...] = (
    [("97110", 23), ("97140", 8)],
    [("97124", 45)],
    [("97110", 8), ("97140", 8)],
    [("97112", 15), ("97110", 30), ("97140", 7)],
    [],
)
TEXTS = {
    "pain": ["3", "5", "7", "2.5", "0", "10", "n/a", " 4 "],
    "rom": ["40", "55", "62.5", "70", "1e1", "x"],
    "strength": ["3", "3+", "4-", "4/5", "5", "weak"],
}


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def generate(engine: Engine, seed: int) -> str:
    """A practice of random records, then random changes to them; returns its id."""
    rnd = random.Random(seed)
    pid = f"gen{seed:029d}"
    ids = iter(range(10**6))

    def new(prefix: str) -> str:
        return f"{prefix}{next(ids):031d}"[:32]

    with engine.begin() as c:
        c.execute(insert(practices).values(id=pid, name="Generated", slug=f"gen-{seed}", created_at=AT))
        payer_ids = [new("y") for _ in range(3)]
        c.execute(
            insert(payers),
            [
                {
                    "id": y,
                    "practice_id": pid,
                    "name": f"P{i}",
                    "payer_id": f"X{i}",
                    "profile": "commercial",
                    "created_at": AT,
                }
                for i, y in enumerate(payer_ids)
            ],
        )
        provider = new("r")
        c.execute(
            insert(providers).values(
                id=provider, practice_id=pid, first_name="A", last_name="B", created_at=AT
            )
        )
        patient_ids = [new("t") for _ in range(25)]
        c.execute(
            insert(patients),
            [
                {
                    "id": p,
                    "practice_id": pid,
                    "chart_number": f"C{i}",
                    "first_name": "F",
                    "last_name": f"L{i:02d}",
                    "created_at": AT,
                }
                for i, p in enumerate(patient_ids)
            ],
        )
        cov_rows: list[dict[str, Any]] = []
        for i, p in enumerate(patient_ids):
            if i % 5 == 0:
                continue
            cov_rows.append(
                {
                    "id": new("v"),
                    "practice_id": pid,
                    "patient_id": p,
                    "payer_id": rnd.choice(payer_ids),
                    "sequence": "primary",
                    "created_at": AT,
                }
            )
            if i % 4 == 0:
                cov_rows.append(
                    {
                        "id": new("v"),
                        "practice_id": pid,
                        "patient_id": p,
                        "payer_id": rnd.choice(payer_ids),
                        "sequence": "secondary",
                        "created_at": AT,
                    }
                )
        c.execute(insert(coverages), cov_rows)
        covs = {r["patient_id"]: r["id"] for r in cov_rows}
        c.execute(
            insert(goals),
            [
                {
                    "id": new("g"),
                    "practice_id": pid,
                    "patient_id": p,
                    "description": f"Goal {i % 3}",
                    "target": "t",
                    "status": rnd.choice(["open", "met"]),
                    "created_at": AT + timedelta(days=i % 4),
                }
                for i, p in enumerate(patient_ids * 2)
            ],
        )
        visit_rows: list[dict[str, Any]] = []
        claim_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        entry_rows: list[dict[str, Any]] = []
        measure_rows: list[dict[str, Any]] = []
        for n in range(240):
            patient = rnd.choice(patient_ids)
            day = START + timedelta(days=rnd.randrange(120))
            pattern = rnd.choice(PATTERNS)
            services: list[dict[str, Any]] = [
                {"code": code, "minutes": m, "modifiers": []} for code, m in pattern
            ]
            vid = new("w")
            visit_rows.append(
                {
                    "id": vid,
                    "practice_id": pid,
                    "patient_id": patient,
                    "provider_id": provider,
                    "coverage_id": covs.get(patient) if n % 3 == 0 else None,
                    "date_of_service": day,
                    "status": "coded",
                    "created_at": _at(day),
                    "encounter_json": {"services": services} if n % 17 else {"note": "no services"},
                }
            )
            for kind in ("pain", "rom", "strength", "functional"):
                for _ in range(rnd.choice([0, 1, 1, 2])):
                    texts = TEXTS.get(kind, ["12"])
                    plain = [t for t in texts if t.replace(".", "", 1).isdigit()]
                    value = rnd.choice(texts if rnd.random() < 0.1 else plain)
                    measure_rows.append(
                        {
                            "id": new("m"),
                            "practice_id": pid,
                            "visit_id": vid,
                            "patient_id": patient,
                            "measured_on": day,
                            "kind": kind,
                            "name": rnd.choice(["a", "b"]),
                            "value": value,
                            "unit": None if kind == "strength" else "u",
                        }
                    )
            for _ in range(rnd.choice([0, 1, 1, 1, 2])):
                cid = new("c")
                claim_rows.append(
                    {
                        "id": cid,
                        "practice_id": pid,
                        "visit_id": vid,
                        "patient_id": patient,
                        "payer_id": rnd.choice([*payer_ids, None]),
                        "coverage_id": None,
                        "claim_number": f"N{cid[-8:]}",
                        "status": rnd.choice(["submitted", "paid", "denied", "voided", "replaced", "ready"]),
                        "date_of_service": day,
                        "total_charge_cents": 1000,
                        "created_at": _at(day),
                        "updated_at": _at(day),
                    }
                )
                for line in range(rnd.choice([0, 1, 2, 3])):
                    line_rows.append(  # noqa: PERF401
                        {
                            "id": new("l"),
                            "practice_id": pid,
                            "claim_id": cid,
                            "line_number": line + 1,
                            "service_index": line,
                            "code": "97110",
                            "modifiers": [],
                            "units": rnd.randint(1, 4),
                            "minutes": 15,
                            "unit_charge_cents": 100,
                            "charge_cents": 100,
                            "diagnosis_pointers": [1],
                            "line_id": f"{line}",
                            "date_of_service": day,
                            "place_of_service": "11",
                        }
                    )
                for seq in range(rnd.choice([0, 1, 2])):
                    event_rows.append(  # noqa: PERF401
                        {
                            "id": new("e"),
                            "practice_id": pid,
                            "claim_id": cid,
                            "seq": seq + 1,
                            "status": rnd.choice(["submitted", "submitted", "accepted"]),
                            "at": _at(day + timedelta(days=rnd.randrange(1, 9)), rnd.choice([0, 12, 23])),
                            "actor": "t",
                        }
                    )
                for _ in range(rnd.choice([0, 1, 2])):
                    entry_rows.append(  # noqa: PERF401
                        {
                            "id": new("n"),
                            "practice_id": pid,
                            "patient_id": patient,
                            "claim_id": cid,
                            "posted_by": "t",
                            "kind": rnd.choice(["insurance-payment", "insurance-payment", "adjustment"]),
                            "bucket": "insurance",
                            "payer_id": None,
                            "amount_cents": rnd.choice([500, -500, 100]),
                            "posted_at": _at(day + timedelta(days=rnd.randrange(5, 40))),
                        }
                    )
        c.execute(insert(visits), visit_rows)
        c.execute(insert(objective_measures).values(measure_rows))  # one statement, many rows
        c.execute(insert(claims), claim_rows)
        c.execute(insert(claim_lines), line_rows)
        c.execute(insert(claim_status_events), event_rows)
        c.execute(insert(ledger_entries), entry_rows)
    with engine.begin() as c:  # later changes, each on its own
        for r in rnd.sample(claim_rows, 40):
            c.execute(
                update(claims)
                .where(claims.c.id == r["id"])
                .values(status=rnd.choice(["voided", "paid", "replaced", "submitted"]))
            )
        for r in rnd.sample(claim_rows, 10):
            c.execute(update(claims).where(claims.c.id == r["id"]).values(payer_id=rnd.choice(payer_ids)))
        for r in rnd.sample(line_rows, 15):
            c.execute(delete(claim_lines).where(claim_lines.c.id == r["id"]))
        for r in rnd.sample([r for r in line_rows if r["units"] < 4], 10):
            c.execute(
                update(claim_lines).where(claim_lines.c.id == r["id"]).values(units=claim_lines.c.units + 1)
            )
        for i, p in enumerate(patient_ids):
            if i % 5 == 0 and i % 2 == 0:
                c.execute(
                    insert(coverages).values(
                        id=new("v"),
                        practice_id=pid,
                        patient_id=p,
                        payer_id=payer_ids[0],
                        sequence="primary",
                        created_at=AT,
                    )
                )
        covered = [r for r in cov_rows if r["sequence"] == "primary"][:3]
        for r in covered:
            c.execute(update(coverages).where(coverages.c.id == r["id"]).values(payer_id=payer_ids[2]))
        for r in rnd.sample(visit_rows, 10):
            c.execute(
                update(visits)
                .where(visits.c.id == r["id"])
                .values(date_of_service=r["date_of_service"] + timedelta(days=3))
            )
        for r in rnd.sample(visit_rows, 5):
            c.execute(
                update(visits)
                .where(visits.c.id == r["id"])
                .values(encounter_json={"services": [{"code": "97140", "minutes": 30}]})
            )
        for r in rnd.sample(measure_rows, 10):
            c.execute(delete(objective_measures).where(objective_measures.c.id == r["id"]))
        for r in rnd.sample(measure_rows, 10):
            c.execute(
                update(objective_measures)
                .where(objective_measures.c.id == r["id"])
                .values(value=rnd.choice(["6", "8", "abc"]))
            )
        referenced = {e["claim_id"] for e in entry_rows} | {e["claim_id"] for e in event_rows}
        doomed = rnd.sample([r for r in claim_rows if r["id"] not in referenced], 5)
        for r in doomed:
            c.execute(delete(claim_lines).where(claim_lines.c.claim_id == r["id"]))
            c.execute(delete(claims).where(claims.c.id == r["id"]))
        spare = [
            r
            for r in visit_rows
            if r["id"] not in {x["visit_id"] for x in claim_rows}
            and r["id"] not in {m["visit_id"] for m in measure_rows}
        ]
        for r in spare[:3]:
            c.execute(delete(visits).where(visits.c.id == r["id"]))
    return pid


QUERIES: tuple[dict[str, Any], ...] = (
    {},
    {"date_from": START + timedelta(days=20), "date_to": START + timedelta(days=75)},
    {"date_from": START + timedelta(days=40)},
    {"date_to": START + timedelta(days=31)},
)


def assert_reports_equal(engine: Engine, pid: str, **extra: Any) -> None:
    for kw in QUERIES:
        q = ReportQuery(pid, as_of=START + timedelta(days=200), **kw, **extra)
        assert trends.build(engine, q) == trends.build(engine, q, from_records=True)
        if "patient_id" not in extra:
            assert what_if.build(engine, q) == what_if.build(engine, q, from_records=True)
        kept, records = outcomes.build(engine, q), outcomes.build(engine, q, from_records=True)
        assert kept == records
        assert [len(p.series) for p in kept.patients] == [len(p.series) for p in records.patients]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_databases: PgDatabases
) -> Iterator[tuple[Engine, str]]:
    eng = new_empty_engine(request.param, Path(tmp_path_factory.mktemp("trends")), pg_databases)
    migrations.upgrade(eng)
    yield eng, generate(eng, 7)
    eng.dispose()


def test_kept_tables_equal_the_records_after_changes(generated: tuple[Engine, str]) -> None:
    engine, pid = generated
    with engine.connect() as conn:
        assert trend_totals.differences(conn, pid) == []
        for table in TREND_TABLES:
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() > 10, table.name


def test_reports_from_the_kept_tables_equal_the_reports_from_the_records(
    generated: tuple[Engine, str],
) -> None:
    engine, pid = generated
    assert_reports_equal(engine, pid)
    with engine.connect() as conn:
        payer = conn.execute(select(payers.c.id).where(payers.c.practice_id == pid)).scalars().first()
        patient = (
            conn.execute(
                select(objective_measures.c.patient_id).where(objective_measures.c.practice_id == pid)
            )
            .scalars()
            .first()
        )
    assert_reports_equal(engine, pid, payer_id=payer)
    assert_reports_equal(engine, pid, patient_id=patient)


def test_odd_texts_are_read_from_the_measures(generated: tuple[Engine, str]) -> None:
    engine, pid = generated
    with engine.connect() as conn:
        odd = conn.execute(
            text("SELECT COUNT(*) FROM measure_visit_days WHERE practice_id = :p AND odd > 0"), {"p": pid}
        ).scalar_one()
    assert odd > 0  # the generated data has texts that are not plainly numbers, and still agrees


def test_a_drift_is_found_and_rebuilt(generated: tuple[Engine, str]) -> None:
    engine, pid = generated
    with engine.begin() as conn:
        conn.execute(
            update(claim_day_totals)
            .where(claim_day_totals.c.practice_id == pid)
            .values(claims=claim_day_totals.c.claims + 1)
        )
        conn.execute(text("UPDATE measure_days SET point = point || '9' WHERE practice_id = :p"), {"p": pid})
    with engine.connect() as conn:
        found = {d.get("table") for d in report_totals.differences(conn, pid)}
    assert {"claim_day_totals", "measure_days"} <= found
    with engine.begin() as conn:
        report_totals.rebuild(conn, [pid])
    with engine.connect() as conn:
        assert report_totals.differences(conn, pid) == []
    assert_reports_equal(engine, pid)


def test_the_revision_fills_the_tables_from_the_records(generated: tuple[Engine, str]) -> None:
    engine, pid = generated
    migrations.downgrade(engine, "0023_practice_pages")
    with engine.begin() as conn:  # records written while no trigger keeps the tables
        conn.execute(
            update(claims)
            .where(claims.c.practice_id == pid, claims.c.status == "paid")
            .values(status="denied")
        )
    migrations.upgrade(engine)
    with engine.connect() as conn:
        assert trend_totals.differences(conn, pid) == []
    assert_reports_equal(engine, pid)


def test_the_fixture_practice_agrees(practice: Practice) -> None:
    with practice.engine.connect() as conn:
        assert trend_totals.differences(conn, practice.practice_id) == []
    assert_reports_equal(practice.engine, practice.practice_id)


def test_a_copy_to_the_other_engine_rebuilds_them_by_trigger(
    generated: tuple[Engine, str], tmp_path: Path, pg_databases: PgDatabases
) -> None:
    engine, pid = generated
    other = "postgresql" if engine.dialect.name == "sqlite" else "sqlite"
    target = new_empty_engine(other, tmp_path, pg_databases)
    migrations.upgrade(target)
    try:
        copy_database(engine, target)
        with target.connect() as conn:
            assert trend_totals.differences(conn, pid) == []
        for kw in QUERIES:
            q = ReportQuery(pid, as_of=START + timedelta(days=200), **kw)
            assert trends.build(target, q) == trends.build(engine, q)
            assert what_if.build(target, q) == what_if.build(engine, q)
            assert outcomes.build(target, q).tables() == outcomes.build(engine, q).tables()
    finally:
        target.dispose()
