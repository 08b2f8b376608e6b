"""The remittance: what a payer paid, adjusted and denied, as the 835 reports it.

These frozen records are what the 835 reader (``therabill.adapters.x12``) produces and
what ledger posting consumes. They carry no X12 syntax: amounts are ``Decimal`` (cents),
codes are strings, and every record keeps the segment number it was read from so that a
worklist can point at the file.

One remittance transaction (one ST/SE, one BPR/TRN) is a ``Remittance``: a header (payer,
payee, payment), its claims (``ClaimPayment``, one per CLP) with their service lines
(``ServicePayment``, one per SVC), and provider-level adjustments (``ProviderAdjustment``,
PLB). The three 835 balancing rules are properties here so that the reader and posting
agree on them:

* service line: ``charge - sum(line adjustments) == paid``;
* claim: ``charge - sum(claim and line adjustments) == paid``;
* transaction: ``sum(claim paid) - sum(PLB amounts) == BPR02``.

Positive adjustments reduce payment, negative ones increase it (reversals carry negated
amounts under the original group codes; ``CR``, dropped in 5010, is tolerated as a group).

``Adjustment``, ``ServicePayment`` and ``ClaimPayment`` are frozen but keep an instance
``__dict__`` (no ``slots``): a remittance holds millions of them, and the 835 reader fills
that dictionary in one step instead of paying a frozen ``__init__``'s call per field. A
field the reader leaves out reads as its declared default.

Matching keys for posting: ``ClaimPayment.claim_id`` (CLP01, our claim id) together with
``ClaimPayment.payer_claim_control_number`` (CLP07); ``ServicePayment.line_id`` (REF*6R,
our line id) with the fallback ``ServicePayment.match_key`` (code + date of service).
``Remittance.idempotency_key`` (payer id + TRN02 + BPR02 + BPR16) identifies the money:
a clearinghouse re-sending the same payment in a new envelope gives the same key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from therabill.domain.errors import Problem
from therabill.domain.money import ZERO

__all__ = [
    "CROSSOVER_REMARKS",
    "CROSSOVER_STATUSES",
    "DENIED_STATUS",
    "REVERSAL_STATUS",
    "Adjustment",
    "ClaimPayment",
    "ProviderAdjustment",
    "Remittance",
    "RemittanceEnd",
    "RemittanceHeader",
    "ServicePayment",
    "claim_balance_problems",
    "line_balance_problems",
    "transaction_balance_problems",
]

REVERSAL_STATUS = "22"
"""CLP02 for a reversal of a previously paid claim."""

DENIED_STATUS = "4"
"""CLP02 for a denied claim."""

CROSSOVER_STATUSES = frozenset({"19", "20", "21", "23"})
"""CLP02 values meaning "processed and forwarded to the next payer" (crossover)."""

CROSSOVER_REMARKS = frozenset({"MA18", "N89"})
"""Remarks saying the claim was forwarded to a supplemental payer (crossover)."""

CLAIM_STATUS_WORDS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}
"""Short words for CLP02 (claim status codes of the 835, X221A1)."""


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    total = ZERO
    for amount in amounts:
        total += amount
    return total


@dataclass(frozen=True)
class Adjustment:
    """One adjustment of a claim or a line (one reason triple of a CAS segment).

    Attributes:
        group: claim adjustment group code: ``CO`` contractual, ``PR`` patient
            responsibility, ``OA`` other, ``PI`` payer initiated (``CR`` tolerated).
        reason: claim adjustment reason code (CARC), e.g. ``45``.
        amount: the amount; positive reduces payment, negative increases it.
        quantity: the adjusted quantity (units), if given.
    """

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class ServicePayment:
    """One service line of a claim payment (SVC and its 2110 loop).

    Attributes:
        code: the procedure code adjudicated (SVC01-2).
        qualifier: the code's qualifier (SVC01-1: ``HC`` CPT/HCPCS).
        modifiers: modifiers of the adjudicated code (SVC01-3..6).
        charge: the line charge (SVC02).
        paid: the amount paid on the line (SVC03).
        units: units paid (SVC05, 1 when omitted).
        original_code: the code as submitted when the payer changed it (SVC06-2).
        original_modifiers: the submitted modifiers when the payer changed the code.
        original_units: units as submitted when they differ (SVC07).
        service_date: date of service (DTM*472 or DTM*150).
        service_date_end: last date of a period (DTM*151), if any.
        line_id: our line item control number (REF*6R), if the payer returned it.
        allowed_amount: the allowed amount (AMT*B6), informational.
        adjustments: the line's adjustments (CAS).
        remarks: remark codes (LQ*HE, RARC).
        segment_number: 1-based position of the SVC segment in the file (ISA = 1).
    """

    code: str
    qualifier: str
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    units: Decimal = Decimal(1)
    original_code: str | None = None
    original_modifiers: tuple[str, ...] = ()
    original_units: Decimal | None = None
    service_date: date | None = None
    service_date_end: date | None = None
    line_id: str | None = None
    allowed_amount: Decimal | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()
    segment_number: int = 0

    @property
    def adjustment_total(self) -> Decimal:
        """The sum of the line's adjustment amounts."""
        return _sum(a.amount for a in self.adjustments)

    @property
    def balanced(self) -> bool:
        """Service line balancing: ``charge - adjustments == paid``."""
        return self.charge - self.adjustment_total == self.paid

    @property
    def patient_responsibility(self) -> Decimal:
        """The sum of the line's PR adjustments."""
        return _sum(a.amount for a in self.adjustments if a.group == "PR")

    @property
    def submitted_code(self) -> str:
        """The code as we submitted it (the original code when the payer changed it)."""
        return self.original_code or self.code

    @property
    def match_key(self) -> tuple[str, date | None]:
        """Fallback matching key when REF*6R is missing: (submitted code, date of service)."""
        return (self.submitted_code, self.service_date)

    @property
    def is_denied(self) -> bool:
        """True when nothing was paid on a line that had a charge."""
        return self.paid == ZERO and self.charge != ZERO


