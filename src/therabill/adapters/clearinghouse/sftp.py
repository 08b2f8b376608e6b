"""The SFTP connector (paramiko): how most clearinghouses take 837 batches and return answers.

The server's key is checked against a pinned key or a known_hosts file; an unknown server
is refused. A send writes the file under a temporary name (``.part-NAME.RANDOM``), checks
its size on the server, reads it back to compare the SHA-256, and only then renames it to
its final name, so a dropped connection never leaves a complete-looking file. The rename
never replaces an existing file: when the final name already holds the same bytes (a retry
after the answer to the rename was lost) the send succeeds without a second copy.
"""

from __future__ import annotations

import posixpath
import secrets as _random
import socket
from collections.abc import Callable
from typing import Any

import paramiko

from therabill.adapters.clearinghouse.base import (
    TEMP_PREFIX,
    ConnectorError,
    SentReceipt,
    check_name,
    connector_error,
    sha256_hex,
)
from therabill.adapters.clearinghouse.config import ClearinghouseSettings, Secrets

CHUNK = 32 * 1024

SocketWrapper = Callable[[socket.socket], Any]
"""Wraps the TCP socket before SSH runs on it (tests use it to drop a connection)."""

_FAILURES = (OSError, EOFError, paramiko.SSHException)


class SftpConnector:
    """A clearinghouse reached over SFTP.

    Attributes:
        kind: ``sftp``.
        settings: host, user, folders.
    """

    kind = "sftp"

    def __init__(
        self, settings: ClearinghouseSettings, secrets: Secrets, *, wrap_socket: SocketWrapper | None = None
    ) -> None:
        self.settings = settings
        self._secrets = secrets
        self._wrap = wrap_socket
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self.chunk_size = CHUNK

    # -- connection --------------------------------------------------------------------------
    def _check_host_key(self, key: paramiko.PKey) -> None:
        s = self.settings
        if s.host_key:
            parts = s.host_key.split()
            if len(parts) >= 2 and parts[0] == key.get_name() and parts[1] == key.get_base64():
                return
        elif s.known_hosts is not None:
            known = paramiko.HostKeys(str(s.known_hosts))
            entry = s.host if s.port == 22 else f"[{s.host}]:{s.port}"
            if known.check(entry, key):
                return
        raise connector_error(
            "sftp-host-key-mismatch",
            "clearinghouse.host_key",
            f"the server offered {key.get_name()} {key.get_base64()[:16]}..., which is not the pinned key",
        )

    def _client(self) -> paramiko.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        s = self.settings
        try:
            sock: Any = socket.create_connection((s.host, s.port), timeout=s.timeout)
            if self._wrap is not None:
                sock = self._wrap(sock)
            transport = paramiko.Transport(sock)
            transport.start_client(timeout=s.timeout)
            self._transport = transport
            self._check_host_key(transport.get_remote_server_key())
            if self._secrets.key_file is not None:
                pkey = paramiko.PKey.from_path(self._secrets.key_file, self._secrets.key_passphrase)
                transport.auth_publickey(s.user, pkey)
            else:
                transport.auth_password(s.user, self._secrets.password or "")
            self._sftp = paramiko.SFTPClient.from_transport(transport)
        except ConnectorError:
            self.close()
            raise
        except paramiko.AuthenticationException:
            self.close()
            raise connector_error(
                "sftp-auth-failed", "clearinghouse.user", "the server refused the credentials"
            ) from None
        except _FAILURES as exc:
            self.close()
            raise connector_error(
                "sftp-connect-failed", f"{s.host}:{s.port}", f"cannot connect: {exc}"
            ) from None
        if self._sftp is None:  # pragma: no cover - paramiko returns a client or raises
            raise connector_error("sftp-connect-failed", s.host, "no SFTP channel")
        return self._sftp

    def close(self) -> None:
        """Close the SFTP channel and the SSH transport."""
        for thing in (self._sftp, self._transport):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001,S110 - closing a broken connection may fail
                    pass
        self._sftp = None
        self._transport = None

    def __enter__(self) -> SftpConnector:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------------------
    def _stat_size(self, sftp: paramiko.SFTPClient, path: str) -> int | None:
        try:
            return int(sftp.stat(path).st_size or 0)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if getattr(exc, "errno", None) == 2:
                return None
            raise

    def _read(self, sftp: paramiko.SFTPClient, path: str) -> bytes:
        with sftp.open(path, "rb") as fh:
            fh.prefetch()
            return bytes(fh.read())

    def _fail(self, code: str, loc: str, exc: BaseException) -> ConnectorError:
        self.close()
        return connector_error(code, loc, f"{type(exc).__name__}: {exc}")

    # -- the interface -------------------------------------------------------------------------
    def find_sent(self, name: str) -> SentReceipt | None:
        """The outbound file ``name`` with its size and hash, or ``None`` when absent."""
        path = posixpath.join(self.settings.outbound, check_name(name))
        sftp = self._client()
        try:
            size = self._stat_size(sftp, path)
            if size is None:
                return None
            return SentReceipt(name, size, sha256_hex(self._read(sftp, path)), True)
        except _FAILURES as exc:
            raise self._fail("sftp-stat-failed", path, exc) from None

    def send(self, name: str, data: bytes) -> SentReceipt:
        """Upload under a temporary name, verify size and hash, then rename to ``name``."""
        check_name(name)
        sftp = self._client()
        folder = self.settings.outbound
        final = posixpath.join(folder, name)
        temp = posixpath.join(folder, f"{TEMP_PREFIX}{name}.{_random.token_hex(4)}")
        want = sha256_hex(data)
        try:
            with sftp.open(temp, "wb") as fh:
                step = self.chunk_size
                for start in range(0, len(data), step):
                    fh.write(data[start : start + step])
            size = self._stat_size(sftp, temp)
            if size != len(data):
                raise connector_error(
                    "sftp-size-mismatch", temp, f"the server holds {size} bytes, {len(data)} were sent"
                )
            got = sha256_hex(self._read(sftp, temp))
            if got != want:
                raise connector_error(
                    "sftp-hash-mismatch", temp, "the bytes on the server differ from those sent"
                )
            existing = self._stat_size(sftp, final)
            if existing is not None:
                same = existing == len(data) and sha256_hex(self._read(sftp, final)) == want
                sftp.remove(temp)
                if not same:
                    raise connector_error(
                        "sftp-name-taken", final, "a different file of this name is already on the server"
                    )
                return SentReceipt(name, existing, want, True)
            sftp.rename(temp, final)
        except ConnectorError:
            self._cleanup(temp)
            raise
        except _FAILURES as exc:
            self._cleanup(temp)
            raise self._fail("sftp-upload-failed", final, exc) from None
        return SentReceipt(name, size, got, True)

    def _cleanup(self, temp: str) -> None:
        if self._sftp is None:
            return
        try:
            self._sftp.remove(temp)
        except Exception:  # noqa: BLE001,S110 - best effort; a stale .part file is harmless
            pass

    def list_inbound(self) -> list[str]:
        """Regular files of the inbound folder (temporary ``.part-`` files left out)."""
        sftp = self._client()
        try:
            entries = sftp.listdir_attr(self.settings.inbound)
        except _FAILURES as exc:
            raise self._fail("sftp-list-failed", self.settings.inbound, exc) from None
        import stat as _stat

        return sorted(
            e.filename
            for e in entries
            if e.st_mode is not None
            and _stat.S_ISREG(e.st_mode)
            and not e.filename.startswith((".", TEMP_PREFIX))
        )

    def fetch(self, name: str) -> bytes:
        """The bytes of inbound file ``name``."""
        path = posixpath.join(self.settings.inbound, check_name(name))
        try:
            return self._read(self._client(), path)
        except _FAILURES as exc:
            raise self._fail("sftp-fetch-failed", path, exc) from None

    def archive(self, name: str) -> None:
        """Move inbound file ``name`` into the archive folder (created when missing)."""
        sftp = self._client()
        src = posixpath.join(self.settings.inbound, check_name(name))
        folder = self.settings.archive
        try:
            if self._stat_size(sftp, folder) is None:
                sftp.mkdir(folder)
            dest = posixpath.join(folder, name)
            if self._stat_size(sftp, dest) is not None:
                dest = posixpath.join(folder, f"{name}.{_random.token_hex(4)}")
            sftp.rename(src, dest)
        except _FAILURES as exc:
            raise self._fail("sftp-archive-failed", src, exc) from None
