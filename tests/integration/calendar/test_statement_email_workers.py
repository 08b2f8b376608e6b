"""Two ``therabill worker`` processes on PostgreSQL share the statement-email jobs; one is
killed with SIGKILL while the mail server holds its message: each statement is emailed once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, select, text

from tests.conftest import require
from tests.integration.db.builders import ACTOR, a_practice
from tests.integration.db.conftest import PgDatabases, pg_available
from therabill.adapters.db import migrations
from therabill.adapters.db.messaging_tables import statement_email_sends
from therabill.domain.ledger import ChargeType
from therabill.entrypoints.jobs import queue
from therabill.service_layer import ledger, statement_emails
from therabill.service_layer import patients as patients_svc

CLIENTS = 10


class TaggedSmtp:
    """A loopback SMTP server for one worker: keeps (worker, recipient) and can hold a message."""

    def __init__(self, tag: str, received: list[tuple[str, str]], hook: Callable[[str], None]) -> None:
        self.tag = tag
        outer = self

        class Handler:
            async def handle_DATA(self, _server: object, _session: object, envelope: Envelope) -> str:
                parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
                received.append((outer.tag, str(parsed["To"])))
                await asyncio.get_running_loop().run_in_executor(None, hook, outer.tag)
                await asyncio.sleep(0.3)
                return "250 Message accepted for delivery"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> TaggedSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def pg_engine(pg_databases: PgDatabases) -> Iterator[Engine]:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    engine = pg_databases.new()
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def _env(engine: Engine, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THERABILL_")}
    env.update(
        THERABILL_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        THERABILL_SMTP_HOST="127.0.0.1",
        THERABILL_SMTP_PORT=str(smtp_port),
        THERABILL_PUBLIC_URL="https://clinic.example.com",
    )
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "therabill.entrypoints.cli.main", *args]


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _workers_up(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one())


def test_two_workers_and_a_sigkill_email_each_statement_once(pg_engine: Engine, tmp_path: Path) -> None:
    engine = pg_engine
    p = a_practice(engine)
    addresses = []
    for i in range(CLIENTS):
        address = f"client{i}@example.org"
        patient = patients_svc.register_patient(
            engine,
            p.id,
            ACTOR,
            chart_number=f"W-{i}",
            first_name=f"Client{i}",
            last_name="Osei",
            email=address,
        )
        ledger.post_charge(
            engine, p.id, ACTOR, patient_id=patient, amount=Decimal("40.00") + i, charge_type=ChargeType.RETAIL,
            key=f"retail:{patient}",
        )  # fmt: skip
        addresses.append(address)

    received: list[tuple[str, str]] = []
    a_holding, release, b_first = threading.Event(), threading.Event(), threading.Event()

    def hook(tag: str) -> None:
        if tag == "b":
            b_first.set()
        elif b_first.is_set() and not a_holding.is_set():
            # the server has A's message; A waits for the answer and is killed meanwhile
            a_holding.set()
            release.wait(600)

    servers = {tag: TaggedSmtp(tag, received, hook).start() for tag in ("a", "b")}
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("a", "b")}
    workers: list[subprocess.Popen[bytes]] = []
    url = engine.url.render_as_string(hide_password=False)
    try:
        queue.ensure_schema(url)
        for name in ("a", "b"):
            env = _env(engine, servers[name].port)
            workers.append(subprocess.Popen(_cli("worker"), env=env, stdout=logs[name], stderr=logs[name]))
        _wait(lambda: _workers_up(engine) == 2, 180, "both workers to start")
        # only now is anything pending: both workers are listening when the jobs arrive
        scheduled = subprocess.run(
            _cli("statement-emails", "schedule", "--over", "25.00", "--json"),
            env=_env(engine, servers["b"].port),
            capture_output=True,
            timeout=180,
        )
        assert scheduled.returncode == 0, scheduled.stderr.decode()
        queued = subprocess.run(
            _cli("statement-emails", "send-due"),
            env=_env(engine, servers["b"].port),
            capture_output=True,
            timeout=180,
        )
        assert queued.returncode == 0, queued.stderr.decode()
        assert f"queued {CLIENTS} statement email job(s)" in queued.stdout.decode()
        _wait(a_holding.is_set, 300, "worker A mid-send while B works")
        workers[0].send_signal(signal.SIGKILL)
        assert workers[0].wait(10) == -signal.SIGKILL
        release.set()

        def settled() -> bool:
            with engine.connect() as conn:
                rows = conn.execute(select(statement_email_sends.c.status)).scalars().all()
            return len(rows) == CLIENTS and Counter(rows)["sent"] == CLIENTS - 1

        _wait(settled, 300, "worker B to send the rest")
        time.sleep(1.0)  # give a wrong second send the chance to show
    finally:
        release.set()
        for w in workers:
            if w.poll() is None:
                w.terminate()
                try:
                    w.wait(15)
                except subprocess.TimeoutExpired:
                    w.kill()
        for f in logs.values():
            f.close()
        for server in servers.values():
            server.stop()

    assert Counter(to for _, to in received) == Counter(dict.fromkeys(addresses, 1)), (
        tmp_path / "b.log"
    ).read_text()[-3000:]
    by_worker = Counter(tag for tag, _ in received)
    assert by_worker["a"] >= 1 and by_worker["b"] >= 1
    with engine.connect() as conn:
        rows = conn.execute(select(statement_email_sends)).all()
    # A's last claim stays "not confirmed": the server took it, nobody sends it again
    unconfirmed = [r for r in rows if r.status == "sending"]
    assert len(unconfirmed) == 1 and unconfirmed[0].claimed_by.endswith(f":{workers[0].pid}")
    (run,) = statement_emails.statement_email_runs_of(engine, p.id, ACTOR)
    assert run.counts == {"sent": CLIENTS - 1, "sending": 1}
