"""Where therabill keeps its data, and how commands find their database.

``THERABILL_DATABASE_URL`` wins when set; otherwise the database is the SQLite file
``therabill.sqlite3`` in the data folder: ``THERABILL_DATA_DIR`` when set, else the user's
data folder (``~/.local/share/therabill`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

DB_FILENAME = "therabill.sqlite3"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data folder (created on first use, readable by its owner only)."""
    raw = override or os.environ.get("THERABILL_DATA_DIR") or user_data_dir("therabill", appauthor=False)
    path = Path(raw).expanduser()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def database_url(data_dir_override: str | os.PathLike[str] | None = None) -> str:
    """The database URL: ``THERABILL_DATABASE_URL``, else the SQLite file in the data folder."""
    url = os.environ.get("THERABILL_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir(data_dir_override) / DB_FILENAME}"
