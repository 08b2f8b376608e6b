"""Identity and address rules: NPIs, member and subscriber, dates, tax id, taxonomy, ZIP+4,
PO boxes, and the payer profile itself."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from therabill.domain.encounter import Encounter
from therabill.domain.validation import (
    ein_is_valid,
    is_po_box,
    npi_is_valid,
    ssn_is_valid,
    taxonomy_is_valid,
    zip_is_zip4,
)
from therabill.scrubber.context import RuleContext
from therabill.scrubber.finding import Finding, Severity
from therabill.scrubber.registry import rule
from therabill.scrubber.rules._util import blank

_npi_ok = lru_cache(maxsize=65536)(npi_is_valid)
_837 = "837P 005010X222A1 (billing-rules.md §9)"


@rule("payer-profile-unknown", Severity.ERROR, family="payer",
      title="The coverage names no payer profile, or one that does not exist",
      source="payer profiles (refdata/data/payers, THERABILL_PROFILES_DIR)", needs="profile-error")  # fmt: skip
def payer_profile_unknown(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:  # noqa: ARG001
    if ctx.profile_error is None:
        return
    if ctx.profile_error == "missing":
        yield ctx.finding(
            "coverage.payer_profile",
            "The coverage names no payer profile, so the payer's rules (unit method, edits, limits) "
            "cannot be applied; defaults were used.",
            "Set coverage.payer_profile (medicare, medicaid, commercial, ...) or the practice's own.",
            severity=Severity.WARNING,
        )
    else:
        yield ctx.finding(
            "coverage.payer_profile",
            f"{ctx.profile_error}; the payer's rules could not be applied.",
            "Use one of the known profiles, or add the practice's own profile file.",
        )


def _npis(enc: Encounter) -> Iterator[tuple[str, str | None, bool]]:
    b = enc.billing_provider
    if b is not None:
        yield "billing_provider.npi", b.npi, True
    if enc.rendering_provider is not None:
        yield "rendering_provider.npi", enc.rendering_provider.npi, False
    if enc.referring_provider is not None:
        yield "referring_provider.npi", enc.referring_provider.npi, False
    if enc.service_facility is not None:
        yield "service_facility.npi", enc.service_facility.npi, False


@rule("npi-invalid", Severity.ERROR, family="identity",
      title="An NPI that is missing (billing provider) or fails its check digit",
      source="CMS NPI check digit (Luhn over the 80840 prefix); 45 CFR 162.406", needs="npi-bad")  # fmt: skip
def npi_invalid(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for loc, npi, required in _npis(enc):
        if blank(npi):
            if required:
                yield ctx.finding(
                    loc, "The billing provider has no NPI.", "Enter the billing provider's 10-digit NPI."
                )
        elif not _npi_ok(npi):
            yield ctx.finding(
                loc,
                f"{npi} is not a valid NPI (ten digits starting with 1 or 2 with a correct check digit).",
                "Copy the NPI again from the NPPES registry; a single wrong digit fails the check.",
            )


@rule("member-id-missing", Severity.ERROR, family="identity", title="No member id on the coverage", source=_837, needs="member-id-blank")  # fmt: skip
def member_id_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if enc.coverage is not None and blank(enc.coverage.member_id):
        yield ctx.finding(
            "coverage.member_id",
            "The coverage has no member id.",
            "Enter the member id exactly as on the insurance card.",
        )


@rule("subscriber-missing", Severity.ERROR, family="identity",
      title="The patient is not the subscriber and no subscriber is given", source=_837, needs="subscriber-missing")  # fmt: skip
def subscriber_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    c = enc.coverage
    if c is not None and c.relationship_to_subscriber != "self" and c.subscriber is None:
        yield ctx.finding(
            "coverage.subscriber",
            f"The patient is the subscriber's {c.relationship_to_subscriber}, but no subscriber is given.",
            "Enter the insured person's (or employer's) name, birth date, sex and address.",
        )


@rule("birth-date-after-service", Severity.ERROR, family="identity",
      title="The patient's birth date is after the date of service", source=_837, needs="birth-after-service")  # fmt: skip
def birth_after_service(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    p = enc.patient
    if p is not None and p.birth_date is not None and p.birth_date > ctx.dos:
        yield ctx.finding(
            "patient.birth_date",
            f"The patient's birth date {p.birth_date} is after the visit on {ctx.dos}.",
            "Correct the birth date (or the date of service).",
        )


@rule("service-date-future", Severity.ERROR, family="identity",
      title="The date of service is after the day the claim is sent", source="837P DTP*472 (a claim bills past services)", needs="service-date-future")  # fmt: skip
def service_date_future(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    if enc.date_of_service > ctx.as_of:
        yield ctx.finding(
            "date_of_service",
            f"The date of service {enc.date_of_service} is after {ctx.as_of}, the day the claim would be sent.",
            "Bill a visit only after it took place; correct the date if it was mistyped.",
        )


@rule("tax-id-missing", Severity.ERROR, family="identity",
      title="The billing provider's tax id is missing or malformed", source=f"{_837}: 2010AA REF*EI/SY, box 25", needs="tax-id-bad")  # fmt: skip
def tax_id_missing(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    b = enc.billing_provider
    if b is None:
        return
    if blank(b.tax_id):
        yield ctx.finding("billing_provider.tax_id", "The billing provider has no tax id (EIN or SSN).",
                          "Enter the EIN (or the SSN of a sole proprietor) the payer has on file.")  # fmt: skip
    elif not (ssn_is_valid(b.tax_id) if b.tax_id_type == "SSN" else ein_is_valid(b.tax_id)):
        yield ctx.finding(
            "billing_provider.tax_id",
            f"The billing provider's {b.tax_id_type or 'EIN'} is not a possible "
            f"{'Social Security number' if b.tax_id_type == 'SSN' else 'employer identification number'}.",
            "Copy the tax id again from the IRS letter (EIN) or the card (SSN).",
        )


@rule("taxonomy-malformed", Severity.ERROR, family="identity",
      title="A taxonomy code that is not in the NUCC format", source="NUCC health care provider taxonomy code set (10 characters ending in X)", needs="taxonomy-bad")  # fmt: skip
def taxonomy_malformed(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for loc, code in (
        ("billing_provider.taxonomy", enc.billing_provider.taxonomy if enc.billing_provider else None),
        ("rendering_provider.taxonomy", enc.rendering_provider.taxonomy if enc.rendering_provider else None),
    ):
        if code is not None and not taxonomy_is_valid(code):
            yield ctx.finding(
                loc,
                f"{code} is not a NUCC taxonomy code (ten characters ending in X, e.g. 225700000X).",
                "Use the taxonomy on the provider's NPPES record.",
            )


@rule("zip-not-zip4", Severity.ERROR, family="identity",
      title="Billing provider or service facility ZIP is not ZIP+4", source=f"{_837}: 2010AA and 2310C N403 (9 digits)", needs="zip-bad")  # fmt: skip
def zip_not_zip4(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    for loc, addr in (
        ("billing_provider.address.zip", enc.billing_provider.address if enc.billing_provider else None),
        ("service_facility.address.zip", enc.service_facility.address if enc.service_facility else None),
    ):
        if addr is not None and not zip_is_zip4(addr.zip):
            yield ctx.finding(
                loc,
                f"ZIP {addr.zip} is not a ZIP+4; the 837P requires nine digits for this address.",
                "Look up the ZIP+4 of the address (USPS) and enter all nine digits.",
            )


@rule("billing-address-po-box", Severity.ERROR, family="identity",
      title="A PO box as the billing provider's address", source=f"{_837}: 2010AA N3 must be a street address", needs="po-box")  # fmt: skip
def billing_po_box(enc: Encounter, ctx: RuleContext) -> Iterator[Finding]:
    b = enc.billing_provider
    if b is not None and b.address is not None and (is_po_box(b.address.line1) or is_po_box(b.address.line2)):
        yield ctx.finding(
            "billing_provider.address.line1",
            f"The billing address '{b.address.line1}' is a PO box; the billing provider needs a street address.",
            "Enter the street address of the practice; put the PO box in pay_to_address.",
        )
