"""Posting a large 835 and building a large batch, on PostgreSQL and on SQLite.

For each engine (``THERABILL_BENCH_POSTING_ENGINES``, default ``postgresql,sqlite``) and each
size (``THERABILL_BENCH_POSTING_SIZES``, default 2,000 and 10,000 claims), a fresh database gets one practice made through the service layer (practice,
therapist, payer, patient, a visit coded and marked ready), whose claim is then copied in bulk
(``INSERT`` of many rows: one patient per 5 claims, each claim with its visit, two lines and
their charges; the summary tables rebuilt), so every claim is what ``code_visit`` makes. Then,
each step through the one service the web, API and CLI use:

* ``batch``: ``batches.build_batch`` over the ready claims, at most 5,000 claims per batch
  (the 837P rendered, kept, and every claim moved to submitted);
* ``post``: ``remittances.post_835`` of the project's own 835 for those claims
  (``remittances.example_835``: each line paid 80 %, CO-45 for the rest, one line denied):
  every claim matched, its entries posted, the summary tables kept, its status moved;
* ``repost``: the same file again (exactly once: every claim skipped).

Each measured step runs in a child process of its own, so the figures are its own: wall
seconds, CPU seconds of the process, on PostgreSQL the CPU seconds of the server processes it
connected to (``server_cpu_s``, read from ``/proc`` when the server runs on this machine), and the
peak resident memory the step added (``ru_maxrss`` at the end minus the resident size at its
start); for posting, the statements sent to the database (``statements``, and per claim: a
statement for many rows counts once, a statement the driver repeats for many parameter sets
once per set, a ``COPY`` once). On PostgreSQL the statistics are refreshed (``ANALYZE``)
between the batch and the posting, as autovacuum has done by the time a payer answers. After posting, the kept totals and balances are compared with the entries
(``report_totals.differences``: must be empty). The 1-minute load average is recorded before
and after: the machine is shared, so the CPU figures are the ones to compare.

PostgreSQL: the server of ``THERABILL_BENCH_PG_URL`` (default the local test server), a
database ``therabill_bench_posting`` (``THERABILL_BENCH_POSTING_DB``) created and dropped by the run.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.pool import NullPool

ACTOR = "os:bench"
DATABASE = os.environ.get("THERABILL_BENCH_POSTING_DB", "therabill_bench_posting")
BATCH_MAX = 5_000
CLAIMS_PER_PATIENT = 5
DOS = date(2026, 11, 20)
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "clean-60-minute-massage.json"


def _sizes() -> tuple[int, ...]:
    raw = os.environ.get("THERABILL_BENCH_POSTING_SIZES", "2000,10000")
    return tuple(int(s) for s in raw.split(",") if s.strip())


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _in_child(step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``step`` in a forked process: its figures plus wall, CPU and added peak memory."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, write the figures, leave without cleanup
        os.close(read)
        try:
            rss0 = _rss_kb()
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            figures = step()
            figures["wall_s"] = round(time.perf_counter() - t0, 3)
            figures["cpu_s"] = round(time.process_time() - cpu0, 3)
            figures["peak_rss_added_mb"] = round(
                (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024, 1
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            figures = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        with os.fdopen(write, "w") as out:
            out.write(json.dumps(figures, default=str))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(data) if data else {"error": "no result"}
    return result


# --- the practice ---------------------------------------------------------------------------


def _template(engine: Engine, slug: str | None = None) -> tuple[str, str]:
    """A practice with one claim coded and marked ready through the service layer."""
    from therabill.service_layer import claims as claims_svc
    from therabill.service_layer import coverages as coverages_svc
    from therabill.service_layer import patients as patients_svc
    from therabill.service_layer import practice as practice_svc
    from therabill.service_layer import visits as visits_svc

    pid = practice_svc.create_practice(
        engine,
        name="Bench Massage Therapy PLLC",
        slug=slug or f"bench-{os.getpid()}",
        actor=ACTOR,
        npi="1887754327",
        tax_id="123456789",
        taxonomy="225700000X",
        phone="8455550188",
        address={"line1": "12 Market St", "city": "Poughkeepsie", "state": "NY", "zip": "126013301"},
    )
    provider = practice_svc.add_provider(
        engine, pid, ACTOR, first_name="Mei", last_name="Chen", npi="1993214562",
        taxonomy="225700000X", credential="LMT", licenses=[("NY", "024567", date(2030, 10, 31))],
    )  # fmt: skip
    payer = practice_svc.add_payer(
        engine, pid, ACTOR, name="Aetna", payer_id="60054", profile="commercial",
        claim_filing_indicator="CI",
        address={"line1": "PO Box 981106", "city": "El Paso", "state": "TX", "zip": "799981106"},
    )  # fmt: skip
    patient = patients_svc.register_patient(
        engine, pid, ACTOR, chart_number="P-0", first_name="Grace", last_name="Miller",
        birth_date=date(1992, 9, 30), sex="F",
        address={"line1": "77 River Rd", "city": "Poughkeepsie", "state": "NY", "zip": "12601"},
        coverages_in=[coverages_svc.CoverageInput(payer_id=payer, member_id="W123456789", group_number="G-1")],
    )  # fmt: skip
    doc = json.loads(EXAMPLE.read_text())
    visit = visits_svc.record_visit(
        engine, pid, ACTOR, patient_id=patient, provider_id=provider, date_of_service=DOS,
        document={k: v for k, v in doc.items() if k in visits_svc.VISIT_DOCUMENT_KEYS},
    )  # fmt: skip
    coded = claims_svc.code_visit(engine, pid, ACTOR, visit, as_of=DOS, scrubber=_no_findings)
    claims_svc.mark_ready(engine, pid, ACTOR, coded.claim_id)
    return pid, coded.claim_id


class _Clean:
    findings: tuple[dict[str, Any], ...] = ()
    has_errors = False

    def as_dict(self) -> dict[str, Any]:
        return {"findings": [], "has_errors": False}


def _no_findings(encounter: Any, as_of: date) -> _Clean:  # noqa: ARG001 - the scrubber signature
    """The scrub of the template claim (the scrubber has its own benchmark)."""
    return _Clean()


def _copies(engine: Engine, practice_id: str, claim_id: str, count: int) -> None:
    """``count - 1`` copies of the claim (with visit, lines, charges; a patient per 5 claims)."""
    from therabill.adapters.db import report_totals
    from therabill.adapters.db.ledger_tables import ledger_entries
    from therabill.adapters.db.tables import claim_lines, claims, coverages, patients, visits
    from therabill.domain.ledger import new_id

    with engine.begin() as c:
        claim = dict(c.execute(select(claims).where(claims.c.id == claim_id)).one()._mapping)
        visit = dict(c.execute(select(visits).where(visits.c.id == claim["visit_id"])).one()._mapping)
        patient = dict(c.execute(select(patients).where(patients.c.id == claim["patient_id"])).one()._mapping)
        coverage = dict(
            c.execute(select(coverages).where(coverages.c.id == claim["coverage_id"])).one()._mapping
        )
        lines = [
            dict(r._mapping) for r in c.execute(select(claim_lines).where(claim_lines.c.claim_id == claim_id))
        ]
        charges = [
            dict(r._mapping) for r in c.execute(select(ledger_entries).where(ledger_entries.c.claim_id == claim_id))
        ]  # fmt: skip
        chunk: dict[str, list[dict[str, Any]]] = {}

        def flush() -> None:
            for table in (patients, coverages, visits, claims, claim_lines, ledger_entries):
                rows = chunk.pop(table.name, [])
                if rows:
                    c.execute(table.insert(), rows)

        person, cover = patient["id"], coverage["id"]
        for n in range(1, count):
            if n % CLAIMS_PER_PATIENT == 0:
                person, cover = new_id(), new_id()
                chunk.setdefault("patients", []).append(
                    {**patient, "id": person, "chart_number": f"P-{n}", "last_name": f"Miller{n}"}
                )
                chunk.setdefault("coverages", []).append({**coverage, "id": cover, "patient_id": person})
            vid, cid = new_id(), new_id()
            chunk.setdefault("visits", []).append(
                {**visit, "id": vid, "patient_id": person, "coverage_id": None}
            )
            chunk.setdefault("claims", []).append(
                {**claim, "id": cid, "visit_id": vid, "patient_id": person, "coverage_id": cover,
                 "claim_number": f"TB{n:010d}"}
            )  # fmt: skip
            ids = {ln["id"]: new_id() for ln in lines}
            chunk.setdefault("claim_lines", []).extend(
                {**ln, "id": ids[ln["id"]], "claim_id": cid, "line_id": f"{n}-{ln['line_number']}"}
                for ln in lines
            )
            chunk.setdefault("ledger_entries", []).extend(
                {**e, "id": new_id(), "patient_id": person, "claim_id": cid, "item_id": ids[e["item_id"]],
                 "claim_line_id": ids[e["claim_line_id"]], "idempotency_key": f"claim-charges:{cid}"}
                for e in charges
            )  # fmt: skip
            if n % 1000 == 0:
                flush()
        flush()
        report_totals.rebuild(c, [practice_id])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))


def _analyze(url: str) -> None:
    """``ANALYZE`` on PostgreSQL between the batch and its 835: the payer answers days or weeks
    after the claims went out, and autovacuum has long since refreshed the statistics of the
    tables the batch wrote (a bulk copy minutes old is not what a posting meets in use)."""
    if not url.startswith("postgresql"):
        return
    from therabill.adapters.db.engine import analyze, make_engine

    engine = make_engine(url)
    analyze(engine)
    engine.dispose()


# --- the steps ------------------------------------------------------------------------------


def _statements(engine: Engine) -> list[int]:
    """The statements ``engine`` sends, counted as they go: a statement run for a list of
    parameter sets counts once per set (the driver sends it that many times); one statement
    with one set of parameters (a dict, however many rows its text lists) counts once. A ``COPY``
    (``bulk.insert_rows``) is not seen here: it is counted by ``_copies_counted``."""
    sent = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*args: Any) -> None:  # conn, cursor, statement, parameters, context, executemany
        parameters, context, executemany = args[3], args[4], args[5]
        rows_in_text = getattr(context, "execute_style", None) is ExecuteStyle.INSERTMANYVALUES
        sent[0] += len(parameters) if executemany and parameters and not rows_in_text else 1

    return sent


def _copies_counted(sent: list[int]) -> None:
    """Count each ``COPY`` of ``bulk.insert_rows`` into ``sent`` too (one statement each)."""
    from therabill.adapters.db import bulk

    copy = bulk.insert_rows

    def counted(bind: Any, table: Any, rows: Any) -> None:
        if rows and bind.get_bind().dialect.name == "postgresql":  # elsewhere an insert, seen by the event
            sent[0] += 1
        copy(bind, table, rows)

    bulk.insert_rows = counted


def _server_backends(engine: Engine) -> list[int]:
    """The process ids of the PostgreSQL backends ``engine`` connects to (filled as it connects)."""
    pids: list[int] = []
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _pid(dbapi_connection: Any, record: Any) -> None:  # noqa: ARG001 - the event's signature
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            pids.append(int(cursor.fetchone()[0]))
            cursor.close()

    return pids


def _server_cpu_s(pids: list[int]) -> float | None:
    """CPU seconds the backends used so far (a server on this machine; ``None`` otherwise)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return round(total / ticks, 3) if pids else None


