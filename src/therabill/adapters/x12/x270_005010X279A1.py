# ruff: noqa: N999  (the module is named after the implementation guide it follows)
"""270 (005010X279A1) eligibility inquiry writer.

``inquiry_from_encounter(encounter, trace_number)`` takes the coverage of an encounter
document (or of a stored patient's visit) and ``write_270(inquiries, settings, ...)``
writes one interchange: ISA/GS (``HS``), one ST per 99 inquiries, and per inquiry the
2000A payer (``NM1*PR``), 2000B provider (``NM1*1P`` with its NPI), 2000C subscriber
(``TRN``, ``NM1*IL`` with the member id, ``DMG``, ``DTP*291``, ``EQ``) and, when the patient
is not the subscriber, 2000D dependent (``NM1*03``). ``EQ01`` repeats the service types
(BE massage, AE physical medicine, 30 plan coverage) with the repetition separator.

Values go through the same delimiter rule as the 837P (``envelope.clean``): a value that
holds a delimiter is refused, naming the field. Counts (HL, SE01, GE01, IEA01) are computed.
pyx12 has no 5010 map for the 270, so the tests check the structure and parse the file
back with x12sdk instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from therabill.adapters.x12.envelope import EnvelopeSettings, check_control_number, clean, isa_segment
from therabill.adapters.x12.errors import X12Error
from therabill.domain.eligibility import (
    THERAPY_INQUIRY_SERVICE_TYPES,
    EligibilityInquiry,
    InquiryPerson,
)
from therabill.domain.encounter import Encounter
from therabill.domain.errors import Problem

__all__ = ["MAX_INQUIRIES_PER_TRANSACTION", "VERSION", "inquiry_from_encounter", "write_270"]

VERSION = "005010X279A1"
MAX_INQUIRIES_PER_TRANSACTION = 99
"""Subscriber inquiries per ST/SE (the guide recommends at most 99 in batch mode)."""

_SEX = {"F": "F", "M": "M"}


def inquiry_from_encounter(
    encounter: Encounter,
    trace_number: str,
    *,
    service_date: date | None = None,
    service_types: Sequence[str] = THERAPY_INQUIRY_SERVICE_TYPES,
) -> EligibilityInquiry:
    """The 270 inquiry for the primary coverage of ``encounter``.

    The provider asking is the billing provider; the date asked about is ``service_date``
    (default: the encounter's date of service). A patient whose relationship to the
    subscriber is ``self`` is the subscriber; otherwise the subscriber is
    ``coverage.subscriber`` and the patient is sent as a dependent.

    Raises:
        X12Error: ``x12-270-missing`` naming every missing field (coverage, payer,
            member id, provider NPI, patient, subscriber).
    """
    problems: list[Problem] = []

    def missing(loc: str, what: str) -> None:
        problems.append(Problem("x12-270-missing", loc, f"{what} is required for a 270"))

    cov, pat, bp = encounter.coverage, encounter.patient, encounter.billing_provider
    if cov is None:
        missing("coverage", "the coverage")
    else:
        if not cov.payer_id:
            missing("coverage.payer_id", "the payer id")
        if not cov.payer_name:
            missing("coverage.payer_name", "the payer name")
        if cov.relationship_to_subscriber != "self" and cov.subscriber is None:
            missing("coverage.subscriber", "the subscriber (the patient is not the subscriber)")
        member = cov.member_id or (cov.subscriber.member_id if cov.subscriber else None)
        if not member:
            missing("coverage.member_id", "the member id")
    if pat is None:
        missing("patient", "the patient")
    if bp is None or not bp.npi:
        missing("billing_provider.npi", "the provider's NPI")
    elif not (bp.organization_name if bp.entity_type != "person" else bp.last_name):
        missing("billing_provider", "the provider's name")
    if not trace_number:
        missing("trace_number", "a trace number")
    if problems:
        raise X12Error(
            f"{len(problems)} field(s) missing for the 270", code="x12-270-missing", problems=tuple(problems)
        )
    assert cov is not None and pat is not None and bp is not None and bp.npi
    if cov.relationship_to_subscriber == "self":
        subscriber = InquiryPerson(
            pat.last_name, pat.first_name, cov.member_id, pat.birth_date, pat.sex, "self"
        )
        dependent = None
    else:
        sub = cov.subscriber
        assert sub is not None
        subscriber = InquiryPerson(
            sub.last_name, sub.first_name, sub.member_id or cov.member_id, sub.birth_date, sub.sex, "self"
        )
        dependent = InquiryPerson(
            pat.last_name, pat.first_name, None, pat.birth_date, pat.sex, cov.relationship_to_subscriber
        )
    person = bp.entity_type == "person"
    return EligibilityInquiry(
        trace_number=trace_number,
        payer_name=cov.payer_name or "",
        payer_id=cov.payer_id or "",
        provider_npi=bp.npi,
        provider_last_name=(bp.last_name if person else bp.organization_name) or "",
        provider_first_name=bp.first_name if person else None,
        provider_is_person=person,
        subscriber=subscriber,
        dependent=dependent,
        service_date=service_date or encounter.date_of_service,
        service_types=tuple(service_types),
    )


class _Writer:
    def __init__(self, settings: EnvelopeSettings) -> None:
        self.d = settings.delimiters
        self.term = self.d.segment + ("\n" if settings.line_break else "")
        self.out: list[str] = []

    def seg(self, *elements: str) -> None:
        sep = self.d.element
        self.out.append(sep.join(elements).rstrip(sep) + self.term)

    def c(self, value: str | None, name: str) -> str:
        return "" if value is None else clean(value, name, self.d)


def _d8(value: date) -> str:
    return value.isoformat().replace("-", "")


def _person(w: _Writer, p: InquiryPerson, qualifier: str, name: str) -> None:
    c = w.c
    if qualifier == "IL":
        w.seg(
            "NM1",
            "IL",
            "1",
            c(p.last_name, f"{name}.last_name"),
            c(p.first_name, f"{name}.first_name"),
            "",
            "",
            "",
            "MI",
            c(p.member_id, f"{name}.member_id"),
        )
    else:
        w.seg("NM1", "03", "1", c(p.last_name, f"{name}.last_name"), c(p.first_name, f"{name}.first_name"))
    if p.birth_date is not None:
        w.seg("DMG", "D8", _d8(p.birth_date), _SEX.get((p.sex or "").upper(), ""))


def _inquiry(w: _Writer, q: EligibilityInquiry, hl: int, k: int) -> int:
    """Write 2000A-2000D of one inquiry from HL number ``hl``; return the next HL number."""
    c = w.c
    name = f"inquiries[{k}]"
    for st in q.service_types:
        if not (1 <= len(st) <= 2 and st.isalnum()):
            raise X12Error(f"{name}.service_types: {st!r} is not a service type code", code="x12-270-invalid")
    w.seg("HL", str(hl), "", "20", "1")
    w.seg(
        "NM1",
        "PR",
        "2",
        c(q.payer_name, f"{name}.payer_name"),
        "",
        "",
        "",
        "",
        "PI",
        c(q.payer_id, f"{name}.payer_id"),
    )
    w.seg("HL", str(hl + 1), str(hl), "21", "1")
    w.seg(
        "NM1",
        "1P",
        "1" if q.provider_is_person else "2",
        c(q.provider_last_name, f"{name}.provider_last_name"),
        c(q.provider_first_name, f"{name}.provider_first_name") if q.provider_is_person else "",
        "",
        "",
        "",
        "XX",
        c(q.provider_npi, f"{name}.provider_npi"),
    )
    has_dependent = q.dependent is not None
    w.seg("HL", str(hl + 2), str(hl + 1), "22", "1" if has_dependent else "0")
    eq = ("EQ", w.d.repetition.join(q.service_types))
    dtp = ("DTP", "291", "D8", _d8(q.service_date))
    trn = ("TRN", "1", c(q.trace_number, f"{name}.trace_number"), "9" + _originator(q))
    if not has_dependent:
        w.seg(*trn)
    _person(w, q.subscriber, "IL", f"{name}.subscriber")
    if not has_dependent:
        w.seg(*dtp)
        w.seg(*eq)
        return hl + 3
    assert q.dependent is not None
    w.seg("HL", str(hl + 3), str(hl + 2), "23", "0")
    w.seg(*trn)
    _person(w, q.dependent, "03", f"{name}.dependent")
    w.seg(*dtp)
    w.seg(*eq)
    return hl + 4


def _originator(q: EligibilityInquiry) -> str:
    """TRN03: ``9`` + a 9-character originating company id (here the NPI's first nine digits)."""
    return q.provider_npi[:9]


def write_270(
    inquiries: Iterable[EligibilityInquiry],
    settings: EnvelopeSettings | None = None,
    *,
    control_number: int,
    created: datetime,
) -> str:
    """Write ``inquiries`` as one 270 interchange.

    Args:
        inquiries: the inquiries (``inquiry_from_encounter`` builds one from a visit).
        settings: envelope settings (sender, receiver, delimiters, usage indicator).
        control_number: ISA13 and GS06 (1-999,999,999); ST02 counts 0001, 0002, ...
        created: the date and time written into ISA09/10, GS04/05 and BHT04/05.

    Raises:
        X12Error: no inquiry, a value holding a delimiter (the field is named), a bad
            service type code, or unusable settings.
    """
    settings = settings or EnvelopeSettings()
    settings.check()
    check_control_number(control_number)
    items = list(inquiries)
    if not items:
        raise X12Error("there is no inquiry to write", code="x12-270-empty")
    d = settings.delimiters
    nl = "\n" if settings.line_break else ""
    sender = clean(settings.application_sender or settings.sender_id, "settings.application_sender", d)
    receiver = clean(
        settings.application_receiver or settings.receiver_id, "settings.application_receiver", d
    )
    parts = [isa_segment(settings, control_number, created)]
    day, hhmm = created.strftime("%Y%m%d"), created.strftime("%H%M")
    parts.append(
        d.element.join(("GS", "HS", sender, receiver, day, hhmm, str(control_number), "X", VERSION))
        + d.segment
        + nl
    )
    sets = 0
    for start in range(0, len(items), MAX_INQUIRIES_PER_TRANSACTION):
        sets += 1
        st_control = f"{sets:04d}"
        w = _Writer(settings)
        w.seg("ST", "270", st_control, VERSION)
        w.seg("BHT", "0022", "13", f"{control_number}{st_control}", day, hhmm)
        hl = 1
        for k, q in enumerate(items[start : start + MAX_INQUIRIES_PER_TRANSACTION], start):
            hl = _inquiry(w, q, hl, k)
        w.seg("SE", str(len(w.out) + 1), st_control)
        parts.extend(w.out)
    parts.append(d.element.join(("GE", str(sets), str(control_number))) + d.segment + nl)
    parts.append(d.element.join(("IEA", "1", f"{control_number:09d}")) + d.segment + nl)
    return "".join(parts)
