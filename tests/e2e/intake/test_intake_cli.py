"""``therabill intake record|show|history|sign|check`` against a SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.db.builders import Practice, a_practice, a_visit
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.entrypoints.cli.main import app

SAMPLE = Path(__file__).with_name("sample-intake.json")


@pytest.fixture
def practice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Practice:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("THERABILL_DATABASE_URL", url)
    engine = make_engine(url)
    migrations.upgrade(engine)
    p = a_practice(engine)
    monkeypatch.setenv("THERABILL_PRACTICE", p.id)
    return p


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_record_show_history_sign_check(practice: Practice) -> None:
    pid = practice.patient_id
    assert run("intake", "show", pid)[0] == 1  # nothing on file yet
    code, out, _ = run("intake", "record", pid, str(SAMPLE))
    assert code == 0 and "version 1" in out
    assert run("intake", "record", pid, str(SAMPLE))[0] == 0
    code, out, _ = run("intake", "show", pid)
    assert code == 0 and "version 2" in out and "NOT SIGNED" in out and "abdomen" in out
    assert "Release of information (CLM09, box 12): yes, 2026-11-01 paper" in out
    code, out, _ = run("intake", "history", pid, "--json")
    assert [v["version"] for v in json.loads(out)] == [2, 1]
    assert run("intake", "sign", pid)[0] == 0
    shown = json.loads(run("intake", "show", pid, "--json")[1])
    assert shown["version"] == 2 and shown["signed_by"].startswith("os:")
    visit_id = a_visit(practice)  # lumbar and thoracic: no conflict, billable
    code, out, _ = run("intake", "check", visit_id)
    assert code == 0 and "PRECAUTION" in out and "Billable." in out
    code, out, _ = run("intake", "check", visit_id, "--reported", "fever", "--json")
    assert code == 1 and json.loads(out)["billable"] is False


def test_bad_input_exits_2_with_the_field(practice: Practice, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"areas_to_avoid": ["wing"]}))
    code, _, err = run("intake", "record", practice.patient_id, str(bad))
    assert code == 2 and "areas_to_avoid[0].region[0]" in err
    bad.write_text("{not json")
    assert run("intake", "record", practice.patient_id, str(bad))[0] == 2
    assert run("intake", "show", "no-such-patient")[0] == 2
