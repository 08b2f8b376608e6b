"""Practice settings use cases: practice details, providers, payers and profiles, fee schedule.

Every function works in ONE practice (a ``UnitOfWork``), validates its whole input before it
writes anything, and records an audit event with ids and changed field names only (never
values that could be PHI). Problems carry stable codes (``settings-npi-invalid``...) and the
name of the field they are about.

A practice's own payer profiles are TOML files named ``<practice slug>.<name>.toml`` in the
profiles folder (``THERABILL_PROFILES_DIR``, else ``<data dir>/profiles``): the prefix keeps
one practice from replacing a shipped profile or another practice's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.tables import practices, provider_licenses, providers
from therabill.clock import Clock, current_time
from therabill.domain.errors import Problem, ReferenceDataError, TherabillError
from therabill.domain.money import ZERO, D, MoneyError
from therabill.domain.validation import ein_is_valid, npi_is_valid, taxonomy_is_valid, zip_is_valid
from therabill.refdata.catalog import default_catalog
from therabill.refdata.fees import parse_fees
from therabill.service_layer.uow import UnitOfWork

MAX_PROFILE_BYTES = 64 * 1024
STATE_CODE = re.compile(r"^[A-Z]{2}$")
PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
_PHONE = re.compile(r"^[0-9]{10}$")


class SettingsError(TherabillError):
    """A refused settings change (the problems name each field)."""

    code = "settings-invalid"


def refuse_settings(problems: list[Problem], message: str = "the settings were not saved") -> None:
    if problems:
        raise SettingsError(message, tuple(problems))


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# --- practice ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PracticeInput:
    """The editable details of a practice (billing provider of its claims).

    Attributes:
        name: the practice's name (NM103 of the billing provider).
        npi: the organization NPI (10 digits with the Luhn check digit).
        tax_id: the EIN or SSN used on claims (9 digits).
        tax_id_type: ``EIN`` or ``SSN``.
        taxonomy: the NUCC taxonomy code.
        phone: 10 digits.
        line1: street address (no PO box for the billing provider).
        city: city.
        state: two-letter state.
        zip: ZIP+4 (9 digits) or 5 digits.
        place_of_service: the default place of service code.
        accept_assignment: the practice accepts assignment (CLM07 ``A``, CMS-1500 box 27).
    """

    name: str
    npi: str | None = None
    tax_id: str | None = None
    tax_id_type: str | None = "EIN"
    taxonomy: str | None = None
    phone: str | None = None
    line1: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    place_of_service: str | None = "11"
    accept_assignment: bool = True


def practice_problems(data: PracticeInput) -> list[Problem]:
    """What is wrong with practice details (empty when they can be saved)."""
    out = []
    if not data.name.strip() or len(data.name) > 200:
        out.append(Problem("settings-name-invalid", "name", "must be 1-200 characters"))
    if data.npi and not npi_is_valid(data.npi):
        out.append(Problem("settings-npi-invalid", "npi", "is not a valid NPI (10 digits, check digit)"))
    if data.tax_id and not (len(data.tax_id) == 9 and data.tax_id.isdigit()):
        out.append(Problem("settings-tax-id-invalid", "tax_id", "must be 9 digits"))
    elif data.tax_id and data.tax_id_type == "EIN" and not ein_is_valid(data.tax_id):
        out.append(Problem("settings-tax-id-invalid", "tax_id", "is not a valid EIN"))
    if data.tax_id_type not in (None, "EIN", "SSN"):
        out.append(Problem("settings-tax-id-type", "tax_id_type", "must be EIN or SSN"))
    if data.taxonomy and not taxonomy_is_valid(data.taxonomy):
        out.append(
            Problem("settings-taxonomy-invalid", "taxonomy", "is not a NUCC taxonomy code (e.g. 225700000X)")
        )
    if data.phone and not _PHONE.match(data.phone):
        out.append(Problem("settings-phone-invalid", "phone", "must be 10 digits"))
    if data.state and not STATE_CODE.match(data.state):
        out.append(Problem("settings-state-invalid", "state", "must be a two-letter state code"))
    if data.zip and not zip_is_valid(data.zip):
        out.append(Problem("settings-zip-invalid", "zip", "must be 5 or 9 digits"))
    if data.place_of_service and not (len(data.place_of_service) == 2 and data.place_of_service.isdigit()):
        out.append(Problem("settings-pos-invalid", "place_of_service", "must be a 2-digit code"))
    return out


def update_practice(
    engine: Engine, practice_id: str, actor: str, data: PracticeInput, clock: Clock = current_time
) -> list[str]:
    """Save the practice's details; returns the names of the fields that changed."""
    refuse_settings(practice_problems(data))
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        row = uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()
        address = {"line1": data.line1, "city": data.city, "state": data.state, "zip": data.zip}
        values: dict[str, Any] = {
            "name": data.name.strip(),
            "npi": data.npi,
            "tax_id": data.tax_id,
            "tax_id_type": data.tax_id_type,
            "taxonomy": data.taxonomy,
            "phone": data.phone,
            "place_of_service": data.place_of_service,
            "address": {k: v for k, v in address.items() if v} or None,
            "accept_assignment": data.accept_assignment,
        }
        changed = sorted(k for k, v in values.items() if getattr(row, k) != v)
        if changed:
            uow.session.execute(practices.update().where(practices.c.id == practice_id).values(**values))
            uow.record("practice.update", "practice", practice_id, {"fields": changed})
    return changed


