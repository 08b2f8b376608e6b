"""The connector interface every clearinghouse transport implements, and file naming.

A connector moves whole files: ``send(name, data)`` puts an outbound file so that the
clearinghouse only ever sees it complete (temporary name, then rename) and returns a
``SentReceipt`` with the size and SHA-256 checked on the far side; ``list_inbound()``,
``fetch(name)`` and ``archive(name)`` collect the answers (999, TA1, 277CA, 835...).
``find_sent(name)`` tells whether a file of that name already arrived, so a retry after a
lost connection can recognise a file that did arrive and not send it again.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from therabill.domain.errors import Problem, TherabillError

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
"""A remote file name: letters, digits, dot, dash, underscore; no path; at most 200 characters."""

TEMP_PREFIX = ".part-"
"""Prefix of the temporary name an upload is written under before the rename."""


class ConnectorError(TherabillError):
    """The transport failed (connection, authentication, a check after upload)."""

    code = "connector-failed"


def connector_error(code: str, loc: str, message: str) -> ConnectorError:
    """A ``ConnectorError`` with one problem."""
    return ConnectorError(message, (Problem(code, loc, message),))


@dataclass(frozen=True, slots=True)
class SentReceipt:
    """What the far side holds after a send.

    Attributes:
        name: the remote file name (in the outbound folder).
        size: its size in bytes, as the far side reports it.
        sha256: the SHA-256 of the bytes read back (or of the local copy for a file drop).
        verified: True when size and hash were checked on the far side.
    """

    name: str
    size: int
    sha256: str
    verified: bool


@runtime_checkable
class Connector(Protocol):
    """A way to hand files to a clearinghouse and collect its answers."""

    kind: str

    def send(self, name: str, data: bytes) -> SentReceipt:
        """Put ``data`` as outbound file ``name`` atomically; raise ``ConnectorError`` on failure."""
        ...

    def find_sent(self, name: str) -> SentReceipt | None:
        """The outbound file ``name`` if it is (completely) there, else ``None``."""
        ...

    def list_inbound(self) -> list[str]:
        """Names of the files waiting in the inbound folder, sorted."""
        ...

    def fetch(self, name: str) -> bytes:
        """The bytes of inbound file ``name``."""
        ...

    def archive(self, name: str) -> None:
        """Move inbound file ``name`` out of the way (the clearinghouse's archive folder)."""
        ...

    def close(self) -> None:
        """Release the connection, if any."""
        ...


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 hex characters."""
    return hashlib.sha256(data).hexdigest()


def check_name(name: str) -> str:
    """``name`` when it is a safe remote file name; ``ConnectorError`` otherwise."""
    if not SAFE_NAME.match(name) or name.startswith(TEMP_PREFIX):
        raise connector_error(
            "connector-name-invalid", "name", f"{name!r} is not a safe file name (letters, digits, . _ -)"
        )
    return name


NAME_FIELDS = frozenset({"practice", "control", "ts", "date", "batch", "kind"})


def render_name(template: str, values: Mapping[str, object]) -> str:
    """A file name from a template such as ``{practice}_{control}_{ts}.837``.

    Fields: ``practice`` (slug), ``control`` (interchange control number, 9 digits),
    ``ts`` (``YYYYMMDDHHMMSS``), ``date`` (``YYYYMMDD``), ``batch`` (first 8 characters of
    the batch id), ``kind`` (``837``, ``276``). Unknown fields are refused.
    """
    used = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    unknown = sorted(used - NAME_FIELDS)
    if unknown:
        raise connector_error(
            "connector-template-invalid",
            "file_name",
            f"unknown field(s) {', '.join(unknown)} in {template!r}",
        )
    return check_name(template.format(**values))


def name_values(
    *, practice: str, control: int, created: datetime, batch: str = "", kind: str = "837"
) -> dict[str, object]:
    """The values ``render_name`` fills in."""
    return {
        "practice": re.sub(r"[^A-Za-z0-9-]", "-", practice)[:40],
        "control": f"{control:09d}",
        "ts": created.strftime("%Y%m%d%H%M%S"),
        "date": created.strftime("%Y%m%d"),
        "batch": batch[:8],
        "kind": kind,
    }
