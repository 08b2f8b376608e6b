"""The demo practice: realistic, deterministic (seeded), loaded once, all or nothing.

Three therapists (two LMTs, one PT) with state licenses and payer enrollments, 40 patients
across Medicare, Medicare Advantage, commercial, workers' comp and auto no-fault payers
plus cash clients, eligibility checks on file, and three months of appointments ending at
``today``: visits documented and coded (each claim's charges in the ledger), claims sent in
a batch, a few no-shows (some with a no-show fee) and cancellations, and some visits with
the common mistakes (missing diagnosis pointer, 97140 beside 97124 on one region without
modifier 59). Claims sent more than 30 days ago come back in one remittance per payer:
most paid (CO-45 contractual, PR-2/PR-3 to the patient), some partly paid (CO-97 bundled
line), some denied (CO-197 no authorization, CO-50 not necessary, CO-29 filing limit),
with a PLB interest line; patients pay part of what they owe; cash clients pay per visit
(card, with tips), two use a prepaid package and one a gift certificate.

Everything goes through the same use cases the application uses, so the demo is also an
end-to-end exercise; the whole load is ONE transaction (``uow.one_transaction``): a
failure leaves nothing behind. The random choices come from ``random.Random(seed)``, so
the same seed and ``today`` give the same practice (ids differ).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from therabill import clock
from therabill.adapters.db.engine import session_factory
from therabill.adapters.db.tables import claim_lines, claims, payers, practices, providers
from therabill.adapters.db.tables import patients as patient_table
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.clock import current_time
from therabill.domain.errors import TherabillError
from therabill.domain.ledger import ChargeType, PaymentMethod, PrepaidType
from therabill.domain.money import ZERO, from_cents, quantize
from therabill.domain.remittance import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    RemittanceHeader,
    ServicePayment,
)
from therabill.service_layer import accounts, appointments, batches, ledger, prepaid, remittance_posting
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.demo_data import ADDRESS, DENIALS, FIRST, LAST, PAYERS, visit_document
from therabill.service_layer.uow import UnitOfWork, attempt, one_transaction

DEMO_SLUG = "demo"
NO_SHOW_FEE = Decimal("40.00")
CASH_VISIT = Decimal("95.00")


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo loaded.

    Attributes:
        practice_id: the demo practice's id.
        created: False when the demo practice already existed (nothing was changed).
        patients: patients created.
        appointments: appointments created.
        claims: claims created.
        remittances: remittances posted.
        payments: patient payments posted.
    """

    practice_id: str
    created: bool
    patients: int = 0
    appointments: int = 0
    claims: int = 0
    remittances: int = 0
    payments: int = 0


def _existing(engine: Engine) -> str | None:
    with session_factory(engine, read_only=True)() as s, s.begin():
        return s.execute(select(practices.c.id).where(practices.c.slug == DEMO_SLUG)).scalar()


def demo_logins(engine: Engine, practice_id: str) -> list[tuple[str, str, str]]:
    """The demo practice's logins (created once): (username, role, password) of each role;
    the therapist login is the first therapist's."""
    with engine.begin() as conn:
        therapist = conn.execute(
            select(providers.c.id)
            .where(providers.c.practice_id == practice_id)
            .order_by(providers.c.created_at, providers.c.id)
        ).first()
        return list(
            accounts.ensure_demo_logins(
                conn, practice_id, current_time().replace(tzinfo=None), therapist.id if therapist else None
            )
        )


