"""Online booking: the public page of a practice with 10 therapists and a year of appointments.

Setup: the calendar benchmark's practice (``bench_calendar._setup``: 10 therapists, 5 rooms,
13,000 appointments) with online booking open. Two figures, each over ``ROUNDS`` random
working days of the coming four weeks:

* ``open_slots``: ``booking.open_slots`` (the calendar's availability, limited to what a
  client may book online): p50, p95, max.
* ``booking_page``: ``GET /book/<slug>?service=&day=`` rendered by the app through the ASGI
  test client, as an anonymous visitor: p50, p95, max. Target < 150 ms (as the week view).

Benchmarks measure; they never fail a build on timing.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.bench_calendar import _ms, _setup

ROUNDS = 60


def run() -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from therabill.clock import current_time
    from therabill.entrypoints.app import create_app
    from therabill.entrypoints.http.settings import Settings
    from therabill.service_layer import booking

    with tempfile.TemporaryDirectory() as tmp:
        engine, pid, service_id, _, _ = _setup(Path(tmp))
        booking.set_booking_settings(
            engine, pid, "bench", enabled=True, requires_approval=False, card_on_file_notice=True,
            policies="Cancel 24 hours ahead.",
        )  # fmt: skip
        today = current_time().date()
        days = [today + timedelta(days=i) for i in range(1, 29) if (today + timedelta(days=i)).weekday() < 5]
        rng = random.Random(2026)
        slot_samples, found = [], 0
        for _ in range(ROUNDS):
            day = rng.choice(days)
            t0 = time.perf_counter()
            found += len(booking.open_slots(engine, pid, service_id=service_id, day=day))
            slot_samples.append(time.perf_counter() - t0)
        app = create_app(Settings(database_url="sqlite:///unused"), engine=engine)
        page_samples = []
        with TestClient(app, base_url="http://127.0.0.1") as web:
            for _ in range(ROUNDS):
                day = rng.choice(days)
                t0 = time.perf_counter()
                page = web.get(f"/book/bench?service={service_id}&day={day.isoformat()}")
                page_samples.append(time.perf_counter() - t0)
                assert page.status_code == 200, page.status_code
        engine.dispose()
    return {
        "open_slots": {**_ms(slot_samples), "rounds": ROUNDS, "slots_per_day": round(found / ROUNDS, 1)},
        "booking_page": {**_ms(page_samples), "rounds": ROUNDS, "target_ms": 150},
    }
