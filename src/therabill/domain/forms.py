"""Printed documents as data: the CMS-1500 field values and the view models of the PDFs.

``cms1500_forms`` maps a ``Claim`` to the values of the NUCC 1500 (02/12) claim form, one
mapping of box id → text per form, following the NUCC print conventions:

* upper case; no punctuation in addresses; names ``LAST, FIRST, M`` (boxes 2, 4, 9);
* dates in the format each box asks for: 8 digits (``MM DD YYYY``) for birth dates
  (3, 11a), 6 digits (``MM DD YY``) elsewhere, each part in its own sub-cell;
* amounts without ``$``, commas or a decimal point, split into dollars and cents;
* 24E diagnosis pointers as letters A-L (the 837P carries the same pointers as numbers);
* box 21 ICD indicator ``0`` (ICD-10-CM); codes keep their decimal point as written;
* a claim with more than six lines becomes several forms (``split``: separate claims of up
  to six lines, each with its own total, box 26 ``<claim id>.<n>`` cut to the 20 characters
  of CLM01 by ``split_claim_id``; ``continuation``: one
  claim over several pages, total and amount paid on the last page, ``PAGE n OF m`` in 19).

Box 25 carries the full tax id: the form *is* the claim and the payer needs it. Every other
view of the values (the JSON dump, golden files, logs, a preview) uses ``Cms1500Form.redacted``,
which masks an SSN to its last four digits.

The view models of the other documents (superbill, statement, receipt, SOAP note, progress
report) are frozen dataclasses the service layer fills from stored records and the ledger;
the PDF adapters only lay them out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from therabill.domain.claim import CLAIM_ID_MAX, Claim, ClaimLine
from therabill.domain.encounter import Address, Coverage, Encounter, Patient, Subscriber
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.money import ZERO

__all__ = [
    "LINES_PER_FORM",
    "OVERFLOW_MODES",
    "Cms1500Form",
    "FormError",
    "GoalProgress",
    "NoteView",
    "PartyView",
    "ProgressReportView",
    "ProgressVisit",
    "ReceiptView",
    "ServiceRow",
    "StatementLine",
    "StatementView",
    "SuperbillView",
    "cms1500_forms",
    "form_date",
    "insurance_type_box",
    "mask_tax_id",
    "money_parts",
    "note_view",
    "objective_lines",
    "pointer_letters",
    "practice_party",
    "printable_tax_id",
    "progress_view",
    "split_claim_id",
    "superbill_view",
]

LINES_PER_FORM = 6
OVERFLOW_MODES = ("split", "continuation")
SIGNATURE_ON_FILE = "SIGNATURE ON FILE"
ICD10_INDICATOR = "0"
SPLIT_ID_HASH_CHARS = 6
_LETTERS = "ABCDEFGHIJKL"

# Box 1 check box by claim filing indicator (SBR09). Codes not listed print as "other"
# (auto, liability, workers' comp and other non-group coverage).
_INSURANCE_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "MB": "medicare",
        "MA": "medicare",
        "MC": "medicaid",
        "CH": "tricare",
        "VA": "champva",
        "CI": "group",
        "BL": "group",
        "HM": "group",
        "12": "group",
        "13": "group",
        "14": "group",
        "15": "group",
        "16": "group",
        "17": "group",
        "FI": "feca",
    }
)
_RELATIONSHIP = MappingProxyType({"self": "self", "spouse": "spouse", "child": "child"})
_REFERRING_QUALIFIERS = frozenset({"DN", "DK", "DQ"})
_NOT_ALLOWED = re.compile(r"[^A-Z0-9 \-]")


class FormError(TherabillError):
    """The claim cannot be put on the form (e.g. more diagnoses than the form holds)."""

    code = "form-invalid"


@dataclass(frozen=True, slots=True)
class Cms1500Form:
    """One filled CMS-1500 form.

    Attributes:
        claim_id: the claim id printed in box 26 (``<id>.<n>`` for the n-th split claim).
        page: 1-based number of this form in its set.
        pages: how many forms the claim needed.
        line_numbers: the claim's line numbers printed on this form, in order.
        fields: box id → text, only boxes with a value (checked boxes hold ``X``).
    """

    claim_id: str
    page: int
    pages: int
    line_numbers: tuple[int, ...]
    fields: Mapping[str, str]

    def redacted(self) -> dict[str, str]:
        """The field values with an SSN in box 25 masked (for dumps, logs and previews)."""
        out = dict(self.fields)
        if "25.ssn" in out and "25.tin" in out:
            out["25.tin"] = mask_tax_id(out["25.tin"])
        return dict(sorted(out.items()))


# ---------------------------------------------------------------------------- formatting


def clean(text: str | None) -> str:
    """Upper case, collapse spaces and drop punctuation other than hyphens (NUCC)."""
    if not text:
        return ""
    up = text.upper().replace("#", " ").replace(".", " ").replace(",", " ").replace("'", "")
    return " ".join(_NOT_ALLOWED.sub("", up).split())


def person_name(
    last: str | None, first: str | None, middle: str | None = None, suffix: str | None = None
) -> str:
    """``LAST SUFFIX, FIRST, M`` as NUCC asks for boxes 2, 4 and 9."""
    surname = " ".join(p for p in (clean(last), clean(suffix)) if p)
    parts = [surname, clean(first)]
    if middle:
        parts.append(clean(middle)[:1])
    return ", ".join(p for p in parts if p)


def form_date(value: date, digits: int = 6) -> tuple[str, str, str]:
    """A date as its (MM, DD, YY) or (MM, DD, YYYY) parts."""
    year = f"{value.year:04d}" if digits == 8 else f"{value.year % 100:02d}"
    return f"{value.month:02d}", f"{value.day:02d}", year


def money_parts(amount: Decimal) -> tuple[str, str]:
    """Split an amount into (dollars, cents) digits, no ``$`` or punctuation.

    Raises:
        ValueError: for a negative amount (the form takes none).
    """
    if amount < 0:
        raise ValueError("the CMS-1500 takes no negative amounts")
    cents = int((amount * 100).to_integral_value())
    return str(cents // 100), f"{cents % 100:02d}"


def pointer_letters(pointers: Sequence[int]) -> str:
    """837P diagnosis pointers (1-12) as 24E letters, e.g. ``(1, 3)`` → ``"AC"``.

    Raises:
        ValueError: for a pointer outside 1-12.
    """
    out = []
    for p in pointers[:4]:
        if not 1 <= p <= len(_LETTERS):
            raise ValueError(f"diagnosis pointer {p} is outside 1-12")
        out.append(_LETTERS[p - 1])
    return "".join(out)


def mask_tax_id(tax_id: str) -> str:
    """Mask all but the last four digits of a tax id (``XXXXX6789``)."""
    digits = "".join(ch for ch in tax_id if ch.isdigit())
    return "X" * max(len(digits) - 4, 0) + digits[-4:]


def split_claim_id(claim_id: str, part: int) -> str:
    """Box 26 (CLM01) id of the ``part``-th claim of a split claim: ``<claim id>.<part>``.

    The id stays within the 20 characters of CLM01. When ``<claim id>.<part>`` would be
    longer, the claim id is cut and six hexadecimal characters of the SHA-256 of the whole
    claim id keep the parts of different claims apart: ``<first characters>-<HASH>.<part>``
    (e.g. ``ABCDEFGHIJKLMNOPQRST`` part 1 → ``ABCDEFGHIJK-<6 hex>.1``). The same claim id and
    part always give the same result.

    Raises:
        ValueError: for a part below 1.
    """
    if part < 1:
        raise ValueError("split parts are numbered from 1")
    suffix = f".{part}"
    if len(claim_id) + len(suffix) <= CLAIM_ID_MAX:
        return claim_id + suffix
    digest = hashlib.sha256(claim_id.encode()).hexdigest()[:SPLIT_ID_HASH_CHARS].upper()
    keep = max(CLAIM_ID_MAX - len(suffix) - len(digest) - 1, 0)
    prefix = claim_id[:keep].rstrip(".-")
    return f"{prefix}-{digest}{suffix}" if prefix else f"{digest}{suffix}"


def insurance_type_box(filing_indicator: str | None) -> str:
    """The box 1 check box (``medicare``, ``group``, ``other``, ...) for a filing indicator."""
    return _INSURANCE_TYPE.get((filing_indicator or "").upper(), "other")


def _zip(code: str | None) -> str:
    z = "".join(ch for ch in (code or "") if ch.isdigit())
    return f"{z[:5]}-{z[5:]}" if len(z) == 9 else z


def _phone(number: str | None) -> tuple[str, str]:
    digits = "".join(ch for ch in (number or "") if ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        return "", clean(number)
    return digits[:3], digits[3:]


def _city_state_zip(addr: Address) -> str:
    return f"{clean(addr.city)} {clean(addr.state)} {_zip(addr.zip)}".strip()


def _street(addr: Address) -> str:
    return " ".join(p for p in (clean(addr.line1), clean(addr.line2)) if p)


# ---------------------------------------------------------------------------- mapping


def _put(out: dict[str, str], key: str, value: str | None) -> None:
    if value:
        out[key] = value


def _check(out: dict[str, str], key: str, on: bool) -> None:
    if on:
        out[key] = "X"


def _yes_no(out: dict[str, str], box: str, value: bool | None) -> None:
    if value is None:
        return
    out[f"{box}.yes" if value else f"{box}.no"] = "X"


def _address_block(out: dict[str, str], box: str, addr: Address | None, phone: str | None = None) -> None:
    if addr is None:
        return
    _put(out, f"{box}.street", _street(addr))
    _put(out, f"{box}.city", clean(addr.city))
    _put(out, f"{box}.state", clean(addr.state))
    _put(out, f"{box}.zip", _zip(addr.zip))
    area, number = _phone(phone)
    _put(out, f"{box}.phone_area", area)
    _put(out, f"{box}.phone", number)


def _insured(coverage: Coverage, patient: Patient | None) -> Subscriber | Patient | None:
    if coverage.relationship_to_subscriber == "self" or coverage.subscriber is None:
        return patient
    return coverage.subscriber


def _insured_name(who: Subscriber | Patient) -> str:
    if isinstance(who, Subscriber) and who.entity_type == "organization":
        return clean(who.last_name)
    middle = who.middle_name if isinstance(who, Patient) else None
    suffix = who.suffix if isinstance(who, Patient) else None
    return person_name(who.last_name, who.first_name, middle, suffix)


def _header_fields(enc: Encounter, box19: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    cov = enc.coverage
    pat = enc.patient
    if cov is not None:
        _put(out, "carrier.name", clean(cov.payer_name))
        if cov.payer_address is not None:
            _put(out, "carrier.street", clean(cov.payer_address.line1))
            _put(out, "carrier.street2", clean(cov.payer_address.line2))
            _put(out, "carrier.city_state_zip", _city_state_zip(cov.payer_address))
        out[f"1.{insurance_type_box(cov.claim_filing_indicator)}"] = "X"
        _put(out, "1a", clean(cov.member_id))
    if pat is not None:
        _put(out, "2", person_name(pat.last_name, pat.first_name, pat.middle_name, pat.suffix))
        if pat.birth_date is not None:
            out["3.mm"], out["3.dd"], out["3.yyyy"] = form_date(pat.birth_date, 8)
        _check(out, "3.sex_m", pat.sex == "M")
        _check(out, "3.sex_f", pat.sex == "F")
        _address_block(out, "5", pat.address)
    if cov is not None:
        insured = _insured(cov, pat)
        if insured is not None:
            _put(out, "4", _insured_name(insured))
            _address_block(out, "7", insured.address)
            if insured.birth_date is not None:
                out["11a.mm"], out["11a.dd"], out["11a.yyyy"] = form_date(insured.birth_date, 8)
            _check(out, "11a.sex_m", insured.sex == "M")
            _check(out, "11a.sex_f", insured.sex == "F")
        out[f"6.{_RELATIONSHIP.get(cov.relationship_to_subscriber, 'other')}"] = "X"
        _put(out, "11", clean(cov.group_number))
        _put(out, "11c", clean(cov.plan_name))
        auth = cov.authorization.number if cov.authorization else cov.referral_number
        _put(out, "23", clean(auth).replace("-", "").replace(" ", ""))
    others = enc.other_coverages
    if others:
        other = others[0]
        who = _insured(other, pat)
        if who is not None:
            _put(out, "9", _insured_name(who))
        _put(out, "9a", clean(other.group_number or other.member_id))
        _put(out, "9d", clean(other.plan_name or other.payer_name))
    _yes_no(out, "11d", bool(others))
    rc = enc.related_causes
    _yes_no(out, "10a", rc.employment)
    _yes_no(out, "10b", rc.auto_accident)
    if rc.auto_accident:
        _put(out, "10b.state", clean(rc.auto_accident_state))
    _yes_no(out, "10c", rc.other_accident)
    if rc.property_casualty_claim_number:
        out["11b.qual"] = "Y4"
        out["11b"] = clean(rc.property_casualty_claim_number)
    consent = enc.consent
    if consent is not None and consent.release_of_information:
        out["12.signature"] = SIGNATURE_ON_FILE
        if consent.signature_date is not None:
            out["12.date"] = "".join(form_date(consent.signature_date))
    if consent is not None and consent.benefits_assigned:
        out["13.signature"] = SIGNATURE_ON_FILE
    current = enc.onset_date or (rc.accident_date if rc.any else None)  # an injury's date is its onset
    if current is not None:
        out["14.mm"], out["14.dd"], out["14.yy"] = form_date(current)
        out["14.qual"] = "431"
    if rc.accident_date is not None and rc.accident_date != enc.onset_date:
        out["15.qual"] = "439"
        out["15.mm"], out["15.dd"], out["15.yy"] = form_date(rc.accident_date)
    ref = enc.referring_provider
    if ref is not None:
        if ref.qualifier.upper() in _REFERRING_QUALIFIERS:
            out["17.qual"] = ref.qualifier.upper()
        _put(out, "17", " ".join(p for p in (clean(ref.first_name), clean(ref.last_name)) if p))
        _put(out, "17b", ref.npi)
    _put(out, "19", clean(box19))
    if enc.diagnoses:
        out["21.ind"] = ICD10_INDICATOR
        for letter, code in zip(_LETTERS, enc.diagnoses, strict=False):
            out[f"21.{letter}"] = code.upper()
    if enc.claim_frequency in ("7", "8"):
        out["22.code"] = enc.claim_frequency
        _put(out, "22.ref", clean(enc.payer_claim_control_number))
    _provider_fields(out, enc)
    return out


def _provider_fields(out: dict[str, str], enc: Encounter) -> None:
    bp = enc.billing_provider
    if bp is not None:
        if bp.tax_id:
            out["25.tin"] = "".join(ch for ch in bp.tax_id if ch.isdigit())
            out["25.ssn" if (bp.tax_id_type or "").upper() == "SSN" else "25.ein"] = "X"
        if bp.entity_type == "person":
            name = " ".join(p for p in (clean(bp.first_name), clean(bp.last_name)) if p)
        else:
            name = clean(bp.organization_name)
        _put(out, "33.name", name)
        if bp.address is not None:
            _put(out, "33.street", _street(bp.address))
            _put(out, "33.city_state_zip", _city_state_zip(bp.address))
        area, number = _phone(bp.phone)
        _put(out, "33.phone_area", area)
        _put(out, "33.phone", number)
        _put(out, "33a", bp.npi)
        if bp.taxonomy:
            out["33b"] = f"ZZ{bp.taxonomy.upper()}"
    if enc.accept_assignment is not None:
        _yes_no(out, "27", enc.accept_assignment)
    if enc.provider_signature_on_file:
        out["31.signature"] = SIGNATURE_ON_FILE
    fac = enc.service_facility
    if fac is not None:
        _put(out, "32.name", clean(fac.name))
        if fac.address is not None:
            _put(out, "32.street", _street(fac.address))
            _put(out, "32.city_state_zip", _city_state_zip(fac.address))
        _put(out, "32a", fac.npi)


def _line_fields(out: dict[str, str], row: int, line: ClaimLine, rendering_npi: str | None) -> None:
    p = f"24.{row}"
    out[f"{p}.from_mm"], out[f"{p}.from_dd"], out[f"{p}.from_yy"] = form_date(line.date_of_service)
    out[f"{p}.to_mm"], out[f"{p}.to_dd"], out[f"{p}.to_yy"] = form_date(line.date_of_service)
    _put(out, f"{p}.pos", line.place_of_service)
    out[f"{p}.cpt"] = line.code.upper()
    for i, mod in enumerate(line.modifiers[:4], start=1):
        out[f"{p}.mod{i}"] = mod.upper()
    _put(out, f"{p}.pointer", pointer_letters(line.diagnosis_pointers))
    out[f"{p}.charge_dollars"], out[f"{p}.charge_cents"] = money_parts(line.charge)
    out[f"{p}.units"] = str(line.units)
    _put(out, f"{p}.npi", rendering_npi)


def _validate(claim: Claim, overflow: str) -> None:
    problems: list[Problem] = []
    if overflow not in OVERFLOW_MODES:
        problems.append(
            Problem("form-overflow-mode", "cms1500_overflow", f"must be one of {', '.join(OVERFLOW_MODES)}")
        )
    if len(claim.encounter.diagnoses) > len(_LETTERS):
        problems.append(
            Problem("form-too-many-diagnoses", "diagnoses", "the CMS-1500 holds 12 diagnoses (A-L)")
        )
    for line in claim.lines:
        bad = [p for p in line.diagnosis_pointers if not 1 <= p <= len(_LETTERS)]
        if bad:
            problems.append(
                Problem(
                    "form-pointer-out-of-range",
                    f"services[{line.service_index}].diagnosis_pointers",
                    f"pointer {bad[0]} has no letter A-L",
                )
            )
        if line.charge < 0:
            problems.append(
                Problem("form-negative-charge", f"services[{line.service_index}]", "negative charge")
            )
    if problems:
        raise FormError("the claim cannot be put on a CMS-1500", tuple(problems))


def cms1500_forms(
    claim: Claim,
    *,
    signed_on: date,
    overflow: str = "split",
    box19: str | None = None,
) -> tuple[Cms1500Form, ...]:
    """Fill the CMS-1500 forms of a claim.

    Args:
        claim: the claim (its encounter supplies the header boxes).
        signed_on: the date the provider signs the form (box 31).
        overflow: ``split`` (separate claims of up to six lines, each with its own total) or
            ``continuation`` (one claim over several pages), for claims of more than six lines.
        box19: additional claim information (box 19), if the payer asks for any.

    Returns:
        One ``Cms1500Form`` per page.

    Raises:
        FormError: when the claim cannot be put on the form (bad overflow mode, more than
            12 diagnoses, a pointer outside A-L, a negative charge).
    """
    _validate(claim, overflow)
    enc = claim.encounter
    chunks = [claim.lines[i : i + LINES_PER_FORM] for i in range(0, len(claim.lines), LINES_PER_FORM)]
    pages = len(chunks)
    rendering_npi = enc.rendering_provider.npi if enc.rendering_provider else None
    paid = enc.patient_amount_paid if enc.patient_amount_paid is not None else ZERO
    forms: list[Cms1500Form] = []
    for page, chunk in enumerate(chunks, start=1):
        info = box19
        if overflow == "continuation" and pages > 1:
            info = " ".join(p for p in (f"PAGE {page} OF {pages}", box19) if p)
        out = _header_fields(enc, info)
        for row, line in enumerate(chunk, start=1):
            _line_fields(out, row, line, rendering_npi)
        if overflow == "split" and pages > 1:
            claim_id = split_claim_id(claim.claim_id, page)
            total = sum((ln.charge for ln in chunk), ZERO)
            show_total, page_paid = True, paid if page == 1 else ZERO
        else:
            claim_id = claim.claim_id
            total = claim.total_charge
            show_total, page_paid = page == pages, paid
        out["26"] = clean(claim_id).replace(" ", ".") if claim_id else ""
        if show_total:
            out["28.dollars"], out["28.cents"] = money_parts(total)
            if page_paid > 0:
                out["29.dollars"], out["29.cents"] = money_parts(page_paid)
        if "31.signature" in out:
            out["31.date"] = "".join(form_date(signed_on))
        forms.append(
            Cms1500Form(
                claim_id=claim_id,
                page=page,
                pages=pages,
                line_numbers=tuple(ln.line_number for ln in chunk),
                fields=MappingProxyType(dict(sorted(out.items()))),
            )
        )
    return tuple(forms)


# ---------------------------------------------------------------------------- view models


@dataclass(frozen=True, slots=True)
class PartyView:
    """A name and address block as printed on a document.

    Attributes:
        name: display name.
        lines: address lines, in order.
        phone: phone, formatted.
    """

    name: str
    lines: tuple[str, ...] = ()
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One service as the superbill and the note show it.

    Attributes:
        date_of_service: the date.
        code: CPT/HCPCS code.
        description: short description of the code.
        modifiers: modifiers in order.
        units: units billed.
        minutes: minutes of the service.
        charge: the line's charge.
        diagnosis_pointers: 24E-style letters, e.g. ``AB``.
        body_regions: treated regions.
        techniques: techniques used.
    """

    date_of_service: date
    code: str
    description: str
    modifiers: tuple[str, ...]
    units: int
    minutes: int
    charge: Decimal
    diagnosis_pointers: str = ""
    body_regions: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SuperbillView:
    """A superbill for one visit or a date range.

    Attributes:
        document_id: opaque id of this document (also used for its file name).
        issued_on: date issued.
        practice: the practice (name, address, phone).
        practice_npi: billing NPI.
        tax_id: the tax id as printed (an SSN masked).
        therapist: rendering therapist's name with credential.
        therapist_npi: rendering NPI.
        license: license number and state, e.g. ``IL 227.012345``.
        client: the client's name and address.
        client_birth_date: date of birth.
        client_id: the practice's client id.
        diagnoses: (letter, code, description) in claim order.
        services: the services, in date order.
        period_start: first date of service.
        period_end: last date of service.
        total_charged: sum of the charges.
        total_paid: paid by the client.
        payment_method: how they paid (``card``, ``cash``...), if known.
        place_of_service: POS code and name.
    """

    document_id: str
    issued_on: date
    practice: PartyView
    practice_npi: str | None
    tax_id: str | None
    therapist: str
    therapist_npi: str | None
    license: str | None
    client: PartyView
    client_birth_date: date | None
    client_id: str
    diagnoses: tuple[tuple[str, str, str], ...]
    services: tuple[ServiceRow, ...]
    period_start: date
    period_end: date
    total_charged: Decimal
    total_paid: Decimal
    payment_method: str | None = None
    place_of_service: str | None = None

    @property
    def balance(self) -> Decimal:
        """Charged minus paid."""
        return self.total_charged - self.total_paid


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A ledger entry on a statement.

    Attributes:
        posted_on: the entry's date.
        description: what it is (visit and code, payment, adjustment).
        charge: amount charged (or zero).
        insurance_paid: paid by insurance.
        adjustment: written off / adjusted.
        patient_paid: paid by the patient.
        balance: running balance after the entry.
    """

    posted_on: date
    description: str
    charge: Decimal = ZERO
    insurance_paid: Decimal = ZERO
    adjustment: Decimal = ZERO
    patient_paid: Decimal = ZERO
    balance: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class StatementView:
    """A patient statement; every amount comes from the ledger.

    Attributes:
        statement_id: opaque statement number.
        statement_date: date of the statement.
        due_date: pay by.
        practice: the practice.
        patient: the patient (name, mailing address).
        account_id: the patient's account id.
        lines: ledger entries of the period.
        amount_due: what the patient owes now.
        aging: (bucket label, amount) from current to oldest.
        how_to_pay: payment instructions, one per line.
        message: a note to the patient.
    """

    statement_id: str
    statement_date: date
    due_date: date | None
    practice: PartyView
    patient: PartyView
    account_id: str
    lines: tuple[StatementLine, ...]
    amount_due: Decimal
    aging: tuple[tuple[str, Decimal], ...]
    how_to_pay: tuple[str, ...] = ()
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """A receipt for a payment.

    Attributes:
        receipt_id: opaque receipt number.
        paid_on: date of payment.
        practice: the practice.
        practice_tax_id: tax id as printed (masked if an SSN).
        payer_name: who paid.
        account_id: the patient's account id.
        amount: amount received.
        method: cash, card, check...
        reference: check number or card last four, if any.
        applied_to: (description, amount) of what the payment paid.
        balance_after: the account balance after the payment.
    """

    receipt_id: str
    paid_on: date
    practice: PartyView
    practice_tax_id: str | None
    payer_name: str
    account_id: str
    amount: Decimal
    method: str
    reference: str | None = None
    applied_to: tuple[tuple[str, Decimal], ...] = ()
    balance_after: Decimal | None = None


@dataclass(frozen=True, slots=True)
class NoteView:
    """A SOAP visit note.

    Attributes:
        visit_id: the visit's id.
        practice: the practice.
        client_name: the client.
        client_birth_date: date of birth.
        client_id: the client's id.
        date_of_service: the visit date.
        start_time: session start (``HH:MM``).
        end_time: session end.
        therapist: therapist with credential.
        license: license, e.g. ``IL 227.012345``.
        diagnoses: (code, description).
        subjective: S.
        objective_lines: O, one measure per line (pain, ROM, strength, tests).
        assessment: A.
        plan: P.
        medical_necessity: why treatment is necessary.
        services: services with minutes, regions, techniques.
        goals: (description, baseline, target, target date text).
        pre_session: pre-session assessment.
        post_session: post-session advice.
        client_feedback: client feedback.
        changes: changes since the last visit.
        signed_by: who signed.
        signed_on: when.
    """

    visit_id: str
    practice: PartyView
    client_name: str
    client_birth_date: date | None
    client_id: str
    date_of_service: date
    start_time: str | None
    end_time: str | None
    therapist: str
    license: str | None
    diagnoses: tuple[tuple[str, str], ...]
    subjective: str
    objective_lines: tuple[str, ...]
    assessment: str
    plan: str
    medical_necessity: str
    services: tuple[ServiceRow, ...]
    goals: tuple[tuple[str, str, str, str], ...]
    pre_session: str = ""
    post_session: str = ""
    client_feedback: str = ""
    changes: str = ""
    signed_by: str | None = None
    signed_on: date | None = None


@dataclass(frozen=True, slots=True)
class ProgressVisit:
    """One visit's measures in a progress report.

    Attributes:
        date_of_service: the visit date.
        pain: pain 0-10, if measured.
        rom_degrees: the tracked range-of-motion value in degrees, if measured.
        client_feedback: what the client said.
        changes: change since the previous visit.
    """

    date_of_service: date
    pain: int | None
    rom_degrees: int | None
    client_feedback: str = ""
    changes: str = ""


@dataclass(frozen=True, slots=True)
class GoalProgress:
    """A goal's baseline, current value and target.

    Attributes:
        description: the goal.
        baseline: where the client started.
        current: where they are now.
        target: the target.
        target_date: when.
        status: ``met``, ``progressing``, ``not met``...
    """

    description: str
    baseline: str
    current: str
    target: str
    target_date: date | None = None
    status: str = ""


@dataclass(frozen=True, slots=True)
class ProgressReportView:
    """A progress report across visits.

    Attributes:
        report_id: opaque id.
        practice: the practice.
        client_name: the client.
        client_birth_date: date of birth.
        client_id: the client's id.
        therapist: therapist with credential.
        period_start: first visit in the report.
        period_end: last visit.
        rom_label: what the ROM series measures, e.g. ``cervical rotation right``.
        diagnoses: (code, description).
        visits: the visits in date order.
        goals: each goal's progress.
        summary: the therapist's assessment of progress.
        plan: the plan going forward.
        signed_by: who signed.
        signed_on: when.
    """

    report_id: str
    practice: PartyView
    client_name: str
    client_birth_date: date | None
    client_id: str
    therapist: str
    period_start: date
    period_end: date
    rom_label: str
    diagnoses: tuple[tuple[str, str], ...]
    visits: tuple[ProgressVisit, ...]
    goals: tuple[GoalProgress, ...]
    summary: str = ""
    plan: str = ""
    signed_by: str | None = None
    signed_on: date | None = None


# ---------------------------------------------------------------------------- view builders


def _party(name: str, addr: Address | None, phone: str | None = None) -> PartyView:
    lines: list[str] = []
    if addr is not None:
        lines.append(", ".join(p for p in (addr.line1, addr.line2) if p))
        z = _zip(addr.zip)
        lines.append(f"{addr.city}, {addr.state} {z}".strip())
    ph = None
    if phone:
        area, num = _phone(phone)
        ph = f"({area}) {num[:3]}-{num[3:]}" if area else phone
    return PartyView(name=name, lines=tuple(lines), phone=ph)


def practice_party(enc: Encounter) -> PartyView:
    """The billing provider as a letterhead party."""
    bp = enc.billing_provider
    if bp is None:
        return PartyView(name="")
    if bp.entity_type == "person":
        name = f"{bp.first_name or ''} {bp.last_name or ''}".strip()
    else:
        name = bp.organization_name or ""
    return _party(name, bp.address, bp.phone)


def printable_tax_id(tax_id: str | None, tax_id_type: str | None) -> str | None:
    """A tax id as documents other than the claim show it: EIN ``12-3456789``, SSN masked."""
    if not tax_id:
        return None
    digits = "".join(ch for ch in tax_id if ch.isdigit())
    if (tax_id_type or "").upper() == "SSN":
        return f"SSN {mask_tax_id(digits)}"
    return f"EIN {digits[:2]}-{digits[2:]}" if len(digits) == 9 else f"EIN {digits}"


def _therapist(enc: Encounter) -> tuple[str, str | None, str | None]:
    rp = enc.rendering_provider
    if rp is None:
        return "", None, None
    name = f"{rp.first_name} {rp.last_name}" + (f", {rp.credential}" if rp.credential else "")
    lic = " ".join(p for p in (rp.license_state, rp.license_number) if p) or None
    return name, rp.npi, lic


def superbill_view(
    claims: Sequence[Claim],
    *,
    document_id: str,
    issued_on: date,
    dx_descriptions: Mapping[str, str],
    code_descriptions: Mapping[str, str],
    payment_method: str | None = None,
) -> SuperbillView:
    """A superbill for one or more claims of the same client (a date range).

    Diagnoses are the union of the visits' diagnoses, in first-seen order, lettered A-L;
    each service's pointers are re-lettered against that list.

    Raises:
        FormError: when there is no claim, or the claims belong to different clients.
    """
    if not claims:
        raise FormError(
            "a superbill needs at least one visit", (Problem("superbill-empty", "visits", "no visit"),)
        )
    first = claims[0].encounter
    pids = {c.encounter.patient.patient_id if c.encounter.patient else "" for c in claims}
    if len(pids) != 1:
        raise FormError(
            "a superbill is for one client",
            (Problem("superbill-mixed-clients", "visits", "the visits belong to different clients"),),
        )
    codes: list[str] = []
    for c in claims:
        for dx in c.encounter.diagnoses:
            if dx not in codes:
                codes.append(dx)
    letter_of = {dx: _LETTERS[i] if i < len(_LETTERS) else "?" for i, dx in enumerate(codes)}
    rows: list[ServiceRow] = []
    for c in sorted(claims, key=lambda c: c.encounter.date_of_service):
        for ln in c.lines:
            dxs = c.encounter.diagnoses
            letters = "".join(letter_of[dxs[p - 1]] for p in ln.diagnosis_pointers if 1 <= p <= len(dxs))
            svc = c.encounter.services[ln.service_index]
            rows.append(
                ServiceRow(
                    date_of_service=ln.date_of_service,
                    code=ln.code,
                    description=code_descriptions.get(ln.code, ""),
                    modifiers=ln.modifiers,
                    units=ln.units,
                    minutes=ln.minutes,
                    charge=ln.charge,
                    diagnosis_pointers=letters,
                    body_regions=svc.body_regions,
                    techniques=svc.techniques,
                )
            )
    paid = sum(((c.encounter.patient_amount_paid or ZERO) for c in claims), ZERO)
    therapist, npi, lic = _therapist(first)
    pat = first.patient
    bp = first.billing_provider
    dates = [c.encounter.date_of_service for c in claims]
    return SuperbillView(
        document_id=document_id,
        issued_on=issued_on,
        practice=practice_party(first),
        practice_npi=bp.npi if bp else None,
        tax_id=printable_tax_id(bp.tax_id, bp.tax_id_type) if bp else None,
        therapist=therapist,
        therapist_npi=npi,
        license=lic,
        client=_party(f"{pat.first_name} {pat.last_name}" if pat else "", pat.address if pat else None),
        client_birth_date=pat.birth_date if pat else None,
        client_id=pat.patient_id if pat else "",
        diagnoses=tuple((letter_of[dx], dx, dx_descriptions.get(dx, "")) for dx in codes),
        services=tuple(rows),
        period_start=min(dates),
        period_end=max(dates),
        total_charged=sum((c.total_charge for c in claims), ZERO),
        total_paid=paid,
        payment_method=payment_method,
        place_of_service=first.place_of_service,
    )


def objective_lines(enc: Encounter) -> tuple[str, ...]:
    """The visit's objective measures, one readable line each."""
    doc = enc.documentation
    if doc is None:
        return ()
    o = doc.objective
    out: list[str] = []
    if o.pain_scale is not None:
        out.append(f"Pain {o.pain_scale}/10")
    out += [f"ROM {r.joint} {r.motion}: {r.degrees}°" for r in o.range_of_motion]
    out += [f"Strength {s.muscle_group}: {s.grade}" for s in o.strength]
    out += [f"{t.name}: {t.value}{(' ' + t.unit) if t.unit else ''}" for t in o.functional_tests]
    return tuple(out)


