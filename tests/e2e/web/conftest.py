"""Browser tests: ONE uvicorn server per test session on a free loopback port, Debian's chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, require
from tests.e2e.api.world import START, World, build_world

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The running app: its address, its world and its clock offset."""

    def __init__(self, url: str, world: World, offset: float) -> None:
        self.url = url
        self.world = world
        self.offset = offset

    def now(self) -> datetime:
        from datetime import timedelta

        return _utcnow() + timedelta(seconds=self.offset)


def _utcnow() -> datetime:
    """The machine's time, naive UTC (the browser tests run a real server on a moving clock)."""
    from datetime import UTC

    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def serve(folder: Path) -> Iterator[Server]:
    """Build a fresh world in ``folder`` and serve it on a free loopback port until the block ends."""
    require(
        "chromium",
        Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
        "apt-get install chromium",
    )
    world = build_world(folder)
    world.engine.dispose()
    offset = (START - _utcnow()).total_seconds()
    port = _free_port()
    env = {
        **os.environ,
        "THERABILL_DATABASE_URL": f"sqlite:///{folder / 'web.sqlite3'}",
        "THERABILL_DATA_DIR": str(folder / "data"),
        "THERABILL_TEST_CLOCK_OFFSET": str(offset),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.e2e.web.server:make_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield Server(url, world, offset)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("webui")) as running:
        yield running


@pytest.fixture(scope="session")
def chromium_browser():  # type: ignore[no-untyped-def]
    """Debian's chromium, launched once per test process (Playwright's sync API runs one
    driver per thread: every browser test shares this one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def browser(server: Server, chromium_browser):  # type: ignore[no-untyped-def]
    """The shared browser, once the shared server is up."""
    return chromium_browser


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``THERABILL_SCREENSHOTS`` (e.g. docs/images) or a temporary folder."""
    target = os.environ.get("THERABILL_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
