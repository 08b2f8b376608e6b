"""Billing pages: the claims worklist, a claim (findings, mark ready, CMS-1500, history), batches
with their 837P, remittance upload (835) with what posted, what did not match and the denials.

Files are produced from database ids only, never from a path or a name given by the client;
downloads carry fixed, sanitized file names. An upload is refused when it is larger than the
limit (before it is read whole) or does not start with an X12 ``ISA`` header.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain import claim_changes as change_rules
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.money import D, MoneyError, from_cents
from therabill.domain.records import ClaimStatus
from therabill.entrypoints.http.audit import audit_event, one_read
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import ApiError, not_found
from therabill.entrypoints.http.who import (
    AuditRead,
    ClaimsExport,
    ClaimsRead,
    ClaimsWrite,
    RemittancesPost,
    RemittancesRead,
)
from therabill.entrypoints.web.pages import actor, people_of, render, today
from therabill.security.csvcell import safe_row
from therabill.security.permissions import Permission
from therabill.service_layer import (
    adjudication,
    audit_trail,
    batches,
    claim_versions,
    documents,
    followup,
    practice,
    received_payments,
    remittance_work,
    remittances,
    work_queues,
)
from therabill.service_layer import claims as claims_svc
from therabill.service_layer.accounts import Principal
from therabill.service_layer.dashboard import ATTENTION_STATUSES

router = APIRouter(include_in_schema=False)
P = Permission
STATUSES = tuple(s.value for s in ClaimStatus)
ATTENTION = ("scrubbed", *ATTENTION_STATUSES)  # the claims list adds those still to mark ready


# --- files (thin wrappers over the X12, PDF and records services) -----------------------


def batch_837(request: Request, principal: Principal, batch_id: str) -> tuple[str, int]:
    """The 837P of a stored batch, as it was built, and its control number (web and API)."""
    st = state(request)
    try:
        built = batches.batch_file(
            st.engine, principal.practice_id, actor(principal), batch_id, st.envelope()
        )
    except NotFoundError as exc:
        raise not_found("batch") from exc
    return built.text, built.control_number


def claim_cms1500(request: Request, principal: Principal, claim_id: str) -> tuple[bytes, str]:
    """The CMS-1500 PDF (boxes drawn) of a stored claim, and its claim number (web and API)."""
    try:
        return documents.claim_cms1500_pdf(
            state(request).engine, principal.practice_id, actor(principal), claim_id, signed_on=today(request)
        )
    except NotFoundError as exc:
        raise not_found("claim") from exc


def _safe_name(text: str) -> str:
    return "".join(c for c in text if c.isalnum() or c in "-_")[:40] or "file"


# --- claims -----------------------------------------------------------------------------


@router.get("/claims", response_class=HTMLResponse)
def claims_page(
    request: Request,
    principal: ClaimsRead,
    status: str = "",
    payer: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    marked: Annotated[int, Query(ge=0, le=10_000)] = -1,
    refused: Annotated[int, Query(ge=0, le=10_000)] = 0,
    show: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The biller's queues (visits to bill, claims to mark ready, needing attention by reason,
    ready claims by payer: the oldest of each, and ``show`` one of them whole) and the claims
    worklist, filtered by status and payer, in pages."""
    if status and status != "attention" and status not in STATUSES:
        raise ApiError(422, "invalid-input", "unknown claim status")
    if show and show not in work_queues.SECTIONS:
        raise ApiError(422, "invalid-input", "unknown queue")
    wanted = ATTENTION if status == "attention" else ((status,) if status else ())
    engine, who = state(request).engine, actor(principal)
    with one_read(request, principal) as reads:  # one transaction with its audit row
        work = work_queues.claims_page(
            engine, principal.practice_id, who, statuses=wanted, payer_id=payer or None, page=page
        )
        queues = work_queues.billing_queues(
            engine, principal.practice_id, who, limit=work_queues.QUEUE_SHOWN, whole=show
        )
        recent = batches.recent_batches(engine, principal.practice_id, who, limit=10)
        payers = practice.payer_names(engine, principal.practice_id, who)
        reads.audit("claim.list", "claim", None)
    return render(
        request,
        "claims.html",
        {
            "user": principal,
            "work": work,
            "queues": queues,
            "status": status,
            "statuses": STATUSES,
            "payer": payer,
            "payers": payers,
            "batches": recent,
            "marked": marked,
            "refused": refused,
        },
    )