def note_view(
    enc: Encounter,
    *,
    dx_descriptions: Mapping[str, str],
    code_descriptions: Mapping[str, str],
    signed_on: date | None = None,
    units: Mapping[int, int] | None = None,
) -> NoteView:
    """The SOAP note of a visit (all services, including those that bill 0 units).

    ``units`` maps a service index to its billed units (from the claim), when known.
    """
    doc = enc.documentation
    therapist, _, lic = _therapist(enc)
    pat = enc.patient
    rows = tuple(
        ServiceRow(
            date_of_service=enc.date_of_service,
            code=s.code,
            description=code_descriptions.get(s.code, ""),
            modifiers=s.modifiers,
            units=(units or {}).get(i, s.units or 0),
            minutes=s.minutes,
            charge=ZERO,
            diagnosis_pointers=pointer_letters([p for p in s.diagnosis_pointers if 1 <= p <= 12]),
            body_regions=s.body_regions,
            techniques=s.techniques,
        )
        for i, s in enumerate(enc.services)
    )
    goals = tuple(
        (
            g.description,
            g.baseline or "",
            g.target or "",
            g.target_date.strftime("%m/%d/%Y") if g.target_date else "",
        )
        for g in (doc.goals if doc else ())
    )
    return NoteView(
        visit_id=enc.encounter_id,
        practice=practice_party(enc),
        client_name=f"{pat.first_name} {pat.last_name}" if pat else "",
        client_birth_date=pat.birth_date if pat else None,
        client_id=pat.patient_id if pat else "",
        date_of_service=enc.date_of_service,
        start_time=enc.start_time.strftime("%H:%M") if enc.start_time else None,
        end_time=enc.end_time.strftime("%H:%M") if enc.end_time else None,
        therapist=therapist,
        license=lic,
        diagnoses=tuple((dx, dx_descriptions.get(dx, "")) for dx in enc.diagnoses),
        subjective=(doc.subjective or "") if doc else "",
        objective_lines=objective_lines(enc),
        assessment=(doc.assessment or "") if doc else "",
        plan=(doc.plan or "") if doc else "",
        medical_necessity=(doc.medical_necessity or "") if doc else "",
        services=rows,
        goals=goals,
        pre_session=(doc.pre_session_assessment or "") if doc else "",
        post_session=(doc.post_session_advice or "") if doc else "",
        client_feedback=(doc.client_feedback or "") if doc else "",
        changes=(doc.changes_since_last_visit or "") if doc else "",
        signed_by=therapist or None,
        signed_on=signed_on,
    )