# --- providers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderInput:
    """A rendering provider (therapist) and their state licenses.

    Attributes:
        first_name: first name.
        last_name: last name.
        npi: the individual NPI.
        taxonomy: the NUCC taxonomy (225700000X massage therapist, 225100000X PT...).
        credential: LMT, PT, DC...
        licenses: ``(state, number, expires_on)`` of each license.
        active: whether the provider can be chosen for new visits.
        signature_on_file: the provider's signed authorization is on file (CLM06 ``Y``,
            CMS-1500 box 31 "Signature on File").
    """

    first_name: str
    last_name: str
    npi: str | None
    taxonomy: str | None
    credential: str | None
    licenses: tuple[tuple[str, str, date | None], ...] = ()
    active: bool = True
    signature_on_file: bool = True


def provider_problems(data: ProviderInput) -> list[Problem]:
    """What is wrong with a provider (empty when it can be saved)."""
    out = []
    for loc, value in (("first_name", data.first_name), ("last_name", data.last_name)):
        if not value.strip() or len(value) > 60:
            out.append(Problem("settings-name-invalid", loc, "must be 1-60 characters"))
    if not data.npi:
        out.append(Problem("settings-npi-missing", "npi", "a rendering provider needs an NPI"))
    elif not npi_is_valid(data.npi):
        out.append(Problem("settings-npi-invalid", "npi", "is not a valid NPI (10 digits, check digit)"))
    if data.taxonomy and not taxonomy_is_valid(data.taxonomy):
        out.append(
            Problem("settings-taxonomy-invalid", "taxonomy", "is not a NUCC taxonomy code (e.g. 225700000X)")
        )
    if data.credential and len(data.credential) > 10:
        out.append(Problem("settings-credential-invalid", "credential", "must be at most 10 characters"))
    for i, (state, number, _) in enumerate(data.licenses):
        if not STATE_CODE.match(state):
            out.append(
                Problem("settings-state-invalid", f"licenses[{i}].state", "must be a two-letter state")
            )
        if not number.strip() or len(number) > 40:
            out.append(
                Problem("settings-license-invalid", f"licenses[{i}].number", "must be 1-40 characters")
            )
    return out


def save_provider(
    engine: Engine,
    practice_id: str,
    actor: str,
    data: ProviderInput,
    provider_id: str | None = None,
    clock: Clock = current_time,
) -> str:
    """Add a provider (``provider_id`` None) or replace one's details and licenses."""
    refuse_settings(provider_problems(data))
    values = {
        "first_name": data.first_name.strip(),
        "last_name": data.last_name.strip(),
        "npi": data.npi,
        "taxonomy": data.taxonomy,
        "credential": data.credential,
        "active": data.active,
        "signature_on_file": data.signature_on_file,
    }
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        if provider_id is None:
            provider_id = uow.records.insert(
                providers, is_billing_entity=False, created_at=uow.now(), **values
            )
            action = "provider.add"
        else:
            uow.records.get(providers, provider_id)  # 404 for another practice's id
            uow.records.update(providers, provider_id, **values)
            uow.session.execute(
                provider_licenses.delete().where(
                    provider_licenses.c.provider_id == provider_id,
                    provider_licenses.c.practice_id == practice_id,
                )
            )
            action = "provider.update"
        for state, number, expires in data.licenses:
            uow.records.insert(
                provider_licenses,
                provider_id=provider_id,
                state=state,
                number=number.strip(),
                expires_on=expires,
            )
        uow.record(action, "provider", provider_id, {"licenses": len(data.licenses)})
    return provider_id


