"""Envelope settings and the segment writer: delimiters, ISA/GS/ST, computed counts.

``EnvelopeSettings`` holds what a practice and its clearinghouse agree on (ids and
qualifiers, delimiters, usage indicator, submitter and receiver). ``SegmentWriter`` builds
segments, trims trailing empty elements, refuses a delimiter inside data, and computes
SE01, GE01 and IEA01; nobody types a count.

The data rule: a value that contains one of the four delimiters is refused with an
``X12Error`` naming the field (nothing is silently replaced). Text is transliterated to
ASCII letters the same way as on the CMS-1500 (``adapters.text.basic_latin``: ``José`` becomes
``Jose``, ``Łukasiewicz`` becomes ``Lukasiewicz``); anything still outside printable ASCII is
refused.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from therabill.adapters.text import basic_latin
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Delimiters
from therabill.domain.encounter import BillingProvider

__all__ = ["EnvelopeSettings", "SegmentWriter", "billing_provider_nm1", "clean", "load_settings"]


_PLACEHOLDER_FIELDS = (
    "sender_id",
    "receiver_id",
    "submitter_id",
    "contact_phone",
    "receiver_etin",
)


@dataclass(frozen=True, slots=True)
class EnvelopeSettings:
    """What the practice and the clearinghouse agreed on for the envelope.

    Attributes:
        sender_id: ISA06 interchange sender id (and GS02 unless ``application_sender``).
        sender_qualifier: ISA05 (``ZZ`` mutually defined, ``30`` tax id, ...).
        receiver_id: ISA08 interchange receiver id (and GS03 unless ``application_receiver``).
        receiver_qualifier: ISA07.
        application_sender: GS02, when it differs from ``sender_id``.
        application_receiver: GS03, when it differs from ``receiver_id``.
        delimiters: the four delimiters to write.
        usage_indicator: ISA15: ``T`` test or ``P`` production.
        acknowledgment_requested: ISA14: ``1`` asks for a TA1.
        submitter_name: 1000A NM103.
        submitter_id: 1000A NM109 (the submitter's id at the receiver).
        contact_name: 1000A PER02.
        contact_phone: 1000A PER04 (digits).
        contact_email: 1000A PER06, optional.
        receiver_name: 1000B NM103.
        receiver_etin: 1000B NM109.
        line_break: write a line break after each segment terminator (readability).
        max_claims_per_transaction: claims per ST/SE (the 837P guide allows 5,000).
    """

    sender_id: str = "THERABILL"
    sender_qualifier: str = "ZZ"
    receiver_id: str = "CLEARINGHOUSE"
    receiver_qualifier: str = "ZZ"
    application_sender: str | None = None
    application_receiver: str | None = None
    delimiters: Delimiters = field(default_factory=Delimiters)
    usage_indicator: str = "T"
    acknowledgment_requested: str = "0"
    submitter_name: str = "THERABILL PRACTICE"
    submitter_id: str = "THERABILL"
    contact_name: str = "BILLING OFFICE"
    contact_phone: str = "0000000000"
    contact_email: str | None = None
    receiver_name: str = "CLEARINGHOUSE"
    receiver_etin: str = "CLEARINGHOUSE"
    line_break: bool = False
    max_claims_per_transaction: int = 5000

    def placeholders(self) -> list[str]:
        """The settings still at their made-up defaults (ids no clearinghouse issued)."""
        base = EnvelopeSettings()
        return [
            name
            for name in _PLACEHOLDER_FIELDS
            if getattr(self, name) == getattr(base, name) and getattr(base, name) is not None
        ]

    def check(self) -> None:
        """Raise ``X12Error`` when a setting cannot be written.

        A production interchange (``usage_indicator`` ``P``) with placeholder ids or contact
        (``THERABILL``, ``CLEARINGHOUSE``, ``0000000000``) is refused
        (``x12-placeholder-in-production``): set them from the clearinghouse's enrollment.
        """
        if self.usage_indicator == "P" and self.placeholders():
            raise X12Error(
                "a production interchange needs the ids the clearinghouse issued; still placeholders: "
                + ", ".join(self.placeholders())
                + " (set them in the [x12] table of clearinghouse.toml)",
                code="x12-placeholder-in-production",
            )
        problems = self.delimiters.problems()
        if not self.delimiters.repetition:
            problems.append("the repetition delimiter is required in 5010")
        if self.usage_indicator not in ("T", "P"):
            problems.append(f"usage_indicator must be T or P, not {self.usage_indicator!r}")
        if self.acknowledgment_requested not in ("0", "1"):
            problems.append("acknowledgment_requested must be 0 or 1")
        for name in ("sender_id", "receiver_id"):
            value = getattr(self, name)
            if not 1 <= len(value) <= 15:
                problems.append(f"{name} must be 1-15 characters")
        for name in ("sender_qualifier", "receiver_qualifier"):
            if len(getattr(self, name)) != 2:
                problems.append(f"{name} must be 2 characters")
        if not 1 <= self.max_claims_per_transaction <= 5000:
            problems.append("max_claims_per_transaction must be 1-5000")
        if problems:
            raise X12Error("; ".join(problems), code="x12-settings-invalid")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                clean(value, f"settings.{f.name}", self.delimiters)


def load_settings(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> EnvelopeSettings:
    """Settings from a TOML file's ``[x12]`` table (or the whole file), then ``overrides``.

    Delimiters are given as ``element``, ``component``, ``repetition``, ``segment`` keys
    of an ``[x12.delimiters]`` table.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise X12Error(f"cannot read settings {path}: {exc}", code="x12-settings-invalid") from exc
        data = dict(raw.get("x12", raw))
    data.update(overrides or {})
    known = {f.name for f in fields(EnvelopeSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise X12Error(f"unknown settings: {', '.join(unknown)}", code="x12-settings-invalid")
    if "delimiters" in data and isinstance(data["delimiters"], Mapping):
        try:
            data["delimiters"] = Delimiters(**data["delimiters"])
        except TypeError as exc:
            raise X12Error(f"delimiters: {exc}", code="x12-settings-invalid") from exc
    try:
        settings = replace(EnvelopeSettings(), **data)
    except TypeError as exc:
        raise X12Error(f"settings: {exc}", code="x12-settings-invalid") from exc
    settings.check()
    return settings


@functools.lru_cache(maxsize=64)
def _refused(delims: str) -> re.Pattern[str]:
    return re.compile("[^\x20-\x7e]|[" + re.escape(delims) + "]")


def clean(value: str, field_name: str, delims: Delimiters) -> str:
    """``value`` ready for an element: transliterated to ASCII letters (``adapters.text``),
    surrounding spaces trimmed.

    Raises:
        X12Error: the value holds a delimiter or a character outside printable ASCII.
    """
    text = basic_latin(value).strip()
    bad = _refused(delims.all).search(text)
    if bad:
        ch = bad.group()
        if ch in delims.all:
            raise X12Error(
                f"{field_name} contains {ch!r}, a delimiter of this interchange; remove it",
                code="x12-delimiter-in-data",
            )
        raise X12Error(
            f"{field_name} contains the character {ch!r}, which X12 cannot carry",
            code="x12-character-invalid",
        )
    return text


class SegmentWriter:
    """Build segments; count them; refuse a delimiter in an element.

    Elements are strings; a composite is a tuple of strings, joined with the component
    separator. Trailing empty elements and components are trimmed.
    """

    def __init__(self, delims: Delimiters, line_break: bool = False, *, check: bool = True) -> None:
        self.d = delims
        self.check = check
        self.term = delims.segment + ("\n" if line_break else "")
        self.out: list[str] = []
        self.count = 0
        self._bad = re.compile("[" + re.escape(delims.all) + "]")

    def seg(self, sid: str, *elements: str | tuple[str, ...]) -> None:
        """Append one segment."""
        els = list(elements)
        while els and (els[-1] == "" or els[-1] == ()):
            els.pop()
        parts: list[str] = [sid]
        comp = self.d.component
        for i, e in enumerate(els, 1):
            if isinstance(e, tuple):
                comps = list(e)
                while comps and comps[-1] == "":
                    comps.pop()
                for c in comps:
                    if self.check and self._bad.search(c):
                        raise X12Error(
                            "a component holds a delimiter",
                            code="x12-delimiter-in-data",
                            segment_id=sid,
                            element=i,
                        )
                parts.append(comp.join(comps))
            else:
                if self.check and self._bad.search(e):
                    raise X12Error(
                        "an element holds a delimiter",
                        code="x12-delimiter-in-data",
                        segment_id=sid,
                        element=i,
                    )
                parts.append(e)
        self.out.append(self.d.element.join(parts) + self.term)
        self.count += 1

    def text(self) -> str:
        """Everything written so far."""
        return "".join(self.out)


def isa_segment(settings: EnvelopeSettings, control_number: int, created: datetime) -> str:
    """The fixed-width ISA segment (fields padded right, ISA13 nine digits)."""
    d = settings.delimiters
    els = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        settings.sender_qualifier,
        settings.sender_id.ljust(15),
        settings.receiver_qualifier,
        settings.receiver_id.ljust(15),
        created.strftime("%y%m%d"),
        created.strftime("%H%M"),
        d.repetition,
        "00501",
        f"{control_number:09d}",
        settings.acknowledgment_requested,
        settings.usage_indicator,
        d.component,
    ]
    return d.element.join(els) + d.segment + ("\n" if settings.line_break else "")


def check_control_number(control_number: int) -> None:
    """Raise unless ``control_number`` fits ISA13 (1 to 999,999,999)."""
    if not 1 <= control_number <= 999_999_999:
        raise X12Error("the control number must be 1 to 999999999", code="x12-control-number-invalid")


def billing_provider_nm1(
    entity: str, bp: BillingProvider, c: Callable[[str | None, str], str]
) -> tuple[str, ...]:
    """The NM1 segment (id and elements) naming the billing provider with its NPI: a person
    (NM102 = 1, last and first name) or an organization (NM102 = 2). ``entity`` is NM101
    (``85`` in an 837P, ``1P`` in a 276); ``c`` cleans a value for an element."""
    if bp.entity_type == "person":
        names = (
            c(bp.last_name, "billing_provider.last_name"),
            c(bp.first_name, "billing_provider.first_name"),
        )
        kind = "1"
    else:
        names = (c(bp.organization_name, "billing_provider.organization_name"), "")
        kind = "2"
    return ("NM1", entity, kind, *names, "", "", "", "XX", c(bp.npi, "billing_provider.npi"))
