"""Money modules never use floats: no ``float(`` call and no float literal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "therabill"
MONEY_MODULES = [
    "domain/ledger.py",
    "domain/posting.py",
    "domain/money.py",
    "service_layer/ledger.py",
    "adapters/db/ledger_tables.py",
    "entrypoints/cli/ledger.py",
]


@pytest.mark.parametrize("module", MONEY_MODULES)
def test_no_float_in_money_code(module: str) -> None:
    tree = ast.parse((SRC / module).read_text())
    found = [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Constant) and isinstance(node.value, float))
        or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float")
    ]
    assert found == [], f"{module}: float at lines {found}"