class _Moment:
    """The demo's clock: the loader moves it to each event, so the practice's history is
    recorded when it happened (visits, postings, batches, remittances), not when it loads."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def at(self, when: datetime) -> None:
        """Move to ``when`` (naive = UTC)."""
        self._now = when if when.tzinfo else when.replace(tzinfo=UTC)


def load_demo(engine: Engine, actor: str, *, today: date, seed: int = 2026) -> DemoResult:
    """Load the demo practice once (one transaction); a second call changes nothing and says so."""
    found = _existing(engine)
    if found:
        return DemoResult(found, False)
    moment = _Moment(datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=730))
    with one_transaction(engine, savepoints=False), clock.using(moment):
        return _load(engine, actor, today, random.Random(seed), moment)


@dataclass
class _Money:
    """Counters of the money part of the demo."""

    remittances: int = 0
    payments: int = 0


def _load(engine: Engine, actor: str, today: date, rng: random.Random, moment: _Moment) -> DemoResult:
    pid = practice_svc.create_practice(
        engine,
        name="Riverside Massage & Physical Therapy (demo)",
        slug=DEMO_SLUG,
        actor=actor,
        npi="1234567893",
        tax_id="123456789",
        taxonomy="225700000X",
        phone="8455550100",
        address={"line1": "12 Market St", "city": "Poughkeepsie", "state": "NY", "zip": "126013301"},
        fees={"97124": "30.00", "97140": "35.00", "97110": "42.00", "97112": "45.00"},
    )
    lic_expiry = date(today.year + 1, 10, 31)
    people = [
        ("Mei", "Chen", "1993214562", "225700000X", "LMT", "024567", "lmt"),
        ("Jonah", "Reed", "1487654323", "225700000X", "LMT", "031122", "lmt"),
        ("Alicia", "Moreno", "1366554321", "225100000X", "PT", "PT-88213", "pt"),
    ]
    therapists = [
        (
            practice_svc.add_provider(
                engine,
                pid,
                actor,
                first_name=first,
                last_name=last,
                npi=npi,
                taxonomy=taxonomy,
                credential=credential,
                licenses=[("NY", number, lic_expiry)],
            ),
            kind,
        )
        for first, last, npi, taxonomy, credential, number, kind in people
    ]
    payer_ids = [practice_svc.add_payer(engine, pid, actor, address=ADDRESS, **p) for p in PAYERS]
    for provider, kind in therapists:
        for payer_row, payer_info in zip(payer_ids, PAYERS, strict=True):
            medicare = payer_info["profile"] == "medicare"
            practice_svc.enroll_provider(
                engine,
                pid,
                actor,
                provider_id=provider,
                payer_id=payer_row,
                enrolled=kind == "pt" or not medicare,
                in_network=payer_info["profile"] != "auto_no_fault",
                effective_from=today - timedelta(days=730),
                payer_provider_id=None if medicare else f"P{rng.randint(10**5, 10**6 - 1)}",
            )
    patients: list[tuple[str, str | None]] = []
    for i in range(40):
        plan = i % 6  # 0..4 a payer, 5 cash
        covs = []
        if plan < 5:
            covs.append(
                coverages_svc.CoverageInput(
                    payer_id=payer_ids[plan],
                    member_id=f"M{rng.randint(10**8, 10**9 - 1)}",
                    active_from=today - timedelta(days=365),
                )
            )
        patient = patients_svc.register_patient(
            engine,
            pid,
            actor,
            chart_number=f"C-{1001 + i}",
            first_name=FIRST[i % len(FIRST)],
            last_name=LAST[(i * 7 + i // len(FIRST)) % len(LAST)],  # 40 different names
            birth_date=date(1940 + (i * 3) % 60, 1 + i % 12, 1 + i % 28),
            sex="F" if i % 2 == 0 else "M",
            address={"line1": f"{10 + i} River Rd", "city": "Poughkeepsie", "state": "NY", "zip": "12601"},
            phone=f"845555{1000 + i}",
            coverages_in=covs,
        )
        patients.append((patient, payer_ids[plan] if plan < 5 else None))
    _eligibility_checks(engine, pid, actor, today, [p for p, payer in patients if payer], rng)
    money = _Money()
    cash_clients = [p for p, payer in patients if payer is None]
    package_clients, gift_client = cash_clients[:2], cash_clients[2]
    _sell_prepaid(engine, pid, actor, package_clients, gift_client)
    n_appts = n_claims = n_no_shows = 0
    start_day = today - timedelta(days=91)
    for i, (patient, payer) in enumerate(patients):
        provider, kind = (
            therapists[2] if PAYERS[i % 6 if i % 6 < 5 else 2]["profile"] == "medicare" else therapists[i % 2]
        )
        day = start_day + timedelta(days=rng.randint(0, 13))
        while day < today:
            start = datetime(day.year, day.month, day.day, rng.choice([9, 10, 11, 13, 14, 15, 16]))
            # Everything of this visit is recorded and posted when it happened, not when the demo loads.
            moment.at(start + timedelta(hours=5))
            appt = _book_free_hour(engine, pid, actor, patient, provider, start)
            n_appts += 1
            roll = rng.random()
            if roll < 0.06:
                appointments.set_appointment_status(engine, pid, actor, appt, "no_show")
                n_no_shows += 1
                if n_no_shows % 2 == 1:
                    ledger.post_charge(
                        engine,
                        pid,
                        actor,
                        patient_id=patient,
                        amount=NO_SHOW_FEE,
                        charge_type=ChargeType.NO_SHOW,
                        key=f"demo-no-show:{appt}",
                    )
                    if n_no_shows % 4 == 1:
                        _pay(engine, pid, actor, patient, NO_SHOW_FEE, f"demo-no-show-paid:{appt}", money)
            elif roll < 0.1:
                appointments.set_appointment_status(engine, pid, actor, appt, "cancelled")
            else:
                appointments.check_in(engine, pid, actor, appt)
                mistake = rng.random() < 0.12
                visit = visits_svc.record_visit(
                    engine,
                    pid,
                    actor,
                    patient_id=patient,
                    provider_id=provider,
                    date_of_service=day,
                    document=visit_document(kind, rng, start, mistake, _injury_case(i, start_day)),
                    appointment_id=appt,
                )
                if payer is not None:
                    try:
                        with attempt(engine):
                            coded = claims_svc.code_visit(engine, pid, actor, visit, as_of=day)
                    except TherabillError:
                        coded = None
                    if coded is not None:
                        n_claims += 1
                        if coded.status == "scrubbed" and not coded.has_errors and (today - day).days > 21:
                            claims_svc.mark_ready(engine, pid, actor, coded.claim_id)
                else:
                    _cash_visit(engine, pid, actor, patient, visit, rng, package_clients, gift_client, money)
            day += timedelta(days=rng.choice([7, 7, 14, 21]))
    # Claims ready for more than five weeks went out in a batch; the newer ones stay ready
    # (``therabill claims export-837`` sends them).
    sent_before = today - timedelta(days=35)
    moment.at(datetime(sent_before.year, sent_before.month, sent_before.day, 17))
    old_ready = [
        c.id for c in claims_svc.list_claims(engine, pid, actor, ["ready"]) if c.date_of_service < sent_before
    ]
    if old_ready:
        batches.build_batch(engine, pid, actor, old_ready, envelope=EnvelopeSettings())
    _remittances(engine, pid, actor, today, rng, money, moment)
    # A second batch went out last week and awaits payment: ``therabill era example`` writes
    # an 835 for it, so a newcomer can post one; the newest ready claims stay ready.
    sent_lately = today - timedelta(days=5)
    moment.at(datetime(sent_lately.year, sent_lately.month, sent_lately.day, 17))
    awaiting = [
        c.id
        for c in claims_svc.list_claims(engine, pid, actor, ["ready"])
        if c.date_of_service < today - timedelta(days=28)
    ]
    if awaiting:
        batches.build_batch(engine, pid, actor, awaiting, envelope=EnvelopeSettings())
    return DemoResult(pid, True, len(patients), n_appts, n_claims, money.remittances, money.payments)


def _injury_case(index: int, start_day: date) -> dict[str, Any] | None:
    """The accident facts of a workers' comp or auto no-fault client (the case), else ``None``."""
    profile = PAYERS[index % 6]["profile"] if index % 6 < 5 else None  # as the clients were registered
    if profile not in ("workers_comp", "auto_no_fault"):
        return None
    auto = profile == "auto_no_fault"
    return {
        "employment": not auto,
        "auto_accident": auto,
        "auto_accident_state": "NY" if auto else None,
        "other_accident": False,
        "accident_date": (start_day - timedelta(days=10 + index % 20)).isoformat(),
        "property_casualty_claim_number": f"{'NF' if auto else 'WC'}2026{index:05d}",
    }


