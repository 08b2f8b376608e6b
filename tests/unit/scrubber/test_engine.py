"""The engine: the public API, profile switches, as_of, JSON shape, the intake on file, CLI."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from therabill.domain.intake import CheckResult, ContraindicationCheck, Kind
from therabill.entrypoints.cli.main import app
from therabill.refdata.ncci import MemoryNcciStore, PtpEdit
from therabill.schemas.encounter import parse_encounter
from therabill.scrubber import IntakeOnFile, ScrubContext, Severity, scrub

AS_OF = date(2026, 11, 23)
TWO = EXAMPLES / "massage-and-manual-therapy-two-regions.json"


def _enc(path: Path = TWO):  # type: ignore[no-untyped-def]
    return parse_encounter(path.read_text(encoding="utf-8"))


def test_result_shape_and_status() -> None:
    r = scrub(_enc(), as_of=AS_OF)
    d = r.as_dict()
    assert set(d) == {"encounter_id", "status", "units", "findings"}
    assert d["encounter_id"] == "E-2026-0001" and d["status"] == "warnings" and not r.has_errors
    assert d["units"]["total_units"] == 4  # type: ignore[index]
    f = d["findings"][0]  # type: ignore[index]
    assert set(f) == {"rule_id", "severity", "message", "fix", "loc", "source"}


def test_errors_come_first_and_set_the_status() -> None:
    enc = _enc()
    bad = dataclasses.replace(enc, services=(dataclasses.replace(enc.services[0], units=9), enc.services[1]))
    r = scrub(bad, as_of=AS_OF)
    assert r.status == "errors" and r.has_errors
    assert r.findings[0].severity is Severity.ERROR and r.findings[0].rule_id == "units-exceed-minutes"
    assert r.findings[0].loc == "services[0].units"


def test_as_of_decides_time_rules() -> None:
    enc = _enc()
    assert "service-date-future" in {f.rule_id for f in scrub(enc, as_of=date(2026, 11, 19)).findings}
    assert "service-date-future" not in {f.rule_id for f in scrub(enc, as_of=AS_OF).findings}


def test_an_imported_pair_makes_the_59_needed() -> None:
    edit = PtpEdit("97124", "97140", date(2020, 1, 1), None, "1", "test", "test")
    r = scrub(_enc(), as_of=AS_OF, context=ScrubContext(ncci=MemoryNcciStore([edit])))
    ids = {f.rule_id for f in r.findings}
    assert "ncci-modifier-unneeded" not in ids and "ncci-modifier-unsupported" not in ids


def _fever(**kw: object) -> IntakeOnFile:
    fever = CheckResult("fever", "Fever", Kind.ABSOLUTE, "fever", "reported[0]", source="table row")
    return IntakeOnFile(ContraindicationCheck(2, True, (fever,), "contraindications 1"), **kw)  # type: ignore[arg-type]


def _intake_findings(on_file: IntakeOnFile | None) -> list[tuple[str, Severity]]:
    r = scrub(_enc(), as_of=AS_OF, context=ScrubContext(intake=on_file))
    return [(f.rule_id, f.severity) for f in r.findings if f.rule_id.startswith("intake-")]


def test_the_intake_on_file_feeds_the_intake_rules() -> None:
    assert _intake_findings(None) == []  # not known: quiet
    assert _intake_findings(_fever()) == [("intake-contraindication-absolute", Severity.ERROR)]
    # cleared for the visit, or not treated: reported, not blocking
    assert _intake_findings(_fever(cleared=frozenset({"fever"}))) == [
        ("intake-contraindication-absolute", Severity.INFO)
    ]
    assert _intake_findings(_fever(treated=False)) == [("intake-contraindication-absolute", Severity.INFO)]
    none_on_file = ContraindicationCheck(None, False, (), "contraindications 1")
    assert _intake_findings(IntakeOnFile(none_on_file)) == [("intake-missing", Severity.WARNING)]
    assert _intake_findings(IntakeOnFile(none_on_file, expected=False)) == []
    finding = scrub(_enc(), as_of=AS_OF, context=ScrubContext(intake=_fever())).findings[0]
    assert finding.loc == "intake.reported[0]" and "contraindications 1; table row" in finding.source


def _mine(folder: Path, rules_off: str, overrides: str):  # type: ignore[no-untyped-def]
    """The example encounter under a copy of the commercial profile (``mine``) with ``rules_off``
    and ``severity_overrides``."""
    text = (
        Path(__file__).resolve().parents[3] / "src/therabill/refdata/data/payers/commercial.toml"
    ).read_text()
    text = text.replace('id = "commercial"', 'id = "mine"')
    text += f'\n[rules_off]\nvalue = ["{rules_off}"]\nsource = "test"\n'
    text += f'\n[severity_overrides]\nvalue = {{{overrides} = "error"}}\nsource = "test"\n'
    (folder / "mine.toml").write_text(text)
    enc = _enc()
    return dataclasses.replace(enc, coverage=dataclasses.replace(enc.coverage, payer_profile="mine"))  # type: ignore[arg-type]


def test_a_payer_profile_switches_the_intake_rules(tmp_path: Path) -> None:
    enc = _mine(tmp_path, "intake-contraindication-absolute", "intake-unsigned")
    unsigned = IntakeOnFile(dataclasses.replace(_fever().check, intake_signed=False))
    r = scrub(enc, as_of=AS_OF, context=ScrubContext(profile_dirs=(str(tmp_path),), intake=unsigned))
    found = {f.rule_id: f.severity for f in r.findings if f.rule_id.startswith("intake-")}
    assert found == {"intake-unsigned": Severity.ERROR}


def test_profile_rules_off_and_severity_overrides(tmp_path: Path) -> None:
    enc = _mine(tmp_path, "dx-release-not-covering", "ncci-modifier-unneeded")
    r = scrub(enc, as_of=AS_OF, context=ScrubContext(profile_dirs=(str(tmp_path),)))
    ids = {f.rule_id: f for f in r.findings}
    assert "dx-release-not-covering" not in ids
    assert ids["ncci-modifier-unneeded"].severity is Severity.ERROR and r.has_errors


def test_cli_text_json_and_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["scrub", str(TWO), "--as-of", "2026-11-23"])
    assert ok.exit_code == 0, ok.output
    assert "Encounter E-2026-0001" in ok.output and "Line 2 (97140)" in ok.output
    js = runner.invoke(
        app, ["scrub", str(TWO), str(EXAMPLES / "medicare-pt-visit.json"), "--json", "--as-of", "2026-11-23"]
    )
    data = json.loads(js.stdout)
    assert [d["encounter_id"] for d in data] == ["E-2026-0001", "E-2026-0003"]
    doc = json.loads(TWO.read_text())
    doc["services"][0]["units"] = 9
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert runner.invoke(app, ["scrub", str(bad), "--as-of", "2026-11-23"]).exit_code == 1
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert runner.invoke(app, ["scrub", str(broken)]).exit_code == 2
    assert runner.invoke(app, ["scrub", str(TWO), "--as-of", "tomorrow"]).exit_code == 2


def test_cli_refdata_imports(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from therabill.refdata.ncci import reset_default_ncci

    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path))
    f = tmp_path / "ccipra-v321r0-f1.txt"
    f.write_text("Column 1\tColumn 2\n97124\t97140\t\t20200101\t*\t1\tx\n")
    runner = CliRunner()
    try:
        res = runner.invoke(app, ["refdata", "import-ncci", str(f)])
        assert res.exit_code == 0 and "Imported 1 PTP" in res.output
        assert runner.invoke(app, ["refdata", "import-ncci", str(tmp_path / "nope.txt")]).exit_code == 2
        r = scrub(_enc(), as_of=AS_OF)
        assert "ncci-modifier-unneeded" not in {x.rule_id for x in r.findings}
    finally:
        reset_default_ncci()
