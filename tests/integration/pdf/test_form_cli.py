"""``therabill form``: writes the PDF where -o says, whole or not at all."""

from __future__ import annotations

import json

from pypdf import PdfReader
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from therabill.entrypoints.cli.main import app

runner = CliRunner()


def test_cms1500_print_and_full(tmp_path):
    for flag in ("--print", "--full"):
        out = tmp_path / f"claim{flag}.pdf"
        res = runner.invoke(
            app,
            [
                "form",
                "cms1500",
                str(EXAMPLES / "workers-comp-visit.json"),
                "-o",
                str(out),
                flag,
                "--date",
                "2026-11-23",
            ],
        )
        assert res.exit_code == 0, res.output
        assert len(PdfReader(out).pages) == 1


def test_cms1500_json_dump_masks_nothing_but_an_ssn(tmp_path):
    out = tmp_path / "c.pdf"
    res = runner.invoke(
        app,
        [
            "form",
            "cms1500",
            str(EXAMPLES / "sole-proprietor-own-npi.json"),
            "-o",
            str(out),
            "--json",
            "--date",
            "2026-11-23",
        ],
    )
    assert res.exit_code == 0, res.output
    dump = json.loads(res.stdout)
    assert dump[0]["fields"]["25.tin"].startswith("XXXXX") and dump[0]["fields"]["31.date"] == "112326"


def test_superbill_over_several_visits(tmp_path):
    out = tmp_path / "sb.pdf"
    f = str(EXAMPLES / "massage-and-manual-therapy-two-regions.json")
    res = runner.invoke(app, ["form", "superbill", f, f, "-o", str(out), "--date", "2026-11-23"])
    assert res.exit_code == 0, res.output
    assert "SB-" in res.stdout and out.stat().st_size > 1000


def test_note_from_an_encounter_file(tmp_path):
    out = tmp_path / "note.pdf"
    res = runner.invoke(
        app, ["form", "note", "-", "--encounter", str(EXAMPLES / "medicare-pt-visit.json"), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "SOAP" in PdfReader(out).pages[0].extract_text()


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"encounter_id": 5}')
    out = tmp_path / "never.pdf"
    res = runner.invoke(app, ["form", "cms1500", str(bad), "-o", str(out)])
    assert res.exit_code == 2
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_bad_date_exits_2(tmp_path):
    res = runner.invoke(
        app,
        [
            "form",
            "cms1500",
            str(EXAMPLES / "clean-60-minute-massage.json"),
            "-o",
            str(tmp_path / "x.pdf"),
            "--date",
            "11/23/2026",
        ],
    )
    assert res.exit_code == 2
