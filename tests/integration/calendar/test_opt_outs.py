"""A client's opt-out holds for reminders: an opted-out channel is never sent, even when the
client opts out after the sweep queued the reminder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.conftest import SmtpServer
from tests.integration.calendar.fake_sms import ACCOUNT, FROM, TOKEN, FakeSmsProvider
from tests.integration.db.builders import ACTOR, a_practice
from therabill.adapters.mail import SmtpMailer, SmtpSettings
from therabill.adapters.sms import SmsSettings, TwilioSms
from therabill.clock import using
from therabill.service_layer import appointments, contact_preferences, reminders
from therabill.service_layer import patients as patients_svc
from therabill.service_layer.reminders import Outbox

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def sms() -> Iterator[FakeSmsProvider]:
    provider = FakeSmsProvider().start()
    yield provider
    provider.stop()


def test_reminders_skip_an_opted_out_channel(
    engine: Engine, smtp_server: SmtpServer, sms: FakeSmsProvider
) -> None:
    p = a_practice(engine)
    reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=48, email=True, sms=True)
    people = {}
    for i, name in enumerate(("Uma", "Vik", "Wren")):
        patient = patients_svc.register_patient(
            engine, p.id, ACTOR, chart_number=f"O-{name}", first_name=name, last_name="Berg",
            phone=f"84555502{i:02d}", email=f"{name.lower()}@example.org",
        )  # fmt: skip
        start = datetime(2026, 11, 24, 9, 0) + timedelta(hours=i)
        appointments.book(
            engine, p.id, ACTOR, patient_id=patient, provider_id=p.provider_id, start_local=start,
            end_local=start + timedelta(hours=1),
        )  # fmt: skip
        people[name] = patient
    contact_preferences.set_contact_preferences(engine, p.id, ACTOR, people["Uma"], sms_opt_out=True)
    contact_preferences.set_contact_preferences(engine, p.id, ACTOR, people["Vik"], email_opt_out=True)
    with using(lambda: NOW):
        due = [d for d in reminders.due_reminders(engine) if d.practice_id == p.id]
    assert sorted(d.channel for d in due) == ["email", "email", "sms", "sms"]  # 6 minus the 2 opted out

    # Wren opts out of both after the sweep: the queued reminders are not sent
    contact_preferences.set_contact_preferences(
        engine, p.id, ACTOR, people["Wren"], email_opt_out=True, sms_opt_out=True
    )
    outbox = Outbox(
        mailer=SmtpMailer(SmtpSettings(host=smtp_server.host, port=smtp_server.port, sender="c@example.com")),
        sms=TwilioSms(SmsSettings(ACCOUNT, TOKEN, FROM, base_url=sms.url())),
        public_url="https://clinic.example.com",
    )
    with using(lambda: NOW):
        outcomes = sorted(reminders.send_reminder(engine, d, outbox, worker="w1") for d in due)
    assert outcomes == ["sent", "sent", "skipped", "skipped"]
    assert [m["To"] for m in smtp_server.messages] == ["uma@example.org"]
    assert [m.to for m in sms.messages] == ["+18455550201"]  # Vik's phone


def test_a_printed_statement_run_does_not_email_a_client_who_opted_out(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    from decimal import Decimal

    from therabill.domain.ledger import ChargeType
    from therabill.service_layer import ledger, statements

    p = a_practice(engine)
    ids = {}
    for name in ("Xena", "Yves"):
        patient = patients_svc.register_patient(
            engine, p.id, ACTOR, chart_number=f"SB-{name}", first_name=name, last_name="Holm",
            email=f"{name.lower()}@example.org",
        )  # fmt: skip
        ledger.post_charge(
            engine, p.id, ACTOR, patient_id=patient, amount=Decimal("30.00"), charge_type=ChargeType.RETAIL,
            key=f"retail:{patient}",
        )  # fmt: skip
        ids[name] = patient
    contact_preferences.set_contact_preferences(engine, p.id, ACTOR, ids["Yves"], email_opt_out=True)
    mailer = SmtpMailer(SmtpSettings(host=smtp_server.host, port=smtp_server.port, sender="c@example.com"))
    run = statements.statement_batch(
        engine, p.id, ACTOR, statement_date=NOW.date(), over=Decimal("10.00"), mailer=mailer
    )
    numbers = {d.patient_id: d.number for d in run.statements}
    assert set(numbers) == set(ids.values())  # both printed
    assert run.emailed == [numbers[ids["Xena"]]]
    assert run.not_emailed == [(numbers[ids["Yves"]], "opted-out")]
    assert [m["To"] for m in smtp_server.messages] == ["xena@example.org"]