def _book_free_hour(
    engine: Engine, pid: str, actor: str, patient: str, provider: str, start: datetime
) -> str:
    """Book an hour at ``start`` (local), or the next free hour of that day: never double-book."""
    for hours_later in range(10):
        try:
            return appointments.book(
                engine,
                pid,
                actor,
                patient_id=patient,
                provider_id=provider,
                start_local=start + timedelta(hours=hours_later),
                end_local=start + timedelta(hours=hours_later, minutes=60),
            ).id
        except appointments.ScheduleError:
            continue
    raise appointments.ScheduleError("the demo day is full")


def _pay(
    engine: Engine,
    pid: str,
    actor: str,
    patient: str,
    amount: Decimal,
    key: str,
    money: _Money,
    *,
    method: PaymentMethod = PaymentMethod.CARD,
    tip: Decimal = ZERO,
) -> None:
    ledger.post_patient_payment(
        engine, pid, actor, patient_id=patient, amount=amount, method=method, key=key, tip=tip
    )
    money.payments += 1


def _eligibility_checks(
    engine: Engine, pid: str, actor: str, today: date, insured: list[str], rng: random.Random
) -> None:
    """An eligibility check on file for each insured patient's coverage (as a 271 would give)."""
    with UnitOfWork(engine, pid, actor, read_only=True) as uow:
        covs = [(c.id, c.member_id) for p in insured for c in uow.records.coverages_of(p)]
    for cov_id, member in covs:
        coverages_svc.record_eligibility_check(
            engine,
            pid,
            actor,
            coverage_id=cov_id,
            service_date=today - timedelta(days=91),
            active=True,
            source="271",
            result={
                "member_id": member,
                "active": True,
                "copay": str(rng.choice(["0.00", "20.00", "30.00"])),
                "coinsurance_percent": "20",
                "authorization_required": False,
            },
        )


