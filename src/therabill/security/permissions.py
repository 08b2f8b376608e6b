"""The permissions registry: every permission, what each role holds, and token scopes.

Every route declares exactly one permission (or is declared public). The registry is the
single place where a role's rights are written down; ``tests`` read it to build the
authorization matrix and to fail when a route declares none.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Permission(StrEnum):
    """A right to call a group of routes (also the name of an API token scope)."""

    CODING_USE = "coding.use"
    PATIENTS_READ = "patients.read"
    PATIENTS_WRITE = "patients.write"
    INTAKE_WRITE = "intake.write"
    COVERAGES_READ = "coverages.read"
    COVERAGES_WRITE = "coverages.write"
    AUTHORIZATIONS_READ = "authorizations.read"
    AUTHORIZATIONS_WRITE = "authorizations.write"
    VISITS_READ = "visits.read"
    VISITS_WRITE = "visits.write"
    CLAIMS_READ = "claims.read"
    CLAIMS_WRITE = "claims.write"
    CLAIMS_EXPORT = "claims.export"
    REMITTANCES_READ = "remittances.read"
    REMITTANCES_POST = "remittances.post"
    ELIGIBILITY_RUN = "eligibility.run"
    REPORTS_READ = "reports.read"
    AUDIT_READ = "audit.read"
    SETTINGS_MANAGE = "settings.manage"
    BILLING_SETUP = "billing.setup"
    USERS_MANAGE = "users.manage"
    ACCOUNT_SELF = "account.self"
    SCHEDULE_READ = "schedule.read"
    SCHEDULE_WRITE = "schedule.write"
    PAYMENTS_TAKE = "payments.take"
    LEDGER_ADJUST = "ledger.adjust"


# What each permission guards beyond its name: settings.manage = practice details, providers,
# reference data imports (owner); billing.setup = payers, payer profiles, fee schedule (owner,
# biller); users.manage = users, roles, MFA resets, every API token of the practice (owner).
# schedule.write = book, move, cancel, check in, working hours, time off; services, rooms and
# the calendar policy are settings.manage. payments.take = check-out: see a patient's balance and
# ledger, take payments, sell and redeem packages and gift certificates, print and email a
# patient's statement and receipts; ledger.adjust = refunds, write-offs, transfers, reversals,
# statement runs (owner, biller).


P = Permission

ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = MappingProxyType(
    {
        "owner": frozenset(Permission),
        # Billing and demographics; not the health history (intake), not notes.
        "biller": frozenset(Permission)
        - {P.AUDIT_READ, P.SETTINGS_MANAGE, P.USERS_MANAGE, P.VISITS_WRITE, P.INTAKE_WRITE},
        # Clinical notes of their own patients; no ledger, claims or remittances.
        "therapist": frozenset(
            {
                P.ACCOUNT_SELF,
                P.CODING_USE,
                P.PATIENTS_READ,
                P.COVERAGES_READ,
                P.AUTHORIZATIONS_READ,
                P.VISITS_READ,
                P.VISITS_WRITE,
                P.SCHEDULE_READ,
                P.SCHEDULE_WRITE,
            }
        ),
        # Scheduling, demographics, coverages and authorizations: no clinical notes, no billing.
        "front_desk": frozenset(
            {
                P.ACCOUNT_SELF,
                P.PATIENTS_READ,
                P.PATIENTS_WRITE,
                P.INTAKE_WRITE,
                P.COVERAGES_READ,
                P.COVERAGES_WRITE,
                P.AUTHORIZATIONS_READ,
                P.AUTHORIZATIONS_WRITE,
                P.ELIGIBILITY_RUN,
                P.SCHEDULE_READ,
                P.SCHEDULE_WRITE,
                P.PAYMENTS_TAKE,
            }
        ),
    }
)

ROLES = tuple(ROLE_PERMISSIONS)

# Roles whose members must enroll TOTP before they reach any page.
MFA_REQUIRED_ROLES = frozenset({"owner", "biller"})


def permissions_of(role: str, scopes: frozenset[str] | None = None) -> frozenset[Permission]:
    """The permissions a role holds, narrowed to a token's scopes when given (deny by default)."""
    held = ROLE_PERMISSIONS.get(role, frozenset())
    if scopes is None:
        return held
    return frozenset(p for p in held if p.value in scopes)


def allowed(role: str, permission: Permission, scopes: frozenset[str] | None = None) -> bool:
    """Whether the role (and token scopes, if any) grant the permission."""
    return permission in permissions_of(role, scopes)


def parse_scopes(text: str) -> frozenset[str]:
    """Scopes from a comma- or space-separated list; unknown names are refused."""
    names = frozenset(s for s in text.replace(",", " ").split() if s)
    known = {p.value for p in Permission}
    unknown = sorted(names - known)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}")
    return names
