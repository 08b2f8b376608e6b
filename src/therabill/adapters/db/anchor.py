"""The audit chain's anchor: each practice's chain head, kept outside the database.

The audit log is a hash chain inside the database, so someone who can write the database
could delete its last rows, all of its rows, or rewrite rows and recompute every hash after
them; the chain alone would still verify. The anchor file (``audit-anchor.json`` in the data
folder, mode 0600) records each practice's head (sequence number and hash), signed with
HMAC-SHA256 under a key kept beside it (``audit-anchor.key``, mode 0600, created on first
use). ``therabill backup`` and ``therabill db check`` write it; ``therabill db check``
compares the database with it, so truncation and recomputation are found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path

from therabill.adapters.files import write_private
from therabill.domain.errors import Problem, TherabillError

ANCHOR_FILE = "audit-anchor.json"
KEY_FILE = "audit-anchor.key"

Heads = dict[str, tuple[int, str]]
"""Chain heads: practice id -> (sequence number, hash) of the practice's last audit row."""


class AnchorError(TherabillError):
    """The anchor file is missing its key, was altered, or cannot be read."""

    code = "audit-anchor-invalid"


def _key(folder: Path, *, create: bool) -> bytes | None:
    path = folder / KEY_FILE
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    if not create:
        return None
    key = secrets.token_bytes(32)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, key.hex().encode("ascii"))
    return key


def _canonical(heads: Heads) -> bytes:
    body = {pid: [seq, digest] for pid, (seq, digest) in sorted(heads.items())}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def sign(folder: Path, heads: Heads) -> str:
    """The HMAC-SHA256 (hex) of ``heads`` under the folder's anchor key (created if missing)."""
    key = _key(folder, create=True)
    assert key is not None
    return hmac.new(key, _canonical(heads), hashlib.sha256).hexdigest()


def write(folder: Path, heads: Heads) -> Path:
    """Write the signed anchor of ``heads`` into ``folder`` (mode 0600); returns its path."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / ANCHOR_FILE
    doc = {
        "heads": {pid: {"seq": seq, "hash": digest} for pid, (seq, digest) in sorted(heads.items())},
        "hmac": sign(folder, heads),
    }
    write_private(path, json.dumps(doc, indent=1, sort_keys=True).encode("ascii"))
    return path


def read(folder: Path) -> Heads | None:
    """The anchored heads, or None when no anchor was written yet.

    Raises:
        AnchorError: the file does not parse, its key is missing, or its signature is wrong.
    """
    path = folder / ANCHOR_FILE
    if not path.exists():
        return None

    def bad(message: str) -> AnchorError:
        return AnchorError(message, (Problem("audit-anchor-invalid", ANCHOR_FILE, message),))

    try:
        doc = json.loads(path.read_text(encoding="ascii"))
        heads: Heads = {str(pid): (int(v["seq"]), str(v["hash"])) for pid, v in dict(doc["heads"]).items()}
        mac = str(doc["hmac"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise bad("the audit anchor file cannot be read") from None
    key = _key(folder, create=False)
    if key is None:
        raise bad("the audit anchor key is missing")
    expected = hmac.new(key, _canonical(heads), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        raise bad("the audit anchor file was altered (its signature does not verify)")
    return heads
