"""Consistent online backups of the SQLite database, with a manifest, optionally encrypted.

A backup file is ``MAGIC``, one line of JSON (the manifest), then the payload. The payload
is the SQLite copy, or with a passphrase 16 bytes of salt + a Fernet token (AES-128-CBC with
HMAC-SHA256) under a key derived with scrypt (n=2**15, r=8, p=1). The manifest holds the
SHA-256 and size of the database copy and of the payload as stored, the schema revision, the
practices and each practice's audit chain head.

``backup_sqlite`` copies the live database with SQLite's online backup API (readers and
writers may keep working; the copy is one consistent snapshot), checks the copy as a restore
would, and writes the file readable by its owner only (mode 0600).

``restore_sqlite`` verifies everything BEFORE it touches the live database: the manifest, both
SHA-256 sums, ``PRAGMA integrity_check``, a known schema revision with the expected tables,
every practice's audit chain and its head as listed in the manifest, and that the practices of
the live database are in the backup. Any failure raises ``BackupError`` (the CLI exits 2) and
the live database is unchanged. The live database is then copied aside (``<file>.before-restore``,
mode 0600), the backup copied in with the backup API, checked again, and the copy aside removed;
when anything fails after the copy aside, the live database is put back from it. PostgreSQL is
backed up with ``pg_dump`` (see ``docs/storage.md``).

Format 3 carries the stored documents too (the signed referrals and prescriptions under the
data folder's ``private/referrals/``): the payload (sealed like the database) is then an
uncompressed tar of ``database`` and each document by its path in the data folder, and the
manifest lists each document's SHA-256. A backup is refused when a document a referral names
is missing or altered; a restore checks every document against the manifest and against the
referrals of the database copy before anything is touched, then writes the documents back
(mode 0600) before the database. Format 2 files (the database only) still restore.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.orm import Session

from therabill.adapters.db import migrations
from therabill.adapters.db.tables import practices, referrals
from therabill.adapters.files import write_private
from therabill.domain.errors import Problem, TherabillError

MAGIC = b"THERABILL-BACKUP-2\n"
FORMAT = 3
FORMATS = (2, 3)
"""Format 2: the payload is the database copy; 3: a tar of the database and the documents."""
DOCUMENTS = Path("private") / "referrals"
"""Where the stored documents are, inside the data folder (one folder per practice)."""
_DOCUMENT_NAME = re.compile(r"private/referrals/[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}\.[a-z]{2,4}")
MAX_MANIFEST_BYTES = 1024 * 1024
ASIDE_SUFFIX = ".before-restore"
REQUIRED_TABLES = frozenset(
    {"alembic_version", "practices", "patients", "visits", "claims", "audit_log", "users", "api_tokens"}
)
"""Tables every therabill database (any known revision with accounts) has."""


class ChainReport(Protocol):
    """What a check of one practice's audit chain reports (``service_layer.audit.ChainReport``)."""

    @property
    def ok(self) -> bool: ...
    @property
    def first_bad_seq(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...


class AuditChains(Protocol):
    """How a copy's audit chains are checked: the audit service (``service_layer.audit``) is
    passed in by the database service, so this adapter only copies and reads files."""

    def verify_chain(self, session: Session, practice_id: str) -> ChainReport: ...
    def chain_heads(self, session: Session) -> dict[str, tuple[int, str]]: ...


class BackupError(TherabillError):
    """A backup or restore could not be done (nothing was changed)."""

    code = "backup-failed"


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup file says about itself.

    Attributes:
        encrypted: the payload is encrypted with a passphrase.
        sha256: SHA-256 (hex) of the database copy.
        size: size of the database copy in bytes.
        payload_sha256: SHA-256 (hex) of the payload as stored in the file.
        revision: the schema revision of the copy.
        practices: ids of the practices in the copy.
        audit_heads: each practice's audit chain head ``(seq, hash)``.
        engine: ``sqlite`` (the payload is a SQLite file) or ``postgresql`` (a ``pg_dump``
            archive in its custom format).
        documents: the stored documents carried (path in the data folder → SHA-256).
        format: 3 (database and documents) or 2 (the database only, older files).
    """

    encrypted: bool
    sha256: str
    size: int
    payload_sha256: str
    revision: str
    practices: tuple[str, ...]
    audit_heads: dict[str, tuple[int, str]]
    engine: str = "sqlite"
    documents: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {
            "format": self.format,
            "encrypted": self.encrypted,
            "sha256": self.sha256,
            "size": self.size,
            "payload_sha256": self.payload_sha256,
            "revision": self.revision,
            "practices": list(self.practices),
            "audit_heads": {p: {"seq": s, "hash": h} for p, (s, h) in sorted(self.audit_heads.items())},
            "engine": self.engine,
        }
        if self.format >= 3:
            doc["documents"] = dict(sorted(self.documents.items()))
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        doc = json.loads(raw.decode("ascii"))
        if doc.get("format") not in FORMATS:
            raise ValueError("unknown format")
        return cls(
            encrypted=bool(doc["encrypted"]),
            sha256=str(doc["sha256"]),
            size=int(doc["size"]),
            payload_sha256=str(doc["payload_sha256"]),
            revision=str(doc["revision"]),
            practices=tuple(str(p) for p in doc["practices"]),
            audit_heads={str(p): (int(v["seq"]), str(v["hash"])) for p, v in doc["audit_heads"].items()},
            engine=str(doc.get("engine", "sqlite")),
            documents={str(k): str(v) for k, v in doc.get("documents", {}).items()},
            format=int(doc["format"]),
        )


# --- the stored documents ---------------------------------------------------------------


def collect_documents(data_folder: Path | None) -> dict[str, bytes]:
    """The stored documents under ``data_folder`` by their path in it (none without a folder)."""
    if data_folder is None:
        return {}
    root = data_folder / DOCUMENTS
    found: dict[str, bytes] = {}
    if root.is_dir():
        for path in sorted(root.glob("*/*")):
            name = path.relative_to(data_folder).as_posix()
            if path.is_file() and _DOCUMENT_NAME.fullmatch(name):
                found[name] = path.read_bytes()
    return found


def referral_files(session: Session) -> dict[str, str]:
    """The documents a database's referrals name: path in the data folder → SHA-256."""
    if not inspect(session.connection()).has_table("referrals"):
        return {}
    rows = session.execute(
        select(referrals.c.practice_id, referrals.c.stored_as, referrals.c.file_sha256).where(
            referrals.c.stored_as.is_not(None)
        )
    ).all()
    return {
        f"{DOCUMENTS.as_posix()}/{r.practice_id}/{Path(r.stored_as).name}": str(r.file_sha256) for r in rows
    }


def check_documents(expected: Mapping[str, str], documents: Mapping[str, bytes]) -> None:
    """Every document the referrals name is there with its SHA-256.

    Raises:
        BackupError: one is missing (``backup-document-missing``) or differs (``backup-document-mismatch``).
    """
    for name, sha in sorted(expected.items()):
        data = documents.get(name)
        if data is None:
            raise _fail("backup-document-missing", f"the referral document {name} is missing")
        if _sha(data) != sha:
            raise _fail("backup-document-mismatch", f"the referral document {name} differs from its record")


def pack(database: bytes, documents: Mapping[str, bytes]) -> bytes:
    """The plain payload of a format-3 backup: a tar of ``database`` and the documents."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("database", database), *sorted(documents.items())):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def unpack(manifest: Manifest, data: bytes) -> tuple[bytes, dict[str, bytes]]:
    """The database copy and the documents of a backup's plain payload, each document
    checked against the manifest (a format-2 payload is the database alone).

    Raises:
        BackupError: not a readable container, an unexpected member, a document missing
            from the file or differing from the manifest.
    """
    if manifest.format < 3:
        return data, {}
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is None or member.name in members:
                    raise _fail("backup-corrupt", f"unexpected entry {member.name!r} in the backup")
                members[member.name] = handle.read()
    except tarfile.TarError:
        raise _fail("backup-corrupt", "the backup's content cannot be read") from None
    database = members.pop("database", None)
    if database is None:
        raise _fail("backup-corrupt", "the backup holds no database")
    for name in members:
        if not _DOCUMENT_NAME.fullmatch(name) or name not in manifest.documents:
            raise _fail("backup-corrupt", f"unexpected entry {name!r} in the backup")
    for name, sha in manifest.documents.items():
        if name not in members:
            raise _fail("backup-document-missing", f"the document {name} is not in the backup")
        if _sha(members[name]) != sha:
            raise _fail("backup-document-mismatch", f"the document {name} does not match the manifest")
    return database, members


def write_documents(data_folder: Path, documents: Mapping[str, bytes]) -> None:
    """Put restored documents in place under ``data_folder`` (folders 0700, files 0600)."""
    for name, data in sorted(documents.items()):
        if not _DOCUMENT_NAME.fullmatch(name):  # checked by ``unpack``; never written outside
            raise _fail("backup-corrupt", f"unexpected entry {name!r} in the backup")
        path = data_folder / name
        folder = data_folder
        for part in path.relative_to(data_folder).parts[:-1]:
            folder = folder / part
            folder.mkdir(exist_ok=True, mode=0o700)
        write_private(path, data)


def _fail(code: str, message: str) -> BackupError:
    return BackupError(message, (Problem(code, "backup", message),))


def _key(passphrase: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8")))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seal(data: bytes, passphrase: str | None) -> bytes:
    """The payload of a backup: ``data`` itself, or with a passphrase salt + Fernet token."""
    if not passphrase:
        return data
    salt = os.urandom(16)
    return salt + Fernet(_key(passphrase, salt)).encrypt(data)


def unseal(manifest: Manifest, payload: bytes, passphrase: str | None) -> bytes:
    """The database copy inside ``payload``, checked against the manifest's size and SHA-256.

    Raises:
        BackupError: a passphrase is needed or wrong, or the copy differs from the manifest.
    """
    if manifest.encrypted:
        if not passphrase:
            raise _fail("backup-passphrase-needed", "the backup is encrypted; give its passphrase")
        salt, token = payload[:16], payload[16:]
        try:
            data = Fernet(_key(passphrase, salt)).decrypt(token)
        except InvalidToken:
            raise _fail("backup-passphrase-wrong", "wrong passphrase, or the backup was altered") from None
    else:
        data = payload
    if len(data) != manifest.size or _sha(data) != manifest.sha256:
        raise _fail("backup-checksum-mismatch", "the database copy does not match its manifest's SHA-256")
    return data


def _sqlite_path(engine: Engine) -> Path:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        raise _fail(
            "backup-not-sqlite", "therabill backup copies SQLite databases; use pg_dump for PostgreSQL"
        )
    return Path(engine.url.database)


@dataclass(frozen=True, slots=True)
class _Facts:
    revision: str
    practices: tuple[str, ...]
    audit_heads: dict[str, tuple[int, str]]
    documents: dict[str, str]


def _examine(path: Path, audit: AuditChains) -> _Facts:
    """Check a database copy as a restore needs it; its revision, practices and chain heads.

    Raises:
        BackupError: not a usable SQLite file, not a therabill database of a known revision,
            a table missing, or an audit chain that does not verify.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise _fail("backup-corrupt", f"the copy is not a usable database: {exc}") from None
    finally:
        conn.close()
    if result != "ok":
        raise _fail("backup-corrupt", f"the copy fails its integrity check: {result}")
    missing = sorted(REQUIRED_TABLES - tables)
    if missing:
        raise _fail("backup-not-therabill", f"not a therabill database: no table(s) {', '.join(missing)}")
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        revision = migrations.current(engine)
        if revision not in migrations.revisions():
            raise _fail("backup-revision-unknown", f"the copy's schema revision {revision!r} is unknown")
        with Session(engine) as session:
            ids = tuple(session.execute(select(practices.c.id).order_by(practices.c.id)).scalars())
            for pid in ids:
                report = audit.verify_chain(session, pid)
                if not report.ok:
                    raise _fail(
                        "backup-audit-chain-broken",
                        f"the copy's audit chain of practice {pid} breaks at row {report.first_bad_seq}: "
                        f"{report.reason}",
                    )
            heads = audit.chain_heads(session)
            documents = referral_files(session)
    except BackupError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure reading the copy refuses the restore
        raise _fail(
            "backup-not-therabill", f"the copy cannot be read as a therabill database ({type(exc).__name__})"
        ) from None
    finally:
        engine.dispose()
    return _Facts(str(revision), ids, heads, documents)


def _copy_db(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=15)
    dst = sqlite3.connect(target, timeout=15)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@contextmanager
def _private_dir(near: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=near, prefix=".therabill-") as tmpdir:
        os.chmod(tmpdir, 0o700)
        yield Path(tmpdir)


def backup_sqlite(
    engine: Engine,
    target: Path,
    passphrase: str | None = None,
    data_folder: Path | None = None,
    *,
    audit: AuditChains,
) -> Manifest:
    """Write a consistent, checked copy of the database and of the stored documents under
    ``data_folder`` to ``target`` (mode 0600); returns its manifest. ``audit`` checks the
    copy's audit chains (``service_layer.audit``).

    Raises:
        BackupError: the copy does not check, or a document a referral names is missing or altered.
    """
    source = _sqlite_path(engine)
    target = target.expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _private_dir(target.parent) as tmpdir:
        plain = tmpdir / "copy.sqlite3"
        src = sqlite3.connect(source, timeout=15)
        dst = sqlite3.connect(plain)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
            src.close()
        facts = _examine(plain, audit)
        documents = collect_documents(data_folder)
        check_documents(facts.documents, documents)
        data = pack(plain.read_bytes(), documents)
    payload = seal(data, passphrase)
    manifest = Manifest(
        encrypted=bool(passphrase),
        sha256=_sha(data),
        size=len(data),
        payload_sha256=_sha(payload),
        revision=facts.revision,
        practices=facts.practices,
        audit_heads=facts.audit_heads,
        documents={name: _sha(blob) for name, blob in documents.items()},
    )
    write_private(target, MAGIC + manifest.to_json() + b"\n" + payload)
    return manifest


def read_manifest(source: Path) -> tuple[Manifest, bytes]:
    """The manifest and payload of a backup file.

    Raises:
        BackupError: unreadable, not a therabill backup (no manifest), or the payload's
            SHA-256 differs from the manifest (cut short or altered).
    """
    try:
        data = source.expanduser().read_bytes()
    except OSError as exc:
        raise _fail("backup-unreadable", f"cannot read {source}: {exc.strerror}") from None
    if not data.startswith(MAGIC):
        raise _fail(
            "backup-not-therabill",
            "not a therabill backup with a manifest (written by `therabill backup` of this version)",
        )
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_MANIFEST_BYTES)
    try:
        if end < 0:
            raise ValueError("no manifest line")
        manifest = Manifest.from_json(data[len(MAGIC) : end])
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise _fail("backup-manifest-invalid", "the backup's manifest cannot be read") from None
    payload = data[end + 1 :]
    if _sha(payload) != manifest.payload_sha256:
        raise _fail(
            "backup-checksum-mismatch",
            "the backup's content does not match its manifest's SHA-256 (cut short or altered)",
        )
    return manifest, payload


