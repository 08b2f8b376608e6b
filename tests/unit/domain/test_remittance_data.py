"""A claim payment stored as plain data reads back equal to what the payer sent."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

from therabill.domain.errors import Problem
from therabill.domain.remittance import Adjustment, ClaimPayment, ServicePayment
from therabill.domain.remittance_data import claim_payment_from_data, claim_payment_to_data


def _payment() -> ClaimPayment:
    line = ServicePayment(
        code="97124",
        qualifier="HC",
        modifiers=("GP", "59"),
        charge=Decimal("140.00"),
        paid=Decimal("90.50"),
        units=Decimal("4"),
        original_code="97140",
        original_modifiers=("GP",),
        original_units=Decimal("3"),
        service_date=date(2026, 11, 9),
        service_date_end=date(2026, 11, 10),
        line_id="L1",
        allowed_amount=Decimal("110.50"),
        adjustments=(Adjustment("CO", "45", Decimal("29.50")), Adjustment("PR", "3", Decimal("20.00"), Decimal("1"))),
        remarks=("N130", "M15"),
        segment_number=17,
    )  # fmt: skip
    return ClaimPayment(
        claim_id="C-1",
        status="1",
        charge=Decimal("160.00"),
        paid=Decimal("90.50"),
        patient_responsibility=Decimal("20.00"),
        filing_indicator="12",
        payer_claim_control_number="PCN1",
        facility_code="11",
        frequency="1",
        patient_last_name="DOE",
        patient_first_name="JANE",
        member_id="M1",
        crossover_payer="MEDIGAP",
        rendering_npi="1234567893",
        statement_from=date(2026, 11, 9),
        statement_to=date(2026, 11, 9),
        received_date=date(2026, 11, 12),
        adjustments=(Adjustment("OA", "23", Decimal("-20.00")),),
        lines=(line, line),
        remarks=("MA18",),
        segment_number=12,
        problems=(Problem("x12-balance", "#12 CLP", "does not balance"),),
    )


def test_a_claim_payment_reads_back_equal_through_json() -> None:
    cp = _payment()
    data = json.loads(json.dumps(claim_payment_to_data(cp)))
    back = claim_payment_from_data(data)
    assert back == cp
    assert back.lines[0].units == Decimal("4") and isinstance(back.lines[0].adjustments[1].quantity, Decimal)


def test_defaults_read_back_as_defaults() -> None:
    cp = ClaimPayment(claim_id="C-2", status="4", charge=Decimal("50"), paid=Decimal("0"))
    back = claim_payment_from_data(json.loads(json.dumps(claim_payment_to_data(cp))))
    assert back == cp and back.lines == () and back.statement_from is None
    assert claim_payment_to_data(replace(cp, paid=Decimal("1.00"))) != claim_payment_to_data(cp)
