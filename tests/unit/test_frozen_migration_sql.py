"""The revisions that create the trend triggers run the statements frozen beside them, not the
modules' current ones: when ``trend_totals`` or ``outcome_totals`` changes what they write, a
database already at such a revision keeps the old triggers, so the change needs a revision of
its own that replaces them (and freezes its own statements). The modules must write what the
newest frozen file holds; the older files stay as their revisions made them."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from therabill.adapters.db import outcome_totals, trend_totals

FROZEN = ("0026_trend_totals.json", "0028_posting_triggers.json")
"""The revisions with frozen trend statements, oldest first."""


def _frozen(name: str) -> dict[str, Any]:
    versions = resources.files("therabill.adapters.db.migrations").joinpath("versions")
    loaded: dict[str, Any] = json.loads(versions.joinpath(name).read_text())
    return loaded


def _newest(part: str, dialect: str) -> list[str]:
    """``part`` (``fill``, ``create``, ``drop``) as the newest revision that froze it has it."""
    for name in reversed(FROZEN):
        frozen = _frozen(name)[dialect]
        if part in frozen:
            statements: list[str] = frozen[part]
            return statements
    raise AssertionError(f"no revision froze {part!r}")


def test_every_frozen_file_is_listed() -> None:
    versions = resources.files("therabill.adapters.db.migrations").joinpath("versions")
    assert sorted(p.name for p in versions.iterdir() if p.name.endswith(".json")) == list(FROZEN)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_newest_frozen_statements_are_what_the_trend_modules_write(dialect: str) -> None:
    now = {
        "fill": [*trend_totals.fill_sql(dialect), *outcome_totals.fill_sql(dialect)],
        "create": list(trend_totals.create_sql(dialect)),
        "drop": list(trend_totals.drop_sql(dialect)),
    }
    for part, statements in now.items():
        assert _newest(part, dialect) == statements, (
            f"the trend modules write other {part} statements than the newest revision froze: add a "
            "revision that drops the old triggers and creates the new ones, with its own frozen file "
            "(and leave the older frozen files as they are)"
        )


def test_revision_0026_keeps_its_row_triggers() -> None:
    """0026's file is what 0026 ran (row triggers on both engines); 0028 made the PostgreSQL
    ones that a statement runs for many rows statement triggers."""
    before = " ".join(_frozen("0026_trend_totals.json")["postgresql"]["create"])
    after = " ".join(_frozen("0028_posting_triggers.json")["postgresql"]["create"])
    assert "FOR EACH STATEMENT" not in before
    assert after.count("FOR EACH STATEMENT") == len(trend_totals.statement_triggers())
    assert _frozen("0028_posting_triggers.json")["sqlite"] == {
        k: v for k, v in _frozen("0026_trend_totals.json")["sqlite"].items() if k != "fill"
    }
