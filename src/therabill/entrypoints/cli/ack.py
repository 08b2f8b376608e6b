"""``therabill ack``: read TA1, 999 and 277CA acknowledgments (no database)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from therabill.adapters.x12.acknowledgments import read_acknowledgments
from therabill.adapters.x12.errors import X12Error
from therabill.entrypoints.cli.common import EXIT_FINDINGS, fail_from, print_json, read_input, stdout

ack_app = typer.Typer(help="Acknowledgments (TA1, 999, 277CA).", no_args_is_help=True)


@ack_app.command("read")
def ack_read(
    file: Annotated[str, typer.Argument(help="A TA1, 999 or 277CA file, or - for standard input.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Accepted or rejected, per interchange, group, transaction and claim, with the reason.

    Exit 0 when everything was accepted, 1 when something was rejected.
    """
    try:
        acks = list(read_acknowledgments(read_input(file)))
    except X12Error as exc:
        fail_from(exc)
    if as_json:
        print_json([asdict(a) for a in acks])
    else:
        for a in acks:
            ref = f" group {a.group_control_number}" if a.group_control_number else ""
            stdout.print(f"{a.kind} interchange {a.interchange_control_number}{ref}: {a.words}")
            for e in a.errors:
                stdout.print(f"  {e.code}: {e.words}")
            for t in a.transactions:
                stdout.print(
                    f"  {t.transaction_type} {t.control_number}: {'accepted' if t.accepted else 'REJECTED'} ({t.status})"
                )
                for e in t.errors:
                    where = f"{e.segment_id or ''} #{e.segment_position or '?'}" + (
                        f" element {e.element_position}" if e.element_position else ""
                    )
                    stdout.print(f"    {where}: {e.words}")
            for c in a.claims:
                stdout.print(
                    f"  claim {c.claim_id}: {'accepted' if c.accepted else 'REJECTED'} ({c.category}:{c.status_code} {c.words})"
                )
    if any(
        not a.accepted or any(not t.accepted for t in a.transactions) or any(not c.accepted for c in a.claims)
        for a in acks
    ):
        raise typer.Exit(EXIT_FINDINGS)
