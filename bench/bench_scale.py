"""Many practices in one PostgreSQL database: every report and the main pages, per practice size.

The database (``THERABILL_BENCH_PG_URL``, default ``postgresql://postgres@127.0.0.1:5432/therabill_scale``)
is generated ON THE SERVER by ``bench/scale_data.sql`` (``INSERT ... SELECT`` over
``generate_series``; no row crosses the wire), with the secondary indexes dropped during the
load and built afterwards, then the monthly totals rebuilt and ``VACUUM ANALYZE``. It is kept
between runs, keyed by a hash of the sizes and the generator; a new schema revision is applied
to it by the normal upgrade (and that upgrade is timed). ``THERABILL_BENCH_FRESH=1`` generates
anew.

Sizes (``THERABILL_BENCH_SCALE=practices,largest,medium,small,tail``, default
``1000,1000000,100000,10000,300``): practice 1 has ``largest`` visits, 2 ``medium``, 3 ``small``,
every other practice ``tail``. So one database holds a 1M-, a 100k- and a 10k-visit practice
beside 997 small ones, and the same queries are measured at each size: how a cost grows with
the practice, and whether the other practices' rows cost anything.

Figures per measured practice: each report (whole range and last year), the dashboard, the
claims worklist, the web's claims page (a page of claims and the billing queues), the follow-up
list of the command line and the web's follow-up worklist (its first 200 and the count) and a
patient search; best and worst of
``THERABILL_BENCH_RUNS`` (default 2) wall seconds, and the benchmark process's own CPU seconds
of the best run (the rest of the wall time is the database and waiting: on a shared machine
the CPU figure is the steadier one); a page is run ``THERABILL_BENCH_PAGE_RUNS`` times (default
20) and its 95th percentile wall seconds kept too (``*_p95_seconds``: the pages' target).
Also the database and ``ledger_entries`` sizes on disk.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from therabill.adapters.db import migrations, report_totals
from therabill.adapters.db.engine import make_engine
from therabill.reports import REPORTS, ReportQuery, build_report
from therabill.service_layer import claims as claims_service
from therabill.service_layer import dashboard as dashboard_service
from therabill.service_layer import followup, submission, work_queues
from therabill.service_layer import patients as patients_service
from therabill.service_layer.accounts import Principal

HERE = Path(__file__).resolve().parent
SQL = HERE / "scale_data.sql"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/therabill_scale"
DEFAULT_SCALE = "1000,1000000,100000,10000,300"
FIRST_DAY = date(2025, 1, 1)
LAST_DAY = FIRST_DAY + timedelta(days=710)
"""The as-of day of the reports: after the last posting (charges reach day 705), as "today" is."""
ACTOR = "bench"
BIG_TABLES = (
    "ledger_entries",
    "claim_lines",
    "claims",
    "claim_status_events",
    "visits",
    "objective_measures",
    "patients",
    "coverages",
    "goals",
    "authorizations",
)
MEASURED = {"largest": 1, "medium": 2, "small": 3, "tail": 4}


def _sizes() -> dict[str, int]:
    raw = os.environ.get("THERABILL_BENCH_SCALE", DEFAULT_SCALE)
    values = [int(v) for v in raw.split(",")]
    return dict(zip(("practices", "largest", "medium", "small", "tail"), values, strict=True))


def _key(sizes: dict[str, int]) -> str:
    return hashlib.sha256((repr(sorted(sizes.items())) + SQL.read_text()).encode()).hexdigest()[:16]


def _url() -> str:
    return os.environ.get("THERABILL_BENCH_PG_URL", DEFAULT_URL)


def _admin(url: str) -> Engine:
    admin = make_url(url).set(drivername="postgresql+psycopg", database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _stored_key(url: str) -> str | None:
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            name = make_url(url).database
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                return None
    finally:
        admin.dispose()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not conn.execute(text("SELECT to_regclass('bench_scale_meta')")).scalar():
                return None
            return conn.execute(text("SELECT value FROM bench_scale_meta WHERE key = 'generator'")).scalar()
    finally:
        engine.dispose()


def statements(sizes: dict[str, int]) -> list[str]:
    sql = "\n".join(line for line in SQL.read_text().splitlines() if not line.lstrip().startswith("--"))
    sql = re.sub(r":(practices|largest|medium|small|tail)\b", lambda m: str(int(sizes[m.group(1)])), sql)
    return [s.strip() for s in sql.split(";\n") if s.strip()]


def generate(url: str, sizes: dict[str, int]) -> dict[str, float]:
    """Make the database anew; returns the seconds of each step."""
    name = make_url(url).database
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(url)
    steps: dict[str, float] = {}
    t = time.perf_counter()
    migrations.upgrade(engine)
    steps["migrate"] = time.perf_counter() - t
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK / append-only triggers
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(text("SET LOCAL work_mem = '64MB'"))
        secondary = conn.execute(
            text(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = ANY(:t)"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            ),
            {"t": list(BIG_TABLES)},
        ).all()
        for _table, _definition, index in secondary:
            conn.execute(text(f"DROP INDEX {index}"))
        t = time.perf_counter()
        for stmt in statements(sizes):
            s = time.perf_counter()
            conn.exec_driver_sql(stmt.replace("%", "%%"))
            label = " ".join(stmt.split()[:3]).lower()
            print(f"   {time.perf_counter() - s:7.1f} s  {label}", flush=True)
        steps["load"] = time.perf_counter() - t
        t = time.perf_counter()
        for _table, definition, _index in secondary:
            conn.exec_driver_sql(definition)
        steps["indexes"] = time.perf_counter() - t
        t = time.perf_counter()
        # the database's own tables only: a database-wide ANALYZE also takes the server's shared
        # catalogs (pg_authid...), held to the end of this long transaction, and every other
        # database's VACUUM or ANALYZE on the server would wait for it
        own = conn.execute(
            text(
                "SELECT quote_ident(relname) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
        ).scalars()
        conn.execute(text("ANALYZE " + ", ".join(own)))
        pids = list(conn.execute(text("SELECT id FROM practices ORDER BY id")).scalars())
        report_totals.rebuild(conn, pids)
        steps["month_totals"] = time.perf_counter() - t
        conn.execute(text("CREATE TABLE bench_scale_meta (key text PRIMARY KEY, value text NOT NULL)"))
        conn.execute(
            text("INSERT INTO bench_scale_meta VALUES ('generator', :k), ('seconds', :s)"),
            {"k": _key(sizes), "s": repr(steps)},
        )
    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    steps["vacuum_analyze"] = time.perf_counter() - t
    engine.dispose()
    return steps


def _measure(fn: Callable[[], Any], runs: int) -> tuple[float, float, float, float]:
    """(best wall s, worst wall s, process CPU s of the best run, 95th percentile wall s)."""
    results = []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        results.append((time.perf_counter() - w, time.process_time() - c))
    results.sort()
    p95 = results[max(0, math.ceil(0.95 * len(results)) - 1)][0]
    return results[0][0], results[-1][0], results[0][1], p95


def _principal(pid: str) -> Principal:
    return Principal(user_id="bench", username="bench", display_name="Bench", practice_id=pid, role="owner")


def run() -> dict[str, Any]:
    url = _url()
    sizes = _sizes()
    figures: dict[str, Any] = {
        "sizes": sizes,
        "total_visits": sizes["largest"] + sizes["medium"] + sizes["small"],
    }
    figures["total_visits"] += sizes["tail"] * max(0, sizes["practices"] - 3)
    fresh = os.environ.get("THERABILL_BENCH_FRESH") == "1"
    if fresh or _stored_key(url) != _key(sizes):
        steps = generate(url, sizes)
        figures["generate_seconds"] = {k: round(v, 1) for k, v in steps.items()}
    else:
        figures["generated_from_cache"] = True
    engine = make_engine(url)
    with engine.connect() as conn:
        spent = conn.execute(text("SELECT value FROM bench_scale_meta WHERE key = 'seconds'")).scalar()
    figures.setdefault("generate_seconds", spent)  # when taken from the kept database: as measured then
    t = time.perf_counter()
    migrations.upgrade(engine)
    figures["upgrade_seconds"] = round(time.perf_counter() - t, 1)
    with engine.connect() as conn:
        figures["database_bytes"] = int(
            conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        )
        figures["ledger_entries_bytes"] = int(
            conn.execute(text("SELECT pg_total_relation_size('ledger_entries')")).scalar_one()
        )
        figures["ledger_entries_rows"] = int(
            conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
        )
        figures["practices"] = int(conn.execute(text("SELECT count(*) FROM practices")).scalar_one())
    runs = int(os.environ.get("THERABILL_BENCH_RUNS", "2"))
    page_runs = int(os.environ.get("THERABILL_BENCH_PAGE_RUNS", "20"))
    only = os.environ.get("THERABILL_BENCH_SCALE_ONLY", "")
    for label, pno in MEASURED.items():
        if only and label not in only.split(","):
            continue
        pid = hashlib.md5(f"p{pno}".encode()).hexdigest()  # noqa: S324 - the generator's id, not security
        with engine.connect() as conn:
            n_visits = conn.execute(
                text("SELECT count(*) FROM visits WHERE practice_id = :p"), {"p": pid}
            ).scalar()
        figures[f"{label}_visits"] = int(n_visits or 0)
        checks: dict[str, Callable[[], Any]] = {}
        for name in REPORTS:
            checks[f"report_{name}_all"] = lambda n=name, p=pid: build_report(
                n, engine, ReportQuery(p, as_of=LAST_DAY)
            )
            checks[f"report_{name}_last_year"] = lambda n=name, p=pid: build_report(
                n, engine, ReportQuery(p, LAST_DAY - timedelta(days=365), LAST_DAY, as_of=LAST_DAY)
            )
        checks["page_dashboard"] = lambda p=pid: dashboard_service.dashboard(
            engine, p, ACTOR, day=LAST_DAY, billing=True
        )
        checks["page_claims_worklist"] = lambda p=pid: claims_service.worklist(engine, p, ACTOR)
        checks["page_claims_page"] = lambda p=pid: (  # what the web's claims page asks for
            work_queues.claims_page(engine, p, ACTOR),
            work_queues.billing_queues(engine, p, ACTOR),
        )
        checks["page_follow_up"] = lambda p=pid: submission.follow_up(engine, p, ACTOR, as_of=LAST_DAY)
        checks["page_follow_up_worklist"] = lambda p=pid: followup.worklist_head(  # the web's page
            engine, p, ACTOR, as_of=LAST_DAY, rows=200
        )
        checks["page_patient_search"] = lambda p=pid: patients_service.search(engine, _principal(p), "L12")
        for key, fn in checks.items():
            page = key.startswith("page_")
            best, worst, cpu, p95 = _measure(fn, max(runs, page_runs) if page else runs)
            figures[f"{label}_{key}_seconds"] = round(best, 3)
            figures[f"{label}_{key}_worst_seconds"] = round(worst, 3)
            figures[f"{label}_{key}_cpu_seconds"] = round(cpu, 3)
            if page:
                figures[f"{label}_{key}_p95_seconds"] = round(p95, 3)
            print(
                f"  {label:8s} {key:32s} best {best:8.3f} s  worst {worst:8.3f} s  cpu {cpu:7.3f} s"
                + (f"  p95 {p95:8.3f} s" if page else ""),
                flush=True,
            )
    engine.dispose()
    load = os.getloadavg()
    figures["load_average_after"] = [round(x, 2) for x in load]
    return figures
