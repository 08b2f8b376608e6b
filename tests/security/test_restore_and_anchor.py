"""Findings 1, 11 and 17: restore verifies before it touches anything; the database file is
private; the audit chain is anchored outside the database.

Every attack runs the real CLI (``therabill restore`` / ``therabill db check``) on a
temporary data folder and then checks that the live database is exactly what it was.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.integration.db.builders import ACTOR, a_practice, a_visit
from therabill.adapters.db import migrations
from therabill.adapters.db.backup import MAGIC, backup_sqlite
from therabill.adapters.db.engine import make_engine
from therabill.config import DB_FILENAME
from therabill.entrypoints.cli.main import app
from therabill.service_layer import audit
from therabill.service_layer import patients as patients_svc

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATA_DIR", str(data))
        for name in ("THERABILL_DATABASE_URL", "THERABILL_PRACTICE", "THERABILL_BACKUP_PASSPHRASE"):
            mp.delenv(name, raising=False)
        assert run("db", "upgrade").exit_code == 0
        engine = make_engine(f"sqlite:///{data / DB_FILENAME}")
        practice = a_practice(engine)
        a_visit(practice)
        engine.dispose()
        yield data


def _fingerprint(folder: Path) -> tuple[int, int, str]:
    """Patients, audit rows and a digest of the audit table: what a wiped or swapped DB changes."""
    conn = sqlite3.connect(folder / DB_FILENAME)
    try:
        patients = conn.execute("SELECT count(*) FROM patients").fetchone()[0]
        rows = conn.execute("SELECT seq, hash FROM audit_log ORDER BY practice_id, seq").fetchall()
    finally:
        conn.close()
    return patients, len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def _backup(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "practice.tbk"
    r = run("backup", str(target))
    assert r.exit_code == 0, r.output
    return target


def _refused(folder: Path, file: Path, code: str) -> None:
    before = _fingerprint(folder)
    r = run("restore", str(file))
    assert r.exit_code == 2, r.output
    assert code in r.output, r.output
    assert _fingerprint(folder) == before
    assert not (folder / (DB_FILENAME + ".before-restore")).exists()


def test_zero_byte_file_is_refused(folder: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.tbk"
    empty.write_bytes(b"")
    _refused(folder, empty, "backup-not-therabill")


def test_foreign_sqlite_file_is_refused(folder: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    _refused(folder, foreign, "backup-not-therabill")


def _with_manifest(tmp_path: Path, db_file: Path, name: str, **override: object) -> Path:
    """A file with a well-formed manifest around ``db_file`` (an attacker who read the format)."""
    data = db_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    manifest = {
        "format": 2,
        "encrypted": False,
        "sha256": digest,
        "size": len(data),
        "payload_sha256": digest,
        "revision": migrations.head(),
        "practices": [],
        "audit_heads": {},
        **override,
    }
    out = tmp_path / name
    out.write_bytes(MAGIC + json.dumps(manifest).encode() + b"\n" + data)
    return out


def test_foreign_sqlite_with_a_forged_manifest_is_refused(folder: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE practices (id)")
    conn.commit()
    conn.close()
    _refused(folder, _with_manifest(tmp_path, foreign, "forged.tbk"), "backup-not-therabill")


def test_truncated_backup_is_refused(folder: Path, tmp_path: Path) -> None:
    good = _backup(folder, tmp_path)
    cut = tmp_path / "cut.tbk"
    cut.write_bytes(good.read_bytes()[:-100])
    _refused(folder, cut, "backup-checksum-mismatch")


def test_one_changed_byte_is_refused(folder: Path, tmp_path: Path) -> None:
    good = _backup(folder, tmp_path)
    data = bytearray(good.read_bytes())
    at = data.find(b"Hudson Valley")
    assert at > 0
    data[at] = ord("J")
    changed = tmp_path / "changed.tbk"
    changed.write_bytes(bytes(data))
    _refused(folder, changed, "backup-checksum-mismatch")


def test_backup_with_broken_audit_chain_and_recomputed_sums_is_refused(folder: Path, tmp_path: Path) -> None:
    """An attacker who also recomputes the manifest's SHA-256: the chain check still refuses."""
    copy = tmp_path / "copy.sqlite3"
    src = sqlite3.connect(folder / DB_FILENAME)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for (name,) in dst.execute(
        "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_log'"
    ):
        dst.execute(f'DROP TRIGGER "{name}"')
    dst.execute("DELETE FROM audit_log WHERE seq = 2")
    dst.commit()
    dst.execute("PRAGMA journal_mode = DELETE")
    dst.close()
    _refused(folder, _with_manifest(tmp_path, copy, "chain.tbk"), "backup-audit-chain-broken")


