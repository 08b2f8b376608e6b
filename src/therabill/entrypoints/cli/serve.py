"""``therabill serve``: run the web app and API; ``therabill run``: the demo, ready to click."""

from __future__ import annotations

from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from therabill import config
from therabill.clock import current_date
from therabill.domain.errors import Problem, TherabillError
from therabill.entrypoints.app import create_app
from therabill.entrypoints.cli.common import fail, fail_from
from therabill.entrypoints.http.settings import Settings
from therabill.entrypoints.jobs.inprocess import start_for_sqlite
from therabill.service_layer import database
from therabill.service_layer.demo import demo_logins, load_demo
from therabill.service_layer.uow import system_actor

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
HTTP_PROTOCOL = "therabill.entrypoints.cli.http_protocol:NoDelayHttpToolsProtocol"
"""The protocol class, by import path (worker processes import it themselves)."""
EVENT_LOOP = "uvloop"
"""The event loop of every worker: uvloop (libuv) costs less per request than asyncio's own."""
KEEP_ALIVE_S = 20
"""How long an idle kept-alive connection stays open. Clients that keep connections longer than
this can send a request just as the server closes the connection; they should expire theirs
sooner (browsers and reverse proxies do)."""


WORKER_HEALTHCHECK_S = 60
"""Seconds a worker process may take to answer the supervisor's health check."""


def _serve(host: str, port: int, workers: int, data_dir: str | None) -> None:
    """Serve; one worker gets its app built here, several import the factory themselves (and
    so read the data folder from ``THERABILL_DATA_DIR``, the one way to tell a new process)."""
    if workers > 1 and data_dir:
        fail(
            "several workers read the data folder from the environment",
            [Problem("serve-data-dir-with-workers", "--data-dir", "set THERABILL_DATA_DIR instead")],
        )
    target: Any = (
        "therabill.entrypoints.cli.serve:app_from_environment"
        if workers > 1
        else create_app(Settings(data_dir=data_dir) if data_dir else None)
    )
    start_for_sqlite(Settings(data_dir=data_dir) if data_dir else None)
    uvicorn.run(
        target,
        factory=workers > 1,
        http=HTTP_PROTOCOL,
        loop=EVENT_LOOP,
        timeout_keep_alive=KEEP_ALIVE_S,
        host=host,
        port=port,
        workers=workers,
        # A worker that does not answer the supervisor's ping in time is killed and replaced;
        # uvicorn's 5 s is shorter than a worker's start on a busy machine (imports alone), so
        # workers were killed and restarted in a loop there.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        proxy_headers=False,
        server_header=False,
        log_level="info",
        access_log=False,  # the access log would hold URLs; no PHI is in them, but keep logs lean
    )


def app_from_environment() -> FastAPI:
    """The app with settings from ``THERABILL_*`` variables (what uvicorn workers import)."""
    return create_app()


def _prepare(data_dir: str | None) -> Engine:
    try:
        return database.open_database(config.database_url(data_dir) if data_dir else None, upgraded=True)
    except TherabillError as exc:
        fail_from(exc)


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Data folder (same as THERABILL_DATA_DIR).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=16, help="Worker processes.")] = 1,
) -> None:
    """Serve the web app and the REST API (the database is brought to the newest schema first).

    Serve over TLS (a reverse proxy) for anything but this machine, and then set
    THERABILL_SECURE_COOKIES=1.
    """
    _prepare(data_dir).dispose()
    typer.echo(f"therabill on http://{host}:{port}  (Ctrl-C stops)")
    _serve(host, port, workers, data_dir)


def run_demo(data_dir: str | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Create the database, load the demo practice once, create the demo logins, serve."""
    engine = _prepare(data_dir)
    try:
        result = load_demo(engine, system_actor(), today=current_date())
        logins = demo_logins(engine, result.practice_id)
    except TherabillError as exc:
        fail_from(exc)
    typer.echo("demo practice " + ("loaded" if result.created else "already loaded"))
    typer.echo("demo logins (owner and biller set up two-step log-in at their first log-in):")
    for username, role, password in logins:
        typer.echo(f"  {username:<10} {password:<22} {role.replace('_', ' ')}")
    engine.dispose()
    typer.echo(f"therabill on http://{host}:{port}  (Ctrl-C stops)")
    _serve(host, port, 1, data_dir)
