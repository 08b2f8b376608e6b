"""Public shapes of the records API: patients, coverages, authorizations, visits, claims.

Inbound models forbid unknown fields; what a client writes it can read back (every field of
``PatientCreate`` is in ``PatientPublic``, every field of ``CoverageCreate`` in
``CoveragePublic``, the subscriber included).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from therabill.entrypoints.api.schemas import FindingPublic


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(_In):
    """A postal address."""

    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=1, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    zip: str = Field(pattern=r"^\d{5}(\d{4})?$")


class AddressPublic(BaseModel):
    """A postal address."""

    line1: str
    line2: str | None = None
    city: str
    state: str
    zip: str


class PatientSearch(_In):
    """A patient search: part of the name, or the exact chart number."""

    name: str | None = Field(default=None, max_length=100)
    chart_number: str | None = Field(default=None, max_length=30)
    limit: int = Field(default=20, ge=1, le=100)


class PatientCreate(_In):
    """A new patient (a birth date may not be in the future)."""

    chart_number: str = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9.\-]+$")
    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    middle_name: str | None = Field(default=None, max_length=60)
    birth_date: date | None = None
    sex: Literal["F", "M", "U"] | None = None
    phone: str | None = Field(default=None, pattern=r"^\d{10}$")
    email: str | None = Field(default=None, max_length=120)
    address: AddressIn | None = None
    allow_duplicate: bool = Field(
        default=False,
        description="Register even when a patient of the same name and birth date exists (else 409).",
    )


class PatientUpdate(_In):
    """Demographics to change (fields left out stay as they are; ``null`` clears an optional one)."""

    first_name: str | None = Field(default=None, min_length=1, max_length=60)
    last_name: str | None = Field(default=None, min_length=1, max_length=60)
    middle_name: str | None = Field(default=None, max_length=60)
    birth_date: date | None = None
    sex: Literal["F", "M", "U"] | None = None
    phone: str | None = Field(default=None, pattern=r"^\d{10}$")
    email: str | None = Field(default=None, max_length=120)
    address: AddressIn | None = None


class PatientPublic(BaseModel):
    """A patient."""

    id: str
    chart_number: str
    first_name: str
    middle_name: str | None
    last_name: str
    birth_date: date | None
    sex: str | None
    phone: str | None
    email: str | None
    address: AddressPublic | None


class SubscriberIn(_In):
    """The insured person when it is not the patient (a spouse, a parent)."""

    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date | None = None
    sex: Literal["F", "M", "U"] | None = None
    address: AddressIn | None = None


class SubscriberPublic(BaseModel):
    """The insured person."""

    first_name: str | None = None
    last_name: str
    birth_date: date | None = None
    sex: str | None = None
    address: AddressPublic | None = None


Relationship = Literal["self", "spouse", "child", "employee", "other"]
Sequence = Literal["primary", "secondary", "tertiary"]


class CoverageCreate(_In):
    """A new coverage of a patient (the payer is one of the practice's payers; a subscriber is
    required unless the relationship is ``self``)."""

    payer_id: str = Field(
        min_length=1, max_length=80, description="The payer's id or its electronic payer id."
    )
    sequence: Sequence = "primary"
    member_id: str | None = Field(default=None, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    plan_name: str | None = Field(default=None, max_length=80)
    relationship: Relationship = "self"
    subscriber: SubscriberIn | None = None
    active_from: date | None = None
    active_to: date | None = None


class CoverageUpdate(_In):
    """Coverage fields to change (left out: unchanged)."""

    sequence: Sequence | None = None
    member_id: str | None = Field(default=None, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    plan_name: str | None = Field(default=None, max_length=80)
    relationship: Relationship | None = None
    subscriber: SubscriberIn | None = None
    active_from: date | None = None
    active_to: date | None = None


class CoverageEnd(_In):
    """The last day a coverage is active."""

    active_to: date


class CoveragePublic(BaseModel):
    """A coverage."""

    id: str
    patient_id: str
    payer_id: str
    payer_name: str
    sequence: str
    member_id: str | None
    group_number: str | None
    plan_name: str | None
    relationship: str
    subscriber: SubscriberPublic | None
    active_from: date | None
    active_to: date | None
    eligibility_verified_on: date | None


class AuthorizationCreate(_In):
    """A prior authorization of a coverage."""

    number: str = Field(min_length=1, max_length=50)
    start_date: date | None = None
    end_date: date | None = None
    codes: list[str] = Field(default_factory=list, max_length=20)
    units_pooled: bool = True
    visits_allowed: int | None = Field(default=None, ge=0, le=1000)
    units_allowed: int | None = Field(default=None, ge=0, le=10000)


class AuthorizationExtend(_In):
    """More visits or units, or a later end date, granted on an authorization."""

    end_date: date | None = None
    add_visits: int = Field(default=0, ge=0, le=1000)
    add_units: int = Field(default=0, ge=0, le=10000)


class AuthorizationPublic(BaseModel):
    """An authorization with what is used and what remains."""

    id: str
    coverage_id: str
    number: str
    start_date: date | None
    end_date: date | None
    codes: list[str]
    units_pooled: bool
    visits_allowed: int | None
    visits_used: int
    visits_remaining: int | None
    units_allowed: int | None
    units_used: int
    units_remaining: int | None


class PayerPublic(BaseModel):
    """A payer of the practice."""

    id: str
    name: str
    payer_id: str | None
    profile: str | None
    claim_filing_indicator: str | None


class VisitCreate(_In):
    """A documented visit: the visit part of an encounter document (``spec/encounter.md``)."""

    provider_id: str = Field(min_length=1, max_length=32)
    coverage_id: str | None = Field(default=None, max_length=32)
    date_of_service: date
    document: dict[str, Any] = Field(
        description="start_time, end_time, diagnoses, services, documentation... of the encounter document"
    )


class VisitPublic(BaseModel):
    """A visit."""

    id: str
    patient_id: str
    provider_id: str
    coverage_id: str | None
    date_of_service: date
    start_time: str | None
    end_time: str | None
    status: str
    document: dict[str, Any]


class ClaimLinePublic(BaseModel):
    """A claim line."""

    line_number: int
    code: str
    modifiers: list[str]
    units: int
    minutes: int
    charge: str


class ClaimPublic(BaseModel):
    """A claim."""

    id: str
    claim_number: str
    patient_id: str
    visit_id: str
    status: str
    date_of_service: date
    total_charge: str
    has_errors: bool
    batch_id: str | None


class AdjustmentPublic(BaseModel):
    """One adjustment of a remittance: group and reason (CARC) with their words."""

    group: str
    reason: str
    code: str
    amount: str
    group_words: str
    words: str


class RemarkPublic(BaseModel):
    """A remark code (RARC) with its words."""

    code: str
    words: str


class AdjudicatedLinePublic(BaseModel):
    """One service line as the payer adjudicated it."""

    line_number: int | None
    code: str
    modifiers: list[str]
    units: str
    units_paid: str | None
    charge: str
    paid: str
    adjustments: list[AdjustmentPublic]
    remarks: list[RemarkPublic]
    patient_share: str


class RemittanceAdjudicationPublic(BaseModel):
    """One remittance's adjudication of the claim (one CLP of an 835)."""

    trace_number: str | None
    payment_date: str | None
    payer: str | None
    status: str
    status_words: str
    posted: bool
    charge: str
    paid: str
    patient_share: str
    payer_claim_control_number: str | None
    claim_adjustments: list[AdjustmentPublic]
    remarks: list[RemarkPublic]
    lines: list[AdjudicatedLinePublic]


