"""Coordination of benefits: an earlier payer's adjudication, as the next payer's claim carries it.

When a payer's remittance posts and the patient has a next coverage for the date of service,
the next payer is billed with what the earlier one did: its payment and claim-level
adjustments (2320 CAS, AMT*D), the remaining patient liability (AMT*EAF), and each line's
payment and adjustments (2430 SVD, CAS, DTP*573). ``adjudication_of`` makes that record from
a ``ClaimPayment``; ``cob_problems`` says whether claim and lines tell one balanced story;
``document_with_adjudications`` puts it into the claim's encounter document (its 837P
input). All pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from therabill.domain.ledger import allocate
from therabill.domain.money import ZERO
from therabill.domain.posting import PATIENT_GROUP, LineRef, match_lines
from therabill.domain.remittance import ClaimPayment

__all__ = [
    "NEXT_SEQUENCE",
    "LineAdjudication",
    "PayerAdjudication",
    "adjudication_of",
    "cob_problems",
    "document_with_adjudications",
]

NEXT_SEQUENCE = {"primary": "secondary", "secondary": "tertiary"}
"""The coverage billed after a payer of each sequence."""

Cas = tuple[tuple[str, str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """How one payer adjudicated one of our claim lines (2430).

    Attributes:
        line_number: our line number on the claim (LX).
        service_index: the service of the encounter the line bills.
        charge: our line charge.
        paid: what the payer paid on the line (SVD02).
        adjustments: the line's CAS as (group, reason, amount).
        remarks: the line's remark codes (RARC).
    """

    line_number: int
    service_index: int
    charge: Decimal
    paid: Decimal
    adjustments: Cas = ()
    remarks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PayerAdjudication:
    """How one payer adjudicated a claim, as the next payer's claim carries it (2320/2330B/2430).

    Attributes:
        payer_identifier: the payer's electronic id (the encounter coverage's ``payer_id``).
        payer_name: the payer's name.
        sequence: the payer's place for the patient (``primary``, ``secondary``).
        charge: the claim charge.
        paid: what the payer paid (AMT*D).
        adjudication_date: the remittance date (DTP*573).
        payer_claim_control_number: the payer's claim number (CLP07, REF*F8 in 2330B).
        adjustments: claim-level CAS as (group, reason, amount).
        lines: each line's adjudication.
        remaining_patient_liability: what the patient still owes after this payer (AMT*EAF).
    """

    payer_identifier: str
    payer_name: str
    sequence: str
    charge: Decimal
    paid: Decimal
    adjudication_date: date | None
    payer_claim_control_number: str | None
    adjustments: Cas
    lines: tuple[LineAdjudication, ...]
    remaining_patient_liability: Decimal

    def as_json(self) -> dict[str, Any]:
        """The record as stored (``claims.cob``): amounts as strings, dates ISO."""
        return {
            "payer_identifier": self.payer_identifier,
            "payer_name": self.payer_name,
            "sequence": self.sequence,
            "charge": str(self.charge),
            "paid": str(self.paid),
            "adjudication_date": self.adjudication_date.isoformat() if self.adjudication_date else None,
            "payer_claim_control_number": self.payer_claim_control_number,
            "adjustments": [[g, r, str(a)] for g, r, a in self.adjustments],
            "remaining_patient_liability": str(self.remaining_patient_liability),
            "lines": [
                {
                    "line_number": ln.line_number,
                    "service_index": ln.service_index,
                    "charge": str(ln.charge),
                    "paid": str(ln.paid),
                    "adjustments": [[g, r, str(a)] for g, r, a in ln.adjustments],
                    "remarks": list(ln.remarks),
                }
                for ln in self.lines
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PayerAdjudication:
        """The record from its stored form (``as_json``)."""

        def cas(items: Sequence[Sequence[str]]) -> Cas:
            return tuple((str(g), str(r), Decimal(str(a))) for g, r, a in items)

        when = data.get("adjudication_date")
        return cls(
            payer_identifier=str(data["payer_identifier"]),
            payer_name=str(data["payer_name"]),
            sequence=str(data["sequence"]),
            charge=Decimal(str(data["charge"])),
            paid=Decimal(str(data["paid"])),
            adjudication_date=date.fromisoformat(when) if when else None,
            payer_claim_control_number=data.get("payer_claim_control_number"),
            adjustments=cas(data.get("adjustments", ())),
            remaining_patient_liability=Decimal(str(data["remaining_patient_liability"])),
            lines=tuple(
                LineAdjudication(
                    line_number=int(ln["line_number"]),
                    service_index=int(ln["service_index"]),
                    charge=Decimal(str(ln["charge"])),
                    paid=Decimal(str(ln["paid"])),
                    adjustments=cas(ln.get("adjustments", ())),
                    remarks=tuple(ln.get("remarks", ())),
                )
                for ln in data.get("lines", ())
            ),
        )


def _cas(adjustments: Sequence[Any]) -> Cas:
    return tuple((a.group, a.reason, a.amount) for a in adjustments if a.amount != ZERO)


def adjudication_of(
    cp: ClaimPayment,
    lines: Sequence[tuple[int, int, LineRef]],
    *,
    payer_identifier: str,
    payer_name: str,
    sequence: str,
    adjudication_date: date | None,
) -> PayerAdjudication | None:
    """The adjudication of our claim in ``cp``; ``None`` when a remittance line matches none of ours.

    Args:
        cp: the payer's claim payment.
        lines: our claim's lines as (line number, service index, ``LineRef``).
        payer_identifier: the payer's electronic id.
        payer_name: the payer's name.
        sequence: the payer's place for the patient.
        adjudication_date: the remittance's payment date.

    A remittance without service lines is split across our lines in proportion to their
    charges (largest remainder), so each line still carries its 2430.
    """
    refs = [ref for _, _, ref in lines]
    per_line: dict[str, tuple[Decimal, list[tuple[str, str, Decimal]], tuple[str, ...]]] = {
        ref.claim_line_id: (ZERO, [], ()) for ref in refs
    }
    claim_cas: Cas
    if cp.lines:
        matched, unmatched = match_lines(cp.lines, refs)
        if unmatched:
            return None
        for i, ref in matched.items():
            sp = cp.lines[i]
            paid, adj, remarks = per_line[ref.claim_line_id]
            per_line[ref.claim_line_id] = (
                paid + sp.paid,
                adj + list(_cas(sp.adjustments)),
                remarks + sp.remarks,
            )
        claim_cas = _cas(cp.adjustments)
    else:
        if not refs:
            return None
        weights = [ref.charge if ref.charge > ZERO else Decimal(1) for ref in refs]
        for ref, part in zip(refs, allocate(cp.paid, weights), strict=True):
            per_line[ref.claim_line_id] = (part, [], ())
        for a in cp.adjustments:
            for ref, part in zip(refs, allocate(a.amount, weights), strict=True):
                if part != ZERO:
                    per_line[ref.claim_line_id][1].append((a.group, a.reason, part))
        claim_cas = ()
    out_lines = tuple(
        LineAdjudication(
            line_number=number,
            service_index=index,
            charge=ref.charge,
            paid=per_line[ref.claim_line_id][0],
            adjustments=tuple(per_line[ref.claim_line_id][1]),
            remarks=per_line[ref.claim_line_id][2],
        )
        for number, index, ref in lines
    )
    liability = sum((a.amount for a in cp.all_adjustments if a.group == PATIENT_GROUP), ZERO)
    return PayerAdjudication(
        payer_identifier=payer_identifier,
        payer_name=payer_name,
        sequence=sequence,
        charge=sum((ref.charge for ref in refs), ZERO),
        paid=cp.paid,
        adjudication_date=adjudication_date,
        payer_claim_control_number=cp.payer_claim_control_number,
        adjustments=claim_cas,
        lines=out_lines,
        remaining_patient_liability=liability,
    )


def cob_problems(adj: PayerAdjudication) -> list[str]:
    """Why the adjudication cannot go on a claim as it is (empty: claim and lines balance).

    Each line: charge − its adjustments = its payment. The claim: the lines' payments less
    the claim-level adjustments = the claim's payment (AMT*D), and charge − payment = claim
    plus line adjustments (each dollar adjusted once, at the claim or at a line).
    """
    out: list[str] = []
    for ln in adj.lines:
        adjusted = sum((a for _, _, a in ln.adjustments), ZERO)
        if ln.charge - adjusted != ln.paid:
            out.append(
                f"line {ln.line_number}: charge {ln.charge} - adjustments {adjusted} != paid {ln.paid}"
            )
    line_paid = sum((ln.paid for ln in adj.lines), ZERO)
    claim_adj = sum((a for _, _, a in adj.adjustments), ZERO)
    line_adj = sum((a for ln in adj.lines for _, _, a in ln.adjustments), ZERO)
    if line_paid - claim_adj != adj.paid:
        out.append(f"lines paid {line_paid} - claim adjustments {claim_adj} != paid {adj.paid}")
    if adj.charge - adj.paid != claim_adj + line_adj:
        out.append(
            f"charge {adj.charge} - paid {adj.paid} != claim adjustments {claim_adj} + line adjustments {line_adj}"
        )
    return out


def _claim_level(adj: PayerAdjudication) -> Cas:
    """All of a payer's adjustments at claim level (2320 CAS), by group and reason.

    Only the first payer's lines go into 2430 (its SVD); a later payer's line adjustments
    are told at claim level so its 2320 still explains charge − AMT*D.
    """
    totals: dict[tuple[str, str], Decimal] = {}
    for g, r, a in (*adj.adjustments, *(x for ln in adj.lines for x in ln.adjustments)):
        totals[(g, r)] = totals.get((g, r), ZERO) + a
    return tuple((g, r, a) for (g, r), a in totals.items() if a != ZERO)


def _cas_doc(items: Cas) -> list[dict[str, str]]:
    return [{"group": g, "reason": r, "amount": str(a)} for g, r, a in items]


def document_with_adjudications(
    document: Mapping[str, Any], adjudications: Sequence[PayerAdjudication]
) -> dict[str, Any]:
    """The encounter document of a secondary or tertiary claim: each earlier payer's adjudication on its coverage.

    Each entry of ``other_coverages`` whose payer adjudicated the claim gets its
    ``prior_payment`` (2320 CAS, AMT*D, AMT*EAF; 2330B DTP*573 and REF*F8); the services get
    the line adjudications of the earliest payer (2430), the one the 837P's SVD names. A
    later payer's line adjustments are told at claim level. Returns a new document.
    """
    doc = dict(document)
    if not adjudications:
        return doc
    first = next((a for a in adjudications if a.sequence == "primary"), adjudications[0])
    by_payer = {a.payer_identifier: a for a in adjudications}
    others: list[Any] = []
    for cov in doc.get("other_coverages") or ():
        a = by_payer.get(str(cov.get("payer_id") or "")) if isinstance(cov, Mapping) else None
        if a is None:
            others.append(cov)
            continue
        others.append(
            {
                **cov,
                "prior_payment": {
                    "paid_amount": str(a.paid),
                    "adjudication_date": a.adjudication_date.isoformat() if a.adjudication_date else None,
                    "adjustments": _cas_doc(a.adjustments if a is first else _claim_level(a)),
                    "payer_claim_control_number": a.payer_claim_control_number,
                    "remaining_patient_liability": str(a.remaining_patient_liability),
                },
            }
        )
    doc["other_coverages"] = others
    line_of = {ln.service_index: ln for ln in first.lines}
    services = doc.get("services")
    if not isinstance(services, list):  # not a document the parser accepts: it will say why
        return doc
    doc["services"] = [
        {
            **svc,
            "prior_payment": {
                "paid_amount": str(line_of[i].paid),
                "adjudication_date": first.adjudication_date.isoformat() if first.adjudication_date else None,
                "adjustments": _cas_doc(line_of[i].adjustments),
            },
        }
        if i in line_of and isinstance(svc, Mapping)
        else svc
        for i, svc in enumerate(services)
    ]
    return doc
