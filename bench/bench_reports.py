"""Time every report on a generated practice with 100,000 visits (SQLite, a temporary file).

The practice is written directly with bulk inserts (the use cases would take far longer
and are not what is measured): 2,000 patients on five payers, visits over two years, a
claim per insured visit with its lines and submission event, and the ledger entries of a
typical life (charge, payment, CO-45, patient share transfer, patient payment; some
denials), plus pain and range-of-motion measures. Each report is timed over the whole
range and over the last year (best of three). Target: under one second per report.

Generating the practice takes minutes, so the generated file is kept in the system's
temporary folder, keyed by a hash of this generator (``GENERATOR_VERSION``, the constants and
the source of ``generate``), and each run works on a fresh copy of it brought to the newest
migration. ``THERABILL_BENCH_FRESH=1`` generates anew.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from therabill.adapters.db import migrations, report_totals
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.ledger_tables import ledger_entries, ledger_month_totals
from therabill.adapters.db.tables import (
    authorization_events,
    authorizations,
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
from therabill.reports import REPORTS, ReportQuery, build_report

VISITS = 100_000
PATIENTS = 2_000
FIRST_DAY = date(2025, 1, 1)
DAYS = 700
PATTERNS = [
    [("97124", 60)],
    [("97124", 45)],
    [("97124", 30), ("97140", 15)],
    [("97110", 23), ("97140", 8)],
    [("97110", 8), ("97140", 8)],
    [("97124", 38), ("97140", 22)],
    [("97110", 30), ("97112", 15)],
]
FEES = {"97124": 3000, "97140": 3500, "97110": 4200, "97112": 4500}
GENERATOR_VERSION = 1
"""Bump when the generated practice changes in a way the source hash would not show."""


def _id() -> str:
    return uuid.uuid4().hex


def _ts(day: date) -> datetime:
    return datetime.combine(day, dtime(12, 0), tzinfo=UTC)


def generate(engine: Any, seed: int = 8) -> str:
    rng = random.Random(seed)
    pid = _id()
    now = _ts(FIRST_DAY)
    rows: dict[Any, list[dict[str, Any]]] = {
        t: []
        for t in (
            providers,
            payers,
            patients,
            coverages,
            visits,
            claims,
            claim_lines,
            claim_status_events,
            ledger_entries,
            objective_measures,
            goals,
            authorizations,
            authorization_events,
        )
    }
    prov = [_id() for _ in range(3)]
    for i, p in enumerate(prov):
        rows[providers].append(
            {"id": p, "practice_id": pid, "first_name": f"T{i}", "last_name": "Therapist", "created_at": now}
        )
    pay = [_id() for _ in range(5)]
    for i, p in enumerate(pay):
        rows[payers].append(
            {
                "id": p,
                "practice_id": pid,
                "name": f"Payer {i}",
                "payer_id": f"P{i}",
                "profile": "commercial",
                "created_at": now,
            }
        )
    pats, cov_of, payer_of = [], {}, {}
    for i in range(PATIENTS):
        pt = _id()
        pats.append(pt)
        rows[patients].append(
            {
                "id": pt,
                "practice_id": pid,
                "chart_number": f"C{i}",
                "first_name": f"F{i}",
                "last_name": f"L{i}",
                "created_at": now,
            }
        )
        if i % 6:
            cov = _id()
            cov_of[pt], payer_of[pt] = cov, pay[i % 5]
            rows[coverages].append(
                {
                    "id": cov,
                    "practice_id": pid,
                    "patient_id": pt,
                    "payer_id": pay[i % 5],
                    "sequence": "primary",
                    "created_at": now,
                }
            )
            if i % 10 == 1:
                auth = _id()
                rows[authorizations].append(
                    {
                        "id": auth,
                        "practice_id": pid,
                        "coverage_id": cov,
                        "number": f"A{i}",
                        "start_date": FIRST_DAY,
                        "end_date": FIRST_DAY + timedelta(days=DAYS),
                        "codes": [],
                        "visits_allowed": 60,
                        "units_allowed": 200,
                        "visits_used": 0,
                        "units_used": 0,
                        "created_at": now,
                    }
                )
                rows[authorization_events].append(
                    {
                        "id": _id(),
                        "practice_id": pid,
                        "authorization_id": auth,
                        "kind": "use",
                        "visits": 20,
                        "units": 60,
                        "at": now,
                        "actor": "bench",
                    }
                )
        rows[goals].append(
            {
                "id": _id(),
                "practice_id": pid,
                "patient_id": pt,
                "description": "Sit 2 hours",
                "target": "2 hours",
                "status": "met" if i % 3 == 0 else "open",
                "created_at": now,
            }
        )
    for n in range(VISITS):
        pt = pats[n % PATIENTS]
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        pattern = PATTERNS[rng.randrange(len(PATTERNS))]
        vid = _id()
        rows[visits].append(
            {
                "id": vid,
                "practice_id": pid,
                "patient_id": pt,
                "provider_id": prov[n % 3],
                "date_of_service": day,
                "status": "coded",
                "created_at": _ts(day),
                "encounter_json": {"services": [{"code": c, "minutes": m} for c, m in pattern]},
            }
        )
        rows[objective_measures].append(
            {
                "id": _id(),
                "practice_id": pid,
                "visit_id": vid,
                "patient_id": pt,
                "measured_on": day,
                "kind": "pain",
                "name": "pain_scale",
                "value": str(rng.randint(1, 8)),
                "unit": "0-10",
            }
        )
        if pt not in cov_of:
            continue
        cid, payer = _id(), payer_of[pt]
        sub = day + timedelta(days=rng.randint(1, 6))
        lines = []
        for k, (code, minutes) in enumerate(pattern, start=1):
            units = max(1, (minutes + 7) // 15)
            lid = _id()
            lines.append((lid, FEES[code] * units))
            rows[claim_lines].append(
                {
                    "id": lid,
                    "practice_id": pid,
                    "claim_id": cid,
                    "line_number": k,
                    "service_index": k - 1,
                    "code": code,
                    "modifiers": [],
                    "units": units,
                    "minutes": minutes,
                    "unit_charge_cents": FEES[code],
                    "charge_cents": FEES[code] * units,
                    "diagnosis_pointers": [1],
                    "line_id": f"{n}-{k}",
                    "date_of_service": day,
                    "place_of_service": "11",
                }
            )
        paid_day = sub + timedelta(days=rng.randint(10, 40))
        done = paid_day < FIRST_DAY + timedelta(days=DAYS - 20)
        rows[claims].append(
            {
                "id": cid,
                "practice_id": pid,
                "visit_id": vid,
                "patient_id": pt,
                "payer_id": payer,
                "coverage_id": cov_of[pt],
                "claim_number": f"B{n}",
                "status": "paid" if done else "submitted",
                "date_of_service": day,
                "total_charge_cents": sum(c for _, c in lines),
                "created_at": _ts(day),
                "updated_at": _ts(sub),
            }
        )
        rows[claim_status_events].append(
            {
                "id": _id(),
                "practice_id": pid,
                "claim_id": cid,
                "seq": 1,
                "status": "submitted",
                "at": _ts(sub),
                "actor": "bench",
            }
        )
        for lid, charge in lines:
            base = {
                "practice_id": pid,
                "patient_id": pt,
                "item_id": lid,
                "claim_id": cid,
                "claim_line_id": lid,
                "posted_by": "bench",
            }
            rows[ledger_entries].append(
                {
                    **base,
                    "id": _id(),
                    "kind": "charge",
                    "bucket": "insurance",
                    "payer_id": payer,
                    "amount_cents": charge,
                    "detail": "claim-line",
                    "posted_at": _ts(sub),
                }
            )
            if not done:
                continue
            if rng.random() < 0.06:
                rows[ledger_entries].append(
                    {
                        **base,
                        "id": _id(),
                        "kind": "adjustment",
                        "bucket": "insurance",
                        "payer_id": payer,
                        "amount_cents": charge,
                        "group_code": "CO",
                        "reason_code": rng.choice(["50", "97", "16", "197"]),
                        "detail": "denial",
                        "posted_at": _ts(paid_day),
                    }
                )
                continue
            paid, co = charge * 6 // 10, charge * 2 // 10
            pr = charge - paid - co
            j = _id()
            rows[ledger_entries] += [
                {
                    **base,
                    "id": _id(),
                    "kind": "insurance-payment",
                    "bucket": "insurance",
                    "payer_id": payer,
                    "amount_cents": paid,
                    "posted_at": _ts(paid_day),
                },
                {
                    **base,
                    "id": _id(),
                    "kind": "adjustment",
                    "bucket": "insurance",
                    "payer_id": payer,
                    "amount_cents": co,
                    "group_code": "CO",
                    "reason_code": "45",
                    "posted_at": _ts(paid_day),
                },
                {
                    **base,
                    "id": _id(),
                    "kind": "transfer",
                    "bucket": "insurance",
                    "payer_id": payer,
                    "amount_cents": -pr,
                    "group_code": "PR",
                    "reason_code": "2",
                    "journal_id": j,
                    "posted_at": _ts(paid_day),
                },
                {
                    **base,
                    "id": _id(),
                    "kind": "transfer",
                    "bucket": "patient",
                    "amount_cents": pr,
                    "group_code": "PR",
                    "reason_code": "2",
                    "journal_id": j,
                    "posted_at": _ts(paid_day),
                },
            ]
            if rng.random() < 0.7:
                rows[ledger_entries].append(
                    {
                        **base,
                        "id": _id(),
                        "kind": "patient-payment",
                        "bucket": "patient",
                        "amount_cents": pr,
                        "detail": "card",
                        "posted_at": _ts(paid_day + timedelta(days=9)),
                    }
                )
    with engine.begin() as conn:
        conn.execute(
            practices.insert().values(
                id=pid,
                name="Bench practice",
                slug="bench",
                created_at=now,
                fees={k: f"{v / 100:.2f}" for k, v in FEES.items()},
            )
        )
        for table, data in rows.items():
            keys = sorted({k for row in data for k in row})
            data = [{k: row.get(k) for k in keys} for row in data]
            for i in range(0, len(data), 20_000):
                conn.execute(table.insert(), data[i : i + 20_000])
    return pid


def _cache_key() -> str:
    text = repr((GENERATOR_VERSION, VISITS, PATIENTS, FIRST_DAY, DAYS, PATTERNS, FEES))
    return hashlib.sha256((text + inspect.getsource(generate)).encode()).hexdigest()[:16]


def _generated_copy(target: Path) -> tuple[float | None, bool]:
    """Put a generated practice at ``target``: (seconds spent generating, taken from the cache)."""
    cache = Path(tempfile.gettempdir()) / "therabill-bench" / f"reports-{_cache_key()}.sqlite3"
    if cache.exists() and os.environ.get("THERABILL_BENCH_FRESH") != "1":
        shutil.copyfile(cache, target)
        return None, True
    engine = make_engine(f"sqlite:///{target}")
    migrations.upgrade(engine)
    started = time.perf_counter()
    pid = generate(engine)
    with engine.begin() as conn:  # the entries were written in bulk, not posted: total them as a rebuild does
        report_totals.rebuild(conn, [pid])
    gen = time.perf_counter() - started
    engine.dispose()
    with sqlite3.connect(target) as raw:
        raw.execute("ANALYZE")  # planner statistics, as the migrations leave them on an upgrade
        raw.commit()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # fold the WAL into the file before copying it
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".partial")
    shutil.copyfile(target, partial)
    partial.replace(cache)
    return gen, False


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        gen, cached = _generated_copy(path)
        engine = make_engine(f"sqlite:///{path}")
        started = time.perf_counter()
        migrations.upgrade(engine)  # a cached file gets the migrations written since
        upgrade = time.perf_counter() - started
        with engine.connect() as conn:
            pid = conn.execute(practices.select().with_only_columns(practices.c.id)).scalar_one()
            n_entries = conn.execute(
                select(func.count()).select_from(ledger_entries).where(ledger_entries.c.practice_id == pid)
            ).scalar_one()
            n_totals = conn.execute(
                select(func.count())
                .select_from(ledger_month_totals)
                .where(ledger_month_totals.c.practice_id == pid)
            ).scalar_one()
        last_day = FIRST_DAY + timedelta(days=DAYS)
        ranges = {
            "all": ReportQuery(pid, as_of=last_day),
            "last_year": ReportQuery(pid, last_day - timedelta(days=365), last_day, as_of=last_day),
        }
        figures: dict[str, Any] = {
            "visits": VISITS,
            "ledger_entries": int(n_entries),
            "ledger_month_totals_rows": int(n_totals),
            "generate_seconds": None if gen is None else round(gen, 1),
            "generated_from_cache": cached,
            "migrate_seconds": round(upgrade, 1),
        }
        runs = int(os.environ.get("THERABILL_BENCH_RUNS", "3"))
        for name in REPORTS:
            for label, q in ranges.items():
                times = sorted(_time(name, engine, q) for _ in range(runs))
                figures[f"{name}_{label}_seconds"] = round(times[0], 3)
                figures[f"{name}_{label}_worst_seconds"] = round(times[-1], 3)
                print(f"  {name:15s} {label:9s} best {times[0]:7.3f} s  worst {times[-1]:7.3f} s", flush=True)
        engine.dispose()
    return figures


def _time(name: str, engine: Any, q: ReportQuery) -> float:
    t = time.perf_counter()
    build_report(name, engine, q)
    return time.perf_counter() - t
