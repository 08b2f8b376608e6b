# ruff: noqa: N999  (the module is named after the implementation guide it follows)
"""271 (005010X279A1) eligibility response reader: one summary per subscriber or dependent.

The summary keeps every EB benefit line and condenses what a therapist needs: active or
not, plan dates, copay, coinsurance, deductible and remainder, visit limits, whether
authorization is required, Medicare therapy amounts applied, and AAA rejections. The
therapy service types asked for are BE (massage), AE (physical medicine), then PT and AD;
when the payer answered only for 30 (health benefit plan coverage) the summary says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import SegmentReader, Source
from therabill.adapters.x12.values import Envelope, amount, date8, el, quantity
from therabill.domain.eligibility import Benefit, EligibilitySummary, Rejection

__all__ = ["AAA_REASONS", "THERAPY_SERVICE_TYPES", "read_271", "summarise"]

THERAPY_SERVICE_TYPES = ("BE", "AE", "PT", "AD")
"""Service types that answer for massage and manual therapy, in order of preference."""

AAA_REASONS = {
    "04": "Authorized quantity exceeded",
    "15": "Required application data missing",
    "41": "Authorization/access restrictions",
    "42": "Unable to respond at current time",
    "43": "Invalid/missing provider identification",
    "44": "Invalid/missing provider name",
    "45": "Invalid/missing provider specialty",
    "47": "Invalid/missing provider state",
    "48": "Invalid/missing referring provider identification number",
    "49": "Provider is not primary care physician",
    "50": "Provider ineligible for inquiries",
    "51": "Provider not on file",
    "52": "Service dates not within provider plan enrollment",
    "53": "Inquired benefit inconsistent with provider type",
    "56": "Inappropriate date",
    "57": "Invalid/missing date(s) of service",
    "58": "Invalid/missing date-of-birth",
    "60": "Date of birth follows date(s) of service",
    "61": "Date of death precedes date(s) of service",
    "62": "Date of service not within allowable inquiry period",
    "63": "Date of service in future",
    "64": "Invalid/missing patient ID",
    "65": "Invalid/missing patient name",
    "66": "Invalid/missing patient gender code",
    "67": "Patient not found",
    "68": "Duplicate patient ID number",
    "71": "Patient birth date does not match that for the patient on the database",
    "72": "Invalid/missing subscriber/insured ID",
    "73": "Invalid/missing subscriber/insured name",
    "74": "Invalid/missing subscriber/insured gender code",
    "75": "Subscriber/insured not found",
    "76": "Duplicate subscriber/insured ID number",
    "78": "Subscriber/insured not in group/plan identified",
    "79": "Invalid participant identification",
    "80": "No response received - transaction terminated",
    "97": "Invalid or missing provider address",
    "T4": "Payer name or identifier missing",
}
"""AAA03 reject reason codes (005010X279A1) in words. Source: the X279A1 code list as
commonly published; review against the guide."""

_LOOPS = {"20": "source", "21": "receiver", "22": "subscriber", "23": "dependent"}


def _flag(value: str) -> bool | None:
    return True if value == "Y" else False if value == "N" else None


class _Person:
    def __init__(self, loop: str) -> None:
        self.loop = loop
        self.member: str | None = None
        self.last: str | None = None
        self.first: str | None = None
        self.trace: str | None = None
        self.dates: dict[str, date] = {}
        self.benefits: list[Benefit] = []
        self.rejections: list[Rejection] = []


def read_271(source: Source) -> Iterator[EligibilitySummary]:
    """Read the 271 answers of ``source``, one summary per subscriber/dependent answered.

    A rejection at the payer or receiver level (no subscriber loop) gives one summary with
    the rejection and nothing else.

    Raises:
        X12Error: input that is not a usable 271.
    """
    reader = SegmentReader(source)
    try:
        yield from _read(reader)
    except X12Error:
        raise
    except Exception as exc:  # a defect here must still not escape as a traceback
        raise X12Error(
            f"unreadable segment ({type(exc).__name__}: {exc})",
            code="x12-internal",
            segment_number=reader.number,
        ) from exc


def _read(reader: SegmentReader) -> Iterator[EligibilitySummary]:  # noqa: C901
    env = Envelope()
    in_271 = False
    seen = False
    payer_name: str | None = None
    payer_id: str | None = None
    upper_rejections: list[Rejection] = []
    person: _Person | None = None
    level = ""
    benefit: dict[str, object] | None = None
    msgs: list[str] = []
    n = 0
    subscriber_member: str | None = None

    def close_benefit() -> None:
        nonlocal benefit, msgs
        if benefit is not None and person is not None:
            person.benefits.append(Benefit(**benefit, messages=tuple(msgs)))  # type: ignore[arg-type]
        benefit, msgs = None, []

    def close_person() -> EligibilitySummary | None:
        nonlocal person
        close_benefit()
        out = None
        if person is not None:
            out = summarise(person, payer_name, payer_id, subscriber_member)
        person = None
        return out

    for seg in reader:
        n = reader.number
        sid = seg[0]
        if sid in ("ISA", "GS", "GE", "IEA"):
            env.handle(seg, n)
            continue
        if sid == "ST":
            env.st(seg, n)
            in_271 = el(seg, 1) == "271"
            seen = seen or in_271
            payer_name = payer_id = None
            upper_rejections = []
            continue
        if sid == "SE":
            env.se(seg, n)
            if in_271:
                done = close_person()
                if done is not None:
                    yield done
                elif upper_rejections:
                    yield _rejected(upper_rejections, payer_name, payer_id)
            in_271 = False
            continue
        if not env.in_transaction:
            raise X12Error(
                f"{sid} outside a transaction set", code="x12-envelope", segment_number=n, segment_id=sid
            )
        if not in_271:
            continue
        if sid == "HL":
            code = el(seg, 3)
            level = _LOOPS.get(code, code)
            if level in ("subscriber", "dependent"):
                done = close_person()
                if done is not None:
                    yield done
                person = _Person(level)
            continue
        if sid == "NM1":
            close_benefit() if person is not None and benefit is not None else None
            q = el(seg, 1)
            if q == "PR" and level == "source":
                payer_name, payer_id = el(seg, 3) or None, el(seg, 9) or None
            elif person is not None and q in ("IL", "03") and benefit is None:
                person.last, person.first = el(seg, 3) or None, el(seg, 4) or None
                if el(seg, 9):
                    person.member = el(seg, 9)
                    if q == "IL":
                        subscriber_member = el(seg, 9)
            continue
        if sid == "AAA":
            reason = el(seg, 3)
            rej = Rejection(
                level or "source", reason, AAA_REASONS.get(reason, f"reason {reason}"), el(seg, 4) or None
            )
            if person is not None:
                person.rejections.append(rej)
            else:
                upper_rejections.append(rej)
            continue
        if person is None:
            continue
        if sid == "TRN" and el(seg, 1) == "2":
            person.trace = el(seg, 2) or None
        elif sid == "DTP" and benefit is None:
            q, fmt, val = el(seg, 1), el(seg, 2), el(seg, 3)
            try:
                if fmt == "RD8" and "-" in val:
                    a, b = val.split("-", 1)
                    person.dates[q + "-begin"] = date8(["DTP", a], 1, n)
                    person.dates[q + "-end"] = date8(["DTP", b], 1, n)
                elif fmt == "D8":
                    person.dates[q] = date8(seg, 3, n)
            except X12Error:
                pass
        elif sid == "EB":
            close_benefit()
            rep = reader.delimiters.repetition or reader.delimiters.component
            types = (
                tuple(t for t in el(seg, 3).replace(reader.delimiters.component, rep).split(rep) if t)
                if el(seg, 3)
                else ()
            )
            benefit = {
                "info_code": el(seg, 1),
                "coverage_level": el(seg, 2) or None,
                "service_types": types,
                "insurance_type": el(seg, 4) or None,
                "plan_description": el(seg, 5) or None,
                "time_period": el(seg, 6) or None,
                "amount": amount(seg, 7, n) if el(seg, 7) else None,
                "percent": quantity(seg, 8, n) if el(seg, 8) else None,
                "quantity_qualifier": el(seg, 9) or None,
                "quantity": quantity(seg, 10, n) if el(seg, 10) else None,
                "authorization_required": _flag(el(seg, 11)),
                "in_network": _flag(el(seg, 12)),
            }
        elif sid == "MSG" and benefit is not None:
            msgs.append(el(seg, 1))
    env.end(n)
    if not seen:
        raise X12Error("the file holds no 271 transaction", code="x12-wrong-transaction", segment_number=n)


def _rejected(
    rejections: list[Rejection], payer_name: str | None, payer_id: str | None
) -> EligibilitySummary:
    return EligibilitySummary(
        payer_name,
        payer_id,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        (),
        (),
        False,
        tuple(rejections),
        (),
    )


def _pick(
    benefits: list[Benefit], code: str, *, period: str | None = None, field: str = "amount"
) -> Decimal | None:
    """The value of the first benefit ``code`` for the best-matching service type."""
    for wanted in (*THERAPY_SERVICE_TYPES, "30", ""):
        for b in benefits:
            if b.info_code != code or (period is not None and b.time_period != period):
                continue
            if (wanted and wanted in b.service_types) or (not wanted and not b.service_types):
                value = getattr(b, field)
                if value is not None:
                    return value  # type: ignore[no-any-return]
    return None


def summarise(
    person: _Person, payer_name: str | None, payer_id: str | None, subscriber_member: str | None
) -> EligibilitySummary:
    """Condense one person's benefit lines (see the module docs)."""
    bs = person.benefits
    active: bool | None = None
    if any(b.info_code == "1" for b in bs):
        active = True
    elif any(b.info_code in ("6", "7", "8") for b in bs):
        active = False
    answered = tuple(dict.fromkeys(t for b in bs for t in b.service_types))
    therapy = [b for b in bs if set(b.service_types) & set(THERAPY_SERVICE_TYPES)]
    auth = next((b.authorization_required for b in therapy if b.authorization_required is not None), None)
    if auth is None:
        auth = next(
            (
                b.authorization_required
                for b in bs
                if b.authorization_required is not None and b.info_code in ("1", "A", "B", "C", "F")
            ),
            None,
        )
    therapy_applied = tuple(
        (t, b.amount)
        for b in bs
        if b.info_code in ("F", "D") and b.amount is not None and b.insurance_type in ("MA", "MB", None)
        for t in b.service_types
        if t in ("PT", "AD", "AE")
        and (b.time_period in ("23", "22", "32") or b.quantity_qualifier is None)
        and "applied" in " ".join(b.messages).lower() + ("applied" if b.info_code == "D" else "")
    )
    d = person.dates
    begin = d.get("346") or d.get("291-begin") or d.get("307-begin") or d.get("356") or d.get("307")
    end = d.get("347") or d.get("291-end") or d.get("307-end") or d.get("357")
    plan_name = next((b.plan_description for b in bs if b.plan_description and b.info_code == "1"), None)
    return EligibilitySummary(
        payer_name=payer_name,
        payer_id=payer_id,
        member_id=person.member or subscriber_member,
        last_name=person.last,
        first_name=person.first,
        trace_number=person.trace,
        active=active,
        plan_name=plan_name,
        plan_begin=begin,
        plan_end=end,
        copay=_pick(bs, "B"),
        coinsurance=_pick(bs, "A", field="percent"),
        deductible=_pick(bs, "C", period="23") or _pick(bs, "C", period="22") or _pick(bs, "C"),
        deductible_remaining=_pick(bs, "C", period="29"),
        visit_limit=_pick(bs, "F", field="quantity"),
        visits_remaining=_pick(bs, "F", period="29", field="quantity"),
        authorization_required=auth,
        therapy_amounts_applied=therapy_applied,
        service_types_answered=answered,
        only_general_answer=set(answered) == {"30"},
        rejections=tuple(person.rejections),
        benefits=tuple(bs),
    )
