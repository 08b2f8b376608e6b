"""Online booking and the client portal's services on both engines.

A visitor's request is emailed a single-use link; following it recognises the client by
email or registers a new one and books through the calendar (two links for one time at once:
one booked, one refused, nothing half written); approval; the portal's intake is the same
versioned intake the therapist reads; cancel and move inside the practice's window.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from tests.integration.db.builders import ACTOR, Practice, a_practice
from therabill.adapters.db.portal_tables import booking_requests, client_signatures
from therabill.adapters.db.tables import patients
from therabill.adapters.mail import OutgoingMail
from therabill.domain.booking import BookingError
from therabill.service_layer import booking, booking_approval, intake, portal, schedule

BASE = "https://book.example.com/book/confirm/"
DAY = datetime(2026, 12, 1)  # a Tuesday, a week after the suite's clock


def _codes(exc: pytest.ExceptionInfo[BookingError]) -> set[str]:
    return {p.code for p in exc.value.problems}


def _open(engine: Engine, *, approval: bool = False) -> tuple[Practice, schedule.Service]:
    p = a_practice(engine)
    svc = schedule.add_service(
        engine, p.id, ACTOR, name="Massage 60", duration_minutes=60, price=Decimal("95.00"), codes=["97124"]
    )
    schedule.set_working_hours(engine, p.id, ACTOR, p.provider_id, [(d, "09:00", "17:00") for d in range(5)])
    schedule.set_calendar_policy(engine, p.id, ACTOR, late_cancel_window_hours=24)
    booking.set_booking_settings(
        engine,
        p.id,
        ACTOR,
        enabled=True,
        requires_approval=approval,
        card_on_file_notice=True,
        policies="Cancel 24 hours ahead or pay the late-cancel fee.",
    )
    return p, svc


def _ask(
    engine: Engine, p: Practice, svc: schedule.Service, at: datetime, email: str, **who: str
) -> OutgoingMail:
    return booking.request_booking(
        engine,
        p.id,
        service_id=svc.id,
        provider_id=p.provider_id,
        start_local=at,
        first_name=who.get("first", "Nora"),
        last_name=who.get("last", "Quinn"),
        email=email,
        phone="(845) 555-0142",
        accepted_policies=True,
        ip=who.get("ip", "198.51.100.7"),
        link_base=BASE,
    )


def _token(mail: OutgoingMail) -> str:
    found = re.search(re.escape(BASE) + r"(\S+)", mail.text)
    assert found, mail.text
    return found.group(1)


def _patients(engine: Engine, p: Practice) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(patients).where(patients.c.practice_id == p.id)
            ).scalar_one()
        )


def test_a_new_client_books_by_the_emailed_link_and_is_signed_in(engine: Engine) -> None:
    p, svc = _open(engine)
    page = booking.open_practice(engine, booking.practice_slug(engine, p.id, ACTOR))
    assert page.settings.card_on_file_notice and page.name == "Hudson Valley Massage Therapy PLLC"
    slots = booking.open_slots(engine, p.id, service_id=svc.id, day=DAY.date())
    assert slots[0].start_local == datetime(2026, 12, 1, 9) and slots[-1].start_local == datetime(
        2026, 12, 1, 16
    )
    before = _patients(engine, p)
    mail = _ask(engine, p, svc, datetime(2026, 12, 1, 10), "Nora.Quinn@Example.com")
    assert mail.to == "nora.quinn@example.com"
    assert mail.subject == "Confirm your appointment at Hudson Valley Massage Therapy PLLC"
    assert (
        "Tuesday, December 1 at 10:00 AM" in mail.text
        and "Massage 60" not in mail.text
        and "Chen" not in mail.text
    )
    assert _patients(engine, p) == before  # nothing is booked until the link is followed
    done = booking.confirm_booking(engine, _token(mail))
    assert done.new_client and not done.awaiting_approval
    assert done.appointment.status == "confirmed" and done.appointment.start_local == datetime(
        2026, 12, 1, 10
    )
    assert done.appointment.patient_name == "Nora Quinn"
    assert _patients(engine, p) == before + 1
    # The same link again: refused, and nothing more booked.
    with pytest.raises(BookingError) as again:
        booking.confirm_booking(engine, _token(mail))
    assert _codes(again) == {"link-used"}
    session = portal.start_session(engine, p.id, done.patient_id)
    client = portal.client_of(engine, session)
    assert client is not None and client.patient_id == done.patient_id and client.first_name == "Nora"
    home = portal.home(engine, client)
    assert [u.appointment.id for u in home.upcoming] == [done.appointment.id]
    assert home.intake_status == "missing" and home.balance == Decimal("0")


def test_an_existing_client_is_recognised_by_email(engine: Engine) -> None:
    p, svc = _open(engine)
    with engine.begin() as conn:
        conn.execute(patients.update().where(patients.c.id == p.patient_id).values(email="grace@example.com"))
    before = _patients(engine, p)
    mail = _ask(engine, p, svc, datetime(2026, 12, 1, 11), "GRACE@example.com", first="G", last="M")
    done = booking.confirm_booking(engine, _token(mail))
    assert done.patient_id == p.patient_id and not done.new_client
    assert _patients(engine, p) == before


def test_approval_holds_the_time_until_the_practice_decides(engine: Engine) -> None:
    p, svc = _open(engine, approval=True)
    done = booking.confirm_booking(
        engine, _token(_ask(engine, p, svc, datetime(2026, 12, 1, 9), "a@example.com"))
    )
    assert done.awaiting_approval and done.appointment.status == "scheduled"
    # The time is held: nobody else can book it meanwhile.
    assert datetime(2026, 12, 1, 9) not in {
        s.start_local for s in booking.open_slots(engine, p.id, service_id=svc.id, day=DAY.date())
    }
    pending = booking_approval.pending_approvals(engine, p.id, ACTOR)
    assert [b.appointment.id for b in pending] == [done.appointment.id]
    mail = booking_approval.decide(engine, p.id, ACTOR, pending[0].request_id, approve=True)
    assert (
        mail is not None
        and mail.subject == "Your appointment at Hudson Valley Massage Therapy PLLC is confirmed"
    )
    assert schedule.get_appointment(engine, p.id, ACTOR, done.appointment.id).status == "confirmed"
    assert booking_approval.pending_approvals(engine, p.id, ACTOR) == []
    with pytest.raises(BookingError) as twice:
        booking_approval.decide(engine, p.id, ACTOR, pending[0].request_id, approve=False)
    assert _codes(twice) == {"booking-not-awaiting"}


def _race(engine: Engine, tokens: list[str]) -> list[str]:
    """Follow the links in threads released together; the outcome of each."""
    barrier = threading.Barrier(len(tokens))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(token: str) -> None:
        barrier.wait()
        try:
            booking.confirm_booking(engine, token)
            result = "booked"
        except BookingError as exc:
            result = exc.problems[0].code
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assert
            result = repr(exc)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_links_for_one_time_confirmed_at_once_book_it_once(engine: Engine) -> None:
    p, svc = _open(engine)
    for hour in (13, 15):
        at = datetime(2026, 12, 1, hour)
        tokens = [
            _token(_ask(engine, p, svc, at, f"racer{hour}-{i}@example.com", ip=f"203.0.113.{i}"))
            for i in range(2)
        ]
        before = _patients(engine, p)
        outcomes = _race(engine, tokens)
        assert sorted(outcomes) == ["booked", "slot-taken"]
        # The loser's new client record was not written (one transaction with the booking).
        assert _patients(engine, p) == before + 1
    with engine.connect() as conn:
        statuses = sorted(
            r.status
            for r in conn.execute(select(booking_requests).where(booking_requests.c.practice_id == p.id))
        )
    assert statuses == ["booked", "booked", "taken", "taken"]


def test_the_request_is_checked_field_by_field_and_only_free_times_are_taken(engine: Engine) -> None:
    p, svc = _open(engine)
    with pytest.raises(BookingError) as bad:
        booking.request_booking(
            engine, p.id, service_id=svc.id, provider_id=p.provider_id, start_local=datetime(2026, 12, 1, 10),
            first_name="", last_name="Quinn", email="not-an-email", phone="12", accepted_policies=False,
            ip="198.51.100.9", link_base=BASE,
        )  # fmt: skip
    assert _codes(bad) == {"name-invalid", "email-invalid", "phone-invalid", "policies-not-accepted"}
    with pytest.raises(BookingError) as closed_hours:
        _ask(engine, p, svc, datetime(2026, 12, 1, 18), "late@example.com")
    assert _codes(closed_hours) == {"slot-not-free"}
    with pytest.raises(BookingError) as too_soon:  # the suite's clock: Mon Nov 23, 10:00 in New York
        _ask(engine, p, svc, datetime(2026, 11, 23, 11), "soon@example.com")
    assert _codes(too_soon) == {"slot-not-free"}


def test_the_portal_intake_is_the_versioned_intake_the_therapist_reads(engine: Engine) -> None:
    p, svc = _open(engine)
    done = booking.confirm_booking(
        engine, _token(_ask(engine, p, svc, datetime(2026, 12, 1, 14), "iv@example.com"))
    )
    client = portal.client_of(engine, portal.start_session(engine, p.id, done.patient_id))
    assert client is not None
    document = {
        "reason_for_care": "Low back pain after gardening",
        "areas_to_avoid": [{"region": "abdomen", "reason": "recent surgery"}],
        "consents": {"treatment": {"given": True}, "release_of_information": {"given": False}},
    }
    with pytest.raises(BookingError) as unsigned:
        portal.sign_intake(engine, client, document, signed_name="Someone Else")
    assert _codes(unsigned) == {"signature-mismatch"}
    version = portal.sign_intake(engine, client, document, signed_name="  nora   QUINN ")
    current = intake.current_intake(engine, p.id, ACTOR, done.patient_id)
    assert current is not None and current.version == version.version == 1
    assert current.record.reason_for_care == "Low back pain after gardening"
    assert (
        current.record.consents.treatment.given and current.record.consents.treatment.method == "electronic"
    )
    assert str(current.record.consents.treatment.date) == "2026-11-23"
    assert not current.record.consents.release_of_information.given
    assert not current.signed  # the therapist still reviews and signs it
    checked = schedule.check_in_details(engine, p.id, ACTOR, done.appointment.id)
    assert checked.intake == {"status": "unsigned", "version": 1}
    with engine.connect() as conn:
        signed = conn.execute(
            select(client_signatures).where(client_signatures.c.patient_id == done.patient_id)
        ).one()
    assert signed.signed_name == "nora QUINN" and signed.version == 1
    assert portal.home(engine, client).client_signed_at is not None


def test_cancel_and_move_only_outside_the_window_and_only_ones_own(engine: Engine) -> None:
    p, svc = _open(engine)
    mine = booking.confirm_booking(
        engine, _token(_ask(engine, p, svc, datetime(2026, 12, 2, 10), "m@example.com"))
    )
    theirs = booking.confirm_booking(
        engine, _token(_ask(engine, p, svc, datetime(2026, 12, 2, 12), "t@example.com"))
    )
    client = portal.client_of(engine, portal.start_session(engine, p.id, mine.patient_id))
    assert client is not None
    with pytest.raises(Exception) as other:
        portal.cancel_appointment(engine, client, theirs.appointment.id)
    assert getattr(other.value, "code", "") == "not-found"
    moved = portal.reschedule_appointment(engine, client, mine.appointment.id, datetime(2026, 12, 2, 15))
    assert moved.start_local == datetime(2026, 12, 2, 15)
    with pytest.raises(BookingError) as taken:
        portal.reschedule_appointment(engine, client, mine.appointment.id, datetime(2026, 12, 2, 12))
    assert _codes(taken) == {"slot-not-free"}
    assert portal.cancel_appointment(engine, client, mine.appointment.id).status == "cancelled"
    # Inside the 24-hour window: online changes are closed.
    soon = schedule.book(
        engine, p.id, ACTOR, patient_id=mine.patient_id, provider_id=p.provider_id,
        start_local=datetime(2026, 11, 24, 9), service_id=svc.id,
    )  # fmt: skip
    with pytest.raises(BookingError) as late:
        portal.cancel_appointment(engine, client, soon.id)
    assert _codes(late) == {"change-window-passed"}
    assert schedule.get_appointment(engine, p.id, ACTOR, soon.id).status == "scheduled"
