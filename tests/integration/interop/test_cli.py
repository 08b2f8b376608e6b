"""The interoperability commands end to end: a temporary data folder, a file-drop
clearinghouse configured with relative folders, and the real CLI (Typer's CliRunner).

One module-wide practice with one ready claim, sent with ``submit`` and answered (999,
277CA) through ``fetch`` by the fixture; each test then checks one command the way a user
would type it, independently of the others (so the tests may run in any order or worker).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from typer.testing import CliRunner, Result

from tests.integration.db.builders import ACTOR, Practice, a_practice
from tests.integration.interop import x12_files as xf
from tests.integration.interop.conftest import ready_claim
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.tables import practices
from therabill.adapters.x12.tokenizer import iter_segments
from therabill.entrypoints.cli.main import app
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import patients as patients_svc

runner = CliRunner()

SETTINGS = """\
[clearinghouse]
name = "desk"
kind = "filedrop"
outbound = "drop/to-payer"        # relative: next to this file, not the working folder
inbound = "drop/from-payer"
archive = "drop/archive"
file_name = "{practice}_{control}_{ts}.837"
follow_up_days = 30

[x12]
sender_id = "HVMT"
receiver_id = "DESKCH"
"""


@dataclass
class Setup:
    data: Path
    practice: Practice
    claim_id: str
    state: dict[str, Any]

    @property
    def drop(self) -> Path:
        return self.data / "drop"


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def refused(result: Result, *words: str) -> None:
    """Exit 2, a message naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, (word, result.output)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """The data folder after ``submit`` twice, the clearinghouse's answers, and ``fetch`` twice.

    The commands run here, once per module (and per test worker), so that every test below
    can check them on its own in any order.
    """
    data = tmp_path_factory.mktemp("interop-cli")
    elsewhere = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATA_DIR", str(data))
        for name in ("THERABILL_DATABASE_URL", "THERABILL_PRACTICE"):
            mp.delenv(name, raising=False)
        mp.chdir(elsewhere)  # relative folders must not land in the working folder
        engine = make_engine()
        migrations.upgrade(engine)
        practice = a_practice(engine)
        claim_id = ready_claim(practice)
        (data / "clearinghouse.toml").write_text(SETTINGS, encoding="utf-8")
        state: dict[str, Any] = {"submit": run("submit", "--json"), "submit_again": run("submit")}
        assert state["submit"].exit_code == 0, state["submit"].output
        [batch] = json.loads(state["submit"].stdout)
        state["sent_files"] = sorted((data / "drop" / "to-payer").iterdir())
        control = state["control"] = batch["control_number"]
        number = state["number"] = claims_svc.list_claims(engine, practice.id, ACTOR)[0].claim_number
        inbox = data / "drop" / "from-payer"
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / "a.999").write_bytes(xf.ack_999(control))
        (inbox / "b.277").write_bytes(xf.ack_277ca(number, Decimal("1"), batch_trace=f"{control}0001"))
        state["fetch"] = run("fetch")
        state["fetch_again"] = run("fetch")
        yield Setup(data, practice, claim_id, state)
        assert not any(elsewhere.iterdir())
        engine.dispose()


def test_submit_sends_the_ready_claim_once(setup: Setup) -> None:
    [batch] = json.loads(setup.state["submit"].stdout)
    assert batch["outcome"] == "sent" and batch["claims"] == 1
    sent = setup.state["sent_files"]
    assert [p.name for p in sent] == [batch["remote_name"]]
    with setup.practice.engine.connect() as conn:
        slug = conn.execute(select(practices.c.slug).where(practices.c.id == setup.practice.id)).scalar_one()
    assert batch["remote_name"].startswith(f"{slug}_{batch['control_number']:09d}_")
    segs = list(iter_segments(sent[0].read_bytes()))
    assert (segs[0][6].strip(), segs[0][8].strip()) == ("HVMT", "DESKCH")  # the [x12] table is used
    assert (setup.data / "outbound" / batch["remote_name"]).read_bytes() == sent[0].read_bytes()
    again = setup.state["submit_again"]
    assert again.exit_code == 0 and "nothing to send" in again.output
    assert len(list((setup.drop / "to-payer").iterdir())) == 1


def test_fetch_applies_the_answers_and_keeps_the_files(setup: Setup) -> None:
    got = setup.state["fetch"]
    assert got.exit_code == 0, got.output
    assert "a.999 [999]: 1 claim(s) moved" in got.output
    assert "b.277 [277CA]: 1 claim(s) moved" in got.output
    assert sorted(p.name for p in (setup.drop / "archive").iterdir()) == ["a.999", "b.277"]
    assert not any((setup.drop / "from-payer").iterdir())
    kept = sorted(p.name.split("-", 1)[1] for p in (setup.data / "inbound").rglob("*") if p.is_file())
    assert kept == ["a.999", "b.277"]
    history = claims_svc.claim_history(setup.practice.engine, setup.practice.id, ACTOR, setup.claim_id)
    assert [h["status"] for h in history][-2:] == ["batch_accepted", "clearinghouse_accepted"]
    assert "no new files" in setup.state["fetch_again"].output


