"""Patients: registration, search and the patient's chart as the people who care for them see it.

Who may see what is decided here (``visibility.record_view``), with the caller's principal:
a therapist sees the notes and measures of their own visits only, the front desk no
clinical records at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, Integer, Row, bindparam, func, or_, select, tuple_

from therabill.adapters.db.repositories import new_id
from therabill.adapters.db.tables import (
    audit_log,
    objective_measures,
    patients,
    visits,
)
from therabill.clock import Clock, current_date, current_time
from therabill.domain.errors import Problem
from therabill.domain.records import (
    PatientRecord,
    address_problems,
)
from therabill.service_layer.accounts import Principal, actor_of
from therabill.service_layer.coverages import CoverageInput, insert_coverage_in
from therabill.service_layer.errors import RecordsError, refuse
from therabill.service_layer.lookup import patient_in
from therabill.service_layer.paging import Page, page_limit
from therabill.service_layer.sessions import display_names
from therabill.service_layer.uow import UnitOfWork
from therabill.service_layer.visibility import record_view

__all__ = [
    "NewPatient",
    "PatientChart",
    "find_patient",
    "patient_chart",
    "patient_chart_in",
    "patient_history",
    "patient_page",
    "register_new_patient",
    "register_patient",
    "same_person",
    "search",
    "update_patient",
]


def _actor(principal: Principal) -> str:
    return actor_of(principal)


def search(engine: Engine, principal: Principal, query: str, *, limit: int = 50) -> list[Any]:
    """Patients whose name contains ``query`` (either order) or whose chart number is it."""
    q = query.strip().lower()
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        # The names and chart numbers alone are read and matched (the same order as the
        # patient list); only the patients shown are read whole.
        names = uow.session.execute(
            select(patients.c.id, patients.c.first_name, patients.c.last_name, patients.c.chart_number)
            .where(patients.c.practice_id == principal.practice_id)
            .order_by(patients.c.last_name, patients.c.first_name, patients.c.chart_number)
        )
        chosen: list[str] = []
        for p in names:
            if len(chosen) >= limit:
                break
            if (
                not q
                or q in f"{p.first_name} {p.last_name}".lower()
                or q in f"{p.last_name}, {p.first_name}".lower()
                or q == p.chart_number.lower()
            ):
                chosen.append(p.id)
        found = uow.records.patients_by_id(chosen)
    return [found[i] for i in chosen]


@dataclass(frozen=True, slots=True)
class PatientChart:
    """What the patient page shows the caller.

    Attributes:
        patient: the patient.
        coverages: the patient's coverages.
        authorizations: coverage id → its authorizations.
        visits: the visits the caller may see (newest first; empty without clinical access).
        measures: objective measures of those visits (oldest first).
        clinical: whether the caller sees clinical records at all.
    """

    patient: Any
    coverages: list[Any]
    authorizations: dict[str, list[Any]]
    visits: list[Any]
    measures: list[Any]
    clinical: bool


def patient_chart(engine: Engine, principal: Principal, patient_id: str) -> PatientChart:
    """The patient's chart as the caller may see it.

    Raises:
        NotFoundError: no such patient in the caller's practice.
    """
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        return patient_chart_in(uow, principal, patient_id)


def patient_chart_in(uow: UnitOfWork, principal: Principal, patient_id: str) -> PatientChart:
    """``patient_chart`` in an open unit of work: a therapist sees the visits and measures of
    their own visits only; a caller without ``visits.read`` sees no clinical records."""
    patient = uow.records.get(patients, patient_id)
    covs = list(uow.records.coverages_of(patient_id))
    auths = {c.id: list(uow.records.authorizations_of(c.id)) for c in covs}
    view = record_view(principal)
    if not view.clinical:
        return PatientChart(patient, covs, auths, [], [], False)
    measures = uow.records.rows(
        objective_measures,
        objective_measures.c.patient_id == patient_id,
        order_by=[objective_measures.c.measured_on],
    )
    pvisits = uow.records.rows(
        visits, visits.c.patient_id == patient_id, order_by=[visits.c.date_of_service.desc()]
    )
    mine = [v for v in pvisits if view.sees(v.provider_id)]
    shown = {v.id for v in mine}
    return PatientChart(patient, covs, auths, mine, [m for m in measures if m.visit_id in shown], True)


def register_patient(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    chart_number: str,
    first_name: str,
    last_name: str,
    birth_date: date | None = None,
    sex: str | None = None,
    middle_name: str | None = None,
    address: Mapping[str, Any] | None = None,
    phone: str | None = None,
    email: str | None = None,
    coverages_in: Sequence[CoverageInput] = (),
    clock: Clock = current_time,
) -> str:
    """Register a patient and their coverages; returns the patient's opaque id (a birth date
    in the future or a chart number in use is refused)."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        if birth_date is not None and birth_date > uow.now().date():
            raise refuse("patient-birth-date-future", "birth_date", "must not be in the future")
        taken = uow.session.execute(
            uow.records.scoped(patients).where(patients.c.chart_number == chart_number)
        ).first()
        if taken:
            raise refuse("patient-chart-number-taken", "chart_number", "that chart number is already in use")
        record = PatientRecord(
            id=new_id(),
            practice_id=practice_id,
            chart_number=chart_number,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            sex=sex,
            middle_name=middle_name,
            address_json=json.dumps(dict(address)) if address else None,
            phone=phone,
            email=email,
        )
        patient_id = uow.records.add_patient(record, uow.now())
        for cov in coverages_in:
            insert_coverage_in(uow, patient_id, cov)
        uow.record("patient.register", "patient", patient_id, {"coverages": len(coverages_in)})
    return patient_id


