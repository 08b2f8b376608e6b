"""Starting a practice: the practice and its first owner, in one transaction.

``start_practice`` is what ``therabill init`` calls (interactively or with flags). The owner
gets no two-step secret here: owners must enrol TOTP, so their first log-in asks them to
(``accounts.next_stage`` answers ``enroll``). Every problem of the whole input is reported at
once, each with its field, and nothing is written unless everything is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Engine, select

from therabill.adapters.db.tables import practices
from therabill.clock import Clock, current_time
from therabill.domain.errors import Problem
from therabill.security import passwords
from therabill.service_layer import accounts
from therabill.service_layer import practice_settings as ps
from therabill.service_layer.practice import create_practice
from therabill.service_layer.uow import one_transaction

__all__ = ["NewPractice", "OnboardingError", "StartedPractice", "onboarding_problems", "start_practice"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,149}$")


class OnboardingError(accounts.AccountError):
    """The practice or its owner cannot be created as given (every problem listed)."""

    code = "onboarding-invalid"


@dataclass(frozen=True, slots=True)
class NewPractice:
    """What ``therabill init`` asks for.

    Attributes:
        name: the practice's name (the billing provider's name on claims).
        slug: its short name (``--practice``), lower-case letters, digits and dashes.
        owner_username: the first owner's log-in name.
        owner_name: the owner's name as people see it.
        owner_password: the owner's password (the password policy applies).
        npi: the organization NPI, when the practice bills as an organization.
        tax_id: EIN (9 digits).
        taxonomy: NUCC taxonomy code of the practice.
        phone: 10 digits.
    """

    name: str
    slug: str
    owner_username: str
    owner_name: str
    owner_password: str
    npi: str | None = None
    tax_id: str | None = None
    taxonomy: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class StartedPractice:
    """The new practice and its owner."""

    practice_id: str
    slug: str
    owner_user_id: str
    owner_username: str


def suggested_slug(name: str) -> str:
    """A slug made of the practice name (``Calm Hands Massage`` → ``calm-hands-massage``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return slug[:64].strip("-") or "practice"


def onboarding_problems(data: NewPractice, *, slug_taken: bool, username_taken: bool) -> list[Problem]:
    """Every problem of a new practice and owner (empty when they can be created)."""
    out = list(
        ps.practice_problems(
            ps.PracticeInput(
                name=data.name, npi=data.npi, tax_id=data.tax_id, taxonomy=data.taxonomy, phone=data.phone
            )
        )
    )
    if not _SLUG.match(data.slug):
        out.append(
            Problem("onboarding-slug-invalid", "slug", "must be 3-64 lower-case letters, digits and dashes")
        )
    elif slug_taken:
        out.append(Problem("practice-exists", "slug", f"a practice {data.slug!r} already exists"))
    username = data.owner_username.strip().lower()
    if not _USERNAME.match(username):
        out.append(
            Problem(
                "account-username-invalid",
                "owner_username",
                "must be 2-150 characters: letters, digits, '.', '_', '-', '@'",
            )
        )
    elif username_taken:
        out.append(Problem("account-username-taken", "owner_username", "is already taken"))
    if not data.owner_name.strip() or len(data.owner_name) > 120:
        out.append(Problem("onboarding-owner-name-invalid", "owner_name", "must be 1-120 characters"))
    out.extend(
        Problem("account-password-policy", "owner_password", p)
        for p in passwords.policy_problems(data.owner_password, username)
    )
    return out


def start_practice(
    engine: Engine, data: NewPractice, actor: str, clock: Clock = current_time
) -> StartedPractice:
    """Create the practice and its first owner in one transaction.

    Raises:
        OnboardingError: anything in ``data`` is invalid, the slug or the username is taken;
            every problem is listed and nothing is written.
    """
    username = data.owner_username.strip().lower()
    with engine.connect() as conn:
        slug_taken = conn.execute(select(practices.c.id).where(practices.c.slug == data.slug)).first()
        username_taken = accounts.user_exists(conn, username)
    problems = onboarding_problems(data, slug_taken=slug_taken is not None, username_taken=username_taken)
    if problems:
        raise OnboardingError("the practice was not created", tuple(problems))
    with one_transaction(engine) as session:
        practice_id = create_practice(
            engine,
            name=data.name.strip(),
            slug=data.slug,
            actor=actor,
            npi=data.npi,
            tax_id=data.tax_id,
            taxonomy=data.taxonomy,
            phone=data.phone,
            clock=clock,
        )
        user_id = accounts.create_user(
            session.connection(),
            username=username,
            display_name=data.owner_name.strip(),
            password=data.owner_password,
            practice_id=practice_id,
            role="owner",
            now=clock().replace(tzinfo=None),
        )
    return StartedPractice(practice_id, data.slug, user_id, username)
