"""Revoking or rotating one therapist's calendar feed: their earlier URLs are gone (410),
another therapist's keep working, a new URL works; a therapist manages only their own."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, a_practice
from therabill.domain.errors import NotFoundError
from therabill.service_layer import calendar_feed
from therabill.service_layer import practice as practice_svc
from therabill.service_layer.accounts import Principal
from therabill.service_layer.links import LinkError


def _owner(practice_id: str) -> Principal:
    return Principal("u1", "mei", "Mei Chen", practice_id, "owner")


def _gone(engine: Engine, token: str) -> str:
    with pytest.raises(LinkError) as exc:
        calendar_feed.therapist_feed(engine, token)
    return exc.value.problems[0].code


def test_revoke_and_rotate_one_therapists_feed(engine: Engine) -> None:
    p = a_practice(engine)
    other = practice_svc.add_provider(
        engine, p.id, ACTOR, first_name="Ravi", last_name="Patel", npi=None, taxonomy=None, credential="LMT"
    )
    owner = _owner(p.id)
    first = calendar_feed.feed_link(engine, owner, ACTOR, p.provider_id)
    second = calendar_feed.feed_link(engine, owner, ACTOR, p.provider_id)
    theirs = calendar_feed.feed_link(engine, owner, ACTOR, other)
    for token in (first, second, theirs):
        assert calendar_feed.therapist_feed(engine, token).startswith(b"BEGIN:VCALENDAR")

    calendar_feed.revoke_feed(engine, owner, ACTOR, p.provider_id)
    assert _gone(engine, first) == "calendar-feed-revoked"
    assert _gone(engine, second) == "calendar-feed-revoked"
    assert calendar_feed.therapist_feed(engine, theirs).startswith(b"BEGIN:VCALENDAR")  # not theirs
    fresh = calendar_feed.feed_link(engine, owner, ACTOR, p.provider_id)
    assert calendar_feed.therapist_feed(engine, fresh).startswith(b"BEGIN:VCALENDAR")

    rotated = calendar_feed.rotate_feed(engine, owner, ACTOR, p.provider_id)
    assert _gone(engine, fresh) == "calendar-feed-revoked"
    assert calendar_feed.therapist_feed(engine, rotated).startswith(b"BEGIN:VCALENDAR")
    assert calendar_feed.therapist_feed(engine, theirs).startswith(b"BEGIN:VCALENDAR")

    therapist = Principal("u2", "ravi", "Ravi Patel", p.id, "therapist", other)
    with pytest.raises(NotFoundError):  # another therapist's feed: as if it did not exist
        calendar_feed.revoke_feed(engine, therapist, ACTOR, p.provider_id)
    with pytest.raises(NotFoundError):
        calendar_feed.rotate_feed(engine, therapist, ACTOR, p.provider_id)
    own = calendar_feed.rotate_feed(engine, therapist, ACTOR, other)
    assert _gone(engine, theirs) == "calendar-feed-revoked"
    assert calendar_feed.therapist_feed(engine, own).startswith(b"BEGIN:VCALENDAR")
    assert calendar_feed.therapist_feed(engine, rotated).startswith(b"BEGIN:VCALENDAR")
    with pytest.raises(NotFoundError):
        calendar_feed.revoke_feed(engine, owner, ACTOR, "e" * 32)
