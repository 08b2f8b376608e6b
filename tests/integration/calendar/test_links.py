"""Links that need no log-in: signed, expiring, single-use; tampered, expired and reused refused."""

from __future__ import annotations

import base64
import threading
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, a_practice
from therabill.clock import Clock, using
from therabill.service_layer import links
from therabill.service_layer.links import LinkError

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _code(exc: pytest.ExceptionInfo[LinkError]) -> str:
    return exc.value.problems[0].code


def _at(moment: datetime) -> AbstractContextManager[Clock]:
    return using(lambda: moment)


def test_a_link_redeems_once_then_is_refused_as_used(engine: Engine) -> None:
    p = a_practice(engine)
    with _at(NOW):
        token = links.issue_link(
            engine, p.id, "appointment-confirm", p.patient_id, expires=timedelta(hours=2)
        )
        assert len(token) < 100 and p.patient_id not in token
        seen = links.read_link(engine, token, "appointment-confirm")
        assert (seen.practice_id, seen.subject_id, seen.purpose) == (
            p.id,
            p.patient_id,
            "appointment-confirm",
        )
        assert links.read_link(engine, token, "appointment-confirm") == seen  # reading uses nothing
        used = links.redeem_link(engine, token, "appointment-confirm")
        assert used.nonce == seen.nonce
        with pytest.raises(LinkError) as again:
            links.redeem_link(engine, token, "appointment-confirm")
        assert _code(again) == "link-used"
        with pytest.raises(LinkError) as reading:
            links.read_link(engine, token, "appointment-confirm")
        assert _code(reading) == "link-used"


def test_an_expired_link_is_refused(engine: Engine) -> None:
    p = a_practice(engine)
    with _at(NOW):
        token = links.issue_link(engine, p.id, "appointment-cancel", "a" * 32, expires=timedelta(hours=1))
    with _at(NOW + timedelta(minutes=59)):
        assert links.read_link(engine, token, "appointment-cancel").subject_id == "a" * 32
    with _at(NOW + timedelta(hours=1)), pytest.raises(LinkError) as exc:
        links.redeem_link(engine, token, "appointment-cancel")
    assert _code(exc) == "link-expired"


def _flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_a_tampered_or_misused_link_is_refused(engine: Engine) -> None:
    p = a_practice(engine)
    other = a_practice(engine)
    with _at(NOW):
        token = links.issue_link(engine, p.id, "appointment-confirm", "b" * 32, expires=timedelta(hours=2))
        links.issue_link(engine, other.id, "appointment-confirm", "b" * 32, expires=timedelta(hours=2))
        raw_len = len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        # every byte matters: practice, expiry, nonce, subject and the signature itself
        for index in range(2, raw_len):
            with pytest.raises(LinkError) as exc:
                links.read_link(engine, _flip(token, index), "appointment-confirm")
            assert _code(exc) == "link-invalid", index
        # a confirm link is not a cancel link
        with pytest.raises(LinkError) as purpose:
            links.redeem_link(engine, token, "appointment-cancel")
        assert _code(purpose) == "link-invalid"
        # garbage
        for junk in ("", "x", "!!!!", "A" * 500, token[:-3]):
            with pytest.raises(LinkError) as bad:
                links.read_link(engine, junk, "appointment-confirm")
            assert _code(bad) == "link-invalid"
        # a new key voids every link signed before it
        links.replace_link_key(engine, p.id, ACTOR)
        with pytest.raises(LinkError) as replaced:
            links.read_link(engine, token, "appointment-confirm")
        assert _code(replaced) == "link-invalid"


def test_text_subjects_and_bounds(engine: Engine) -> None:
    p = a_practice(engine)
    with _at(NOW):
        token = links.issue_link(
            engine, p.id, "booking-email", "Ann@Example.org", expires=timedelta(minutes=30)
        )
        assert links.redeem_link(engine, token, "booking-email").subject_id == "Ann@Example.org"
        with pytest.raises(ValueError):
            links.issue_link(engine, p.id, "appointment-confirm", "x", expires=NOW - timedelta(seconds=1))
        with pytest.raises(ValueError):
            links.issue_link(engine, p.id, "no spaces", "x", expires=timedelta(hours=1))


def test_two_redemptions_at_once_one_wins(engine: Engine) -> None:
    p = a_practice(engine)
    with _at(NOW):
        token = links.issue_link(engine, p.id, "appointment-confirm", "c" * 32, expires=timedelta(hours=2))
    results: list[str] = []
    barrier = threading.Barrier(4)

    def redeem() -> None:
        barrier.wait()
        with _at(NOW):
            try:
                links.redeem_link(engine, token, "appointment-confirm")
                results.append("ok")
            except LinkError as exc:
                results.append(exc.problems[0].code)

    threads = [threading.Thread(target=redeem) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["link-used", "link-used", "link-used", "ok"]
