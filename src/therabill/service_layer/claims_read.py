"""Many claims read at once, for a use case that takes a whole list of them (building a batch).

``claims_for_update`` reads the claims of a list of ids in a few statements (locked for the
transaction), in the order asked; ``claims_in`` makes their domain ``Claim`` as
``claims.claim_in`` does for one (the encounter they were coded from, their lines, units),
reading the documents and lines of a thousand claims in one query each. A claim coded before the encounter was kept
with it is made by ``claims.claim_in`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select

from therabill.adapters.db.tables import claim_lines, claims
from therabill.domain.claim import Claim
from therabill.domain.errors import NotFoundError, Problem
from therabill.service_layer import claims as claims_svc
from therabill.service_layer.encounters import encounter_of_document
from therabill.service_layer.uow import UnitOfWork

__all__ = ["claims_for_update", "claims_in"]

IDS_PER_QUERY = 1000
"""Ids in one ``IN (...)`` list (well under SQLite's limit of bound parameters)."""


_WITHOUT_DOCUMENT = [c for c in claims.c if c.name != "coded_document"]
"""A claim's columns but its coded document (read by ``claims_in``, a part at a time)."""


def claims_for_update(uow: UnitOfWork, claim_ids: Sequence[str]) -> list[Row[Any]]:
    """The claims ``claim_ids`` of the practice (without their coded document), in that order,
    locked for the transaction.

    Raises:
        NotFoundError: one of them is not a claim of the practice (the first one missing).
    """
    found: dict[str, Row[Any]] = {}
    wanted = list(dict.fromkeys(claim_ids))
    for start in range(0, len(wanted), IDS_PER_QUERY):
        part = wanted[start : start + IDS_PER_QUERY]
        query = (
            select(*_WITHOUT_DOCUMENT)
            .where(claims.c.practice_id == uow.practice_id, claims.c.id.in_(part))
            .with_for_update()
        )
        found.update((r.id, r) for r in uow.session.execute(query))
    missing = next((cid for cid in claim_ids if cid not in found), None)
    if missing is not None:
        raise NotFoundError("no such claim", (Problem("claim-not-found", "claim", f"no claim {missing!r}"),))
    return [found[cid] for cid in claim_ids]


def claims_in(uow: UnitOfWork, rows: Sequence[Row[Any]]) -> list[Claim]:
    """The domain claims of ``rows`` (claims of the practice), as ``claims.claim_in`` makes each.

    Their coded documents and lines are read ``IDS_PER_QUERY`` claims at a time, and only the
    domain claims are kept (the documents of a 5,000-claim batch are not all held at once).
    """
    out: list[Claim] = []
    for start in range(0, len(rows), IDS_PER_QUERY):
        part = rows[start : start + IDS_PER_QUERY]
        ids = [r.id for r in part]
        documents = {
            r.id: r.coded_document
            for r in uow.session.execute(
                select(claims.c.id, claims.c.coded_document).where(
                    claims.c.practice_id == uow.practice_id, claims.c.id.in_(ids)
                )
            )
        }
        lines: dict[str, list[Row[Any]]] = {}
        for ln in uow.records.rows(
            claim_lines,
            claim_lines.c.claim_id.in_(ids),
            order_by=[claim_lines.c.claim_id, claim_lines.c.line_number],
        ):
            lines.setdefault(ln.claim_id, []).append(ln)
        for row in part:
            document = documents.get(row.id)
            if document is None:  # coded before the encounter was kept: from the records
                out.append(claims_svc.claim_in(uow, row.id))
                continue
            encounter = encounter_of_document(dict(document))
            out.append(claims_svc.claim_from(row.claim_number, encounter, lines.get(row.id, ())))
        del documents, lines
    return out
