"""The encounter document at the boundary: examples parse, bad input lists every problem by path."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from therabill.domain.encounter import Encounter
from therabill.schemas.encounter import (
    DocumentError,
    encounter_json_schema,
    parse_encounter,
    parse_encounter_obj,
    parse_encounters,
    parse_units_request,
)

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def example(name: str = "massage-and-manual-therapy-two-regions.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


def problems(doc: Any) -> dict[str, str]:
    with pytest.raises(DocumentError) as info:
        parse_encounter(json.dumps(doc) if not isinstance(doc, str) else doc)
    return {p.loc: p.message for p in info.value.problems}


def test_six_examples_ship() -> None:
    assert len(EXAMPLE_FILES) == 6


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_parses(path: Path) -> None:
    enc = parse_encounter(path.read_bytes())
    assert isinstance(enc, Encounter)
    assert enc.services and enc.diagnoses


def test_domain_record_is_frozen_and_typed() -> None:
    enc = parse_encounter_obj(example())
    assert enc.services[0].unit_charge == Decimal("35.00")
    assert enc.services[1].modifiers == ("59",)
    assert enc.session_minutes == 60
    assert enc.billing_provider is not None and enc.billing_provider.address is not None
    assert enc.billing_provider.address.zip == "627011234"
    with pytest.raises(AttributeError):
        enc.encounter_id = "x"  # type: ignore[misc]


def test_hyphens_dropped_from_tax_id_and_zip() -> None:
    doc = example()
    doc["billing_provider"]["tax_id"] = "12-3456789"
    doc["billing_provider"]["address"]["zip"] = "62701-1234"
    enc = parse_encounter_obj(doc)
    assert enc.billing_provider is not None and enc.billing_provider.tax_id == "123456789"
    assert enc.billing_provider.address is not None and enc.billing_provider.address.zip == "627011234"


def test_not_json() -> None:
    got = problems("{not json")
    assert list(got) == ["(document)"]
    assert "JSON" in got["(document)"]


def test_every_problem_listed_with_its_path() -> None:
    doc = example()
    doc["services"][1]["minutes"] = -5
    doc["services"][0]["unit_charge"] = 35.0
    doc["date_of_service"] = "2026-13-45"
    doc["start_time"] = "10am"
    doc["patient"]["birth_date"] = "04/02/1980"
    doc["services"][0]["minutes"] = "38"
    doc["patient_amount_paid"] = "1e3"
    doc["coverage"]["authorization"]["visits_used"] = -1
    got = problems(doc)
    assert got["services[1].minutes"] == "must be >= 0"
    assert got["services[0].unit_charge"] == "must be a string"
    assert got["date_of_service"] == "must be a real date as YYYY-MM-DD"
    assert got["start_time"] == "must be a clock time as HH:MM (24 h)"
    assert got["patient.birth_date"] == "must be a date as YYYY-MM-DD"
    assert got["services[0].minutes"] == "must be a whole number"
    assert "decimal string" in got["patient_amount_paid"]
    assert got["coverage.authorization.visits_used"] == "must be >= 0"
    assert len(got) == 8


def test_unknown_field_and_missing_required() -> None:
    doc = example()
    doc["services"][0]["minuts"] = 5
    del doc["encounter_id"]
    got = problems(doc)
    assert got["services[0].minuts"] == "is not a field of this document"
    assert got["encounter_id"] == "is required"


def test_money_with_three_places_refused() -> None:
    doc = example()
    doc["services"][0]["unit_charge"] = "35.005"
    assert "decimal string" in problems(doc)["services[0].unit_charge"]


def test_no_count_limits_and_no_code_lists() -> None:
    doc = example()
    doc["services"][0]["modifiers"] = ["59", "XS", "GP", "KX", "52"]
    doc["services"][0]["code"] = "ZZZZZ"
    doc["services"][0]["diagnosis_pointers"] = [1, 2, 3, 4, 9]
    doc["diagnoses"] = [f"M54.{i}" for i in range(15)]
    doc["documentation"]["goals"] = []
    enc = parse_encounter_obj(doc)  # meaning is the scrubber's business
    assert len(enc.services[0].modifiers) == 5


def test_list_of_documents_reports_index() -> None:
    good, bad = example(), example()
    bad["services"][0]["minutes"] = -1
    with pytest.raises(DocumentError) as info:
        parse_encounters(json.dumps([good, bad]))
    assert [p.loc for p in info.value.problems] == ["[1].services[0].minutes"]
    assert len(parse_encounters(json.dumps([good, good]))) == 2


def test_units_request_accepts_partial_document() -> None:
    doc = parse_units_request(
        '{"services": [{"code": "97124", "minutes": 60}], "coverage": {"payer_profile": "medicare"}}'
    )
    assert doc.services[0].minutes == 60
    assert doc.coverage is not None and doc.coverage.payer_profile == "medicare"
    full = parse_units_request(json.dumps(example()))  # a full document works too
    assert len(full.services) == 2
    with pytest.raises(DocumentError):
        parse_units_request('{"services": [{"code": "97124", "minutes": -1}]}')


def test_json_schema_is_published() -> None:
    schema = encounter_json_schema()
    assert schema["title"] == "Encounter"
    assert "services" in schema["properties"]
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "encounter_id" in schema["required"]
