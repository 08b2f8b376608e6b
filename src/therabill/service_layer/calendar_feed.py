"""A therapist's calendar feed: an iCalendar (RFC 5545) file at a signed URL for their phone.

``feed_link`` issues the URL's token (a ``calendar-feed`` link from ``links``, valid a year,
never used up; replacing the practice's link key voids it). ``therapist_feed`` answers the
URL: the therapist's booked, confirmed and checked-in appointments from 30 days back to 180
ahead, built with the ``icalendar`` library. Times are UTC (``...Z``), so the phone shows
them in its own zone; each event's UID is stable, so a moved appointment moves.

What an event shows (the file leaves the practice, onto a phone and its cloud): the client's
first name and last initial, the service and the room. No diagnosis, no notes, no contact data.
Who may issue a feed: anyone who reads the calendar, for any therapist, except that a
therapist gets their own only (another's is "not found", like their visits).

Revoking and rotating (``revoke_feed``, ``rotate_feed``): each therapist's feed has a
generation (``calendar_feeds``, 0 until the first revocation), signed into the URL's token
with the therapist's id. Revoking moves the generation on, so every URL issued before answers
410 Gone (``calendar-feed-revoked``) while the other therapists' URLs keep working; rotating
revokes and issues the new URL at once (a lost phone: revoke; a URL shared by mistake: rotate).
"""

from __future__ import annotations

from datetime import UTC, timedelta

from icalendar import Calendar, Event
from sqlalchemy import Engine, select

from therabill.adapters.db.messaging_tables import calendar_feeds
from therabill.adapters.db.tables import appointments, patients, practices, providers, rooms, services
from therabill.clock import Clock, current_time
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.schedule import AppointmentStatus
from therabill.service_layer.accounts import Principal
from therabill.service_layer.links import LinkError, issue_link_in, link_practice, read_link
from therabill.service_layer.uow import UnitOfWork

__all__ = ["FEED", "feed_link", "revoke_feed", "rotate_feed", "therapist_feed"]

FEED = "calendar-feed"
LIFETIME = timedelta(days=365)
PAST = timedelta(days=30)
AHEAD = timedelta(days=180)
SHOWN = (
    AppointmentStatus.SCHEDULED.value,
    AppointmentStatus.CONFIRMED.value,
    AppointmentStatus.ARRIVED.value,
    AppointmentStatus.COMPLETED.value,
)
_STATUS = {"scheduled": "TENTATIVE", "confirmed": "CONFIRMED"}


def _generation(uow: UnitOfWork, provider_id: str) -> int:
    row = uow.session.execute(
        select(calendar_feeds.c.generation).where(
            calendar_feeds.c.practice_id == uow.practice_id, calendar_feeds.c.provider_id == provider_id
        )
    ).first()
    return int(row.generation) if row is not None else 0


def _subject(provider_id: str, generation: int) -> str:
    return provider_id if generation == 0 else f"{provider_id}.{generation}"


def _parse_subject(subject: str) -> tuple[str, int]:
    provider_id, _, generation = subject.partition(".")
    return provider_id, int(generation) if generation.isdigit() else 0


def _own_feed(principal: Principal, provider_id: str) -> None:
    if principal.role == "therapist" and principal.provider_id != provider_id:
        # another therapist's calendar: as if it did not exist (like their visits)
        raise NotFoundError(
            "no such provider", (Problem("provider-not-found", "provider", f"no provider {provider_id!r}"),)
        )


def _issue_in(uow: UnitOfWork, provider_id: str) -> str:
    token = issue_link_in(uow, FEED, _subject(provider_id, _generation(uow, provider_id)), expires=LIFETIME)
    uow.record("calendar.feed.issue", "provider", provider_id)
    return token


def feed_link(
    engine: Engine, principal: Principal, actor: str, provider_id: str, *, clock: Clock = current_time
) -> str:
    """The token of ``provider_id``'s feed URL (``/calendar/feed/<token>.ics``)."""
    _own_feed(principal, provider_id)
    with UnitOfWork(engine, principal.practice_id, actor, clock=clock) as uow:
        uow.records.get(providers, provider_id)
        return _issue_in(uow, provider_id)


