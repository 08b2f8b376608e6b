"""Provider disciplines: NUCC taxonomy codes and license credentials → massage therapist,
physical/occupational therapist, assistant, chiropractor, with what follows for modifiers and
Medicare coverage. The data live in ``provider_disciplines.toml`` with their sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from therabill.domain.errors import ReferenceDataError
from therabill.refdata.catalog import DataSource, load_toml

__all__ = ["Discipline", "Disciplines", "default_disciplines", "load_disciplines"]


@dataclass(frozen=True, slots=True)
class Discipline:
    """One provider discipline.

    Attributes:
        id: ``massage``, ``pt``, ``pta``, ``ot``, ``ota``, ``slp``, ``chiro``, ...
        label: words for people.
        taxonomy: the NUCC taxonomy codes that name it.
        taxonomy_prefixes: prefixes that match its specializations too.
        credentials: license credentials that name it when no taxonomy is given.
        modifier: its Medicare plan-of-care modifier (GP, GO, GN), if any.
        assistant_modifier: CQ or CO for an assistant discipline.
        medicare_recognized: ``False`` when Medicare does not recognize it as a provider.
        medicare_recognized_source: the source of that.
        medicare_covered_codes: when Medicare covers only some of its services, those codes.
        medicare_covered_source: the source of that.
        medicare_at_codes: codes that carry AT (active treatment) under Medicare.
        medicare_at_source: the source of that.
        not_allowed_categories: code categories it may not furnish (an assistant's evaluations).
        not_allowed_source: the source of that.
    """

    id: str
    label: str
    taxonomy: frozenset[str]
    taxonomy_prefixes: tuple[str, ...]
    credentials: frozenset[str]
    modifier: str | None
    assistant_modifier: str | None
    medicare_recognized: bool
    medicare_recognized_source: str
    medicare_covered_codes: frozenset[str] | None
    medicare_covered_source: str
    medicare_at_codes: frozenset[str]
    medicare_at_source: str
    not_allowed_categories: frozenset[str] = frozenset()
    not_allowed_source: str = ""


def normalize_credential(text: str | None) -> str:
    """``"OTR/L"`` → ``"OTR/L"``, ``"l.m.t."`` → ``"LMT"`` (upper case, no dots or spaces)."""
    return "" if text is None else text.upper().replace(".", "").replace(" ", "")


@dataclass(frozen=True, slots=True)
class Disciplines:
    """The discipline table with lookups by taxonomy and credential.

    Attributes:
        source: provenance of the data file.
        by_id: discipline id → discipline.
    """

    source: DataSource
    by_id: Mapping[str, Discipline]

    def of_taxonomy(self, taxonomy: str | None) -> Discipline | None:
        """The discipline a NUCC taxonomy code names (exact code, then prefix), or ``None``."""
        if not taxonomy:
            return None
        code = taxonomy.strip().upper()
        for d in self.by_id.values():
            if code in d.taxonomy:
                return d
        for d in self.by_id.values():
            if any(code.startswith(p) for p in d.taxonomy_prefixes):
                return d
        return None

    def of_credential(self, credential: str | None) -> Discipline | None:
        """The discipline a license credential names, or ``None``."""
        key = normalize_credential(credential)
        if not key:
            return None
        for d in self.by_id.values():
            if key in d.credentials:
                return d
        return None

    def of_provider(self, taxonomy: str | None, credential: str | None) -> Discipline | None:
        """A provider's discipline: by taxonomy when it has one that is known, else by credential."""
        return self.of_taxonomy(taxonomy) or self.of_credential(credential)


def _discipline(row: dict[str, Any], where: str) -> Discipline:
    try:
        covered = row.get("medicare_covered_codes")
        return Discipline(
            id=str(row["id"]),
            label=str(row["label"]),
            taxonomy=frozenset(str(t).upper() for t in row.get("taxonomy", ())),
            taxonomy_prefixes=tuple(str(t).upper() for t in row.get("taxonomy_prefixes", ())),
            credentials=frozenset(normalize_credential(str(c)) for c in row.get("credentials", ())),
            modifier=row.get("modifier"),
            assistant_modifier=row.get("assistant_modifier"),
            medicare_recognized=bool(row.get("medicare_recognized", True)),
            medicare_recognized_source=str(row.get("medicare_recognized_source", "")),
            medicare_covered_codes=None if covered is None else frozenset(str(c) for c in covered),
            medicare_covered_source=str(row.get("medicare_covered_source", "")),
            medicare_at_codes=frozenset(str(c) for c in row.get("medicare_at_codes", ())),
            medicare_at_source=str(row.get("medicare_at_source", "")),
            not_allowed_categories=frozenset(str(c) for c in row.get("not_allowed_categories", ())),
            not_allowed_source=str(row.get("not_allowed_source", "")),
        )
    except KeyError as exc:
        raise ReferenceDataError(f"{where}: a discipline lacks {exc.args[0]}") from None


def load_disciplines(path: Path | None = None) -> Disciplines:
    """Load the discipline table from ``path`` or the shipped file."""
    where = str(path) if path else "provider_disciplines.toml"
    data = load_toml(path, "provider_disciplines.toml")
    meta = data.get("meta")
    if not isinstance(meta, dict) or "version" not in meta:
        raise ReferenceDataError(f"{where}: [meta] with name, version and sources is required")
    by_id: dict[str, Discipline] = {}
    for row in data.get("discipline", ()):
        d = _discipline(row, where)
        if d.id in by_id:
            raise ReferenceDataError(f"{where}: discipline {d.id} is listed twice")
        by_id[d.id] = d
    source = DataSource(str(meta.get("name", where)), str(meta["version"]), tuple(meta.get("sources", ())))
    return Disciplines(source, MappingProxyType(by_id))


@cache
def default_disciplines() -> Disciplines:
    """The shipped discipline table, loaded once per process."""
    return load_disciplines()
