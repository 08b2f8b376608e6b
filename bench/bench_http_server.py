"""The HTTP server's own CPU per request: the protocol and event loop ``therabill serve`` runs,
beside uvicorn's pure-Python defaults.

A bare ASGI app (a fixed 12-byte JSON answer, nothing else) is served by one uvicorn process
on loopback, first with the server's protocol and loop (``serve.HTTP_PROTOCOL``,
``serve.EVENT_LOOP``: httptools and uvloop), then with uvicorn's h11 protocol on asyncio's
loop. One client sends ``REQUESTS`` requests one after the other on a kept-alive connection
(with a cookie and the headers a browser sends); the figure is the server process's CPU time
(user + system, from ``/proc``) per request: what parsing the request, calling the app and
writing the response cost the server before the app does anything. ``bench_web_cpu``
measures the app without any server; ``bench_web`` and ``bench_web_pg`` measure both under load.
Each setup is measured ``ROUNDS`` times, alternately; the best round is kept.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bench_web import _cpu_seconds, _free_port

REQUESTS = int(os.environ.get("THERABILL_BENCH_HTTP_REQUESTS", "3000"))
ROUNDS = 3
WARMUP = 300

_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})
"""

_HEADERS = {
    "cookie": "therabill_session=" + "x" * 160,
    "accept": "text/html,application/xhtml+xml",
    "accept-language": "en-US,en;q=0.9",
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
}


def _one(folder: Path, http: str, loop: str) -> float:
    """Server CPU microseconds per request for one setup (one server process, one round)."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare:app", "--app-dir", str(folder), "--port", str(port),
         "--http", http, "--loop", loop, "--log-level", "warning", "--no-access-log"],
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=_HEADERS) as client:
            for _ in range(200):
                try:
                    client.get("/")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            for _ in range(WARMUP):
                client.get("/")
            before = _cpu_seconds([server.pid])
            for _ in range(REQUESTS):
                client.get("/")
            return (_cpu_seconds([server.pid]) - before) / REQUESTS * 1e6
    finally:
        server.terminate()
        server.wait(timeout=30)


def run() -> dict[str, Any]:
    from therabill.entrypoints.cli.serve import EVENT_LOOP, HTTP_PROTOCOL

    load_before = [round(x, 2) for x in os.getloadavg()]
    setups = {"served": (HTTP_PROTOCOL, EVENT_LOOP), "h11_asyncio": ("h11", "asyncio")}
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "bare.py").write_text(_APP)
        for _ in range(ROUNDS):
            for name, (http, loop) in setups.items():
                best[name] = min(best.get(name, float("inf")), _one(folder, http, loop))
    return {
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "requests_per_round": REQUESTS,
        "rounds": ROUNDS,
        "served_protocol": HTTP_PROTOCOL.rsplit(":", 1)[1],
        "served_loop": EVENT_LOOP,
        "server_cpu_us_per_request": round(best["served"]),
        "h11_asyncio_cpu_us_per_request": round(best["h11_asyncio"]),
    }
