"""Loaders for the code catalog, the modifier table and the body-region vocabulary.

The data live in dated TOML files under ``therabill/refdata/data`` with their sources; these
functions read them once and return frozen records. A file of the same shape given by path
replaces the shipped one (``load_catalog(path)``), so newer or official data need no code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from therabill.domain.errors import Problem, ReferenceDataError
from therabill.domain.timing import AddonRole, CodeUnits, UnitModel

__all__ = [
    "BodyRegion",
    "CodeCatalog",
    "CodeInfo",
    "DataSource",
    "Modifier",
    "body_regions",
    "load_catalog",
    "load_toml",
    "modifiers",
]


@dataclass(frozen=True, slots=True)
class DataSource:
    """Where a reference data file came from.

    Attributes:
        name: the data set's name.
        version: its version date.
        sources: the documents it was compiled from.
    """

    name: str
    version: str
    sources: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """A supported CPT/HCPCS code.

    Attributes:
        code: the code.
        category: massage, manual_therapy, therapeutic_procedure, evaluation, ...
        description: short description in our own words.
        unit_model: how units are counted.
        addon_role: for acupuncture: initial or add-on.
        partner: for acupuncture: the paired initial or add-on code.
        therapy: ``always``, ``sometimes`` or empty (GP/GO/GN under Medicare).
        medicare_status: PFS status indicator.
        medicare_status_note: a note on that status.
        pc_tc: whether 26/TC can apply.
        techniques: techniques that point to this code.
        unit_source: why the code has its unit model (empty: the file's sources).
        in_person: hands-on work that cannot be delivered by telehealth.
    """

    code: str
    category: str
    description: str
    unit_model: UnitModel
    addon_role: AddonRole | None
    partner: str | None
    therapy: str
    medicare_status: str
    medicare_status_note: str
    pc_tc: bool
    techniques: tuple[str, ...]
    unit_source: str = ""
    in_person: bool = False

    @property
    def timed(self) -> bool:
        """True for 15-minute timed codes (the 8-minute rule applies)."""
        return self.unit_model is UnitModel.TIMED15


@dataclass(frozen=True, slots=True)
class CodeCatalog:
    """The code catalog: codes by id, their unit models, and technique lookups.

    Attributes:
        source: provenance of the data file.
        codes: code → info.
        units: code → what the units engine needs (built once).
        by_technique: technique (lower case) → codes it points to.
    """

    source: DataSource
    codes: Mapping[str, CodeInfo]
    units: Mapping[str, CodeUnits]
    by_technique: Mapping[str, tuple[str, ...]]

    def get(self, code: str) -> CodeInfo | None:
        """The info of ``code``, or ``None`` when it is not supported."""
        return self.codes.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def codes_for_technique(self, technique: str) -> tuple[str, ...]:
        """The codes a documented technique points to (case-insensitive)."""
        return self.by_technique.get(technique.strip().lower(), ())


@dataclass(frozen=True, slots=True)
class Modifier:
    """A modifier and what it means.

    Attributes:
        code: the modifier.
        meaning: short meaning in our own words.
        kind: its kinds (ncci_bypass, mue_bypass, therapy_discipline, ...).
        discipline: for GP/GO/GN: pt, ot or slp.
        status: verification status of the entry.
    """

    code: str
    meaning: str
    kind: tuple[str, ...]
    discipline: str | None
    status: str


@dataclass(frozen=True, slots=True)
class BodyRegion:
    """A body region of the vocabulary.

    Attributes:
        id: the word used in documents.
        label: a label for people.
        group: the anatomic group (spinal, upper_extremity, ...).
    """

    id: str
    label: str
    group: str


def _data_path(name: str) -> Any:
    return resources.files("therabill.refdata").joinpath("data", name)


def load_toml(path: Path | None, default_name: str) -> dict[str, Any]:
    """Read a TOML reference file (``path``, or the shipped ``default_name``)."""
    where = str(path) if path is not None else default_name
    try:
        if path is not None:
            with open(path, "rb") as fh:
                return tomllib.load(fh)
        with _data_path(default_name).open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ReferenceDataError(f"cannot read reference data {where}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(
            f"reference data {where} is not valid TOML: {exc}",
            (Problem("refdata-toml-invalid", where, str(exc)),),
        ) from None


def data_source(data: dict[str, Any], where: str) -> DataSource:
    """The ``[meta]`` of a reference data file (name, version, sources); ``ReferenceDataError`` without one."""
    meta = data.get("meta")
    if not isinstance(meta, dict) or "version" not in meta:
        raise ReferenceDataError(f"{where}: [meta] with name, version and sources is required")
    return DataSource(str(meta.get("name", where)), str(meta["version"]), tuple(meta.get("sources", ())))


def _code_info(row: dict[str, Any], where: str) -> CodeInfo:
    try:
        model = UnitModel(row["unit_model"])
        role = AddonRole(row["addon_role"]) if "addon_role" in row else None
        return CodeInfo(
            code=str(row["code"]),
            category=str(row["category"]),
            description=str(row["description"]),
            unit_model=model,
            addon_role=role,
            partner=row.get("partner"),
            therapy=str(row.get("therapy", "")),
            medicare_status=str(row.get("medicare_status", "")),
            medicare_status_note=str(row.get("medicare_status_note", "")),
            pc_tc=bool(row.get("pc_tc", False)),
            techniques=tuple(str(t).lower() for t in row.get("techniques", ())),
            unit_source=str(row.get("unit_source", "")),
            in_person=bool(row.get("in_person", False)),
        )
    except KeyError as exc:
        raise ReferenceDataError(f"{where}: code {row.get('code', '?')} lacks {exc.args[0]}") from None
    except ValueError as exc:
        raise ReferenceDataError(f"{where}: code {row.get('code', '?')}: {exc}") from None


def load_catalog(path: Path | None = None) -> CodeCatalog:
    """Load the code catalog from ``path`` or the shipped file."""
    where = str(path) if path else "codes.toml"
    data = load_toml(path, "codes.toml")
    codes: dict[str, CodeInfo] = {}
    for row in data.get("code", ()):
        info = _code_info(row, where)
        if info.code in codes:
            raise ReferenceDataError(f"{where}: code {info.code} is listed twice")
        codes[info.code] = info
    techniques: dict[str, list[str]] = {}
    for info in codes.values():
        for t in info.techniques:
            techniques.setdefault(t, []).append(info.code)
    units = {c: CodeUnits(i.unit_model, i.addon_role, i.partner) for c, i in codes.items()}
    return CodeCatalog(
        source=data_source(data, where),
        codes=MappingProxyType(codes),
        units=MappingProxyType(units),
        by_technique=MappingProxyType({k: tuple(v) for k, v in techniques.items()}),
    )


@cache
def default_catalog() -> CodeCatalog:
    """The shipped code catalog, loaded once per process."""
    return load_catalog()


@cache
def modifiers() -> Mapping[str, Modifier]:
    """The modifier table, by code."""
    data = load_toml(None, "modifiers.toml")
    return MappingProxyType(
        {
            str(m["code"]): Modifier(
                code=str(m["code"]),
                meaning=str(m["meaning"]),
                kind=tuple(m.get("kind", ())),
                discipline=m.get("discipline"),
                status=str(m.get("status", "")),
            )
            for m in data.get("modifier", ())
        }
    )


@cache
def body_regions() -> Mapping[str, BodyRegion]:
    """The body-region vocabulary, by id."""
    data = load_toml(None, "body_regions.toml")
    return MappingProxyType(
        {
            str(r["id"]): BodyRegion(id=str(r["id"]), label=str(r["label"]), group=str(r["group"]))
            for r in data.get("region", ())
        }
    )


def source_of(name: str) -> DataSource:
    """The provenance of a shipped TOML reference file."""
    return data_source(load_toml(None, name), name)
