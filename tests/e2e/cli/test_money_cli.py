"""``therabill payments|ledger|prepaid|statements|pay``: money from the shell, each command with --json.

``payments post`` without ``--key`` derives the key from the request and the day, so the same
command run twice posts once; a second identical payment on purpose takes its own ``--key``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner, Result

from tests.integration.db.builders import Practice, a_practice
from therabill.adapters.db.engine import make_engine
from therabill.entrypoints.cli.main import app

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def as_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def practice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    folder: Path = tmp_path_factory.mktemp("cli-money")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATA_DIR", str(folder))
        for name in ("THERABILL_DATABASE_URL", "THERABILL_PRACTICE"):
            mp.delenv(name, raising=False)
        assert run("db", "upgrade").exit_code == 0
        engine = make_engine()
        p = a_practice(engine)
        mp.setenv("THERABILL_PRACTICE", p.id)
        yield p
        engine.dispose()


def test_payments_post_without_a_key_posts_once(practice: Practice) -> None:
    args = ("payments", "post", "--patient", "P-0101", "--amount", "20.00", "--method", "cash")
    first = as_json(*args)
    second = as_json(*args)
    assert not first["replayed"] and second["replayed"]
    assert second["entry_ids"] == first["entry_ids"] and second["key"] == first["key"]
    on_purpose = as_json(*args, "--key", "second-cash-20")
    assert not on_purpose["replayed"]
    balance = as_json("ledger", "balance", "--patient", "P-0101")
    assert balance["unapplied"] == "40.00"
    hsa_tip = run("payments", "post", "--patient", "P-0101", "--amount", "5", "--method", "hsa", "--tip", "2")
    assert hsa_tip.exit_code == 2 and "payment-tip-not-eligible" in hsa_tip.output


def test_packages_statements_and_pay(practice: Practice, tmp_path: Path) -> None:
    sold = as_json(
        "prepaid", "sell", "--patient", "P-0101", "--kind", "package", "--code", "PK-1",
        "--price", "200.00", "--method", "card", "--sessions", "4",
    )  # fmt: skip
    assert len(sold["entry_ids"]) == 1
    fee = as_json("ledger", "fee", "--patient", "P-0101", "--kind", "no-show", "--amount", "35.00")
    assert not fee["replayed"]
    run_ = as_json("statements", "run", "--out", str(tmp_path), "--over", "10")
    assert [s["amount_due"] for s in run_["statements"]] == ["35.00"]
    merged = PdfReader(tmp_path / "all.pdf")
    assert len(merged.pages) == sum(s["pages"] for s in run_["statements"]) == 1
    assert as_json("pay", "rate", "--provider", practice.provider_id, "--percent", "40")["percent"] == "40.00"
    report = as_json(
        "pay", "report", "--start", "2026-01-01", "--end", "2026-12-31", "--csv", str(tmp_path / "p.csv")
    )
    assert report["start"] == "2026-01-01" and (tmp_path / "p.csv").read_text().startswith("therapist,")