def patient(engine: Engine, practice_id: str, actor: str, patient_id: str) -> Row[Any]:
    """One patient of the practice.

    Raises:
        NotFoundError: no such patient in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.get(patients, patient_id)


def list_patients(engine: Engine, practice_id: str, actor: str) -> list[PatientRecord]:
    """The practice's patients."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.patients()


# --- finding patients by what people call them, and pages of them -----------------------


def patient_record_of(engine: Engine, practice_id: str, actor: str, key: str) -> Row[Any]:
    """A patient by internal id or chart number (the CLI's ``PATIENT`` argument).

    Raises:
        NotFoundError: no such patient in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return patient_in(uow, key)


def find_patient(engine: Engine, principal: Principal, key: str) -> Row[Any]:
    """A patient by internal id or chart number.

    Raises:
        NotFoundError: no such patient in the caller's practice.
    """
    return patient_record_of(engine, principal.practice_id, _actor(principal), key)


def _name_matches(needle: Any, **escape: Any) -> Any:
    """``needle`` is part of "first last", "last, first" or "first middle last" (any case)."""
    first, last, middle = patients.c.first_name, patients.c.last_name, patients.c.middle_name
    return or_(
        func.lower(first + " " + last).contains(needle, **escape),
        func.lower(last + ", " + first).contains(needle, **escape),
        func.lower(first + " " + func.coalesce(middle, "") + " " + last).contains(needle, **escape),
    )


_PAGE_ORDER = (patients.c.last_name, patients.c.first_name, patients.c.id)
_FIRST_PAGE_BY_NAME = (
    select(patients)
    .where(patients.c.practice_id == bindparam("practice_id"))
    .where(_name_matches(bindparam("needle"), escape="/"))
    .order_by(*_PAGE_ORDER)
    .limit(bindparam("rows", type_=Integer))
)
"""The first page of a name search (the API's and the front desk's common case), built once:
building and keying this statement cost more than running it on a practice's patients."""


