"""The file-drop connector: local folders a clearinghouse's desktop uploader watches.

A send writes ``.part-NAME`` in the outbound folder, flushes it to disk (``fsync``), checks
size and hash, and renames it to ``NAME`` (an atomic rename on one file system), so the
uploader never picks up half a file. Inbound files are read from the inbound folder and
moved to the archive folder.
"""

from __future__ import annotations

import os
import secrets as _random
import stat
from pathlib import Path

from therabill.adapters.clearinghouse.base import (
    TEMP_PREFIX,
    SentReceipt,
    check_name,
    connector_error,
    sha256_hex,
)


class FileDropConnector:
    """Outbound, inbound and archive folders on this computer (or a mounted share).

    Attributes:
        kind: ``filedrop``.
        outbound: where claim files are put.
        inbound: where answers are picked up.
        archive: where collected answers are moved.
    """

    kind = "filedrop"

    def __init__(self, outbound: Path, inbound: Path, archive: Path) -> None:
        self.outbound = Path(outbound)
        self.inbound = Path(inbound)
        self.archive_dir = Path(archive)

    def find_sent(self, name: str) -> SentReceipt | None:
        """The outbound file ``name`` if it is there."""
        path = self.outbound / check_name(name)
        if not path.is_file():
            return None
        data = path.read_bytes()
        return SentReceipt(name, len(data), sha256_hex(data), True)

    def send(self, name: str, data: bytes) -> SentReceipt:
        """Write, fsync, verify, rename; never replaces a different file of the same name."""
        check_name(name)
        try:
            self.outbound.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise connector_error("filedrop-folder", str(self.outbound), str(exc)) from None
        final = self.outbound / name
        temp = self.outbound / f"{TEMP_PREFIX}{name}.{_random.token_hex(4)}"
        want = sha256_hex(data)
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            got = sha256_hex(temp.read_bytes())
            if got != want:
                raise connector_error("filedrop-hash-mismatch", str(temp), "the written file differs")
            if final.exists():
                same = sha256_hex(final.read_bytes()) == want
                temp.unlink()
                if not same:
                    raise connector_error(
                        "filedrop-name-taken", str(final), "a different file of this name exists"
                    )
                return SentReceipt(name, len(data), want, True)
            os.link(temp, final)  # fails if final appeared meanwhile: never replaces a file
            temp.unlink()
            dir_fd = os.open(self.outbound, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise connector_error("filedrop-write-failed", str(final), str(exc)) from None
        return SentReceipt(name, len(data), want, True)

    def list_inbound(self) -> list[str]:
        """Regular files of the inbound folder; hidden files, folders and symbolic links left out.

        A symbolic link is never followed (it could point anywhere on this computer).
        """
        if not self.inbound.is_dir():
            return []
        with os.scandir(self.inbound) as entries:
            return sorted(
                e.name for e in entries if e.is_file(follow_symlinks=False) and not e.name.startswith(".")
            )

    def fetch(self, name: str) -> bytes:
        """The bytes of inbound file ``name`` (a symbolic link is refused, never followed)."""
        path = self.inbound / check_name(name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise connector_error("filedrop-read-failed", name, exc.strerror or "cannot open") from None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise connector_error("filedrop-not-a-file", name, "not a regular file")
            return fh.read()

    def archive(self, name: str) -> None:
        """Move inbound file ``name`` into the archive folder."""
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        dest = self.archive_dir / check_name(name)
        if dest.exists():
            dest = self.archive_dir / f"{name}.{_random.token_hex(4)}"
        try:
            os.replace(self.inbound / name, dest)
        except OSError as exc:
            raise connector_error("filedrop-archive-failed", name, str(exc)) from None

    def close(self) -> None:
        """Nothing to release."""