def _batch(url: str, practice_id: str) -> dict[str, Any]:
    from therabill.adapters.db.engine import make_engine
    from therabill.adapters.x12.envelope import EnvelopeSettings
    from therabill.service_layer import batches
    from therabill.service_layer.batches import BatchError

    engine = make_engine(url)
    backends = _server_backends(engine)
    built, claims_in, sizes = 0, 0, []
    while True:
        from therabill.adapters.db.tables import claims
        from therabill.service_layer.uow import UnitOfWork

        with UnitOfWork(engine, practice_id, ACTOR, read_only=True) as uow:  # the ids only
            ready = list(
                uow.session.scalars(
                    uow.records.scoped(claims)
                    .with_only_columns(claims.c.id)
                    .where(claims.c.status == "ready")
                    .order_by(claims.c.claim_number)
                )
            )
        if not ready:
            break
        try:
            batch = batches.build_batch(
                engine, practice_id, ACTOR, ready[:BATCH_MAX], envelope=EnvelopeSettings()
            )
        except BatchError as exc:
            return {"error": str(exc)}
        built += 1
        claims_in += len(batch.claim_ids)
        sizes.append(len(batch.text))
    server_cpu = _server_cpu_s(backends)
    engine.dispose()
    return {"batches": built, "claims": claims_in, "x12_bytes": sum(sizes), "server_cpu_s": server_cpu}


