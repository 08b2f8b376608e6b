"""Revision 0026 runs the trigger statements frozen beside it, not the module's current ones:
when ``trend_totals`` or ``outcome_totals`` changes what they write, a database already at 0026
keeps the old triggers, so the change needs a revision of its own that replaces them."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from therabill.adapters.db import outcome_totals, trend_totals


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_revision_0026_runs_what_the_trend_modules_write(dialect: str) -> None:
    frozen = json.loads(
        resources.files("therabill.adapters.db.migrations")
        .joinpath("versions/0026_trend_totals.json")
        .read_text()
    )[dialect]
    now = {
        "fill": [*trend_totals.fill_sql(dialect), *outcome_totals.fill_sql(dialect)],
        "create": list(trend_totals.create_sql(dialect)),
        "drop": list(trend_totals.drop_sql(dialect)),
    }
    assert frozen == now, (
        "the trend modules write other triggers than revision 0026 made: add a revision that drops "
        "the old triggers and creates the new ones (and leave 0026_trend_totals.json as it is)"
    )
