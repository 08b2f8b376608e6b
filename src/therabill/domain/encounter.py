"""The encounter: one visit of one patient, as the domain sees it.

These frozen records mirror the public encounter document (``spec/encounter.md``) name for
name. The boundary (``therabill.schemas.encounter``) checks types, formats and signs and
builds these records; everything of meaning (unknown codes, too many modifiers, a pointer
past the last diagnosis) is left to the scrubber, so a record may hold such problems.

Optional fields are ``None`` when the document leaves them out; lists are tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address.

    Attributes:
        line1: street line (or PO box).
        line2: second line, if any.
        city: city name.
        state: two-letter state or territory code.
        zip: 5 or 9 digits, no hyphen (a hyphen in the document is dropped at the boundary).
    """

    line1: str
    line2: str | None
    city: str
    state: str
    zip: str


@dataclass(frozen=True, slots=True)
class BillingProvider:
    """The billing provider (2010AA, CMS-1500 box 33).

    Attributes:
        entity_type: ``organization`` or ``person`` (a sole-proprietor therapist).
        organization_name: the organization's legal name (organizations).
        first_name: the person's first name (persons).
        last_name: the person's last name (persons).
        npi: 10-digit NPI.
        tax_id: 9 digits (a hyphen in the document is dropped at the boundary).
        tax_id_type: ``EIN`` or ``SSN``.
        taxonomy: NUCC taxonomy code.
        phone: contact phone, digits.
        address: street address (ZIP+4 expected).
        pay_to_address: where payments go, when it differs (2010AB).
    """

    entity_type: str
    organization_name: str | None
    first_name: str | None
    last_name: str | None
    npi: str | None
    tax_id: str | None
    tax_id_type: str | None
    taxonomy: str | None
    phone: str | None
    address: Address | None
    pay_to_address: Address | None = None

    @property
    def name(self) -> str:
        """The display name: the organization name, or "Last, First" for a person."""
        if self.entity_type == "person":
            return ", ".join(p for p in (self.last_name, self.first_name) if p)
        return self.organization_name or ""


@dataclass(frozen=True, slots=True)
class ServiceFacility:
    """Where the visit took place when it is not the billing address (2310C, box 32).

    Attributes:
        name: facility name.
        address: facility address (ZIP+4 expected).
        npi: facility NPI, if any.
    """

    name: str
    address: Address | None
    npi: str | None = None


@dataclass(frozen=True, slots=True)
class RenderingProvider:
    """The therapist who treated the patient (2310B, box 24J).

    Attributes:
        first_name: first name.
        last_name: last name.
        npi: 10-digit NPI.
        taxonomy: NUCC taxonomy code (225700000X massage therapist, 225100000X PT, ...).
        credential: LMT, PT, OT, DC, ...
        license_number: state license number.
        license_state: state that issued the license.
    """

    first_name: str
    last_name: str
    npi: str | None
    taxonomy: str | None = None
    credential: str | None = None
    license_number: str | None = None
    license_state: str | None = None


