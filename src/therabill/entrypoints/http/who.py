"""Caller types for route signatures: ``principal: PatientsRead`` declares the route's permission.

Each alias is ``Annotated[Principal, Depends(requires(Permission.X))]``; one per permission.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from therabill.entrypoints.http.deps import requires
from therabill.security.permissions import Permission as P  # noqa: N817 - short, read as "permission"
from therabill.service_layer.accounts import Principal

AccountSelf = Annotated[Principal, Depends(requires(P.ACCOUNT_SELF))]
CodingUse = Annotated[Principal, Depends(requires(P.CODING_USE))]
PatientsRead = Annotated[Principal, Depends(requires(P.PATIENTS_READ))]
PatientsWrite = Annotated[Principal, Depends(requires(P.PATIENTS_WRITE))]
IntakeWrite = Annotated[Principal, Depends(requires(P.INTAKE_WRITE))]
CoveragesRead = Annotated[Principal, Depends(requires(P.COVERAGES_READ))]
CoveragesWrite = Annotated[Principal, Depends(requires(P.COVERAGES_WRITE))]
AuthorizationsRead = Annotated[Principal, Depends(requires(P.AUTHORIZATIONS_READ))]
AuthorizationsWrite = Annotated[Principal, Depends(requires(P.AUTHORIZATIONS_WRITE))]
VisitsRead = Annotated[Principal, Depends(requires(P.VISITS_READ))]
VisitsWrite = Annotated[Principal, Depends(requires(P.VISITS_WRITE))]
ClaimsRead = Annotated[Principal, Depends(requires(P.CLAIMS_READ))]
ClaimsWrite = Annotated[Principal, Depends(requires(P.CLAIMS_WRITE))]
ClaimsExport = Annotated[Principal, Depends(requires(P.CLAIMS_EXPORT))]
RemittancesRead = Annotated[Principal, Depends(requires(P.REMITTANCES_READ))]
RemittancesPost = Annotated[Principal, Depends(requires(P.REMITTANCES_POST))]
EligibilityRun = Annotated[Principal, Depends(requires(P.ELIGIBILITY_RUN))]
ReportsRead = Annotated[Principal, Depends(requires(P.REPORTS_READ))]
AuditRead = Annotated[Principal, Depends(requires(P.AUDIT_READ))]
SettingsManage = Annotated[Principal, Depends(requires(P.SETTINGS_MANAGE))]
UsersManage = Annotated[Principal, Depends(requires(P.USERS_MANAGE))]
PaymentsTake = Annotated[Principal, Depends(requires(P.PAYMENTS_TAKE))]
LedgerAdjust = Annotated[Principal, Depends(requires(P.LEDGER_ADJUST))]
