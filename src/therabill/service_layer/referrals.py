"""Referrals and prescriptions (orders) on file for a patient, with the signed document.

The document (a PDF or a photo) is checked by its bytes, not by the name or the type the
browser claims: only PDF, PNG and JPEG are kept, up to ``MAX_DOCUMENT_BYTES``. It is stored
under the data folder's ``private/referrals/<practice id>/`` with a random name, readable by
its owner only (``adapters.files.write_private``); the database keeps its name, type, size and
SHA-256. Every change is in the audit log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row

from therabill.adapters.db.tables import coverages, referrals
from therabill.adapters.files import write_private
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.validation import npi_is_valid
from therabill.service_layer.accounts import Principal, actor_of
from therabill.service_layer.errors import RecordsError
from therabill.service_layer.lookup import patient_in
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "KINDS",
    "MAX_DOCUMENT_BYTES",
    "NewReferral",
    "add_referral",
    "document_kind",
    "referral_document",
    "referrals_of",
]

KINDS = ("referral", "prescription")
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
"""The largest document kept (a phone photo of a prescription is 2-5 MB)."""

_MAGIC = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def _actor(principal: Principal) -> str:
    return actor_of(principal)


@dataclass(frozen=True, slots=True)
class NewReferral:
    """A referral or prescription to keep on file.

    Attributes:
        kind: ``referral`` or ``prescription``.
        number: the referral number (REF*9F) or the order's number, if any.
        prescriber_name: who referred or prescribed.
        prescriber_npi: their NPI (10 digits with the check digit), if known.
        issued_on: the day it was written.
        expires_on: the last day it is valid.
        visits_allowed: visits it allows, if it says.
        coverage_id: the coverage it is for, if one.
        file_name: the document's name as uploaded.
        data: the document's bytes (empty: no document).
    """

    kind: str
    number: str | None = None
    prescriber_name: str | None = None
    prescriber_npi: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    visits_allowed: int | None = None
    coverage_id: str | None = None
    file_name: str | None = None
    data: bytes = b""


def document_kind(data: bytes) -> tuple[str, str] | None:
    """``(content type, extension)`` of a PDF, PNG or JPEG by its first bytes, else ``None``."""
    for magic, content_type, ext in _MAGIC:
        if data.startswith(magic):
            return content_type, ext
    return None


def _problems(new: NewReferral) -> list[Problem]:
    out = []
    if new.kind not in KINDS:
        out.append(Problem("referral-kind-invalid", "kind", "must be referral or prescription"))
    if new.number and len(new.number) > 50:
        out.append(Problem("referral-number-invalid", "number", "at most 50 characters"))
    if new.prescriber_name and len(new.prescriber_name) > 120:
        out.append(Problem("referral-prescriber-invalid", "prescriber_name", "at most 120 characters"))
    if new.prescriber_npi and not npi_is_valid(new.prescriber_npi):
        out.append(Problem("referral-npi-invalid", "prescriber_npi", "is not a valid NPI"))
    if new.issued_on and new.expires_on and new.expires_on < new.issued_on:
        out.append(
            Problem("referral-dates-reversed", "expires_on", "must not be before the day it was written")
        )
    if new.visits_allowed is not None and not 0 < new.visits_allowed <= 1000:
        out.append(Problem("referral-visits-invalid", "visits_allowed", "must be 1-1000"))
    if len(new.data) > MAX_DOCUMENT_BYTES:
        out.append(
            Problem(
                "referral-document-too-large", "document", f"at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB"
            )
        )
    elif new.data and document_kind(new.data) is None:
        out.append(Problem("referral-document-type", "document", "must be a PDF, PNG or JPEG file"))
    return out


def _folder(data_dir: Path, practice_id: str) -> Path:
    folder = data_dir
    for part in ("private", "referrals", practice_id):
        folder = folder / part
        folder.mkdir(exist_ok=True, mode=0o700)
    return folder


def add_referral(
    engine: Engine, principal: Principal, patient_key: str, new: NewReferral, data_dir: Path
) -> str:
    """Keep a referral or prescription (and its document) on file for a patient.

    Raises:
        NotFoundError: no such patient, or a coverage that is not the patient's.
        RecordsError: a field or the document is not acceptable; nothing is stored.
    """
    problems = _problems(new)
    if problems:
        raise RecordsError("the referral was not saved", tuple(problems))
    kind = document_kind(new.data) if new.data else None
    stored: Path | None = None
    try:
        with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
            patient = patient_in(uow, patient_key)
            if new.coverage_id:
                cov = uow.records.get(coverages, new.coverage_id)
                if cov.patient_id != patient.id:
                    raise NotFoundError(
                        "no such coverage",
                        (Problem("coverage-not-found", "coverage_id", "not this patient's"),),
                    )
            if kind is not None:
                stored = _folder(data_dir, principal.practice_id) / f"{secrets.token_hex(16)}.{kind[1]}"
                write_private(stored, new.data)
            name = _SAFE_NAME.sub("_", Path(new.file_name or "").name)[:120] or None
            new_id = uow.records.insert(
                referrals,
                patient_id=patient.id,
                coverage_id=new.coverage_id,
                kind=new.kind,
                number=new.number,
                prescriber_name=new.prescriber_name,
                prescriber_npi=new.prescriber_npi,
                issued_on=new.issued_on,
                expires_on=new.expires_on,
                visits_allowed=new.visits_allowed,
                file_name=name if kind else None,
                content_type=kind[0] if kind else None,
                file_bytes=len(new.data) if kind else None,
                file_sha256=hashlib.sha256(new.data).hexdigest() if kind else None,
                stored_as=stored.name if stored else None,
                created_at=uow.now(),
            )
            uow.record(
                "referral.add",
                "patient",
                patient.id,
                {"referral": new_id, "kind": new.kind, "document": bool(kind)},
            )
    except BaseException:
        if stored is not None:  # nothing is half written: no file without its record
            stored.unlink(missing_ok=True)
        raise
    return new_id


def referrals_of(engine: Engine, principal: Principal, patient_id: str) -> list[Row[Any]]:
    """The patient's referrals and prescriptions, newest first."""
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        patient = patient_in(uow, patient_id)
        return uow.records.rows(
            referrals, referrals.c.patient_id == patient.id, order_by=[referrals.c.created_at.desc()]
        )


def referral_document(
    engine: Engine, principal: Principal, referral_id: str, data_dir: Path
) -> tuple[bytes, str, str]:
    """A referral's document: ``(bytes, content type, file name)``.

    Raises:
        NotFoundError: no such referral in the caller's practice, or it has no document (or
            the stored file no longer matches what was kept).
    """
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        row = uow.records.get(referrals, referral_id)
    missing = NotFoundError("no document", (Problem("referral-document-missing", "referral", "no document"),))
    if not row.stored_as:
        raise missing
    path = data_dir / "private" / "referrals" / principal.practice_id / Path(row.stored_as).name
    try:
        data = path.read_bytes()
    except OSError:
        raise missing from None
    if hashlib.sha256(data).hexdigest() != row.file_sha256:
        raise missing
    return data, str(row.content_type), str(row.file_name or f"{row.kind}.{row.stored_as.rsplit('.', 1)[-1]}")
