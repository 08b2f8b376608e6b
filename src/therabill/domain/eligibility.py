"""Eligibility: what a 270 asks and what a 271 says about a patient's coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

__all__ = [
    "THERAPY_INQUIRY_SERVICE_TYPES",
    "Benefit",
    "EligibilityInquiry",
    "EligibilitySummary",
    "InquiryPerson",
    "Rejection",
]


@dataclass(frozen=True, slots=True)
class Benefit:
    """One benefit line of a 271 (EB segment and its dates and messages).

    Attributes:
        info_code: EB01 (1 active, 6 inactive, A coinsurance, B copay, C deductible,
            F limitations, G out of pocket, I non-covered, ...).
        coverage_level: EB02 (IND, FAM, ...).
        service_types: EB03 service type codes (BE massage, AE physical medicine, 30 plan).
        insurance_type: EB04.
        plan_description: EB05.
        time_period: EB06 (23 calendar year, 29 remaining, 27 visit, ...).
        amount: EB07 monetary amount.
        percent: EB08 percent (``0.2`` = 20 %).
        quantity_qualifier: EB09 (VS visits, ...).
        quantity: EB10.
        authorization_required: EB11: True (Y), False (N) or None (U / absent).
        in_network: EB12: True (Y), False (N) or None (W / absent).
        messages: MSG texts of the benefit.
    """

    info_code: str
    coverage_level: str | None
    service_types: tuple[str, ...]
    insurance_type: str | None
    plan_description: str | None
    time_period: str | None
    amount: Decimal | None
    percent: Decimal | None
    quantity_qualifier: str | None
    quantity: Decimal | None
    authorization_required: bool | None
    in_network: bool | None
    messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejection:
    """An AAA rejection of the request.

    Attributes:
        loop: where it came (``source``, ``receiver``, ``subscriber``, ``dependent``).
        reason: AAA03 reject reason code.
        words: the reason in words.
        follow_up: AAA04 follow-up action code.
    """

    loop: str
    reason: str
    words: str
    follow_up: str | None


@dataclass(frozen=True, slots=True)
class EligibilitySummary:
    """What a therapist needs from one 271 answer about one patient.

    Attributes:
        payer_name: the information source (payer).
        payer_id: its id.
        member_id: the subscriber's member id.
        last_name: the patient's last name.
        first_name: the patient's first name.
        trace_number: our trace (TRN02 echoed), to match the request.
        active: True (EB01 = 1), False (6..8), None when the answer says neither.
        plan_name: plan description.
        plan_begin: plan or eligibility begin date.
        plan_end: plan or eligibility end date.
        copay: copay for the therapy service types (or the plan's).
        coinsurance: coinsurance as a fraction (``0.2``).
        deductible: deductible amount for the period.
        deductible_remaining: deductible remaining (time period 29).
        visit_limit: visits allowed per period, if limited.
        visits_remaining: visits remaining, if given.
        authorization_required: whether the payer requires authorization.
        therapy_amounts_applied: Medicare therapy amounts already applied (PT/SLP, OT).
        service_types_answered: service types the payer answered for.
        only_general_answer: True when the payer answered only for 30 (plan coverage),
            not for BE/AE: the therapy benefit is unknown.
        rejections: AAA rejections.
        benefits: every benefit line.
    """

    payer_name: str | None
    payer_id: str | None
    member_id: str | None
    last_name: str | None
    first_name: str | None
    trace_number: str | None
    active: bool | None
    plan_name: str | None
    plan_begin: date | None
    plan_end: date | None
    copay: Decimal | None
    coinsurance: Decimal | None
    deductible: Decimal | None
    deductible_remaining: Decimal | None
    visit_limit: Decimal | None
    visits_remaining: Decimal | None
    authorization_required: bool | None
    therapy_amounts_applied: tuple[tuple[str, Decimal], ...]
    service_types_answered: tuple[str, ...]
    only_general_answer: bool
    rejections: tuple[Rejection, ...]
    benefits: tuple[Benefit, ...]


THERAPY_INQUIRY_SERVICE_TYPES = ("BE", "AE", "30")
"""Service types a 270 asks about by default: BE massage, AE physical medicine, 30 plan."""


@dataclass(frozen=True, slots=True)
class InquiryPerson:
    """A person named in a 270 (the subscriber, or the patient when a dependent).

    Attributes:
        last_name: last name (or the organization's name for an employer subscriber).
        first_name: first name.
        member_id: the member id on the card (subscriber only).
        birth_date: date of birth.
        sex: ``F``, ``M`` or ``U``.
        relationship: for a dependent, the relationship to the subscriber (``spouse``,
            ``child``, ``other``); ``self`` for the subscriber.
    """

    last_name: str
    first_name: str | None
    member_id: str | None
    birth_date: date | None
    sex: str | None
    relationship: str = "self"


@dataclass(frozen=True, slots=True)
class EligibilityInquiry:
    """What one 270 inquiry asks: who, at which payer, from which provider, for what.

    Attributes:
        trace_number: our trace (TRN02), echoed in the 271 to match the answer.
        payer_name: the information source (payer) name.
        payer_id: the payer id (NM109, qualifier PI).
        provider_npi: the information receiver's NPI.
        provider_last_name: the provider's last name or organization name.
        provider_first_name: the provider's first name (person only).
        provider_is_person: True for a person (NM102 = 1), False for an organization.
        subscriber: the subscriber (holder of the member id).
        dependent: the patient, when the patient is not the subscriber.
        service_date: the date asked about (DTP*291).
        service_types: EQ01 service type codes (BE, AE, 30 by default).
    """

    trace_number: str
    payer_name: str
    payer_id: str
    provider_npi: str
    provider_last_name: str
    provider_first_name: str | None
    provider_is_person: bool
    subscriber: InquiryPerson
    dependent: InquiryPerson | None
    service_date: date
    service_types: tuple[str, ...] = THERAPY_INQUIRY_SERVICE_TYPES
