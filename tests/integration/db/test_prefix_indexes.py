"""Revision 0031 drops the one-column indexes whose column leads another index of the table.

* Each one it drops still has, at the head, an index or unique constraint of its table that
  starts with the same column (a B-tree index serves every lookup on its leading column), so
  no query loses its index.
* No other one-column index at the head is such a prefix (none was left behind), on both
  engines.
* Upgrading drops exactly those indexes, and downgrading makes them again, on both engines.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from tests.integration.db.conftest import PgDatabases, new_empty_engine
from therabill.adapters.db import migrations

REVISION = Path(migrations.__file__).parent / "versions" / "0031_drop_prefix_indexes.py"


def _dropped() -> tuple[tuple[str, str], ...]:
    spec = importlib.util.spec_from_file_location(REVISION.stem, REVISION)
    assert spec and spec.loader
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.DROPPED)


def _leading(engine: Engine, table: str) -> dict[str, tuple[str, ...]]:
    """Every index and unique constraint of ``table`` (name → columns), partial ones left out."""
    insp = inspect(engine)
    found = {
        str(ix["name"]): tuple(str(c) for c in ix["column_names"])
        for ix in insp.get_indexes(table)
        if not any(k.endswith("_where") for k in (ix.get("dialect_options") or {}))
    }
    for uq in insp.get_unique_constraints(table):
        found[str(uq["name"])] = tuple(str(c) for c in uq["column_names"])
    return found


def test_every_dropped_index_has_a_wider_one_starting_with_its_column(engine: Engine) -> None:
    for table, column in _dropped():
        indexes = _leading(engine, table)
        assert f"ix_{table}_{column}" not in indexes
        wider = [name for name, cols in indexes.items() if cols[0] == column and len(cols) > 1]
        assert wider, f"{table}.{column} has no index left"


def test_no_one_column_index_is_left_that_leads_another(engine: Engine) -> None:
    insp = inspect(engine)
    left = []
    for table in insp.get_table_names():
        indexes = _leading(engine, table)
        uniques = {name for name in indexes if name.startswith(("uq_", "pk_"))}
        for name, cols in indexes.items():
            if len(cols) != 1 or name in uniques:
                continue
            if any(other[0] == cols[0] and len(other) > 1 for n, other in indexes.items() if n != name):
                left.append(name)
    assert left == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_drops_them_and_downgrade_makes_them_again(
    kind: str, tmp_path: Path, pg_databases: PgDatabases
) -> None:
    dropped = _dropped()

    def present(engine: Engine) -> set[str]:
        insp = inspect(engine)
        names = {f"ix_{t}_{c}" for t, c in dropped}
        return {str(ix["name"]) for t in {t for t, _ in dropped} for ix in insp.get_indexes(t)} & names

    eng = new_empty_engine(kind, tmp_path, pg_databases)
    try:
        migrations.upgrade(eng, "0030_drop_entries_line_index")
        assert present(eng) == {f"ix_{t}_{c}" for t, c in dropped}
        migrations.upgrade(eng, "0031_drop_prefix_indexes")
        assert present(eng) == set()
        migrations.downgrade(eng, "0030_drop_entries_line_index")
        assert present(eng) == {f"ix_{t}_{c}" for t, c in dropped}
    finally:
        eng.dispose()
