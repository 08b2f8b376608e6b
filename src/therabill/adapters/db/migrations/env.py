"""Alembic environment of therabill: one metadata, every table module that exists.

``therabill.adapters.db.migrations.upgrade(engine)`` passes its connection in
``config.attributes["connection"]``; the ``alembic`` command line builds an engine from
``THERABILL_DATABASE_URL`` or the data folder with the same safety settings as the app.
"""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy.engine import Connection

from therabill.adapters.db.base import metadata

TABLE_MODULES = (
    "tables",
    "ledger_tables",
    "auth_tables",
    "intake_tables",
    "interop_tables",
    "followup_tables",
    "portal_tables",
    "report_indexes",
)

for _name in TABLE_MODULES:
    try:
        importlib.import_module(f"therabill.adapters.db.{_name}")
    except ModuleNotFoundError as exc:  # a table module of a later feature may not exist yet
        if exc.name != f"therabill.adapters.db.{_name}":
            raise

target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a new engine of the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from therabill.adapters.db.engine import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `therabill db upgrade`")
run_migrations_online()
