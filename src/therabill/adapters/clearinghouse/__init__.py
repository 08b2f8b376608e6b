"""Clearinghouse connectors: SFTP (paramiko) and a local file drop, behind one interface."""

from __future__ import annotations

from pathlib import Path

from therabill.adapters.clearinghouse.base import (
    Connector,
    ConnectorError,
    SentReceipt,
    connector_error,
    render_name,
)
from therabill.adapters.clearinghouse.config import ClearinghouseSettings, load_secrets, load_settings
from therabill.adapters.clearinghouse.filedrop import FileDropConnector
from therabill.adapters.clearinghouse.sftp import SftpConnector

__all__ = [
    "ClearinghouseSettings",
    "Connector",
    "ConnectorError",
    "FileDropConnector",
    "SentReceipt",
    "load_settings",
    "open_connector",
    "render_name",
]


def open_connector(settings: ClearinghouseSettings) -> Connector:
    """The connector the settings describe (SFTP reads its secrets file now)."""
    if settings.kind == "filedrop":
        return FileDropConnector(Path(settings.outbound), Path(settings.inbound), Path(settings.archive))
    if settings.secrets_path is None:
        raise connector_error(
            "clearinghouse-secrets-missing", "clearinghouse.secrets", "no secrets file given"
        )
    return SftpConnector(settings, load_secrets(settings.secrets_path, settings.name))
