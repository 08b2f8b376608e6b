"""Backups carry the stored documents (signed referrals and prescriptions): SQLite and
PostgreSQL (pg_dump) backups hold each file, encrypted with the database when asked; a restore
checks every file against the manifest and against the referral that names it before anything
is touched, then puts the files back so the documents read again."""

from __future__ import annotations

import hashlib
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tests.conftest import require
from tests.integration.db.builders import Practice, a_practice
from tests.integration.db.conftest import PgDatabases, pg_available
from therabill.adapters.db import migrations
from therabill.adapters.db.backup import (
    MAGIC,
    BackupError,
    Manifest,
    pack,
    read_manifest,
    seal,
    unpack,
    unseal,
)
from therabill.adapters.db.engine import make_engine
from therabill.domain.errors import NotFoundError
from therabill.service_layer import database, referrals
from therabill.service_layer.accounts import command_line_principal

PDF = b"%PDF-1.4\n% a signed order for massage therapy\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"a phone photo of a prescription" * 20
PASSPHRASE = "correct horse battery staple"


def _url(engine: Engine) -> str:
    return make_url(engine.url).render_as_string(hide_password=False)


def _refer(p: Practice, data_dir: Path, number: str, data: bytes, name: str) -> str:
    data_dir.mkdir(exist_ok=True)
    principal = command_line_principal(p.id, "os:tester")
    new = referrals.NewReferral(kind="prescription", number=number, file_name=name, data=data)
    return referrals.add_referral(p.engine, principal, "P-0101", new, data_dir)


def _read(p: Practice, data_dir: Path, referral_id: str) -> bytes:
    principal = command_line_principal(p.id, "os:tester")
    return referrals.referral_document(p.engine, principal, referral_id, data_dir)[0]


def _round_trip(p: Practice, url: str, data_dir: Path, tmp_path: Path, passphrase: str | None) -> None:
    order = _refer(p, data_dir, "RX-1", PDF, "order.pdf")
    photo = _refer(p, data_dir, "RX-2", JPEG, "photo.jpg")
    target = tmp_path / "backup.tbk"
    manifest = database.backup(target, passphrase, url=url, data_folder=data_dir)
    assert len(manifest.documents) == 2 and manifest.format == 3
    assert read_manifest(target)[0] == manifest
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    if passphrase:
        assert PDF not in target.read_bytes() and b"phone photo" not in target.read_bytes()
    # After the backup: the documents are lost from the data folder, and a later referral
    # (its row and its file) comes in that the restore takes away again.
    shutil.rmtree(data_dir / "private" / "referrals")
    with pytest.raises(NotFoundError):
        _read(p, data_dir, order)
    _refer(p, data_dir, "RX-3", PDF, "later.pdf")
    restored = database.restore(target, passphrase, url=url, data_folder=data_dir, replace_practices=False)
    assert restored == manifest
    assert _read(p, data_dir, order) == PDF and _read(p, data_dir, photo) == JPEG
    principal = command_line_principal(p.id, "os:tester")
    assert sorted(r.number for r in referrals.referrals_of(p.engine, principal, "P-0101")) == ["RX-1", "RX-2"]
    for path in (data_dir / "private" / "referrals").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600)


