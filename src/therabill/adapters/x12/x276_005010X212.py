# ruff: noqa: N999  (the module is named after the implementation guide it follows)
"""276 (005010X212) claim status request writer, from ``domain.claim.Claim`` records.

``write_276(claims, settings, control_number=..., created=...)`` asks the payer about each
claim: payer (2000A), receiver of the information (2000B, the submitter), service provider
(2000C, the billing provider's NPI), subscriber (2000D) and, when the patient is not the
subscriber, the dependent (2000E), with the claim's trace (TRN02 = our CLM01), the payer's
claim number when known (REF*1K), the total charge (AMT*T3) and the dates of service
(DTP*472). Counts are computed; a value holding a delimiter is refused naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

from therabill.adapters.x12.envelope import (
    EnvelopeSettings,
    SegmentWriter,
    billing_provider_nm1,
    check_control_number,
    clean,
    isa_segment,
)
from therabill.adapters.x12.errors import X12Error
from therabill.domain.claim import Claim
from therabill.domain.errors import Problem

__all__ = ["VERSION", "write_276"]

_Clean = Callable[[str | None, str], str]

VERSION = "005010X212"


def _d8(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _money(value: Decimal) -> str:
    text = f"{value:.2f}"
    return text[:-3] if text.endswith(".00") else text.rstrip("0")


def _problems(claim: Claim) -> list[Problem]:
    e = claim.encounter
    out: list[Problem] = []
    cov = e.coverage
    if cov is None:
        out.append(Problem("x12-276-no-coverage", "coverage", "the claim has no coverage to ask about"))
    else:
        if not cov.payer_id:
            out.append(Problem("x12-276-payer-id-missing", "coverage.payer_id", "the payer id is required"))
        if not cov.member_id:
            out.append(
                Problem("x12-276-member-id-missing", "coverage.member_id", "the member id is required")
            )
    if e.patient is None:
        out.append(Problem("x12-276-patient-missing", "patient", "the claim has no patient"))
    bp = e.billing_provider
    if bp is None or not bp.npi:
        out.append(
            Problem("x12-276-npi-missing", "billing_provider.npi", "the billing provider's NPI is required")
        )
    return out


def write_276(
    claims: Iterable[Claim],
    settings: EnvelopeSettings | None = None,
    *,
    control_number: int,
    created: datetime,
    payer_claim_numbers: Mapping[str, str] | None = None,
) -> str:
    """Write one 276 interchange asking the status of ``claims`` (one ST per claim).

    Args:
        claims: the claims to ask about.
        settings: envelope settings (defaults: ``EnvelopeSettings()``).
        control_number: ISA13 and GS06.
        created: the date and time written into the envelope and BHT.
        payer_claim_numbers: the payer's claim number (from a 277CA or 835) by our claim id.

    Raises:
        X12Error: a claim lacks what the request needs (every problem listed), a value holds
            a delimiter, the settings are unusable, or there is no claim.
    """
    settings = settings or EnvelopeSettings()
    settings.check()
    check_control_number(control_number)
    todo = list(claims)
    if not todo:
        raise X12Error("there is no claim to ask about", code="x12-276-empty")
    problems = [Problem(p.code, f"{c.claim_id}: {p.loc}", p.message) for c in todo for p in _problems(c)]
    if problems:
        raise X12Error(
            f"{len(problems)} problem(s) prevent writing the 276",
            code="x12-276-invalid",
            problems=tuple(problems),
        )
    d = settings.delimiters
    nl = "\n" if settings.line_break else ""
    gs_sender = clean(settings.application_sender or settings.sender_id, "settings.application_sender", d)
    gs_receiver = clean(
        settings.application_receiver or settings.receiver_id, "settings.application_receiver", d
    )
    parts = [isa_segment(settings, control_number, created)]
    parts.append(
        d.element.join(
            (
                "GS",
                "HR",
                gs_sender,
                gs_receiver,
                created.strftime("%Y%m%d"),
                created.strftime("%H%M"),
                str(control_number),
                "X",
                VERSION,
            )
        )
        + d.segment
        + nl
    )
    for k, claim in enumerate(todo, start=1):
        try:
            parts.append(
                _transaction(
                    claim, settings, f"{k:04d}", created, (payer_claim_numbers or {}).get(claim.claim_id)
                )
            )
        except X12Error as exc:
            raise X12Error(f"claim {claim.claim_id}: {exc.detail}", code=exc.code) from None
    parts.append(d.element.join(("GE", str(len(todo)), str(control_number))) + d.segment + nl)
    parts.append(d.element.join(("IEA", "1", f"{control_number:09d}")) + d.segment + nl)
    return "".join(parts)


def _transaction(
    claim: Claim, settings: EnvelopeSettings, st: str, created: datetime, pccn: str | None
) -> str:
    d = settings.delimiters
    w = SegmentWriter(d, settings.line_break, check=True)
    e = claim.encounter
    cov = e.coverage
    bp = e.billing_provider
    assert cov is not None and bp is not None  # checked by _problems

    def c(value: str | None, name: str) -> str:
        return clean(value or "", name, d)

    w.seg("ST", "276", st, VERSION)
    w.seg(
        "BHT",
        "0010",
        "13",
        c(claim.claim_id, "claim_id"),
        created.strftime("%Y%m%d"),
        created.strftime("%H%M"),
    )
    w.seg("HL", "1", "", "20", "1")
    w.seg(
        "NM1",
        "PR",
        "2",
        c(cov.payer_name or "PAYER", "coverage.payer_name"),
        "",
        "",
        "",
        "",
        "PI",
        c(cov.payer_id, "coverage.payer_id"),
    )
    w.seg("HL", "2", "1", "21", "1")
    w.seg(
        "NM1",
        "41",
        "2",
        c(settings.submitter_name, "settings.submitter_name"),
        "",
        "",
        "",
        "",
        "46",
        c(settings.submitter_id, "settings.submitter_id"),
    )
    w.seg("HL", "3", "2", "19", "1")
    w.seg(*billing_provider_nm1("1P", bp, c))
    dependent = cov.relationship_to_subscriber != "self"
    w.seg("HL", "4", "3", "22", "1" if dependent else "0")
    sub = cov.subscriber
    pat = e.patient
    assert pat is not None  # checked by _problems
    if not dependent:
        if pat.birth_date:
            w.seg("DMG", "D8", _d8(pat.birth_date), pat.sex or "U")
        w.seg(
            "NM1",
            "IL",
            "1",
            c(pat.last_name, "patient.last_name"),
            c(pat.first_name, "patient.first_name"),
            c(pat.middle_name, "patient.middle_name"),
            "",
            c(pat.suffix, "patient.suffix"),
            "MI",
            c(cov.member_id, "coverage.member_id"),
        )
        _claim_part(w, claim, c, pccn)
    else:
        last = sub.last_name if sub else pat.last_name
        organization = sub is not None and sub.entity_type == "organization"  # an employer (workers' comp)
        first = sub.first_name if sub and not organization else None
        w.seg(
            "NM1",
            "IL",
            "2" if organization else "1",
            c(last, "coverage.subscriber.last_name"),
            c(first, "coverage.subscriber.first_name"),
            "",
            "",
            "",
            "MI",
            c((sub.member_id if sub else None) or cov.member_id, "coverage.member_id"),
        )
        w.seg("HL", "5", "4", "23")
        if pat.birth_date:
            w.seg("DMG", "D8", _d8(pat.birth_date), pat.sex or "U")
        w.seg(
            "NM1",
            "QC",
            "1",
            c(pat.last_name, "patient.last_name"),
            c(pat.first_name, "patient.first_name"),
            c(pat.middle_name, "patient.middle_name"),
            "",
            c(pat.suffix, "patient.suffix"),
        )
        _claim_part(w, claim, c, pccn)
    w.seg("SE", str(w.count + 1), st)
    return w.text()


def _claim_part(w: SegmentWriter, claim: Claim, c: _Clean, pccn: str | None) -> None:
    w.seg("TRN", "1", c(claim.claim_id, "claim_id"))
    number = pccn or claim.encounter.payer_claim_control_number
    if number:
        w.seg("REF", "1K", c(number, "payer_claim_control_number"))
    w.seg("AMT", "T3", _money(claim.total_charge))
    dates = sorted({line.date_of_service for line in claim.lines} or {claim.encounter.date_of_service})
    w.seg("DTP", "472", "RD8", f"{_d8(dates[0])}-{_d8(dates[-1])}")
