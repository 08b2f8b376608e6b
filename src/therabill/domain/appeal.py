"""The appeal letter of a denied claim, as data: who writes to whom about what (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from therabill.domain.forms import PartyView


@dataclass(frozen=True, slots=True)
class AppealLetterView:
    """Everything an appeal letter prints; the PDF adapter only lays it out.

    Attributes:
        practice: the billing provider (letterhead and signature).
        payer: the payer's name and claims address.
        written_on: the letter's date.
        patient_name: the patient.
        patient_birth_date: the patient's birth date.
        member_id: the member id on the card.
        claim_number: our claim number (CLM01).
        payer_claim_number: the payer's claim number (CLP07), if known.
        date_of_service: the visit date.
        total_charge: the claim's total, formatted.
        services: ``(code, units, charge)`` per line, formatted.
        diagnoses: ``(code, description)`` in claim order.
        reasons: ``(group-CARC, words)`` the payer gave.
        remarks: ``(RARC, words)`` the payer gave.
        argument: the biller's note: why the claim should be paid.
        medical_necessity: the note's medical necessity statement, if any.
        signer: who signs.
    """

    practice: PartyView
    payer: PartyView
    written_on: date
    patient_name: str
    patient_birth_date: date | None
    member_id: str
    claim_number: str
    payer_claim_number: str | None
    date_of_service: date
    total_charge: str
    services: tuple[tuple[str, str, str], ...]
    diagnoses: tuple[tuple[str, str], ...]
    reasons: tuple[tuple[str, str], ...]
    remarks: tuple[tuple[str, str], ...]
    argument: str
    medical_necessity: str | None
    signer: str


def appeal_subject(view: AppealLetterView) -> str:
    """The letter's subject line."""
    number = f", payer claim {view.payer_claim_number}" if view.payer_claim_number else ""
    return (
        f"Request for reconsideration: claim {view.claim_number}{number}, "
        f"date of service {view.date_of_service.strftime('%m/%d/%Y')}"
    )
