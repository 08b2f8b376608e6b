"""Payers and payer profiles of a practice: the profiles shipped and the practice's own, and the payers
with their electronic ids and claim filing indicators."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from therabill import config
from therabill.adapters.db.tables import payers, practices
from therabill.clock import Clock, current_time
from therabill.domain.errors import Problem, ReferenceDataError
from therabill.domain.validation import zip_is_valid
from therabill.refdata import profiles as profile_data
from therabill.service_layer.practice_settings import (
    MAX_PROFILE_BYTES,
    PROFILE_NAME,
    STATE_CODE,
    SettingsError,
    refuse_settings,
)
from therabill.service_layer.uow import UnitOfWork

FILING_INDICATORS = tuple("11 12 13 14 15 16 17 AM BL CH CI DS FI HM LM MA MB MC OF TV VA WC ZZ".split())
"""The claim filing indicator codes of SBR09 (837P 005010X222A1)."""


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
        refuse_settings([Problem("settings-profile-too-large", "toml", f"at most {MAX_PROFILE_BYTES} bytes")])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(
            "the profile is not valid TOML", (Problem("settings-profile-toml", "toml", str(exc)),)
        ) from None
    meta = data.setdefault("profile", {})
    if not isinstance(meta, dict):
        refuse_settings([Problem("settings-profile-invalid", "toml", "[profile] must be a table")])
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
    if not PROFILE_NAME.match(name):
        refuse_settings(
            [Problem("settings-profile-name", "name", "use 1-40 lower-case letters, digits, - or _")]
        )
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
    if data.state and not STATE_CODE.match(data.state):
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
    refuse_settings(payer_problems(data, usable_profiles(practice_slug(engine, practice_id))))
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


def list_payers(engine: Engine, practice_id: str, actor: str, *, query: str | None = None) -> list[Any]:
    """The practice's payers, by name (those whose name or payer id contains ``query``)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        found = uow.records.scoped(payers).order_by(payers.c.name)
        if query and query.strip():
            needle = query.strip().lower()
            found = found.where(
                func.lower(payers.c.name).contains(needle, autoescape=True)
                | func.lower(func.coalesce(payers.c.payer_id, "")).contains(needle, autoescape=True)
            )
        return list(uow.session.execute(found).all())


def payer_record(engine: Engine, practice_id: str, actor: str, payer_id: str) -> Any:
    """One payer of the practice.

    Raises:
        NotFoundError: no such payer in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.get(payers, payer_id)
