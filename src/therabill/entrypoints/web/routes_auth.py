"""Log-in (password, then a TOTP code once enrolled), MFA enrollment, log-out, change password.

The log-in form is protected against CSRF by a double-submit cookie (``tb_csrf``); after the
password a short "pending" session waits for the TOTP code (or for enrollment, which owner
and biller must do); on success a NEW session token replaces it (ASVS 7.2.4).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from therabill.entrypoints.http import audit
from therabill.entrypoints.http.deps import (
    PRE_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    client_ip,
    public,
    requires,
    state,
)
from therabill.entrypoints.http.errors import ApiError
from therabill.security import totp
from therabill.security.permissions import Permission
from therabill.security.tokens import new_token, same
from therabill.service_layer import accounts, api_tokens, sessions
from therabill.service_layer.accounts import AccountError, Principal

router = APIRouter(include_in_schema=False)

Public = Depends(public())


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, {"user": None, **context}, status_code=status
    )
    return response


def _set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=state(request).secure_cookies,
        path="/",
    )


def _pre_csrf(request: Request) -> str:
    return request.cookies.get(PRE_CSRF_COOKIE) or new_token()


def _login_page(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    token = _pre_csrf(request)
    response = _render(request, "login.html", {"csrf_token": token, "error": error}, status)
    response.set_cookie(
        PRE_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=state(request).secure_cookies
    )
    return response


def _check_pre_csrf(request: Request, sent: str) -> None:
    expected = request.cookies.get(PRE_CSRF_COOKIE, "")
    if not expected or not sent or not same(sent, expected):
        raise ApiError(403, "csrf-failed", "the form expired; reload the page and log in again")


def _audit_login(conn: Any, user_id: str, action: str, outcome: str, request: Request) -> None:
    practice_id = sessions.practice_of_user(conn, user_id)
    if practice_id is not None:
        audit.record_for_user(
            conn,
            practice_id=practice_id,
            user_id=user_id,
            action=action,
            at=state(request).now(),
            outcome=outcome,
            ip=client_ip(request),
        )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, _: None = Public) -> HTMLResponse:
    """The log-in page."""
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=150)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    _: None = Public,
) -> Response:
    """Check the password; continue to the TOTP step, MFA enrollment or the dashboard."""
    _check_pre_csrf(request, csrf_token)
    st = state(request)
    at = st.now()
    with st.engine.begin() as conn:
        user_id, reason = sessions.check_password(conn, username, password, client_ip(request), at, st.policy)
        if user_id is None:
            message = (
                "Too many failed log-ins; wait 15 minutes and try again."
                if reason == "throttled"
                else "Wrong username or password."
            )
            result: Response = _login_page(request, message, 429 if reason == "throttled" else 401)
            return result
        stage = sessions.next_stage(conn, user_id, st.policy)
        token = sessions.start_session(conn, user_id, stage, at, st.policy)
        if stage == "full":
            _audit_login(conn, user_id, "auth.login", "ok", request)
    target = {"mfa": "/login/mfa", "enroll": "/mfa/enroll", "full": "/"}[stage]
    response = RedirectResponse(target, status_code=303)
    _set_session(response, request, token)
    response.delete_cookie(PRE_CSRF_COOKIE)
    return response


def _pending(request: Request, stage: str) -> accounts.PendingSession:
    st = state(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    with st.engine.begin() as conn:
        pending = sessions.pending_session(conn, token, st.now(), st.policy) if token else None
    if pending is None or pending.stage != stage:
        raise ApiError(401, "not-authenticated", "log in first")
    return pending


@router.get("/login/mfa", response_class=HTMLResponse)
def mfa_form(request: Request, _: None = Public) -> HTMLResponse:
    """The TOTP step of the log-in."""
    pending = _pending(request, "mfa")
    return _render(request, "mfa.html", {"csrf_token": pending.csrf_token, "error": ""})


@router.get("/mfa/enroll", response_class=HTMLResponse)
def enroll_form(request: Request, _: None = Public) -> HTMLResponse:
    """MFA enrollment: the secret to add to an authenticator app, then a code to confirm."""
    pending = _pending(request, "enroll")
    secret = pending.enroll_secret or ""
    return _render(
        request,
        "enroll.html",
        {
            "csrf_token": pending.csrf_token,
            "secret": secret,
            "uri": totp.provisioning_uri(secret, pending.username),
            "qr": Markup(totp.qr_svg(totp.provisioning_uri(secret, pending.username))),
            "error": "",
        },
    )


def _finish(request: Request, stage: str, code: str, csrf_token: str) -> Response:
    pending = _pending(request, stage)
    if not same(csrf_token, pending.csrf_token):
        raise ApiError(403, "csrf-failed", "the form expired; log in again")
    st = state(request)
    at = st.now()
    ip = client_ip(request)
    with st.engine.begin() as conn:
        why = sessions.throttle_reason(conn, pending.username, ip, at, st.policy)
        if why is not None:
            new = None
        else:
            new = sessions.complete_mfa(
                conn, request.cookies.get(SESSION_COOKIE, ""), code, at, st.policy, ip
            )
        _audit_login(
            conn,
            pending.user_id,
            "auth.mfa" if stage == "mfa" else "auth.mfa_enroll",
            "ok" if new else ("throttled" if why else "failed"),
            request,
        )
    if new is None:
        context: dict[str, Any] = {
            "csrf_token": pending.csrf_token,
            "error": "That code is not right; try the next one.",
        }
        if stage == "enroll":
            secret = pending.enroll_secret or ""
            uri = totp.provisioning_uri(secret, pending.username)
            context.update(secret=secret, uri=uri, qr=Markup(totp.qr_svg(uri)))
        if why is not None:
            context["error"] = "Too many wrong codes; wait 15 minutes and log in again."
        return _render(request, "mfa.html" if stage == "mfa" else "enroll.html", context, 429 if why else 401)
    response = RedirectResponse("/", status_code=303)
    _set_session(response, request, new)
    return response


@router.post("/login/mfa", response_class=HTMLResponse)
def mfa(
    request: Request,
    code: Annotated[str, Form(max_length=12)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    _: None = Public,
) -> Response:
    """Check the TOTP code; on success the session is replaced by a full one."""
    return _finish(request, "mfa", code, csrf_token)


@router.post("/mfa/enroll", response_class=HTMLResponse)
def enroll(
    request: Request,
    code: Annotated[str, Form(max_length=12)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    _: None = Public,
) -> Response:
    """Confirm enrollment with a first code; MFA is then on for this account."""
    return _finish(request, "enroll", code, csrf_token)


@router.post("/logout")
async def logout(request: Request, _: None = Public) -> Response:
    """End the session (the token never works again) and go to the log-in page."""
    token = request.cookies.get(SESSION_COOKIE, "")
    st = state(request)
    if token:
        with st.engine.begin() as conn:
            principal = sessions.session_principal(conn, token, st.now(), st.policy)
            if principal is not None:
                await check_csrf(request, principal.csrf_token)
                audit.record(
                    conn,
                    principal,
                    action="auth.logout",
                    object_type="user",
                    object_id=principal.user_id,
                    at=st.now(),
                    ip=client_ip(request),
                )
            sessions.end_session(conn, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request, principal: Annotated[Principal, Depends(requires(Permission.ACCOUNT_SELF))]
) -> HTMLResponse:
    """The account page: change password, API tokens."""
    st = state(request)
    with st.engine.begin() as conn:
        tokens = api_tokens.list_api_tokens(conn, principal)
    return _render(
        request, "account.html", {"user": principal, "tokens": tokens, "message": "", "new_token": ""}
    )


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.ACCOUNT_SELF))],
    current: Annotated[str, Form(max_length=256)] = "",
    new: Annotated[str, Form(max_length=256)] = "",
) -> HTMLResponse:
    """Change the password (the current one is asked again)."""
    st = state(request)
    message = "Password changed."
    status = 200
    try:
        with st.engine.begin() as conn:
            accounts.change_password(conn, principal.user_id, current, new, st.now(), principal.session_hash)
            audit.record(
                conn,
                principal,
                action="auth.password_change",
                object_type="user",
                object_id=principal.user_id,
                at=st.now(),
                ip=client_ip(request),
            )
    except AccountError as exc:
        message = "; ".join(f"{p.loc} {p.message}" for p in exc.problems) or str(exc)
        status = 422
    with st.engine.begin() as conn:
        tokens = api_tokens.list_api_tokens(conn, principal)
    return _render(
        request,
        "account.html",
        {"user": principal, "tokens": tokens, "message": message, "new_token": ""},
        status,
    )


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token_page(
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.ACCOUNT_SELF))],
    name: Annotated[str, Form(max_length=100)] = "token",
    scopes: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Create an API token from the account page (shown once)."""
    st = state(request)
    message, new_token_value, status = "", "", 200
    try:
        with st.engine.begin() as conn:
            _, new_token_value = api_tokens.create_api_token(
                conn, principal, name, scopes, st.now(), policy=st.policy
            )
    except AccountError as exc:
        message, status = str(exc), 422
    with st.engine.begin() as conn:
        tokens = api_tokens.list_api_tokens(conn, principal)
    return _render(
        request,
        "account.html",
        {"user": principal, "tokens": tokens, "message": message, "new_token": new_token_value},
        status,
    )


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token_page(
    request: Request,
    token_id: str,
    principal: Annotated[Principal, Depends(requires(Permission.ACCOUNT_SELF))],
) -> Response:
    """Revoke one of the caller's tokens."""
    st = state(request)
    with st.engine.begin() as conn:
        revoked = api_tokens.revoke_api_token(conn, principal, token_id, st.now())
    if not revoked:
        raise ApiError(404, "not-found", "no such token")
    return RedirectResponse("/account", status_code=303)
