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

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from therabill import config
from therabill.adapters.db.tables import payers, practices, provider_licenses, providers
from therabill.clock import Clock, current_time
from therabill.domain.errors import Problem, ReferenceDataError, TherabillError
from therabill.domain.money import ZERO, D, MoneyError
from therabill.domain.validation import ein_is_valid, npi_is_valid, taxonomy_is_valid, zip_is_valid
from therabill.refdata import fees, icd10, ncci
from therabill.refdata import profiles as profile_data
from therabill.refdata.catalog import default_catalog
from therabill.refdata.fees import parse_fees
from therabill.refdata.ncci import REFDATA_DB
from therabill.service_layer.uow import UnitOfWork

MAX_PROFILE_BYTES = 64 * 1024
_STATE = re.compile(r"^[A-Z]{2}$")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
_PHONE = re.compile(r"^[0-9]{10}$")


class SettingsError(TherabillError):
    """A refused settings change (the problems name each field)."""

    code = "settings-invalid"


def _fail(problems: list[Problem], message: str = "the settings were not saved") -> None:
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
    if data.state and not _STATE.match(data.state):
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
    _fail(practice_problems(data))
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
    """

    first_name: str
    last_name: str
    npi: str | None
    taxonomy: str | None
    credential: str | None
    licenses: tuple[tuple[str, str, date | None], ...] = ()
    active: bool = True


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
        if not _STATE.match(state):
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
    _fail(provider_problems(data))
    values = {
        "first_name": data.first_name.strip(),
        "last_name": data.last_name.strip(),
        "npi": data.npi,
        "taxonomy": data.taxonomy,
        "credential": data.credential,
        "active": data.active,
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


def profiles_dir() -> Path:
    """Where practices' own profile files live (created on first use): the installation's
    first profile folder, else ``<data folder>/profiles``."""
    installation = config.current()
    dirs = installation.profile_dirs()
    folder = dirs[0] if dirs else installation.data_path() / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def practice_slug(engine: Engine, practice_id: str) -> str:
    """The practice's short name (the prefix of its own profiles)."""
    with UnitOfWork(engine, practice_id, "system", read_only=True) as uow:
        return str(
            uow.session.execute(select(practices.c.slug).where(practices.c.id == practice_id)).scalar_one()
        )


def shipped_profiles() -> list[str]:
    """The profiles shipped with therabill."""
    return sorted(p.stem for p in _shipped_files())


def _shipped_files() -> list[Path]:
    from importlib import resources

    folder = resources.files("therabill.refdata").joinpath("data", "payers")
    return [Path(str(p.name)) for p in folder.iterdir() if str(p.name).endswith(".toml")]


def own_profiles(slug: str) -> list[str]:
    """The practice's own profiles (files ``<slug>.*.toml`` of the profiles folder)."""
    return sorted(p.stem for p in profiles_dir().glob(f"{slug}.*.toml"))


def usable_profiles(slug: str) -> list[str]:
    """Profiles a payer of this practice may use: the shipped ones and the practice's own."""
    return sorted(set(shipped_profiles()) | set(own_profiles(slug)))


def describe_profile(name: str) -> dict[str, Any]:
    """A profile with every setting, its value and its source (for the settings page)."""
    prof = profile_data.load_profile(name, [profiles_dir()])
    return {
        "id": prof.id,
        "label": prof.label,
        "version": prof.version,
        "file": prof.path,
        "settings": [
            {"name": k, "value": s.value, "source": s.source, "review": s.review, "params": dict(s.params)}
            for k, s in sorted(prof.settings.items())
        ],
    }


def profile_text(slug: str, name: str) -> str:
    """The TOML text of a profile (the practice's own file, else the shipped one)."""
    if name.startswith(f"{slug}."):
        path = profiles_dir() / f"{name}.toml"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    from importlib import resources

    shipped = resources.files("therabill.refdata").joinpath("data", "payers", f"{name}.toml")
    if name in shipped_profiles() and shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    raise SettingsError("no such profile", (Problem("not-found", "profile", "no such profile"),))


def validate_profile_text(text: str, name: str) -> profile_data.PayerProfile:
    """Parse and check a profile's TOML (every setting needs a value and a source)."""
    if len(text.encode("utf-8")) > MAX_PROFILE_BYTES:
        _fail([Problem("settings-profile-too-large", "toml", f"at most {MAX_PROFILE_BYTES} bytes")])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(
            "the profile is not valid TOML", (Problem("settings-profile-toml", "toml", str(exc)),)
        ) from None
    meta = data.setdefault("profile", {})
    if not isinstance(meta, dict):
        _fail([Problem("settings-profile-invalid", "toml", "[profile] must be a table")])
    meta["id"] = name
    try:
        return profile_data._parse(data, f"{name}.toml")  # noqa: SLF001 - the loader's own validation
    except ReferenceDataError as exc:
        raise SettingsError(
            "the profile was refused", (Problem("settings-profile-invalid", "toml", str(exc)),)
        ) from None


