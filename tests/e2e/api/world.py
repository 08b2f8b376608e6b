"""A small world for the web and API tests: two practices, every role in each, one patient each.

Built through the records service (so every row is practice-scoped like real data) and the
accounts service. Owner and biller have TOTP enrolled with known secrets; therapist and
front desk log in with a password only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.tables import coverages
from therabill.security import totp
from therabill.service_layer import accounts
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import ledger as ledger_svc
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.claims import CodedClaim

PASSWORD = "correct horse battery staple"
START = datetime(2026, 11, 23, 9, 0, 0)
AS_OF = date(2026, 11, 23)
DOS = date(2026, 11, 20)
ROLES = ("owner", "biller", "therapist", "front_desk")


class MovableClock:
    """A clock tests move by hand (naive UTC)."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class PracticeWorld:
    """One practice's ids: users by role, a provider, a payer, a patient, a coverage."""

    practice_id: str
    provider_id: str
    payer_id: str
    patient_id: str
    coverage_id: str
    users: dict[str, str] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """Two practices A and B."""

    engine: Engine
    clock: MovableClock
    a: PracticeWorld
    b: PracticeWorld


def _practice(engine: Engine, slug: str, clock: MovableClock) -> PracticeWorld:
    actor = "test:setup"
    pid = practice_svc.create_practice(
        engine,
        name=f"Practice {slug}",
        slug=slug,
        actor=actor,
        npi="1234567893",
        tax_id="123456789",
        taxonomy="225700000X",
        phone="2175550100",
        address={"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "627011234"},
        fees={"97124": "35.00", "97140": "40.00"},
    )
    provider = practice_svc.add_provider(
        engine,
        pid,
        actor,
        first_name="Ana",
        last_name="Lopez",
        npi="1245319599",
        taxonomy="225700000X",
        credential="LMT",
        licenses=[("IL", "227.012345", date(2027, 12, 31))],
    )
    payer = practice_svc.add_payer(
        engine,
        pid,
        actor,
        name="Blue Cross Blue Shield of Illinois",
        payer_id="BCBSIL",
        profile="commercial",
        claim_filing_indicator="BL",
        address={"line1": "PO Box 805107", "city": "Chicago", "state": "IL", "zip": "606805107"},
    )
    practice_svc.enroll_provider(
        engine, pid, actor, provider_id=provider, payer_id=payer, enrolled=True, in_network=True
    )
    patient = patients_svc.register_patient(
        engine,
        pid,
        actor,
        chart_number=f"{slug}-0042",
        first_name="Jane",
        last_name=f"Doe{slug.upper()}",
        birth_date=date(1980, 4, 2),
        sex="F",
        address={"line1": "9 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"},
        coverages_in=[
            coverages_svc.CoverageInput(
                payer_id=payer,
                member_id="XOJ123456789",
                group_number="GRP-7781",
                plan_name="PPO Choice",
                active_from=date(2026, 1, 1),
            )
        ],
    )
    from therabill.adapters.db.tables import coverages
    from therabill.service_layer.uow import UnitOfWork

    with UnitOfWork(engine, pid, actor, read_only=True) as uow:
        coverage = uow.records.rows(coverages, coverages.c.patient_id == patient)[0].id
    world = PracticeWorld(pid, provider, payer, patient, coverage)
    with engine.begin() as conn:
        for role in ROLES:
            username = f"{role}-{slug}"
            secret = totp.new_secret() if role in ("owner", "biller") else None
            world.users[role] = accounts.create_user(
                conn,
                username=username,
                display_name=f"{role.title()} {slug.upper()}",
                password=PASSWORD,
                practice_id=pid,
                role=role,
                now=clock(),
                totp_secret=secret,
                provider_id=provider if role == "therapist" else None,
            )
            world.usernames[role] = username
            if secret:
                world.secrets[role] = secret
    return world


def own_client(world: World, which: str, chart_number: str, first: str, last: str) -> tuple[str, str]:
    """A client of practice ``which`` ("a" or "b") of one test module's own, on the plan of the
    world's client but without its authorization: the world's client is billed by many tests
    (its authorized visits get used up, its days already have claims). Made once per chart
    number; returns (patient id, coverage id)."""
    key = (which, chart_number)
    if key not in _OWN_CLIENTS:
        pw = world.a if which == "a" else world.b
        with world.engine.connect() as conn:
            cov = conn.execute(select(coverages).where(coverages.c.id == pw.coverage_id)).one()
        patient = patients_svc.register_patient(
            world.engine,
            pw.practice_id,
            "test:setup",
            chart_number=chart_number,
            first_name=first,
            last_name=last,
            birth_date=date(1980, 5, 17),
            sex="F",
            address={"line1": "1 Main St", "city": "Albany", "state": "NY", "zip": "12207"},
            coverages_in=[
                coverages_svc.CoverageInput(
                    payer_id=cov.payer_id,
                    member_id=f"{first[0]}{last[0]}123456789",
                    group_number=cov.group_number,
                    active_from=cov.active_from,
                    details=cov.details,
                )
            ],
        )
        with world.engine.connect() as conn:
            own = conn.execute(select(coverages.c.id).where(coverages.c.patient_id == patient)).scalar_one()
        _OWN_CLIENTS[key] = (patient, own)
    return _OWN_CLIENTS[key]


_OWN_CLIENTS: dict[tuple[str, str], tuple[str, str]] = {}


def ready_claim(
    world: World, day: date, document: dict[str, Any], *, client: tuple[str, str] | None = None
) -> CodedClaim:
    """A claim of practice b on ``day`` (give each test its own day): the visit documented,
    coded with no scrub error, its charges posted and marked ready. ``client``: (patient id,
    coverage id), the world's client by default."""
    pw, actor = world.b, "test:setup"
    patient, coverage = client or (pw.patient_id, pw.coverage_id)
    visit = visits_svc.record_visit(
        world.engine, pw.practice_id, actor, patient_id=patient, provider_id=pw.provider_id,
        date_of_service=day, document=document, coverage_id=coverage,
    )  # fmt: skip
    coded = claims_svc.code_visit(world.engine, pw.practice_id, actor, visit, as_of=AS_OF)
    errors = [f for f in coded.findings.get("findings", []) if f.get("severity") == "error"]
    assert not coded.has_errors, errors
    ledger_svc.post_claim_charges(world.engine, pw.practice_id, actor, coded.claim_id)
    claims_svc.mark_ready(world.engine, pw.practice_id, actor, coded.claim_id)
    return coded


def build_world(folder: Path) -> World:
    """Create the database (all migrations) and the two practices."""
    engine = make_engine(f"sqlite:///{folder / 'web.sqlite3'}")
    migrations.upgrade(engine)
    clock = MovableClock()
    return World(engine, clock, _practice(engine, "pa", clock), _practice(engine, "pb", clock))


def make_835(
    claim_number: str,
    lines: list[tuple[str, int, str, str, list[tuple[str, str, str]]]],
    *,
    trn: str,
    service_date: str = "20261120",
) -> str:
    """A small 835 paying one claim: lines of ``(code, units, charge, paid, [(group, reason, amount)])``.

    The claim-level figures are the sums of the lines, and BPR02 is the total paid, so the
    remittance balances.
    """
    from decimal import Decimal

    charge = sum(Decimal(c) for _, _, c, _, _ in lines)
    paid = sum(Decimal(p) for _, _, _, p, _ in lines)
    status = "1" if paid == charge else ("4" if paid == 0 else "1")
    segs = [
        "ISA*00*          *00*          *ZZ*BCBSIL         *ZZ*THERABILL      *261130*1200*^*00501*000000777*0*T*:",
        "GS*HP*BCBSIL*THERABILL*20261130*1200*777*X*005010X221A1",
        "ST*835*0001",
        f"BPR*I*{paid:.2f}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20261130",
        f"TRN*1*{trn}*1512345678",
        "DTM*405*20261128",
        "N1*PR*BLUE CROSS BLUE SHIELD OF ILLINOIS",
        "N3*PO BOX 805107",
        "N4*CHICAGO*IL*606805107",
        "PER*BL*PROVIDER SERVICES*TE*8005551212",
        "N1*PE*PRACTICE PA*XX*1234567893",
        "REF*TJ*123456789",
        "LX*1",
        f"CLP*{claim_number}*{status}*{charge:.2f}*{paid:.2f}**12*PAYERICN{trn}*11*1",
        "NM1*QC*1*DOE*JANE****MI*XOJ123456789",
        "DTM*050*20261124",
    ]
    for code, units, line_charge, line_paid, cas in lines:
        segs.append(f"SVC*HC:{code}*{line_charge}*{line_paid}**{units}")
        segs.append(f"DTM*472*{service_date}")
        segs += [f"CAS*{g}*{r}*{a}" for g, r, a in cas]
    n = len(segs) - 2 + 1
    segs += [f"SE*{n}*0001", "GE*1*777", "IEA*1*000000777"]
    return "~\n".join(segs) + "~\n"
