"""``therabill db``: bring the database to the newest schema, show its settings."""

from __future__ import annotations

from typing import Annotated

import typer

from therabill.config import data_dir
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import JsonOption, fail_from, print_json
from therabill.service_layer import database

db_app = typer.Typer(
    help="The database: schema upgrades, settings, checks and the move to PostgreSQL.", no_args_is_help=True
)


@db_app.command("upgrade")
def upgrade_command(as_json: JsonOption = False) -> None:
    """Bring the database (THERABILL_DATABASE_URL, or the data folder's SQLite file) to the newest schema."""
    try:
        before, after = database.upgrade(database.open_database())
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"revision": after, "was": before})
        return
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
    as_json: JsonOption = False,
) -> None:
    """Print the durability settings (JSON always; ``--json`` is accepted for scripts), the schema revision, whether the ledger's monthly
    totals (what the revenue report reads) still equal the entries, and whether every audit
    chain verifies and still reaches the head anchored in the data folder (rows removed at the
    end, all rows removed, or rows rewritten with the chain recomputed are found). When all is
    well the anchor moves to the current heads. Exit 1 when anything differs, and when the
    database is not a therabill database of a known schema revision."""
    del as_json  # the answer is JSON either way
    try:
        found = database.check(database.open_database(), data_dir(), reanchor=reanchor)
    except TherabillError as exc:
        fail_from(exc)
    if not found.known or found.audit is None:
        typer.echo(
            f"not a therabill database of a known schema revision (found {found.revision or 'none'})",
            err=True,
        )
        raise typer.Exit(1)
    audit = found.audit
    differing = found.totals_differing
    print_json(
        {
            "revision": found.revision,
            "settings": found.settings,
            "ledger_month_totals": {
                "practices": len(differing),
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
        typer.echo(
            "the monthly totals, open balances or denial tables differ from the ledger: run `therabill db rebuild-totals`",
            err=True,
        )
        raise typer.Exit(1)


@db_app.command("rebuild-totals")
def rebuild_totals_command(as_json: JsonOption = False) -> None:
    """Recompute the ledger's monthly totals, open balances and denial tables of every practice from the posted entries.

    The totals are kept up to date as entries are posted; rebuild them after restoring a
    database written by hand or when ``therabill db check`` finds a difference. The ledger
    itself is only read.
    """
    try:
        practices, rows = database.rebuild_totals(database.open_database())
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"practices": practices, "rows": rows})
        return
    typer.echo(f"monthly totals rebuilt: {practices} practice(s), {rows} row(s)")


@db_app.command("move-to-postgres")
def move_to_postgres_command(
    url: Annotated[
        str, typer.Argument(help="The PostgreSQL database, e.g. postgresql://user@host/therabill.")
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="The SQLite database URL (default: THERABILL_DATABASE_URL or the data folder's file).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Copy the SQLite database (every practice, account and audit row) into PostgreSQL.

    The PostgreSQL database is brought to the newest schema, then filled in ONE transaction
    that commits only when every table's row count, each practice's ledger count and sum, the
    monthly totals and the audit chain heads equal the source's: a failed or interrupted move
    leaves nothing behind and can simply be run again. The SQLite file is only read. Then set
    THERABILL_DATABASE_URL to the new database.
    """
    del as_json  # the answer is JSON either way
    try:
        moved = database.move_to_postgres(url, source)
    except TherabillError as exc:
        fail_from(exc)
    print_json(
        {
            "revision": moved.revision,
            "practices": len(moved.practices),
            "rows": moved.total_rows,
            "tables": {name: n for name, n in moved.rows.items() if n},
            "verified": ["row counts", "ledger counts and sums", "monthly totals", "audit chain heads"],
        }
    )