def _sell_prepaid(engine: Engine, pid: str, actor: str, package_clients: list[str], gift_client: str) -> None:
    for n, patient in enumerate(package_clients, start=1):
        prepaid.sell_prepaid(
            engine,
            pid,
            actor,
            patient_id=patient,
            kind=PrepaidType.PACKAGE,
            code=f"PKG-{n:03d}",
            price=Decimal("425.00"),
            method=PaymentMethod.CARD,
            key=f"demo-package:{n}",
            sessions=5,
            description="5 massages of 60 minutes",
        )
    prepaid.sell_prepaid(
        engine,
        pid,
        actor,
        patient_id=gift_client,
        kind=PrepaidType.GIFT_CERTIFICATE,
        code="GIFT-0001",
        price=Decimal("150.00"),
        method=PaymentMethod.CASH,
        key="demo-gift:1",
        description="Gift certificate",
    )


def _cash_visit(
    engine: Engine,
    pid: str,
    actor: str,
    patient: str,
    visit: str,
    rng: random.Random,
    package_clients: list[str],
    gift_client: str,
    money: _Money,
) -> None:
    """A cash client's visit: a self-pay charge, paid by card (with a tip), package or gift."""
    posted = ledger.post_charge(
        engine,
        pid,
        actor,
        patient_id=patient,
        amount=CASH_VISIT,
        charge_type=ChargeType.SELF_PAY,
        key=f"demo-visit:{visit}",
    )
    item = posted.entry_ids[0]
    if patient in package_clients:
        try:
            n = package_clients.index(patient) + 1
            with attempt(engine):
                prepaid.redeem_prepaid(
                    engine, pid, actor, code=f"PKG-{n:03d}", item_id=item, key=f"demo-redeem:{visit}"
                )
            return
        except TherabillError:
            pass  # package used up: the client pays as usual
    if patient == gift_client:
        try:
            with attempt(engine):
                prepaid.redeem_prepaid(
                    engine, pid, actor, code="GIFT-0001", item_id=item, key=f"demo-redeem:{visit}"
                )
        except TherabillError:
            pass  # gift certificate used up
    if rng.random() < 0.85:
        tip = Decimal(rng.choice(["0.00", "10.00", "15.00", "20.00"]))
        _pay(engine, pid, actor, patient, CASH_VISIT, f"demo-pay:{visit}", money, tip=tip)


def _line_payment(line: Any, outcome: str, profile: str, denial: tuple[str, str]) -> ServicePayment:
    charge = from_cents(line.charge_cents)
    if outcome == "denied":
        adjustments: tuple[Adjustment, ...] = (Adjustment(denial[0], denial[1], charge),)
        paid = ZERO
    else:
        allowed = quantize(charge * Decimal("0.80"))
        patient_share = quantize(allowed * Decimal("0.20")) if profile.startswith("medicare") else ZERO
        if profile == "commercial":
            patient_share = min(Decimal("20.00"), allowed)
        paid = allowed - patient_share
        adj = [Adjustment("CO", "45", charge - allowed)]
        if patient_share > ZERO:
            adj.append(Adjustment("PR", "2" if profile.startswith("medicare") else "3", patient_share))
        adjustments = tuple(a for a in adj if a.amount != ZERO)
    return ServicePayment(
        code=line.code,
        qualifier="HC",
        modifiers=tuple(line.modifiers or ()),
        charge=charge,
        paid=paid,
        units=Decimal(line.units),
        service_date=line.date_of_service,
        line_id=line.line_id,
        adjustments=adjustments,
    )


