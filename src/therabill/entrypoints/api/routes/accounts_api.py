"""``/api/v1/me`` and the caller's API tokens (create, list, revoke)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from therabill.entrypoints.api.schemas import (
    ERRORS,
    NOT_FOUND,
    MePublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
)
from therabill.entrypoints.http.deps import Conn, now, requires, state
from therabill.entrypoints.http.errors import not_found
from therabill.security.permissions import Permission, permissions_of
from therabill.service_layer import api_tokens
from therabill.service_layer.accounts import Principal

router = APIRouter(prefix="/api/v1", tags=["account"])

Self = Annotated[Principal, Depends(requires(Permission.ACCOUNT_SELF))]


@router.get("/me", response_model=MePublic, responses=ERRORS)
def me(principal: Self) -> dict[str, Any]:
    """Who the caller is and what they may do."""
    return {
        "user_id": principal.user_id,
        "username": principal.username,
        "display_name": principal.display_name,
        "practice_id": principal.practice_id,
        "role": principal.role,
        "permissions": sorted(p.value for p in permissions_of(principal.role, principal.scopes)),
    }


@router.get("/tokens", response_model=list[TokenPublic], responses=ERRORS)
def list_tokens(principal: Self, conn: Conn) -> list[dict[str, object]]:
    """The caller's API tokens (never their secrets)."""
    return api_tokens.list_api_tokens(conn, principal)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_token(body: TokenCreate, principal: Self, conn: Conn, request: Request) -> dict[str, object]:
    """Create an API token with the given scopes (permission names); the token is shown once."""
    token_id, token = api_tokens.create_api_token(
        conn,
        principal,
        body.name,
        " ".join(body.scopes),
        now(request),
        body.expires_in_days,
        state(request).policy,
    )
    listed = next(t for t in api_tokens.list_api_tokens(conn, principal) if t["id"] == token_id)
    return {**listed, "token": token}


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**ERRORS, **NOT_FOUND}
)
def revoke_token(token_id: str, principal: Self, conn: Conn, request: Request) -> None:
    """Revoke one of the caller's tokens; it stops working at once."""
    if not api_tokens.revoke_api_token(conn, principal, token_id, now(request)):
        raise not_found("token")
