"""``/api/v1``: what the practice sends on its own. Statement-email runs and clients' opt-outs.

Each route calls one service function (``statement_emails``, ``contact_preferences``), the
same the web pages and the CLI call. Bodies refuse unknown fields (422).

* statement emails (schedule a run, read runs): ``ledger.adjust`` (owner, biller);
* a client's email / SMS opt-out: read ``patients.read``, change ``patients.write``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND
from therabill.entrypoints.http import audit
from therabill.entrypoints.http.deps import requires, state
from therabill.security.permissions import Permission
from therabill.service_layer import contact_preferences, statement_emails
from therabill.service_layer.accounts import Principal

router = APIRouter(prefix="/api/v1", tags=["messages"])

LedgerAdjust = Annotated[Principal, Depends(requires(Permission.LEDGER_ADJUST))]
PatientsRead = Annotated[Principal, Depends(requires(Permission.PATIENTS_READ))]
PatientsWrite = Annotated[Principal, Depends(requires(Permission.PATIENTS_WRITE))]
RESPONSES: dict[int | str, dict[str, Any]] = {**ERRORS, **NOT_FOUND}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatementEmailsIn(_In):
    """Email a statement to every client owing more than ``over`` (the job runner sends them)."""

    over: Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
    statement_date: date | None = None


class ContactPreferencesIn(_In):
    """A client's opt-outs (fields left out stay as they are)."""

    email_opt_out: bool | None = None
    sms_opt_out: bool | None = None


def _args(request: Request, principal: Principal) -> tuple[Any, str, str]:
    return state(request).engine, principal.practice_id, audit.actor_of(principal)


@router.post("/statement-emails", status_code=status.HTTP_201_CREATED, responses=RESPONSES)
def schedule_statement_emails(
    request: Request, body: StatementEmailsIn, principal: LedgerAdjust
) -> dict[str, Any]:
    """Schedule statement emails: each client owing more than ``over`` is emailed once."""
    run = statement_emails.schedule_statement_emails(
        *_args(request, principal), over=body.over, statement_date=body.statement_date
    )
    return run.as_dict()


@router.get("/statement-emails", responses=ERRORS)
def list_statement_emails(request: Request, principal: LedgerAdjust) -> list[dict[str, Any]]:
    """The latest statement-email runs with how many were sent."""
    return [r.as_dict() for r in statement_emails.statement_email_runs_of(*_args(request, principal))]


@router.get("/statement-emails/{run_id}", responses=RESPONSES)
def get_statement_emails(request: Request, run_id: str, principal: LedgerAdjust) -> dict[str, Any]:
    """One run, client by client."""
    return statement_emails.statement_email_run(*_args(request, principal), run_id).as_dict()


@router.get("/patients/{patient_id}/contact-preferences", responses=RESPONSES)
def get_contact_preferences(request: Request, patient_id: str, principal: PatientsRead) -> dict[str, Any]:
    """Whether the client opted out of email or text messages."""
    return contact_preferences.contact_preferences_of(*_args(request, principal), patient_id).as_dict()


@router.put("/patients/{patient_id}/contact-preferences", responses=RESPONSES)
def put_contact_preferences(
    request: Request, patient_id: str, body: ContactPreferencesIn, principal: PatientsWrite
) -> dict[str, Any]:
    """Opt the client out of (or back into) email or text messages."""
    return contact_preferences.set_contact_preferences(
        *_args(request, principal), patient_id, **body.model_dump(exclude_unset=True)
    ).as_dict()
