"""Consistent online backups of the SQLite database, optionally encrypted.

``backup_sqlite`` copies the live database with SQLite's online backup API (readers and
writers may keep working; the copy is one consistent snapshot), checks the copy with
``PRAGMA integrity_check`` and writes it readable by its owner only (mode 0600). With a
passphrase the file is encrypted: ``MAGIC`` + 16-byte salt + a Fernet token (AES-128-CBC
with HMAC-SHA256) under a key derived with scrypt (n=2**15, r=8, p=1). ``restore_sqlite``
decrypts when needed, checks the copy, then copies it into the live database with the same
backup API, so the restore is all or nothing. PostgreSQL is backed up with ``pg_dump``
(see ``docs/storage.md``).
"""

from __future__ import annotations

import base64
import os
import sqlite3
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Engine

from therabill.domain.errors import Problem, TherabillError

MAGIC = b"THERABILL-BACKUP-1\n"


class BackupError(TherabillError):
    """A backup or restore could not be done (nothing was changed)."""

    code = "backup-failed"


def _fail(code: str, message: str) -> BackupError:
    return BackupError(message, (Problem(code, "backup", message),))


def _key(passphrase: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8")))


def _sqlite_path(engine: Engine) -> Path:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        raise _fail(
            "backup-not-sqlite", "therabill backup copies SQLite databases; use pg_dump for PostgreSQL"
        )
    return Path(engine.url.database)


def _check(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise _fail("backup-corrupt", f"the copy is not a usable database: {exc}") from None
    finally:
        conn.close()
    if result != "ok":
        raise _fail("backup-corrupt", f"the copy fails its integrity check: {result}")


def _write_private(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".therabill-backup-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def backup_sqlite(engine: Engine, target: Path, passphrase: str | None = None) -> int:
    """Write a consistent copy of the database to ``target`` (mode 0600); returns its size."""
    source = _sqlite_path(engine)
    target = target.expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".therabill-") as tmpdir:
        plain = Path(tmpdir) / "copy.sqlite3"
        src = sqlite3.connect(source, timeout=15)
        dst = sqlite3.connect(plain)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
            src.close()
        _check(plain)
        data = plain.read_bytes()
    if passphrase:
        salt = os.urandom(16)
        data = MAGIC + salt + Fernet(_key(passphrase, salt)).encrypt(data)
    _write_private(target, data)
    return len(data)


def restore_sqlite(engine: Engine, source: Path, passphrase: str | None = None) -> None:
    """Replace the database's content with the backup ``source`` (checked first)."""
    target = _sqlite_path(engine)
    try:
        data = source.expanduser().read_bytes()
    except OSError as exc:
        raise _fail("backup-unreadable", f"cannot read {source}: {exc.strerror}") from None
    if data.startswith(MAGIC):
        if not passphrase:
            raise _fail("backup-passphrase-needed", "the backup is encrypted; give its passphrase")
        salt, token = data[len(MAGIC) : len(MAGIC) + 16], data[len(MAGIC) + 16 :]
        try:
            data = Fernet(_key(passphrase, salt)).decrypt(token)
        except InvalidToken:
            raise _fail("backup-passphrase-wrong", "wrong passphrase, or the backup was altered") from None
    with tempfile.TemporaryDirectory(prefix=".therabill-restore-") as tmpdir:
        plain = Path(tmpdir) / "restore.sqlite3"
        plain.write_bytes(data)
        os.chmod(plain, 0o600)
        _check(plain)
        engine.dispose()
        src = sqlite3.connect(plain)
        dst = sqlite3.connect(target, timeout=15)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    engine.dispose()