@router.post("/claims/ready")
async def claims_ready(request: Request, principal: ClaimsWrite) -> Response:
    """Mark the chosen scrubbed claims ready together (those with scrub errors are refused)."""
    form = await request.form()
    chosen = [str(v)[:32] for v in form.getlist("claim_id")][:500]
    done = work_queues.mark_ready_many(state(request).engine, principal.practice_id, actor(principal), chosen)
    return RedirectResponse(
        f"/claims?marked={len(done.marked)}&refused={len(done.refused)}#to-mark-ready", status_code=303
    )


def claim_view(
    request: Request, principal: Principal, claim_id: str, *, problems: Any = (), status: int = 200
) -> HTMLResponse:
    """The claim page: lines, findings, versions with who and when, status history, the
    changes its status allows, and its follow-up (state, owner, notes, actions)."""
    engine, who = state(request).engine, actor(principal)
    try:
        detail = claims_svc.claim_detail(engine, principal.practice_id, who, claim_id)
    except NotFoundError as exc:
        raise not_found("claim") from exc
    audit_event(request, principal, "claim.view", "claim", claim_id)
    return render(
        request,
        "claim.html",
        {
            "user": principal,
            "claim": detail.claim,
            "patient": detail.patient,
            "lines": detail.lines,
            "findings": detail.findings,
            "history": detail.history,
            "versions": claim_versions.versions(engine, principal.practice_id, who, claim_id),
            "adjudication": adjudication.claim_adjudication(engine, principal.practice_id, who, claim_id),
            "changes": changes_allowed(detail.claim),
            "followup": followup.item(engine, principal.practice_id, who, claim_id, as_of=today(request)),
            "states": change_rules.FOLLOW_UP_STATES,
            "people": people_of(request, principal),
            "money": from_cents,
            "message": request.query_params.get("m", "")[:40],
            "errors": tuple(problems),
        },
        status,
    )


def changes_allowed(claim: Any) -> dict[str, bool]:
    """Which changes the claim's status allows (the page shows only those buttons)."""

    def ok(check: Any) -> bool:
        try:
            check()
        except TherabillError:
            return False
        return True

    void_version = claim.frequency == "8"
    return {
        "edit": not void_version and claim.status in {s.value for s in change_rules.UNSENT},
        "void": not void_version
        and ok(lambda: change_rules.check_void(claim.status, claim.payer_claim_control_number)),
        "correct": not void_version
        and ok(lambda: change_rules.check_correct(claim.status, claim.payer_claim_control_number)),
        "rebill": not void_version and ok(lambda: change_rules.check_rebill(claim.status)),
    }


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim_page(request: Request, claim_id: str, principal: ClaimsRead) -> HTMLResponse:
    """A claim: lines, scrub findings with fixes, versions, status history, actions."""
    return claim_view(request, principal, claim_id)


@router.post("/claims/{claim_id}/ready")
def claim_ready(request: Request, claim_id: str, principal: ClaimsWrite) -> Response:
    """Mark a scrubbed claim without errors ready to send."""

    try:
        claims_svc.mark_ready(state(request).engine, principal.practice_id, actor(principal), claim_id)
    except NotFoundError:
        raise not_found("claim") from None
    return RedirectResponse(f"/claims/{claim_id}", status_code=303)


@router.post("/claims/batch")
async def claims_batch(request: Request, principal: ClaimsExport) -> Response:
    """Put ready claims into a new batch (they become submitted) and show it: the chosen ones
    (``claim_id``), those of one payer (``payer``), or else every ready claim."""
    st = state(request)
    form = await request.form()
    chosen = [str(v)[:32] for v in form.getlist("claim_id")][:500]
    payer = str(form.get("payer", ""))[:32]
    if payer and not chosen:
        chosen = work_queues.ready_claim_ids(st.engine, principal.practice_id, actor(principal), payer)
        if not chosen:
            raise ApiError(422, "batch-empty", "no ready claim of this payer")
    try:
        batch = batches.build_batch(
            st.engine, principal.practice_id, actor(principal), chosen or None, envelope=st.envelope()
        )
    except NotFoundError:
        raise not_found("claim") from None
    return RedirectResponse(f"/batches/{batch.batch_id}", status_code=303)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: str, principal: ClaimsRead) -> HTMLResponse:
    """A batch: its claims and the 837P download."""
    try:
        batch, rows = batches.batch_with_claims(
            state(request).engine, principal.practice_id, actor(principal), batch_id
        )
    except NotFoundError as exc:
        raise not_found("batch") from exc
    return render(request, "batch.html", {"user": principal, "batch": batch, "claims": rows})


