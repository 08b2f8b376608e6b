"""A fixture practice for the report tests, built only through the records and ledger services.

Money is posted with the same use cases the application uses (claim charges, remittances,
patient payments, tips, packages, write-offs, refunds, reversals); the unit of work's clock
is pinned so every posting and status event has a known day. Runs on SQLite and PostgreSQL
(the storage tests' engine fixtures).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.integration.db.conftest import PgDatabases, new_empty_engine
from therabill.adapters.db import migrations
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.ledger import ChargeType, PaymentMethod, PrepaidType
from therabill.domain.money import D
from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance, RemittanceHeader, ServicePayment
from therabill.service_layer import batches, remittance_posting
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import ledger as svc
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.uow import UnitOfWork

ACTOR = "os:reports-test"
AS_OF = date(2026, 11, 23)


class PinnedClock:
    """The day every unit of work sees (noon UTC)."""

    def __init__(self) -> None:
        self.day = date(2026, 8, 1)

    def __call__(self) -> datetime:
        return datetime.combine(self.day, time(12, 0), tzinfo=UTC)


def services(*lines: tuple[str, int]) -> list[dict[str, Any]]:
    out = []
    for code, minutes in lines:
        out.append(
            {
                "code": code,
                "minutes": minutes,
                "modifiers": ["GP"] if code in ("97110", "97140") else [],
                "diagnosis_pointers": [1],
                "body_regions": ["lumbar"],
                "techniques": ["effleurage"] if code == "97124" else ["myofascial release"],
            }
        )
    return out


def document(lines: list[dict[str, Any]], pain: int, rom: int, start: str = "10:00") -> dict[str, Any]:
    total = sum(s["minutes"] for s in lines)
    h, m = divmod(10 * 60 + total, 60)
    return {
        "start_time": start,
        "end_time": f"{h:02d}:{m:02d}",
        "place_of_service": "11",
        "diagnoses": ["M54.50", "M62.830"],
        "services": lines,
        "accept_assignment": True,
        "provider_signature_on_file": True,
        "consent": {"release_of_information": True, "benefits_assigned": True},
        "documentation": {
            "subjective": f"Low back pain {pain}/10.",
            "objective": {
                "pain_scale": pain,
                "range_of_motion": [{"joint": "lumbar", "motion": "flexion", "degrees": rom}],
                "strength": [{"muscle_group": "hip extensors", "grade": "4-/5" if pain > 4 else "4+/5"}],
            },
            "assessment": "Lumbar spasm, improving.",
            "plan": "Weekly for four weeks.",
            "medical_necessity": "Pain limits sitting to 30 minutes.",
            "goals": [
                {
                    "description": "Sit 2 hours without pain above 2/10",
                    "baseline": "30 minutes",
                    "target": "2 hours",
                }
            ],
        },
    }


@dataclass
class Practice:
    """The fixture practice and what the tests need to find in it."""

    engine: Engine
    practice_id: str
    clock: PinnedClock
    payers: dict[str, str] = field(default_factory=dict)
    patients: dict[str, str] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)
    visits: dict[str, str] = field(default_factory=dict)
    authorization: str = ""

    def at(self, day: date) -> None:
        self.clock.day = day

    def lines(self, claim: str) -> list[Any]:
        with UnitOfWork(self.engine, self.practice_id, ACTOR, read_only=True) as uow:
            return list(uow.records.lines_of(self.claims[claim]))

    def number(self, claim: str) -> str:
        with UnitOfWork(self.engine, self.practice_id, ACTOR, read_only=True) as uow:
            return (
                str(uow.records.get_claim(self.claims[claim]).claim_number)
                if hasattr(uow.records, "get_claim")
                else ""
            )


def remit(
    claim_number: str,
    lines: list[Any],
    amounts: list[tuple[str, list[tuple[str, str, str]]]],
    trn: str,
    payer: str,
    day: date,
) -> Remittance:
    """A remittance paying ``lines``: per line (paid, [(group, reason, amount)])."""
    sps = []
    for ln, (paid, adjs) in zip(lines, amounts, strict=True):
        sps.append(
            ServicePayment(
                code=ln.code,
                qualifier="HC",
                modifiers=tuple(ln.modifiers),
                charge=D(ln.charge_cents) / 100,
                paid=D(paid),
                service_date=ln.date_of_service,
                line_id=ln.line_id,
                adjustments=tuple(Adjustment(g, r, D(a)) for g, r, a in adjs),
                segment_number=20,
            )
        )
    paid_total = sum((s.paid for s in sps), Decimal("0.00"))
    pr = sum((a.amount for s in sps for a in s.adjustments if a.group == "PR"), Decimal("0.00"))
    cp = ClaimPayment(
        claim_id=claim_number,
        status="1" if paid_total > 0 else "4",
        charge=sum((s.charge for s in sps), Decimal("0.00")),
        paid=paid_total,
        patient_responsibility=pr,
        payer_claim_control_number=f"ICN-{trn}",
        lines=tuple(sps),
        segment_number=15,
    )
    header = RemittanceHeader(
        "I" if paid_total > 0 else "H", paid_total, "C", "ACH", day, trn, payer_id=payer, payer_name=payer
    )
    return Remittance(header, (cp,))


def build_practice(engine: Engine) -> Practice:
    clock = PinnedClock()
    mp = pytest.MonkeyPatch()
    mp.setattr(UnitOfWork, "now", lambda self: clock())
    try:
        return _build(engine, clock)
    finally:
        mp.undo()


def _build(engine: Engine, clock: PinnedClock) -> Practice:
    e = engine
    pid = practice_svc.create_practice(
        e,
        name="Report Test Practice",
        slug=f"rep-{id(clock)}",
        actor=ACTOR,
        npi="1234567893",
        tax_id="123456789",
        taxonomy="225700000X",
        phone="8455550100",
        address={"line1": "1 Main St", "city": "Albany", "state": "NY", "zip": "122070001"},
        fees={"97124": "30.00", "97140": "35.00", "97110": "42.00"},
        clock=clock,
    )
    p = Practice(e, pid, clock)
    prov = practice_svc.add_provider(
        e,
        pid,
        ACTOR,
        first_name="Mei",
        last_name="Chen",
        npi="1993214562",
        taxonomy="225700000X",
        credential="PT",
        licenses=[("NY", "024567", date(2027, 10, 31))],
        clock=clock,
    )
    addr = {"line1": "PO Box 1", "city": "Albany", "state": "NY", "zip": "122010001"}
    p.payers["aetna"] = practice_svc.add_payer(
        e,
        pid,
        ACTOR,
        name="Aetna",
        payer_id="60054",
        profile="commercial",
        claim_filing_indicator="CI",
        address=addr,
        clock=clock,
    )
    p.payers["blue"] = practice_svc.add_payer(
        e,
        pid,
        ACTOR,
        name="Blue Plan",
        payer_id="00123",
        profile="commercial",
        claim_filing_indicator="BL",
        address=addr,
        clock=clock,
    )

    def patient(key: str, payer: str | None, n: int) -> str:
        covs = (
            [
                coverages_svc.CoverageInput(
                    payer_id=p.payers[payer], member_id=f"M{n}00000", active_from=date(2026, 1, 1)
                )
            ]
            if payer
            else []
        )
        p.patients[key] = patients_svc.register_patient(
            e,
            pid,
            ACTOR,
            chart_number=f"C-{n}",
            first_name=key.capitalize(),
            last_name="Test",
            birth_date=date(1970, 1, n),
            sex="F",
            address={"line1": "2 Elm St", "city": "Albany", "state": "NY", "zip": "12207"},
            coverages_in=covs,
            clock=clock,
        )
        return p.patients[key]

    patient("ann", "aetna", 1)
    patient("bob", "blue", 2)
    patient("cy", "aetna", 3)
    patient("dee", None, 4)
    with UnitOfWork(e, pid, ACTOR, read_only=True) as uow:
        cy_cov = uow.records.coverages_of(p.patients["cy"])[0].id
    p.authorization = coverages_svc.add_authorization(
        e,
        pid,
        ACTOR,
        coverage_id=cy_cov,
        number="AUTH-CY",
        start_date=date(2026, 8, 1),
        end_date=date(2026, 12, 10),
        codes=["97124", "97140"],
        visits_allowed=4,
        units_allowed=12,
        clock=clock,
    )

    def visit(
        key: str, who: str, day: date, lines: list[dict[str, Any]], pain: int, rom: int, bill: bool = True
    ) -> None:
        p.at(day)
        p.visits[key] = visits_svc.record_visit(
            e,
            pid,
            ACTOR,
            patient_id=p.patients[who],
            provider_id=prov,
            date_of_service=day,
            document=document(lines, pain, rom),
            clock=clock,
        )
        if bill:
            coded = claims_svc.code_visit(e, pid, ACTOR, p.visits[key], as_of=day, clock=clock)
            p.claims[key] = coded.claim_id

    # Aetna (commercial: per-code in its profile or cms: either way priced by the what-if)
    visit("a1", "ann", date(2026, 8, 3), services(("97124", 60)), 6, 40)
    visit("a2", "ann", date(2026, 9, 14), services(("97124", 45)), 4, 55)
    visit("a3", "ann", date(2026, 10, 26), services(("97124", 60)), 2, 70)
    # Blue Plan: 97110 8 min + 97140 8 min (cms 1 unit, per-code 2)
    visit("b1", "bob", date(2026, 8, 10), services(("97110", 23), ("97140", 8)), 7, 30)
    visit("b2", "bob", date(2026, 9, 21), services(("97110", 8), ("97140", 8)), 5, 35)
    # Cy: authorization use
    visit("c1", "cy", date(2026, 9, 1), services(("97124", 30), ("97140", 15)), 5, 50)
    visit("c2", "cy", date(2026, 11, 2), services(("97124", 30)), 3, 60)
    # Dee: cash client (not billed to insurance)
    visit("d1", "dee", date(2026, 10, 5), services(("97124", 60)), 4, 45, bill=False)
    ready = list(p.claims)
    for key in ready:
        p.at(date(2026, 11, 20) if key == "c2" else _plus(_dos(key), 2))
        claims_svc.mark_ready(e, pid, ACTOR, p.claims[key], clock=clock)
        batches.build_batch(e, pid, ACTOR, [p.claims[key]], envelope=EnvelopeSettings(), clock=clock)
        svc.post_claim_charges(e, pid, ACTOR, p.claims[key])
    numbers = (
        {r.claim_id: r.claim_number for r in claims_svc.list_claims(e, pid, ACTOR)}
        if hasattr(claims_svc.list_claims(e, pid, ACTOR)[0], "claim_id")
        else {}
    )
    p.numbers = numbers or _numbers(p)  # type: ignore[attr-defined]

    def pay(
        key: str, day: date, trn: str, payer: str, amounts: list[tuple[str, list[tuple[str, str, str]]]]
    ) -> None:
        p.at(day)
        remittance_posting.post_remittance(
            e, pid, ACTOR, remit(p.numbers[p.claims[key]], p.lines(key), amounts, trn, payer, day)
        )  # type: ignore[attr-defined]

    # a1 (97124 x4 = 120.00): paid 80, CO-45 20, PR-2 20; patient pays 20 by card + a 5.00 tip
    pay("a1", date(2026, 8, 24), "T-A1", "60054", [("80.00", [("CO", "45", "20.00"), ("PR", "2", "20.00")])])
    p.at(date(2026, 8, 30))
    svc.post_patient_payment(
        e,
        pid,
        ACTOR,
        patient_id=p.patients["ann"],
        amount=D("20.00"),
        method=PaymentMethod.CARD,
        key="ann-1",
        tip=D("5.00"),
    )
    # a2 (97124 x3 = 90.00): paid 60, CO-45 15, PR-3 15 (patient still owes 15)
    pay("a2", date(2026, 10, 5), "T-A2", "60054", [("60.00", [("CO", "45", "15.00"), ("PR", "3", "15.00")])])
    # a3 unpaid: insurance aging from its submission (2026-10-28)
    # b1 denied CO-50 (not medically necessary): 97110 2u=84.00, 97140 1u=35.00 -> all denied
    lines_b1 = p.lines("b1")
    pay(
        "b1",
        date(2026, 9, 2),
        "T-B1",
        "00123",
        [("0.00", [("CO", "50", str(D(ln.charge_cents) / 100))]) for ln in lines_b1],
    )
    # fixed: reverse the denial on the first line, then paid on appeal
    p.at(date(2026, 9, 20))
    denial = [
        x
        for x in svc.all_entries(e, pid, ACTOR)
        if x.reason_code == "50" and x.claim_line_id == lines_b1[0].id
    ][0]
    svc.reverse_entry(e, pid, ACTOR, denial.entry_id, key="fix-b1")
    p.at(date(2026, 9, 28))
    svc.post_entries(e, pid, ACTOR, [_ins_payment(p, lines_b1[0], "60.00", "00123")], key="appeal-b1")
    p.at(date(2026, 9, 28))
    svc.write_off(
        e,
        pid,
        ACTOR,
        item_id=lines_b1[0].id,
        amount=D("24.00"),
        bucket=_ins(),
        group_code="CO",
        reason_code="45",
        key="wo-b1",
    )
    # b2 (cms: 1 unit) paid 30, CO-45 12
    pay(
        "b2",
        date(2026, 10, 19),
        "T-B2",
        "00123",
        [("30.00", [("CO", "45", str(D(ln.charge_cents) / 100 - D("30.00")))]) for ln in p.lines("b2")][:1]
        + [("0.00", [("CO", "45", str(D(ln.charge_cents) / 100))]) for ln in p.lines("b2")[1:]],
    )
    # c1: 97124 2u + 97140 1u; 97140 denied CO-97 (bundled), 97124 paid 40 CO-45 20
    lines_c1 = p.lines("c1")
    pay(
        "c1",
        date(2026, 9, 25),
        "T-C1",
        "60054",
        [
            ("40.00", [("CO", "45", "20.00")])
            if ln.code == "97124"
            else ("0.00", [("CO", "97", str(D(ln.charge_cents) / 100))])
            for ln in lines_c1
        ],
    )
    # Dee (cash): self-pay charge, no-show fee, retail with tax, a package, a redemption, a refund
    p.at(date(2026, 10, 5))
    charge = svc.post_charge(
        e,
        pid,
        ACTOR,
        patient_id=p.patients["dee"],
        amount=D("90.00"),
        charge_type=ChargeType.SELF_PAY,
        key="dee-visit",
    )
    svc.sell_prepaid(
        e,
        pid,
        ACTOR,
        patient_id=p.patients["dee"],
        kind=PrepaidType.PACKAGE,
        code="PKG-DEE",
        price=D("240.00"),
        method=PaymentMethod.CARD,
        key="dee-pkg",
        sessions=3,
    )
    svc.redeem_prepaid(e, pid, ACTOR, code="PKG-DEE", item_id=charge.entry_ids[0], key="dee-redeem")
    p.at(date(2026, 10, 12))
    fee = svc.post_charge(
        e,
        pid,
        ACTOR,
        patient_id=p.patients["dee"],
        amount=D("40.00"),
        charge_type=ChargeType.NO_SHOW,
        key="dee-noshow",
    )
    svc.post_charge(
        e,
        pid,
        ACTOR,
        patient_id=p.patients["dee"],
        amount=D("20.00"),
        charge_type=ChargeType.RETAIL,
        key="dee-retail",
        sales_tax=D("1.60"),
    )
    p.at(date(2026, 11, 1))
    svc.post_patient_payment(
        e,
        pid,
        ACTOR,
        patient_id=p.patients["dee"],
        amount=D("50.00"),
        method=PaymentMethod.CASH,
        key="dee-cash",
        tip=D("10.00"),
    )
    svc.write_off(
        e, pid, ACTOR, item_id=fee.entry_ids[0], amount=D("10.00"), reason_code="courtesy", key="dee-wo"
    )
    p.at(date(2026, 11, 3))
    svc.post_patient_payment(
        e,
        pid,
        ACTOR,
        patient_id=p.patients["ann"],
        amount=D("30.00"),
        method=PaymentMethod.CHECK,
        key="ann-2",
    )
    svc.refund_patient(
        e,
        pid,
        ACTOR,
        patient_id=p.patients["ann"],
        amount=D("10.00"),
        method=PaymentMethod.CHECK,
        key="ann-refund",
    )
    return p


def _ins() -> Any:
    from therabill.domain.ledger import Bucket

    return Bucket.INSURANCE


def _ins_payment(p: Practice, line: Any, amount: str, _payer: str) -> Any:
    from therabill.domain.ledger import Bucket, Entry, EntryKind, new_id

    with UnitOfWork(p.engine, p.practice_id, ACTOR, read_only=True) as uow:
        claim = uow.records.get(
            __import__("therabill.adapters.db.tables", fromlist=["claims"]).claims, line.claim_id
        )
    return Entry(
        new_id(),
        EntryKind.INSURANCE_PAYMENT,
        Bucket.INSURANCE,
        D(amount),
        claim.patient_id,
        item_id=line.id,
        claim_id=line.claim_id,
        claim_line_id=line.id,
        payer_id=claim.payer_id,
    )


def _numbers(p: Practice) -> dict[str, str]:
    from therabill.adapters.db.tables import claims

    with p.engine.connect() as c:
        return dict(
            c.execute(
                claims.select()
                .with_only_columns(claims.c.id, claims.c.claim_number)
                .where(claims.c.practice_id == p.practice_id)
            ).all()
        )  # type: ignore[arg-type]


_DOS = {
    "a1": date(2026, 8, 3),
    "a2": date(2026, 9, 14),
    "a3": date(2026, 10, 26),
    "b1": date(2026, 8, 10),
    "b2": date(2026, 9, 21),
    "c1": date(2026, 9, 1),
    "c2": date(2026, 11, 2),
}


def _dos(key: str) -> date:
    return _DOS[key]


def _plus(day: date, n: int) -> date:
    from datetime import timedelta

    return day + timedelta(days=n)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases()
    yield dbs
    if dbs.names:
        dbs.drop_all()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_databases: PgDatabases
) -> Iterator[Engine]:
    eng = new_empty_engine(request.param, tmp_path_factory.mktemp("reports"), pg_databases)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def practice(engine: Engine) -> Practice:
    return build_practice(engine)
