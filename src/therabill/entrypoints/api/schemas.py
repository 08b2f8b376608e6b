"""Public request and response models of the API (``XCreate`` in, ``XPublic`` out).

Inbound models forbid unknown fields, so a client can never slip in ``practice_id``,
``role`` or ``status`` (mass assignment); outbound models list exactly what is shown.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemPublic(BaseModel):
    """One problem: a stable code, where, and what is wrong."""

    code: str
    loc: str
    message: str


class ErrorDetail(BaseModel):
    """The error: a stable code, a message and every problem."""

    code: str
    message: str
    problems: list[ProblemPublic]


class ErrorPublic(BaseModel):
    """The one error shape."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "Not logged in, or the token is invalid or revoked."},
    403: {"model": ErrorPublic, "description": "The role or the token's scopes do not allow this."},
    422: {"model": ErrorPublic, "description": "The input is not valid; every problem is listed."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "No such object in your practice."}
}


class UnitsLinePublic(BaseModel):
    """The units of one service line."""

    code: str
    minutes: int
    units: int
    model: str
    billed_units: int | None
    billed_status: str | None


class UnitsPublic(BaseModel):
    """Units of a visit by the 8-minute rule, with the explanation."""

    method: str
    total_timed_minutes: int
    total_units: int
    lines: list[UnitsLinePublic]
    explanation: list[str]
    tie_broken: bool


class FindingPublic(BaseModel):
    """One scrubber finding."""

    rule_id: str
    severity: str
    message: str
    fix: str
    loc: str
    source: str


class ScrubPublic(BaseModel):
    """The scrubber's findings of an encounter."""

    model_config = ConfigDict(extra="allow")

    as_of: str
    ok: bool = Field(description="True when no finding is an error (the claim may be created).")
    findings: list[FindingPublic]


class TokenCreate(_In):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=40)
    expires_in_days: int | None = Field(default=None, ge=1, le=36500)


class TokenPublic(BaseModel):
    """An API token as listed (never its secret)."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked: bool


class TokenCreated(TokenPublic):
    """A token just created: ``token`` is shown this once."""

    token: str


class MePublic(BaseModel):
    """Who the caller is."""

    user_id: str
    username: str
    display_name: str
    practice_id: str
    role: str
    permissions: list[str]
