"""``therabill backup FILE`` and ``therabill restore FILE`` (SQLite; PostgreSQL through pg_dump / pg_restore)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from therabill.config import data_dir
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import JsonOption, fail_from, print_json
from therabill.service_layer import database
from therabill.service_layer.integrity import anchor_heads

PassphraseEnv = Annotated[
    str | None,
    typer.Option(
        envvar="THERABILL_BACKUP_PASSPHRASE",
        hidden=True,
        help="The passphrase, from THERABILL_BACKUP_PASSPHRASE only (asked for when unset).",
    ),
]


def _passphrase(given: str | None, confirm: bool) -> str:
    if given:
        return given
    return str(typer.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm))


def backup_command(
    file: Annotated[Path, typer.Argument(help="Where to write the backup (mode 0600).")],
    encrypt: Annotated[bool, typer.Option("--encrypt", help="Encrypt with a passphrase.")] = False,
    passphrase: PassphraseEnv = None,
    as_json: JsonOption = False,
) -> None:
    """Write a consistent online backup of the database, with a manifest (SHA-256, audit heads):
    SQLite through its backup API, PostgreSQL through pg_dump of one snapshot.

    The audit chain heads are also anchored in the data folder (see ``therabill db check``).
    """
    try:
        manifest = database.backup(
            file, _passphrase(passphrase, True) if encrypt else None, data_folder=data_dir()
        )
        anchor_heads(data_dir(), manifest.audit_heads)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            {
                "file": str(file),
                "size": manifest.size,
                "sha256": manifest.sha256,
                "encrypted": encrypt,
                "documents": len(manifest.documents),
            }
        )
        return
    typer.echo(
        f"backup written: {file} ({manifest.size} bytes, sha256 {manifest.sha256}"
        f"{', encrypted' if encrypt else ''}; {len(manifest.documents)} document(s))"
    )


def restore_command(
    file: Annotated[Path, typer.Argument(help="A backup written by `therabill backup`.")],
    replace_practices: Annotated[
        bool,
        typer.Option("--replace-practices", help="Restore even when the backup lacks a live practice."),
    ] = False,
    passphrase: PassphraseEnv = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the database's content with a backup, verified before anything changes (on
    PostgreSQL: restored and checked in a scratch database first, then in one transaction).

    Refused (exit 2, nothing changed): no manifest, a SHA-256 mismatch, not a therabill
    database of a known schema revision, a broken audit chain, or a backup without the live
    database's practices (unless ``--replace-practices``).
    """
    try:
        passphrase = _passphrase(passphrase, False) if database.backup_is_encrypted(file) else None
        manifest = database.restore(
            file, passphrase, replace_practices=replace_practices, data_folder=data_dir()
        )
        anchor_heads(data_dir(), manifest.audit_heads, replace=True)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            {
                "file": str(file),
                "revision": manifest.revision,
                "practices": len(manifest.practices),
                "documents": len(manifest.documents),
            }
        )
        return
    typer.echo(
        f"restored from {file} (revision {manifest.revision}, {len(manifest.practices)} practice(s), "
        f"{len(manifest.documents)} document(s))"
    )
