"""The storage and money commands end to end: a temporary data folder, the real CLI.

One demo practice (SQLite in the data folder), loaded once by ``therabill demo``; the
steps run commands against it the way a user would, through Typer's CliRunner. They are
steps of ONE test so that parallel workers do not each load the demo.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tests.conftest import shared_path
from therabill.adapters.x12.validate import validate
from therabill.entrypoints.cli.main import app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("cli-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATA_DIR", str(folder))
        for name in ("THERABILL_DATABASE_URL", "THERABILL_PRACTICE", "THERABILL_BACKUP_PASSPHRASE"):
            mp.delenv(name, raising=False)
        assert run("db", "upgrade").exit_code == 0
        loaded = run("demo", "--today", "2026-11-23")
        assert loaded.exit_code == 0, loaded.output
        assert "40 patients" in loaded.output
        yield folder


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def as_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def _demo_twice_changes_nothing(data_dir: Path) -> None:
    again = run("demo", "--today", "2026-11-23")
    assert again.exit_code == 0 and "already exists" in again.output


def _patients_and_claims_lists(data_dir: Path) -> None:
    patients = as_json("patients", "list")
    assert len(patients) == 40
    paid = as_json("claims", "list", "--status", "paid")
    assert paid and {c["status"] for c in paid} == {"paid"}
    denied = as_json("claims", "list", "--status", "denied", "--status", "partly_paid")
    assert {c["status"] for c in denied} == {"denied", "partly_paid"}
    assert run("claims", "list", "--status", "nonsense").exit_code == 2


def _ledger_balance_and_denials(data_dir: Path) -> None:
    claim = as_json("claims", "list", "--status", "paid")[0]
    result = run("ledger", "balance", "--claim", claim["id"], "--json")
    assert result.exit_code == 0, result.output
    bal = json.loads(result.stdout)
    assert bal["holds"] and bal["balance"]["charges"] == claim["total_charge"]
    assert bal["balance"]["insurance_payments"] != "0.00"
    denials = as_json("denials", "list")
    assert denials and all(d["reasons"] for d in denials)


def _payments_post_is_idempotent(data_dir: Path) -> None:
    patient = as_json("patients", "list")[0]["id"]
    args = (
        "payments",
        "post",
        "--patient",
        patient,
        "--amount",
        "25.00",
        "--method",
        "card",
        "--key",
        "cli-1",
    )
    first = run(*args)
    assert first.exit_code == 0, first.output
    before = json.loads(run("ledger", "balance", "--patient", patient, "--json").stdout)
    second = run(*args)
    assert second.exit_code == 0, second.output
    after = json.loads(run("ledger", "balance", "--patient", patient, "--json").stdout)
    assert before == after


def _era_post_twice_posts_once(data_dir: Path) -> None:
    sample = shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835")
    first = run("era", "post", str(sample))
    assert first.exit_code in (0, 1), first.output  # its claims are not the demo's: worklist
    assert "new" in first.output
    second = run("era", "post", str(sample))
    assert second.exit_code in (0, 1) and "already" in second.output


def _export_837_then_nothing_left_to_send(data_dir: Path, tmp_path: Path) -> None:
    ready = as_json("claims", "list", "--status", "ready")
    assert ready
    out = tmp_path / "batch.837"
    result = run("claims", "export-837", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    export = json.loads(result.stdout)
    assert sorted(export["claims"]) == sorted(c["claim_number"] for c in ready)
    verdict = validate(out.read_text(encoding="ascii"))
    assert verdict.ok, verdict.errors
    assert as_json("claims", "list", "--status", "ready") == []
    again = run("claims", "export-837", "-o", str(tmp_path / "again.837"))
    assert again.exit_code == 2 and "no claim to batch" in again.output
    assert not (tmp_path / "again.837").exists()
    resent = run("claims", "export-837", "-o", str(tmp_path / "resent.837"), "--batch", export["batch_id"])
    assert resent.exit_code == 0, resent.output
    assert (tmp_path / "resent.837").read_bytes() == out.read_bytes()


def _results_as_json(data_dir: Path, tmp_path: Path) -> None:
    again = as_json("demo", "--today", "2026-11-23")
    assert again["created"] is False and again["slug"] == "demo" and again["practice_id"]
    example = as_json("era", "example", "--out", str(tmp_path / "example.835"))
    assert example["written"] is True and example["file"] == str(tmp_path / "example.835")
    assert (tmp_path / "example.835").read_text().startswith("ISA*")
    denied = as_json("claims", "list", "--status", "denied")[0]["claim_number"]
    letter = tmp_path / "appeal.pdf"
    appeal = as_json("followup", "appeal", denied, "--note", "Ordered by Dr. Reed.", "-o", str(letter))
    assert appeal == {"claim_number": denied, "file": str(letter), "bytes": letter.stat().st_size}


def _backup_and_restore(data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "practice.tbk"
    made = run("backup", str(target))
    assert made.exit_code == 0, made.output
    assert target.stat().st_mode & 0o777 == 0o600
    before = as_json("claims", "list")
    restored = run("restore", str(target))
    assert restored.exit_code == 0, restored.output
    assert as_json("claims", "list") == before


def _monthly_totals_checked_and_rebuilt(data_dir: Path) -> None:
    checked = run("db", "check")
    assert checked.exit_code == 0, checked.output
    totals = json.loads(checked.stdout)["ledger_month_totals"]
    assert totals == {"practices": 1, "differing_rows": 0, "practices_differing": []}
    with sqlite3.connect(data_dir / "therabill.sqlite3") as db:  # a hand-made change to derived data
        db.execute("UPDATE ledger_month_totals SET amount_cents = amount_cents + 1 WHERE rowid = 1")
    broken = run("db", "check")
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["ledger_month_totals"]["differing_rows"] == 1
    assert "rebuild-totals" in broken.stderr
    rebuilt = run("db", "rebuild-totals")
    assert rebuilt.exit_code == 0 and "1 practice(s)" in rebuilt.output, rebuilt.output
    assert run("db", "check").exit_code == 0


def _claims_ack_takes_acknowledgments_only(tmp_path: Path) -> None:
    """A claim status 277 is not an acknowledgment: refused by name; a rejecting 999 exits 1."""
    from tests.integration.interop.x12_files import ack_999, status_277

    status = tmp_path / "status.277"
    status.write_bytes(status_277("CLM-1"))
    refused = run("claims", "ack", str(status))
    assert refused.exit_code == 2 and "ack-wrong-kind" in refused.output and "005010X212" in refused.output
    rejected = run("claims", "ack", str(shared_path("x12-samples", "999", "ims__x12_999_rejected.txt")))
    assert rejected.exit_code == 1, rejected.output
    with_bom = tmp_path / "bom.999"
    with_bom.write_bytes(b"\xef\xbb\xbf\r\n" + ack_999(999_999))
    read = run("claims", "ack", str(with_bom))
    assert read.exit_code == 0 and "0 claim(s) moved" in read.output, read.output


def test_storage_and_money_commands_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    _demo_twice_changes_nothing(data_dir)
    _patients_and_claims_lists(data_dir)
    _ledger_balance_and_denials(data_dir)
    _payments_post_is_idempotent(data_dir)
    _era_post_twice_posts_once(data_dir)
    _export_837_then_nothing_left_to_send(data_dir, tmp_path)
    _results_as_json(data_dir, tmp_path)
    _backup_and_restore(data_dir, tmp_path)
    _monthly_totals_checked_and_rebuilt(data_dir)
    _claims_ack_takes_acknowledgments_only(tmp_path)
