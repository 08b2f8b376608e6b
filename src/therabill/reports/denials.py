"""Denials: denial rate by payer and code, the top reasons in plain words, money at stake,
and how many denied lines were fixed and paid.

A claim line counts as *adjudicated* when a payer posted a payment or an adjustment on it;
as *denied* when a payer posted an adjustment in group CO, OA or PI whose reason is not a
routine contractual one (``data/contractual.toml``). *Money at stake* is what those
adjustments still hold (net of reversals). A denied line is *fixed and paid* when its
denial adjustments have been reversed to zero and a payer has paid on it. Lines are chosen
by their date of service. Remark codes (RARC) are not kept by the ledger, so the reasons
are the CARCs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, func, select

from therabill.adapters.db import denial_totals
from therabill.adapters.db.ledger_tables import ledger_denial_days as days
from therabill.adapters.db.ledger_tables import ledger_denial_reasons as reason_lines
from therabill.domain.denials import explain
from therabill.domain.money import ZERO
from therabill.refdata.codes import denial_table
from therabill.reports import charts
from therabill.reports.common import (
    Progress,
    ReportQuery,
    Table,
    check_payer,
    date_range,
    load_names,
    money,
    pct,
    ratio,
    read_connection,
)
from therabill.reports.revenue import contractual_codes

DENIAL_GROUPS = denial_totals.DENIAL_GROUPS
TOP_REASONS = 10


@dataclass(frozen=True, slots=True)
class DenialGroup:
    """Denial figures of one payer (or code).

    Attributes:
        name: payer name or code.
        adjudicated: claim lines a payer paid or adjusted.
        denied: lines with a denial adjustment.
        at_stake: money the denial adjustments still hold.
        fixed_and_paid: denied lines whose denial was reversed and that were then paid.
    """

    name: str
    adjudicated: int
    denied: int
    at_stake: Decimal
    fixed_and_paid: int

    @property
    def rate(self) -> Decimal | None:
        """Denied / adjudicated lines, in percent."""
        return ratio(Decimal(self.denied), Decimal(self.adjudicated))


@dataclass(frozen=True, slots=True)
class Reason:
    """One denial reason.

    Attributes:
        code: group and CARC (``CO-50``).
        words: the reason in plain words.
        fix: the likely fix.
        lines: lines denied for it.
        amount: money it still holds.
    """

    code: str
    words: str
    fix: str
    lines: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class DenialsReport:
    """The denials report.

    Attributes:
        query: what it covers (by date of service).
        practice: the practice's name.
        total: figures over all payers.
        by_payer: per payer.
        by_code: per procedure code.
        reasons: the top reasons, most money first.
        notes: definitions.
    """

    query: ReportQuery
    practice: str
    total: DenialGroup
    by_payer: tuple[DenialGroup, ...]
    by_code: tuple[DenialGroup, ...]
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...]
    name: str = "denials"
    title: str = "Denials"

    def _table(self, title: str, first: str, groups: tuple[DenialGroup, ...]) -> Table:
        rows = [
            (g.name, g.adjudicated, g.denied, pct(g.rate), g.at_stake, g.fixed_and_paid)
            for g in (*groups, self.total)
        ]
        rows[-1] = ("Total", *rows[-1][1:])
        return Table(
            title,
            (
                first,
                "Adjudicated lines",
                "Denied lines",
                "Denial rate",
                "Money at stake ($)",
                "Fixed and paid",
            ),
            tuple(rows),
            total_row=True,
        )

    def tables(self) -> list[Table]:
        """By payer, by code, top reasons."""
        return [
            self._table("Denial rate by payer", "Payer", self.by_payer),
            self._table("Denial rate by code", "Code", self.by_code),
            Table(
                "Top denial reasons",
                ("Reason", "In plain words", "Likely fix", "Lines", "Money at stake ($)"),
                tuple((r.code, r.words, r.fix, r.lines, r.amount) for r in self.reasons),
            ),
        ]

    def charts(self) -> list[str]:
        """Denial rate by payer; money at stake by reason."""
        return [
            charts.bar_chart(
                "Denial rate by payer",
                [g.name for g in self.by_payer],
                [("Denial rate", [g.rate or ZERO for g in self.by_payer])],
                x_label="Payer",
                y_label="Denied lines",
                unit="%",
            ),
            charts.bar_chart(
                "Money at stake by denial reason",
                [r.code for r in self.reasons],
                [("Money at stake", [r.amount for r in self.reasons])],
                x_label="Reason (group-CARC)",
                y_label="Amount",
                unit="$",
            ),
        ]


def build(engine: Engine, q: ReportQuery, progress: Progress | None = None) -> DenialsReport:
    """The denials report of ``q``.

    Read from the denial tables kept at posting time (``adapters.db.denial_totals``): the day
    totals (a row per date of service, payer and code) and the denial reasons per line, not
    every entry and line of the range.
    """
    step = progress or (lambda _s: None)
    _groups, routine = contractual_codes()
    day_conds = [
        days.c.practice_id == q.practice_id,
        *date_range(days.c.date_of_service, q),
        *([days.c.payer_id == q.payer_id] if q.payer_id else []),
    ]
    group_stmt = (
        select(
            days.c.payer_id.label("payer"),
            days.c.code,
            func.sum(days.c.lines).label("lines"),
            func.sum(days.c.denied).label("denied"),
            func.sum(days.c.stake_cents).label("stake"),
            func.sum(days.c.fixed).label("fixed"),
        )
        .where(*day_conds)
        .group_by(days.c.payer_id, days.c.code)
    )
    reason_stmt = (
        select(
            reason_lines.c.group_code,
            reason_lines.c.reason_code,
            func.count(reason_lines.c.claim_line_id.distinct()).label("lines"),
            func.sum(reason_lines.c.cents).label("cents"),
        )
        .where(
            reason_lines.c.practice_id == q.practice_id,
            *date_range(reason_lines.c.date_of_service, q),
            *([reason_lines.c.payer_id == q.payer_id] if q.payer_id else []),
        )
        .group_by(reason_lines.c.group_code, reason_lines.c.reason_code)
    )
    with read_connection(engine) as conn:
        names = load_names(conn, q.practice_id)
        check_payer(names, q.payer_id)
        step("lines")
        rows = [r for r in conn.execute(group_stmt).all() if r.lines]
        step("reasons")
        reason_rows = conn.execute(reason_stmt).all()
    acc: dict[str, dict[str, list[int]]] = {
        "payer": defaultdict(lambda: [0, 0, 0, 0]),
        "code": defaultdict(lambda: [0, 0, 0, 0]),
    }
    tot = [0, 0, 0, 0]
    for r in rows:
        vals = (int(r.lines), int(r.denied or 0), int(r.stake or 0), int(r.fixed or 0))
        for key, dim in ((names.payer(r.payer or None), "payer"), (r.code, "code")):
            a = acc[dim][key]
            for i, v in enumerate(vals):
                a[i] += v
        for i, v in enumerate(vals):
            tot[i] += v

    def group(name: str, a: list[int]) -> DenialGroup:
        return DenialGroup(name, a[0], a[1], money(a[2]), a[3])

    table = denial_table()
    reasons = []
    for r in reason_rows:
        advice = explain(r.group_code or "", r.reason_code or "", table)
        reasons.append(
            Reason(f"{r.group_code}-{r.reason_code}", advice.words, advice.fix, int(r.lines), money(r.cents))
        )
    reasons.sort(key=lambda r: (-r.amount, -r.lines, r.code))
    notes = (
        f"Range {q.describe()}, by the claim line's date of service.",
        "Denied: a CO, OA or PI adjustment with a reason other than the routine contractual ones ("
        + ", ".join(sorted(routine))
        + "); denial rate = denied / adjudicated lines.",
        "Money at stake: what the denial adjustments still hold, net of reversals.",
        "Fixed and paid: denied lines whose denial adjustments were reversed and that a payer then paid.",
        "Remark codes (RARC) are not stored with ledger entries, so reasons are CARCs.",
    )
    return DenialsReport(
        q,
        names.practice,
        group("Total", tot),
        tuple(group(k, v) for k, v in sorted(acc["payer"].items())),
        tuple(group(k, v) for k, v in sorted(acc["code"].items())),
        tuple(reasons[:TOP_REASONS]),
        notes,
    )
