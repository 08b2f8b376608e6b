"""The decisions of a claim's life after it is made: edit, void, correct, re-bill, follow up.

Pure functions over statuses and dates (standard library only); the use cases in
``service_layer/claim_changes.py`` and ``service_layer/followup.py`` apply them.

* A visit is edited while its claim has not left (``draft``, ``scrubbed``, ``ready``); every
  edit makes a new claim version, re-coded and re-scrubbed.
* A claim the payer has (it gave a claim number, CLP07 or REF*1K) is **voided** with a
  frequency-8 claim or **corrected** with a frequency-7 claim, both carrying REF*F8 with that
  number. A claim that never left is voided in place.
* A claim rejected before adjudication (batch, clearinghouse or payer rejection) is
  **re-billed** as a new original (frequency 1).
* The follow-up worklist holds each denied, rejected, or unpaid-after-N-days claim; aging
  counts from the date of service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from therabill.domain.errors import Problem, TherabillError
from therabill.domain.records import ClaimStatus

_S = ClaimStatus

UNSENT = frozenset({_S.DRAFT, _S.SCRUBBED, _S.READY})
"""The claim has not left the practice: the visit may still be edited."""
REJECTED = frozenset({_S.BATCH_REJECTED, _S.CLEARINGHOUSE_REJECTED, _S.PAYER_REJECTED})
"""Rejected before adjudication: re-billed as a new original claim."""
AT_PAYER = frozenset(
    {
        _S.SUBMITTED,
        _S.BATCH_ACCEPTED,
        _S.CLEARINGHOUSE_ACCEPTED,
        _S.PAYER_ACCEPTED,
        _S.PENDING,
        _S.PAID,
        _S.PARTLY_PAID,
        _S.DENIED,
        _S.APPEALED,
        _S.CROSSED_OVER,
    }
)
"""Sent and not rejected: voided or corrected with the payer's claim number (REF*F8)."""
CLOSED = frozenset({_S.REPLACED, _S.VOIDED, _S.TRANSFERRED_TO_SECONDARY})
"""No longer stands for its visit (or moved on to another payer)."""
AWAITING_PAYMENT = frozenset(
    {
        _S.SUBMITTED,
        _S.BATCH_ACCEPTED,
        _S.CLEARINGHOUSE_ACCEPTED,
        _S.PAYER_ACCEPTED,
        _S.PENDING,
        _S.APPEALED,
    }
)
"""Sent and not yet answered with money."""
MAX_VERSIONS = 99


class ChangeKind(StrEnum):
    """What made a claim version."""

    ORIGINAL = "original"
    EDIT = "edit"
    VOID = "void"
    CORRECT = "correct"
    REBILL = "rebill"


FREQUENCY = {
    ChangeKind.ORIGINAL: "1",
    ChangeKind.EDIT: "1",
    ChangeKind.REBILL: "1",
    ChangeKind.CORRECT: "7",
    ChangeKind.VOID: "8",
}
"""CLM05-3 of the version each change makes (an edit keeps the claim's own frequency)."""


class ClaimChangeError(TherabillError):
    """A claim change the claim's status does not allow."""

    code = "claim-change-refused"


def refuse_change(code: str, loc: str, message: str) -> ClaimChangeError:
    """A ``ClaimChangeError`` with one problem."""
    return ClaimChangeError(message, (Problem(code, loc, message),))


def check_visit_edit(claim_status: str | None) -> None:
    """Whether a visit may be edited, given the status of its standing claim (``None``: none)."""
    if claim_status is None or ClaimStatus(claim_status) in UNSENT:
        return
    status = ClaimStatus(claim_status)
    if status in REJECTED:
        raise refuse_change(
            "visit-claim-rejected", "visit", "the claim was rejected: re-bill it with the changes instead"
        )
    raise refuse_change(
        "visit-claim-sent",
        "visit",
        f"the claim is {status.value.replace('_', ' ')}: correct or void it instead of editing the visit",
    )


def void_in_place(status: str) -> bool:
    """Whether voiding needs no frequency-8 claim: the payer never got this claim."""
    s = ClaimStatus(status)
    if s in CLOSED:
        raise refuse_change("claim-closed", "status", f"a {s.value} claim cannot be voided")
    return s in UNSENT or s in REJECTED


def check_void(status: str, payer_claim_number: str | None) -> None:
    """A claim the payer has is voided only with its claim number (REF*F8)."""
    if void_in_place(status):
        return
    if not (payer_claim_number or "").strip():
        raise refuse_change(
            "claim-payer-number-missing",
            "payer_claim_control_number",
            "the payer has not given its claim number yet (835 CLP07 or 277CA REF*1K): "
            "wait for the acknowledgment, or enter the number",
        )


def check_correct(status: str, payer_claim_number: str | None) -> None:
    """A corrected (frequency 7) claim replaces a claim the payer has, by its claim number."""
    s = ClaimStatus(status)
    if s in UNSENT:
        raise refuse_change("claim-not-sent", "status", "the claim has not been sent: edit the visit instead")
    if s in REJECTED:
        raise refuse_change(
            "claim-rejected", "status", "a rejected claim never reached adjudication: re-bill it instead"
        )
    if s not in AT_PAYER:
        raise refuse_change(
            "claim-closed", "status", f"a {s.value.replace('_', ' ')} claim cannot be corrected"
        )
    if not (payer_claim_number or "").strip():
        raise refuse_change(
            "claim-payer-number-missing",
            "payer_claim_control_number",
            "the payer has not given its claim number yet (835 CLP07 or 277CA REF*1K)",
        )