def progress_view(
    encounters: Sequence[Encounter],
    *,
    report_id: str,
    dx_descriptions: Mapping[str, str],
    signed_on: date | None = None,
    summary: str = "",
) -> ProgressReportView:
    """A progress report over a client's visits (in date order).

    The range-of-motion series follows the first joint and motion measured; each goal's
    current value is the latest visit's measures of pain and that motion.

    Raises:
        FormError: when there is no visit.
    """
    if not encounters:
        raise FormError("a progress report needs visits", (Problem("progress-empty", "visits", "no visit"),))
    encs = sorted(encounters, key=lambda e: e.date_of_service)
    first, last = encs[0], encs[-1]
    tracked: tuple[str, str] | None = None
    for e in encs:
        if e.documentation and e.documentation.objective.range_of_motion:
            r = e.documentation.objective.range_of_motion[0]
            tracked = (r.joint, r.motion)
            break
    visits: list[ProgressVisit] = []
    for e in encs:
        d = e.documentation
        rom = None
        if d is not None and tracked is not None:
            rom = next(
                (r.degrees for r in d.objective.range_of_motion if (r.joint, r.motion) == tracked),
                None,
            )
        visits.append(
            ProgressVisit(
                date_of_service=e.date_of_service,
                pain=d.objective.pain_scale if d else None,
                rom_degrees=rom,
                client_feedback=(d.client_feedback or "") if d else "",
                changes=(d.changes_since_last_visit or "") if d else "",
            )
        )
    now = visits[-1]
    current_parts = []
    if now.pain is not None:
        current_parts.append(f"pain {now.pain}/10")
    if now.rom_degrees is not None and tracked:
        current_parts.append(f"{tracked[0]} {tracked[1]} {now.rom_degrees}°")
    current = "; ".join(current_parts) or "not measured"
    seen: dict[str, GoalProgress] = {}
    for e in encs:
        for g in e.documentation.goals if e.documentation else ():
            seen.setdefault(
                g.description,
                GoalProgress(
                    description=g.description,
                    baseline=g.baseline or "",
                    current=f"{current} ({now.date_of_service.strftime('%m/%d/%Y')})",
                    target=g.target or "",
                    target_date=g.target_date,
                    status="progressing",
                ),
            )
    therapist, _, _ = _therapist(last)
    pat = last.patient
    return ProgressReportView(
        report_id=report_id,
        practice=practice_party(last),
        client_name=f"{pat.first_name} {pat.last_name}" if pat else "",
        client_birth_date=pat.birth_date if pat else None,
        client_id=pat.patient_id if pat else "",
        therapist=therapist,
        period_start=first.date_of_service,
        period_end=last.date_of_service,
        rom_label=f"{tracked[0]} {tracked[1]}" if tracked else "",
        diagnoses=tuple((dx, dx_descriptions.get(dx, "")) for dx in last.diagnoses),
        visits=tuple(visits),
        goals=tuple(seen.values()),
        summary=summary or ((last.documentation.assessment or "") if last.documentation else ""),
        plan=(last.documentation.plan or "") if last.documentation else "",
        signed_by=therapist or None,
        signed_on=signed_on,
    )