@dataclass(frozen=True, slots=True)
class ReferringProvider:
    """A referring, ordering or supervising provider (2310A, box 17).

    Attributes:
        qualifier: ``DN`` referring, ``DK`` ordering, ``DQ`` supervising.
        first_name: first name.
        last_name: last name.
        npi: 10-digit NPI.
    """

    qualifier: str
    first_name: str
    last_name: str
    npi: str | None


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient.

    Attributes:
        patient_id: the practice's id for the patient (opaque to the payer).
        first_name: first name.
        middle_name: middle name or initial.
        last_name: last name.
        suffix: name suffix (Jr, III).
        birth_date: date of birth.
        sex: ``F``, ``M`` or ``U``.
        address: home address.
    """

    patient_id: str
    first_name: str
    middle_name: str | None
    last_name: str
    suffix: str | None
    birth_date: date | None
    sex: str | None
    address: Address | None


@dataclass(frozen=True, slots=True)
class Subscriber:
    """The insured person (or employer) when the patient is not the subscriber.

    Attributes:
        first_name: first name (a person).
        last_name: last name, or the employer's name for workers' comp.
        birth_date: date of birth (a person).
        sex: ``F``, ``M`` or ``U``.
        address: address.
        member_id: the subscriber's member id, when it differs from the patient's.
        entity_type: ``person`` or ``organization`` (an employer).
    """

    first_name: str | None
    last_name: str
    birth_date: date | None
    sex: str | None
    address: Address | None
    member_id: str | None = None
    entity_type: str = "person"


@dataclass(frozen=True, slots=True)
class Authorization:
    """A prior authorization on the coverage.

    Attributes:
        number: the payer's authorization number (REF*G1, box 23).
        start_date: first covered date.
        end_date: last covered date.
        codes: the codes it covers (empty: any code).
        units_pooled: whether the unit limit is shared by the listed codes.
        visits_allowed: visits allowed, if limited.
        visits_used: visits billed before this claim.
        units_allowed: units allowed, if limited.
        units_used: units billed before this claim.
    """

    number: str
    start_date: date | None
    end_date: date | None
    codes: tuple[str, ...] = ()
    units_pooled: bool = True
    visits_allowed: int | None = None
    visits_used: int = 0
    units_allowed: int | None = None
    units_used: int = 0


@dataclass(frozen=True, slots=True)
class TherapyAmounts:
    """Medicare therapy dollars already applied this calendar year.

    Attributes:
        pt_slp: PT and speech-language pathology combined.
        ot: occupational therapy.
        as_of: the date these amounts were current.
    """

    pt_slp: Decimal
    ot: Decimal
    as_of: date | None


@dataclass(frozen=True, slots=True)
class PriorPayment:
    """What an earlier payer paid and adjusted, for a secondary claim (2320/2430).

    Attributes:
        paid_amount: the amount that payer paid on the claim.
        adjudication_date: when it adjudicated the claim.
        adjustments: claim-level adjustments as (group, reason, amount).
        payer_claim_control_number: that payer's claim number.
        remaining_patient_liability: what the patient still owes after that payer (AMT*EAF).
    """

    paid_amount: Decimal
    adjudication_date: date | None
    adjustments: tuple[tuple[str, str, Decimal], ...] = ()
    payer_claim_control_number: str | None = None
    remaining_patient_liability: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LinePriorPayment:
    """How an earlier payer adjudicated one service line, for a secondary claim (2430).

    Attributes:
        paid_amount: the amount that payer paid on the line (SVD02).
        adjudication_date: when it adjudicated the line (DTP*573); ``None`` means the
            date of the claim-level ``PriorPayment`` of that payer.
        adjustments: line-level adjustments as (group, reason, amount) (CAS).
    """

    paid_amount: Decimal
    adjudication_date: date | None = None
    adjustments: tuple[tuple[str, str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class OrderOnFile:
    """A prescription, referral or letter of medical necessity the practice holds.

    Attributes:
        kind: ``prescription``, ``referral`` or ``letter_of_medical_necessity``.
        issued_on: the date it was written.
        expires_on: the last date it is valid, if it says.
        provider_npi: the NPI of the provider who wrote it, if known.
    """

    kind: str
    issued_on: date | None = None
    expires_on: date | None = None
    provider_npi: str | None = None

    def covers(self, day: date) -> bool:
        """True when the order is in force on ``day`` (issued by then, not expired)."""
        return (self.issued_on is None or self.issued_on <= day) and (
            self.expires_on is None or day <= self.expires_on
        )


@dataclass(frozen=True, slots=True)
class Attachment:
    """A paperwork attachment sent for the claim (PWK).

    Attributes:
        report_type: PWK01 code (``OZ`` support data for claim, ``77`` support data for
            verification, ``B4`` referral form, ...).
        transmission: PWK02 code (``BM`` by mail, ``EL`` electronically, ``EM`` e-mail,
            ``FX`` by fax, ``FT`` file transfer, ``AA`` available on request).
        control_number: the attachment control number (PWK06) that ties the paperwork
            to the claim.
    """

    report_type: str
    transmission: str
    control_number: str | None = None


@dataclass(frozen=True, slots=True)
class Coverage:
    """An insurance policy that pays for the visit.

    Attributes:
        sequence: ``primary``, ``secondary`` or ``tertiary`` (SBR01).
        payer_id: the payer's electronic id.
        payer_name: the payer's name.
        payer_address: the payer's claims address.
        payer_profile: name of the payer rule profile.
        claim_filing_indicator: X12 SBR09 value (MB, MC, CI, BL, WC, AM, 16, ...).
        member_id: the id on the patient's card.
        group_number: group or policy number.
        plan_name: plan name.
        relationship_to_subscriber: ``self``, ``spouse``, ``child``, ``employee``, ``other``.
        subscriber: the insured when the patient is not the subscriber.
        eligibility_verified_on: date of the last eligibility check.
        authorization: a prior authorization, if any.
        referral_number: an HMO referral number (REF*9F).
        therapy_amounts_used: Medicare therapy dollars applied this year.
        prior_payment: for another coverage of a secondary claim: what it paid.
        medicare_secondary_payer_type: SBR05 when Medicare is secondary.
    """

    sequence: str
    payer_id: str | None
    payer_name: str | None
    payer_address: Address | None
    payer_profile: str | None
    claim_filing_indicator: str | None
    member_id: str | None
    group_number: str | None
    plan_name: str | None
    relationship_to_subscriber: str
    subscriber: Subscriber | None
    eligibility_verified_on: date | None
    authorization: Authorization | None
    referral_number: str | None
    therapy_amounts_used: TherapyAmounts | None
    prior_payment: PriorPayment | None = None
    medicare_secondary_payer_type: str | None = None


@dataclass(frozen=True, slots=True)
class RelatedCauses:
    """Whether the condition is related to employment or an accident (CLM11, box 10).

    Attributes:
        employment: related to employment.
        auto_accident: related to an auto accident.
        auto_accident_state: state where the auto accident happened.
        other_accident: related to another accident.
        accident_date: the accident date (DTP*439).
        property_casualty_claim_number: the carrier's claim number (REF*Y4, box 11b).
        employer_name: the employer, for an employment-related condition (workers' comp).
    """

    employment: bool = False
    auto_accident: bool = False
    auto_accident_state: str | None = None
    other_accident: bool = False
    accident_date: date | None = None
    property_casualty_claim_number: str | None = None
    employer_name: str | None = None

    @property
    def any(self) -> bool:
        """True when any cause is set."""
        return self.employment or self.auto_accident or self.other_accident


@dataclass(frozen=True, slots=True)
class Consent:
    """The client's signed consents (CLM08/CLM09, boxes 12/13).

    Attributes:
        release_of_information: the client allows release of information for billing.
        benefits_assigned: the client assigns benefits to the provider.
        signature_date: the date signed (paper forms only).
    """

    release_of_information: bool = False
    benefits_assigned: bool = False
    signature_date: date | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """One service line of the visit.

    Attributes:
        code: CPT/HCPCS code.
        minutes: direct one-on-one minutes (timed codes) or minutes spent (untimed).
        modifiers: modifiers in order.
        diagnosis_pointers: 1-based positions into the encounter's diagnoses.
        body_regions: treated regions, from the published vocabulary.
        techniques: techniques used (effleurage, myofascial release, ...).
        unit_charge: the practice's fee for one unit; ``None`` means use the fee schedule.
        units: units the biller wants to bill; ``None`` means compute them.
        prior_payment: on a secondary claim, how the earlier payer adjudicated the line.
    """

    code: str
    minutes: int = 0
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = ()
    body_regions: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    unit_charge: Decimal | None = None
    units: int | None = None
    prior_payment: LinePriorPayment | None = None


@dataclass(frozen=True, slots=True)
class RangeOfMotion:
    """A range-of-motion measure.

    Attributes:
        joint: the joint or spinal region.
        motion: the motion measured (flexion, rotation right, ...).
        degrees: degrees of motion.
    """

    joint: str
    motion: str
    degrees: int


@dataclass(frozen=True, slots=True)
class Strength:
    """A manual muscle test.

    Attributes:
        muscle_group: the muscle group tested.
        grade: the grade, e.g. ``4/5`` or ``3+/5``.
    """

    muscle_group: str
    grade: str


@dataclass(frozen=True, slots=True)
class FunctionalTest:
    """A functional test or outcome measure (Oswestry, NDI, timed up and go, ...).

    Attributes:
        name: the test's name.
        value: its result, as recorded.
        unit: unit of the value, if any.
    """

    name: str
    value: str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Objective:
    """Objective measures of the visit.

    Attributes:
        pain_scale: pain 0-10.
        range_of_motion: range-of-motion measures.
        strength: manual muscle tests.
        functional_tests: functional tests.
    """

    pain_scale: int | None = None
    range_of_motion: tuple[RangeOfMotion, ...] = ()
    strength: tuple[Strength, ...] = ()
    functional_tests: tuple[FunctionalTest, ...] = ()

    @property
    def has_measure(self) -> bool:
        """True when at least one objective measure was recorded."""
        return bool(
            self.pain_scale is not None or self.range_of_motion or self.strength or self.functional_tests
        )


@dataclass(frozen=True, slots=True)
class Goal:
    """A measurable treatment goal.

    Attributes:
        description: what the patient should be able to do.
        baseline: where they started.
        target: the measurable target.
        target_date: when the target should be met.
    """

    description: str
    baseline: str | None = None
    target: str | None = None
    target_date: date | None = None


@dataclass(frozen=True, slots=True)
class Documentation:
    """The SOAP note and the rest of the clinical record of the visit.

    Attributes:
        subjective: the client's report.
        objective: objective measures.
        assessment: the therapist's assessment.
        plan: the plan.
        medical_necessity: why treatment is medically necessary.
        goals: measurable goals.
        pre_session_assessment: what was assessed before treatment.
        post_session_advice: self-care advice given.
        client_feedback: how the client felt afterwards.
        changes_since_last_visit: change in condition since the last visit.
    """

    subjective: str | None = None
    objective: Objective = field(default_factory=Objective)
    assessment: str | None = None
    plan: str | None = None
    medical_necessity: str | None = None
    goals: tuple[Goal, ...] = ()
    pre_session_assessment: str | None = None
    post_session_advice: str | None = None
    client_feedback: str | None = None
    changes_since_last_visit: str | None = None


@dataclass(frozen=True, slots=True)
class PlanOfCare:
    """The plan of care and its certification.

    Attributes:
        certified_from: first date certified.
        certified_through: last date certified.
        treatment_days_since_progress_report: treatment days before this visit since the
            last progress report.
        certification_signed_on: the day the physician/NPP signed (certified) the plan.
        frequency_per_week: the treatment days per week the plan prescribes.
        duration_weeks: the weeks of treatment the plan prescribes.
    """

    certified_from: date | None = None
    certified_through: date | None = None
    treatment_days_since_progress_report: int | None = None
    certification_signed_on: date | None = None
    frequency_per_week: int | None = None
    duration_weeks: int | None = None


@dataclass(frozen=True, slots=True)
class PriorClaimLine:
    """An earlier claim line of this patient that rules need.

    Attributes:
        claim_id: the earlier claim's id.
        date_of_service: its date of service.
        code: its code.
        modifiers: its modifiers.
        units: its units.
        minutes: its minutes.
        rendering_npi: its rendering NPI.
        billing_npi: its billing NPI.
        allowed_amount: the amount the payer allowed, if known.
    """

    claim_id: str
    date_of_service: date
    code: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    minutes: int | None = None
    rendering_npi: str | None = None
    billing_npi: str | None = None
    allowed_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Encounter:
    """One visit of one patient: the input of coding, scrubbing and claim writing.

    Attributes:
        encounter_id: the practice's id for the visit.
        date_of_service: the visit date.
        start_time: session start.
        end_time: session end.
        place_of_service: CMS place-of-service code.
        claim_frequency: ``1`` original, ``7`` replacement, ``8`` void.
        payer_claim_control_number: the payer's claim number (replacement or void).
        billing_provider: the billing provider.
        service_facility: where the visit took place, when not the billing address.
        rendering_provider: the treating therapist.
        referring_provider: referring, ordering or supervising provider.
        patient: the patient.
        coverage: the coverage billed.
        other_coverages: the patient's other policies.
        related_causes: employment/accident relation.
        onset_date: onset of the current condition.
        accept_assignment: the provider accepts assignment (CLM07).
        provider_signature_on_file: CLM06.
        patient_amount_paid: paid by the patient at the visit (AMT*F5).
        consent: the client's consents.
        diagnoses: ICD-10-CM codes, first is primary.
        services: the service lines.
        documentation: the clinical record.
        plan_of_care: the plan of care.
        prior_claims: earlier claim lines of this patient.
        attachments: paperwork sent for the claim (PWK).
        claim_note: a note to the payer (NTE*ADD, at most 80 characters on the 837P).
        orders_on_file: prescriptions, referrals and letters of medical necessity on file.
    """

    encounter_id: str
    date_of_service: date
    services: tuple[Service, ...] = ()
    start_time: time | None = None
    end_time: time | None = None
    place_of_service: str | None = None
    claim_frequency: str = "1"
    payer_claim_control_number: str | None = None
    billing_provider: BillingProvider | None = None
    service_facility: ServiceFacility | None = None
    rendering_provider: RenderingProvider | None = None
    referring_provider: ReferringProvider | None = None
    patient: Patient | None = None
    coverage: Coverage | None = None
    other_coverages: tuple[Coverage, ...] = ()
    related_causes: RelatedCauses = field(default_factory=RelatedCauses)
    onset_date: date | None = None
    accept_assignment: bool | None = None
    provider_signature_on_file: bool | None = None
    patient_amount_paid: Decimal | None = None
    consent: Consent | None = None
    diagnoses: tuple[str, ...] = ()
    documentation: Documentation | None = None
    plan_of_care: PlanOfCare | None = None
    prior_claims: tuple[PriorClaimLine, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    claim_note: str | None = None
    orders_on_file: tuple[OrderOnFile, ...] = ()

    @property
    def session_minutes(self) -> int | None:
        """Minutes between start and end time, or ``None`` when either is missing."""
        if self.start_time is None or self.end_time is None:
            return None
        start = self.start_time.hour * 60 + self.start_time.minute
        end = self.end_time.hour * 60 + self.end_time.minute
        return end - start

    @property
    def payer_profile(self) -> str | None:
        """The name of the payer profile of the billed coverage."""
        return self.coverage.payer_profile if self.coverage else None
