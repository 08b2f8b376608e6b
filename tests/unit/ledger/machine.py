"""A hypothesis state machine of the ledger, shared by the domain and the DB tests.

The machine keeps its own model (integer cents per item and per payer, updated by each
rule's own arithmetic) and checks after every step that the balances derived from the
posted entries equal the model and that the account equation holds for every item.
A backend posts entries: the pure ``Ledger`` here, the database service in the
integration tier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Protocol

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from therabill.domain.ledger import (
    Bucket,
    ChargeType,
    Entry,
    EntryKind,
    Ledger,
    balances_by,
    new_id,
    payer_balances,
    reversal_of,
    transfer,
)
from therabill.domain.money import from_cents

PATIENTS = ("pt-a", "pt-b")
PAYERS = ("P1", "P2")
FIELDS = (
    "charges",
    "insurance_payments",
    "patient_payments",
    "adjustments",
    "insurance_balance",
    "patient_balance",
)
cents = st.integers(min_value=1, max_value=50_000)


class Backend(Protocol):
    """Where the machine posts."""

    def post(self, entries: Sequence[Entry], key: str) -> None: ...

    def entries(self) -> list[Entry]: ...

    def patient(self, name: str) -> str: ...

    def payer(self, name: str) -> str: ...

    def claim_line(self, patient_id: str, payer_id: str, amount_cents: int) -> tuple[str, str]: ...


class DomainBackend:
    """The pure ledger."""

    def __init__(self) -> None:
        self.ledger = Ledger()

    def post(self, entries: Sequence[Entry], key: str) -> None:
        self.ledger = self.ledger.post(entries, key)

    def entries(self) -> list[Entry]:
        return list(self.ledger.entries)

    def patient(self, name: str) -> str:
        return name

    def payer(self, name: str) -> str:
        return name

    def claim_line(self, patient_id: str, payer_id: str, amount_cents: int) -> tuple[str, str]:
        return "C-" + new_id(), new_id()


class LedgerMachine(RuleBasedStateMachine):
    """Random charges, payments, adjustments, transfers, refunds, reversals, duplicates."""

    def make_backend(self) -> Backend:
        return DomainBackend()

    def __init__(self) -> None:
        super().__init__()
        self.backend = self.make_backend()
        self.items: list[tuple[str, str, bool]] = []  # (item id, patient id, insured)
        self.claim_of: dict[str, str] = {}
        self.pt = {name: self.backend.patient(name) for name in PATIENTS}
        self.py = {name: self.backend.payer(name) for name in PAYERS}
        self.model: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
        self.payers: dict[str, int] = defaultdict(int)
        self.deltas: dict[str, list[tuple[str, str, int]]] = {}
        self.batches: list[tuple[str, list[Entry]]] = []
        self.reversed: set[str] = set()
        self.count = 0

    # --- helpers -------------------------------------------------------------------
    def _post(self, entries: list[Entry], deltas: list[list[tuple[str, str, int]]]) -> None:
        key = new_id()
        self.backend.post(entries, key)
        self.batches.append((key, entries))
        self.count += len(entries)
        for e, d in zip(entries, deltas, strict=True):
            self.deltas[e.entry_id] = d
            self._apply(d, 1)

    def _apply(self, deltas: list[tuple[str, str, int]], sign: int) -> None:
        for target, name, amount in deltas:
            if target.startswith("payer:"):
                self.payers[target[6:]] += sign * amount
            else:
                self.model[target][name] += sign * amount

    def _entry(
        self, kind: EntryKind, bucket: Bucket, amount: int, item: str, patient: str, **kw: str
    ) -> Entry:
        claim = self.claim_of.get(item)
        return Entry(
            entry_id=new_id(),
            kind=kind,
            bucket=bucket,
            amount=from_cents(amount),
            patient_id=patient,
            item_id=item,
            claim_id=claim,
            claim_line_id=item if claim else None,
            **kw,
        )

    # --- rules ---------------------------------------------------------------------
    @rule(patient=st.sampled_from(PATIENTS), insured=st.booleans(), amount=cents)
    def charge(self, patient: str, insured: bool, amount: int) -> None:
        patient = self.pt[patient]
        if insured:
            claim, item = self.backend.claim_line(patient, self.py["P1"], amount)
            self.claim_of[item] = claim
        else:
            item = new_id()
        self.items.append((item, patient, insured))
        bucket = Bucket.INSURANCE if insured else Bucket.PATIENT
        e = self._entry(
            EntryKind.CHARGE,
            bucket,
            amount,
            item,
            patient,
            payer_id=self.py["P1"] if insured else None,  # type: ignore[arg-type]
            detail=ChargeType.CLAIM_LINE if insured else ChargeType.NO_SHOW,
        )
        bal = "insurance_balance" if insured else "patient_balance"
        d = [(item, "charges", amount), (item, bal, amount)]
        if insured:
            d.append((f"payer:{self.py['P1']}", "", amount))
        self._post([e], [d])

    @precondition(lambda self: any(ins for _, _, ins in self.items))
    @rule(data=st.data(), amount=cents, payer=st.sampled_from(PAYERS))
    def insurance_payment(self, data: st.DataObject, amount: int, payer: str) -> None:
        item, patient, _ = data.draw(st.sampled_from([i for i in self.items if i[2]]))
        payer = self.py[payer]
        e = self._entry(EntryKind.INSURANCE_PAYMENT, Bucket.INSURANCE, amount, item, patient, payer_id=payer)
        d = [
            (item, "insurance_payments", amount),
            (item, "insurance_balance", -amount),
            (f"payer:{payer}", "", -amount),
        ]
        self._post([e], [d])

    @precondition(lambda self: any(ins for _, _, ins in self.items))
    @rule(data=st.data(), amount=cents, group=st.sampled_from(["CO", "OA", "PI"]), negative=st.booleans())
    def adjustment(self, data: st.DataObject, amount: int, group: str, negative: bool) -> None:
        item, patient, _ = data.draw(st.sampled_from([i for i in self.items if i[2]]))
        amount = -amount if negative else amount
        e = self._entry(
            EntryKind.ADJUSTMENT,
            Bucket.INSURANCE,
            amount,
            item,
            patient,
            payer_id=self.py["P1"],
            group_code=group,
            reason_code="45",
        )
        d = [
            (item, "adjustments", amount),
            (item, "insurance_balance", -amount),
            (f"payer:{self.py['P1']}", "", -amount),
        ]
        self._post([e], [d])

    @precondition(lambda self: any(ins for _, _, ins in self.items))
    @rule(data=st.data(), amount=cents, to_patient=st.booleans())
    def transfer_responsibility(self, data: st.DataObject, amount: int, to_patient: bool) -> None:
        item, patient, _ = data.draw(st.sampled_from([i for i in self.items if i[2]]))
        legs = transfer(
            from_cents(amount),
            patient_id=patient,
            item_id=item,
            claim_id=self.claim_of[item],
            from_bucket=Bucket.INSURANCE,
            from_payer=self.py["P1"],
            to_bucket=Bucket.PATIENT if to_patient else Bucket.INSURANCE,
            to_payer=None if to_patient else self.py["P2"],
            group_code="PR" if to_patient else None,
            reason_code="2" if to_patient else None,
        )
        out = [(item, "insurance_balance", -amount), (f"payer:{self.py['P1']}", "", -amount)]
        if to_patient:
            into = [(item, "patient_balance", amount)]
        else:
            into = [(item, "insurance_balance", amount), (f"payer:{self.py['P2']}", "", amount)]
        self._post(list(legs), [out, into])

    @precondition(lambda self: bool(self.items))
    @rule(data=st.data(), amount=cents, method=st.sampled_from(["cash", "card", "hsa", "fsa"]))
    def patient_payment(self, data: st.DataObject, amount: int, method: str) -> None:
        item, patient, _ = data.draw(st.sampled_from(self.items))
        e = self._entry(EntryKind.PATIENT_PAYMENT, Bucket.PATIENT, amount, item, patient, detail=method)
        self._post([e], [[(item, "patient_payments", amount), (item, "patient_balance", -amount)]])

    @rule(patient=st.sampled_from(PATIENTS), amount=cents)
    def unapplied_payment(self, patient: str, amount: int) -> None:
        patient = self.pt[patient]
        e = Entry(
            new_id(), EntryKind.PATIENT_PAYMENT, Bucket.PATIENT, from_cents(amount), patient, detail="cash"
        )
        key = "unapplied:" + patient
        self._post([e], [[(key, "patient_payments", amount), (key, "patient_balance", -amount)]])

    @precondition(lambda self: bool(self.items))
    @rule(data=st.data(), amount=cents)
    def refund(self, data: st.DataObject, amount: int) -> None:
        item, patient, _ = data.draw(st.sampled_from(self.items))
        e = self._entry(EntryKind.REFUND, Bucket.PATIENT, amount, item, patient, detail="card")
        self._post([e], [[(item, "patient_payments", -amount), (item, "patient_balance", amount)]])

    @precondition(lambda self: any(b[1][0].kind is not EntryKind.CHARGE for b in self.batches))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        candidates = [
            b
            for b in self.batches
            if b[1][0].kind is not EntryKind.CHARGE
            and not b[1][0].is_reversal
            and b[1][0].entry_id not in self.reversed
        ]
        if not candidates:
            return
        _, originals = data.draw(st.sampled_from(candidates))
        journal = new_id() if originals[0].journal_id else None
        revs = [reversal_of(o, journal_id=journal) for o in originals]
        self.reversed.update(o.entry_id for o in originals)
        self._post(revs, [[(t, n, -a) for t, n, a in self.deltas[o.entry_id]] for o in originals])

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data())
    def duplicate_posting(self, data: st.DataObject) -> None:
        key, entries = data.draw(st.sampled_from(self.batches))
        # same key, new entry ids: a re-sent posting must change nothing
        resent = [replace(e, entry_id=new_id()) for e in entries]
        self.backend.post(resent, key)

    # --- invariants ----------------------------------------------------------------
    @invariant()
    def balances_match_the_model_and_the_equation_holds(self) -> None:
        entries = self.backend.entries()
        assert len(entries) == self.count
        derived = balances_by(entries, lambda e: e.item_id or ("unapplied:" + e.patient_id))
        for item, figures in self.model.items():
            bal = derived[item]
            assert bal.holds(), (item, bal)
            for name in FIELDS:
                assert getattr(bal, name) == from_cents(figures[name]), (item, name, bal)
        assert set(derived) == set(self.model)
        payers = payer_balances(entries)
        for payer, amount in self.payers.items():
            assert payers.get(payer, Decimal("0.00")) == from_cents(amount)
        by_patient = balances_by(entries, lambda e: e.patient_id)
        for bal in by_patient.values():
            assert bal.holds()
