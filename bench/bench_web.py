"""Load test of the web app: 50 requests/s of a fixed mix on 2 uvicorn workers, loopback only.

Setup: a fresh SQLite database in a temporary folder with the demo practice, an owner login
(TOTP enrolled) and an API token. The server is ``therabill serve --workers 2`` on a free
loopback port. The client is a bounded async httpx client that sends requests on an
open-loop schedule (request *i* at ``i / RATE`` seconds), at most ``CONCURRENCY`` in flight.

The mix (fixed, by weight):

====  =====================================================  =========================
 %    request                                                 who
====  =====================================================  =========================
 25   GET  /  (dashboard)                                     owner, browser session
 15   GET  /claims  (worklist)                                owner, browser session
 10   GET  /patients/{id}                                     owner, browser session
  5   POST /patients/{id}/visits/preview  (units + scrub)      owner, browser session
 15   POST /api/v1/units                                      API token
 10   GET  /api/v1/claims?limit=20                            API token
 10   POST /api/v1/patients/search                            API token
 10   GET  /api/v1/claims/{id}                                API token
====  =====================================================  =========================

The owner logs in once (password, then a TOTP code). Password log-ins of a front-desk
user (argon2, slow on purpose) run apart, one every 5 seconds, and are reported on their
own. Each phase stops by itself: two short warm-up steps (10 and 25 requests/s, 10 s each)
show where latency starts to grow, then the measured run at ``RATE`` for ``DURATION``
seconds. Figures: p50, p95, p99 and max latency, errors (non-2xx/3xx or transport errors),
achieved rate; before the load, each kind's median service time one request at a time.

Honest on a shared machine: the load average (1, 5, 15 min) before and after, the CPU
seconds the server's processes used during the measured run (from ``/proc``: the uvicorn
supervisor and its workers), the CPU ms per request that implies, the client's own CPU
seconds, and ``cpu_share_of_machine`` (server CPU / (wall x cores)). When the load average
is above the number of cores, other work competes for the CPU and the latencies include
that waiting; the server CPU per request is the figure that does not depend on it.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from therabill.entrypoints.cli.serve import KEEP_ALIVE_S

RATE = 50
DURATION = 30
STEPS = ((10, 10), (25, 10))
CONCURRENCY = 32
SEQUENTIAL = 15
WORKERS = 2
PASSWORD = "bench-owner-password-2026"

MIX = [
    (25, "dashboard"),
    (15, "claims"),
    (10, "patient"),
    (5, "preview"),
    (15, "api_units"),
    (10, "api_claims"),
    (10, "api_search"),
    (10, "api_claim"),
]


def _utcnow() -> datetime:
    """The machine's time, naive UTC (the benchmark drives a real server)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``; empty elsewhere)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return out


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes (``/proc/<pid>/stat`` fields 14 and 15)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(folder: Path) -> dict[str, object]:
    """Database with the demo practice, an owner with TOTP and an API token."""
    os.environ["THERABILL_DATA_DIR"] = str(folder)
    from sqlalchemy import select

    from therabill.adapters.db import migrations
    from therabill.adapters.db.engine import make_engine
    from therabill.adapters.db.tables import claims, patients, providers
    from therabill.security import totp
    from therabill.security.permissions import Permission
    from therabill.service_layer import accounts, api_tokens
    from therabill.service_layer.demo import load_demo

    engine = make_engine()
    migrations.upgrade(engine)
    demo = load_demo(engine, "bench:setup", today=date.today())
    secret = totp.new_secret()
    with engine.begin() as conn:
        user_id = accounts.create_user(
            conn,
            username="bench-owner",
            display_name="Bench Owner",
            password=PASSWORD,
            practice_id=demo.practice_id,
            role="owner",
            now=_utcnow(),
            totp_secret=secret,
        )
        accounts.create_user(
            conn,
            username="bench-desk",
            display_name="Bench Desk",
            password=PASSWORD,
            practice_id=demo.practice_id,
            role="front_desk",
            now=_utcnow(),
        )
        principal = accounts.Principal(user_id, "bench-owner", "Bench Owner", demo.practice_id, "owner")
        _, token = api_tokens.create_api_token(
            conn, principal, "bench", " ".join(p.value for p in Permission), _utcnow()
        )
        patient_ids = [
            r.id
            for r in conn.execute(select(patients.c.id).where(patients.c.practice_id == demo.practice_id))
        ]
        claim_ids = [
            r.id for r in conn.execute(select(claims.c.id).where(claims.c.practice_id == demo.practice_id))
        ]
        provider = conn.execute(
            select(providers.c.id).where(providers.c.practice_id == demo.practice_id)
        ).first()
    engine.dispose()
    return {
        "secret": secret,
        "token": token,
        "patients": patient_ids,
        "claims": claim_ids,
        "provider": provider.id if provider else "",
    }