def _like_escaped(text: str) -> str:
    """``text`` with LIKE's wildcards escaped by ``/`` (what ``autoescape=True`` does)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def patient_page(
    engine: Engine,
    principal: Principal,
    *,
    name: str | None = None,
    chart_number: str | None = None,
    birth_date: date | None = None,
    after: list[Any] | None = None,
    limit: int = 50,
) -> Page[Row[Any]]:
    """Patients by last name, first name (then id), filtered, one page after ``after``.

    ``name`` matches part of "first middle last" (any case); ``chart_number`` exactly (any case).
    """
    size = page_limit(limit)
    order = _PAGE_ORDER
    needle = " ".join(name.lower().split()) if name else ""
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        if needle and not (chart_number or birth_date or after):
            params = {"practice_id": principal.practice_id, "needle": _like_escaped(needle), "rows": size + 1}
            rows = list(uow.session.execute(_FIRST_PAGE_BY_NAME, params).all())
        else:
            query = uow.records.scoped(patients).order_by(*order)
            if chart_number:
                query = query.where(func.lower(patients.c.chart_number) == chart_number.strip().lower())
            if birth_date:
                query = query.where(patients.c.birth_date == birth_date)
            if needle:
                query = query.where(_name_matches(needle, autoescape=True))
            if after:
                query = query.where(tuple_(*order) > tuple_(*(str(k) for k in after[:3])))
            rows = list(uow.session.execute(query.limit(size + 1)).all())
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, [rows[-1].last_name, rows[-1].first_name, rows[-1].id] if more else None)


def same_person(
    engine: Engine, principal: Principal, first_name: str, last_name: str, birth_date: date
) -> list[Row[Any]]:
    """``same_person_in`` for the caller."""
    return same_person_in(engine, principal.practice_id, _actor(principal), first_name, last_name, birth_date)


def same_person_in(
    engine: Engine, practice_id: str, actor: str, first_name: str, last_name: str, birth_date: date
) -> list[Row[Any]]:
    """Patients who may be this person already: same birth date and the same first and last
    name, ignoring case, spaces and punctuation (the front desk's duplicate check)."""

    def folded(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        born = uow.records.rows(patients, patients.c.birth_date == birth_date)
    return [
        p
        for p in born
        if folded(p.first_name) == folded(first_name) and folded(p.last_name) == folded(last_name)
    ]


# --- the front desk: register and change a patient --------------------------------------

_PHONE = re.compile(r"^\d{10}$")
_CHART = re.compile(r"^[A-Za-z0-9.\-]{1,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,120}\.[^@\s]{2,}$")
_READS = frozenset({"view", "read", "list", "search", "document", "history"})
"""Audit actions that only read: the history shows what was changed."""
DEMOGRAPHIC_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "birth_date",
    "sex",
    "phone",
    "email",
    "address",
)


@dataclass(frozen=True, slots=True)
class NewPatient:
    """A patient the front desk registers (``chart_number`` blank: the next free number)."""

    first_name: str
    last_name: str
    chart_number: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    phone: str | None = None
    email: str | None = None
    address: Mapping[str, Any] | None = None


def demographic_problems(values: Mapping[str, Any], today: date) -> list[Problem]:
    """What is wrong with a patient's demographics (only the fields given are checked)."""
    out = [
        Problem(f"patient-{key.replace('_', '-')}-invalid", key, "must be 1-60 characters")
        for key in ("first_name", "last_name")
        if key in values and not (str(values[key] or "").strip() and len(str(values[key])) <= 60)
    ]
    born = values.get("birth_date")
    if born is not None and born > today:
        out.append(Problem("patient-birth-date-future", "birth_date", "must not be in the future"))
    elif born is not None and born.year < 1900:
        out.append(Problem("patient-birth-date-invalid", "birth_date", "must be after 1900"))
    if values.get("sex") not in (None, "F", "M", "U"):
        out.append(Problem("patient-sex-invalid", "sex", "must be F, M or U"))
    if values.get("phone") and not _PHONE.match(str(values["phone"])):
        out.append(Problem("patient-phone-invalid", "phone", "must be 10 digits"))
    if values.get("email") and not _EMAIL.match(str(values["email"])):
        out.append(Problem("patient-email-invalid", "email", "is not an e-mail address"))
    out.extend(address_problems(values.get("address")))
    return out


def next_chart_number(uow: UnitOfWork) -> str:
    """The next free numeric chart number of the practice (``1001`` for the first)."""
    numbers = [
        int(n)
        for n in uow.session.execute(uow.records.scoped(patients).with_only_columns(patients.c.chart_number))
        .scalars()
        .all()
        if str(n).isdigit()
    ]
    return str(max([1000, *numbers]) + 1)


def next_chart_number_of(engine: Engine, practice_id: str, actor: str) -> str:
    """The next free numeric chart number of the practice."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return next_chart_number(uow)


def register_new_patient(engine: Engine, principal: Principal, data: NewPatient) -> str:
    """Register a patient after checking every field (a birth date in the future, a bad phone,
    e-mail or address, a chart number in use are refused, each with its field).

    Returns:
        the new patient's internal id.
    """
    values = {k: getattr(data, k) for k in DEMOGRAPHIC_FIELDS}
    problems = demographic_problems(values, current_date())
    if data.chart_number and not _CHART.match(data.chart_number):
        problems.append(Problem("patient-chart-number-invalid", "chart_number", "letters, digits, '.', '-'"))
    if problems:
        raise RecordsError("the patient was not registered", tuple(problems))
    chart = data.chart_number
    if not chart:
        with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
            chart = next_chart_number(uow)
    return register_patient(
        engine,
        principal.practice_id,
        _actor(principal),
        chart_number=chart,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        middle_name=(data.middle_name or "").strip() or None,
        birth_date=data.birth_date,
        sex=data.sex,
        phone=data.phone,
        email=data.email,
        address=dict(data.address) if data.address else None,
    )


def update_patient(
    engine: Engine, principal: Principal, patient_id: str, changes: Mapping[str, Any]
) -> list[str]:
    """Change a patient's demographics; returns the names of the fields that changed (the audit
    event names them, never their values).

    Raises:
        NotFoundError: no such patient in the caller's practice.
        RecordsError: a field is not valid (each problem with its field); nothing is written.
    """
    unknown = sorted(set(changes) - set(DEMOGRAPHIC_FIELDS))
    if unknown:
        raise refuse("patient-field-unknown", unknown[0], "is not a demographic field")
    problems = demographic_problems(changes, current_date())
    if problems:
        raise RecordsError("the patient was not changed", tuple(problems))
    with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
        old = uow.records.get(patients, patient_id)
        values = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in changes.items()}
        for key in ("first_name", "last_name"):
            if key in values:
                values[key] = str(values[key]).strip()
        changed = sorted(k for k, v in values.items() if getattr(old, k) != v)
        if changed:
            uow.records.update(patients, patient_id, **{k: values[k] for k in changed})
            uow.record("patient.update", "patient", patient_id, {"fields": changed})
    return changed


def patient_history(engine: Engine, principal: Principal, patient_id: str) -> list[dict[str, Any]]:
    """The changes among the newest 200 audit events of a patient and of their coverages and
    authorizations, newest first (what was done, by whom, when, which fields; never values)."""
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        patient = uow.records.get(patients, patient_id)
        ids = {patient.id}
        for cov in uow.records.coverages_of(patient.id):
            ids.add(cov.id)
            ids.update(a.id for a in uow.records.authorizations_of(cov.id))
        rows = uow.session.execute(
            select(
                audit_log.c.at,
                audit_log.c.actor,
                audit_log.c.action,
                audit_log.c.object_type,
                audit_log.c.details,
            )
            .where(audit_log.c.practice_id == principal.practice_id, audit_log.c.object_id.in_(sorted(ids)))
            .order_by(audit_log.c.seq.desc())
            .limit(200)
        ).all()
        names = display_names(uow.session.connection(), principal.practice_id)
    return [
        {
            "at": r.at,
            "who": names.get(r.actor) or ("command line" if r.actor.startswith("os:") else "system"),
            "action": r.action,
            "what": r.object_type,
            "fields": list((r.details or {}).get("fields", [])) if isinstance(r.details, dict) else [],
        }
        for r in rows
        if r.action.rsplit(".", 1)[-1] not in _READS
    ]
