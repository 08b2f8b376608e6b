"""Reminders on both databases: email through a real SMTP server, SMS through a local
Twilio-compatible server; sent once, no PHI, links that confirm or cancel once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from tests.conftest import SmtpServer
from tests.integration.calendar.fake_sms import ACCOUNT, FROM, TOKEN, FakeSmsProvider
from tests.integration.db.builders import ACTOR, Practice, a_practice
from therabill.adapters.db.messaging_tables import reminder_sends
from therabill.adapters.mail import SmtpMailer, SmtpSettings
from therabill.adapters.sms import SmsSettings, TwilioSms
from therabill.clock import using
from therabill.service_layer import appointments, links, reminders, schedule_setup
from therabill.service_layer import patients as patients_svc
from therabill.service_layer.links import LinkError
from therabill.service_layer.reminders import Outbox, ReminderError
from therabill.service_layer.uow import UnitOfWork

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
PUBLIC = "https://clinic.example.com"


@pytest.fixture
def sms() -> Iterator[FakeSmsProvider]:
    provider = FakeSmsProvider().start()
    yield provider
    provider.stop()


def _outbox(smtp: SmtpServer, provider: FakeSmsProvider) -> Outbox:
    return Outbox(
        mailer=SmtpMailer(SmtpSettings(host=smtp.host, port=smtp.port, sender="Clinic <front@example.com>")),
        sms=TwilioSms(SmsSettings(ACCOUNT, TOKEN, FROM, base_url=provider.url())),
        public_url=PUBLIC,
    )


def _client(engine: Engine, p: Practice, first: str, phone: str | None, email: str | None) -> str:
    return patients_svc.register_patient(
        engine, p.id, ACTOR, chart_number=f"R-{first}", first_name=first, last_name="Whitfield",
        phone=phone, email=email,
    )  # fmt: skip


def _book(engine: Engine, p: Practice, patient: str, local: datetime) -> str:
    return appointments.book(
        engine, p.id, ACTOR, patient_id=patient, provider_id=p.provider_id, start_local=local,
        end_local=local + timedelta(hours=1),
    ).id  # fmt: skip


def _sweep(engine: Engine, outbox: Outbox, at: datetime = NOW, worker: str = "w1") -> list[str]:
    with using(lambda: at):
        return [
            reminders.send_reminder(engine, due, outbox, worker=worker)
            for due in reminders.due_reminders(engine)
        ]


def _links(text: str) -> dict[str, str]:
    return dict(re.findall(r"/r/(confirm|cancel)/([A-Za-z0-9_-]+)", text))


def test_due_reminders_go_once_by_email_and_sms_without_phi(
    engine: Engine, smtp_server: SmtpServer, sms: FakeSmsProvider
) -> None:
    p = a_practice(engine)
    outbox = _outbox(smtp_server, sms)
    ann = _client(engine, p, "Annika", "(845) 555-0142", "annika@example.org")
    ben = _client(engine, p, "Bennet", None, "bennet@example.org")
    tomorrow = _book(engine, p, ann, datetime(2026, 11, 24, 9, 30))  # 23.5 hours ahead
    _book(engine, p, ben, datetime(2026, 11, 24, 8, 0))
    _book(engine, p, ann, datetime(2026, 11, 25, 11, 0))  # 2 days ahead: not yet due
    assert _sweep(engine, outbox) == []  # reminders are off until the practice sets them
    reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=24, email=True, sms=True)

    assert sorted(_sweep(engine, outbox)) == ["sent", "sent", "sent"]
    assert _sweep(engine, outbox) == []  # nothing due twice
    assert sorted(m["To"] for m in smtp_server.messages) == ["annika@example.org", "bennet@example.org"]
    texts = sms.bodies_to("+18455550142")
    assert len(texts) == 1 and len(sms.messages) == 1
    mail = next(m for m in smtp_server.messages if m["To"] == "annika@example.org")
    body = mail.get_content()
    for message in (body, texts[0], mail["Subject"]):
        assert "Whitfield" not in message and "Chen" not in message and "Mei" not in message  # no PHI
        assert "97124" not in message
    for message in (body, texts[0]):
        assert "Annika" in message and "Hudson Valley Massage Therapy PLLC" in message
        assert "Tuesday, November 24 at 9:30 AM" in message
        assert f"{PUBLIC}/r/confirm/" in message and f"{PUBLIC}/r/cancel/" in message
    assert "Whitfield" not in mail["Subject"]

    # the links: confirm once; reused, refused; the cancel link of the SMS still works
    mail_links, sms_links = _links(body), _links(texts[0])
    with using(lambda: NOW + timedelta(hours=1)):
        shown = reminders.linked_appointment(engine, mail_links["confirm"], "appointment-confirm")
        assert (shown.first_name, shown.status_label) == ("Annika", "Booked")
        assert reminders.confirm_by_link(engine, mail_links["confirm"]).status_label == "Confirmed"
        with pytest.raises(LinkError) as used:
            reminders.confirm_by_link(engine, mail_links["confirm"])
        assert used.value.problems[0].code == "link-used"
        with pytest.raises(LinkError):  # a confirm token is no cancel token
            reminders.cancel_by_link(engine, sms_links["confirm"])
        assert reminders.cancel_by_link(engine, sms_links["cancel"]).status_label == "Cancelled"
        with pytest.raises(ReminderError):  # cancelled: confirming is refused, the link kept
            reminders.confirm_by_link(engine, sms_links["confirm"])
        links.read_link(engine, sms_links["confirm"], "appointment-confirm")
    assert appointments.get_appointment(engine, p.id, ACTOR, tomorrow).status == "cancelled"
    recorded = reminders.reminders_of(engine, p.id, ACTOR, tomorrow)
    assert sorted((r.channel, r.status_label) for r in recorded) == [("email", "Sent"), ("sms", "Sent")]


def test_a_late_cancel_from_a_link_posts_the_fee_and_the_link_expires_at_the_start(
    engine: Engine, smtp_server: SmtpServer, sms: FakeSmsProvider
) -> None:
    p = a_practice(engine)
    schedule_setup.set_calendar_policy(
        engine, p.id, ACTOR, late_cancel_fee=Decimal("40.00"), late_cancel_window_hours=24
    )
    reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=48, email=True, sms=False)
    ann = _client(engine, p, "Annika", None, "annika@example.org")
    first = _book(engine, p, ann, datetime(2026, 11, 24, 9, 0))
    second = _book(engine, p, ann, datetime(2026, 11, 25, 9, 0))
    assert _sweep(engine, _outbox(smtp_server, sms)) == ["sent", "sent"]
    texts = [m.get_content() for m in smtp_server.messages]
    late = next(_links(t) for t in texts if "Tuesday, November 24 at 9:00 AM" in t)
    early = next(_links(t) for t in texts if "Wednesday, November 25 at 9:00 AM" in t)
    with using(lambda: NOW):
        assert reminders.linked_appointment(
            engine, late["cancel"], "appointment-cancel"
        ).late_cancel_fee == Decimal("40.00")
        assert (
            reminders.linked_appointment(engine, early["cancel"], "appointment-cancel").late_cancel_fee
            is None
        )
        assert reminders.cancel_by_link(engine, late["cancel"]).status_label == "Late cancel"
    with using(lambda: datetime(2026, 11, 25, 14, 0, tzinfo=UTC)), pytest.raises(LinkError) as exc:
        reminders.confirm_by_link(engine, early["confirm"])  # 9:00 New York = 14:00 UTC: expired
    assert exc.value.problems[0].code == "link-expired"
    assert appointments.get_appointment(engine, p.id, ACTOR, first).status == "late_cancel"
    assert appointments.get_appointment(engine, p.id, ACTOR, second).status == "scheduled"


def test_provider_down_is_retried_refused_is_not_and_a_move_reminds_again(
    engine: Engine, smtp_server: SmtpServer, sms: FakeSmsProvider
) -> None:
    p = a_practice(engine)
    reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=24, email=False, sms=True)
    ann = _client(engine, p, "Annika", "8455550142", None)
    appt = _book(engine, p, ann, datetime(2026, 11, 24, 9, 0))
    down = Outbox(None, TwilioSms(SmsSettings(ACCOUNT, TOKEN, FROM, base_url="http://127.0.0.1:9")), PUBLIC)
    assert _sweep(engine, down) == ["retry"]  # nobody listens: surely not sent, so not claimed
    sms.fail_status = 503
    assert _sweep(engine, _outbox(smtp_server, sms)) == ["retry"]
    sms.fail_status = 400
    assert _sweep(engine, _outbox(smtp_server, sms)) == ["failed"]
    assert _sweep(engine, _outbox(smtp_server, sms)) == []  # refused: not tried again
    assert [r.status_label for r in reminders.reminders_of(engine, p.id, ACTOR, appt)] == ["Failed"]
    sms.fail_status = None
    with using(lambda: NOW):
        appointments.reschedule(engine, p.id, ACTOR, appt, start_local=datetime(2026, 11, 24, 9, 45))
    assert _sweep(engine, _outbox(smtp_server, sms)) == ["sent"]  # the new time is reminded
    assert len(sms.bodies_to("+18455550142")) == 1 and "9:45 AM" in sms.messages[0].body


def test_two_workers_racing_for_the_same_reminders_send_each_once(
    engine: Engine, smtp_server: SmtpServer, sms: FakeSmsProvider
) -> None:
    import threading

    p = a_practice(engine)
    reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=48, email=False, sms=True)
    for i in range(6):
        patient = _client(engine, p, f"Client{i}", f"84555501{i:02d}", None)
        _book(engine, p, patient, datetime(2026, 11, 24, 9, 0) + timedelta(hours=i))
    with using(lambda: NOW):
        due = reminders.due_reminders(engine)
    assert len(due) == 6
    outcomes: list[str] = []
    barrier = threading.Barrier(3)

    def worker(name: str) -> None:
        barrier.wait()
        with using(lambda: NOW):
            outbox = _outbox(smtp_server, sms)  # every worker tries every reminder
            outcomes.extend(reminders.send_reminder(engine, item, outbox, worker=name) for item in due)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("sent") == 6 and outcomes.count("skipped") == 12
    assert sorted(m.to for m in sms.messages) == sorted({m.to for m in sms.messages})
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        rows = uow.session.execute(select(reminder_sends).where(reminder_sends.c.practice_id == p.id)).all()
    assert len(rows) == 6 and {r.status for r in rows} == {"sent"}


def test_reminder_hours_are_bounded(engine: Engine) -> None:
    p = a_practice(engine)
    with pytest.raises(ReminderError) as exc:
        reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=0, email=True, sms=False)
    assert exc.value.problems[0].code == "reminder-hours-invalid"
    off = reminders.set_reminder_policy(engine, p.id, ACTOR, hours_before=None, email=True, sms=True)
    assert off.hours_before is None
