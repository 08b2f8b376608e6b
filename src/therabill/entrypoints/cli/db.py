"""``therabill db``: bring the database to the newest schema, show its settings."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from therabill.adapters.db import migrations, report_totals
from therabill.adapters.db.engine import durability_settings, make_engine
from therabill.adapters.db.tables import practices
from therabill.config import data_dir
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import fail_from, print_json
from therabill.service_layer.integrity import check_audit

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
def check_command(
    reanchor: Annotated[
        bool,
        typer.Option(
            "--reanchor",
            help="After a deliberate restore (e.g. pg_restore): anchor the current chain heads "
            "even though they differ from the anchor (the chains must still verify).",
        ),
    ] = False,
) -> None:
    """Print the durability settings, the schema revision, whether the ledger's monthly
    totals (what the revenue report reads) still equal the entries, and whether every audit
    chain verifies and still reaches the head anchored in the data folder (rows removed at the
    end, all rows removed, or rows rewritten with the chain recomputed are found). When all is
    well the anchor moves to the current heads. Exit 1 when anything differs, and when the
    database is not a therabill database of a known schema revision."""
    try:
        engine = make_engine()
        revision = migrations.current(engine)
        if revision not in migrations.revisions():
            typer.echo(
                f"not a therabill database of a known schema revision (found {revision or 'none'})", err=True
            )
            raise typer.Exit(1)
        settings = durability_settings(engine)
        with engine.connect() as conn:
            ids = list(conn.execute(select(practices.c.id).order_by(practices.c.id)).scalars())
            differing = {pid: len(report_totals.differences(conn, pid)) for pid in ids}
        audit = check_audit(engine, data_dir(), reanchor=reanchor)
    except TherabillError as exc:
        fail_from(exc)
    print_json(
        {
            "revision": revision,
            "settings": settings,
            "ledger_month_totals": {
                "practices": len(ids),
                "differing_rows": sum(differing.values()),
                "practices_differing": sorted(pid for pid, n in differing.items() if n),
            },
            "audit": {
                "rows": audit.rows,
                "chains_broken": audit.broken,
                "anchor": audit.anchor,
                "anchor_findings": audit.anchor_findings,
            },
        }
    )
    if not audit.ok:
        typer.echo(
            "the audit log was altered: its chain breaks or no longer reaches the anchored head",
            err=True,
        )
        raise typer.Exit(1)
    if any(differing.values()):
        typer.echo("the monthly totals differ from the ledger: run `therabill db rebuild-totals`", err=True)
        raise typer.Exit(1)


@db_app.command("rebuild-totals")
def rebuild_totals_command() -> None:
    """Recompute the ledger's monthly totals of every practice from the posted entries.

    The totals are kept up to date as entries are posted; rebuild them after restoring a
    database written by hand or when ``therabill db check`` finds a difference. The ledger
    itself is only read.
    """
    try:
        engine = make_engine()
        with engine.begin() as conn:
            ids = list(conn.execute(select(practices.c.id).order_by(practices.c.id)).scalars())
            rows = report_totals.rebuild(conn, ids)
    except TherabillError as exc:
        fail_from(exc)
    typer.echo(f"monthly totals rebuilt: {len(ids)} practice(s), {rows} row(s)")
