"""Migration 0015_online_booking creates exactly the tables of ``portal_tables`` and drops them again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from therabill.adapters.db import migrations
from therabill.adapters.db.base import metadata
from therabill.adapters.db.portal_tables import PORTAL_TABLES

NAMES = {t.name for t in PORTAL_TABLES}


def test_migration_matches_the_tables(engine: Engine) -> None:
    assert NAMES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diffs if NAMES & set(str(d).split("'"))]
    assert ours == []


def test_downgrade_drops_them_and_upgrade_brings_them_back(empty_engine: Engine) -> None:
    revs = migrations.revisions()
    assert "0015_online_booking" in revs and migrations.head() == revs[-1]
    before = revs[revs.index("0015_online_booking") - 1]
    migrations.upgrade(empty_engine, "0015_online_booking")
    assert NAMES <= set(inspect(empty_engine).get_table_names())
    migrations.downgrade(empty_engine, before)
    assert not NAMES & set(inspect(empty_engine).get_table_names())
    migrations.upgrade(empty_engine)
    assert NAMES <= set(inspect(empty_engine).get_table_names())
