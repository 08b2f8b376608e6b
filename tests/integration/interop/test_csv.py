"""CSV: import all or nothing with per-row errors and a dry run; exports for accountants."""

from __future__ import annotations

import csv
import io

import pytest

from tests.integration.db.builders import ACTOR, Practice, fixed_clock
from tests.integration.interop.conftest import ready_claim
from therabill.adapters.csvio import mapping_names
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import ledger
from therabill.service_layer import patients as patients_svc
from therabill.service_layer.interop import CsvImportError, export_claims, export_ledger, import_csv

PATIENTS = (
    "chart_number,first_name,last_name,birth_date,sex,email,phone,address_line1,city,state,zip\r\n"
    "C-1,Ana,Lopez,1980-02-03,F,ana@example.com,(845) 555-0101,1 Main St,Beacon,NY,12508\r\n"
    "C-2,Ben,Okafor,1975-12-31,M,,,,,,\r\n"
)


def _charts(p: Practice) -> set[str]:
    return {x.chart_number for x in patients_svc.list_patients(p.engine, p.id, ACTOR)}


def test_dry_run_reports_and_writes_nothing(practice: Practice) -> None:
    before = _charts(practice)
    plan = import_csv(
        practice.engine, practice.id, ACTOR, "patients", PATIENTS.encode(), dry_run=True, clock=fixed_clock
    )
    assert [c["chart_number"] for c in plan.creates] == ["C-1", "C-2"] and not plan.committed
    assert _charts(practice) == before


def test_import_patients_coverages_appointments(practice: Practice) -> None:
    plan = import_csv(practice.engine, practice.id, ACTOR, "patients", PATIENTS.encode(), clock=fixed_clock)
    assert plan.committed and _charts(practice) >= {"C-1", "C-2"}
    cov = "chart_number,payer,sequence,member_id,group_number\nC-1,Aetna,primary,W999,G-9\nC-2,60054,,W888,\n"
    assert (
        len(
            import_csv(
                practice.engine, practice.id, ACTOR, "coverages", cov.encode(), clock=fixed_clock
            ).creates
        )
        == 2
    )
    appts = "chart_number,start,end,status\nC-1,2026-12-01T09:00,2026-12-01T10:00,Booked\n"
    got = import_csv(practice.engine, practice.id, ACTOR, "appointments", appts.encode(), clock=fixed_clock)
    assert got.creates[0]["appointment"] == "C-1 2026-12-01 09:00-10:00 scheduled"


def test_one_bad_row_refuses_the_whole_file_with_row_numbers(practice: Practice) -> None:
    before = _charts(practice)
    text = PATIENTS + "C-3,Cy,,1990-01-01,F,,,,,,\r\nC-4,Di,Wu,31/12/1990,F,,,,,,\r\nC-1,Dup,Row,,,,,,,,\r\n"
    with pytest.raises(CsvImportError) as err:
        import_csv(practice.engine, practice.id, ACTOR, "patients", text.encode(), clock=fixed_clock)
    locs = [(p.loc, p.code) for p in err.value.problems]
    assert locs == [
        ("row 4: last_name", "csv-patients-invalid"),
        ("row 5: birth_date", "csv-patients-invalid"),
        ("row 6: chart_number", "csv-patients-invalid"),
    ]
    assert _charts(practice) == before  # nothing half imported


def test_mapping_of_another_tool(practice: Practice) -> None:
    assert {"generic", "jane", "massagebook"} <= set(mapping_names())
    text = "Client ID,First Name,Last Name,Birthday,Email\nMB-7,Eve,Stone,04/05/1988,eve@example.com\n"
    plan = import_csv(
        practice.engine,
        practice.id,
        ACTOR,
        "patients",
        text.encode(),
        mapping="massagebook",
        clock=fixed_clock,
    )
    assert plan.committed and "MB-7" in _charts(practice)
    with pytest.raises(CsvImportError) as err:
        import_csv(practice.engine, practice.id, ACTOR, "patients", b"Name\nX\n", mapping="massagebook")
    assert err.value.problems[0].code == "csv-column-missing"


def test_exports_for_the_accountant(practice: Practice) -> None:
    claim_id = ready_claim(practice)
    ledger.post_claim_charges(practice.engine, practice.id, ACTOR, claim_id)
    claims_rows = list(csv.DictReader(io.StringIO(export_claims(practice.engine, practice.id, ACTOR))))
    total = claims_svc.list_claims(practice.engine, practice.id, ACTOR)[0].total_charge_cents
    assert [(r["status"], r["total_charge"], r["patient_chart"]) for r in claims_rows] == [
        ("ready", f"{total / 100:.2f}", "P-0101")
    ]
    entries = list(csv.DictReader(io.StringIO(export_ledger(practice.engine, practice.id, ACTOR))))
    assert entries and {e["kind"] for e in entries} == {"charge"}
    assert sum(int(e["amount"].replace(".", "")) for e in entries) == total
