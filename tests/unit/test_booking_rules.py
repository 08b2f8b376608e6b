"""The pure rules of online booking: contact details, the booking horizon, the change window,
the typed signature."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.domain.booking import (
    HORIZON_DAYS,
    MIN_NOTICE,
    BookingError,
    bookable,
    change_deadline,
    check_contact,
    check_email,
    client_may_change,
    policies_digest,
    signature_matches,
    when_text,
)

NOW = datetime(2026, 11, 23, 15, 0)


def test_contact_is_cleaned() -> None:
    c = check_contact(
        first_name="  Nora ", last_name="Quinn  Smith", email=" Nora@Example.COM ", phone="+1 (217) 555-0142",
        accepted_policies=True,
    )  # fmt: skip
    assert (c.first_name, c.last_name, c.email, c.phone) == (
        "Nora",
        "Quinn Smith",
        "nora@example.com",
        "+12175550142",
    )
    assert (
        check_contact(
            first_name="A", last_name="B", email="a@b.co", phone="1-217-555-0142", accepted_policies=True
        ).phone
        == "2175550142"
    )


def test_every_problem_is_reported_by_field() -> None:
    with pytest.raises(BookingError) as err:
        check_contact(first_name="<b>", last_name="", email="a@", phone="555", accepted_policies=False)
    assert {(p.code, p.loc) for p in err.value.problems} == {
        ("name-invalid", "first_name"),
        ("name-invalid", "last_name"),
        ("email-invalid", "email"),
        ("phone-invalid", "phone"),
        ("policies-not-accepted", "accept_policies"),
    }


@pytest.mark.parametrize(
    "text",
    ["plain", "a@b", "a b@example.com", "a@example..com", "<a@example.com>", "a@-x.com", "x" * 65 + "@a.com"],
)
def test_bad_emails_are_refused(text: str) -> None:
    with pytest.raises(BookingError):
        check_email(text)


def test_bookable_between_the_notice_and_the_horizon() -> None:
    assert not bookable(NOW + MIN_NOTICE - timedelta(minutes=1), NOW)
    assert bookable(NOW + MIN_NOTICE, NOW)
    assert bookable(NOW + timedelta(days=HORIZON_DAYS), NOW)
    assert not bookable(NOW + timedelta(days=HORIZON_DAYS, minutes=1), NOW)


def test_the_change_window() -> None:
    start = datetime(2026, 11, 25, 15, 0)
    assert change_deadline(start, 24) == datetime(2026, 11, 24, 15, 0)
    assert client_may_change(start, datetime(2026, 11, 24, 14, 59), 24)
    assert not client_may_change(start, datetime(2026, 11, 24, 15, 0), 24)
    assert change_deadline(start, None) == change_deadline(start, 24)  # the default window
    assert client_may_change(start, datetime(2026, 11, 25, 14, 59), 0)


NAMES = st.text(
    alphabet=st.characters(min_codepoint=65, max_codepoint=122, categories=("Lu", "Ll")),
    min_size=1,
    max_size=20,
)


@given(NAMES, NAMES)
def test_a_signature_is_the_name_whatever_the_case_and_spacing(first: str, last: str) -> None:
    assert signature_matches(f"  {first.upper()}   {last.lower()} ", first, last)
    assert not signature_matches(f"{first}{last}x", first, last)


def test_signatures() -> None:
    assert signature_matches("josé  garcía", "Jose", "Garcia")
    assert not signature_matches("Jose", "Jose", "Garcia")
    assert not signature_matches("", "", "")


def test_texts() -> None:
    assert when_text(datetime(2026, 12, 1, 10, 0)) == "Tuesday, December 1 at 10:00 AM"
    assert policies_digest("a") != policies_digest("b") and len(policies_digest("")) == 64
