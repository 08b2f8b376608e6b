"""``therabill db``: bring the database to the newest schema, show its settings."""

from __future__ import annotations

import typer

from therabill.adapters.db import migrations
from therabill.adapters.db.engine import durability_settings, make_engine
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import fail_from, print_json

db_app = typer.Typer(help="The database: schema upgrades and settings.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Bring the database (THERABILL_DATABASE_URL, or the data folder's SQLite file) to the newest schema."""
    try:
        engine = make_engine()
        before = migrations.current(engine)
        migrations.upgrade(engine)
        after = migrations.current(engine)
    except TherabillError as exc:
        fail_from(exc)
    typer.echo(f"database at {after} (was {before or 'empty'})")


@db_app.command("check")
def check_command() -> None:
    """Print the durability settings of a database connection and the schema revision."""
    try:
        engine = make_engine()
        print_json({"revision": migrations.current(engine), "settings": durability_settings(engine)})
    except TherabillError as exc:
        fail_from(exc)