def _post(url: str, practice_id: str, data: str) -> dict[str, Any]:
    from therabill.adapters.db.engine import make_engine
    from therabill.service_layer import remittances

    engine = make_engine(url)
    backends = _server_backends(engine)
    sent = _statements(engine)
    _copies_counted(sent)
    posted = remittances.post_835(engine, practice_id, ACTOR, data)
    server_cpu = _server_cpu_s(backends)
    engine.dispose()
    return {
        "server_cpu_s": server_cpu,
        "statements": sent[0],
        "remittances": len(posted),
        "claims_matched": sum(p.matched_claims for p in posted),
        "claims_already_posted": sum(p.result.skipped_claims for p in posted),
        "entries": sum(p.result.entries for p in posted),
        "worklist": sum(len(p.result.worklist) for p in posted),
    }


def _per_cpu(size: int, step: dict[str, Any]) -> int | None:
    """Claims per CPU second of the step's process and its database server processes together."""
    if not step.get("cpu_s"):
        return None
    return round(size / (float(step["cpu_s"]) + float(step.get("server_cpu_s") or 0)))


def _one(url: str, size: int) -> dict[str, Any]:
    from therabill.adapters.db import migrations, report_totals
    from therabill.adapters.db.engine import make_engine
    from therabill.adapters.db.ledger_tables import ledger_entries
    from therabill.service_layer import remittances

    engine = make_engine(url)
    migrations.upgrade(engine)
    t0 = time.perf_counter()
    practice_id, claim_id = _template(engine)
    _copies(engine, practice_id, claim_id, size)
    setup_s = time.perf_counter() - t0
    engine.dispose()
    out: dict[str, Any] = {"claims": size, "setup_s": round(setup_s, 1), "load_before": _load()}
    batch = _in_child(lambda: _batch(url, practice_id))
    batch["claims_per_s"] = round(size / batch["wall_s"]) if "wall_s" in batch else None
    batch["claims_per_cpu_s"] = round(size / batch["cpu_s"]) if batch.get("cpu_s") else None
    batch["claims_per_cpu_s_with_server"] = _per_cpu(size, batch)
    out["batch"] = batch
    engine = make_engine(url)
    data = remittances.example_835(engine, practice_id, ACTOR)
    engine.dispose()
    _analyze(url)
    out["x835_bytes"] = len(data)
    post = _in_child(lambda: _post(url, practice_id, data))
    post["claims_per_s"] = round(size / post["wall_s"]) if "wall_s" in post else None
    post["claims_per_cpu_s"] = round(size / post["cpu_s"]) if post.get("cpu_s") else None
    post["claims_per_cpu_s_with_server"] = _per_cpu(size, post)
    post["statements_per_claim"] = round(post["statements"] / size, 3) if "statements" in post else None
    out["post"] = post
    out["repost"] = _in_child(lambda: _post(url, practice_id, data))
    engine = make_engine(url)
    with engine.connect() as c:
        out["summary_differences"] = len(report_totals.differences(c, practice_id))
        out["ledger_entries"] = c.execute(
            select(func.count())
            .select_from(ledger_entries)
            .where(ledger_entries.c.practice_id == practice_id)
        ).scalar_one()
    engine.dispose()
    out["load_after"] = _load()
    return out


def _pg_server() -> Any:
    return make_url(os.environ.get("THERABILL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))


def _pg(size: int) -> dict[str, Any]:
    server = _pg_server()
    admin = create_engine(
        server.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    try:
        return _one(server.set(database=DATABASE).render_as_string(hide_password=False), size)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


def _sqlite(size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return _one(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", size)


def _engines() -> tuple[str, ...]:
    raw = os.environ.get("THERABILL_BENCH_POSTING_ENGINES", "postgresql,sqlite")
    return tuple(s.strip() for s in raw.split(",") if s.strip())


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    engines = _engines()
    for size in _sizes():
        if "postgresql" in engines:
            figures[f"postgresql_{size}"] = _pg(size)
        if "sqlite" in engines:
            figures[f"sqlite_{size}"] = _sqlite(size)
    return figures


if __name__ == "__main__":
    from therabill.clock import install
    from therabill.entrypoints.clock import system_clock

    install(system_clock)
    print(json.dumps(run(), indent=2))
