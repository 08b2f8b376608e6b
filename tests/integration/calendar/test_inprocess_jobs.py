"""The SQLite default: ``therabill run`` / ``serve`` start the in-process runner, which sends
due reminders on its timer thread with the same job functions as a worker."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import SmtpServer
from tests.integration.db.builders import ACTOR, a_practice
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.entrypoints.http.settings import Settings
from therabill.entrypoints.jobs.inprocess import InProcessJobs, start_for_sqlite
from therabill.entrypoints.jobs.tasks import JobContext
from therabill.service_layer import appointments, patients, reminders


def test_the_in_process_runner_sends_due_reminders_on_sqlite(tmp_path: Path, smtp_server: SmtpServer) -> None:
    url = f"sqlite:///{tmp_path / 'therabill.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    p = a_practice(engine)
    client = patients.register_patient(
        engine,
        p.id,
        ACTOR,
        chart_number="R-1",
        first_name="Annika",
        last_name="Whitfield",
        email="a@example.org",
    )
    appointments.book(
        engine, p.id, ACTOR, patient_id=client, provider_id=p.provider_id,
        start_local=datetime(2026, 11, 24, 9), end_local=datetime(2026, 11, 24, 10),
    )  # fmt: skip
    reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=24, email=True, sms=False)
    assert (
        start_for_sqlite(Settings(database_url="postgresql://nobody@127.0.0.1/none")) is None
    )  # workers do it
    assert start_for_sqlite(Settings(database_url=url, jobs_interval_seconds=0)) is None  # turned off
    settings = Settings(
        database_url=url, jobs_interval_seconds=1, smtp_host=smtp_server.host, smtp_port=smtp_server.port
    )
    runner = start_for_sqlite(settings)
    assert runner is not None
    try:
        deadline = time.monotonic() + 60
        while not smtp_server.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.5)  # two more ticks: nothing is sent twice
    finally:
        runner.stop()
    assert [m["To"] for m in smtp_server.messages] == ["a@example.org"]
    assert runner.ctx.counts == {"sent": 1}


def test_the_runner_waits_quietly_for_a_database_without_a_schema(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``serve --workers N`` starts the runner before any worker has set up the database."""
    url = f"sqlite:///{tmp_path / 'therabill.sqlite3'}"
    runner = InProcessJobs(JobContext.from_settings(Settings(database_url=url)), interval=60)
    with caplog.at_level(logging.WARNING, logger="therabill.jobs"):
        runner.tick()
    assert caplog.records == []  # no "no such table" traceback
    migrations.upgrade(make_engine(url))
    with caplog.at_level(logging.WARNING, logger="therabill.jobs"):
        runner.tick()  # the schema is there now: the jobs run (nothing due)
    assert caplog.records == []
    assert runner.ctx.counts == {}