def is_encrypted(source: Path) -> bool:
    """Whether a backup file says its payload is encrypted (False when it cannot be read)."""
    try:
        return read_manifest(source)[0].encrypted
    except BackupError:
        return False


def _live_practices(target: Path) -> set[str]:
    if not target.exists() or target.stat().st_size == 0:
        return set()
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM practices")}
    except sqlite3.DatabaseError:
        return set()
    finally:
        conn.close()


def restore_sqlite(
    engine: Engine,
    source: Path,
    passphrase: str | None = None,
    *,
    audit: AuditChains,
    replace_practices: bool = False,
    data_folder: Path | None = None,
) -> Manifest:
    """Replace the database's content with the backup ``source``, verified first; returns its manifest.

    Args:
        engine: the live database's engine.
        source: a file written by ``backup_sqlite``.
        passphrase: the passphrase of an encrypted backup.
        audit: checks the copy's audit chains (``service_layer.audit``).
        replace_practices: allow a backup that lacks practices the live database has.
        data_folder: where the backup's documents go back (``None``: checked, not written).

    Raises:
        BackupError: any check failed; the live database is unchanged.
    """
    target = _sqlite_path(engine)
    manifest, payload = read_manifest(source)
    if manifest.engine != "sqlite":
        raise _fail("backup-other-engine", f"the backup is of a {manifest.engine} database; restore it there")
    database, documents = unpack(manifest, unseal(manifest, payload, passphrase))
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _private_dir(target.parent) as tmpdir:
        plain = tmpdir / "restore.sqlite3"
        plain.write_bytes(database)
        os.chmod(plain, 0o600)
        facts = _examine(plain, audit)
        if facts.revision != manifest.revision or facts.audit_heads != manifest.audit_heads:
            raise _fail("backup-manifest-mismatch", "the database copy does not match its manifest")
        if manifest.format >= 3:
            check_documents(facts.documents, documents)
        lost = sorted(_live_practices(target) - set(facts.practices))
        if lost and not replace_practices:
            raise _fail(
                "backup-other-practice",
                f"the backup lacks {len(lost)} practice(s) of the live database; "
                "give --replace-practices to restore it anyway",
            )
        if data_folder is not None:  # first: a document the live database does not name is inert
            write_documents(data_folder, documents)
        engine.dispose()
        aside = target.with_name(target.name + ASIDE_SUFFIX)
        if target.exists():
            aside.unlink(missing_ok=True)
            aside.touch(mode=0o600)
            _copy_db(target, aside)
        else:
            target.touch(mode=0o600)
        try:
            _copy_db(plain, target)
            after = _examine(target, audit)
            if after.audit_heads != facts.audit_heads:
                raise _fail("backup-restore-failed", "the restored database differs from the backup")
        except BaseException:
            engine.dispose()
            if aside.exists():
                _copy_db(aside, target)
            raise
        aside.unlink(missing_ok=True)
    engine.dispose()
    return manifest


def manifest_summary(manifest: Manifest) -> dict[str, Any]:
    """What the CLI prints about a backup."""
    return {
        "revision": manifest.revision,
        "practices": len(manifest.practices),
        "sha256": manifest.sha256,
        "size": manifest.size,
        "encrypted": manifest.encrypted,
        "documents": len(manifest.documents),
    }
