"""Settings pages: practice, providers, payers and profiles, fee schedule, users, tokens, imports.

Each route declares its permission: ``settings.manage`` (owner) for the practice, providers
and reference data; ``billing.setup`` (owner, biller) for payers, profiles and fees;
``users.manage`` (owner) for users, roles, MFA resets and the practice's API tokens. Every
change goes through a service function that validates the whole input first and writes an
audit event; a refused form is shown again with each problem next to its field (422).
Objects are looked up within the caller's practice: another practice's id answers 404.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from therabill import config
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.entrypoints.http.deps import requires, state
from therabill.entrypoints.http.errors import ApiError, not_found
from therabill.entrypoints.web.pages import actor, render, today
from therabill.refdata.ncci import mue_effective_from_name
from therabill.security.permissions import ROLES, Permission, permissions_of
from therabill.service_layer import accounts, api_tokens
from therabill.service_layer import practice_settings as ps
from therabill.service_layer.accounts import AccountError, Principal

router = APIRouter(include_in_schema=False)

SettingsManage = Annotated[Principal, Depends(requires(Permission.SETTINGS_MANAGE))]
BillingSetup = Annotated[Principal, Depends(requires(Permission.BILLING_SETUP))]
UsersManage = Annotated[Principal, Depends(requires(Permission.USERS_MANAGE))]

MAX_REFDATA_BYTES = 200 * 1024 * 1024
"""The largest reference data file accepted (a CMS PTP part is about 20 MB zipped)."""

_SUFFIXES = {
    "ncci-ptp": (".zip", ".txt"),
    "mue": (".csv", ".zip", ".txt"),
    "fees": (".csv",),
    "icd10": (".xml", ".txt"),
}
_ID = re.compile(r"^[0-9a-f]{32}$")


def install(app: FastAPI) -> None:
    """Add the settings pages to the app (and let the profile loader see practices' files)."""
    app.include_router(router)


def _sections(principal: Principal) -> list[tuple[str, str]]:
    out = []
    if Permission.SETTINGS_MANAGE in _held(principal):
        out += [("/settings", "Practice"), ("/settings/providers", "Providers")]
    if Permission.BILLING_SETUP in _held(principal):
        out += [("/settings/payers", "Payers and profiles"), ("/settings/fees", "Fee schedule")]
    if Permission.USERS_MANAGE in _held(principal):
        out += [("/settings/users", "Users and roles"), ("/settings/tokens", "API tokens")]
    if Permission.SETTINGS_MANAGE in _held(principal):
        out += [("/settings/refdata", "Reference data")]
    return out


def _held(principal: Principal) -> frozenset[Permission]:
    return permissions_of(principal.role, principal.scopes)


def _page(
    request: Request,
    principal: Principal,
    name: str,
    context: dict[str, Any],
    *,
    problems: tuple[Problem, ...] = (),
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    base = {
        "user": principal,
        "sections": _sections(principal),
        "here": request.url.path,
        "problems": problems,
        "bad": {p.loc.split(".")[0].split("[")[0] for p in problems},
        "message": message,
    }
    return render(request, f"settings/{name}", {**base, **context}, 422 if problems else status)


def _problems(exc: TherabillError) -> tuple[Problem, ...]:
    return tuple(exc.problems) or (Problem(getattr(exc, "code", "invalid"), "form", str(exc)),)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip()[:2000] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _opt(form: dict[str, str], key: str) -> str | None:
    value = form.get(key, "").strip()
    return value or None


def _ident(value: str) -> str:
    """An id from the address: 32 hex characters, else 404 (nothing else reaches a query)."""
    if not _ID.match(value):
        raise not_found()
    return value


# --- practice ---------------------------------------------------------------------------


def _practice_row(request: Request, principal: Principal) -> Any:
    return ps.practice_record(state(request).engine, principal.practice_id, actor(principal))


def _practice_form(row: Any) -> dict[str, str]:
    address = row.address or {}
    return {
        "name": row.name or "",
        "npi": row.npi or "",
        "tax_id": row.tax_id or "",
        "tax_id_type": row.tax_id_type or "EIN",
        "taxonomy": row.taxonomy or "",
        "phone": row.phone or "",
        "line1": address.get("line1", ""),
        "city": address.get("city", ""),
        "state": address.get("state", ""),
        "zip": address.get("zip", ""),
        "place_of_service": row.place_of_service or "",
    }


@router.get("/settings", response_class=HTMLResponse)
def settings_home(request: Request, principal: SettingsManage) -> HTMLResponse:
    """The practice's details (billing provider of its claims)."""
    row = _practice_row(request, principal)
    return _page(request, principal, "practice.html", {"form": _practice_form(row), "slug": row.slug})


@router.post("/settings/practice", response_class=HTMLResponse)
async def settings_practice(request: Request, principal: SettingsManage) -> Response:
    """Save the practice's details (all fields checked first; NPI with its check digit)."""
    form = await _form(request)
    data = ps.PracticeInput(
        name=form.get("name", ""),
        npi=_opt(form, "npi"),
        tax_id=(_opt(form, "tax_id") or "").replace("-", "") or None,
        tax_id_type=_opt(form, "tax_id_type") or "EIN",
        taxonomy=(_opt(form, "taxonomy") or "").upper() or None,
        phone=re.sub(r"\D", "", form.get("phone", "")) or None,
        line1=_opt(form, "line1"),
        city=_opt(form, "city"),
        state=(_opt(form, "state") or "").upper() or None,
        zip=(_opt(form, "zip") or "").replace("-", "") or None,
        place_of_service=_opt(form, "place_of_service"),
    )
    try:
        changed = ps.update_practice(state(request).engine, principal.practice_id, actor(principal), data)
    except TherabillError as exc:
        return _page(request, principal, "practice.html", {"form": form, "slug": ""}, problems=_problems(exc))
    row = _practice_row(request, principal)
    note = f"Saved ({', '.join(changed)})." if changed else "Nothing changed."
    return _page(
        request, principal, "practice.html", {"form": _practice_form(row), "slug": row.slug}, message=note
    )


# --- providers --------------------------------------------------------------------------


def _licenses(form: dict[str, str]) -> tuple[tuple[str, str, date | None], ...]:
    out = []
    for i in range(5):
        st, number, expires = (form.get(f"lic-{i}-{k}", "") for k in ("state", "number", "expires"))
        if not (st or number or expires):
            continue
        try:
            day = date.fromisoformat(expires) if expires else None
        except ValueError:
            raise ps.SettingsError(
                "bad date",
                (Problem("settings-date-invalid", f"licenses[{i}].expires", "must be YYYY-MM-DD"),),
            ) from None
        out.append((st.upper(), number, day))
    return tuple(out)


def _provider_input(form: dict[str, str]) -> ps.ProviderInput:
    return ps.ProviderInput(
        first_name=form.get("first_name", ""),
        last_name=form.get("last_name", ""),
        npi=_opt(form, "npi"),
        taxonomy=(_opt(form, "taxonomy") or "").upper() or None,
        credential=_opt(form, "credential"),
        licenses=_licenses(form),
        active=form.get("active", "on") == "on",
    )


def _providers_page(request: Request, principal: Principal, form: dict[str, str], **kw: Any) -> HTMLResponse:
    listed = ps.list_providers(state(request).engine, principal.practice_id, actor(principal))
    return _page(
        request,
        principal,
        "providers.html",
        {"providers": listed, "form": form, "today": today(request), "editing": kw.pop("editing", None)},
        **kw,
    )


@router.get("/settings/providers", response_class=HTMLResponse)
def settings_providers(request: Request, principal: SettingsManage) -> HTMLResponse:
    """Providers with their NPI, taxonomy, credential and licenses (expired ones flagged)."""
    return _providers_page(request, principal, {})


@router.post("/settings/providers", response_class=HTMLResponse)
async def settings_provider_add(request: Request, principal: SettingsManage) -> Response:
    """Add a provider."""
    form = await _form(request)
    try:
        ps.save_provider(
            state(request).engine, principal.practice_id, actor(principal), _provider_input(form)
        )
    except TherabillError as exc:
        return _providers_page(request, principal, form, problems=_problems(exc))
    return RedirectResponse("/settings/providers", status_code=303)


@router.get("/settings/providers/{provider_id}", response_class=HTMLResponse)
def settings_provider_edit(request: Request, provider_id: str, principal: SettingsManage) -> HTMLResponse:
    """The edit form of one provider."""
    listed = ps.list_providers(state(request).engine, principal.practice_id, actor(principal))
    found = next((p for p in listed if p["row"].id == provider_id), None)
    if found is None:
        raise not_found("provider")
    row = found["row"]
    form = {
        "first_name": row.first_name,
        "last_name": row.last_name,
        "npi": row.npi or "",
        "taxonomy": row.taxonomy or "",
        "credential": row.credential or "",
        "active": "on" if row.active else "off",
    }
    for i, lic in enumerate(found["licenses"]):
        form.update(
            {
                f"lic-{i}-state": lic.state,
                f"lic-{i}-number": lic.number,
                f"lic-{i}-expires": lic.expires_on.isoformat() if lic.expires_on else "",
            }
        )
    return _providers_page(request, principal, form, editing=provider_id)


@router.post("/settings/providers/{provider_id}", response_class=HTMLResponse)
async def settings_provider_save(request: Request, provider_id: str, principal: SettingsManage) -> Response:
    """Save one provider's details and licenses."""
    form = await _form(request)
    try:
        ps.save_provider(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            _provider_input(form),
            provider_id=_ident(provider_id),
        )
    except NotFoundError:
        raise not_found("provider") from None
    except TherabillError as exc:
        return _providers_page(request, principal, form, problems=_problems(exc), editing=provider_id)
    return RedirectResponse("/settings/providers", status_code=303)


# --- payers and profiles ----------------------------------------------------------------


def _slug(request: Request, principal: Principal) -> str:
    return ps.practice_slug(state(request).engine, principal.practice_id)


def _payers_page(request: Request, principal: Principal, form: dict[str, str], **kw: Any) -> HTMLResponse:
    slug = _slug(request, principal)
    rows = ps.list_payers(state(request).engine, principal.practice_id, actor(principal))
    profiles = []
    for name in ps.usable_profiles(slug):
        try:
            described = ps.describe_profile(name)
        except TherabillError as exc:
            described = {
                "id": name,
                "label": name,
                "version": "",
                "file": "",
                "settings": [],
                "error": str(exc),
            }
        described["own"] = name.startswith(f"{slug}.")
        described["used_by"] = [r.name for r in rows if r.profile == name]
        profiles.append(described)
    return _page(
        request,
        principal,
        "payers.html",
        {
            "payers": rows,
            "profiles": profiles,
            "form": form,
            "slug": slug,
            "indicators": ps.FILING_INDICATORS,
            "editing": kw.pop("editing", None),
        },
        **kw,
    )


def _payer_input(form: dict[str, str]) -> ps.PayerInput:
    return ps.PayerInput(
        name=form.get("name", ""),
        payer_id=_opt(form, "payer_id"),
        profile=_opt(form, "profile"),
        claim_filing_indicator=_opt(form, "claim_filing_indicator"),
        line1=_opt(form, "line1"),
        city=_opt(form, "city"),
        state=(_opt(form, "state") or "").upper() or None,
        zip=(_opt(form, "zip") or "").replace("-", "") or None,
    )


@router.get("/settings/payers", response_class=HTMLResponse)
def settings_payers(request: Request, principal: BillingSetup) -> HTMLResponse:
    """Payers, the profile each uses, and every profile with its settings and their sources."""
    return _payers_page(request, principal, {})


@router.post("/settings/payers", response_class=HTMLResponse)
async def settings_payer_add(request: Request, principal: BillingSetup) -> Response:
    """Add a payer."""
    form = await _form(request)
    try:
        ps.save_payer(state(request).engine, principal.practice_id, actor(principal), _payer_input(form))
    except TherabillError as exc:
        return _payers_page(request, principal, form, problems=_problems(exc))
    return RedirectResponse("/settings/payers", status_code=303)


@router.get("/settings/payers/{payer_id}", response_class=HTMLResponse)
def settings_payer_edit(request: Request, payer_id: str, principal: BillingSetup) -> HTMLResponse:
    """The edit form of one payer."""
    try:
        row = ps.payer_record(state(request).engine, principal.practice_id, actor(principal), payer_id)
    except NotFoundError as exc:
        raise not_found("payer") from exc
    address = row.address or {}
    form = {
        "name": row.name,
        "payer_id": row.payer_id or "",
        "profile": row.profile or "",
        "claim_filing_indicator": row.claim_filing_indicator or "",
        **{k: address.get(k, "") for k in ("line1", "city", "state", "zip")},
    }
    return _payers_page(request, principal, form, editing=payer_id)


@router.post("/settings/payers/{payer_id}", response_class=HTMLResponse)
async def settings_payer_save(request: Request, payer_id: str, principal: BillingSetup) -> Response:
    """Save a payer (name, ids, the profile it uses, claims address)."""
    form = await _form(request)
    try:
        ps.save_payer(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            _payer_input(form),
            payer_id=_ident(payer_id),
        )
    except NotFoundError:
        raise not_found("payer") from None
    except TherabillError as exc:
        return _payers_page(request, principal, form, problems=_problems(exc), editing=payer_id)
    return RedirectResponse("/settings/payers", status_code=303)


@router.get("/settings/profiles/{profile_id}", response_class=HTMLResponse)
def settings_profile(request: Request, profile_id: str, principal: BillingSetup) -> HTMLResponse:
    """One profile: its settings with sources, and its TOML to copy or edit."""
    slug = _slug(request, principal)
    if profile_id not in ps.usable_profiles(slug):
        raise not_found("profile")
    try:
        described = ps.describe_profile(profile_id)
        text = ps.profile_text(slug, profile_id)
    except TherabillError:
        raise not_found("profile") from None
    own = profile_id.startswith(f"{slug}.")
    suggested = profile_id[len(slug) + 1 :] if own else f"{profile_id}-custom"
    return _page(
        request,
        principal,
        "profile.html",
        {"profile": described, "toml": text, "own": own, "slug": slug, "name": suggested},
    )


@router.post("/settings/profiles", response_class=HTMLResponse)
async def settings_profile_save(request: Request, principal: BillingSetup) -> Response:
    """Save a practice's own profile from the TOML editor or an uploaded ``.toml`` file."""
    raw = await request.form()
    name = str(raw.get("name", "")).strip()[:60]
    text = str(raw.get("toml", ""))
    upload = raw.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(ps.MAX_PROFILE_BYTES + 1)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"  # refused below as not TOML
    slug = _slug(request, principal)
    try:
        if not text.strip():
            raise ps.SettingsError(
                "empty", (Problem("settings-profile-empty", "toml", "paste or upload a profile"),)
            )
        saved = ps.save_profile(state(request).engine, principal.practice_id, actor(principal), name, text)
    except TherabillError as exc:
        context = {
            "profile": None,
            "toml": text[: ps.MAX_PROFILE_BYTES],
            "own": True,
            "slug": slug,
            "name": name,
        }
        return _page(request, principal, "profile.html", context, problems=_problems(exc))
    return RedirectResponse(f"/settings/profiles/{saved}", status_code=303)


# --- fee schedule -----------------------------------------------------------------------


def _fees_page(request: Request, principal: Principal, **kw: Any) -> HTMLResponse:
    row = _practice_row(request, principal)
    fees = dict(row.fees or {})
    if "form" in kw:
        fees = kw.pop("form")
    codes = sorted(set(ps.catalog_codes()) | set(fees))
    return _page(
        request, principal, "fees.html", {"fees": fees, "codes": codes, "today": today(request)}, **kw
    )


@router.get("/settings/fees", response_class=HTMLResponse)
def settings_fees(request: Request, principal: BillingSetup) -> HTMLResponse:
    """The practice's fee per unit for each code."""
    return _fees_page(request, principal)


@router.post("/settings/fees", response_class=HTMLResponse)
async def settings_fees_save(request: Request, principal: BillingSetup) -> Response:
    """Save the fee amounts (an empty amount removes the code)."""
    form = await _form(request)
    fees = {k.removeprefix("fee-"): v for k, v in form.items() if k.startswith("fee-")}
    if not fees:
        problems = (Problem("settings-fees-missing", "fees", "the form sent no fee"),)
        return _fees_page(request, principal, problems=problems)
    try:
        ps.set_fees(state(request).engine, principal.practice_id, actor(principal), fees)
    except TherabillError as exc:
        return _fees_page(request, principal, problems=_problems(exc), form=fees)
    return _fees_page(request, principal, message="Fee schedule saved.")


@router.post("/settings/fees/import", response_class=HTMLResponse)
async def settings_fees_import(request: Request, principal: BillingSetup) -> Response:
    """Replace the fees with those of a fee schedule CSV in force today."""
    raw = await request.form()
    upload = raw.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise ps.SettingsError("no file", (Problem("settings-fee-csv", "file", "choose a CSV file"),))
        data = await upload.read(1024 * 1024 + 1)
        if len(data) > 1024 * 1024:
            raise ApiError(413, "too-large", "the fee schedule is larger than 1 MB")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ps.SettingsError(
                "not text", (Problem("settings-fee-csv", "file", "must be a UTF-8 CSV"),)
            ) from None
        fees = ps.fees_from_csv(text, "uploaded CSV", today(request))
        saved = ps.set_fees(
            state(request).engine, principal.practice_id, actor(principal), fees, source="csv"
        )
    except TherabillError as exc:
        return _fees_page(request, principal, problems=_problems(exc))
    return _fees_page(request, principal, message=f"Imported {len(saved)} fees in force on {today(request)}.")


# --- users and roles --------------------------------------------------------------------


def _users_page(request: Request, principal: Principal, **kw: Any) -> HTMLResponse:
    with state(request).engine.connect() as conn:
        users = accounts.list_users(conn, principal.practice_id)
    provs = ps.provider_rows(state(request).engine, principal.practice_id, actor(principal))
    return _page(
        request,
        principal,
        "users.html",
        {
            "users": users,
            "roles": ROLES,
            "providers": provs,
            "form": kw.pop("form", {}),
            **kw.pop("extra", {}),
        },
        **kw,
    )


@router.get("/settings/users", response_class=HTMLResponse)
def settings_users(request: Request, principal: UsersManage) -> HTMLResponse:
    """The practice's users, their roles, two-step log-in and status."""
    return _users_page(request, principal)


@router.post("/settings/users", response_class=HTMLResponse)
async def settings_user_invite(request: Request, principal: UsersManage) -> Response:
    """Create a user with a first password shown once (owner and biller enroll TOTP at log-in)."""
    form = await _form(request)
    st = state(request)
    try:
        with st.engine.begin() as conn:
            _, password = accounts.invite_user(
                conn,
                principal.practice_id,
                actor(principal),
                username=form.get("username", ""),
                display_name=form.get("display_name", ""),
                role=form.get("role", ""),
                now=st.now(),
                provider_id=_opt(form, "provider_id"),
            )
    except TherabillError as exc:
        return _users_page(request, principal, problems=_problems(exc), form=form)
    extra = {"new_user": form.get("username", "").lower(), "new_password": password}
    return _users_page(request, principal, extra=extra, message="User created.")


async def _user_action(request: Request, principal: Principal, user_id: str, action: str) -> Response:
    form = await _form(request)
    st = state(request)
    uid = _ident(user_id)
    try:
        with st.engine.begin() as conn:
            if action == "role":
                if form.get("role", "") == "":
                    raise AccountError("no role", (Problem("account-role-unknown", "role", "choose a role"),))
                accounts.change_role(
                    conn,
                    principal.practice_id,
                    actor(principal),
                    uid,
                    form["role"],
                    st.now(),
                    _opt(form, "provider_id"),
                )
            elif action in ("disable", "enable"):
                accounts.set_active(
                    conn, principal.practice_id, uid, action == "enable", st.now(), actor(principal)
                )
            else:
                accounts.reset_mfa(conn, principal.practice_id, actor(principal), uid, st.now())
    except AccountError as exc:
        if any(p.code == "not-found" for p in exc.problems):
            raise not_found("user") from None
        return _users_page(request, principal, problems=_problems(exc))
    return RedirectResponse("/settings/users", status_code=303)


@router.post("/settings/users/{user_id}/role", response_class=HTMLResponse)
async def settings_user_role(request: Request, user_id: str, principal: UsersManage) -> Response:
    """Change a user's role (the last active owner stays owner); their sessions end."""
    return await _user_action(request, principal, user_id, "role")


@router.post("/settings/users/{user_id}/disable", response_class=HTMLResponse)
async def settings_user_disable(request: Request, user_id: str, principal: UsersManage) -> Response:
    """Disable a user: sessions end, tokens are revoked (never the last active owner)."""
    return await _user_action(request, principal, user_id, "disable")


@router.post("/settings/users/{user_id}/enable", response_class=HTMLResponse)
async def settings_user_enable(request: Request, user_id: str, principal: UsersManage) -> Response:
    """Enable a disabled user again."""
    return await _user_action(request, principal, user_id, "enable")


@router.post("/settings/users/{user_id}/reset-mfa", response_class=HTMLResponse)
async def settings_user_reset_mfa(request: Request, user_id: str, principal: UsersManage) -> Response:
    """Forget a user's TOTP secret (lost phone); they enroll again at their next log-in."""
    return await _user_action(request, principal, user_id, "reset-mfa")


# --- API tokens -------------------------------------------------------------------------


def _tokens_page(request: Request, principal: Principal, **kw: Any) -> HTMLResponse:
    st = state(request)
    with st.engine.connect() as conn:
        tokens = api_tokens.list_practice_tokens(conn, principal.practice_id)
        lifetimes = api_tokens.practice_token_policy(conn, principal.practice_id, st.policy)
    scopes = sorted(p.value for p in _held(principal))
    extra = kw.pop("extra", {})
    context = {
        "tokens": tokens,
        "scopes": scopes,
        "lifetimes": lifetimes,
        "installation_max": st.policy.token_max_days,
        **extra,
    }
    return _page(request, principal, "tokens.html", context, **kw)


@router.post("/settings/tokens/policy", response_class=HTMLResponse)
async def settings_token_policy(request: Request, principal: UsersManage) -> Response:
    """The owner sets how long the practice's new tokens live (default and maximum)."""
    raw = await request.form()
    st = state(request)
    values = [str(raw.get(k, "")).strip() for k in ("token_default_days", "token_max_days")]
    try:
        if not all(v.isdigit() and len(v) <= 5 for v in values):
            raise AccountError(
                "bad lifetime",
                (Problem("token-policy-invalid", "token_max_days", "give whole numbers of days"),),
            )
        with st.engine.begin() as conn:
            api_tokens.set_token_policy(
                conn,
                principal,
                default_days=int(values[0]),
                max_days=int(values[1]),
                now=st.now(),
                policy=st.policy,
            )
    except AccountError as exc:
        return _tokens_page(request, principal, problems=_problems(exc))
    return _tokens_page(request, principal, message="Token lifetimes saved.")


@router.get("/settings/tokens", response_class=HTMLResponse)
def settings_tokens(request: Request, principal: UsersManage) -> HTMLResponse:
    """Every API token of the practice (whose, scopes, last use, expiry)."""
    return _tokens_page(request, principal)


@router.post("/settings/tokens", response_class=HTMLResponse)
async def settings_token_create(request: Request, principal: UsersManage) -> Response:
    """Create a token for yourself with the chosen scopes (shown once)."""
    raw = await request.form()
    chosen = " ".join(str(v) for v in raw.getlist("scope"))[:2000]
    name = str(raw.get("name", "")).strip()[:100]
    days = str(raw.get("expires_in_days", "90")).strip()
    st = state(request)
    try:
        if not name:
            raise AccountError("no name", (Problem("token-name-missing", "name", "give the token a name"),))
        if not days.isdigit() or len(days) > 5:
            raise AccountError(
                "bad expiry",
                (Problem("token-expiry", "expires_in_days", f"1 to {st.policy.token_max_days} days"),),
            )
        with st.engine.begin() as conn:
            _, token = api_tokens.create_api_token(
                conn, principal, name, chosen, st.now(), int(days), st.policy
            )
    except AccountError as exc:
        return _tokens_page(request, principal, problems=_problems(exc))
    return _tokens_page(request, principal, extra={"new_token": token}, message="Token created.")


@router.post("/settings/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def settings_token_revoke(request: Request, token_id: str, principal: UsersManage) -> Response:
    """Revoke any token of the practice at once."""
    st = state(request)
    with st.engine.begin() as conn:
        done = api_tokens.revoke_practice_token(
            conn, principal.practice_id, actor(principal), _ident(token_id), st.now()
        )
    if not done:
        raise not_found("token")
    return RedirectResponse("/settings/tokens", status_code=303)


# --- reference data imports -------------------------------------------------------------


def refdata_allowed(request: Request, principal: Principal) -> bool:
    """Whether this practice's owners may replace the installation's reference data.

    Reference data is shared by every practice of the installation, so in an installation
    of several practices only the one named by ``THERABILL_REFDATA_PRACTICE`` (slug or id)
    may import; with a single practice, its owners may.
    """
    named = str(request.app.state.settings.refdata_practice).strip()
    return ps.may_import_refdata(state(request).engine, principal.practice_id, actor(principal), named)


def _refdata_page(request: Request, principal: Principal, **kw: Any) -> HTMLResponse:
    status = ps.refdata_status()
    context = {"status": status, "allowed": refdata_allowed(request, principal), **kw.pop("extra", {})}
    return _page(request, principal, "refdata.html", context, **kw)


@router.get("/settings/refdata", response_class=HTMLResponse)
def settings_refdata(request: Request, principal: SettingsManage) -> HTMLResponse:
    """What reference data is in use, and the import forms."""
    return _refdata_page(request, principal)


async def _save_upload(upload: Any, kind: str, folder: Path) -> tuple[Path, str]:
    """Stream an upload to a server-made name (never the client's) with a checked suffix."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ps.SettingsError("no file", (Problem("settings-import-files", "file", "choose the file(s)"),))
    original = Path(upload.filename.replace("\\", "/")).name[:200]
    suffix = Path(original).suffix.lower()
    if suffix not in _SUFFIXES[kind]:
        allowed = ", ".join(_SUFFIXES[kind])
        raise ps.SettingsError("wrong type", (Problem("settings-import-type", "file", f"must be {allowed}"),))
    target = folder / f"{secrets.token_hex(12)}{suffix}"
    size = 0
    with open(target, "wb") as out:
        while chunk := await upload.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_REFDATA_BYTES:
                raise ApiError(413, "too-large", f"the file is larger than {MAX_REFDATA_BYTES} bytes")
            out.write(chunk)
    return target, original


async def _refdata_import(request: Request, kind: str, principal: Principal) -> Response:
    """Import official files with the loaders (all or nothing) and say what changed."""
    import shutil
    import tempfile

    if not refdata_allowed(request, principal):
        problem = Problem(
            "settings-import-shared",
            "kind",
            "reference data is shared by every practice here; import with the `therabill refdata` command",
        )
        return _refdata_page(request, principal, problems=(problem,))
    raw = await request.form()
    folder = Path(tempfile.mkdtemp(prefix="import-", dir=config.data_dir()))
    try:
        files, names = [], []
        for field in ("file", "file2") if kind == "icd10" else ("file",):
            uploads = raw.getlist(field) if kind == "ncci-ptp" else [raw.get(field)]
            for upload in uploads:
                path, original = await _save_upload(upload, kind, folder)
                files.append(path)
                names.append(original)
        effective = None
        release = None
        try:
            if kind == "mue":
                text = str(raw.get("effective", "")).strip()
                effective = date.fromisoformat(text) if text else mue_effective_from_name(names[0])
                if effective is None:
                    raise ValueError("effective")
            if kind == "icd10":
                release = (
                    str(raw.get("name", "")).strip(),
                    date.fromisoformat(str(raw.get("effective_from", ""))),
                    date.fromisoformat(str(raw.get("effective_to", ""))),
                )
        except ValueError:
            raise ps.SettingsError(
                "bad date", (Problem("settings-date-invalid", "effective", "give the dates as YYYY-MM-DD"),)
            ) from None
        result = ps.import_refdata(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            kind,
            files,
            effective=effective,
            release=release,
        )
    except TherabillError as exc:
        return _refdata_page(request, principal, problems=_problems(exc))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _refdata_page(request, principal, message=result.detail)


def _import_route(kind: str) -> Any:
    async def route(request: Request, principal: SettingsManage) -> Response:
        return await _refdata_import(request, kind, principal)

    route.__name__ = f"settings_refdata_{kind.replace('-', '_')}"
    route.__doc__ = f"Import {kind} reference data files (all or nothing) and say what changed."
    return route


for _kind in ps.REFDATA_KINDS:  # one route per kind: no free-form text in the address
    router.add_api_route(
        f"/settings/refdata/{_kind}", _import_route(_kind), methods=["POST"], response_class=HTMLResponse
    )
