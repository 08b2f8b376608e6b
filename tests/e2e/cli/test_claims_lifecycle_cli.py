"""``therabill claims edit|void|correct|rebill|versions`` and ``therabill followup ...`` from the
shell, with the claim's number or its id, and ``--json``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.integration.db.builders import AS_OF, DOS, Practice, a_practice, a_visit
from therabill.adapters.db.engine import make_engine
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.entrypoints.cli.main import app
from therabill.service_layer import batches
from therabill.service_layer import claims as rec

runner = CliRunner()
ACTOR = "os:tester"


def as_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def practice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    folder: Path = tmp_path_factory.mktemp("cli-lifecycle")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATA_DIR", str(folder))
        for name in ("THERABILL_DATABASE_URL", "THERABILL_PRACTICE"):
            mp.delenv(name, raising=False)
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        engine = make_engine()
        p = a_practice(engine)
        mp.setenv("THERABILL_PRACTICE", p.id)
        yield p
        engine.dispose()


def _sent(p: Practice, status: str, icn: str | None, days_before: int) -> str:
    visit = a_visit(p, dos=DOS - timedelta(days=days_before))
    coded = rec.code_visit(p.engine, p.id, ACTOR, visit, as_of=AS_OF)
    rec.mark_ready(p.engine, p.id, ACTOR, coded.claim_id)
    batches.build_batch(p.engine, p.id, ACTOR, [coded.claim_id], envelope=EnvelopeSettings())
    rec.set_claim_status(p.engine, p.id, ACTOR, coded.claim_id, status, payer_claim_control_number=icn)
    return coded.claim_number


def test_edit_correct_void_rebill_and_versions(practice: Practice, tmp_path: Path) -> None:
    p = practice
    visit = a_visit(p)
    coded = rec.code_visit(p.engine, p.id, ACTOR, visit, as_of=AS_OF)
    edited = as_json("claims", "edit", coded.claim_number, "--end", "10:45", "--reason", "ended early")
    assert edited["kind"] == "edit" and edited["claim_number"] == f"{coded.claim_number}-2"
    nothing = runner.invoke(app, ["claims", "edit", visit])
    assert nothing.exit_code == 2 and "changes-missing" in nothing.output
    paid = _sent(p, "paid", "ICN-CLI-1", 1)
    refused = runner.invoke(app, ["claims", "edit", paid, "--end", "11:00"])
    assert refused.exit_code == 2 and "visit-claim-sent" in refused.output
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps({"diagnoses": ["M54.50", "M62.830"]}))
    corrected = as_json("claims", "correct", paid.lower(), "--changes", str(changes), "--reason", "dx order")
    assert corrected["frequency"] == "7" and corrected["claim_number"] == f"{paid}-2"
    versions = as_json("claims", "versions", corrected["claim_id"])
    assert [(v["version"], v["kind"], v["status"]) for v in versions] == [
        (1, "original", "replaced"),
        (2, "correct", "scrubbed"),
    ]
    denied = _sent(p, "denied", "ICN-CLI-2", 2)
    voided = as_json("claims", "void", denied, "--reason", "wrong patient")
    assert voided["frequency"] == "8" and voided["status"] == "ready"
    rejected = _sent(p, "batch_rejected", None, 3)
    rebilled = as_json("claims", "rebill", rejected)
    assert rebilled["kind"] == "rebill" and rebilled["frequency"] == "1"
    missing = runner.invoke(app, ["claims", "void", "TB000NOSUCH"])
    assert missing.exit_code != 0 and "claim-not-found" in missing.output


def test_followup_list_note_assign_act_and_appeal(practice: Practice, tmp_path: Path) -> None:
    p = practice
    denied = _sent(p, "denied", "ICN-CLI-3", 4)
    listed = as_json("followup", "list", "--as-of", AS_OF.isoformat())
    assert [(i["claim_number"], i["reason"]) for i in listed] == [(denied, "denied")]
    noted = as_json(
        "followup", "note", denied, "payer says no order on file", "--rarc", "N350", "--as-of", "2026-11-23"
    )
    assert noted["remark_codes"] == ["N350"] and noted["notes"][-1]["text"] == "payer says no order on file"
    assigned = as_json("followup", "assign", denied, "Bea", "--next", "2026-11-30", "--as-of", "2026-11-23")
    assert assigned["owner"] == "Bea" and assigned["next_action_on"] == "2026-11-30"
    mine = as_json("followup", "list", "--owner", "Bea", "--as-of", "2026-11-23")
    assert [i["claim_number"] for i in mine] == [denied]
    second = _sent(p, "denied", "ICN-CLI-4", 5)
    head = runner.invoke(app, ["followup", "list", "--limit", "1", "--as-of", AS_OF.isoformat()])
    assert head.exit_code == 0, head.output
    assert "1 of 2 claim(s) to follow up" in head.output
    assert second in head.output and denied not in head.output  # the oldest of the two only
    letter = tmp_path / "appeal.pdf"
    wrote = runner.invoke(
        app,
        [
            "followup",
            "appeal",
            denied,
            "--note",
            "The order is attached.",
            "-o",
            str(letter),
            "--as-of",
            "2026-11-23",
        ],
    )
    assert wrote.exit_code == 0, wrote.output
    assert letter.read_bytes().startswith(b"%PDF")
    done = as_json("followup", "act", denied, "appeal", "--note", "faxed", "--as-of", "2026-11-23")
    assert done["action"] == "appeal"
    bad = runner.invoke(app, ["followup", "act", denied, "explode"])
    assert bad.exit_code == 2 and "followup-action-unknown" in bad.output
