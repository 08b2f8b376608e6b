"""The practice and its set-up: providers, payers, enrollments.

Every function takes the engine, the practice id and the actor, opens a ``UnitOfWork`` and
either commits all of its changes (with their audit rows) or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from datetime import date
from typing import Any

from sqlalchemy import Engine, insert, select

from therabill.adapters.db.engine import session_factory
from therabill.adapters.db.repositories import new_id
from therabill.adapters.db.tables import (
    payers,
    practices,
    provider_enrollments,
    provider_licenses,
    providers,
)
from therabill.clock import Clock, current_time
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.money import D, MoneyError
from therabill.service_layer import audit
from therabill.service_layer.errors import refuse
from therabill.service_layer.uow import UnitOfWork, ambient_session


def create_practice(
    engine: Engine,
    *,
    name: str,
    slug: str,
    actor: str,
    npi: str | None = None,
    tax_id: str | None = None,
    tax_id_type: str | None = "EIN",
    taxonomy: str | None = None,
    entity_type: str = "organization",
    phone: str | None = None,
    address: Mapping[str, Any] | None = None,
    place_of_service: str | None = "11",
    fees: Mapping[str, str] | None = None,
    clock: Clock = current_time,
) -> str:
    """Create a practice and return its id (``slug`` is its short name for ``--practice``)."""
    for code, fee in (fees or {}).items():
        try:
            D(str(fee))
        except MoneyError as exc:
            raise refuse("practice-fee-invalid", f"fees.{code}"[:60], str(exc)[:120]) from None
    practice_id = new_id()
    now = clock()
    outer = ambient_session(engine)
    with (
        nullcontext(outer) if outer is not None else session_factory(engine)() as session,
        nullcontext() if outer is not None else session.begin(),
    ):
        if session.execute(select(practices.c.id).where(practices.c.slug == slug)).first():
            raise refuse("practice-exists", "slug", f"a practice {slug!r} already exists")
        session.execute(
            insert(practices).values(
                id=practice_id,
                name=name,
                slug=slug,
                npi=npi,
                tax_id=tax_id,
                tax_id_type=tax_id_type,
                taxonomy=taxonomy,
                entity_type=entity_type,
                phone=phone,
                address=dict(address) if address else None,
                place_of_service=place_of_service,
                fees=dict(fees) if fees else None,
                next_control_number=1,
                created_at=now,
            )
        )
        audit.append(
            session, practice_id, actor, [audit.AuditEvent("practice.create", "practice", practice_id)], now
        )
    return practice_id


def resolve_practice(engine: Engine, key: str | None) -> str:
    """The id of the practice named by ``key`` (slug or id); the only practice when ``None``."""
    with session_factory(engine, read_only=True)() as session, session.begin():
        if key:
            query = select(practices.c.id).where((practices.c.slug == key) | (practices.c.id == key))
            found = session.execute(query).scalars().all()
        else:
            found = session.execute(select(practices.c.id)).scalars().all()
    if len(found) == 1:
        return str(found[0])
    if key:
        raise NotFoundError("no such practice", (Problem("practice-not-found", "--practice", f"no {key!r}"),))
    if not found:
        raise NotFoundError(
            "no practice yet", (Problem("practice-not-found", "--practice", "run `therabill demo` first"),)
        )
    raise refuse("practice-ambiguous", "--practice", "several practices exist; name one with --practice")


def add_provider(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    first_name: str,
    last_name: str,
    npi: str | None,
    taxonomy: str | None,
    credential: str | None,
    is_billing_entity: bool = False,
    licenses: Iterable[tuple[str, str, date | None]] = (),
    clock: Clock = current_time,
) -> str:
    """Add a therapist with their state licenses ``(state, number, expires_on)``."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        provider_id = uow.records.insert(
            providers,
            first_name=first_name,
            last_name=last_name,
            npi=npi,
            taxonomy=taxonomy,
            credential=credential,
            is_billing_entity=is_billing_entity,
            active=True,
            created_at=uow.now(),
        )
        for state, number, expires in licenses:
            uow.records.insert(
                provider_licenses, provider_id=provider_id, state=state, number=number, expires_on=expires
            )
        uow.record("provider.add", "provider", provider_id)
    return provider_id


def add_payer(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    name: str,
    payer_id: str | None,
    profile: str | None,
    claim_filing_indicator: str | None,
    address: Mapping[str, Any] | None = None,
    clock: Clock = current_time,
) -> str:
    """Add a payer (its electronic id, rule profile, SBR09 value and claims address)."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        new = uow.records.insert(
            payers,
            name=name,
            payer_id=payer_id,
            profile=profile,
            claim_filing_indicator=claim_filing_indicator,
            address=dict(address) if address else None,
            created_at=uow.now(),
        )
        uow.record("payer.add", "payer", new)
    return new


def enroll_provider(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    provider_id: str,
    payer_id: str,
    enrolled: bool,
    in_network: bool,
    effective_from: date | None = None,
    effective_to: date | None = None,
    payer_provider_id: str | None = None,
) -> str:
    """Record a provider's enrollment with a payer."""
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.get(providers, provider_id)
        uow.records.get(payers, payer_id)
        new = uow.records.insert(
            provider_enrollments,
            provider_id=provider_id,
            payer_id=payer_id,
            enrolled=enrolled,
            in_network=in_network,
            effective_from=effective_from,
            effective_to=effective_to,
            payer_provider_id=payer_provider_id,
        )
        uow.record("provider.enroll", "provider", provider_id, {"payer": payer_id, "enrolled": enrolled})
    return new


def payer_names(engine: Engine, practice_id: str, actor: str) -> list[tuple[str, str]]:
    """The practice's payers as (id, name), by name (for choosing one)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return [(p.id, p.name) for p in sorted(uow.records.rows(payers), key=lambda p: p.name)]
