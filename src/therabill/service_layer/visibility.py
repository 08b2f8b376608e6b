"""Who may see which clinical and billing records, beyond the route's permission.

The route's permission says what kind of record a caller may reach; these rules narrow it
to the records themselves, in one place (used by the pages, the API and the exports):

* a therapist sees the notes, diagnoses and measures of their OWN visits only (the visits
  whose rendering provider is the provider they are linked to; none when not linked);
* clinical content (visits, diagnoses, procedures, measures) needs ``visits.read``;
* billing content (claims, remittances, explanations of benefits) needs ``claims.read``.
"""

from __future__ import annotations

from dataclasses import dataclass

from therabill.security.permissions import Permission, allowed
from therabill.service_layer.accounts import Principal


def restricted_to_provider(principal: Principal) -> bool:
    """Whether the caller sees only their own provider's visits (a therapist)."""
    return principal.role == "therapist"


def may_see_visit(principal: Principal, visit_provider_id: str | None) -> bool:
    """Whether the caller may see a visit rendered by ``visit_provider_id``."""
    if not allowed(principal.role, Permission.VISITS_READ, principal.scopes):
        return False
    if not restricted_to_provider(principal):
        return True
    return principal.provider_id is not None and visit_provider_id == principal.provider_id


@dataclass(frozen=True, slots=True)
class RecordView:
    """What of a patient's record a caller may see.

    Attributes:
        clinical: visits, diagnoses, procedures and measures.
        billing: claims and remittance results.
        provider_id: when set, clinical content only of this provider's visits; ``""`` for a
            therapist linked to no provider (no visits at all).
    """

    clinical: bool
    billing: bool
    provider_id: str | None

    def sees(self, visit_provider_id: str | None) -> bool:
        """Whether a visit of ``visit_provider_id`` is in view."""
        return self.clinical and (self.provider_id is None or visit_provider_id == self.provider_id)


def record_view(principal: Principal) -> RecordView:
    """The part of a patient's record the caller may see (for the patient page and exports)."""
    return RecordView(
        clinical=allowed(principal.role, Permission.VISITS_READ, principal.scopes),
        billing=allowed(principal.role, Permission.CLAIMS_READ, principal.scopes),
        provider_id=(principal.provider_id or "") if restricted_to_provider(principal) else None,
    )
