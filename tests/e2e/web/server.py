"""The app the browser tests drive, served by uvicorn: the clock pinned to the test day.

``THERABILL_TEST_CLOCK_OFFSET`` (seconds) is added to the real time, so the app lives on
2026-11-23 while time still moves (TOTP codes change every 30 s as in real life).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from therabill.entrypoints.app import create_app
from therabill.entrypoints.http.settings import Settings


def make_app():  # type: ignore[no-untyped-def]
    offset = timedelta(seconds=float(os.environ.get("THERABILL_TEST_CLOCK_OFFSET", "0")))
    return create_app(Settings(), clock=lambda: datetime.now(UTC) + offset)