def save_profile(
    engine: Engine, practice_id: str, actor: str, name: str, text: str, clock: Clock = current_time
) -> str:
    """Validate and store a practice's own profile ``<slug>.<name>``; returns its id."""
    slug = practice_slug(engine, practice_id)
    name = name.strip().lower()
    if name.startswith(f"{slug}."):
        name = name[len(slug) + 1 :]
    if not _PROFILE_NAME.match(name):
        _fail([Problem("settings-profile-name", "name", "use 1-40 lower-case letters, digits, - or _")])
    full = f"{slug}.{name}"
    validate_profile_text(text, full)
    if "[profile]" not in text:
        text = f'[profile]\nid = "{full}"\n\n' + text
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        target = profiles_dir() / f"{full}.toml"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        uow.record("profile.save", "payer_profile", full, {"bytes": len(text)})
    profile_data._load_cached.cache_clear()  # noqa: SLF001 - an edited file must be read again
    return full


@dataclass(frozen=True, slots=True)
class PayerInput:
    """A payer of the practice.

    Attributes:
        name: the payer's name.
        payer_id: its electronic payer id (NM109 of the 837P).
        profile: the rule profile it uses.
        claim_filing_indicator: SBR09 (``CI``, ``MB``, ``BL``, ``WC``, ``AM``...).
        line1: claims address street.
        city: city.
        state: state.
        zip: ZIP.
    """

    name: str
    payer_id: str | None
    profile: str | None
    claim_filing_indicator: str | None
    line1: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


FILING_INDICATORS = (
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "AM",
    "BL",
    "CH",
    "CI",
    "DS",
    "FI",
    "HM",
    "LM",
    "MA",
    "MB",
    "MC",
    "OF",
    "TV",
    "VA",
    "WC",
    "ZZ",
)


def payer_problems(data: PayerInput, allowed_profiles: Iterable[str]) -> list[Problem]:
    """What is wrong with a payer (empty when it can be saved)."""
    out = []
    if not data.name.strip() or len(data.name) > 120:
        out.append(Problem("settings-name-invalid", "name", "must be 1-120 characters"))
    if data.payer_id and (len(data.payer_id) > 80 or not data.payer_id.replace("-", "").isalnum()):
        out.append(Problem("settings-payer-id-invalid", "payer_id", "letters and digits, at most 80"))
    if data.profile and data.profile not in set(allowed_profiles):
        out.append(Problem("settings-profile-unknown", "profile", "no such profile for this practice"))
    if data.claim_filing_indicator and data.claim_filing_indicator not in FILING_INDICATORS:
        out.append(Problem("settings-filing-indicator", "claim_filing_indicator", "is not an SBR09 code"))
    if data.state and not _STATE.match(data.state):
        out.append(Problem("settings-state-invalid", "state", "must be a two-letter state code"))
    if data.zip and not zip_is_valid(data.zip):
        out.append(Problem("settings-zip-invalid", "zip", "must be 5 or 9 digits"))
    return out


def save_payer(
    engine: Engine,
    practice_id: str,
    actor: str,
    data: PayerInput,
    payer_id: str | None = None,
    clock: Clock = current_time,
) -> str:
    """Add a payer (``payer_id`` None) or change one (name, ids, profile, address)."""
    _fail(payer_problems(data, usable_profiles(practice_slug(engine, practice_id))))
    address = {"line1": data.line1, "city": data.city, "state": data.state, "zip": data.zip}
    values = {
        "name": data.name.strip(),
        "payer_id": data.payer_id,
        "profile": data.profile,
        "claim_filing_indicator": data.claim_filing_indicator,
        "address": {k: v for k, v in address.items() if v} or None,
    }
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        if payer_id is None:
            payer_id = uow.records.insert(payers, created_at=uow.now(), **values)
            uow.record("payer.add", "payer", payer_id, {"profile": data.profile})
        else:
            old = uow.records.get(payers, payer_id)
            uow.records.update(payers, payer_id, **values)
            uow.record("payer.update", "payer", payer_id, {"profile": data.profile, "was": old.profile})
    return payer_id


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
    _fail(fee_problems(kept))
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
        _fail([Problem("settings-fee-csv-empty", "file", f"no practice_fee in force on {on.isoformat()}")])
    return out


def catalog_codes() -> list[str]:
    """The codes of the catalog (for the fee table)."""
    return sorted(default_catalog().codes)


# --- reference data imports (shared by every practice of the installation) -----------------