@router.get("/batches/{batch_id}/837")
def batch_download(request: Request, batch_id: str, principal: ClaimsExport) -> Response:
    """Download the batch's 837P file."""
    text, control = batch_837(request, principal, batch_id)
    audit_event(request, principal, "batch.export_837", "claim_batch", batch_id)
    return Response(
        text.encode("ascii"),
        media_type="application/edi-x12",
        headers={"Content-Disposition": f'attachment; filename="therabill-837p-{control:09d}.x12"'},
    )


@router.get("/claims/{claim_id}/cms1500.pdf")
def claim_pdf(request: Request, claim_id: str, principal: ClaimsExport) -> Response:
    """Download the claim's CMS-1500 (02/12) PDF."""
    pdf, number = claim_cms1500(request, principal, claim_id)
    audit_event(request, principal, "claim.export_cms1500", "claim", claim_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="cms1500-{_safe_name(number)}.pdf"'},
    )


# --- remittances ------------------------------------------------------------------------


def _remittance_context(request: Request, principal: Principal) -> dict[str, Any]:
    engine, who = state(request).engine, actor(principal)
    work = remittance_work.worklist_items(engine, principal.practice_id, who)
    return {
        "user": principal,
        "denials": remittances.denial_worklist(engine, principal.practice_id, who),
        "unmatched": [w for w in work if w.unmatched],
        "review": [w for w in work if not w.unmatched],
        "received": received_payments.received_payments(engine, principal.practice_id, who),
        "counts": {},
        "results": None,
        "problems": (),
        "message": "",
        "today": today(request),
    }


@router.get("/remittances", response_class=HTMLResponse)
def remittances_page(request: Request, principal: RemittancesRead) -> HTMLResponse:
    """Upload an 835; the posting worklist and the denial worklist in plain words."""
    context = _remittance_context(request, principal)
    audit_event(request, principal, "remittance.list", "remittance", None)
    return render(request, "remittances.html", context)


async def read_upload(request: Request, upload: UploadFile) -> bytes:
    """The uploaded X12 bytes: refused when too large or when not an X12 interchange."""
    limit = state(request).max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 4096:
        raise ApiError(413, "too-large", f"the file is larger than {limit} bytes")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "too-large", f"the file is larger than {limit} bytes")
    head = data.lstrip(b"\xef\xbb\xbf \r\n\t")[:3]
    if head != b"ISA":
        raise ApiError(
            422,
            "upload-not-x12",
            "the file is not an X12 interchange",
            (Problem("upload-not-x12", "file", "must start with an ISA segment"),),
        )
    return data


@router.post("/remittances", response_class=HTMLResponse)
async def remittances_upload(
    request: Request,
    file: UploadFile,
    principal: RemittancesPost,
) -> HTMLResponse:
    """Post an uploaded 835: what posted, what went to the worklist, the denials explained."""
    data = await read_upload(request, file)
    try:
        results = remittances.post_835(state(request).engine, principal.practice_id, actor(principal), data)
        problems: tuple[Problem, ...] = ()
    except TherabillError as exc:
        results, problems = [], exc.problems or (Problem(exc.code, "file", str(exc)),)
    context = _remittance_context(request, principal)
    engine, who = state(request).engine, actor(principal)
    counts = {
        r.result.remittance_id: received_payments.received_payments(
            engine, principal.practice_id, who, only=r.result.remittance_id
        )[0]
        for r in results
    }
    context.update(results=results, problems=problems, counts=counts)
    return render(request, "remittances.html", context, 422 if problems else 200)


@router.post("/remittances/worklist/{item_id}/dismiss", response_class=HTMLResponse)
async def worklist_dismiss(request: Request, item_id: str, principal: RemittancesPost) -> Response:
    """Close a posting-worklist item with the reason nothing more is to be done."""
    form = await request.form()
    try:
        remittances.dismiss_work_item(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            item_id,
            str(form.get("reason", "")),
        )
    except NotFoundError:
        raise not_found("worklist item") from None
    except TherabillError as exc:
        context = _remittance_context(request, principal)
        context.update(problems=exc.problems or (Problem(exc.code, "reason", str(exc)),))
        return render(request, "remittances.html", context, 422)
    return RedirectResponse("/remittances?dismissed=1#worklist", status_code=303)


