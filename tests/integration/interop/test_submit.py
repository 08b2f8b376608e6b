"""Submission: batches reach the clearinghouse once, and only what arrived is recorded as sent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.integration.db.builders import ACTOR, Practice, fixed_clock
from tests.integration.interop.conftest import DroppingSocket, SftpServer, password, ready_claim
from therabill.adapters.clearinghouse import FileDropConnector
from therabill.adapters.clearinghouse.base import TEMP_PREFIX
from therabill.adapters.clearinghouse.config import Secrets
from therabill.adapters.clearinghouse.sftp import SftpConnector
from therabill.adapters.db.interop_tables import submissions
from therabill.adapters.x12.tokenizer import iter_segments
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import submission as sub


def _rows(engine: Engine, practice_id: str) -> list[dict[str, object]]:
    return sub.list_submissions(engine, practice_id, ACTOR)


def _only_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def test_submit_by_file_drop_sends_each_batch_once(practice: Practice, tmp_path: Path) -> None:
    claim_id = ready_claim(practice)
    drop = FileDropConnector(tmp_path / "out", tmp_path / "in", tmp_path / "arch")
    first = sub.submit(
        practice.engine,
        practice.id,
        ACTOR,
        drop,
        connector_name="desk",
        data_dir=tmp_path / "data",
        clock=fixed_clock,
    )
    assert [r.outcome for r in first] == ["sent"]
    files = _only_files(tmp_path / "out")
    assert [f.name for f in files] == [first[0].remote_name]
    data = files[0].read_bytes()
    assert hashlib.sha256(data).hexdigest() == first[0].sha256
    segs = list(iter_segments(data))
    assert segs[0][13] == f"{first[0].control_number:09d}"
    number = claims_svc.list_claims(practice.engine, practice.id, ACTOR)[0].claim_number
    assert any(s[0] == "CLM" and s[1] == number for s in segs)
    assert (tmp_path / "data" / "outbound" / first[0].remote_name).read_bytes() == data
    row = _rows(practice.engine, practice.id)[0]
    assert row["status"] == "sent" and row["sent_at"] is not None and row["sha256"] == first[0].sha256
    # A second run has nothing to send and writes nothing.
    assert (
        sub.submit(practice.engine, practice.id, ACTOR, drop, connector_name="desk", clock=fixed_clock) == []
    )
    assert len(_only_files(tmp_path / "out")) == 1
    assert (
        claims_svc.claim_history(practice.engine, practice.id, ACTOR, claim_id)[-1]["status"] == "submitted"
    )


def test_a_batch_has_one_submission_row(practice: Practice, tmp_path: Path) -> None:
    ready_claim(practice)
    drop = FileDropConnector(tmp_path / "out", tmp_path / "in", tmp_path / "arch")
    sub.submit(practice.engine, practice.id, ACTOR, drop, connector_name="desk", clock=fixed_clock)
    row = _rows(practice.engine, practice.id)[0]
    with pytest.raises(Exception, match="(?i)unique|duplicate"):  # noqa: PT011 - driver-specific class
        with practice.engine.begin() as conn:
            conn.execute(
                submissions.insert().values(
                    {**row, "id": "x" * 32, "remote_name": "other.837", "status": "sending", "sent_at": None}
                )
            )


def _sftp(server: SftpServer, **kw: object) -> SftpConnector:
    return SftpConnector(server.settings(), password(), **kw)  # type: ignore[arg-type]


class _DropDuringUpload(SftpConnector):
    """Cuts the TCP connection ``limit`` bytes into the upload."""

    def __init__(self, server: SftpServer, limit: int) -> None:
        self.socks: list[DroppingSocket] = []

        def wrap(sock: object) -> DroppingSocket:
            ds = DroppingSocket(sock)  # type: ignore[arg-type]
            self.socks.append(ds)
            return ds

        super().__init__(server.settings(), password(), wrap_socket=wrap)
        self.chunk_size = 200
        self.limit = limit

    def send(self, name: str, data: bytes):  # type: ignore[no-untyped-def]
        self._client()
        self.socks[-1].arm(self.limit)
        return super().send(name, data)


def test_dropped_connection_mid_upload_then_retry_sends_once(
    practice: Practice, sftp_server: SftpServer
) -> None:
    ready_claim(practice)
    ready_claim(practice, "massage-and-manual-therapy-two-regions.json")
    outbound = sftp_server.folder("/to-payer")
    before = set(outbound.iterdir())
    dropping = _DropDuringUpload(sftp_server, limit=700)
    failed = sub.submit(
        practice.engine, practice.id, ACTOR, dropping, connector_name="acme", clock=fixed_clock
    )
    dropping.close()
    assert dropping.socks[-1].dropped
    assert [r.outcome for r in failed] == ["failed"]
    name = failed[0].remote_name
    assert not (outbound / name).exists()  # nothing complete-looking on the server
    row = _rows(practice.engine, practice.id)[0]
    assert row["status"] == "sending" and row["sent_at"] is None  # not recorded as sent
    # A partial temporary file may remain; it never has the final name or the full content.
    for leftover in set(outbound.iterdir()) - before:
        assert leftover.name.startswith(TEMP_PREFIX)
        assert hashlib.sha256(leftover.read_bytes()).hexdigest() != failed[0].sha256

    with _sftp(sftp_server) as good:
        retried = sub.submit(
            practice.engine, practice.id, ACTOR, good, connector_name="acme", clock=fixed_clock
        )
        again = sub.submit(
            practice.engine, practice.id, ACTOR, good, connector_name="acme", clock=fixed_clock
        )
    assert [r.outcome for r in retried] == ["sent"] and again == []
    assert retried[0].remote_name == name and retried[0].sha256 == failed[0].sha256
    finals = [p for p in outbound.iterdir() if p.name == name]
    assert len(finals) == 1
    assert hashlib.sha256(finals[0].read_bytes()).hexdigest() == failed[0].sha256
    assert [r["status"] for r in _rows(practice.engine, practice.id)] == ["sent"]


def test_upload_arrived_but_not_recorded_is_found_not_resent(
    practice: Practice, sftp_server: SftpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready_claim(practice)
    outbound = sftp_server.folder("/to-payer")
    real = sub._record_sent

    def crash(*a: object, **k: object) -> None:
        raise RuntimeError("power cut after the upload")

    monkeypatch.setattr(sub, "_record_sent", crash)
    with _sftp(sftp_server) as conn, pytest.raises(RuntimeError):
        sub.submit(practice.engine, practice.id, ACTOR, conn, connector_name="acme", clock=fixed_clock)
    monkeypatch.setattr(sub, "_record_sent", real)
    row = _rows(practice.engine, practice.id)[0]
    assert row["status"] == "sending"
    stat_before = (outbound / str(row["remote_name"])).stat()

    class NoSend(SftpConnector):
        def send(self, name: str, data: bytes):  # type: ignore[no-untyped-def]
            raise AssertionError("a file that arrived must not be sent again")

    with NoSend(sftp_server.settings(), password()) as conn:
        found = sub.submit(
            practice.engine, practice.id, ACTOR, conn, connector_name="acme", clock=fixed_clock
        )
    assert [r.outcome for r in found] == ["found"]
    assert (outbound / str(row["remote_name"])).stat().st_mtime_ns == stat_before.st_mtime_ns
    assert _rows(practice.engine, practice.id)[0]["status"] == "sent"


def test_key_authentication_and_pinned_host_key(sftp_server: SftpServer) -> None:
    conn = SftpConnector(sftp_server.settings(), Secrets(key_file=sftp_server.client_key_file))
    receipt = conn.send("key-auth-check.txt", b"hello")
    conn.close()
    assert receipt.verified and receipt.size == 5
    assert (sftp_server.folder("/to-payer") / "key-auth-check.txt").read_bytes() == b"hello"


def test_wrong_host_key_and_wrong_password_are_refused(sftp_server: SftpServer) -> None:
    from therabill.adapters.clearinghouse import ConnectorError

    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    with pytest.raises(ConnectorError) as bad_key:
        SftpConnector(sftp_server.settings(host_key=other), password()).list_inbound()
    assert bad_key.value.problems[0].code == "sftp-host-key-mismatch"
    with pytest.raises(ConnectorError) as bad_pw:
        SftpConnector(sftp_server.settings(), Secrets(password="wrong")).list_inbound()
    assert bad_pw.value.problems[0].code == "sftp-auth-failed"


def test_a_different_file_never_replaces_one_of_the_same_name(sftp_server: SftpServer) -> None:
    from therabill.adapters.clearinghouse import ConnectorError

    with _sftp(sftp_server) as conn:
        conn.send("same-name.837", b"first")
        assert conn.send("same-name.837", b"first").sha256 == hashlib.sha256(b"first").hexdigest()
        with pytest.raises(ConnectorError) as taken:
            conn.send("same-name.837", b"second")
    assert taken.value.problems[0].code == "sftp-name-taken"
    assert (sftp_server.folder("/to-payer") / "same-name.837").read_bytes() == b"first"
    assert not [
        p for p in sftp_server.folder("/to-payer").iterdir() if p.name.startswith(TEMP_PREFIX + "same")
    ]


def test_claim_rows_carry_their_transaction_control_number(practice: Practice, tmp_path: Path) -> None:
    ready_claim(practice)
    drop = FileDropConnector(tmp_path / "out", tmp_path / "in", tmp_path / "arch")
    res = sub.submit(practice.engine, practice.id, ACTOR, drop, connector_name="desk", clock=fixed_clock)
    from therabill.adapters.db.tables import claims

    with practice.engine.connect() as conn:
        row = conn.execute(select(claims).where(claims.c.practice_id == practice.id)).one()
    assert row.transaction_control_number == "0001"
    assert row.group_control_number == res[0].control_number
