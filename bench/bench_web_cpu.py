"""Server CPU per request of the web mix, measured inside one process (no sockets, no workers).

``bench_web`` measures the CPU of real uvicorn workers under load, which is the honest figure but
moves with the machine's load and includes the HTTP server. This one isolates the app: the same
database setup and the same mix as ``bench_web`` (its ``MIX``, ``_prepare``, ``_login`` and
``_request``), sent one request at a time through httpx's ASGI transport to ``create_app()``, and
the process's own CPU time (``time.process_time``: user + system of this process, all threads)
per request, by kind. A bare FastAPI app answering a small JSON document through the same
client gives the floor (client, ASGI and FastAPI routing), reported beside it; ``app_ms`` is the
difference. CPU time of one process is what a busy machine bends least (it still slows caches).

``THERABILL_BENCH_PROFILE=<file>`` writes a ``cProfile`` of one extra round to that file
(``python -m pstats <file>`` reads it). cProfile sees one thread only, so in that round the
work FastAPI hands to its thread pool runs inline on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bench_web import MIX, _login, _prepare, _request

WARMUP = 200
REQUESTS = int(os.environ.get("THERABILL_BENCH_REQUESTS", "1500"))
ROUNDS = 3


async def _measure(
    client: httpx.AsyncClient, data: dict[str, object], csrf: str, count: int, seed: int
) -> tuple[float, dict[str, list[float]], int]:
    rng = random.Random(seed)
    kinds = [k for weight, k in MIX for _ in range(weight)]
    by_kind: dict[str, list[float]] = {k: [] for _, k in MIX}
    errors = 0
    started = time.process_time()
    for _ in range(count):
        kind = rng.choice(kinds)
        method, path, kw = _request(kind, data, rng, csrf)
        t0 = time.process_time()
        r = await client.request(method, path, **kw)  # type: ignore[arg-type]
        by_kind[kind].append(time.process_time() - t0)
        if r.status_code >= 400:
            errors += 1
    return time.process_time() - started, by_kind, errors


async def _profile(client: httpx.AsyncClient, data: dict[str, object], csrf: str, to: str) -> None:
    import anyio.to_thread

    threaded = anyio.to_thread.run_sync

    async def inline(func: Any, *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
    try:
        profiler.enable()
        await _measure(client, data, csrf, REQUESTS, 99)
        profiler.disable()
    finally:
        anyio.to_thread.run_sync = threaded
    profiler.dump_stats(to)


async def _floor(count: int) -> float:
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    transport = httpx.ASGITransport(app=bare)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(WARMUP):
            await client.get("/")
        started = time.process_time()
        for _ in range(count):
            await client.get("/")
        return (time.process_time() - started) / count


async def _drive(data: dict[str, object]) -> dict[str, object]:
    from therabill.entrypoints.app import create_app

    app = create_app()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        csrf, _ = await _login(client, str(data["secret"]))
        await _measure(client, data, csrf, WARMUP, 1)
        profile_to = os.environ.get("THERABILL_BENCH_PROFILE")
        rounds = []
        kinds: dict[str, list[float]] = {}
        errors = 0
        for i in range(ROUNDS):
            total, by_kind, errs = await _measure(client, data, csrf, REQUESTS, 100 + i)
            rounds.append(total / REQUESTS)
            errors += errs
            for k, v in by_kind.items():
                kinds.setdefault(k, []).extend(v)
        if profile_to:
            await _profile(client, data, csrf, profile_to)
    floor = await _floor(REQUESTS)
    per_request = min(rounds)
    return {
        "load_average_before": None,
        "requests_per_round": REQUESTS,
        "rounds": len(rounds),
        "cpu_ms_per_request_by_round": [round(1000 * r, 2) for r in rounds],
        "cpu_ms_per_request": round(1000 * per_request, 2),
        "floor_ms_bare_fastapi": round(1000 * floor, 2),
        "app_ms": round(1000 * (per_request - floor), 2),
        "cpu_ms_mean_by_kind": {k: round(1000 * sum(v) / len(v), 2) for k, v in kinds.items() if v},
        "errors": errors,
    }


def run() -> dict[str, object]:
    """Prepare the database in a temporary folder, drive the mix in-process; the figures."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="therabill-bench-") as tmp:
        before = os.environ.get("THERABILL_DATABASE_URL")
        os.environ.pop("THERABILL_DATABASE_URL", None)
        try:
            data = _prepare(Path(tmp))  # sets THERABILL_DATA_DIR to the folder
            figures = asyncio.run(_drive(data))
        finally:
            if before is not None:
                os.environ["THERABILL_DATABASE_URL"] = before
    figures["load_average_before"] = load_before
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return figures
