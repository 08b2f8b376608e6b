"""The interchange control number counter kept in the data folder (stateless commands).

Stored claims get their control numbers from the database; the ``therabill x12 837``
command on encounter documents keeps a small counter file instead. The file is locked
while it is read and written, and replaced atomically.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from therabill.adapters.x12.errors import X12Error

__all__ = ["COUNTER_FILE", "next_control_number"]

COUNTER_FILE = "x12-control-number"


def next_control_number(folder: Path) -> int:
    """Increment and return the counter in ``folder`` (1 on first use, wraps after 999,999,999)."""
    path = folder / COUNTER_FILE
    lock_path = folder / (COUNTER_FILE + ".lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            text = path.read_text(encoding="ascii").strip() if path.exists() else "0"
            if not text.isdigit():
                raise X12Error(
                    f"the control number file {path} is corrupt: {text[:20]!r}",
                    code="x12-control-number-invalid",
                )
            value = int(text) % 999_999_999 + 1
            tmp = path.with_suffix(".tmp")
            tmp.write_text(f"{value}\n", encoding="ascii")
            os.replace(tmp, path)
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
