"""What the database does for each report and main page of one practice, in figures a busy machine does not bend:
rows read by the scans and 8 KiB buffers touched, from ``EXPLAIN (ANALYZE, BUFFERS)`` of every
statement a report sends, on the scale benchmark's database (``bench_scale`` makes it first).

Aging is measured twice: as of today (it reads the open balances, ``ledger_balances``) and
with the kept balances ignored (what it did before: every entry of the practice), so the
change is seen in rows and buffers, not only in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from sqlalchemy import Engine, event

from bench import bench_scale
from therabill.adapters.db.engine import make_engine
from therabill.reports import REPORTS, ReportQuery, aging, build_report
from therabill.service_layer import claims as claims_service
from therabill.service_layer import dashboard as dashboard_service
from therabill.service_layer import patients as patients_service
from therabill.service_layer import submission, work_queues


def _captured(engine: Engine, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _work(engine: Engine, statements: list[tuple[str, Any]]) -> dict[str, int]:
    rows = buffers = statements_n = 0
    with engine.connect() as conn:
        for statement, parameters in statements:
            raw = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
            ).scalar_one()
            doc = raw if isinstance(raw, list) else json.loads(raw)
            top = doc[0]["Plan"]
            buffers += int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))
            rows += sum(
                int(n.get("Actual Rows", 0)) * int(n.get("Actual Loops", 1))
                for n in _nodes(top)
                if "Scan" in n["Node Type"]
            )
            statements_n += 1
    return {"statements": statements_n, "rows_scanned": rows, "buffers": buffers}


def _pages(engine: Engine, pid: str) -> dict[str, Callable[[], Any]]:
    actor = bench_scale.ACTOR
    day = bench_scale.LAST_DAY
    return {
        "dashboard": lambda: dashboard_service.dashboard(engine, pid, actor, day=day, billing=True),
        "claims worklist": lambda: claims_service.worklist(engine, pid, actor),
        "claims page": lambda: (
            work_queues.claims_page(engine, pid, actor),
            work_queues.billing_queues(engine, pid, actor),
        ),
        "follow-up": lambda: submission.follow_up(engine, pid, actor, as_of=day),
        "patient search": lambda: patients_service.search(engine, bench_scale._principal(pid), "L12"),
    }


def run() -> dict[str, Any]:
    engine = make_engine(bench_scale._url())
    figures: dict[str, Any] = {}
    only = os.environ.get("THERABILL_BENCH_SCALE_ONLY", "")
    try:
        for label, pno in (("largest", 1), ("medium", 2), ("small", 3)):
            if only and label not in only.split(","):
                continue
            pid = hashlib.md5(f"p{pno}".encode()).hexdigest()  # noqa: S324 - the generator's id
            q = ReportQuery(pid, as_of=bench_scale.LAST_DAY)
            for name in REPORTS:
                work = _work(engine, _captured(engine, lambda n=name, q=q: build_report(n, engine, q)))
                figures[f"{label}_{name}"] = work
                print(f"  {label:8s} {name:15s} {work}", flush=True)
            for name, call in _pages(engine, pid).items():
                work = _work(engine, _captured(engine, call))
                figures[f"{label}_page_{name.replace(' ', '_')}"] = work
                print(f"  {label:8s} {name:15s} {work}", flush=True)
            with mock.patch.object(aging, "balances_complete_before", lambda *_a: False):
                work = _work(engine, _captured(engine, lambda q=q: build_report("aging", engine, q)))
            figures[f"{label}_aging_from_the_entries"] = work
            print(f"  {label:8s} {'aging (entries)':15s} {work}", flush=True)
    finally:
        engine.dispose()
    return figures
