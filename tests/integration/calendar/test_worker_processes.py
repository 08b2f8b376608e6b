"""Two ``therabill worker`` processes on PostgreSQL share the reminder jobs; one is killed
with SIGKILL while the SMS provider holds its request: every reminder is sent exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from tests.conftest import require
from tests.integration.calendar.fake_sms import ACCOUNT, FROM, TOKEN, FakeSmsProvider, Received
from tests.integration.db.builders import ACTOR, a_practice
from tests.integration.db.conftest import PgDatabases, pg_available
from therabill.adapters.db import migrations
from therabill.adapters.db.messaging_tables import reminder_sends
from therabill.domain import schedule as rules
from therabill.entrypoints.jobs import queue
from therabill.service_layer import appointments, reminders
from therabill.service_layer import patients as patients_svc

REMINDERS = 12


@pytest.fixture
def pg_engine(pg_databases: PgDatabases) -> Iterator[Engine]:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    engine = pg_databases.new()
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def _env(engine: Engine, sms_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THERABILL_")}
    env.update(
        THERABILL_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        THERABILL_SMS_ACCOUNT_SID=ACCOUNT,
        THERABILL_SMS_AUTH_TOKEN=TOKEN,
        THERABILL_SMS_FROM=FROM,
        THERABILL_SMS_BASE_URL=sms_url,
        THERABILL_PUBLIC_URL="https://clinic.example.com",
    )
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "therabill.entrypoints.cli.main", *args]


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _workers_up(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one())


def test_two_workers_and_a_sigkill_send_each_reminder_exactly_once(pg_engine: Engine, tmp_path: Path) -> None:
    engine = pg_engine
    p = a_practice(engine)
    # The workers run on the real clock: book the appointments a few hours from now.
    first = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0) + timedelta(hours=2)
    numbers = []
    for i in range(REMINDERS):
        number = f"+1845555{i:04d}"
        patient = patients_svc.register_patient(
            engine,
            p.id,
            ACTOR,
            chart_number=f"K-{i}",
            first_name=f"Client{i}",
            last_name="Kessler",
            phone=number,
        )
        start_local = rules.to_local(first + timedelta(minutes=70 * i), "America/New_York")
        appointments.book(
            engine, p.id, ACTOR, patient_id=patient, provider_id=p.provider_id,
            start_local=start_local, end_local=start_local + timedelta(hours=1),
        )  # fmt: skip
        numbers.append(number)

    provider = FakeSmsProvider().start()
    provider.delay = 0.4
    a_holding, release, b_first = threading.Event(), threading.Event(), threading.Event()

    def hook(got: Received) -> None:
        if got.prefix == "b":
            b_first.set()
        elif b_first.is_set() and not a_holding.is_set():
            # the provider has A's message; A waits for the answer and is killed meanwhile
            a_holding.set()
            release.wait(600)

    provider.on_request = hook
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("a", "b")}
    workers: list[subprocess.Popen[bytes]] = []
    url = engine.url.render_as_string(hide_password=False)
    try:
        queue.ensure_schema(url)
        for name in ("a", "b"):
            env = _env(engine, provider.url(name))
            workers.append(subprocess.Popen(_cli("worker"), env=env, stdout=logs[name], stderr=logs[name]))
        _wait(lambda: _workers_up(engine) == 2, 180, "both workers to start")
        # only now is anything due: both workers are listening when the jobs arrive
        reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=24, email=False, sms=True)
        queued = subprocess.run(
            _cli("reminders", "send-due"),
            env=_env(engine, provider.url("q")),
            capture_output=True,
            timeout=180,
        )
        assert queued.returncode == 0, queued.stderr.decode()
        assert f"queued {REMINDERS} reminder job(s)" in queued.stdout.decode()
        _wait(a_holding.is_set, 300, "worker A mid-send while B works")
        workers[0].send_signal(signal.SIGKILL)
        assert workers[0].wait(10) == -signal.SIGKILL
        release.set()

        def settled() -> bool:
            with engine.connect() as conn:
                rows = conn.execute(select(reminder_sends.c.status)).scalars().all()
            return len(rows) == REMINDERS and Counter(rows)["sent"] == REMINDERS - 1

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
        provider.stop()

    received = Counter(m.to for m in provider.messages)
    assert received == Counter(dict.fromkeys(numbers, 1)), (tmp_path / "b.log").read_text()[-3000:]
    by_worker = Counter(m.prefix for m in provider.messages)
    assert by_worker["a"] >= 1 and by_worker["b"] >= 1 and by_worker["a"] + by_worker["b"] == REMINDERS
    with engine.connect() as conn:
        rows = conn.execute(select(reminder_sends)).all()
    assert len(rows) == REMINDERS
    # A's last claim stays "not confirmed": the provider took it, nobody sends it again
    unconfirmed = [r for r in rows if r.status == "sending"]
    assert len(unconfirmed) == 1 and unconfirmed[0].claimed_by.endswith(f":{workers[0].pid}")
    pids = Counter(r.claimed_by.rsplit(":", 1)[1] for r in rows if r.status == "sent")
    assert (
        pids
        == Counter({str(workers[0].pid): by_worker["a"] - 1, str(workers[1].pid): by_worker["b"]}) - Counter()
    )
