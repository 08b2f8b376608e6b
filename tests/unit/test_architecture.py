"""The dependency rule and the money rule, enforced on the source tree."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "therabill"
DOMAIN = SRC / "domain"
STDLIB = set(sys.stdlib_module_names)


def _parse(source: str) -> ast.Module:
    """``ast.parse``, tried again once on CPython 3.11's spurious "AST constructor recursion
    depth mismatch" SystemError (python/cpython#106905, fixed in later 3.11 releases): the
    source is fine, the interpreter's depth counter was off."""
    try:
        return ast.parse(source)
    except SystemError:
        return ast.parse(source)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = _parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports stay inside the package: check their target
                out.append((node.lineno, "therabill.domain." + (node.module or "")))
            else:
                out.append((node.lineno, node.module or ""))
    return out


DOMAIN_FILES = sorted(DOMAIN.rglob("*.py"))


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_domain_imports_only_stdlib_and_domain(path: Path) -> None:
    bad = [
        f"{path.name}:{line} imports {name}"
        for line, name in _imports(path)
        if not (
            name.split(".")[0] in STDLIB or name == "therabill.domain" or name.startswith("therabill.domain.")
        )
    ]
    assert not bad, "the domain must stay pure: " + "; ".join(bad)


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_domain_has_no_float(path: Path) -> None:
    tree = _parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            bad.append(f"float literal at line {node.lineno}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
            bad.append(f"float() at line {node.lineno}")
    assert not bad, f"{path.name}: money and units never go through float: {bad}"


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom therabill.adapters import db\nx = 1.5\n")
    names = [n for _, n in _imports(bad)]
    assert "sqlalchemy" in names and "therabill.adapters" in names
    assert not all(n.split(".")[0] in STDLIB for n in names)


def test_domain_modules_exist() -> None:
    assert {p.name for p in DOMAIN_FILES} >= {
        "encounter.py",
        "money.py",
        "timing.py",
        "claim.py",
        "validation.py",
    }


# --- time is injected ------------------------------------------------------------------

ENTRYPOINTS = SRC / "entrypoints"
_CLOCK_READS = {"now", "utcnow", "today"}
_TIME_READS = {"time", "time_ns", "localtime", "gmtime", "ctime", "asctime"}


def _wall_clock_reads(source: str) -> list[str]:
    """Every place ``source`` reads the wall clock (called or passed as a function)."""
    out = []
    for node in ast.walk(_parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        base = node.value
        base_name = (
            base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
        )
        if (node.attr in _CLOCK_READS and base_name in ("datetime", "date")) or (
            node.attr in _TIME_READS and base_name == "time"
        ):
            out.append(f"line {node.lineno}: {base_name}.{node.attr}")
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            out.extend(
                f"line {node.lineno}: from time import {a.name}" for a in node.names if a.name in _TIME_READS
            )
    return out


BELOW_ENTRYPOINTS = sorted(p for p in SRC.rglob("*.py") if ENTRYPOINTS not in p.parents)


@pytest.mark.parametrize("path", BELOW_ENTRYPOINTS, ids=lambda p: str(p.relative_to(SRC)))
def test_nothing_below_the_entry_points_reads_the_wall_clock(path: Path) -> None:
    reads = _wall_clock_reads(path.read_text(encoding="utf-8"))
    assert not reads, (
        f"{path.relative_to(SRC)} reads the wall clock ({'; '.join(reads)}): take the time from "
        "therabill.clock.current_time (or a clock= argument); only entry points install the system clock"
    )


def test_the_clock_rule_catches_every_form() -> None:
    source = (
        "import datetime, time\nfrom datetime import date\nfrom time import time as t\n"
        "a = datetime.datetime.now()\nb = date.today()\nc = time.time()\nd = datetime.datetime.utcnow\n"
        "e = time.monotonic()\n"
    )
    reads = _wall_clock_reads(source)
    assert len(reads) == 5, reads
    assert not any("monotonic" in r for r in reads)


def test_the_rule_covers_the_service_layer() -> None:
    names = {str(p.relative_to(SRC)) for p in BELOW_ENTRYPOINTS}
    assert "service_layer/ledger.py" in names and "scrubber/engine.py" in names
    assert not any(n.startswith("entrypoints/") for n in names)


# --- the middle ring -------------------------------------------------------------------


def _module_imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    return [name for _, name in _imports(path)]


@pytest.mark.parametrize(("side", "other"), [("web", "api"), ("api", "web")])
def test_web_and_api_share_http_but_never_import_each_other(side: str, other: str) -> None:
    bad = [
        f"{p.relative_to(SRC)} imports {name}"
        for p in sorted((ENTRYPOINTS / side).rglob("*.py"))
        for name in _module_imports(p)
        if name.startswith(f"therabill.entrypoints.{other}")
    ]
    assert not bad, "web and api meet only in entrypoints/http: " + "; ".join(bad)


def test_adapters_do_not_import_the_service_layer() -> None:
    """Adapters translate and do IO; orchestration (units of work, audit) lives in services,
    which pass adapters what they need (e.g. the audit chain check of a backup)."""
    found = sorted(
        f"{p.relative_to(SRC)} imports {name}"
        for p in sorted((SRC / "adapters").rglob("*.py"))
        for name in _module_imports(p)
        if name.startswith("therabill.service_layer")
    )
    assert not found, f"adapters importing the service layer: {found}"


ONE_HOME = {
    "write_837p": {"service_layer/batches.py", "entrypoints/cli/x12.py"},
    "read_835": {"service_layer/remittances.py", "entrypoints/cli/era.py"},
    "read_acknowledgments": {"service_layer/acknowledgments.py", "entrypoints/cli/ack.py"},
}
"""Who may call the X12 writer and readers: the one service of each use case, and the
stateless commands on documents and files (``x12 837``, ``era read``, ``ack read``)."""


@pytest.mark.parametrize("name", sorted(ONE_HOME))
def test_each_x12_use_case_has_one_home(name: str) -> None:
    callers = {
        str(p.relative_to(SRC))
        for p in sorted(SRC.rglob("*.py"))
        if "adapters/x12" not in str(p) and f"{name}(" in p.read_text(encoding="utf-8")
    }
    assert callers <= ONE_HOME[name], (
        f"{name} is called outside its one home: {sorted(callers - ONE_HOME[name])}"
    )


ENTRYPOINTS_WITH_QUERIES: set[str] = set()
"""Entry points that still import the database adapters (their queries move into services;
the list only shrinks). Every other entry point calls services only."""


def test_entry_points_do_not_import_the_database() -> None:
    found = {
        str(p.relative_to(SRC))
        for p in sorted(ENTRYPOINTS.rglob("*.py"))
        if any(name.startswith("therabill.adapters.db") for name in _module_imports(p))
    }
    assert found <= ENTRYPOINTS_WITH_QUERIES, (
        f"entry points importing the database: {sorted(found - ENTRYPOINTS_WITH_QUERIES)}"
    )


def _environment_uses(source: str) -> list[str]:
    """Where ``source`` reads or writes the process environment (``os.environ``, ``os.getenv``,
    ``os.putenv``, ``environ`` imported from ``os``)."""
    found = []
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "putenv", "unsetenv"}:
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append(f"line {node.lineno}: os.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found.extend(
                f"line {node.lineno}: from os import {a.name}"
                for a in node.names
                if a.name in {"environ", "getenv", "putenv"}
            )
    return found


def test_the_environment_is_read_in_one_place() -> None:
    """``therabill.config.from_environ`` is the one reader of ``THERABILL_*`` variables; entry
    points pass settings down (the web app's ``Settings``, typer's ``envvar=``)."""
    found = {
        str(p.relative_to(SRC)): uses
        for p in sorted(SRC.rglob("*.py"))
        if p != SRC / "config.py" and (uses := _environment_uses(p.read_text(encoding="utf-8")))
    }
    assert not found, f"environment read or written outside therabill/config.py: {found}"


def test_the_environment_rule_catches_every_form() -> None:
    assert len(_environment_uses("import os\nos.environ['A'] = '1'\nx = os.getenv('B')\n")) == 2
    assert _environment_uses("from os import environ\n")


def _function_level_imports(source: str) -> list[str]:
    """``therabill`` modules imported inside a function of ``source``."""
    found = []
    for node in ast.walk(_parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (
                    inner.level or (inner.module or "").startswith("therabill")
                ):
                    found.append(f"line {inner.lineno}: {inner.module}")
                elif isinstance(inner, ast.Import) and any(
                    a.name.startswith("therabill") for a in inner.names
                ):
                    found.append(f"line {inner.lineno}: {inner.names[0].name}")
    return found


FUNCTION_LEVEL_IMPORTS = {
    "adapters/db/migrations/env.py",  # Alembic loads it as a script; it imports the tables when run
    # being hoisted as their modules are reworked:
}
"""Modules allowed to import therabill modules inside functions (an import cycle hidden in a
function is a design problem to solve, not to hide). The list only shrinks."""


def test_no_function_level_imports_of_therabill() -> None:
    found = {
        str(p.relative_to(SRC)): uses
        for p in sorted(SRC.rglob("*.py"))
        if (uses := _function_level_imports(p.read_text(encoding="utf-8")))
    }
    extra = {k: v for k, v in found.items() if k not in FUNCTION_LEVEL_IMPORTS}
    assert not extra, f"therabill imported inside functions: {extra}"


def test_the_import_rule_catches_a_hidden_import() -> None:
    assert _function_level_imports("def f():\n    from therabill import clock\n    return clock\n")
    assert not _function_level_imports("from therabill import clock\ndef f():\n    return clock\n")


SERVICE_MODULE_LINES = 600
LONG_SERVICE_MODULES: dict[str, int] = {}
"""Service modules over the limit, with the size they may not pass while they are split."""


def test_service_modules_stay_small() -> None:
    sizes = {
        str(p.relative_to(SRC)): len(p.read_text(encoding="utf-8").splitlines())
        for p in sorted((SRC / "service_layer").glob("*.py"))
    }
    too_long = {
        name: n
        for name, n in sizes.items()
        if n > max(SERVICE_MODULE_LINES, LONG_SERVICE_MODULES.get(name, 0))
    }
    assert not too_long, f"service modules over {SERVICE_MODULE_LINES} lines (split by noun): {too_long}"


def _private_imports(path: Path) -> list[str]:
    """``_private`` names ``path`` imports from another therabill module (dunder names and
    private modules, which stay inside their package, aside)."""
    found = []
    for node in ast.walk(_parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("therabill")):
            found.extend(
                f"line {node.lineno}: {a.name} from {node.module}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            )
    return found


def test_no_private_name_is_imported_across_modules() -> None:
    """A ``_name`` is its module's own business: what another module needs is public (and
    documented) in the module that owns it."""
    found = {
        str(p.relative_to(SRC)): uses for p in sorted(SRC.rglob("*.py")) if (uses := _private_imports(p))
    }
    assert not found, f"private names imported from other modules: {found}"


def test_the_private_import_rule_catches_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from therabill.refdata.catalog import _source, load_toml\nfrom os import _exit\n")
    assert _private_imports(bad) == ["line 1: _source from therabill.refdata.catalog"]
    bad.write_text("from __future__ import annotations\nfrom therabill.scrubber.rules._util import svc\n")
    assert _private_imports(bad) == []
