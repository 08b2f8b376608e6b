"""Format checks for identifiers: NPI, EIN, SSN, ZIP, taxonomy, PO boxes.

Pure functions; each returns a bool so a rule can turn it into a finding with its own id.
"""

from __future__ import annotations

import re

__all__ = [
    "ein_is_valid",
    "is_po_box",
    "npi_check_digit",
    "npi_is_valid",
    "ssn_is_valid",
    "taxonomy_is_valid",
    "zip_is_valid",
    "zip_is_zip4",
]

_NPI_PREFIX_SUM = 24  # Luhn contribution of the "80840" prefix (CMS NPI check-digit rule).
_TAXONOMY = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")
_PO_BOX = re.compile(r"\b(P\.?\s*O\.?\s*BOX|POST\s+OFFICE\s+BOX|POB\b|LOCK\s*BOX|PO\s*BX)", re.IGNORECASE)


def npi_check_digit(first_nine: str) -> int:
    """The NPI check digit of the first nine digits (Luhn over the 80840 prefix)."""
    total = _NPI_PREFIX_SUM
    for i, ch in enumerate(reversed(first_nine)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def npi_is_valid(npi: str | None) -> bool:
    """True for ten digits starting with 1 or 2 whose last digit is the Luhn check digit."""
    if npi is None or len(npi) != 10 or not npi.isascii() or not npi.isdigit() or npi[0] not in "12":
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])


def ein_is_valid(ein: str | None) -> bool:
    """True for nine digits (hyphen allowed after two) whose prefix is not 00, 07-09, 17-19, ..."""
    if ein is None:
        return False
    digits = ein.replace("-", "")
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return False
    # IRS never issues these campus prefixes (00, 07-09, 17-19, 28, 29, 49, 69, 70, 78, 79, 89, 96, 97).
    return digits[:2] not in {
        "00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89", "96", "97",
    }  # fmt: skip


def ssn_is_valid(ssn: str | None) -> bool:
    """True for nine digits with a possible area/group/serial (not 000, 666, 9xx; not 00; not 0000)."""
    if ssn is None:
        return False
    digits = ssn.replace("-", "")
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def zip_is_valid(zip_code: str | None) -> bool:
    """True for a 5- or 9-digit ZIP code (hyphen already dropped at the boundary, or present)."""
    if zip_code is None:
        return False
    digits = zip_code.replace("-", "")
    return len(digits) in (5, 9) and digits.isascii() and digits.isdigit()


def zip_is_zip4(zip_code: str | None) -> bool:
    """True for a ZIP+4 (nine digits) whose last four are not 0000."""
    if zip_code is None:
        return False
    digits = zip_code.replace("-", "")
    return len(digits) == 9 and digits.isascii() and digits.isdigit() and digits[5:] != "0000"


def taxonomy_is_valid(code: str | None) -> bool:
    """True for the NUCC taxonomy shape: three digits, six digits or letters, then X."""
    return code is not None and bool(_TAXONOMY.match(code))


def is_po_box(line: str | None) -> bool:
    """True when an address line is a post office box (not a street address)."""
    return line is not None and bool(_PO_BOX.search(line))
