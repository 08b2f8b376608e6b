"""The X12 commands end to end (no database)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import EXAMPLES, shared_path
from therabill import config
from therabill.entrypoints.cli.main import app
from therabill.service_layer import batches, database, practice
from therabill.service_layer.uow import UnitOfWork

runner = CliRunner()
FIXED = ["--as-of", "2026-11-23", "--created", "2026-11-23T12:00"]


def test_x12_837_writes_a_valid_file(tmp_path: Path, monkeypatch, pyx12_validate) -> None:
    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "claims.837"
    files = [str(EXAMPLES / "clean-60-minute-massage.json"), str(EXAMPLES / "workers-comp-visit.json")]
    result = runner.invoke(app, ["x12", "837", *files, "-o", str(out), "--control-number", "1", *FIXED])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "*000000001*0*T*" in text  # test usage
    ok, errors = pyx12_validate(text)
    assert ok and not errors
    placeholders = runner.invoke(
        app, ["x12", "837", files[0], "-o", str(out), "--production", "--control-number", "42", *FIXED]
    )
    assert placeholders.exit_code == 2 and "x12-placeholder-in-production" in placeholders.output
    assert "*000000001*0*T*" in out.read_text()  # the earlier file is untouched
    (tmp_path / "data" / "clearinghouse.toml").write_text(
        '[x12]\nsender_id = "PRACTICE1"\nreceiver_id = "CLEARHOUSE1"\nsubmitter_id = "SUB123"\n'
        'receiver_etin = "ETIN9"\ncontact_phone = "8455550188"\n'
    )
    again = runner.invoke(
        app, ["x12", "837", files[0], "-o", str(out), "--production", "--control-number", "42", *FIXED]
    )
    assert again.exit_code == 0 and "*ZZ*PRACTICE1      *ZZ*CLEARHOUSE1    *" in out.read_text()
    assert "*000000042*0*P*" in out.read_text()


def test_scrub_errors_block_and_override_needs_a_reason(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLES / "clean-60-minute-massage.json").read_text())
    doc["diagnoses"] = []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    out = tmp_path / "x.837"
    result = runner.invoke(app, ["x12", "837", str(bad), "-o", str(out), "--control-number", "1", *FIXED])
    assert result.exit_code == 1 and not out.exists()
    no_reason = runner.invoke(app, ["x12", "837", str(bad), "-o", str(out), "--override-scrub", *FIXED])
    assert no_reason.exit_code == 2 and not out.exists()


def test_era_read_json_shape() -> None:
    path = shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835")
    result = runner.invoke(app, ["era", "read", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["payment_amount"] == "466.00" and data["payment_method"] == "ACH" and data["balanced"] is True
    line = data["claims"][0]["lines"][0]
    assert line["code"] == "97124" and line["modifiers"] == ["GP"] and line["units"] == 1
    assert data["claims"][0]["adjustments"] == [] and line["adjustments"][0] == {
        "group": "CO",
        "reason": "45",
        "amount": "13.00",
    }
    assert data["provider_adjustments"] == [] and data["problems"] == []


def test_era_read_invalid_exits_1_and_garbage_exits_2(tmp_path: Path) -> None:
    bad = runner.invoke(
        app, ["era", "read", str(shared_path("x12-samples", "835", "lfh__managed-care.INVALID.835"))]
    )
    assert bad.exit_code == 1 and "BPR16" in bad.output
    junk = tmp_path / "junk.835"
    junk.write_text("hello")
    result = runner.invoke(app, ["era", "read", str(junk)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_validate_refuses_271_and_checks_837() -> None:
    r271 = runner.invoke(
        app,
        [
            "x12",
            "validate",
            str(shared_path("x12-samples", "270-271", "lfh__subscriber-health-benefit-check-error.271")),
        ],
    )
    assert r271.exit_code == 2 and "cannot validate" in r271.output
    ok = runner.invoke(
        app,
        ["x12", "validate", str(shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.837"))],
    )
    assert ok.exit_code == 0 and "OK" in ok.output
    bad = runner.invoke(
        app, ["x12", "validate", str(shared_path("x12-samples", "835", "lfh__managed-care.INVALID.835"))]
    )
    assert bad.exit_code == 1


def test_eligibility_and_ack_read() -> None:
    resp = shared_path(
        "x12-samples",
        "270-271",
        "badx12__X279-response-to-generic-request-by-clinic-for-patient-subscriber-eligibility.edi",
    )
    result = runner.invoke(app, ["eligibility", "read", str(resp), "--json"])
    assert result.exit_code == 0
    (summary,) = json.loads(result.stdout)
    assert summary["active"] is True and summary["member_id"] == "123456789"
    ack = runner.invoke(
        app, ["ack", "read", str(shared_path("x12-samples", "999", "ims__x12_999_rejected.txt"))]
    )
    assert ack.exit_code == 1 and "REJECTED" in ack.output


def test_files_from_documents_take_the_practice_sequence(tmp_path: Path, monkeypatch) -> None:
    """``x12 837`` and ``eligibility request`` on documents number their interchanges from the
    practice's one sequence, the one batches use; without a practice database they need
    ``--control-number``."""
    data = tmp_path / "data"
    monkeypatch.setenv("THERABILL_DATA_DIR", str(data))
    doc = str(EXAMPLES / "clean-60-minute-massage.json")
    out = tmp_path / "claims.837"
    none = runner.invoke(app, ["x12", "837", doc, "-o", str(out), *FIXED])
    assert none.exit_code == 2 and "x12-control-number-needed" in none.output and not out.exists()

    engine = database.open_database(config.database_url(data), upgraded=True)
    practice_id = practice.create_practice(engine, name="Riverside Massage", slug="rm", actor="test")
    first = runner.invoke(app, ["x12", "837", doc, "-o", str(out), *FIXED])
    assert first.exit_code == 0, first.output
    assert "*000000001*0*T*" in out.read_text()
    ask = tmp_path / "ask.270"
    second = runner.invoke(
        app, ["eligibility", "request", doc, "-o", str(ask), "--created", "2026-11-23T12:00"]
    )
    assert second.exit_code == 0, second.output
    assert "*000000002*0*T*" in ask.read_text()
    with UnitOfWork(engine, practice_id, "test") as uow:
        assert batches.allocate_control_number(uow) == 3  # the next batch continues the sequence
    engine.dispose()
