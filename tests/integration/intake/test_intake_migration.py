"""Migration 0004_intake creates exactly the tables of ``intake_tables`` and drops them again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from therabill.adapters.db import migrations
from therabill.adapters.db.base import metadata
from therabill.adapters.db.intake_tables import INTAKE_TABLES


def test_migration_matches_the_tables(engine: Engine) -> None:
    names = {t.name for t in INTAKE_TABLES}
    assert names <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diffs if names & set(str(d).split("'"))]
    assert ours == []


def test_intake_revision_is_in_the_single_chain() -> None:
    revs = migrations.revisions()
    assert "0004_intake" in revs and revs[0] == "0001_records"
    assert migrations.head() == revs[-1]
