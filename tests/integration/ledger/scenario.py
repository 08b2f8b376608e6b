"""A practice with a commercial primary (Aetna) and a spouse's plan as secondary, for the
posting-by-payer scenarios: one 60-minute massage (97124 x4 = 120.00) billed to Aetna."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, AS_OF, Practice, a_practice, a_visit, clean_scrubber
from therabill.adapters.db.tables import claims
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance, RemittanceHeader, ServicePayment
from therabill.service_layer import batches, database, ledger, remittance_posting, remittances
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer.remittance_posting import RemittanceResult
from therabill.service_layer.uow import UnitOfWork

PRIMARY_ID = "60054"
SECONDARY_ID = "SPS01"
PAID_ON = date(2026, 12, 10)

Cas = tuple[tuple[str, str, str], ...]


@dataclass
class World:
    p: Practice
    secondary_payer: str
    claim_id: str
    claim_number: str
    patient_id: str

    @property
    def engine(self) -> Engine:
        return self.p.engine

    # --- what a biller reads ---------------------------------------------------------------

    def payer_balances(self) -> dict[str, Decimal]:
        raw = ledger.balances(self.engine, self.p.id, ACTOR, claim_id=self.claim_id)["payers"]
        names = {self.p.payer_id: "Aetna", self.secondary_payer: "Spouse Plan"}
        return {names.get(k, k): Decimal(v) for k, v in raw.items() if Decimal(v) != 0}

    def patient(self) -> dict[str, Decimal]:
        b = ledger.balances(self.engine, self.p.id, ACTOR, patient_id=self.patient_id)["balance"]
        return {k: Decimal(v) for k, v in b.items()}

    def status(self, claim_id: str | None = None) -> str:
        with UnitOfWork(self.engine, self.p.id, ACTOR, read_only=True) as uow:
            return str(uow.records.get(claims, claim_id or self.claim_id).status)

    def claims_of_visit(self) -> list[Any]:
        with UnitOfWork(self.engine, self.p.id, ACTOR, read_only=True) as uow:
            first = uow.records.get(claims, self.claim_id)
            return list(
                uow.records.rows(claims, claims.c.visit_id == first.visit_id, order_by=[claims.c.created_at])
            )

    def claim(self, number: str) -> Any:
        with UnitOfWork(self.engine, self.p.id, ACTOR, read_only=True) as uow:
            return uow.records.claim_by_number(number)

    def clean(self, folder: Path) -> bool:
        """``db check`` is clean and the ledger's own check finds nothing."""
        return (
            database.check(self.engine, folder).ok
            and ledger.check_ledger(self.engine, self.p.id, ACTOR) == []
        )

    def open_work(self) -> list[dict[str, Any]]:
        return remittances.worklist(self.engine, self.p.id, ACTOR)

    # --- what arrives ----------------------------------------------------------------------

    def post(
        self,
        *,
        sender: tuple[str, str],
        trace: str,
        status: str,
        paid: str,
        cas: Cas,
        number: str | None = None,
        crossover_to: str | None = None,
        clp05: str | None = None,
        remarks: tuple[str, ...] = (),
    ) -> RemittanceResult:
        """Post one 835 from ``sender`` (name, id) with one CLP for a one-line claim."""
        sign = Decimal(-1) if status == "22" else Decimal(1)
        charge = Decimal("120.00") * sign
        adjustments = tuple(Adjustment(g, r, Decimal(a)) for g, r, a in cas)
        line = ServicePayment(
            "97124",
            "HC",
            (),
            charge,
            Decimal(paid),
            units=Decimal(4),
            service_date=date(2026, 11, 20),
            line_id=self.line_id(number or self.claim_number),
            adjustments=adjustments,
            remarks=remarks,
        )
        pr = sum((a.amount for a in adjustments if a.group == "PR"), Decimal("0.00"))
        cp = ClaimPayment(
            claim_id=number or self.claim_number,
            status=status,
            charge=charge,
            paid=Decimal(paid),
            patient_responsibility=Decimal(clp05) if clp05 is not None else pr,
            payer_claim_control_number=f"PCN-{trace}",
            crossover_payer=crossover_to,
            lines=(line,),
        )
        header = RemittanceHeader(
            "I", Decimal(paid), "C", "ACH", PAID_ON, trace, payer_name=sender[0], payer_id=sender[1]
        )
        return remittance_posting.post_remittance(self.engine, self.p.id, ACTOR, Remittance(header, (cp,)))

    def line_id(self, number: str) -> str:
        row = self.claim(number)
        with UnitOfWork(self.engine, self.p.id, ACTOR, read_only=True) as uow:
            return str(uow.records.lines_of(row.id)[0].line_id)

    def send(self, claim_id: str) -> batches.Batch:
        claims_svc.mark_ready(self.engine, self.p.id, ACTOR, claim_id)
        return batches.build_batch(self.engine, self.p.id, ACTOR, [claim_id], envelope=EnvelopeSettings())


AETNA = ("Aetna", PRIMARY_ID)
SPOUSE = ("Spouse Plan", SECONDARY_ID)


def a_world(engine: Engine) -> World:
    """The practice, the secondary coverage, and the primary claim sent to Aetna."""
    p = a_practice(engine)
    spouse = practice_svc.add_payer(
        engine,
        p.id,
        ACTOR,
        name="Spouse Plan",
        payer_id=SECONDARY_ID,
        profile="commercial",
        claim_filing_indicator="CI",
        address={"line1": "PO Box 5000", "city": "Albany", "state": "NY", "zip": "122050000"},
    )
    coverages_svc.add_coverage(
        engine,
        p.id,
        ACTOR,
        p.patient_id,
        coverages_svc.CoverageInput(
            payer_id=spouse, sequence="secondary", member_id="SP998877", group_number="SG-7"
        ),
    )
    coded = claims_svc.code_visit(engine, p.id, ACTOR, a_visit(p), as_of=AS_OF, scrubber=clean_scrubber)
    w = World(p, spouse, coded.claim_id, coded.claim_number, p.patient_id)
    w.send(coded.claim_id)
    return w