@router.get("/remittances/worklist/{item_id}/assign", response_class=HTMLResponse)
def worklist_assign_page(
    request: Request,
    item_id: str,
    principal: RemittancesPost,
    q: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:
    """Find the claim of ours an unmatched 835 claim belongs to (claim number, patient, date)."""
    engine, who = state(request).engine, actor(principal)
    try:
        item = remittance_work.work_item(engine, principal.practice_id, who, item_id)
    except NotFoundError:
        raise not_found("worklist item") from None
    query = q if q is not None else remittance_work.default_query(item)
    found = remittance_work.candidate_claims(engine, principal.practice_id, who, query)
    return render(
        request,
        "remittance_assign.html",
        {"user": principal, "item": item, "q": query, "candidates": found, "problems": ()},
    )


@router.post("/remittances/worklist/{item_id}/assign", response_class=HTMLResponse)
async def worklist_assign(request: Request, item_id: str, principal: RemittancesPost) -> Response:
    """Assign an unmatched 835 claim to the chosen claim: it posts as a matched one does."""
    form = await request.form()
    engine, who = state(request).engine, actor(principal)
    try:
        done = remittance_work.assign_work_item(
            engine, principal.practice_id, who, item_id, str(form.get("claim_id", ""))[:40]
        )
    except NotFoundError:
        raise not_found("worklist item or claim") from None
    except TherabillError as exc:
        item = remittance_work.work_item(engine, principal.practice_id, who, item_id)
        context = {"user": principal, "item": item, "q": "", "candidates": [], "problems": exc.problems}
        return render(request, "remittance_assign.html", context, 422)
    state_word = "posted" if done.posted else "to-review"
    return RedirectResponse(
        f"/remittances?assigned={done.claim_number}&result={state_word}#worklist", status_code=303
    )


@router.post("/remittances/{remittance_id}/deposit", response_class=HTMLResponse)
async def remittance_deposit(request: Request, remittance_id: str, principal: RemittancesPost) -> Response:
    """Record the bank deposit a received payment arrived as (amount and date)."""
    form = await request.form()
    problems: list[Problem] = []
    try:
        amount = D(str(form.get("amount", "")).replace("$", "").replace(",", "").strip())
    except MoneyError:
        problems.append(
            Problem("deposit-amount-invalid", "amount", "enter the deposited amount, e.g. 1,234.50")
        )
    try:
        day = date.fromisoformat(str(form.get("deposit_date", "")))
    except ValueError:
        problems.append(Problem("deposit-date-invalid", "deposit_date", "enter the date of the bank deposit"))
    if not problems:
        try:
            received_payments.record_deposit(
                state(request).engine,
                principal.practice_id,
                actor(principal),
                remittance_id,
                amount,
                day,
                str(form.get("note", ""))[:200],
            )
        except NotFoundError:
            raise not_found("remittance") from None
        except TherabillError as exc:
            problems.extend(exc.problems)
    if problems:
        context = _remittance_context(request, principal)
        context.update(problems=tuple(problems))
        return render(request, "remittances.html", context, 422)
    return RedirectResponse("/remittances?deposit=1#received", status_code=303)


# --- owner: audit log, settings -----------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, principal: AuditRead, before: Annotated[int, Query(ge=0, le=2**62)] = 0
) -> HTMLResponse:
    """The audit log, newest first, with a check of its hash chain."""
    rows, report = audit_trail.page(
        state(request).engine, principal.practice_id, actor(principal), before=before
    )
    names = audit_trail.names_of(state(request).engine, principal.practice_id, actor(principal), rows)
    audit_event(request, principal, "audit.view", "audit_log", None)
    return render(
        request,
        "audit.html",
        {
            "user": principal,
            "rows": rows,
            "report": report,
            "names": names,
            "words": audit_trail.action_words,
        },
    )


@router.get("/audit/export.csv")
def audit_export(request: Request, principal: AuditRead) -> Response:
    """The whole audit log of the practice as CSV (for a review)."""
    import csv
    import io
    import json

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["seq", "at", "actor", "action", "object_type", "object_id", "details", "prev_hash", "hash"]
    )
    for r in audit_trail.all_events(state(request).engine, principal.practice_id, actor(principal)):
        writer.writerow(
            safe_row(
                [
                    r.seq,
                    r.at.isoformat(),
                    r.actor,
                    r.action,
                    r.object_type,
                    r.object_id or "",
                    json.dumps(r.details, sort_keys=True) if r.details else "",
                    r.prev_hash,
                    r.hash,
                ]
            )
        )
    audit_event(request, principal, "audit.export", "audit_log", None)
    stamp = state(request).now().strftime("%Y%m%d")
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="therabill-audit-{stamp}.csv"'},
    )
