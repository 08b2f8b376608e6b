"""Loader of the contraindication table (``data/contraindications.toml``).

A file of the same shape given by path replaces the shipped one (a practice's own reviewed
table), so changing the classification of a condition needs no code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from therabill.domain.errors import Problem, ReferenceDataError
from therabill.domain.intake import ContraindicationRule, ContraindicationTable, Kind
from therabill.refdata.catalog import body_regions, data_source, load_toml

__all__ = ["APPLIES_TO", "default_contraindications", "load_contraindications"]

APPLIES_TO = frozenset(
    {
        "conditions",
        "medications",
        "surgeries",
        "injuries",
        "illnesses",
        "devices",
        "pregnancy",
        "pregnancy_high_risk",
        "allergies_topical",
        "reported",
    }
)
"""The intake parts an entry can be matched against."""

_KEYS = frozenset(
    {
        "id",
        "label",
        "kind",
        "applies_to",
        "keywords",
        "within_days",
        "default_regions",
        "guidance",
        "source",
        "review",
    }
)


def _rule(row: dict[str, Any], where: str, regions: frozenset[str]) -> ContraindicationRule:
    rid = str(row.get("id", "?"))
    loc = f"{where} rule {rid}"
    problems = [
        Problem("refdata-field-unknown", loc, f"unknown field {k!r}") for k in sorted(set(row) - _KEYS)
    ]
    problems += [
        Problem("refdata-field-missing", loc, f"lacks {k!r}")
        for k in ("id", "label", "kind", "applies_to", "source")
        if k not in row
    ]
    if problems:
        raise ReferenceDataError(f"{loc} is not valid", tuple(problems))
    try:
        kind = Kind(row["kind"])
    except ValueError:
        raise ReferenceDataError(
            f"{loc}: kind must be absolute, local or precaution",
            (Problem("refdata-value-invalid", f"{loc}.kind", str(row["kind"])),),
        ) from None
    parts = tuple(str(p) for p in row["applies_to"])
    unknown = sorted(set(parts) - APPLIES_TO)
    if unknown or not parts:
        raise ReferenceDataError(
            f"{loc}: applies_to has unknown parts {unknown}",
            (Problem("refdata-value-invalid", f"{loc}.applies_to", ", ".join(unknown) or "empty"),),
        )
    defaults = tuple(str(r) for r in row.get("default_regions", ()))
    bad = sorted(set(defaults) - regions)
    if bad:
        raise ReferenceDataError(
            f"{loc}: default_regions are not body-region ids: {bad}",
            (Problem("refdata-value-invalid", f"{loc}.default_regions", ", ".join(bad)),),
        )
    within = row.get("within_days")
    if within is not None and (not isinstance(within, int) or isinstance(within, bool) or within <= 0):
        raise ReferenceDataError(
            f"{loc}: within_days must be a positive whole number",
            (Problem("refdata-value-invalid", f"{loc}.within_days", str(within)),),
        )
    return ContraindicationRule(
        id=rid,
        label=str(row["label"]),
        kind=kind,
        applies_to=parts,
        keywords=tuple(str(k).lower() for k in row.get("keywords", ())),
        within_days=within,
        default_regions=defaults,
        guidance=str(row.get("guidance", "")),
        source=str(row["source"]),
        review=bool(row.get("review", False)),
    )


def load_contraindications(path: Path | None = None) -> ContraindicationTable:
    """Load the table from ``path`` or the shipped file.

    Raises:
        ReferenceDataError: a missing field, an unknown kind or part, a region outside the
            vocabulary, or an id listed twice.
    """
    where = str(path) if path else "contraindications.toml"
    data = load_toml(path, "contraindications.toml")
    src = data_source(data, where)
    regions = frozenset(body_regions())
    rules: list[ContraindicationRule] = []
    seen: set[str] = set()
    for row in data.get("rule", ()):
        rule = _rule(row, where, regions)
        if rule.id in seen:
            raise ReferenceDataError(f"{where}: rule {rule.id} is listed twice")
        seen.add(rule.id)
        rules.append(rule)
    return ContraindicationTable(src.name, src.version, src.sources, tuple(rules))


@cache
def default_contraindications() -> ContraindicationTable:
    """The shipped table, loaded once per process."""
    return load_contraindications()
