"""``therabill init``: start your own practice (the practice and its first owner).

With every required option given it asks nothing (scripts, containers); otherwise it asks
for what is missing, the password without echo and twice. The owner enrols two-step log-in
(an authenticator app) at their first log-in on the web.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from therabill import config
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import fail, fail_from, print_json
from therabill.service_layer import database
from therabill.service_layer.onboarding import NewPractice, start_practice, suggested_slug
from therabill.service_layer.uow import system_actor

PASSWORD_ENV = "THERABILL_OWNER_PASSWORD"
"""Where a script may put the owner's password instead of the command line."""


def _ask(value: str | None, prompt: str, *, interactive: bool, default: str | None = None) -> str:
    if value is not None:
        return value
    if not interactive:
        fail(f"{prompt.lower()} is missing: give it as an option (or run without --no-input)")
    answer: str = typer.prompt(prompt, default=default) if default else typer.prompt(prompt)
    return answer.strip()


def init_command(
    name: Annotated[str | None, typer.Option("--name", help="The practice's name.")] = None,
    slug: Annotated[
        str | None, typer.Option("--slug", help="Short name for --practice (default: made of the name).")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="The owner's log-in name.")] = None,
    owner_name: Annotated[str | None, typer.Option("--owner-name", help="The owner's full name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the owner's password from standard input.")
    ] = False,
    npi: Annotated[str | None, typer.Option("--npi", help="Organization NPI (optional).")] = None,
    tax_id: Annotated[str | None, typer.Option("--tax-id", help="EIN, 9 digits (optional).")] = None,
    taxonomy: Annotated[str | None, typer.Option("--taxonomy", help="NUCC taxonomy (optional).")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="10 digits (optional).")] = None,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Data folder (same as THERABILL_DATA_DIR).")
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never ask: fail when something required is missing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    password_env: Annotated[
        str | None, typer.Option("--owner-password-env", hidden=True, envvar=PASSWORD_ENV, show_envvar=False)
    ] = None,
) -> None:
    """Create your practice and its first owner (the owner sets up two-step log-in at first log-in).

    The password comes from a prompt, from standard input (--password-stdin) or from
    THERABILL_OWNER_PASSWORD; never from the command line.
    """
    interactive = not no_input
    practice_name = _ask(name, "Practice name", interactive=interactive)
    practice_slug = slug or (
        suggested_slug(practice_name)
        if not interactive
        else _ask(None, "Short name", interactive=True, default=suggested_slug(practice_name))
    )
    username = _ask(owner, "Owner log-in name", interactive=interactive)
    full_name = _ask(owner_name, "Owner full name", interactive=interactive)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif password_env:
        password = password_env
    elif interactive:
        password = typer.prompt("Owner password", hide_input=True, confirmation_prompt=True)
    else:
        fail(f"the owner's password is missing: use --password-stdin or {PASSWORD_ENV}")
    try:
        engine = database.open_database(config.database_url(data_dir) if data_dir else None, upgraded=True)
        started = start_practice(
            engine,
            NewPractice(
                name=practice_name,
                slug=practice_slug,
                owner_username=username,
                owner_name=full_name,
                owner_password=password,
                npi=npi or None,
                tax_id=tax_id or None,
                taxonomy=taxonomy or None,
                phone=phone or None,
            ),
            system_actor(),
        )
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(
            {
                "practice_id": started.practice_id,
                "slug": started.slug,
                "owner": started.owner_username,
                "owner_user_id": started.owner_user_id,
            }
        )
        return
    typer.echo(f"practice {practice_name!r} created (short name {started.slug!r})")
    typer.echo(f"owner {started.owner_username!r}: sets up two-step log-in at the first log-in")
    typer.echo("next: therabill serve  (then log in, and add providers and payers under Settings)")
