"""Any sequence of 835s from several payers keeps the books whole (both engines, stored records).

Payments, denials, crossovers, reversals and strangers' payments arrive in any order, from
the primary, the secondary, a payer on file that is not on the claim, and one not on file.
After every one: Σ(payer balances) + patient balance = charges − payments − adjustments,
and a payer whose balance on a line is below zero has a ``payer-overpaid`` item to refund.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR
from tests.integration.ledger.scenario import AETNA, SPOUSE, a_world
from therabill.domain.ledger import payer_balances
from therabill.service_layer import ledger, remittances

STRANGER = ("Cigna", "62308")  # not on file

_cents = st.integers(min_value=0, max_value=12000)


@st.composite
def _clp(draw: st.DrawFn) -> dict[str, object]:
    sender = draw(st.sampled_from([AETNA, SPOUSE, STRANGER]))
    status = draw(st.sampled_from(["1", "2", "4", "19", "22"]))
    paid = draw(_cents)
    pr = draw(st.integers(min_value=0, max_value=12000 - paid))
    co = 12000 - paid - pr
    use_23 = sender == SPOUSE and draw(st.booleans())
    return {"sender": sender, "status": status, "paid": paid, "pr": pr, "co": co, "oa23": use_23}


def _money(cents: int) -> str:
    return str(Decimal(cents) / 100)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_clp(), min_size=1, max_size=6))
def test_any_postings_keep_the_books_whole(engine: Engine, steps: list[dict[str, object]]) -> None:
    w = a_world(engine)
    for n, step in enumerate(steps):
        sign = -1 if step["status"] == "22" else 1
        co, pr, paid = (int(step[k]) * sign for k in ("co", "pr", "paid"))  # type: ignore[call-overload]
        cas: list[tuple[str, str, str]] = []
        if step["oa23"] and co:
            cas.append(("OA", "23", _money(co)))
        elif co:
            cas.append(("CO", "45", _money(co)))
        if pr:
            cas.append(("PR", "1", _money(pr)))
        secondary = [
            c for c in w.claims_of_visit() if c.primary_claim_id == w.claim_id and c.status != "voided"
        ]
        number = secondary[-1].claim_number if step["sender"] == SPOUSE and secondary else None
        w.post(
            sender=step["sender"],  # type: ignore[arg-type]
            trace=f"T{n}",
            status=str(step["status"]),
            paid=_money(paid),
            cas=tuple(cas),
            number=number,
        )
        b = ledger.balances(w.engine, w.p.id, ACTOR, claim_id=w.claim_id)
        fig = {k: Decimal(v) for k, v in b["balance"].items()}
        owed_by_payers = sum((Decimal(v) for v in b["payers"].values()), Decimal("0.00"))
        assert owed_by_payers == fig["insurance_balance"]
        assert owed_by_payers + fig["patient_balance"] == (
            fig["charges"] - fig["insurance_payments"] - fig["patient_payments"] - fig["adjustments"]
        )
        assert b["holds"]
        entries = [e for e in ledger.all_entries(w.engine, w.p.id, ACTOR) if e.claim_id == w.claim_id]
        negative = {
            (item, payer)
            for item in {e.item_id for e in entries}
            for payer, value in payer_balances(e for e in entries if e.item_id == item).items()
            if value < 0
        }
        listed = {
            (i["line"], "x")
            for i in remittances.worklist(w.engine, w.p.id, ACTOR)
            if i["kind"] == "payer-overpaid"
        }
        for item, _payer in negative:
            assert (item, "x") in listed, f"payer balance below zero on {item} without a worklist item"
    assert ledger.check_ledger(w.engine, w.p.id, ACTOR) == []


def test_the_property_sees_an_overpayment(engine: Engine, tmp_path: Path) -> None:
    """The check above can fail: a payer paying more than it owes leaves a negative balance, listed."""
    w = a_world(engine)
    w.post(
        sender=AETNA, trace="O1", status="1", paid="70.00", cas=(("CO", "45", "20.00"), ("PR", "2", "30.00"))
    )
    claims = w.claims_of_visit()
    over = w.post(
        sender=SPOUSE, trace="O2", status="2", paid="120.00", cas=(), number=claims[-1].claim_number
    )
    assert [(x.kind, x.action, x.amount) for x in over.worklist if x.kind == "payer-overpaid"] == [
        ("payer-overpaid", "refund", Decimal("90.00"))
    ]
    assert w.payer_balances() == {"Spouse Plan": Decimal("-90.00")}
    assert w.clean(tmp_path)
