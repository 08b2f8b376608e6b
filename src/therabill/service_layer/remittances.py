"""Remittances: ONE way to post an 835, ONE result shape, for the web, the API, the CLI and fetch.

``post_835`` reads the file (every transaction in it) and posts each remittance with
``ledger.post_remittance``: exactly once, claim by claim, each claim's status moved in the
claim's own transaction. ``PostedRemittance.as_dict`` is the one public shape of what
posting did; every surface shows it (the web in words, the API and ``--json`` as is).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.domain.remittance import Remittance
from therabill.service_layer import ledger
from therabill.service_layer.ledger import RemittanceResult

__all__ = ["PostedRemittance", "post_835"]


@dataclass(frozen=True, slots=True)
class PostedRemittance:
    """What posting one 835 transaction did.

    Attributes:
        trace_number: TRN02 (the check or EFT number).
        payer: the payer as the 835 names it (N1*PR name, else its id).
        payment: BPR02, the money of the transaction.
        result: the ledger's account of the posting.
    """

    trace_number: str | None
    payer: str | None
    payment: Decimal
    result: RemittanceResult

    @property
    def new(self) -> bool:
        """False when the remittance was already on file (nothing was posted twice)."""
        return self.result.new

    @property
    def matched_claims(self) -> int:
        """Claims of ours that the 835 paid, adjusted or denied, posted now."""
        return self.result.matched_claims

    @property
    def unmatched_claims(self) -> int:
        """Claims processed now that went to the worklist instead of the ledger."""
        return self.result.posted_claims - self.result.matched_claims

    def as_dict(self) -> dict[str, Any]:
        """The one public shape (API responses, ``era post --json``, fetch results)."""
        r = self.result
        return {
            "remittance_id": r.remittance_id,
            "trace_number": self.trace_number,
            "payer": self.payer,
            "paid": str(self.payment),
            "new": r.new,
            "conflict": r.conflict,
            "claims_matched": r.matched_claims,
            "claims_unmatched": r.posted_claims - r.matched_claims,
            "claims_already_posted": r.skipped_claims,
            "entries": r.entries,
            "worklist": [
                {
                    "kind": w.kind,
                    "claim": w.claim_number,
                    "amount": str(w.amount),
                    "reason": w.reason,
                    "message": w.message,
                }
                for w in r.worklist
            ],
        }


def post_835(
    engine: Engine, practice_id: str, actor: str, data: bytes | str, *, file_sha256: str | None = None
) -> list[PostedRemittance]:
    """Read an 835 file and post every remittance in it (exactly once each).

    Raises:
        X12Error: the file cannot be read (naming the segment); nothing is posted.
    """
    raw = data if isinstance(data, bytes) else data.encode("latin-1")
    digest = file_sha256 or hashlib.sha256(raw).hexdigest()
    remittances: list[Remittance] = list(read_835(raw.decode("latin-1")))
    return [
        PostedRemittance(
            rem.trace_number,
            rem.payer_name or rem.payer_id,
            rem.payment_amount,
            ledger.post_remittance(engine, practice_id, actor, rem, file_sha256=digest),
        )
        for rem in remittances
    ]