class DenialReasonPublic(BaseModel):
    """Why the payer did not pay, in words, with a likely fix."""

    code: str
    words: str
    fix: str | None


class AdjudicationPublic(BaseModel):
    """How the payers adjudicated the claim (oldest first), what they paid, why they denied."""

    remittances: list[RemittanceAdjudicationPublic]
    paid: str
    denial_reasons: list[DenialReasonPublic]


class ClaimDetail(ClaimPublic):
    """A claim with its lines, findings, status history and adjudication."""

    lines: list[ClaimLinePublic]
    findings: list[FindingPublic]
    history: list[dict[str, Any]]
    adjudication: AdjudicationPublic


class BatchCreate(_In):
    """Which ready claims to batch (all ready claims when omitted)."""

    claim_ids: list[str] | None = Field(default=None, max_length=1000)


class BatchPublic(BaseModel):
    """A batch of claims sent together in one 837P."""

    id: str
    control_number: int
    claim_ids: list[str]
    total_charge: str


class WorkItemPublic(BaseModel):
    """Something posting left for a biller to look at."""

    kind: str
    claim: str | None
    amount: str
    reason: str | None
    message: str
    action: str | None = None


class WorkItemView(BaseModel):
    """A posting-worklist item with what the payer sent (patient, date of service)."""

    id: str
    kind: str
    kind_words: str
    unmatched: bool
    assignable: bool
    claim_number: str | None
    claim_id: str | None
    amount: str
    message: str
    patient: str | None
    service_date: str | None
    trace_number: str | None
    payer: str | None
    created_at: str
    resolution: str | None
    resolution_note: str | None


