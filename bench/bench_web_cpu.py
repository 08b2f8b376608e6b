"""Server CPU per request of the web mix, measured inside one process (no sockets, no workers).

``bench_web`` measures the CPU of real uvicorn workers under load, which is the honest figure but
moves with the machine's load and includes the HTTP server. This one isolates the app: the same
database setup and the same mix as ``bench_web`` (its ``MIX``, ``_prepare``, ``_login`` and
``_request``), sent one request at a time through httpx's ASGI transport to ``create_app()``, and
the process's own CPU time (``time.process_time``: user + system of this process, all threads)
per request, by kind. A bare FastAPI app answering a small JSON document through the same
client gives the floor (client, ASGI and FastAPI routing), reported beside it; ``app_ms`` is the
difference. CPU time of one process is what a busy machine bends least (it still slows caches).

The process's CPU includes the client's: httpx builds each request, keeps the cookies and reads
each answer. After every round the round's traffic is sent again, the same requests in the same
order through a fresh client with the same cookies, to an ASGI app that only reads each request
and sends back the answer recorded for it (status, headers, body): that round's CPU is the
client's and the transport's own (``client_ms_by_round``), and the difference is the app's,
what a server process spends (``server_ms_per_request``: the best round's; by kind too). The
HTTP server's own parsing and writing comes on top (``python -m bench http_server``).

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


Sent = tuple[str, str, str, dict[str, Any], tuple[int, list[tuple[bytes, bytes]], bytes]]
"""One request of a round: its kind, method, path and options, and the answer it got."""


async def _measure(
    client: httpx.AsyncClient,
    data: dict[str, object],
    csrf: str,
    count: int,
    seed: int,
    sent: list[Sent] | None = None,
) -> tuple[float, dict[str, list[float]], int]:
    """Send ``count`` requests of the mix; the CPU seconds, by kind, and the errors. Each
    request and its answer are added to ``sent`` when it is given."""
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
        if sent is not None:
            sent.append((kind, method, path, kw, (r.status_code, list(r.headers.raw), r.content)))
        if r.status_code >= 400:
            errors += 1
    return time.process_time() - started, by_kind, errors


class _Replay:
    """An ASGI app that reads each request whole and answers it with the next recorded answer."""

    def __init__(self, answers: list[tuple[int, list[tuple[bytes, bytes]], bytes]]) -> None:
        self.answers = answers
        self.next = 0

    async def __call__(self, _scope: dict[str, Any], receive: Any, send: Any) -> None:
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        status, headers, body = self.answers[self.next]
        self.next += 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _client_cpu(sent: list[Sent], cookies: httpx.Cookies) -> tuple[float, dict[str, list[float]]]:
    """The CPU seconds of sending ``sent`` again to ``_Replay`` (the client's own), and by kind."""
    replay = _Replay([answer for *_, answer in sent])
    transport = httpx.ASGITransport(app=replay, client=("127.0.0.1", 50000))
    by_kind: dict[str, list[float]] = {k: [] for _, k in MIX}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies=cookies
    ) as client:
        started = time.process_time()
        for kind, method, path, kw, _ in sent:
            t0 = time.process_time()
            await client.request(method, path, **kw)  # type: ignore[arg-type]
            by_kind[kind].append(time.process_time() - t0)
        return time.process_time() - started, by_kind


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
        rounds, clients = [], []
        kinds: dict[str, list[float]] = {}
        client_kinds: dict[str, list[float]] = {}
        errors = 0
        for i in range(ROUNDS):
            sent: list[Sent] = []
            cookies = httpx.Cookies(client.cookies)  # as they were when the round began
            total, by_kind, errs = await _measure(client, data, csrf, REQUESTS, 100 + i, sent)
            own, own_by_kind = await _client_cpu(sent, cookies)
            del sent
            rounds.append(total / REQUESTS)
            clients.append(own / REQUESTS)
            errors += errs
            for k, v in by_kind.items():
                kinds.setdefault(k, []).extend(v)
            for k, v in own_by_kind.items():
                client_kinds.setdefault(k, []).extend(v)
        if profile_to:
            await _profile(client, data, csrf, profile_to)
    floor = await _floor(REQUESTS)
    per_request = min(rounds)
    servers = [r - c for r, c in zip(rounds, clients, strict=True)]

    def mean_ms(values: list[float]) -> float:
        return round(1000 * sum(values) / len(values), 2)

    return {
        "load_average_before": None,
        "requests_per_round": REQUESTS,
        "rounds": len(rounds),
        "cpu_ms_per_request_by_round": [round(1000 * r, 2) for r in rounds],
        "cpu_ms_per_request": round(1000 * per_request, 2),
        "client_ms_by_round": [round(1000 * c, 2) for c in clients],
        "server_ms_by_round": [round(1000 * v, 2) for v in servers],
        "server_ms_per_request": round(1000 * min(servers), 2),
        "floor_ms_bare_fastapi": round(1000 * floor, 2),
        "app_ms": round(1000 * (per_request - floor), 2),
        "cpu_ms_mean_by_kind": {k: mean_ms(v) for k, v in kinds.items() if v},
        "server_ms_mean_by_kind": {
            k: round(mean_ms(v) - mean_ms(client_kinds[k]), 2) for k, v in kinds.items() if v
        },
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
