"""``therabill backup FILE`` and ``therabill restore FILE`` (SQLite; pg_dump for PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from therabill.adapters.db.backup import MAGIC, backup_sqlite, restore_sqlite
from therabill.adapters.db.engine import make_engine
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import fail_from


def _passphrase(confirm: bool) -> str:
    env = os.environ.get("THERABILL_BACKUP_PASSPHRASE")
    if env:
        return env
    return str(typer.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm))


def backup_command(
    file: Annotated[Path, typer.Argument(help="Where to write the backup (mode 0600).")],
    encrypt: Annotated[bool, typer.Option("--encrypt", help="Encrypt with a passphrase.")] = False,
) -> None:
    """Write a consistent online backup of the SQLite database."""
    try:
        size = backup_sqlite(make_engine(), file, _passphrase(True) if encrypt else None)
    except TherabillError as exc:
        fail_from(exc)
    typer.echo(f"backup written: {file} ({size} bytes{', encrypted' if encrypt else ''})")


def restore_command(
    file: Annotated[Path, typer.Argument(help="A backup written by `therabill backup`.")],
) -> None:
    """Replace the SQLite database's content with a backup (checked before anything changes)."""
    try:
        head = file.expanduser().open("rb").read(len(MAGIC)) if file.exists() else b""
        passphrase = _passphrase(False) if head == MAGIC else None
        restore_sqlite(make_engine(), file, passphrase)
    except TherabillError as exc:
        fail_from(exc)
    typer.echo(f"restored from {file}")
