"""The report indexes: the migration creates them on both engines, exactly as the module
declares them, and ``metadata.create_all`` creates them too."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect

from tests.integration.db.conftest import PgDatabases, new_empty_engine
from therabill.adapters.db import migrations
from therabill.adapters.db.base import metadata
from therabill.adapters.db.report_indexes import PAGE_INDEX_COLUMNS, REPORT_INDEX_COLUMNS

VERSIONS = Path(migrations.__file__).parent / "versions"
REVISION = VERSIONS / "0007_report_indexes.py"
DROPPED = "ix_ledger_entries_report_line"
"""Made by revision 0007, dropped by revision 0030 (no report or page read it)."""


def _module(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _indexes(engine: Engine) -> dict[str, tuple[str, tuple[str, ...], bool]]:
    found = {}
    insp = inspect(engine)
    for table in {t for t, _c, _u in REPORT_INDEX_COLUMNS.values()}:
        for ix in insp.get_indexes(table):
            if ix["name"] in REPORT_INDEX_COLUMNS:
                found[str(ix["name"])] = (
                    table,
                    tuple(str(c) for c in ix["column_names"]),
                    bool(ix["unique"]),
                )
    return found


def test_the_migration_creates_the_report_indexes(engine: Engine) -> None:
    # ``engine`` is migrated to the head (both SQLite and PostgreSQL)
    assert _indexes(engine) == REPORT_INDEX_COLUMNS


def test_the_revision_writes_out_the_same_indexes() -> None:
    made = {n: (t, c, u) for n, t, c, u in _module(REVISION).INDEXES}  # type: ignore[attr-defined]
    dropped = _module(VERSIONS / "0030_drop_entries_line_index.py").COLUMNS  # type: ignore[attr-defined]
    assert made == {**REPORT_INDEX_COLUMNS, DROPPED: ("ledger_entries", dropped, False)}
    assert DROPPED not in REPORT_INDEX_COLUMNS
    revs = migrations.revisions()
    assert revs[revs.index("0007_report_indexes") - 1] == "0006_practice_ledger"


def test_create_all_makes_them_too(tmp_path: Path) -> None:
    eng = create_engine(f"sqlite:///{tmp_path / 'create-all.sqlite3'}")
    metadata.create_all(eng)
    assert _indexes(eng) == REPORT_INDEX_COLUMNS
    eng.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_and_downgrade_of_the_revision(kind: str, tmp_path: Path, pg_databases: PgDatabases) -> None:
    eng = new_empty_engine(kind, tmp_path, pg_databases)
    try:
        migrations.upgrade(eng, "0006_practice_ledger")
        assert _indexes(eng) == {}
        migrations.upgrade(eng, "0007_report_indexes")
        assert _indexes(eng) == REPORT_INDEX_COLUMNS
        migrations.downgrade(eng, "0006_practice_ledger")
        assert _indexes(eng) == {}
    finally:
        eng.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_revision_0023_creates_and_drops_the_page_indexes(
    kind: str, tmp_path: Path, pg_databases: PgDatabases
) -> None:
    def page_indexes(engine: Engine) -> dict[str, tuple[str, tuple[str, ...], bool]]:
        insp = inspect(engine)
        return {
            str(ix["name"]): (table, tuple(str(c) for c in ix["column_names"]), bool(ix["unique"]))
            for table in {t for t, _c, _u in PAGE_INDEX_COLUMNS.values()}
            for ix in insp.get_indexes(table)
            if ix["name"] in PAGE_INDEX_COLUMNS
        }

    eng = new_empty_engine(kind, tmp_path, pg_databases)
    try:
        migrations.upgrade(eng, "0022_remittance_work")
        assert page_indexes(eng) == {}
        migrations.upgrade(eng, "0023_practice_pages")
        status_index = PAGE_INDEX_COLUMNS["ix_claims_practice_status"]
        as_0023 = {
            **PAGE_INDEX_COLUMNS,
            "ix_claims_practice_status": (status_index[0], status_index[1][:-2], status_index[2]),
        }
        assert page_indexes(eng) == as_0023
        migrations.upgrade(eng, "0027_followup_columns")  # the follow-up worklist's two columns
        assert page_indexes(eng) == PAGE_INDEX_COLUMNS
        migrations.downgrade(eng, "0026_trend_totals")
        assert page_indexes(eng) == as_0023
        migrations.downgrade(eng, "0022_remittance_work")
        assert page_indexes(eng) == {}
    finally:
        eng.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_revision_0030_drops_the_entries_line_index_and_its_downgrade_makes_it_again(
    kind: str, tmp_path: Path, pg_databases: PgDatabases
) -> None:
    def line_index(engine: Engine) -> list[tuple[str, ...]]:
        return [
            tuple(str(c) for c in ix["column_names"])
            for ix in inspect(engine).get_indexes("ledger_entries")
            if ix["name"] == DROPPED
        ]

    eng = new_empty_engine(kind, tmp_path, pg_databases)
    try:
        migrations.upgrade(eng, "0029_followup_index")
        before = line_index(eng)
        assert len(before) == 1
        migrations.upgrade(eng, "0030_drop_entries_line_index")
        assert line_index(eng) == []
        migrations.downgrade(eng, "0029_followup_index")
        assert line_index(eng) == before
    finally:
        eng.dispose()
