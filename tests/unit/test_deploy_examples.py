"""docs/deploy.md and its example units stay true: every ``therabill`` command they run parses
with the real command line (commands and options exist), every ``THERABILL_*`` setting they
set is one therabill reads, and the units are well-formed systemd files."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from therabill.entrypoints.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
DOC = ROOT / "docs" / "deploy.md"
UNITS = sorted(p for p in DEPLOY.iterdir() if p.suffix in {".service", ".timer"})
SOURCE = "\n".join(p.read_text() for p in (ROOT / "src" / "therabill").rglob("*.py"))


def _parse(argv: list[str]) -> None:
    """Resolve ``argv`` (after ``therabill``) to a command and parse its options and arguments."""
    command: Any = typer.main.get_command(app)  # typer's own click: duck-typed
    ctx = command.make_context("therabill", list(argv))
    args = list(argv)
    while hasattr(command, "resolve_command"):  # a group: the next word names a command
        name, sub, rest = command.resolve_command(ctx, args)
        assert sub is not None, f"no command {name!r} in {' '.join(argv)}"
        ctx = sub.make_context(name or "", list(rest), parent=ctx)
        command, args = sub, list(rest)


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_joined(path))
    return parser


def _joined(path: Path) -> str:
    # systemd allows a key more than once (ExecStart=, Environment=): number them for configparser
    seen: dict[str, int] = {}
    out = []
    for line in path.read_text().splitlines():
        m = re.match(r"^(\w+)=", line)
        if m:
            seen[m.group(1)] = seen.get(m.group(1), 0) + 1
            line = f"{m.group(1)}#{seen[m.group(1)]}={line[m.end() :]}"
        out.append(line)
    return "\n".join(out)


def _values(unit: configparser.ConfigParser, section: str, key: str) -> list[str]:
    if not unit.has_section(section):
        return []
    return [v for k, v in unit.items(section) if k.split("#")[0] == key]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_units_are_well_formed(path: Path) -> None:
    unit = _unit(path)
    assert unit.has_section("Unit") and _values(unit, "Unit", "Description")
    if path.suffix == ".timer":
        assert _values(unit, "Timer", "OnCalendar") and (DEPLOY / f"{path.stem}.service").exists()
        return
    assert _values(unit, "Service", "User") == ["therabill"]
    assert _values(unit, "Service", "UMask") == ["0077"]


def _has_command(name: str) -> bool:
    group: Any = typer.main.get_command(app)
    return name in group.list_commands(group.make_context("therabill", ["--help"], resilient_parsing=True))


WORKER_PENDING = pytest.mark.xfail(
    not _has_command("worker"),
    reason="`therabill worker` (the job runner) is being added on another branch; the unit parses once it lands",
    strict=True,
)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=WORKER_PENDING) if p.name == "therabill-worker.service" else p
        for p in UNITS
        if p.suffix == ".service"
    ],
    ids=lambda p: p.name,
)
def test_unit_commands_parse(path: Path) -> None:
    unit = _unit(path)
    commands = _values(unit, "Service", "ExecStart") + _values(unit, "Service", "ExecStartPre")
    assert commands
    for line in commands:
        argv = shlex.split(line)
        assert argv[0].endswith("/therabill")
        _parse(argv[1:])


def _settings_named() -> set[str]:
    names = set()
    for path in [*UNITS, DEPLOY / "therabill.env.example"]:
        names |= set(re.findall(r"\bTHERABILL_[A-Z_]+", path.read_text()))
    return names | set(re.findall(r"\bTHERABILL_[A-Z_]+", DOC.read_text()))


def test_every_setting_is_one_therabill_reads() -> None:
    from therabill.entrypoints.http.settings import Settings

    fields = {f"THERABILL_{name.upper()}" for name in Settings.model_fields}
    for name in sorted(_settings_named()):
        assert name in fields or f'"{name}"' in SOURCE, name


def test_every_command_in_the_page_parses() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    lines = [ln.split("#")[0].strip() for b in blocks for ln in b.splitlines()]
    commands = [ln for ln in lines if ln.startswith("therabill ")]
    assert len(commands) >= 5
    for line in commands:
        _parse(shlex.split(line)[1:])


def test_the_page_links_every_example() -> None:
    text = DOC.read_text()
    for path in UNITS:
        assert f"deploy/{path.name}" in text, path.name
