"""``therabill serve``: run the web app and API; ``therabill run``: the demo, ready to click."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from therabill.clock import current_date
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import fail_from
from therabill.service_layer import database

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
HTTP_PROTOCOL = "therabill.entrypoints.cli.http_protocol:NoDelayH11Protocol"
"""The protocol class, by import path (worker processes import it themselves)."""
KEEP_ALIVE_S = 20
"""How long an idle kept-alive connection stays open. Clients that keep connections longer than
this can send a request just as the server closes the connection; they should expire theirs
sooner (browsers and reverse proxies do)."""


WORKER_HEALTHCHECK_S = 60
"""Seconds a worker process may take to answer the supervisor's health check."""


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "therabill.entrypoints.cli.serve:app_from_environment",
        factory=True,
        http=HTTP_PROTOCOL,
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


def app_from_environment():  # type: ignore[no-untyped-def]
    """The app with settings from ``THERABILL_*`` variables (what uvicorn workers import)."""
    from therabill.entrypoints.http import create_app

    return create_app()


def _prepare(data_dir: str | None) -> None:
    if data_dir:
        os.environ["THERABILL_DATA_DIR"] = data_dir
    try:
        database.open_database(upgraded=True).dispose()
    except TherabillError as exc:
        fail_from(exc)


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = DEFAULT_PORT,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Data folder (same as THERABILL_DATA_DIR).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=16, help="Worker processes.")] = 1,
) -> None:
    """Serve the web app and the REST API (the database is brought to the newest schema first).

    Serve over TLS (a reverse proxy) for anything but this machine, and then set
    THERABILL_SECURE_COOKIES=1.
    """
    _prepare(data_dir)
    typer.echo(f"therabill on http://{host}:{port}  (Ctrl-C stops)")
    _serve(host, port, workers)


def run_demo(data_dir: str | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Create the database, load the demo practice once, create the demo logins, serve."""
    from therabill.service_layer.demo import demo_logins, load_demo
    from therabill.service_layer.uow import system_actor

    _prepare(data_dir)
    try:
        engine = database.open_database()
        result = load_demo(engine, system_actor(), today=current_date())
        logins = demo_logins(engine, result.practice_id)
    except TherabillError as exc:
        fail_from(exc)
    typer.echo("demo practice " + ("loaded" if result.created else "already loaded"))
    typer.echo("demo logins (owner and biller set up two-step log-in at their first log-in):")
    for username, role, password in logins:
        typer.echo(f"  {username:<10} {password:<22} {role.replace('_', ' ')}")
    typer.echo(f"therabill on http://{host}:{port}  (Ctrl-C stops)")
    _serve(host, port, 1)