def _revoke_in(uow: UnitOfWork, provider_id: str, *, rotated: bool) -> None:
    uow.records.get(providers, provider_id, for_update=True)
    generation = _generation(uow, provider_id) + 1
    where = (calendar_feeds.c.practice_id == uow.practice_id, calendar_feeds.c.provider_id == provider_id)
    uow.session.execute(calendar_feeds.delete().where(*where))
    uow.session.execute(
        calendar_feeds.insert().values(
            provider_id=provider_id,
            practice_id=uow.practice_id,
            generation=generation,
            revoked=not rotated,
            changed_at=uow.now(),
        )
    )
    uow.record(
        "calendar.feed.revoke", "provider", provider_id, {"generation": generation, "rotated": rotated}
    )


def revoke_feed(
    engine: Engine, principal: Principal, actor: str, provider_id: str, *, clock: Clock = current_time
) -> None:
    """Revoke every feed URL of ``provider_id`` issued so far (they answer 410 Gone)."""
    _own_feed(principal, provider_id)
    with UnitOfWork(engine, principal.practice_id, actor, clock=clock) as uow:
        _revoke_in(uow, provider_id, rotated=False)


def rotate_feed(
    engine: Engine, principal: Principal, actor: str, provider_id: str, *, clock: Clock = current_time
) -> str:
    """Revoke ``provider_id``'s feed URLs and issue the new one (its token), in one transaction."""
    _own_feed(principal, provider_id)
    with UnitOfWork(engine, principal.practice_id, actor, clock=clock) as uow:
        _revoke_in(uow, provider_id, rotated=True)
        return _issue_in(uow, provider_id)


def therapist_feed(engine: Engine, token: str, *, clock: Clock = current_time) -> bytes:
    """The iCalendar file a feed URL answers (``LinkError`` for a bad or expired token)."""
    link = read_link(engine, token, FEED, clock=clock)
    provider_id, generation = _parse_subject(link.subject_id)
    with UnitOfWork(engine, link_practice(token), "system:calendar-feed", read_only=True, clock=clock) as uow:
        if generation != _generation(uow, provider_id):
            message = "this calendar feed was revoked"
            error = LinkError(message, (Problem("calendar-feed-revoked", "token", message),))
            error.code = "calendar-feed-revoked"
            raise error
        now = uow.now().astimezone(UTC).replace(tzinfo=None)
        therapist = uow.records.get(providers, provider_id)
        practice = uow.session.execute(
            select(practices.c.name).where(practices.c.id == uow.practice_id)
        ).scalar_one()
        rows = uow.session.execute(
            select(
                appointments.c.id,
                appointments.c.start,
                appointments.c.end,
                appointments.c.status,
                patients.c.first_name,
                patients.c.last_name,
                services.c.name.label("service"),
                rooms.c.name.label("room"),
            )
            .join(patients, patients.c.id == appointments.c.patient_id)
            .outerjoin(services, services.c.id == appointments.c.service_id)
            .outerjoin(rooms, rooms.c.id == appointments.c.room_id)
            .where(
                appointments.c.practice_id == uow.practice_id,
                appointments.c.provider_id == provider_id,
                appointments.c.status.in_(SHOWN),
                appointments.c.start >= now - PAST,
                appointments.c.start < now + AHEAD,
            )
            .order_by(appointments.c.start)
        ).all()
    cal = Calendar()
    cal.add("prodid", "-//therabill//calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{practice}: {therapist.first_name} {therapist.last_name}")
    stamp = now.replace(tzinfo=UTC)
    for r in rows:
        event = Event()
        event.add("uid", f"{r.id}@therabill")
        event.add("dtstamp", stamp)
        event.add("dtstart", r.start.replace(tzinfo=UTC))
        event.add("dtend", r.end.replace(tzinfo=UTC))
        who = f"{r.first_name} {r.last_name[:1]}." if r.last_name else r.first_name
        event.add("summary", f"{who} · {r.service}" if r.service else who)
        if r.room:
            event.add("location", r.room)
        event.add("status", _STATUS.get(r.status, "CONFIRMED"))
        cal.add_component(event)
    return bytes(cal.to_ical())
