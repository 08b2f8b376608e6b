"""What the trigger-kept report tables share: a row trigger written once for both engines, the
statements that create and drop such triggers, and the comparison of kept rows with expected ones
(``trend_totals``, ``outcome_totals``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Trigger", "changed", "drop_trigger_sql", "keyed_rows", "trigger_sql"]


@dataclass(frozen=True, slots=True)
class Trigger:
    """One row trigger: ``event`` (``AFTER INSERT``...), its table, an optional condition and
    the statements it runs (``NEW`` / ``OLD`` as both engines name the rows)."""

    name: str
    table: str
    event: str
    when: str | None
    body: tuple[str, ...]


def changed(columns: tuple[str, ...], dialect: str) -> str:
    """``OLD`` and ``NEW`` differ in one of ``columns`` (SQL of ``dialect``)."""
    op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in columns)


def trigger_sql(dialect: str, made: tuple[Trigger, ...]) -> list[str]:
    """The statements that create the triggers (and on PostgreSQL their functions)."""
    out = []
    for t in made:
        if dialect == "postgresql":
            body = "; ".join(t.body)
            out.append(
                f"CREATE OR REPLACE FUNCTION {t.name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body}; RETURN NULL; END $$"
            )
            when = f" WHEN ({t.when})" if t.when else ""
            out.append(
                f"CREATE TRIGGER {t.name} {t.event} ON {t.table} FOR EACH ROW{when} EXECUTE FUNCTION {t.name}_fn()"
            )
        else:
            when = f" WHEN {t.when}" if t.when else ""
            body = "; ".join(t.body)
            out.append(f"CREATE TRIGGER {t.name} {t.event} ON {t.table} FOR EACH ROW{when} BEGIN {body}; END")
    return out


def drop_trigger_sql(dialect: str, made: tuple[Trigger, ...]) -> list[str]:
    """The statements that drop the triggers (and their functions)."""
    out = []
    for t in reversed(made):
        if dialect == "postgresql":
            out.append(f"DROP TRIGGER IF EXISTS {t.name} ON {t.table}")
            out.append(f"DROP FUNCTION IF EXISTS {t.name}_fn()")
        else:
            out.append(f"DROP TRIGGER IF EXISTS {t.name}")
    return out


def _moment(value: Any) -> Any:
    if value is None:
        return None
    return str(value)[:19].replace("T", " ")


def keyed_rows(
    result: Any, key: tuple[str, ...], zero: str | None = None
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Rows by ``key`` (the other columns as comparable values; with ``zero``, rows whose
    figures are all zero left out)."""
    out = {}
    for r in result:
        m = dict(r._mapping)
        if zero is not None and all(not m[c] for c in m if c not in key and not isinstance(m[c], str)):
            continue  # a day total taken back to zero counts as no row
        values = tuple(
            _moment(m[c]) if c.endswith("_at") else (int(m[c]) if isinstance(m[c], (int, float)) else m[c])
            for c in m
            if c not in key and c != "services"
        )
        out[tuple(str(m[k]) for k in key)] = values
    return out
