"""Fixtures of the interoperability tests: databases (SQLite and PostgreSQL), a practice with
ready claims, and a real SFTP server (asyncssh) on 127.0.0.1 with a dropping-socket wrapper.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from sqlalchemy import Engine

from tests.integration.db.builders import (
    ACTOR,
    AS_OF,
    Practice,
    a_practice,
    a_visit,
    clean_scrubber,
    fixed_clock,
)
from tests.integration.db.conftest import engine, pg_databases  # noqa: F401 - fixtures reused
from therabill.adapters.clearinghouse.config import ClearinghouseSettings, Secrets
from therabill.service_layer import claims as claims_svc

USER = "practice123"
PASSWORD = "correct horse battery staple"


def ready_claim(p: Practice, example: str = "clean-60-minute-massage.json") -> str:
    """Record, code (clean scrub) and mark ready one visit; returns the claim id."""
    visit = a_visit(p, example)
    coded = claims_svc.code_visit(
        p.engine, p.id, ACTOR, visit, as_of=AS_OF, clock=fixed_clock, scrubber=clean_scrubber
    )
    claims_svc.mark_ready(p.engine, p.id, ACTOR, coded.claim_id, clock=fixed_clock)
    return coded.claim_id


@pytest.fixture
def practice(engine: Engine) -> Practice:  # noqa: F811 - the reused fixture
    return a_practice(engine)


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


@dataclass
class SftpServer:
    """A running SFTP server: its root folder, port and host key line."""

    root: Path
    port: int
    host_key: str
    client_key_file: Path

    def settings(self, **overrides: Any) -> ClearinghouseSettings:
        values: dict[str, Any] = {
            "name": "acme",
            "kind": "sftp",
            "host": "127.0.0.1",
            "port": self.port,
            "user": USER,
            "host_key": self.host_key,
            "outbound": "/to-payer",
            "inbound": "/from-payer",
            "archive": "/from-payer/archive",
            "timeout": 10.0,
        }
        values.update(overrides)
        return ClearinghouseSettings(**values)

    def folder(self, remote: str) -> Path:
        return self.root / remote.lstrip("/")


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """An asyncssh SFTP server bound to 127.0.0.1 on a free port, chrooted to a temp folder."""
    base = tmp_path_factory.mktemp("sftp")
    root = base / "root"
    for sub in ("to-payer", "from-payer"):
        (root / sub).mkdir(parents=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key_file = base / "client_ed25519"
    client_key_file.write_bytes(client_key.export_private_key("openssh"))
    client_key_file.chmod(0o600)
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            _Server,
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            authorized_client_keys=authorized,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
        )

    acceptor = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    port = acceptor.sockets[0].getsockname()[1]
    line = host_key.export_public_key().decode().split()
    yield SftpServer(root, port, f"{line[0]} {line[1]}", client_key_file)

    async def stop() -> None:
        acceptor.close()
        await acceptor.wait_closed()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    # Close the loop now: left to the garbage collector it is finalised at interpreter
    # shutdown, when its __del__ can fail on half-torn-down modules.
    if not thread.is_alive():
        loop.close()


def password() -> Secrets:
    return Secrets(password=PASSWORD)


class DroppingSocket:
    """A socket that cuts the connection after ``arm(limit)`` once ``limit`` more bytes went out.

    Until armed it passes everything (the SSH handshake, log-in, SFTP set-up); once armed,
    the next ``limit`` bytes go out and the TCP connection is shut down: the server sees a
    line dropped in the middle of a packet, the client an ``OSError``.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.sent = 0
        self.cut_at: float = float("inf")
        self.dropped = False

    def arm(self, limit: int) -> None:
        self.cut_at = self.sent + limit

    def send(self, data: bytes) -> int:
        if self.dropped:
            raise OSError("connection dropped")
        room = self.cut_at - self.sent
        if room <= 0:
            self.dropped = True
            self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            raise OSError("connection dropped")
        n = self._sock.send(data[: int(min(room, len(data)))])
        self.sent += n
        return n

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self.send(bytes(view))
            view = view[n:]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