async def _login(client: httpx.AsyncClient, secret: str) -> tuple[str, float]:
    """Log the owner in (password, then TOTP); returns the CSRF token and the seconds it took."""
    from therabill.security import totp

    started = time.perf_counter()
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await client.post(
        "/login", data={"username": "bench-owner", "password": PASSWORD, "csrf_token": csrf}
    )
    if r.headers.get("location") != "/login/mfa":
        raise RuntimeError(f"log-in failed: {r.status_code}")
    mfa = await client.get("/login/mfa")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', mfa.text).group(1)  # type: ignore[union-attr]
    code = totp.code_at(secret, _utcnow())
    r = await client.post("/login/mfa", data={"code": code, "csrf_token": csrf})
    if r.headers.get("location") != "/":
        raise RuntimeError(f"TOTP step failed: {r.status_code}")
    seconds = time.perf_counter() - started
    account = await client.get("/account")
    return re.search(r'name="csrf_token" value="([^"]+)"', account.text).group(1), seconds  # type: ignore[union-attr]


async def _password_login(client: httpx.AsyncClient) -> float:
    """A password-only log-in of the front-desk user (argon2 verify); returns the seconds."""
    started = time.perf_counter()
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await client.post("/login", data={"username": "bench-desk", "password": PASSWORD, "csrf_token": csrf})
    if r.headers.get("location") != "/":
        raise RuntimeError(f"log-in failed: {r.status_code}")
    return time.perf_counter() - started


def _request(
    kind: str, data: dict[str, object], rng: random.Random, csrf: str
) -> tuple[str, str, dict[str, object]]:
    patient = rng.choice(data["patients"])  # type: ignore[arg-type]
    claim = rng.choice(data["claims"]) if data["claims"] else "none"  # type: ignore[arg-type]
    auth = {"Authorization": f"Bearer {data['token']}"}
    if kind == "dashboard":
        return "GET", "/", {}
    if kind == "claims":
        return "GET", "/claims", {}
    if kind == "patient":
        return "GET", f"/patients/{patient}", {}
    if kind == "preview":
        form = {
            "date_of_service": "2026-11-20",
            "provider_id": data["provider"],
            "diagnoses": "M54.50, M54.2",
            "svc-0-code": "97124",
            "svc-0-minutes": str(rng.randint(8, 75)),
            "svc-0-pointers": "1",
            "svc-0-regions": "lumbar",
            "svc-1-code": "97140",
            "svc-1-minutes": "22",
            "svc-1-pointers": "2",
            "svc-1-modifiers": "59",
            "svc-1-regions": "cervical",
        }
        return (
            "POST",
            f"/patients/{patient}/visits/preview",
            {"data": form, "headers": {"X-CSRF-Token": csrf}},
        )
    if kind == "api_units":
        body = {
            "services": [{"code": "97124", "minutes": rng.randint(0, 90)}, {"code": "97140", "minutes": 22}]
        }
        return "POST", "/api/v1/units", {"json": body, "headers": auth}
    if kind == "api_claims":
        return "GET", "/api/v1/claims?limit=20", {"headers": auth}
    if kind == "api_search":
        return "POST", "/api/v1/patients/search", {"json": {"name": rng.choice("aeiou")}, "headers": auth}
    return "GET", f"/api/v1/claims/{claim}", {"headers": auth}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


async def _phase(
    client: httpx.AsyncClient,
    data: dict[str, object],
    rng: random.Random,
    csrf: str,
    rate: int,
    duration: int,
    base: str,
) -> dict[str, object]:
    """Send ``rate`` requests/s of the mix for ``duration`` s (open loop); the figures."""
    kinds = [k for weight, k in MIX for _ in range(weight)]
    gate = asyncio.Semaphore(CONCURRENCY)
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {k: [] for _, k in MIX}
    errors: dict[str, int] = {}
    login_times: list[float] = []

    async def one(kind: str) -> None:
        method, path, kw = _request(kind, data, rng, csrf)
        async with gate:
            started = time.perf_counter()
            try:
                r = await client.request(method, path, **kw)  # type: ignore[arg-type]
                ok = r.status_code < 400
                label = str(r.status_code)
            except httpx.HTTPError as exc:
                ok, label = False, type(exc).__name__
            took = time.perf_counter() - started
        latencies.append(took)
        by_kind[kind].append(took)
        if not ok:
            errors[f"{kind}:{label}"] = errors.get(f"{kind}:{label}", 0) + 1

    async def logins(stop: float) -> None:
        limits = httpx.Limits(keepalive_expiry=KEEP_ALIVE_S / 4)
        async with httpx.AsyncClient(
            base_url=base, limits=limits, timeout=30, follow_redirects=False
        ) as other:
            while time.perf_counter() + 5 < stop:
                await asyncio.sleep(5)
                other.cookies.clear()
                try:
                    login_times.append(await _password_login(other))
                except (RuntimeError, httpx.HTTPError):
                    errors["login"] = errors.get("login", 0) + 1

    start = time.perf_counter()
    tasks = []
    login_task = asyncio.create_task(logins(start + duration))
    for i in range(rate * duration):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(rng.choice(kinds))))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    await login_task
    return {
        "rate_target_per_s": rate,
        "duration_s": duration,
        "requests": len(latencies),
        "elapsed_s": round(elapsed, 2),
        "achieved_rate_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": _pct(latencies, 0.50),
        "p95_ms": _pct(latencies, 0.95),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": round(1000 * max(latencies), 1) if latencies else 0.0,
        "p95_ms_by_kind": {k: _pct(v, 0.95) for k, v in by_kind.items() if v},
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "logins": len(login_times),
        "login_median_ms": round(1000 * statistics.median(login_times), 1) if login_times else None,
    }


