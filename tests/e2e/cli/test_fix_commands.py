"""Every ``therabill ...`` command that a finding's fix or a reference-data notice tells
people to run exists (a fix that names a missing command sends them nowhere)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import typer

from tests.unit.scrubber.cases import case_files, load, run_case
from therabill.entrypoints.cli.main import app
from therabill.refdata.status import refdata_status

_NAMED = re.compile(r"therabill ([a-z0-9][a-z0-9-]*)(?: ([a-z0-9][a-z0-9-]*))?")


def _fix_texts(tmp: Path) -> list[str]:
    texts = [i.fix for day in (date(2026, 5, 1), date(2026, 11, 20)) for i in refdata_status(day)]
    for path in case_files():
        texts.extend(f.fix for f in run_case(load(path), tmp, fixed=False).findings)
    return texts


def test_every_command_a_fix_names_exists(tmp_path: Path) -> None:
    named = {(a, b or None) for text in _fix_texts(tmp_path) for a, b in _NAMED.findall(text)}
    # the fixes that send people to a command: the ICD-10-CM release and the CMS tables
    assert ("icd10", "import") in named and ("refdata", "import-ncci") in named
    root = typer.main.get_command(app)
    groups = root.commands  # type: ignore[attr-defined]
    missing = []
    for first, second in sorted(named, key=str):
        cmd = groups.get(first)
        if cmd is None:
            missing.append(f"therabill {first}")
        elif hasattr(cmd, "commands") and (second is None or second not in cmd.commands):
            missing.append(f"therabill {first} {second}")
    assert not missing, missing