REFDATA_KINDS = ("ncci-ptp", "mue", "fees", "icd10")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What a reference data import did.

    Attributes:
        kind: ``ncci-ptp``, ``mue``, ``fees`` or ``icd10``.
        rows: rows (or codes) imported.
        seconds: how long it took.
        detail: a sentence for people.
    """

    kind: str
    rows: int
    seconds: float
    detail: str


def import_refdata(
    engine: Engine,
    practice_id: str,
    actor: str,
    kind: str,
    files: list[Path],
    *,
    base: Path | None = None,
    effective: date | None = None,
    release: tuple[str, date, date] | None = None,
    clock: Clock = current_time,
) -> ImportResult:
    """Run one of the official loaders on files already saved under server-made names.

    ``ncci-ptp``: every part of the CMS practitioner PTP file (replaces the table);
    ``mue``: one quarter's practitioner MUE file (``effective`` if its name has no date);
    ``fees``: the fee schedule CSV used for estimates; ``icd10``: a CMS release, ``files`` =
    (tabular XML, code list) and ``release`` = (name, effective from, effective to).
    All or nothing: a bad row leaves the previous data in place. Audited in the practice
    that ran it.
    """
    import time

    started = time.perf_counter()
    try:
        if kind == "ncci-ptp":
            rows = ncci.import_ptp(files, base)
            detail = f"{rows} PTP edit pairs"
        elif kind == "mue":
            rows = ncci.import_mue(files[0], effective, base)
            detail = f"{rows} MUE values"
        elif kind == "fees":
            rows = fees.import_fees(files[0], base)
            detail = f"{rows} fee rows"
        elif kind == "icd10":
            if release is None or len(files) != 2:
                _fail(
                    [
                        Problem(
                            "settings-import-files",
                            "files",
                            "give the tabular XML, the code list, name and dates",
                        )
                    ]
                )
                raise AssertionError  # unreachable: _fail raised
            name, start, end = release
            if not _PROFILE_NAME.match(name):
                _fail([Problem("settings-import-name", "name", "use letters, digits, - or _ (e.g. 2027)")])
            got = icd10.import_release(
                files[0], files[1], name=name, effective_from=start, effective_to=end, base=base
            )
            rows = 1
            detail = f"release {got.name} ({got.effective_from} to {got.effective_to})"
        else:
            _fail([Problem("settings-import-kind", "kind", f"must be one of {', '.join(REFDATA_KINDS)}")])
            raise AssertionError
    except (ReferenceDataError, ValueError, OSError) as exc:
        message = (
            str(exc)
            if isinstance(exc, ReferenceDataError)
            else f"the file could not be read ({type(exc).__name__})"
        )
        raise SettingsError(
            "the import was refused; nothing changed", (Problem("settings-import-failed", "file", message),)
        ) from None
    took = round(time.perf_counter() - started, 2)
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.record("refdata.import", "refdata", kind, {"rows": rows, "seconds": took})
    return ImportResult(kind, rows, took, f"Imported {detail} in {took} s.")


def refdata_status(base: Path | None = None) -> dict[str, Any]:
    """What reference data is in use: the NCCI/MUE imports, the fee schedule, ICD-10-CM releases."""
    import sqlite3

    db = (base or config.data_dir()) / REFDATA_DB
    imports: list[dict[str, Any]] = []
    if db.is_file():
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            imports.extend(
                {"kind": r[0], "files": r[1], "rows": r[2], "at": r[3]}
                for r in con.execute("SELECT kind, files, row_count, imported_at FROM imports ORDER BY kind")
            )
            try:
                n, f = con.execute("SELECT count(*), max(file) FROM fees").fetchone()
                if n:
                    imports.append({"kind": "fees", "files": f, "rows": n, "at": ""})
            except sqlite3.OperationalError:
                pass
        except sqlite3.OperationalError:
            pass
        finally:
            con.close()
    releases = [
        {"name": r.name, "label": r.label, "from": r.effective_from, "to": r.effective_to, "source": r.source}
        for r in icd10.list_releases(base)
    ]
    return {"imports": imports, "icd10": releases}


def practice_record(engine: Engine, practice_id: str, actor: str) -> Any:
    """The practice's own record (for its settings form)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()


def list_payers(engine: Engine, practice_id: str, actor: str) -> list[Any]:
    """The practice's payers, by name."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return list(uow.session.execute(uow.records.scoped(payers).order_by(payers.c.name)).all())


def payer_record(engine: Engine, practice_id: str, actor: str, payer_id: str) -> Any:
    """One payer of the practice.

    Raises:
        NotFoundError: no such payer in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.get(payers, payer_id)


def provider_rows(engine: Engine, practice_id: str, actor: str) -> list[Any]:
    """The practice's providers, by last name (to link a user to one)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return list(uow.session.execute(uow.records.scoped(providers).order_by(providers.c.last_name)).all())


def may_import_refdata(engine: Engine, practice_id: str, actor: str, named: str) -> bool:
    """Whether this practice's owners may replace the installation's reference data: the one
    practice ``named`` (slug or id) when a name is given, else the only practice there is."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        if named:
            row = uow.session.execute(
                select(practices.c.id, practices.c.slug).where(practices.c.id == practice_id)
            ).one()
            return named in (row.id, row.slug)
        return len(uow.session.execute(select(practices.c.id).limit(2)).all()) == 1