def list_providers(engine: Engine, practice_id: str, actor: str) -> list[dict[str, Any]]:
    """The practice's providers with their licenses (soonest expiry first)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        provs = uow.session.execute(
            uow.records.scoped(providers).order_by(providers.c.last_name, providers.c.first_name)
        ).all()
        lic = uow.session.execute(uow.records.scoped(provider_licenses)).all()
    by: dict[str, list[Any]] = {}
    for row in lic:
        by.setdefault(row.provider_id, []).append(row)
    return [
        {
            "row": p,
            "licenses": sorted(by.get(p.id, []), key=lambda r: (r.expires_on or date.max, r.state)),
        }
        for p in provs
    ]


# --- payers and profiles ----------------------------------------------------------------


# --- fee schedule -----------------------------------------------------------------------


def _amount(text: str) -> Decimal | None:
    """A fee typed by a person ("35", "35.00", "$35.00"), through the one money door; None if invalid."""
    try:
        value = D(text.strip().lstrip("$"))
    except MoneyError:
        return None
    return value if ZERO <= value <= Decimal("99999.99") else None


def fee_problems(fees: Mapping[str, str]) -> list[Problem]:
    """What is wrong with a fee table ``{code: amount}`` (codes must be in the catalog)."""
    catalog = default_catalog()
    out = []
    for code, text in fees.items():
        if catalog.get(code) is None:
            out.append(Problem("settings-fee-code-unknown", f"fees.{code}", "is not a code of the catalog"))
        if _amount(text) is None:
            out.append(
                Problem("settings-fee-amount", f"fees.{code}", "must be an amount like 35.00 (0-99999.99)")
            )
    return out


def set_fees(
    engine: Engine,
    practice_id: str,
    actor: str,
    fees: Mapping[str, str],
    clock: Clock = current_time,
    source: str = "form",
) -> dict[str, str]:
    """Replace the practice's fee per unit by code (empty amounts drop a code)."""
    kept = {c.strip().upper(): v.strip() for c, v in fees.items() if v and v.strip()}
    refuse_settings(fee_problems(kept))
    clean = {c: str(_amount(v)) for c, v in sorted(kept.items())}
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        old = (
            uow.session.execute(select(practices.c.fees).where(practices.c.id == practice_id)).scalar() or {}
        )
        uow.session.execute(
            practices.update().where(practices.c.id == practice_id).values(fees=clean or None)
        )
        changed = sorted(set(old) ^ set(clean) | {c for c in clean if old.get(c) != clean[c]})
        uow.record("fees.update", "practice", practice_id, {"codes": changed, "source": source})
    return clean


def fees_from_csv(text: str, name: str, on: date) -> dict[str, str]:
    """The practice fees in force on ``on`` from a fee schedule CSV (``therabill.refdata.fees``)."""
    try:
        rows = parse_fees(text.splitlines(), name)
    except ReferenceDataError as exc:
        raise SettingsError(
            "the fee schedule was refused", (Problem("settings-fee-csv", "file", str(exc)),)
        ) from None
    out: dict[str, str] = {}
    for fee in sorted(rows, key=lambda f: f.effective_from):
        if fee.covers(on) and fee.practice_fee is not None:
            out[fee.code] = str(fee.practice_fee)
    if not out:
        refuse_settings(
            [Problem("settings-fee-csv-empty", "file", f"no practice_fee in force on {on.isoformat()}")]
        )
    return out


def catalog_codes() -> list[str]:
    """The codes of the catalog (for the fee table)."""
    return sorted(default_catalog().codes)


# --- reference data imports (shared by every practice of the installation) -----------------


def practice_record(engine: Engine, practice_id: str, actor: str) -> Any:
    """The practice's own record (for its settings form)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()


def provider_rows(engine: Engine, practice_id: str, actor: str) -> list[Any]:
    """The practice's providers, by last name (to link a user to one)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return list(uow.session.execute(uow.records.scoped(providers).order_by(providers.c.last_name)).all())
