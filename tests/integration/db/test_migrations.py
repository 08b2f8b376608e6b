"""Migrations: from empty to head, and one revision at a time, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from therabill.adapters.db import migrations
from therabill.adapters.db.base import metadata
from therabill.adapters.db.tables import RECORD_TABLES


def test_upgrade_from_empty_matches_the_tables(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    assert migrations.current(empty_engine) == migrations.head()
    with empty_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    names = {t.name for t in RECORD_TABLES}
    ours = [d for d in diffs if _table_of(d) in names]
    assert ours == []


def _table_of(diff: object) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:] if isinstance(item, tuple) else ():
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if name is not None:
            return str(name)
        if isinstance(part, str):
            return part
    return None


def test_every_revision_upgrades_from_its_predecessor(empty_engine: Engine) -> None:
    revs = migrations.revisions()
    assert revs[0] == "0001_records"
    for rev in revs:
        migrations.upgrade(empty_engine, rev)
        assert migrations.current(empty_engine) == rev
    assert set(inspect(empty_engine).get_table_names()) >= {t.name for t in RECORD_TABLES}
    migrations.downgrade(empty_engine, "base")
    assert migrations.current(empty_engine) is None
    migrations.upgrade(empty_engine)
    assert migrations.current(empty_engine) == migrations.head()
