"""Attachments, the claim note and line-level prior payments in the encounter document."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from therabill.domain.encounter import Attachment, LinePriorPayment
from therabill.schemas.encounter import DocumentError, encounter_json_schema, parse_encounter


def _doc() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "massage-and-manual-therapy-two-regions.json").read_text())
    return data


def _problems(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DocumentError) as info:
        parse_encounter(json.dumps(doc))
    return {p.loc: p.message for p in info.value.problems}


def test_defaults_are_empty() -> None:
    enc = parse_encounter(json.dumps(_doc()))
    assert enc.attachments == ()
    assert enc.claim_note is None
    assert all(s.prior_payment is None for s in enc.services)


def test_fields_reach_the_domain_record() -> None:
    doc = _doc()
    doc["attachments"] = [
        {"report_type": "OZ", "transmission": "FX", "control_number": "RPT-1"},
        {"report_type": "B4", "transmission": "AA"},
    ]
    doc["claim_note"] = "Primary EOB attached"
    doc["services"][0]["prior_payment"] = {
        "paid_amount": "70.00",
        "adjudication_date": "2026-11-22",
        "adjustments": [
            {"group": "CO", "reason": "45", "amount": "20"},
            {"group": "PR", "reason": "2", "amount": "15.5"},
        ],
    }
    doc["services"][1]["prior_payment"] = {
        "paid_amount": "0",
        "adjustments": [{"group": "CO", "reason": "45", "amount": "-3.00"}],
    }
    enc = parse_encounter(json.dumps(doc))
    assert enc.attachments == (Attachment("OZ", "FX", "RPT-1"), Attachment("B4", "AA", None))
    assert enc.claim_note == "Primary EOB attached"
    assert enc.services[0].prior_payment == LinePriorPayment(
        Decimal("70.00"), date(2026, 11, 22), (("CO", "45", Decimal("20.00")), ("PR", "2", Decimal("15.50")))
    )
    second = enc.services[1].prior_payment
    assert second is not None and second.adjudication_date is None
    assert second.paid_amount == Decimal("0.00") and str(second.paid_amount) == "0.00"
    assert second.adjustments == (("CO", "45", Decimal("-3.00")),)  # a reversal-style negative is allowed


def test_over_80_character_note_is_not_a_schema_error() -> None:
    doc = _doc()
    doc["claim_note"] = "n" * 200
    assert parse_encounter(json.dumps(doc)).claim_note == "n" * 200


def test_bad_values_are_listed_by_path() -> None:
    doc = _doc()
    doc["attachments"] = [{"report_type": "", "transmission": "FX", "fax": "x"}, {"transmission": "BM"}]
    doc["claim_note"] = 5
    doc["services"][1]["prior_payment"] = {
        "paid_amount": 26.0,
        "adjudication_date": "2026-02-30",
        "adjustments": [{"group": "CO", "reason": "45", "amount": "8.001"}],
    }
    got = _problems(doc)
    assert got == {
        "attachments[0].report_type": "must not be empty",
        "attachments[0].fax": "is not a field of this document",
        "attachments[1].report_type": "is required",
        "claim_note": "must be a string",
        "services[1].prior_payment.paid_amount": "must be a string",
        "services[1].prior_payment.adjudication_date": "must be a real date as YYYY-MM-DD",
        "services[1].prior_payment.adjustments[0].amount": 'must be a non-negative decimal string such as "35.00"',
    }


def test_line_prior_payment_has_no_claim_number() -> None:
    doc = _doc()
    doc["services"][0]["prior_payment"] = {"paid_amount": "1.00", "payer_claim_control_number": "X"}
    assert _problems(doc) == {
        "services[0].prior_payment.payer_claim_control_number": "is not a field of this document"
    }


def test_json_schema_publishes_the_new_fields() -> None:
    schema = encounter_json_schema()
    props = schema["properties"]
    assert "attachments" in props and "claim_note" in props
    assert "attachments" not in schema.get("required", [])
    defs = schema["$defs"]
    assert "prior_payment" in defs["ServiceIn"]["properties"]
    assert set(defs["AttachmentIn"]["required"]) == {"report_type", "transmission"}
