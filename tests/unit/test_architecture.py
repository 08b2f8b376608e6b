"""The dependency rule and the money rule, enforced on the source tree."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "therabill"
DOMAIN = SRC / "domain"
STDLIB = set(sys.stdlib_module_names)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
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
    tree = ast.parse(path.read_text(encoding="utf-8"))
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