def _claim_payment(claim: Any, lines: list[Any], profile: str, rng: random.Random) -> ClaimPayment:
    roll = rng.random()
    denial = DENIALS[rng.randrange(len(DENIALS))]
    outcome = "denied" if roll < 0.12 else "partly" if roll < 0.3 and len(lines) > 1 else "paid"
    paid_lines = []
    for n, line in enumerate(lines):
        line_outcome = (
            "denied" if outcome == "denied" or (outcome == "partly" and n == len(lines) - 1) else "paid"
        )
        reason = ("CO", "97") if outcome == "partly" else denial
        paid_lines.append(_line_payment(line, line_outcome, profile, reason))
    charge = sum((ln.charge for ln in paid_lines), ZERO)
    paid = sum((ln.paid for ln in paid_lines), ZERO)
    pr = sum((a.amount for ln in paid_lines for a in ln.adjustments if a.group == "PR"), ZERO)
    return ClaimPayment(
        claim_id=claim.claim_number,
        status="4" if outcome == "denied" else "1",
        charge=charge,
        paid=paid,
        patient_responsibility=pr,
        payer_claim_control_number=f"{claim.claim_number[2:]}{rng.randint(100, 999)}",
        lines=tuple(paid_lines),
    )


def _remittances(
    engine: Engine, pid: str, actor: str, today: date, rng: random.Random, money: _Money, moment: _Moment
) -> None:
    """One remittance per payer for the claims sent more than 30 days ago; patients pay some PR."""
    with UnitOfWork(engine, pid, actor, read_only=True) as uow:
        charts = {r.id: r.chart_number for r in uow.records.rows(patient_table)}
        # ids and claim numbers are random: order by what the seed decides (date, chart number)
        sent = sorted(
            uow.records.rows(
                claims,
                claims.c.status == "submitted",
                claims.c.date_of_service < today - timedelta(days=30),
            ),
            key=lambda c: (c.date_of_service, charts[c.patient_id]),
        )
        lines = {
            c.id: uow.records.rows(
                claim_lines, claim_lines.c.claim_id == c.id, order_by=[claim_lines.c.line_number]
            )
            for c in sent
        }
        payer_rows = {p.id: p for p in uow.records.rows(payers)}
    by_payer: dict[str, list[Any]] = {}
    for c in sent:
        by_payer.setdefault(c.payer_id, []).append(c)
    pay_day = today - timedelta(days=7)
    moment.at(datetime(pay_day.year, pay_day.month, pay_day.day, 18))
    ordered = sorted(by_payer.items(), key=lambda kv: payer_rows[kv[0]].payer_id or "")
    for n, (payer_row_id, its_claims) in enumerate(ordered, start=1):
        payer = payer_rows[payer_row_id]
        payments = tuple(_claim_payment(c, lines[c.id], payer.profile or "", rng) for c in its_claims)
        plb: tuple[ProviderAdjustment, ...] = ()
        if payer.profile == "commercial":
            plb = (
                ProviderAdjustment(
                    "1234567893", date(today.year, 12, 31), "L6", "INTEREST", Decimal("-1.25")
                ),
            )
        total = sum((cp.paid for cp in payments), ZERO) - sum((p.amount for p in plb), ZERO)
        header = RemittanceHeader(
            handling_code="I",
            payment_amount=total,
            credit_debit="C",
            payment_method="ACH",
            payment_date=pay_day,
            trace_number=f"DEMO{pay_day:%Y%m%d}{n:03d}",
            payer_name=payer.name,
            payer_id=payer.payer_id,
        )
        remittance_posting.post_remittance(engine, pid, actor, Remittance(header, payments, plb))
        money.remittances += 1
        for cp in payments:
            if cp.patient_responsibility > ZERO and rng.random() < 0.6:
                claim = next(c for c in its_claims if c.claim_number == cp.claim_id)
                _pay(
                    engine,
                    pid,
                    actor,
                    claim.patient_id,
                    cp.patient_responsibility,
                    f"demo-pr:{claim.id}",
                    money,
                )
