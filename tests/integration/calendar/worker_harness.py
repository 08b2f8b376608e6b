"""Two ``therabill worker`` processes on PostgreSQL, started, watched and stopped the same way by
every exactly-once test of a job kind (reminders, statement emails).

The shape of each test: the work is made, the two workers start and register, the jobs are
queued, worker A is killed with SIGKILL while the fake provider holds its request, B finishes;
then the test counts what the provider received.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from therabill.entrypoints.jobs import queue


def worker_env(engine: Engine, **settings: str) -> dict[str, str]:
    """This process's environment without its THERABILL_ settings, plus the database and ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THERABILL_")}
    env.update(
        THERABILL_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        THERABILL_PUBLIC_URL="https://clinic.example.com",
        **settings,
    )
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "therabill.entrypoints.cli.main", *args]


def run_cli(env: dict[str, str], *args: str) -> str:
    """Runs one command to its end; returns what it printed (fails the test on a non-zero exit)."""
    done = subprocess.run(cli(*args), env=env, capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class HeldSend:
    """The provider's hook: once B has sent something, A's next request is held until released,
    so that A can be killed while the provider has its message."""

    def __init__(self) -> None:
        self.a_holding = threading.Event()
        self.release = threading.Event()
        self.b_first = threading.Event()

    def __call__(self, worker: str) -> None:
        if worker == "b":
            self.b_first.set()
        elif self.b_first.is_set() and not self.a_holding.is_set():
            self.a_holding.set()
            self.release.wait(600)


@contextmanager
def two_workers(
    engine: Engine, envs: dict[str, dict[str, str]], logs: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Workers ``a`` and ``b`` (each with its environment), registered before this yields; stopped after."""
    queue.ensure_schema(engine.url.render_as_string(hide_password=False))
    files = {name: (logs / f"{name}.log").open("w") for name in ("a", "b")}
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for name in ("a", "b"):  # one at a time: a worker that started is stopped below
            worker = subprocess.Popen(cli("worker"), env=envs[name], stdout=files[name], stderr=files[name])
            workers.append(worker)

        def both_up() -> bool:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one()) == 2

        wait_for(both_up, 180, "both workers to start")
        yield workers
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
                try:
                    w.wait(15)
                except subprocess.TimeoutExpired:
                    w.kill()
        for f in files.values():
            f.close()


def kill_a_mid_send(
    workers: list[subprocess.Popen[bytes]], held: HeldSend, settled: Callable[[], bool]
) -> None:
    """Waits until A is mid-send, kills it, lets the provider answer, and waits for B to finish."""
    try:
        wait_for(held.a_holding.is_set, 300, "worker A mid-send while B works")
        workers[0].send_signal(signal.SIGKILL)
        assert workers[0].wait(10) == -signal.SIGKILL
        held.release.set()
        wait_for(settled, 300, "worker B to send the rest")
        time.sleep(1.0)  # give a wrong second send the chance to show
    finally:
        held.release.set()


def queued_by_the_command(output: str, what: str, most: int) -> int:
    """How many ``what`` jobs the command line's ``send-due`` says it queued (``queued N ...``).

    The workers' own sweep (every 30 seconds, ``queue.SWEEP_CRON``) may have queued some or all
    of them between the moment they became due and the command's start; neither queues a job
    twice, and each test asserts every message was delivered exactly once."""
    found = re.search(rf"queued (\d+) {what} job\(s\)", output)
    assert found is not None, output
    count = int(found.group(1))
    assert 0 <= count <= most, output
    return count
