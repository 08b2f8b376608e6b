"""``therabill schedule`` (edit services and rooms, time off, feed) and ``therabill reminders`` /
``therabill worker --once`` on the SQLite default: reminders sent in-process, once."""

from __future__ import annotations

import os
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from tests.conftest import SmtpServer
from tests.e2e.cli.harness import as_json, run
from tests.integration.calendar.fake_sms import ACCOUNT, FROM, TOKEN, FakeSmsProvider
from tests.integration.db.builders import ACTOR, Practice
from tests.integration.interop.conftest import ready_claim
from therabill.adapters.db.engine import make_engine
from therabill.clock import current_time
from therabill.domain import schedule as rules
from therabill.service_layer import appointments, patients


def test_edit_services_rooms_time_off_and_a_feed(practice: Practice) -> None:
    p = practice
    service = as_json("schedule", "service-add", "Massage 60", "--minutes", "60", "--price", "95.00")
    edited = as_json("schedule", "service-edit", service["id"], "--price", "99.50", "--inactive")
    assert edited == {"id": service["id"], "name": "Massage 60", "price": "99.50", "active": False}
    bad = run("schedule", "service-edit", service["id"], "--minutes", "1")
    assert bad.exit_code == 2 and "duration-invalid" in bad.output
    room = as_json("schedule", "room-add", "Room 1")
    renamed = run("schedule", "room-edit", room["id"], "--name", "Table A", "--inactive")
    assert renamed.exit_code == 0 and "Table A (out of use)" in renamed.output
    back = as_json("schedule", "room-edit", room["id"], "--active")
    assert back == {"id": room["id"], "name": "Table A", "active": True}
    added = as_json(
        "schedule", "time-off", "--therapist", p.provider_id, "--add-from", "2027-01-04T09:00",
        "--add-to", "2027-01-04T17:00", "--reason", "course",
    )  # fmt: skip
    assert [(t["start_local"], t["reason"]) for t in added] == [("2027-01-04T09:00:00", "course")]
    assert as_json("schedule", "time-off", "--delete", added[0]["id"]) == []
    feed = run("schedule", "feed", p.provider_id)
    assert feed.exit_code == 0 and "/calendar/feed/" in feed.output and feed.output.strip().endswith(".ics")
    linked = as_json("schedule", "feed", p.provider_id)
    assert linked["therapist"] == p.provider_id and linked["url"].endswith(".ics")


def test_reminders_go_from_the_worker_in_process_once(
    practice: Practice, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = practice
    provider = FakeSmsProvider().start()
    try:
        for name, value in {
            "THERABILL_SMTP_HOST": smtp_server.host, "THERABILL_SMTP_PORT": str(smtp_server.port),
            "THERABILL_SMS_ACCOUNT_SID": ACCOUNT, "THERABILL_SMS_AUTH_TOKEN": TOKEN, "THERABILL_SMS_FROM": FROM,
            "THERABILL_SMS_BASE_URL": provider.url(), "THERABILL_PUBLIC_URL": "https://clinic.example.com",
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        engine = make_engine()
        client = patients.register_patient(
            engine, p.id, ACTOR, chart_number="R-1", first_name="Annika", last_name="Whitfield",
            phone="8455550142", email="annika@example.org",
        )  # fmt: skip
        start = current_time().astimezone(UTC).replace(tzinfo=None) + timedelta(hours=5)
        appointments.book(
            engine, p.id, ACTOR, patient_id=client, provider_id=p.provider_id,
            start_local=rules.to_local(start, "America/New_York"),
            end_local=rules.to_local(start + timedelta(hours=1), "America/New_York"),
        )  # fmt: skip
        engine.dispose()
        off = as_json("reminders", "policy")
        assert off["hours_before"] is None
        on = as_json("reminders", "policy", "--hours", "24", "--email", "--sms")
        assert on == {"hours_before": 24, "email": True, "sms": True}
        first = run("worker", "--once")
        assert first.exit_code == 0, first.output
        assert "'sent': 2" in first.output
        again = run("reminders", "send-due")
        assert again.exit_code == 0 and "0 due" in again.output
        assert as_json("reminders", "send-due")["due"] == 0
        assert [m["To"] for m in smtp_server.messages] == ["annika@example.org"]
        assert [m.to for m in provider.messages] == ["+18455550142"]
        assert "Annika" in provider.messages[0].body and "Whitfield" not in provider.messages[0].body
    finally:
        provider.stop()


CLEARINGHOUSE = """\
[clearinghouse]
name = "desk"
kind = "filedrop"
outbound = "drop/to-payer"
inbound = "drop/from-payer"
archive = "drop/archive"
file_name = "{practice}_{control}_{ts}.837"

[x12]
sender_id = "HVMT"
receiver_id = "DESKCH"
"""


def test_the_worker_exchanges_with_the_clearinghouse_when_set(
    practice: Practice, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = Path(os.environ["THERABILL_DATA_DIR"])
    (folder / "clearinghouse.toml").write_text(CLEARINGHOUSE, encoding="utf-8")
    for sub in ("to-payer", "from-payer", "archive"):
        (folder / "drop" / sub).mkdir(parents=True, exist_ok=True)
    ready_claim(practice)
    off = run("worker", "--once")
    assert (
        off.exit_code == 0 and list((folder / "drop" / "to-payer").iterdir()) == []
    )  # not set: nothing sent
    monkeypatch.setenv("THERABILL_CLEARINGHOUSE_EVERY_MINUTES", "15")
    first = run("worker", "--once")
    assert first.exit_code == 0, first.output
    sent = list((folder / "drop" / "to-payer").iterdir())
    assert len(sent) == 1 and sent[0].read_text().startswith("ISA")
    again = run("worker", "--once")
    assert (
        again.exit_code == 0 and len(list((folder / "drop" / "to-payer").iterdir())) == 1
    )  # a batch goes once
