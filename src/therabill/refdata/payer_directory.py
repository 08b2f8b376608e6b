"""The payer directory: payers a practice often adds, with payer ids, profiles and SBR09.

A starter list (``payer_directory.toml``, every entry unverified) that Settings → Payers
searches; choosing an entry fills the new payer's form.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from therabill.domain.errors import ReferenceDataError
from therabill.refdata.catalog import load_toml

__all__ = ["DirectoryPayer", "directory", "search_directory"]


@dataclass(frozen=True, slots=True)
class DirectoryPayer:
    """One payer of the directory."""

    name: str
    payer_id: str
    profile: str
    claim_filing_indicator: str
    unverified: bool


@cache
def directory() -> tuple[DirectoryPayer, ...]:
    """The shipped directory, loaded once."""
    data = load_toml(None, "payer_directory.toml")
    try:
        return tuple(
            DirectoryPayer(
                str(p["name"]),
                str(p.get("payer_id", "")),
                str(p.get("profile", "")),
                str(p.get("claim_filing_indicator", "")),
                bool(p.get("unverified", True)),
            )
            for p in data.get("payers", [])
        )
    except (KeyError, TypeError) as exc:
        raise ReferenceDataError(f"payer_directory.toml: a payer lacks {exc}") from None


def search_directory(query: str, limit: int = 20) -> list[DirectoryPayer]:
    """Directory payers whose name, payer id or profile contains ``query`` (any case)."""
    q = " ".join(query.lower().split())
    if not q:
        return list(directory()[:limit])
    return [p for p in directory() if q in f"{p.name} {p.payer_id} {p.profile}".lower()][:limit]