def _refusals(p: Practice, url: str, data_dir: Path, tmp_path: Path, counts: Callable[[], object]) -> None:
    """A backup whose document differs from the referral that names it (its manifest made
    consistent, as a forger would) is refused before anything changes; so is a backup made
    while a named document is missing from the data folder."""
    order = _refer(p, data_dir, "RX-9", PDF, "order.pdf")
    good = tmp_path / "good.tbk"
    database.backup(good, url=url, data_folder=data_dir)
    manifest, payload = read_manifest(good)
    db, documents = unpack(manifest, unseal(manifest, payload, None))
    forged_docs = {name: data[:-2] + b"X\n" for name, data in documents.items()}
    plain = pack(db, forged_docs)
    forged = Manifest(
        encrypted=False, sha256=hashlib.sha256(plain).hexdigest(), size=len(plain),
        payload_sha256=hashlib.sha256(seal(plain, None)).hexdigest(), revision=manifest.revision,
        practices=manifest.practices, audit_heads=manifest.audit_heads, engine=manifest.engine,
        documents={name: hashlib.sha256(data).hexdigest() for name, data in forged_docs.items()},
    )  # fmt: skip
    bad = tmp_path / "forged.tbk"
    bad.write_bytes(MAGIC + forged.to_json() + b"\n" + plain)
    before = counts()
    with pytest.raises(BackupError) as err:
        database.restore(bad, url=url, data_folder=data_dir)
    assert err.value.problems[0].code == "backup-document-mismatch"
    assert counts() == before and _read(p, data_dir, order) == PDF

    principal = command_line_principal(p.id, "os:tester")
    row = next(r for r in referrals.referrals_of(p.engine, principal, "P-0101") if r.id == order)
    (data_dir / "private" / "referrals" / p.id / row.stored_as).unlink()  # lost from the data folder
    with pytest.raises(BackupError) as err:
        database.backup(tmp_path / "incomplete.tbk", url=url, data_folder=data_dir)
    assert err.value.problems[0].code == "backup-document-missing"
    assert not (tmp_path / "incomplete.tbk").exists()
    database.restore(good, url=url, data_folder=data_dir)  # the good backup brings it back
    assert _read(p, data_dir, order) == PDF


def _referral_count(engine: Engine, p: Practice) -> Callable[[], object]:
    principal = command_line_principal(p.id, "os:tester")
    return lambda: len(referrals.referrals_of(engine, principal, "P-0101"))


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
def test_sqlite_backups_carry_the_documents(tmp_path: Path, passphrase: str | None) -> None:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    _round_trip(a_practice(engine), url, tmp_path / "data", tmp_path, passphrase)


def test_sqlite_restore_refuses_a_document_that_is_not_the_referrals(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    p = a_practice(engine)
    _refusals(p, url, tmp_path / "data", tmp_path, _referral_count(engine, p))


def test_a_format_2_backup_of_the_database_alone_still_restores(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    p = a_practice(engine)
    order = _refer(p, tmp_path / "data", "RX-1", PDF, "order.pdf")
    database.backup(tmp_path / "new.tbk", url=url, data_folder=tmp_path / "data")
    manifest, payload = read_manifest(tmp_path / "new.tbk")
    db, _ = unpack(manifest, unseal(manifest, payload, None))
    old = Manifest(
        encrypted=False, sha256=hashlib.sha256(db).hexdigest(), size=len(db), payload_sha256=hashlib.sha256(db).hexdigest(),
        revision=manifest.revision, practices=manifest.practices, audit_heads=manifest.audit_heads, format=2,
    )  # fmt: skip
    assert b'"documents"' not in old.to_json()
    (tmp_path / "old.tbk").write_bytes(MAGIC + old.to_json() + b"\n" + db)
    assert database.restore(tmp_path / "old.tbk", url=url, data_folder=tmp_path / "data").format == 2
    assert _read(p, tmp_path / "data", order) == PDF  # the files in the data folder stay


def test_pg_dump_backups_carry_the_documents(pg_databases: PgDatabases, tmp_path: Path) -> None:
    require("PostgreSQL on 127.0.0.1:5432", pg_available(), "scripts/system-deps.sh installs it")
    require("pg_dump and pg_restore", bool(shutil.which("pg_dump") and shutil.which("pg_restore")))
    engine = pg_databases.new()
    migrations.upgrade(engine)
    p = a_practice(engine)
    _round_trip(p, _url(engine), tmp_path / "data", tmp_path, PASSPHRASE)
    _refusals(p, _url(engine), tmp_path / "data", tmp_path, _referral_count(engine, p))
