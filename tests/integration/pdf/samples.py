"""Sample documents built from the example encounters (pinned dates, fictitious people)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from functools import cache

from tests.conftest import EXAMPLES
from therabill.domain.claim import Claim, build_claim
from therabill.domain.encounter import Encounter, Objective, RangeOfMotion
from therabill.domain.forms import (
    NoteView,
    PartyView,
    ProgressReportView,
    ReceiptView,
    StatementLine,
    StatementView,
    SuperbillView,
    note_view,
    progress_view,
    superbill_view,
)
from therabill.domain.money import D
from therabill.refdata.catalog import default_catalog
from therabill.schemas.encounter import parse_encounter
from therabill.service_layer.coding import units_of

AS_OF = date(2026, 11, 23)
# fixed descriptions so that the tests do not depend on the ICD-10 release loaded
DX = {
    "M54.50": "Low back pain, unspecified",
    "M62.830": "Muscle spasm of back",
    "M54.2": "Cervicalgia",
    "S39.012A": "Strain of muscle, fascia and tendon of lower back, initial encounter",
}


def encounter(name: str) -> Encounter:
    return parse_encounter((EXAMPLES / name).read_text())


def claim_of(enc: Encounter) -> Claim:
    return build_claim(enc, units_of(enc.services, enc.payer_profile))


@cache
def code_names() -> dict[str, str]:
    return {c: info.description for c, info in default_catalog().codes.items()}


def superbill_sample() -> SuperbillView:
    enc = encounter("massage-and-manual-therapy-two-regions.json")
    later = dataclasses.replace(
        enc, encounter_id="E-2026-0009", date_of_service=date(2026, 11, 27), patient_amount_paid=D("75.00")
    )
    claims = [claim_of(enc), claim_of(later)]
    return superbill_view(
        claims,
        document_id="SB-000123",
        issued_on=AS_OF,
        dx_descriptions=DX,
        code_descriptions=code_names(),
        payment_method="card",
    )


def note_sample() -> NoteView:
    enc = encounter("massage-and-manual-therapy-two-regions.json")
    units = {ln.service_index: ln.units for ln in claim_of(enc).lines}
    return note_view(
        enc, dx_descriptions=DX, code_descriptions=code_names(), signed_on=date(2026, 11, 20), units=units
    )


def progress_sample() -> ProgressReportView:
    enc = encounter("massage-and-manual-therapy-two-regions.json")
    assert enc.documentation is not None
    visits = []
    series = [(7, 45), (6, 55), (6, 58), (5, 62), (4, 66), (3, 70)]
    for i, (pain, rom) in enumerate(series):
        obj = Objective(pain_scale=pain, range_of_motion=(RangeOfMotion("cervical", "rotation right", rom),))
        doc = dataclasses.replace(
            enc.documentation,
            objective=obj,
            client_feedback=f"Neck looser after visit {i + 1}." if i else "First visit; stiff and sore.",
            changes_since_last_visit=f"Sitting tolerance {20 + 8 * i} minutes." if i else "",
        )
        visits.append(
            dataclasses.replace(
                enc,
                encounter_id=f"E-2026-01{i:02d}",
                date_of_service=date(2026, 10, 23) + timedelta(days=7 * i),
                documentation=doc,
            )
        )
    return progress_view(visits, report_id="PR-000045", dx_descriptions=DX, signed_on=AS_OF)


PRACTICE = PartyView(
    name="Riverside Therapeutic Massage LLC",
    lines=("100 Main St", "Springfield, IL 62701-1234"),
    phone="(217) 555-0100",
)


def statement_sample() -> StatementView:
    lines = (
        StatementLine(
            date(2026, 10, 30), "Visit 10/30 — 97124 x4 massage", charge=D("140.00"), balance=D("140.00")
        ),
        StatementLine(
            date(2026, 11, 12),
            "Blue Cross Blue Shield of Illinois payment",
            insurance_paid=D("92.40"),
            balance=D("47.60"),
        ),
        StatementLine(
            date(2026, 11, 12), "Contractual adjustment (CO-45)", adjustment=D("17.60"), balance=D("30.00")
        ),
        StatementLine(
            date(2026, 11, 20), "Visit 11/20 — 97124 x3, 97140 x1", charge=D("145.00"), balance=D("175.00")
        ),
        StatementLine(
            date(2026, 11, 20), "Payment, card ending 4242", patient_paid=D("30.00"), balance=D("145.00")
        ),
    )
    return StatementView(
        statement_id="ST-000311",
        statement_date=AS_OF,
        due_date=date(2026, 12, 14),
        practice=PRACTICE,
        patient=PartyView("Jane Doe", ("9 Elm St", "Springfield, IL 62704")),
        account_id="P-0042",
        lines=lines,
        amount_due=D("145.00"),
        aging=(
            ("Current", D("145.00")),
            ("31–60 days", D("0.00")),
            ("61–90 days", D("0.00")),
            ("Over 90 days", D("0.00")),
        ),
        how_to_pay=(
            "Online: pay through the client portal",
            "Phone: (217) 555-0100",
            "Mail a check to 100 Main St, Springfield IL 62701",
        ),
        message="Insurance claim for 11/20 pending with Blue Cross Blue Shield of Illinois.",
    )


def receipt_sample() -> ReceiptView:
    return ReceiptView(
        receipt_id="RC-000981",
        paid_on=date(2026, 11, 20),
        practice=PRACTICE,
        practice_tax_id="EIN 12-3456789",
        payer_name="Jane Doe",
        account_id="P-0042",
        amount=D("30.00"),
        method="card",
        reference="ending 4242",
        applied_to=(("Visit 10/30 — patient responsibility", D("30.00")),),
        balance_after=D("145.00"),
    )
