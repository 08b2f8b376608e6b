"""The CLI of the foundation: units, schema, examples; exit codes and error output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES, REPO
from therabill.entrypoints.cli.main import app

runner = CliRunner()
TWO_REGIONS = str(EXAMPLES / "massage-and-manual-therapy-two-regions.json")


def test_units_json_60_minute_massage() -> None:
    doc = '{"services": [{"code": "97124", "minutes": 60}], "coverage": {"payer_profile": "commercial"}}'
    result = runner.invoke(app, ["units", "-", "--json"], input=doc)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total_units"] == 4
    assert data["lines"][0] == {
        "code": "97124", "minutes": 60, "units": 4, "model": "timed15", "billed_units": None, "billed_status": None,
    }  # fmt: skip
    assert any("60 timed minutes → 4 units (53-67)" in s for s in data["explanation"])


def test_units_text_table_and_method_override() -> None:
    result = runner.invoke(app, ["units", TWO_REGIONS])
    assert result.exit_code == 0
    assert "97124" in result.stdout and "cms method" in result.stdout
    per = runner.invoke(app, ["units", TWO_REGIONS, "--method", "per-code", "--json"])
    data = json.loads(per.stdout)
    assert data["method"] == "per-code"
    assert [ln["units"] for ln in data["lines"]] == [3, 1]


def test_units_billed_check() -> None:
    doc = '{"services": [{"code": "97124", "minutes": 50, "units": 4}]}'
    data = json.loads(runner.invoke(app, ["units", "-", "--json"], input=doc).stdout)
    assert data["lines"][0]["billed_status"] == "too_many"


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "therabill.entrypoints.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ("{oops", "is not valid JSON"),
        ('{"services": [{"code": "97124", "minutes": -3}]}', "services[0].minutes: must be >= 0"),
        (
            '{"services": [{"code": "97124", "minutes": "sixty"}]}',
            "services[0].minutes: must be a whole number",
        ),
    ],
)
def test_invalid_input_exits_2_with_paths_and_no_traceback(stdin: str, expected: str) -> None:
    proc = _run("units", "-", stdin=stdin)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_exits_2() -> None:
    proc = _run("units", "no-such-file.json")
    assert proc.returncode == 2
    assert "cannot read no-such-file.json" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_profile_exits_2() -> None:
    proc = _run("units", "-", stdin='{"services": [], "coverage": {"payer_profile": "nope"}}')
    assert proc.returncode == 2
    assert "unknown payer profile 'nope'" in proc.stderr


def test_schema_encounter_prints_json_schema() -> None:
    result = runner.invoke(app, ["schema", "encounter"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Encounter"


def test_examples_command_codes_every_example() -> None:
    result = runner.invoke(app, ["examples", "--as-of", "2026-11-23"])
    assert result.exit_code == 0, result.output
    for path in EXAMPLES.glob("*.json"):
        assert path.name in result.stdout
    assert result.stdout.count("Encounter E-2026-") == 6  # every example is also scrubbed
    assert "ERROR" not in result.stdout  # the shipped examples are clean at their pinned date


def test_icd10_check_and_search() -> None:
    result = runner.invoke(app, ["icd10", "check", "M54.50", "S39.012", "--date", "2026-05-01", "--json"])
    assert result.exit_code == 1  # one code is not billable
    data = json.loads(result.stdout)
    assert [d["billable"] for d in data] == [True, False]
    assert data[1]["needs_seventh_character"]
    assert data[0]["release"] == "2026-04"
    text = runner.invoke(app, ["icd10", "check", "M54.50", "--date", "2026-11-20"])
    assert text.exit_code == 0
    assert "(release 2026-04)" in text.stdout and "does not cover 2026-11-20" in text.stdout
    found = runner.invoke(app, ["icd10", "search", "muscle spasm of back"])
    assert "M62.830" in found.stdout


def test_catalog_publishes_vocabularies() -> None:
    regions = json.loads(runner.invoke(app, ["catalog", "regions", "--json"]).stdout)
    assert {"id": "lumbar", "label": "Low back (lumbar spine)", "group": "spinal"} in regions
    codes = json.loads(runner.invoke(app, ["catalog", "codes", "--json"]).stdout)
    assert any(c["code"] == "97124" and "effleurage" in c["techniques"] for c in codes["codes"])
    mods = json.loads(runner.invoke(app, ["catalog", "modifiers", "--json"]).stdout)
    assert any(m["code"] == "XS" for m in mods)


def test_doctor_reports_the_missing_icd10_release_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["doctor", "--date", "2026-11-20", "--json"])
    assert result.exit_code == 0, result.output
    items = {i["id"]: i for i in json.loads(result.stdout)}
    missing = items["icd10-release-missing"]
    assert not missing["ok"] and "therabill icd10 import" in missing["fix"]
    assert "FY2027" in missing["fix"]
    covered = json.loads(runner.invoke(app, ["doctor", "--date", "2026-05-01", "--json"]).stdout)
    assert any(i["id"] == "icd10-release" and i["ok"] for i in covered)


def test_a_command_on_an_empty_data_folder_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from therabill.entrypoints.cli.main import app

    result = CliRunner().invoke(
        app, ["claims", "list"], env={"THERABILL_DATA_DIR": str(tmp_path), "THERABILL_DATABASE_URL": ""}
    )
    assert result.exit_code == 2
    assert "database-not-ready" in result.output and "therabill db upgrade" in result.output
    assert "Traceback" not in result.output