async def _drive(base: str, data: dict[str, object], server_pid: int) -> dict[str, object]:
    rng = random.Random(7)
    # Idle connections are dropped well before the server's keep-alive timeout, so a request is
    # never sent on a connection the server is closing at that moment.
    limits = httpx.Limits(
        max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY, keepalive_expiry=KEEP_ALIVE_S / 4
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, follow_redirects=False) as client:
        csrf, first = await _login(client, str(data["secret"]))
        # Service time without queueing: each kind alone, one request at a time.
        sequential: dict[str, float] = {}
        for _, kind in MIX:
            samples = []
            for _ in range(SEQUENTIAL):
                method, path, kw = _request(kind, data, rng, csrf)
                started = time.perf_counter()
                await client.request(method, path, **kw)  # type: ignore[arg-type]
                samples.append(time.perf_counter() - started)
            sequential[kind] = round(1000 * statistics.median(samples), 1)
        steps = {}
        for rate, seconds in STEPS:
            step = await _phase(client, data, rng, csrf, rate, seconds, base)
            steps[str(rate)] = {
                k: step[k] for k in ("achieved_rate_per_s", "p50_ms", "p95_ms", "p99_ms", "errors")
            }
        pids = _tree(server_pid)
        load_before = [round(x, 2) for x in os.getloadavg()]
        cpu_before, client_before, wall_before = _cpu_seconds(pids), time.process_time(), time.perf_counter()
        main = await _phase(client, data, rng, csrf, RATE, DURATION, base)
        wall = time.perf_counter() - wall_before
        server_cpu = _cpu_seconds(pids) - cpu_before
        client_cpu = time.process_time() - client_before
        load_after = [round(x, 2) for x in os.getloadavg()]
    cores = os.cpu_count() or 1
    requests = int(main["requests"]) or 1  # type: ignore[call-overload]
    return {
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cores": cores,
        "workers": WORKERS,
        "server_processes": len(pids),
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_ms_per_request": round(1000 * server_cpu / requests, 1),
        "client_cpu_s": round(client_cpu, 2),
        "cpu_share_of_machine": round(server_cpu / (wall * cores), 2),
        "owner_login_ms": round(1000 * first, 1),
        "sequential_median_ms_by_kind": sequential,
        "steps": steps,
        **main,
    }


def run() -> dict[str, object]:
    """Start the server, drive the mix, stop the server; return the figures."""
    with tempfile.TemporaryDirectory(prefix="therabill-bench-") as tmp:
        folder = Path(tmp)
        data = _prepare(folder)
        port = _free_port()
        env = {**os.environ, "THERABILL_DATA_DIR": str(folder)}
        env.pop("THERABILL_DATABASE_URL", None)
        log = open(folder / "server.log", "w")  # noqa: SIM115 - closed in the finally below
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "therabill.entrypoints.cli.main",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(WORKERS),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("the server did not start")
            figures = asyncio.run(_drive(base, data, server.pid))
            log.flush()
            found = re.findall(
                r"\b([A-Za-z_][\w.]*(?:Error|Exception))\)?:? ?([^\n/]{0,60})",
                (folder / "server.log").read_text(errors="replace"),
            )
            kinds: dict[str, int] = {}
            for name, text in found:
                if name.endswith("OperationalError") and "locked" in text:
                    name += " (database is locked)"
                kinds[name] = kinds.get(name, 0) + 1
            figures["server_errors"] = kinds  # exception types only: no PHI or paths are logged here
            return figures
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