@dataclass(frozen=True)
class ClaimPayment:
    """One claim of a remittance (CLP and its 2100 loop).

    Attributes:
        claim_id: our claim id as submitted (CLP01, CLM01 of the 837P).
        status: claim status code (CLP02): 1/2/3 processed, 4 denied, 19/20/21 forwarded
            (crossover), 22 reversal, 23 not our claim, 25 predetermination.
        charge: total claim charge (CLP03).
        paid: claim payment amount (CLP04).
        patient_responsibility: patient responsibility amount (CLP05), zero when omitted.
        filing_indicator: claim filing indicator (CLP06: MB, MC, CI, 12, ...).
        payer_claim_control_number: the payer's claim number (CLP07); store it for
            replacements, voids and matching later remittances.
        facility_code: place of service / facility type (CLP08).
        frequency: claim frequency code (CLP09).
        patient_last_name: patient's last name (NM1*QC).
        patient_first_name: patient's first name (NM1*QC).
        member_id: patient's member id (NM1*QC or NM1*IL NM109).
        crossover_payer: name of the payer the claim was forwarded to (NM1*TT).
        rendering_npi: the rendering provider's NPI (NM1*82), if given.
        statement_from: claim statement period start (DTM*232).
        statement_to: claim statement period end (DTM*233).
        received_date: date the payer received the claim (DTM*050).
        adjustments: claim-level adjustments (CAS in 2100).
        lines: service lines (2110).
        remarks: claim-level remark codes (MOA/MIA remark elements).
        segment_number: 1-based position of the CLP segment in the file (ISA = 1).
        problems: what does not balance or could not be read in this claim.
    """

    claim_id: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal = ZERO
    filing_indicator: str | None = None
    payer_claim_control_number: str | None = None
    facility_code: str | None = None
    frequency: str | None = None
    patient_last_name: str | None = None
    patient_first_name: str | None = None
    member_id: str | None = None
    crossover_payer: str | None = None
    rendering_npi: str | None = None
    statement_from: date | None = None
    statement_to: date | None = None
    received_date: date | None = None
    adjustments: tuple[Adjustment, ...] = ()
    lines: tuple[ServicePayment, ...] = ()
    remarks: tuple[str, ...] = ()
    segment_number: int = 0
    problems: tuple[Problem, ...] = ()

    @property
    def status_words(self) -> str:
        """CLP02 in words."""
        return CLAIM_STATUS_WORDS.get(self.status, f"status {self.status}")

    @property
    def is_reversal(self) -> bool:
        """True for a reversal of an earlier payment (CLP02 = 22)."""
        return self.status == REVERSAL_STATUS

    @property
    def is_denied(self) -> bool:
        """True for a denied claim (CLP02 = 4)."""
        return self.status == DENIED_STATUS

    @property
    def is_crossover(self) -> bool:
        """True when the claim was forwarded to another payer: do not bill that payer again.

        CLP02 19/20/21/23, or remark MA18/N89 on the claim, or a crossover payer (NM1*TT).
        """
        return (
            self.status in CROSSOVER_STATUSES
            or any(r in CROSSOVER_REMARKS for r in self.remarks)
            or self.crossover_payer is not None
        )

    @property
    def claim_adjustment_total(self) -> Decimal:
        """The sum of claim-level adjustments."""
        return _sum(a.amount for a in self.adjustments)

    @property
    def line_adjustment_total(self) -> Decimal:
        """The sum of all line-level adjustments."""
        return _sum(line.adjustment_total for line in self.lines)

    @property
    def adjustment_total(self) -> Decimal:
        """Claim and line adjustments together."""
        return self.claim_adjustment_total + self.line_adjustment_total

    @property
    def all_adjustments(self) -> tuple[Adjustment, ...]:
        """Claim-level adjustments followed by every line's adjustments."""
        out = list(self.adjustments)
        for line in self.lines:
            out.extend(line.adjustments)
        return tuple(out)

    @property
    def balanced(self) -> bool:
        """Claim balancing (and every line): ``charge - adjustments == paid``."""
        return self.charge - self.adjustment_total == self.paid and all(ln.balanced for ln in self.lines)

    @property
    def patient_responsibility_from_adjustments(self) -> Decimal:
        """The sum of PR adjustments of the claim and its lines (should equal CLP05)."""
        return _sum(a.amount for a in self.all_adjustments if a.group == "PR")


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One provider-level adjustment (one reason pair of a PLB segment).

    Attributes:
        provider_id: the provider identifier (PLB01, usually the NPI or tax id).
        fiscal_period_date: the end of the provider's fiscal period (PLB02).
        reason: adjustment reason code: ``WO`` overpayment recovery, ``L6`` interest,
            ``FB`` forward balance, ``72`` authorized return, ``CS`` adjustment, ...
        reference: the reference identifier (the part after the component separator,
            e.g. the claim number a recoupment belongs to).
        amount: the amount; positive reduces the payment, negative increases it
            (interest ``L6`` is negative).
        segment_number: 1-based position of the PLB segment in the file (ISA = 1).
    """

    provider_id: str
    fiscal_period_date: date | None
    reason: str
    reference: str | None
    amount: Decimal
    segment_number: int = 0


@dataclass(frozen=True, slots=True)
class RemittanceHeader:
    """The payment and parties of one remittance transaction (BPR, TRN, 1000A, 1000B).

    Attributes:
        handling_code: BPR01: ``I`` remittance with payment, ``H`` notification only,
            ``C`` payment accompanies remittance, ``D`` make payment only, ...
        payment_amount: total actual provider payment (BPR02).
        credit_debit: ``C`` credit or ``D`` debit (BPR03).
        payment_method: BPR04: ``ACH``, ``CHK`` check, ``FWT`` wire, ``BOP``, ``NON`` none.
        payment_date: check issue or EFT effective date (BPR16).
        trace_number: check or EFT trace number (TRN02).
        trace_originator: originating company id (TRN03).
        payer_name: payer name (N1*PR N102).
        payer_id: the payer's id: REF*2U, else N1*PR N104, else TRN03.
        payee_name: payee name (N1*PE N102).
        payee_id: payee id (N1*PE N104: NPI or tax id).
        payee_id_qualifier: its qualifier (N1*PE N103: ``XX`` NPI, ``FI`` tax id).
        production_date: production date (DTM*405).
        control_number: the transaction set control number (ST02).
        interchange_control_number: ISA13 of the envelope.
        group_control_number: GS06 of the envelope.
        segment_number: 1-based position of the BPR segment in the file (ISA = 1).
    """

    handling_code: str
    payment_amount: Decimal
    credit_debit: str | None
    payment_method: str | None
    payment_date: date | None
    trace_number: str | None
    trace_originator: str | None = None
    payer_name: str | None = None
    payer_id: str | None = None
    payee_name: str | None = None
    payee_id: str | None = None
    payee_id_qualifier: str | None = None
    production_date: date | None = None
    control_number: str | None = None
    interchange_control_number: str | None = None
    group_control_number: str | None = None
    segment_number: int = 0

    @property
    def is_notice_only(self) -> bool:
        """True when no money moves (BPR01 = H or BPR04 = NON)."""
        return self.handling_code == "H" or self.payment_method == "NON"

    @property
    def idempotency_key(self) -> str:
        """Payer id + TRN02 + BPR02 + BPR16: the same money re-sent gives the same key."""
        paid_on = self.payment_date.isoformat() if self.payment_date else ""
        return "|".join((self.payer_id or "", self.trace_number or "", str(self.payment_amount), paid_on))


@dataclass(frozen=True, slots=True)
class RemittanceEnd:
    """The end of one remittance transaction, as the streaming reader reports it.

    Attributes:
        header: the transaction's header.
        provider_adjustments: PLB adjustments of the transaction.
        claim_count: how many claims the transaction had.
        claims_paid_total: the sum of CLP04 over its claims.
        problems: transaction-level problems (balancing, counts, structure).
    """

    header: RemittanceHeader
    provider_adjustments: tuple[ProviderAdjustment, ...]
    claim_count: int
    claims_paid_total: Decimal
    problems: tuple[Problem, ...] = ()

    @property
    def provider_adjustment_total(self) -> Decimal:
        """The sum of PLB amounts."""
        return _sum(p.amount for p in self.provider_adjustments)

    @property
    def balanced(self) -> bool:
        """Transaction balancing: ``sum(CLP04) - sum(PLB) == BPR02``."""
        return self.claims_paid_total - self.provider_adjustment_total == self.header.payment_amount


@dataclass(frozen=True, slots=True)
class Remittance:
    """One remittance transaction: header, claims, provider adjustments and problems.

    Attributes:
        header: payment, trace, payer and payee.
        claims: the claim payments, in file order.
        provider_adjustments: PLB adjustments.
        problems: transaction-level problems (each claim carries its own too).
    """

    header: RemittanceHeader
    claims: tuple[ClaimPayment, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def payer_name(self) -> str | None:
        """The payer's name."""
        return self.header.payer_name

    @property
    def payer_id(self) -> str | None:
        """The payer's id (REF*2U, N1*PR N104 or TRN03)."""
        return self.header.payer_id

    @property
    def payment_amount(self) -> Decimal:
        """BPR02."""
        return self.header.payment_amount

    @property
    def payment_method(self) -> str | None:
        """BPR04."""
        return self.header.payment_method

    @property
    def payment_date(self) -> date | None:
        """BPR16."""
        return self.header.payment_date

    @property
    def trace_number(self) -> str | None:
        """TRN02."""
        return self.header.trace_number

    @property
    def idempotency_key(self) -> str:
        """Payer id + TRN02 + BPR02 + BPR16 (see ``RemittanceHeader.idempotency_key``)."""
        return self.header.idempotency_key

    @property
    def claims_paid_total(self) -> Decimal:
        """The sum of CLP04."""
        return _sum(c.paid for c in self.claims)

    @property
    def provider_adjustment_total(self) -> Decimal:
        """The sum of PLB amounts."""
        return _sum(p.amount for p in self.provider_adjustments)

    @property
    def transaction_balanced(self) -> bool:
        """Transaction balancing: ``sum(CLP04) - sum(PLB) == BPR02``."""
        return self.claims_paid_total - self.provider_adjustment_total == self.header.payment_amount

    @property
    def balanced(self) -> bool:
        """True when the transaction, every claim and every line balance."""
        return self.transaction_balanced and all(c.balanced for c in self.claims)

    @property
    def all_problems(self) -> tuple[Problem, ...]:
        """Transaction problems followed by every claim's problems."""
        out = list(self.problems)
        for claim in self.claims:
            out.extend(claim.problems)
        return tuple(out)


