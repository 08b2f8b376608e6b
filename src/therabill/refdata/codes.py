"""X12 code lists (CARC, RARC, groups, claim status categories, service types, POS).

Files live in ``refdata/data/x12codes/`` with their source and date in its README; an
official download with the same two leading columns (``code``, description) replaces one.
"""

from __future__ import annotations

import csv
import functools
import io
import tomllib
from importlib import resources
from types import MappingProxyType
from typing import Any

from therabill.domain.denials import DenialAdvice, DenialTable
from therabill.domain.errors import ReferenceDataError

__all__ = ["LISTS", "code_list", "denial_table", "describe"]

LISTS = {
    "carc": "carc.csv",
    "rarc": "rarc.csv",
    "group": "claim_adjustment_group_codes.csv",
    "claim_status_category": "claim_status_category_codes.csv",
    "service_type": "service_type_codes.csv",
    "place_of_service": "place_of_service.csv",
    "claim_filing_indicator": "claim_filing_indicator_codes.csv",
}


def _read(name: str) -> str:
    try:
        return (
            resources.files("therabill.refdata")
            .joinpath("data", "x12codes", name)
            .read_text(encoding="utf-8")
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(f"cannot read code list {name}: {exc}") from exc


@functools.cache
def code_list(kind: str) -> MappingProxyType[str, str]:
    """``{code: description}`` of one list (``carc``, ``rarc``, ``group``, ...).

    For place of service the description is the short name.
    """
    if kind not in LISTS:
        raise ReferenceDataError(f"unknown code list {kind!r}; known: {', '.join(LISTS)}")
    rows = csv.reader(io.StringIO(_read(LISTS[kind])))
    header = next(rows, None)
    if not header or header[0] != "code" or len(header) < 2:
        raise ReferenceDataError(f"{LISTS[kind]}: the first columns must be code, description")
    return MappingProxyType({r[0]: r[1] for r in rows if r and r[0]})


def describe(kind: str, code: str) -> str | None:
    """The description of ``code`` in list ``kind``, or ``None`` when unknown."""
    return code_list(kind).get(code)


def _advice(table: Any, name: str) -> dict[str, DenialAdvice]:
    out: dict[str, DenialAdvice] = {}
    for code, entry in dict(table.get(name, {})).items():
        if not isinstance(entry, dict) or "words" not in entry or "fix" not in entry:
            raise ReferenceDataError(f"denials.toml: {name}.{code} needs words and fix")
        out[str(code)] = DenialAdvice(str(entry["words"]), str(entry["fix"]))
    return out


@functools.cache
def denial_table() -> DenialTable:
    """The denial explainer's data: advice from ``denials.toml`` and the official descriptions."""
    try:
        data = tomllib.loads(_read("denials.toml"))
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(f"denials.toml: {exc}") from exc
    return DenialTable(
        carc=MappingProxyType(_advice(data, "carc")),
        rarc=MappingProxyType(_advice(data, "rarc")),
        carc_descriptions=code_list("carc"),
        rarc_descriptions=code_list("rarc"),
    )
