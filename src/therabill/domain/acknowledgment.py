"""Acknowledgments: TA1 (interchange), 999 (syntax per group and transaction), 277CA (claims).

Attributes of each record say what was accepted or rejected and why, so that claim status
can be updated from them (``ClaimAck.claim_id`` is our CLM01).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from therabill.domain.errors import Problem

__all__ = ["AckError", "Acknowledgment", "ClaimAck", "TransactionAck", "category_accepted"]

_REJECTED_CATEGORIES = frozenset(
    {"A3", "A4", "A6", "A7", "A8", "R3", "R4", "R5", "R6", "R7", "R8", "E0", "E1", "E2", "E3", "E4"}
)


def category_accepted(category: str) -> bool:
    """Whether a claim status category of a 277CA means accepted (A0, A1, A2, A5...)."""
    return category not in _REJECTED_CATEGORIES and not category.startswith("R")


@dataclass(frozen=True, slots=True)
class AckError:
    """One error an acknowledgment reports.

    Attributes:
        segment_id: the segment in error (IK3-01), if any.
        segment_position: its position in the transaction (IK3-02).
        element_position: the element in error (IK4-01), if any.
        code: the syntax error code (IK3-04 / IK4-03) or TA1 note code.
        words: the code in words.
        bad_value: the copy of the bad data element (IK4-04), if given.
    """

    segment_id: str | None
    segment_position: int | None
    element_position: str | None
    code: str
    words: str
    bad_value: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionAck:
    """The verdict on one transaction set (999 AK2..IK5).

    Attributes:
        transaction_type: ST01 of the acknowledged set (``837``).
        control_number: its ST02.
        status: IK5-01: ``A`` accepted, ``E`` accepted with errors, ``R`` rejected, ``M``, ``W``, ``X``.
        accepted: True for ``A`` and ``E``.
        errors: the segment and element errors.
        codes: IK5-02..06 syntax error codes.
    """

    transaction_type: str
    control_number: str
    status: str
    accepted: bool
    errors: tuple[AckError, ...] = ()
    codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimAck:
    """The verdict on one claim (277CA 2200D).

    Attributes:
        claim_id: our claim id (TRN02 = CLM01).
        payer_claim_control_number: the payer's claim number (REF*1K), if assigned.
        category: claim status category (STC01-1: A1 received, A2 accepted, A3/A6/A7 rejected...).
        status_code: claim status code (STC01-2).
        entity: entity identifier (STC01-3), if any.
        accepted: whether the category means the claim went in.
        words: the category in words.
        amount: total claim charge echoed (STC04), if any.
    """

    claim_id: str
    payer_claim_control_number: str | None
    category: str
    status_code: str
    entity: str | None
    accepted: bool
    words: str
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """One acknowledgment (one TA1, one 999 group response or one 277CA transaction).

    Attributes:
        kind: ``TA1``, ``999`` or ``277CA``.
        interchange_control_number: the acknowledged ISA13 (TA1) or this file's ISA13.
        group_control_number: the acknowledged GS06 (999 AK1-02), if any.
        status: TA1-04 / AK9-01 (``A``, ``E``, ``P``, ``R``) or ``A``/``R`` for a 277CA.
        accepted: True when the interchange or group was accepted (fully or partly).
        words: the status in words.
        errors: interchange- or group-level errors.
        transactions: per-transaction verdicts (999).
        claims: per-claim verdicts (277CA).
        problems: what could not be read.
    """

    kind: str
    interchange_control_number: str
    group_control_number: str | None
    status: str
    accepted: bool
    words: str
    errors: tuple[AckError, ...] = ()
    transactions: tuple[TransactionAck, ...] = ()
    claims: tuple[ClaimAck, ...] = ()
    problems: tuple[Problem, ...] = ()