class CandidateClaim(BaseModel):
    """One of our claims an unmatched claim payment may belong to."""

    claim_id: str
    claim_number: str
    patient: str
    date_of_service: str
    total_charge: str
    status: str


class AssignIn(_In):
    """The claim to assign an unmatched claim payment to (its id or claim number)."""

    claim: str = Field(min_length=1, max_length=40)


class DismissIn(_In):
    """Why the item needs nothing more."""

    reason: str = Field(max_length=200)


class AssignedPublic(BaseModel):
    """What assigning an unmatched claim payment did."""

    claim_id: str
    claim_number: str
    posted: bool
    entries: int
    worklist: list[str]
    next_claims: list[str]


class ReceivedPaymentPublic(BaseModel):
    """A received payment (835 / EFT): its claims' fate and the bank deposit it was matched to."""

    id: str
    payer: str | None
    trace_number: str | None
    method: str | None
    amount: str
    payment_date: str | None
    received_at: str
    claims: int
    posted: int
    denied: int
    unmatched: int
    to_review: int
    reconciled: bool
    deposit_amount: str | None
    deposit_date: str | None
    deposit_note: str | None
    difference: str | None
    mismatch: bool


class DepositIn(_In):
    """The bank deposit a received payment arrived as."""

    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    deposit_date: date
    note: str = Field(default="", max_length=200)


class RemittancePosted(BaseModel):
    """What posting one 835 transaction did (the shape ``era post --json`` prints too)."""

    remittance_id: str
    trace_number: str | None
    payer: str | None
    paid: str
    new: bool
    conflict: bool
    claims_matched: int
    claims_unmatched: int
    claims_already_posted: int
    entries: int
    worklist: list[WorkItemPublic]
    next_claims: list[str] = []


class EligibilityPublic(BaseModel):
    """A stored eligibility check."""

    id: str
    coverage_id: str
    checked_at: str
    service_date: date | None
    active: bool | None
    source: str
    result: dict[str, Any] | None


class StatusLine(BaseModel):
    """Claims of one status."""

    status: str
    claims: int
    total_charge: str


ClaimStatusName = Literal[
    "draft",
    "scrubbed",
    "ready",
    "submitted",
    "batch_accepted",
    "batch_rejected",
    "clearinghouse_accepted",
    "clearinghouse_rejected",
    "payer_accepted",
    "payer_rejected",
    "pending",
    "paid",
    "partly_paid",
    "denied",
    "appealed",
    "replaced",
    "voided",
    "crossed_over",
    "transferred_to_secondary",
]


class ReferralPublic(BaseModel):
    """A referral or prescription on file (its document is at ``document_url``)."""

    id: str
    patient_id: str
    coverage_id: str | None
    kind: str
    number: str | None
    prescriber_name: str | None
    prescriber_npi: str | None
    issued_on: date | None
    expires_on: date | None
    visits_allowed: int | None
    file_name: str | None
    content_type: str | None
    file_bytes: int | None
    document_url: str | None


class HistoryPublic(BaseModel):
    """One change of a patient's records: when, who, what, which fields (never the values)."""

    at: str
    who: str
    action: str
    what: str
    fields: list[str]
