"""Which claims are on the follow-up worklist, as one query: the columns a row shows and the
conditions (``followup`` reads and pages through it)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, FromClause, and_, func, or_

from therabill.adapters.db.followup_tables import FOLLOW_UP_STATUSES, claim_followups
from therabill.adapters.db.tables import claims
from therabill.domain import claim_changes as rules
from therabill.domain.records import ClaimStatus

__all__ = ["CANDIDATE_COLUMNS", "STORED_COLUMNS", "due", "worklist_query"]


CANDIDATE_COLUMNS = (
    claims.c.id,
    claims.c.claim_number,
    claims.c.status,
    claims.c.date_of_service,
    claims.c.patient_id,
    claims.c.payer_id,
    claims.c.total_charge_cents,
    claims.c.payer_claim_control_number,
)
"""What a worklist row shows or filters on (not the claims' JSON columns: at a practice's scale
decoding them for every waiting claim cost more than the rest of the worklist)."""

STORED_COLUMNS = (
    claim_followups.c.state,
    claim_followups.c.owner,
    claim_followups.c.next_action_on,
    claim_followups.c.remark_codes,
)


def due(as_of: date, unpaid_days: int, reason: str | None) -> ColumnElement[bool]:
    """``follow_up_reason`` (of ``reason`` only, when given) as a condition on the claims: denied
    and rejected at any age, awaiting payment from ``unpaid_days`` after the date of service.

    Said as every status that can be due (the condition of the index of waiting claims,
    ``followup_tables.ix_claims_followup``, which the planner matches only when it sees it), less
    the statuses not wanted, and the age for those awaiting payment: no two conditions that
    narrow the status the same way, whose shares the planner would multiply into a count far
    too low (and then read the claims' rows instead of the index)."""
    awaiting = {s.value for s in rules.AWAITING_PAYMENT - rules.REJECTED - {ClaimStatus.DENIED}}
    wanted = {
        None: set(FOLLOW_UP_STATUSES),
        rules.FollowUpReason.DENIED.value: {ClaimStatus.DENIED.value},
        rules.FollowUpReason.REJECTED.value: {s.value for s in rules.REJECTED},
        rules.FollowUpReason.UNPAID.value: awaiting,
    }[reason]
    conds: list[ColumnElement[bool]] = [claims.c.status.in_(FOLLOW_UP_STATUSES)]
    left_out = sorted(set(FOLLOW_UP_STATUSES) - wanted)
    if left_out:
        conds.append(claims.c.status.not_in(left_out))
    if unpaid_days > 0 and wanted & awaiting:  # age_days never goes below zero: 0 days is every one
        old_enough = claims.c.date_of_service <= as_of - timedelta(days=unpaid_days)
        conds.append(
            old_enough if wanted <= awaiting else or_(claims.c.status.not_in(sorted(awaiting)), old_enough)
        )
    return and_(*conds)


def worklist_query(
    practice_id: str,
    *,
    as_of: date,
    unpaid_days: int,
    include_done: bool,
    owner: str | None,
    reason: str | None,
) -> tuple[FromClause, list[ColumnElement[bool]]]:
    """The claims on the worklist: what to read from and the conditions (the biller's stored
    item joined only when a filter needs it or a row is shown)."""
    joined = claims.outerjoin(
        claim_followups,
        and_(claim_followups.c.claim_id == claims.c.id, claim_followups.c.practice_id == practice_id),
    )
    conds: list[ColumnElement[bool]] = [
        claims.c.practice_id == practice_id,
        due(as_of, unpaid_days, reason),
        claims.c.frequency != "8",
    ]
    if not include_done:
        conds.append(or_(claim_followups.c.state.is_(None), claim_followups.c.state != "done"))
    if owner is not None:
        conds.append(
            and_(claim_followups.c.id.is_not(None), func.coalesce(claim_followups.c.owner, "") == owner)
        )
    return joined, conds
