"""Clearinghouse settings (a TOML file) and their secrets (a separate TOML file, mode 0600).

The settings file holds nothing secret and may be kept with the practice's other settings::

    [clearinghouse]
    name = "acme"                      # the key of this clearinghouse in the secrets file
    kind = "sftp"                      # or "filedrop"
    host = "sftp.acme-clearing.example"
    port = 22
    user = "practice123"
    host_key = "ssh-ed25519 AAAAC3Nza..."   # or known_hosts = "~/.ssh/known_hosts"
    outbound = "/inbound"              # where the clearinghouse takes files (file drop: a local
                                       # folder; relative = next to this settings file)
    inbound = "/outbound"              # where it leaves its answers
    archive = "/outbound/archive"      # where collected answers are moved
    file_name = "{practice}_{control}_{ts}.837"
    follow_up_days = 30

    [x12]                              # envelope settings (see docs/x12.md)
    sender_id = "PRACTICE123"

The secrets file (default ``secrets.toml`` in the data folder; ``secrets = "..."`` in the
settings overrides it) must be readable by its owner only (mode 0600 or stricter); it is
refused otherwise. Secrets are never written to the database::

    [clearinghouse.acme]
    password = "..."                   # or key_file = "~/.ssh/acme_ed25519"
    key_passphrase = "..."             # optional, for an encrypted key
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from therabill.adapters.clearinghouse.base import NAME_FIELDS, connector_error

DEFAULT_FILE_NAME = "{practice}_{control}_{ts}.837"
DEFAULT_FOLLOW_UP_DAYS = 30


@dataclass(frozen=True, slots=True)
class Secrets:
    """Credentials of one clearinghouse (kept out of ``repr``).

    Attributes:
        password: the SFTP password, if password authentication is used.
        key_file: a private key file, if key authentication is used.
        key_passphrase: the key's passphrase, if it is encrypted.
    """

    password: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    key_passphrase: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ClearinghouseSettings:
    """How to reach one clearinghouse.

    Attributes:
        name: its key (in the secrets file and in the ``submissions`` table).
        kind: ``sftp`` or ``filedrop``.
        host: SFTP host.
        port: SFTP port.
        user: SFTP user.
        host_key: the server's public key line (``ssh-ed25519 AAAA...``), pinned.
        known_hosts: a known_hosts file to check the server against instead.
        outbound: remote folder for claim files (for a file drop: a local folder; a relative
            one is resolved against the settings file's folder when the file is loaded).
        inbound: folder where answers arrive.
        archive: folder collected answers are moved to.
        file_name: the outbound name template (``render_name`` fields).
        follow_up_days: days without an answer before a claim is listed for follow-up.
        secrets_path: the secrets file.
        timeout: connection timeout in seconds.
        x12: the ``[x12]`` table (envelope settings), passed to the X12 writer.
    """

    name: str
    kind: str = "sftp"
    host: str = ""
    port: int = 22
    user: str = ""
    host_key: str | None = None
    known_hosts: Path | None = None
    outbound: str = "outbound"
    inbound: str = "inbound"
    archive: str = "archive"
    file_name: str = DEFAULT_FILE_NAME
    follow_up_days: int = DEFAULT_FOLLOW_UP_DAYS
    secrets_path: Path | None = None
    timeout: float = 20.0
    x12: Mapping[str, Any] = field(default_factory=dict)


_KNOWN = {
    "name", "kind", "host", "port", "user", "host_key", "known_hosts", "outbound", "inbound",
    "archive", "file_name", "follow_up_days", "secrets", "timeout",
}  # fmt: skip


def load_settings(path: str | os.PathLike[str], *, data_dir: Path | None = None) -> ClearinghouseSettings:
    """Read the settings file; ``ConnectorError`` naming the key for anything unusable."""
    p = Path(path).expanduser()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise connector_error(
            "clearinghouse-settings-invalid", str(p), f"cannot read settings: {exc}"
        ) from None
    ch = raw.get("clearinghouse")
    if not isinstance(ch, dict):
        raise connector_error(
            "clearinghouse-settings-invalid", "clearinghouse", "a [clearinghouse] table is required"
        )
    for secret in ("password", "key_passphrase", "key_file", "key", "private_key"):
        if secret in ch:  # checked before unknown keys, so the message says where it belongs
            raise connector_error(
                "clearinghouse-secret-in-settings",
                f"clearinghouse.{secret}",
                "secrets belong in the secrets file",
            )
    unknown = sorted(set(ch) - _KNOWN)
    if unknown:
        raise connector_error(
            "clearinghouse-settings-invalid", "clearinghouse", f"unknown key(s): {', '.join(unknown)}"
        )
    kind = ch.get("kind", "sftp")
    if kind not in ("sftp", "filedrop"):
        raise connector_error(
            "clearinghouse-settings-invalid", "clearinghouse.kind", "kind is sftp or filedrop"
        )
    name = ch.get("name")
    if not isinstance(name, str) or not name:
        raise connector_error("clearinghouse-settings-invalid", "clearinghouse.name", "name is required")
    if kind == "sftp":
        for key in ("host", "user"):
            if not ch.get(key):
                raise connector_error(
                    "clearinghouse-settings-invalid", f"clearinghouse.{key}", f"{key} is required"
                )
        if not ch.get("host_key") and not ch.get("known_hosts"):
            raise connector_error(
                "clearinghouse-host-key-missing",
                "clearinghouse.host_key",
                "pin the server's key (host_key) or name a known_hosts file; unknown servers are refused",
            )
    template = ch.get("file_name", DEFAULT_FILE_NAME)
    import string

    used = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    if used - NAME_FIELDS:
        raise connector_error(
            "connector-template-invalid",
            "clearinghouse.file_name",
            f"unknown field(s) {sorted(used - NAME_FIELDS)}",
        )
    base = p.absolute().parent

    def _path(value: Any) -> Path:
        q = Path(str(value)).expanduser()
        return q if q.is_absolute() else base / q

    secrets = ch.get("secrets")
    try:
        port = int(ch.get("port", 22))
        days = int(ch.get("follow_up_days", DEFAULT_FOLLOW_UP_DAYS))
        timeout = float(ch.get("timeout", 20.0))
    except (TypeError, ValueError):
        raise connector_error(
            "clearinghouse-settings-invalid", "clearinghouse", "port, follow_up_days and timeout are numbers"
        ) from None
    folders = {key: str(ch.get(key, key)) for key in ("outbound", "inbound", "archive")}
    if kind == "filedrop":  # local folders: a relative path is relative to this settings file
        folders = {key: str(_path(value)) for key, value in folders.items()}
    return ClearinghouseSettings(
        name=name,
        kind=kind,
        host=str(ch.get("host", "")),
        port=port,
        user=str(ch.get("user", "")),
        host_key=ch.get("host_key"),
        known_hosts=_path(ch["known_hosts"]) if ch.get("known_hosts") else None,
        outbound=folders["outbound"],
        inbound=folders["inbound"],
        archive=folders["archive"],
        file_name=template,
        follow_up_days=days,
        secrets_path=_path(secrets) if secrets else (data_dir / "secrets.toml" if data_dir else None),
        timeout=timeout,
        x12=dict(raw.get("x12", {})),
    )


def load_secrets(path: Path, name: str) -> Secrets:
    """The secrets of clearinghouse ``name``; refused unless the file is private (0600).

    Raises:
        ConnectorError: missing file, permissions wider than owner-only, no entry for ``name``.
    """
    try:
        st = path.stat()
    except OSError:
        raise connector_error(
            "clearinghouse-secrets-missing", str(path), "the secrets file does not exist"
        ) from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise connector_error(
            "clearinghouse-secrets-permissions",
            str(path),
            f"the secrets file is mode {stat.S_IMODE(st.st_mode):04o}; run chmod 600 on it",
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise connector_error("clearinghouse-secrets-invalid", str(path), f"cannot read: {exc}") from None
    entry = raw.get("clearinghouse", {}).get(name)
    if not isinstance(entry, dict):
        raise connector_error(
            "clearinghouse-secrets-invalid", f"clearinghouse.{name}", "no entry for this clearinghouse"
        )
    key_file = entry.get("key_file")
    secrets = Secrets(
        password=entry.get("password"),
        key_file=Path(key_file).expanduser() if key_file else None,
        key_passphrase=entry.get("key_passphrase"),
    )
    if secrets.password is None and secrets.key_file is None:
        raise connector_error(
            "clearinghouse-secrets-invalid", f"clearinghouse.{name}", "give a password or a key_file"
        )
    return secrets
