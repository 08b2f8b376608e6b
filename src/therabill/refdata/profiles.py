"""Payer profiles: data files that choose the unit method and switch and tune the rules.

A profile is a TOML file named after its id. The shipped ones live in
``therabill/refdata/data/payers``; a practice adds its own by putting ``<id>.toml`` in the
folder named by ``THERABILL_PROFILES_DIR`` (or passed as ``extra_dirs``), which wins over a
shipped file of the same id. Every setting is a table with ``value`` and ``source`` (or
``review = true`` for a default to check), so a finding can say where its parameter came from.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from therabill import config
from therabill.domain.errors import ReferenceDataError
from therabill.domain.timing import UnitMethod

__all__ = ["PayerProfile", "Setting", "list_profiles", "load_profile"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One profile setting with its provenance.

    Attributes:
        value: the value (any TOML value).
        source: where it comes from.
        review: True when it is a default a practice should review.
        params: the setting's other keys (``unit``, ``from``, ``warn_before_days`` of
            ``filing_limit``, for example).
    """

    value: Any
    source: str
    review: bool = False
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class PayerProfile:
    """A payer rule profile.

    Attributes:
        id: the profile id (``medicare``, ``commercial``, a practice's own).
        label: a name for people.
        version: the file's version date.
        settings: every setting by name (``unit_method``, ``filing_limit``, ...).
        path: the file it was read from.
    """

    id: str
    label: str
    version: str
    settings: Mapping[str, Setting]
    path: str

    @property
    def unit_method(self) -> UnitMethod:
        """The unit method the payer uses."""
        return UnitMethod(self.value("unit_method", "cms"))

    def value(self, name: str, default: Any = None) -> Any:
        """The value of setting ``name``, or ``default`` when the profile lacks it."""
        s = self.settings.get(name)
        return default if s is None else s.value

    def setting(self, name: str) -> Setting | None:
        """The setting ``name`` with its source, if present."""
        return self.settings.get(name)

    def source_of(self, name: str) -> str:
        """Provenance text of a setting, for findings."""
        s = self.settings.get(name)
        where = f"payer profile {self.id} {self.version}"
        if s is None:
            return f"{where} (default)"
        note = " (default to review)" if s.review else ""
        return f"{where}: {name}: {s.source}{note}"


def _dirs(extra_dirs: Iterable[Path]) -> list[Path]:
    out = [Path(p) for p in extra_dirs]
    out.extend(config.current().profile_dirs())
    return out


def _parse(data: dict[str, Any], where: str) -> PayerProfile:
    meta = data.get("meta", {})
    prof = data.get("profile")
    if not isinstance(prof, dict) or "id" not in prof:
        raise ReferenceDataError(f"{where}: a [profile] table with an id is required")
    settings: dict[str, Setting] = {}
    for key, val in data.items():
        if key in ("meta", "profile"):
            continue
        if not isinstance(val, dict) or "value" not in val:
            raise ReferenceDataError(f"{where}: setting {key} must be a table with value and source")
        if "source" not in val and not val.get("review"):
            raise ReferenceDataError(f"{where}: setting {key} needs a source or review = true")
        params = {k: v for k, v in val.items() if k not in ("value", "source", "review")}
        settings[key] = Setting(
            val["value"],
            str(val.get("source", "default")),
            bool(val.get("review", False)),
            MappingProxyType(params),
        )
    profile = PayerProfile(
        id=str(prof["id"]),
        label=str(prof.get("label", prof["id"])),
        version=str(meta.get("version", "")),
        settings=MappingProxyType(settings),
        path=where,
    )
    try:
        profile.unit_method  # noqa: B018 - validate early
    except ValueError:
        raise ReferenceDataError(
            f"{where}: unit_method must be one of {', '.join(m.value for m in UnitMethod)}"
        ) from None
    return profile


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(f"{path.name}: not valid TOML: {exc}") from None


def load_profile(name: str, extra_dirs: Iterable[Path] = ()) -> PayerProfile:
    """Load profile ``name``: a practice's own file first, then the shipped one."""
    return _load_cached(name, tuple(str(d) for d in _dirs(extra_dirs)))


@cache
def _load_cached(name: str, dirs: tuple[str, ...]) -> PayerProfile:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ReferenceDataError(f"unknown payer profile {name!r}")
    for d in dirs:
        p = Path(d) / f"{name}.toml"
        if p.is_file():
            return _parse(_read(p), p.name)
    shipped = resources.files("therabill.refdata").joinpath("data", "payers", f"{name}.toml")
    if not shipped.is_file():
        known = ", ".join(list_profiles(()))
        raise ReferenceDataError(f"unknown payer profile {name!r} (known: {known})")
    with shipped.open("rb") as fh:
        return _parse(tomllib.load(fh), f"{name}.toml")


@cache
def _shipped_profiles() -> frozenset[str]:
    """The ids of the profiles shipped with the package (read once)."""
    return frozenset(
        Path(str(p.name)).stem
        for p in resources.files("therabill.refdata").joinpath("data", "payers").iterdir()
        if str(p.name).endswith(".toml")
    )


def list_profiles(extra_dirs: Iterable[Path] = ()) -> list[str]:
    """The ids of every available profile."""
    names = set(_shipped_profiles())
    for d in _dirs(extra_dirs):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)
