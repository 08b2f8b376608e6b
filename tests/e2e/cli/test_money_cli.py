"""``therabill payments|ledger|prepaid|statements|pay``: money from the shell, each command with --json.

``payments post`` without ``--key`` derives the key from the request and the day, so the same
command run twice posts once; a second identical payment on purpose takes its own ``--key``.
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from tests.e2e.cli.harness import as_json, run
from tests.integration.db.builders import Practice


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