def test_old_plain_copy_without_manifest_is_refused(folder: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.sqlite3"
    src = sqlite3.connect(folder / DB_FILENAME)
    dst = sqlite3.connect(plain)
    src.backup(dst)
    src.close()
    dst.close()
    _refused(folder, plain, "backup-not-therabill")


def test_backup_of_another_database_does_not_replace_a_practice(folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    engine = make_engine(f"sqlite:///{other / 'x.sqlite3'}")
    migrations.upgrade(engine)
    a_practice(engine)
    backup_sqlite(engine, tmp_path / "other.tbk", audit=audit)
    engine.dispose()
    _refused(folder, tmp_path / "other.tbk", "backup-other-practice")


def test_good_backup_restores_and_nothing_is_left_aside(folder: Path, tmp_path: Path) -> None:
    good = _backup(folder, tmp_path)
    before = _fingerprint(folder)
    engine = make_engine(f"sqlite:///{folder / DB_FILENAME}")
    pid = sqlite3.connect(folder / DB_FILENAME).execute("SELECT id FROM practices").fetchone()[0]
    patients_svc.register_patient(
        engine, pid, ACTOR, chart_number="LATE", first_name="Late", last_name="Comer"
    )
    engine.dispose()
    assert _fingerprint(folder) != before
    r = run("restore", str(good))
    assert r.exit_code == 0, r.output
    assert _fingerprint(folder) == before
    assert not (folder / (DB_FILENAME + ".before-restore")).exists()
    assert run("db", "check").exit_code == 0


def test_encrypted_backup_is_checked_too(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THERABILL_BACKUP_PASSPHRASE", "correct horse battery staple")
    target = tmp_path / "enc.tbk"
    assert run("backup", str(target), "--encrypt").exit_code == 0
    assert b"Hudson" not in target.read_bytes()
    cut = tmp_path / "enc-cut.tbk"
    cut.write_bytes(target.read_bytes()[:-100])
    _refused(folder, cut, "backup-checksum-mismatch")
    assert run("restore", str(target)).exit_code == 0


# --- finding 11: the database file and the data folder are private ---------------------


def test_database_file_and_data_folder_are_private(folder: Path) -> None:
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        if path.name.startswith(DB_FILENAME):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_new_database_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        migrations.upgrade(engine)
        engine.dispose()
    finally:
        os.umask(old)
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


# --- finding 17: the audit chain's head is anchored outside the database ----------------


def _drop_audit_triggers(conn: sqlite3.Connection) -> None:
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_log'"
    ).fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')


def _tamper(folder: Path, sql: str) -> None:
    conn = sqlite3.connect(folder / DB_FILENAME)
    _drop_audit_triggers(conn)
    conn.execute(sql)
    conn.commit()
    conn.close()


def _recompute_chain(folder: Path) -> None:
    """Rewrite one row's details and recompute every hash after it (the chain verifies again)."""
    from datetime import datetime

    from therabill.service_layer.audit import GENESIS, row_hash

    conn = sqlite3.connect(folder / DB_FILENAME)
    _drop_audit_triggers(conn)
    rows = conn.execute(
        "SELECT id, practice_id, seq, at, actor, action, object_type, object_id, details FROM audit_log ORDER BY seq"
    ).fetchall()
    prev = GENESIS
    for i, (rid, pid, seq, at, actor, action, otype, oid, details) in enumerate(rows):
        det = json.loads(details) if details else None
        if i == 1:
            actor = "os:someone-else"
        digest = row_hash(
            practice_id=pid,
            seq=seq,
            at=datetime.fromisoformat(at),
            actor=actor,
            action=action,
            object_type=otype,
            object_id=oid,
            details=det,
            prev_hash=prev,
        )
        conn.execute(
            "UPDATE audit_log SET actor=?, prev_hash=?, hash=? WHERE id=?", (actor, prev, digest, rid)
        )
        prev = digest
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    "attack",
    ["delete-last-rows", "delete-all-rows", "recompute-chain"],
)
def test_db_check_detects_truncation_and_recomputation(folder: Path, attack: str) -> None:
    first = run("db", "check")
    assert first.exit_code == 0, first.output
    assert (folder / "audit-anchor.json").exists()
    assert stat.S_IMODE((folder / "audit-anchor.key").stat().st_mode) == 0o600
    if attack == "delete-last-rows":
        _tamper(folder, "DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 2 FROM audit_log)")
    elif attack == "delete-all-rows":
        _tamper(folder, "DELETE FROM audit_log")
    else:
        _recompute_chain(folder)
    # the chain alone still verifies in each case: only the anchor finds it
    r = run("db", "check")
    assert r.exit_code == 1, r.output
    assert "the audit log was altered" in r.output
    expected = "rewritten" if attack == "recompute-chain" else "rows-removed"
    assert expected in r.output


def test_altered_anchor_file_is_reported(folder: Path) -> None:
    assert run("db", "check").exit_code == 0
    path = folder / "audit-anchor.json"
    doc = json.loads(path.read_text())
    for head in doc["heads"].values():
        head["seq"] = 1
    path.write_text(json.dumps(doc))
    r = run("db", "check")
    assert r.exit_code == 1 and '"anchor": "invalid"' in r.output


def test_growth_after_the_anchor_is_fine(folder: Path) -> None:
    assert run("db", "check").exit_code == 0
    engine = make_engine(f"sqlite:///{folder / DB_FILENAME}")
    pid = sqlite3.connect(folder / DB_FILENAME).execute("SELECT id FROM practices").fetchone()[0]
    patients_svc.register_patient(
        engine, pid, ACTOR, chart_number="NEW", first_name="New", last_name="Person"
    )
    engine.dispose()
    assert run("db", "check").exit_code == 0


def test_restore_into_a_new_folder_creates_a_private_file(folder: Path, tmp_path: Path) -> None:
    import os

    good = _backup(folder, tmp_path)
    fresh = tmp_path / "fresh-data"
    old = os.umask(0o022)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("THERABILL_DATA_DIR", str(fresh))
            r = run("restore", str(good))
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE((fresh / DB_FILENAME).stat().st_mode) == 0o600
