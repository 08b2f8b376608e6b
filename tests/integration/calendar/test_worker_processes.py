"""Two ``therabill worker`` processes on PostgreSQL share the reminder jobs; one is killed
with SIGKILL while the SMS provider holds its request: every reminder is sent exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from tests.integration.calendar.fake_sms import ACCOUNT, FROM, TOKEN, FakeSmsProvider
from tests.integration.calendar.worker_harness import (
    HeldSend,
    kill_a_mid_send,
    queued_by_the_command,
    run_cli,
    two_workers,
    worker_env,
)
from tests.integration.db.builders import ACTOR, a_practice
from therabill.adapters.db.messaging_tables import reminder_sends
from therabill.domain import schedule as rules
from therabill.service_layer import appointments, reminders
from therabill.service_layer import patients as patients_svc

REMINDERS = 12


def _env(engine: Engine, sms_url: str) -> dict[str, str]:
    return worker_env(
        engine,
        THERABILL_SMS_ACCOUNT_SID=ACCOUNT,
        THERABILL_SMS_AUTH_TOKEN=TOKEN,
        THERABILL_SMS_FROM=FROM,
        THERABILL_SMS_BASE_URL=sms_url,
    )


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
    held = HeldSend()
    provider.on_request = lambda got: held(got.prefix)
    envs = {name: _env(engine, provider.url(name)) for name in ("a", "b")}

    def settled() -> bool:
        with engine.connect() as conn:
            rows = conn.execute(select(reminder_sends.c.status)).scalars().all()
        return len(rows) == REMINDERS and Counter(rows)["sent"] == REMINDERS - 1

    try:
        with two_workers(engine, envs, tmp_path) as workers:
            # only now is anything due: both workers are listening when the jobs arrive
            reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=24, email=False, sms=True)
            queued = run_cli(_env(engine, provider.url("q")), "reminders", "send-due")
            queued_by_the_command(queued, "reminder", REMINDERS)
            kill_a_mid_send(workers, held, settled)
    finally:
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
