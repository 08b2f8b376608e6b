"""Element values: amounts, quantities, dates, and the envelope checks every reader shares."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from therabill.adapters.x12.errors import X12Error, location
from therabill.adapters.x12.tokenizer import Segment
from therabill.domain.errors import Problem
from therabill.domain.money import MAX_AMOUNT

__all__ = ["Envelope", "amount", "date8", "el", "quantity"]

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")
_CENT = Decimal("0.01")

MAX_QUANTITY = Decimal(99999)
"""The largest unit or service count read from a file."""


def el(seg: Segment, i: int) -> str:
    """Element ``i`` of ``seg`` (1-based), or ``""`` when the segment is shorter."""
    return seg[i] if i < len(seg) else ""


def _number(seg: Segment, i: int, n: int, what: str) -> Decimal:
    text = el(seg, i)
    if not _NUMBER.fullmatch(text):
        raise X12Error(
            f"{what} {text!r} is not a decimal number" if text else f"{what} is missing",
            code="x12-number-invalid" if text else "x12-element-missing",
            segment_number=n,
            segment_id=seg[0],
            element=i,
        )
    return Decimal(text)


def amount(seg: Segment, i: int, n: int, *, default: Decimal | None = None) -> Decimal:
    """Element ``i`` as a money amount (``Decimal``, cents); ``default`` when empty.

    Raises:
        X12Error: not a plain decimal (exponents, NaN, letters) or finer than a cent.
    """
    text = seg[i] if i < len(seg) else ""
    if default is not None and text == "":
        return default
    if _NUMBER.fullmatch(text):
        value = Decimal(text)
    else:
        value = _number(seg, i, n, "amount")
    if abs(value) > MAX_AMOUNT:
        raise X12Error(
            f"amount {text!r} has more than 12 digits before the decimal point",
            code="x12-amount-too-large",
            segment_number=n,
            segment_id=seg[0],
            element=i,
        )
    if len(text) > 3 and text[-3] == ".":
        return value
    cents = value.quantize(_CENT)
    if cents != value:
        raise X12Error(
            f"amount {el(seg, i)!r} has more than two decimal places",
            code="x12-amount-precision",
            segment_number=n,
            segment_id=seg[0],
            element=i,
        )
    return cents


def quantity(seg: Segment, i: int, n: int, *, default: Decimal | None = None) -> Decimal:
    """Element ``i`` as a quantity (units); ``default`` when empty."""
    if default is not None and el(seg, i) == "":
        return default
    value = _number(seg, i, n, "quantity")
    if abs(value) > MAX_QUANTITY:
        raise X12Error(
            f"quantity {el(seg, i)!r} is larger than {MAX_QUANTITY}",
            code="x12-quantity-too-large",
            segment_number=n,
            segment_id=seg[0],
            element=i,
        )
    return value


def date8(seg: Segment, i: int, n: int) -> date:
    """Element ``i`` as a CCYYMMDD date."""
    text = el(seg, i)
    if len(text) != 8 or not text.isdigit():
        raise X12Error(
            f"date {text!r} is not CCYYMMDD",
            code="x12-date-invalid",
            segment_number=n,
            segment_id=seg[0],
            element=i,
        )
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise X12Error(
            f"date {text!r} does not exist",
            code="x12-date-invalid",
            segment_number=n,
            segment_id=seg[0],
            element=i,
        ) from None


class Envelope:
    """Checks ISA/IEA, GS/GE and ST/SE pairs: control numbers and counts.

    Attributes:
        interchange_control_number: ISA13 of the current interchange.
        group_control_number: GS06 of the current group.
        version: GS08 of the current group.
        sender_id: ISA06 (trimmed).
        receiver_id: ISA08 (trimmed).
        usage_indicator: ISA15 (``T`` test, ``P`` production).
        in_transaction: whether an ST is open.
        transaction_count: transactions seen (in all interchanges).
    """

    def __init__(self) -> None:
        self.interchange_control_number = ""
        self.group_control_number = ""
        self.version = ""
        self.sender_id = ""
        self.receiver_id = ""
        self.usage_indicator = ""
        self.in_transaction = False
        self.transaction_count = 0
        self._in_interchange = False
        self._in_group = False
        self._groups = 0
        self._sets = 0
        self._st_control = ""
        self._st_start = 0

    def isa(self, seg: Segment, n: int) -> None:
        """Open an interchange."""
        if self._in_interchange:
            raise X12Error(
                "ISA before the IEA of the previous interchange",
                code="x12-envelope",
                segment_number=n,
                segment_id="ISA",
            )
        self._in_interchange = True
        self.interchange_control_number = el(seg, 13).strip()
        self.sender_id = el(seg, 6).strip()
        self.receiver_id = el(seg, 8).strip()
        self.usage_indicator = el(seg, 15).strip()
        self._groups = 0

    def gs(self, seg: Segment, n: int) -> None:
        """Open a functional group."""
        if not self._in_interchange or self._in_group:
            raise X12Error(
                "GS outside an interchange or inside another group",
                code="x12-envelope",
                segment_number=n,
                segment_id="GS",
            )
        self._in_group = True
        self._groups += 1
        self._sets = 0
        self.group_control_number = el(seg, 6)
        self.version = el(seg, 8)

    def st(self, seg: Segment, n: int) -> None:
        """Open a transaction set."""
        if not self._in_group or self.in_transaction:
            raise X12Error(
                "ST outside a functional group or inside another transaction",
                code="x12-envelope",
                segment_number=n,
                segment_id="ST",
            )
        self.in_transaction = True
        self.transaction_count += 1
        self._sets += 1
        self._st_control = el(seg, 2)
        self._st_start = n

    def se(self, seg: Segment, n: int) -> list[Problem]:
        """Close a transaction set; problems when SE01 or SE02 disagree."""
        if not self.in_transaction:
            raise X12Error("SE without ST", code="x12-envelope", segment_number=n, segment_id="SE")
        self.in_transaction = False
        problems: list[Problem] = []
        count = n - self._st_start + 1
        if el(seg, 1) != str(count):
            problems.append(
                Problem(
                    "x12-se-count",
                    location(n, "SE", 1),
                    f"SE01 says {el(seg, 1)!r} segments, the transaction has {count}",
                )
            )
        if el(seg, 2) != self._st_control:
            problems.append(
                Problem(
                    "x12-se-control",
                    location(n, "SE", 2),
                    f"SE02 {el(seg, 2)!r} does not match ST02 {self._st_control!r}",
                )
            )
        return problems

    def ge(self, seg: Segment, n: int) -> None:
        """Close a functional group (raises on count or control number mismatch)."""
        if not self._in_group or self.in_transaction:
            raise X12Error(
                "GE without GS, or before SE", code="x12-envelope", segment_number=n, segment_id="GE"
            )
        self._in_group = False
        if el(seg, 1) != str(self._sets):
            raise X12Error(
                f"GE01 says {el(seg, 1)!r} transactions, the group has {self._sets}",
                code="x12-ge-count",
                segment_number=n,
                segment_id="GE",
                element=1,
            )
        if el(seg, 2) != self.group_control_number:
            raise X12Error(
                f"GE02 {el(seg, 2)!r} does not match GS06 {self.group_control_number!r}",
                code="x12-ge-control",
                segment_number=n,
                segment_id="GE",
                element=2,
            )

    def iea(self, seg: Segment, n: int) -> None:
        """Close an interchange (raises on count or control number mismatch)."""
        if not self._in_interchange or self._in_group:
            raise X12Error(
                "IEA without ISA, or before GE", code="x12-envelope", segment_number=n, segment_id="IEA"
            )
        self._in_interchange = False
        if el(seg, 1) != str(self._groups):
            raise X12Error(
                f"IEA01 says {el(seg, 1)!r} groups, the interchange has {self._groups}",
                code="x12-iea-count",
                segment_number=n,
                segment_id="IEA",
                element=1,
            )
        if el(seg, 2).strip() != self.interchange_control_number:
            raise X12Error(
                f"IEA02 {el(seg, 2)!r} does not match ISA13 {self.interchange_control_number!r}",
                code="x12-iea-control",
                segment_number=n,
                segment_id="IEA",
                element=2,
            )

    def end(self, n: int) -> None:
        """The input ended: raise when an envelope is still open."""
        if self.in_transaction or self._in_group or self._in_interchange:
            raise X12Error(
                "the file ends inside an envelope (missing SE, GE or IEA)",
                code="x12-truncated",
                segment_number=n,
            )

    def handle(self, seg: Segment, n: int) -> list[Problem] | None:
        """Dispatch an envelope segment; returns SE problems for SE, else ``None``."""
        sid = seg[0]
        if sid == "ISA":
            self.isa(seg, n)
        elif sid == "GS":
            self.gs(seg, n)
        elif sid == "ST":
            self.st(seg, n)
        elif sid == "SE":
            return self.se(seg, n)
        elif sid == "GE":
            self.ge(seg, n)
        elif sid == "IEA":
            self.iea(seg, n)
        return None