def line_balance_problems(line: ServicePayment) -> list[Problem]:
    """Problems of the service line balancing rule (empty when it balances)."""
    if line.balanced:
        return []
    return [
        Problem(
            "x12-835-line-unbalanced",
            f"#{line.segment_number} SVC",
            f"line {line.line_id or line.code}: charge {line.charge} - adjustments "
            f"{line.adjustment_total} != paid {line.paid}",
        )
    ]


def claim_balance_problems(claim: ClaimPayment) -> list[Problem]:
    """Problems of the claim balancing rule and of its lines (empty when all balance)."""
    problems: list[Problem] = []
    for line in claim.lines:
        problems.extend(line_balance_problems(line))
    if claim.charge - claim.adjustment_total != claim.paid:
        problems.append(
            Problem(
                "x12-835-claim-unbalanced",
                f"#{claim.segment_number} CLP",
                f"claim {claim.claim_id}: charge {claim.charge} - adjustments "
                f"{claim.adjustment_total} != paid {claim.paid}",
            )
        )
    if claim.lines and not claim.is_reversal:
        line_charges = _sum(ln.charge for ln in claim.lines)
        if line_charges != claim.charge:
            problems.append(
                Problem(
                    "x12-835-claim-lines-charge",
                    f"#{claim.segment_number} CLP03",
                    f"claim {claim.claim_id}: charge {claim.charge} != sum of line charges {line_charges}",
                )
            )
    return problems


def transaction_balance_problems(
    header: RemittanceHeader, claims_paid_total: Decimal, provider_adjustments: Iterable[ProviderAdjustment]
) -> list[Problem]:
    """Problems of the transaction balancing rule (empty when it balances)."""
    plb = _sum(p.amount for p in provider_adjustments)
    if claims_paid_total - plb == header.payment_amount:
        return []
    return [
        Problem(
            "x12-835-transaction-unbalanced",
            f"#{header.segment_number} BPR02",
            f"payment {header.payment_amount} != claims paid {claims_paid_total} - provider "
            f"adjustments {plb}",
        )
    ]
