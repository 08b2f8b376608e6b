"""Backup and restore round trip (SQLite; PostgreSQL is backed up with pg_dump)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.integration.db.builders import ACTOR, a_practice, a_visit
from therabill.adapters.db import migrations
from therabill.adapters.db.backup import BackupError, backup_sqlite, restore_sqlite
from therabill.adapters.db.engine import make_engine
from therabill.service_layer import audit
from therabill.service_layer import patients as patients_svc
from therabill.service_layer.audit import verify_chain
from therabill.service_layer.uow import UnitOfWork


@pytest.mark.parametrize("passphrase", [None, "correct horse battery staple"])
def test_backup_restore_round_trip(tmp_path: Path, passphrase: str | None) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    migrations.upgrade(engine)
    p = a_practice(engine)
    a_visit(p)
    target = tmp_path / "out" / "backup.tbk"
    backup_sqlite(engine, target, passphrase, audit=audit)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    if passphrase:
        assert b"Miller" not in target.read_bytes() and b"SQLite format 3" not in target.read_bytes()
    # after the backup: a new patient that the restore must take away again
    patients_svc.register_patient(
        engine, p.id, ACTOR, chart_number="P-LATE", first_name="Late", last_name="Comer"
    )
    assert len(patients_svc.list_patients(engine, p.id, ACTOR)) == 2
    if passphrase:
        with pytest.raises(BackupError) as err:
            restore_sqlite(engine, target, "wrong", audit=audit)
        assert err.value.problems[0].code == "backup-passphrase-wrong"
    restore_sqlite(engine, target, passphrase, audit=audit)
    assert [x.chart_number for x in patients_svc.list_patients(engine, p.id, ACTOR)] == ["P-0101"]
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        assert verify_chain(uow.session, p.id).ok


def test_restore_refuses_a_corrupt_file(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    migrations.upgrade(engine)
    bad = tmp_path / "bad.tbk"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(BackupError):
        restore_sqlite(engine, bad, audit=audit)
    assert migrations.current(engine) == migrations.head()
