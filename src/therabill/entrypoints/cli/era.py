"""``therabill era``: read an 835 remittance (parse and balance, no database)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.jsonview import remittance_json
from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.domain.denials import denial_worklist
from therabill.domain.remittance import Remittance
from therabill.entrypoints.cli.common import EXIT_FINDINGS, fail_from, print_json, read_input, stdout
from therabill.refdata.codes import denial_table

era_app = typer.Typer(help="835 remittances (ERA): read and balance.", no_args_is_help=True)


def _render(r: Remittance) -> None:
    h = r.header
    stdout.print(
        f"[bold]{h.payer_name or '?'}[/] paid {h.payment_amount} by {h.payment_method or '?'}"
        f" on {h.payment_date or '?'}, trace {h.trace_number or '?'}"
        + (" (notice only, no money)" if h.is_notice_only else ""),
        markup=True,
    )
    table = Table(title_justify="left")
    for col in ("claim", "payer #", "status", "charge", "paid", "patient", "balanced"):
        table.add_column(col)
    for c in r.claims:
        table.add_row(
            c.claim_id,
            c.payer_claim_control_number or "",
            c.status_words,
            str(c.charge),
            str(c.paid),
            str(c.patient_responsibility),
            "yes" if c.balanced else "NO",
        )
    stdout.print(table)
    for plb in r.provider_adjustments:
        stdout.print(f"  provider adjustment {plb.reason} {plb.reference or ''}: {plb.amount}")
    items = list(denial_worklist(r.claims, denial_table()))
    if items:
        stdout.print("[bold]Denials and reductions to work:[/]", markup=True)
        for it in items:
            where = f"{it.claim_id} line {it.line_id or it.code}" if it.code else it.claim_id
            stdout.print(f"  {where}: {it.group}-{it.reason} {it.amount}: {it.words} Fix: {it.fix}")
    for p in r.all_problems:
        stdout.print(f"  [red]problem[/] {p.loc}: {p.message} ({p.code})", markup=True)
    total = sum((c.paid for c in r.claims), Decimal("0.00"))
    stdout.print(
        f"  {len(r.claims)} claim(s), paid {total}; transaction balanced: {'yes' if r.transaction_balanced else 'NO'}"
    )


@era_app.command("read")
def era_read(
    file: Annotated[str, typer.Argument(help="An 835 file, or - for standard input.")],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print JSON (one object per transaction; a list when there are several)."
        ),
    ] = False,
) -> None:
    """Read an 835: payments, adjustments, denials in words, and what does not balance.

    Exit 0 when everything balances, 1 when a claim or transaction has problems, 2 when
    the file cannot be read.
    """
    data = read_input(file)
    try:
        remittances = list(read_835(data))
    except X12Error as exc:
        fail_from(exc)
    if as_json:
        views = [remittance_json(r) for r in remittances]
        print_json(views[0] if len(views) == 1 else views)
    else:
        for r in remittances:
            _render(r)
    if any(r.all_problems for r in remittances):
        raise typer.Exit(EXIT_FINDINGS)