def test_claims_follow_up(setup: Setup) -> None:
    # The claim's status changed today (the commands use the real clock), so dates far from
    # any real today keep this test independent of it.
    due = run("claims", "follow-up", "--as-of", "2100-01-01", "--json")
    assert due.exit_code == 1, due.output
    [claim] = json.loads(due.stdout)
    assert (claim["claim_id"], claim["status"]) == (setup.claim_id, "clearinghouse_accepted")
    assert claim["payer_claim_control_number"] == "PCN-777"
    none = run("claims", "follow-up", "--as-of", "2000-01-01", "--days", "30", "--json")
    assert none.exit_code == 0 and json.loads(none.stdout) == []
    refused(run("claims", "follow-up", "--as-of", "2026-13-01"), "--as-of", "not a date")


def test_status_request_writes_a_276_with_the_payer_claim_number(setup: Setup) -> None:
    out = setup.data / "status.276"
    got = run("status", "request", setup.claim_id, "-o", str(out))
    assert got.exit_code == 0, got.output
    segs = list(iter_segments(out.read_bytes()))
    assert segs[1][1] == "HR" and segs[1][8] == "005010X212"
    assert ["TRN", "1", setup.state["number"]] in [list(s) for s in segs]
    assert ["REF", "1K", "PCN-777"] in [list(s) for s in segs]
    refused(run("status", "request", "0" * 32, "-o", str(setup.data / "x.276")), "error")
    assert not (setup.data / "x.276").exists()


def test_export_fhir(setup: Setup) -> None:
    out = setup.data / "bundle.json"
    got = run("export", "fhir", setup.practice.patient_id, "-o", str(out))
    assert got.exit_code == 0, got.output
    bundle = Bundle.model_validate_json(out.read_bytes())
    kinds = {e.resource.get_resource_type() for e in bundle.entry}
    assert {"Patient", "Coverage", "Encounter", "Claim"} <= kinds
    refused(run("export", "fhir", "0" * 32, "-o", str(setup.data / "none.json")), "error")
    assert not (setup.data / "none.json").exists()


PATIENTS = "chart_number,first_name,last_name,birth_date,sex\nCSV-1,Ana,Lopez,1980-02-03,F\nCSV-2,Ben,Okafor,1975-12-31,M\n"


def _charts(setup: Setup) -> set[str]:
    return {
        p.chart_number for p in patients_svc.list_patients(setup.practice.engine, setup.practice.id, ACTOR)
    }


def test_import_csv_dry_run_then_real(setup: Setup) -> None:
    path = setup.data / "patients.csv"
    path.write_text(PATIENTS, encoding="utf-8")
    before = _charts(setup)
    dry = run("import", "csv", "patients", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would create 2 patients" in dry.output and "CSV-1" in dry.output
    assert _charts(setup) == before
    real = run("import", "csv", "patients", str(path))
    assert real.exit_code == 0 and "created 2 patients" in real.output
    assert _charts(setup) == before | {"CSV-1", "CSV-2"}


def test_import_csv_bad_input(setup: Setup) -> None:
    before = _charts(setup)
    bad_row = setup.data / "bad.csv"
    bad_row.write_text(
        "chart_number,first_name,last_name,birth_date\nCSV-9,Cy,Wu,31/12/1990\n", encoding="utf-8"
    )
    rows = run("import", "csv", "patients", str(bad_row))
    assert rows.exit_code == 1 and "row 2: birth_date" in rows.output and "Traceback" not in rows.output
    refused(run("import", "csv", "patients", str(setup.data / "missing.csv")), "cannot read")
    refused(run("import", "csv", "nonsense", str(bad_row)), "unknown kind")
    refused(run("import", "csv", "patients", str(bad_row), "--mapping", "nope"), "unknown mapping")
    no_cols = setup.data / "nocols.csv"
    no_cols.write_text("name\nX\n", encoding="utf-8")
    refused(run("import", "csv", "patients", str(no_cols)), "required columns")
    assert _charts(setup) == before


def test_export_csv_ledger_and_claims(setup: Setup) -> None:
    claims_out, ledger_out = setup.data / "claims.csv", setup.data / "ledger.csv"
    assert run("export", "csv", "claims", "-o", str(claims_out)).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(claims_out.read_text(encoding="utf-8"))))
    assert [(r["claim_number"], r["status"]) for r in rows] == [
        (setup.state["number"], "clearinghouse_accepted")
    ]
    got = run("export", "csv", "ledger", "-o", str(ledger_out))
    assert got.exit_code == 0, got.output
    header = ledger_out.read_text(encoding="utf-8").splitlines()[0]
    assert "amount" in header.split(",")
    refused(run("export", "csv", "nonsense", "-o", str(setup.data / "n.csv")), "ledger or claims")


def test_unusable_settings_are_refused(setup: Setup) -> None:
    refused(run("submit", "--settings", str(setup.data / "missing.toml")), "cannot read settings")
    bad = setup.data / "bad.toml"
    bad.write_text('[clearinghouse]\nname = "x"\nkind = "filedrop"\npassword = "hunter2"\n', encoding="utf-8")
    refused(run("fetch", "--settings", str(bad)), "secrets belong in the secrets file")
    assert "hunter2" not in run("fetch", "--settings", str(bad)).output
