"""``therabill authorizations|referrals`` and ``patients edit|coverage-end|history``: what the
front desk keeps on file, from the shell, through the same services as the web and the API.
Patients are named by chart number, coverages by their order, authorizations by their number.
The clock is pinned to 2026-11-23."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tests.integration.db.builders import Practice, a_practice
from therabill import clock
from therabill.adapters.db.engine import make_engine
from therabill.entrypoints.cli.main import app
from therabill.service_layer import referrals
from therabill.service_layer.accounts import command_line_principal

runner = CliRunner()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def as_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def practice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    folder: Path = tmp_path_factory.mktemp("cli-records")
    with (
        pytest.MonkeyPatch.context() as mp,
        clock.using(clock.fixed(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))),
    ):
        mp.setenv("THERABILL_DATA_DIR", str(folder))
        for name in ("THERABILL_DATABASE_URL", "THERABILL_PRACTICE"):
            mp.delenv(name, raising=False)
        assert run("db", "upgrade").exit_code == 0
        engine = make_engine()
        p = a_practice(engine, visits_allowed=8, units_allowed=32)
        mp.setenv("THERABILL_PRACTICE", p.id)
        yield p
        engine.dispose()


def test_authorizations_by_number_with_their_burn_down(practice: Practice) -> None:
    listed = as_json("authorizations", "list", "P-0101")
    assert [(a["number"], a["payer"], a["coverage"]) for a in listed] == [("AUTH-1", "Aetna", "primary")]
    assert listed[0]["visits_left"] == 8 and listed[0]["units_left"] == 32 and listed[0]["days_left"] == 38
    made = as_json(
        "authorizations", "create", "P-0101", "--number", "PA-2026-118", "--codes", "97124 97140",
        "--from", "2027-01-01", "--to", "2027-03-31", "--visits", "6",
    )  # fmt: skip
    assert made["coverage"] == "primary" and made["codes"] == ["97124", "97140"]
    assert (made["visits_allowed"], made["visits_used"], made["visits_left"], made["units_left"]) == (
        6,
        0,
        6,
        None,
    )
    extended = as_json("authorizations", "extend", "PA-2026-118", "--add-visits", "4", "--to", "2027-04-30")
    assert extended["visits_left"] == 10 and str(extended["end_date"]) == "2027-04-30"
    assert [a["number"] for a in as_json("authorizations", "list", "P-0101")] == ["AUTH-1", "PA-2026-118"]
    text = run("authorizations", "list", "P-0101")
    assert (
        text.exit_code == 0
        and "visits 10 of 10 left" in text.output
        and "units 0 used, no limit" in text.output
    )
    # Refusals name the field; an unknown number or patient is not found.
    earlier = run("authorizations", "extend", "PA-2026-118", "--to", "2027-01-15")
    assert earlier.exit_code == 2 and "authorization-extend-earlier" in earlier.output
    no_units = run("authorizations", "extend", "PA-2026-118", "--add-units", "4")
    assert no_units.exit_code == 2 and "authorization-no-unit-limit" in no_units.output
    assert "authorization-not-found" in run("authorizations", "extend", "PA-NOPE", "--add-visits", "1").output
    assert "patient-not-found" in run("authorizations", "list", "P-9999").output
    assert (
        "coverage-not-found"
        in run("authorizations", "create", "P-0101", "--coverage", "secondary", "--number", "X-1").output
    )


def test_referrals_with_their_document_and_expiry(practice: Practice, tmp_path: Path) -> None:
    data_dir = Path(os.environ["THERABILL_DATA_DIR"])
    scan = tmp_path / "order from Dr Reed.pdf"
    scan.write_bytes(PDF)
    kept = as_json(
        "referrals", "add", "P-0101", "--kind", "prescription", "--number", "RX-77", "--prescriber", "Dana Reed",
        "--prescriber-npi", "1245319599", "--issued", "2026-11-01", "--expires", "2026-12-01", "--visits", "12",
        "--coverage", "primary", "--document", str(scan),
    )  # fmt: skip
    assert kept["kind"] == "prescription" and kept["days_left"] == 8 and not kept["expired"]
    assert kept["document"] == {
        "file_name": "order from Dr Reed.pdf",
        "content_type": "application/pdf",
        "bytes": len(PDF),
    }
    old = as_json("referrals", "add", "P-0101", "--number", "REF-1", "--expires", "2026-10-31")
    assert old["expired"] and old["document"] is None
    as_json("referrals", "add", "P-0101", "--number", "REF-2", "--expires", "2027-06-30")
    soon = as_json("referrals", "list", "P-0101", "--expiring-within", "30")
    assert sorted(r["number"] for r in soon) == ["REF-1", "RX-77"]
    assert len(as_json("referrals", "list", "P-0101")) == 3
    text = run("referrals", "list", "P-0101")
    assert "EXPIRED 2026-10-31" in text.output and "expires 2026-12-01 (8 days)" in text.output
    # The stored document reads back, checked against its fingerprint: by the command, and by
    # the service the web page and the API call (the same file under the data folder).
    out = tmp_path / "back.pdf"
    got = as_json("referrals", "document", kept["id"], "-o", str(out))
    assert out.read_bytes() == PDF and got["content_type"] == "application/pdf"
    principal = command_line_principal(practice.id, "os:test")
    data, content_type, _ = referrals.referral_document(practice.engine, principal, kept["id"], data_dir)
    assert data == PDF and content_type == "application/pdf"
    # Not a PDF, PNG or JPEG: refused, nothing kept.
    fake = tmp_path / "order.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a document")
    refused = run("referrals", "add", "P-0101", "--document", str(fake))
    assert refused.exit_code == 2 and "referral-document-type" in refused.output
    assert len(as_json("referrals", "list", "P-0101")) == 3


def test_patients_edit_end_coverage_and_history(practice: Practice) -> None:
    edited = as_json(
        "patients", "edit", "P-0101", "--phone", "8455550199", "--city", "Beacon", "--zip", "12508"
    )
    assert edited["changed"] == ["address", "phone"] and edited["phone"] == "8455550199"
    assert edited["address"] == {"line1": "77 River Rd", "city": "Beacon", "state": "NY", "zip": "12508"}
    same = as_json("patients", "edit", "P-0101", "--phone", "8455550199")
    assert same["changed"] == []
    future = run("patients", "edit", "P-0101", "--birth-date", "2027-01-01")
    assert future.exit_code == 2 and "birth_date" in future.output
    assert run("patients", "edit", "P-0101").exit_code == 2  # nothing to change
    ended = as_json("patients", "coverage-end", "P-0101", "--coverage", "primary", "--last-day", "2026-12-31")
    assert ended == {"coverage_id": practice.coverage_id, "sequence": "primary", "member_id": "W123456789",
                     "active_to": "2026-12-31"}  # fmt: skip
    shown = as_json("patients", "show", "P-0101")
    assert str(shown["coverages"][0]["active_to"]) == "2026-12-31"
    no_such = run("patients", "coverage-end", "P-0101", "--coverage", "tertiary", "--last-day", "2026-12-31")
    assert no_such.exit_code == 2 and "coverage-not-found" in no_such.output
    bad_day = run("patients", "coverage-end", "P-0101", "--last-day", "2026-13-01")
    assert bad_day.exit_code == 2 and "--last-day" in bad_day.output
    history = as_json("patients", "history", "P-0101")
    # Newest first; the edit that changed nothing is not a change.
    assert [(h["action"], h["who"], h["fields"]) for h in history[:2]] == [
        ("coverage.end", "command line", []),
        ("patient.update", "command line", ["address", "phone"]),
    ]
    assert [h["action"] for h in history].count("patient.update") == 1
    text = run("patients", "history", "P-0101")
    assert "coverage.end" in text.output and "patient.update (address, phone)" in text.output
