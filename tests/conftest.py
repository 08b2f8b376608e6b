"""Shared test helpers.

``require(component, available)``: a test that needs a system component (chromium,
pdftoppm, PostgreSQL, sshd...) skips with a loud reason on a developer's machine and fails
when ``CI`` is set, so CI never passes by skipping.

Time: the whole suite runs with its own clock installed (``suite_clock``): it starts at
``TEST_NOW`` and moves one millisecond each time it is read, as real time moves between two
postings, so no test depends on the day it runs; a test that needs another time installs
its own with ``therabill.clock.using``.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from hypothesis import HealthCheck, settings

from therabill import clock

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLES = REPO / "examples"
TEST_NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
"""The instant the suite lives at (a Monday afternoon in New York)."""

settings.register_profile(
    "therabill",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "therabill"))


def in_ci() -> bool:
    """True when running under CI (``CI`` set to anything but empty/false/0)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require(component: str, available: bool, how: str = "") -> None:
    """Skip (developer machine) or fail (CI) when a needed system component is missing."""
    if available:
        return
    reason = f"MISSING SYSTEM COMPONENT: {component}" + (f" ({how})" if how else "")
    if in_ci():
        pytest.fail(reason + " — required under CI", pytrace=False)
    pytest.skip(reason)


def shared_path(*parts: str) -> Path:
    """A path under ../shared (reference material beside the checkout); required in CI."""
    path = SHARED.joinpath(*parts)
    require(f"../shared/{'/'.join(parts)}", path.exists(), "the shared folder beside the checkout")
    return path


def suite_clock(start: datetime = TEST_NOW) -> clock.Clock:
    """A clock that starts at ``start`` and moves 1 ms at every reading (thread-safe)."""
    ticks = itertools.count()
    return lambda: start + timedelta(milliseconds=next(ticks))


def pytest_configure(config: pytest.Config) -> None:
    """Install the suite's clock before any fixture or test runs."""
    clock.install(suite_clock())


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-goldens``: rewrite golden files (e.g. tests/golden/837p) instead of comparing."""
    parser.addoption("--update-goldens", action="store_true", default=False, help="rewrite golden files")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Under CI a skipped test is a failure: CI must never pass by skipping."""
    report: pytest.TestReport = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped under CI (not allowed): {reason}"
    return report


class SmtpServer:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        server = self

        class Handler:
            async def handle_DATA(self, _server: object, _session: object, envelope: Envelope) -> str:
                server.envelopes.append(envelope)
                raw = envelope.original_content or b""
                parsed = message_from_bytes(raw, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                server.messages.append(parsed)
                return "250 Message accepted for delivery"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.host = "127.0.0.1"
        self.controller = Controller(Handler(), hostname=self.host, port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A local SMTP server for the test; ``smtp_server.messages`` holds what arrived."""
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
