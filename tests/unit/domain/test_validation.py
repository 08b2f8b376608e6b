"""Identifier checks: NPI Luhn, EIN, SSN, ZIP, taxonomy, PO box."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.domain.validation import (
    ein_is_valid,
    is_po_box,
    npi_check_digit,
    npi_is_valid,
    ssn_is_valid,
    taxonomy_is_valid,
    zip_is_valid,
    zip_is_zip4,
)


@pytest.mark.parametrize(
    ("npi", "ok"),
    [
        ("1234567893", True),  # the CMS worked example
        ("1245319599", True),
        ("1003000126", True),
        ("1234567890", False),  # the TR3 samples' NPI: wrong check digit
        ("123456789", False),
        ("12345678930", False),
        ("3234567893", False),  # must start with 1 or 2
        ("12345678a3", False),
        ("", False),
        (None, False),
    ],
)
def test_npi(npi: str | None, ok: bool) -> None:
    assert npi_is_valid(npi) is ok


@given(st.text(alphabet="0123456789", min_size=9, max_size=9).filter(lambda s: s[0] in "12"))
def test_npi_check_digit_round_trip(first_nine: str) -> None:
    digit = npi_check_digit(first_nine)
    assert npi_is_valid(first_nine + str(digit))
    assert not npi_is_valid(first_nine + str((digit + 1) % 10))


@pytest.mark.parametrize(
    ("ein", "ok"),
    [("123456789", True), ("12-3456789", True), ("001234567", False), ("12345678", False), (None, False)],
)
def test_ein(ein: str | None, ok: bool) -> None:
    assert ein_is_valid(ein) is ok


@pytest.mark.parametrize(
    ("ssn", "ok"),
    [("123456789", True), ("123-45-6789", True), ("000456789", False), ("666456789", False), ("923456789", False),
     ("123006789", False), ("123450000", False)],
)  # fmt: skip
def test_ssn(ssn: str, ok: bool) -> None:
    assert ssn_is_valid(ssn) is ok


@pytest.mark.parametrize(
    ("zip_code", "zip_ok", "zip4"),
    [("62701", True, False), ("627011234", True, True), ("62701-1234", True, True), ("627010000", True, False),
     ("6270", False, False), ("ABCDE", False, False), (None, False, False)],
)  # fmt: skip
def test_zip(zip_code: str | None, zip_ok: bool, zip4: bool) -> None:
    assert zip_is_valid(zip_code) is zip_ok
    assert zip_is_zip4(zip_code) is zip4


@pytest.mark.parametrize(
    ("code", "ok"), [("225700000X", True), ("225X00000X", True), ("2257000000", False), ("22570000X", False)]
)
def test_taxonomy(code: str, ok: bool) -> None:
    assert taxonomy_is_valid(code) is ok


@pytest.mark.parametrize(
    ("line", "ok"),
    [("PO Box 805107", True), ("P.O. Box 12", True), ("Post Office Box 9", True), ("100 Main St", False),
     ("12 Boxwood Lane", False), ("Lockbox 44", True)],
)  # fmt: skip
def test_po_box(line: str, ok: bool) -> None:
    assert is_po_box(line) is ok