def check_rebill(status: str) -> None:
    """Only a claim rejected before adjudication is re-billed as a new original."""
    s = ClaimStatus(status)
    if s not in REJECTED:
        raise refuse_change(
            "claim-not-rejected",
            "status",
            f"a {s.value.replace('_', ' ')} claim is not re-billed: "
            + ("correct or void it" if s in AT_PAYER else "edit the visit or mark it ready"),
        )


def version_number(root_number: str, version: int) -> str:
    """The claim number (CLM01) of a version: the first keeps its own, later ones ``-2``, ``-3``..."""
    if version < 1 or version > MAX_VERSIONS:
        raise refuse_change(
            "claim-too-many-versions", "claim", f"a claim has at most {MAX_VERSIONS} versions"
        )
    return root_number if version == 1 else f"{root_number}-{version}"


def change_kind(frequency: str, replaces: bool, edited: bool) -> ChangeKind:
    """What made a stored version, from its frequency and whether it replaced another."""
    if frequency == "8":
        return ChangeKind.VOID
    if frequency == "7":
        return ChangeKind.CORRECT
    if not replaces:
        return ChangeKind.ORIGINAL
    return ChangeKind.EDIT if edited else ChangeKind.REBILL


# -- follow-up ----------------------------------------------------------------------------


class FollowUpReason(StrEnum):
    """Why a claim is on the follow-up worklist."""

    DENIED = "denied"
    REJECTED = "rejected"
    UNPAID = "unpaid"


class FollowUpAction(StrEnum):
    """What a biller can do from the worklist."""

    CORRECT = "correct"
    VOID = "void"
    REBILL = "rebill"
    APPEAL = "appeal"
    WRITE_OFF = "write_off"
    TRANSFER_TO_PATIENT = "transfer_to_patient"


FOLLOW_UP_STATES = ("open", "in_progress", "waiting", "done")
"""The biller's own state of a follow-up item."""
AGING_BUCKETS = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, 120, "91-120"))


def follow_up_reason(
    status: str, *, date_of_service: date, as_of: date, unpaid_days: int
) -> FollowUpReason | None:
    """Why a claim needs follow-up, or ``None``: denied, rejected, or sent and unpaid for
    ``unpaid_days`` or more days after the date of service."""
    s = ClaimStatus(status)
    if s is _S.DENIED:
        return FollowUpReason.DENIED
    if s in REJECTED:
        return FollowUpReason.REJECTED
    if s in AWAITING_PAYMENT and age_days(date_of_service, as_of) >= unpaid_days:
        return FollowUpReason.UNPAID
    return None


def age_days(date_of_service: date, as_of: date) -> int:
    """Days since the date of service (aging starts there, never below zero)."""
    return max(0, (as_of - date_of_service).days)


def aging_bucket(days: int) -> str:
    """The aging bucket of ``days`` since the date of service (0-30 ... 121+)."""
    for low, high, name in AGING_BUCKETS:
        if low <= days <= high:
            return name
    return "121+"


def follow_up_actions(status: str, payer_claim_number: str | None) -> tuple[FollowUpAction, ...]:
    """The actions a claim in ``status`` allows from the worklist."""
    s = ClaimStatus(status)
    has_number = bool((payer_claim_number or "").strip())
    money = (FollowUpAction.WRITE_OFF, FollowUpAction.TRANSFER_TO_PATIENT)
    if s in REJECTED:
        return (FollowUpAction.REBILL, FollowUpAction.VOID, *money)
    out: list[FollowUpAction] = []
    if s in AT_PAYER and has_number:
        out += [FollowUpAction.CORRECT, FollowUpAction.VOID]
    if s in (_S.DENIED, _S.PARTLY_PAID, _S.PAID):
        out.append(FollowUpAction.APPEAL)
    return (*out, *money)


@dataclass(frozen=True, slots=True)
class FollowUpChange:
    """A change of a follow-up item, checked.

    Attributes:
        state: the new state, if it changes.
        owner: the new owner, if it changes (``""`` clears it).
        next_action_on: the new next-action date, if it changes.
    """

    state: str | None = None
    owner: str | None = None
    next_action_on: date | None = None


def check_follow_up_change(change: FollowUpChange, *, as_of: date) -> FollowUpChange:
    """A follow-up change with a known state, an owner of at most 80 characters and a
    next-action date not in the past; a clear problem naming the field otherwise."""
    problems: list[Problem] = []
    if change.state is not None and change.state not in FOLLOW_UP_STATES:
        problems.append(
            Problem("followup-state-unknown", "state", f"must be one of {', '.join(FOLLOW_UP_STATES)}")
        )
    if change.owner is not None and len(change.owner.strip()) > 80:
        problems.append(Problem("followup-owner-too-long", "owner", "at most 80 characters"))
    if change.next_action_on is not None and change.next_action_on < as_of:
        problems.append(Problem("followup-date-past", "next_action_on", "must be today or later"))
    if problems:
        raise ClaimChangeError("the follow-up change is not valid", tuple(problems))
    return FollowUpChange(
        change.state, change.owner.strip() if change.owner is not None else None, change.next_action_on
    )
