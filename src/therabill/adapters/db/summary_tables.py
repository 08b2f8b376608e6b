"""Derived tables of the revenue and aging reports at practice scale (issue 22), beside the
ledger's monthly totals and open balances of ``ledger_tables``.

* ``ledger_day_totals``: the monthly totals by day, for the days of a range no whole month covers;
* ``ledger_line_payments`` and ``ledger_unit_totals``: insurance payments per claim line and
  payer, and the paid lines summed per payer, code and first and last day paid (paid per unit);
* ``ledger_patient_open``: the open patient balances summed per patient (aging's oldest bucket);
* ``ledger_claim_open`` and ``ledger_claim_ages``: the insurance balances with their claim's
  first submission, and the open ones summed per payer and day of first submission (aging);
* ``ix_ledger_balances_started``: the open balances by the day they started (aging's recent items).

Kept in the posting transaction (``revenue_totals``, ``aging_totals``, called from
``report_totals.add_posted``) and rebuilt from the ledger on demand.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from therabill.adapters.db.base import metadata
from therabill.adapters.db.ledger_tables import ledger_balances, ledger_totals_table

ledger_day_totals = ledger_totals_table("ledger_day_totals", Column("day", Date, nullable=False))
"""``ledger_month_totals`` by UTC day of posting instead of month (same key otherwise): the
revenue report reads the days of a range that no whole month covers from it."""

ledger_line_payments = Table(
    "ledger_line_payments",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("claim_line_id", String(32), nullable=False),
    Column("code", String(5), nullable=False),
    Column("units", Integer, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    PrimaryKeyConstraint("practice_id", "payer_id", "claim_line_id", name="pk_ledger_line_payments"),
    Index(
        "ix_ledger_line_payments_spread",
        "practice_id",
        "first_day",
        "last_day",
        "payer_id",
        "claim_line_id",
        "code",
        "units",
        sqlite_where=text("first_day <> last_day"),
        postgresql_where=text("first_day <> last_day"),
    ),
)
"""The insurance payments of each claim line and payer (``''`` for none), summed: the line's
code and units, what was paid, how many entries, the first and last UTC day one was posted.
Only lines paid on more than one day are in ``ix_ledger_line_payments_spread``."""

ledger_unit_totals = Table(
    "ledger_unit_totals",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("code", String(5), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "practice_id", "payer_id", "code", "first_day", "last_day", name="pk_ledger_unit_totals"
    ),
)
"""The ``ledger_line_payments`` rows with a positive payment summed per payer, code and first
and last day paid: a range's paid per unit reads the lines paid wholly inside it from here and
only the lines paid on both sides of one of its bounds from the entries."""

ledger_patient_open = Table(
    "ledger_patient_open",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("patient_id", String(32), nullable=False),
    Column("aged_cents", BigInteger, nullable=False),
    Column("aged_items", Integer, nullable=False),
    Column("credit_cents", BigInteger, nullable=False),
    Column("credit_rows", Integer, nullable=False),
    PrimaryKeyConstraint("practice_id", "patient_id", name="pk_ledger_patient_open"),
)
"""The patient rows of ``ledger_balances`` summed per practice and patient: the items owed (a
positive balance on an item) and their count, and the credits (a negative balance, or a balance
on no item) and theirs. Aging takes a patient's oldest bucket as this less the recent items."""

ledger_claim_open = Table(
    "ledger_claim_open",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("claim_id", String(32), nullable=False),
    Column("balance_cents", BigInteger, nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("practice_id", "payer_id", "claim_id", name="pk_ledger_claim_open"),
    Index(
        "ix_ledger_claim_open_unsubmitted",
        "practice_id",
        "payer_id",
        "claim_id",
        "balance_cents",
        sqlite_where=text("submitted_at IS NULL AND balance_cents <> 0"),
        postgresql_where=text("submitted_at IS NULL AND balance_cents <> 0"),
    ),
)
"""The insurance balances of ``ledger_balances`` (per payer and claim, ``''`` for none) with the
claim's first submission as it was when the balance last changed (``NULL``: not submitted then).
A row whose balance went back to zero may stay (zero); a row that never had one may be missing.
The balances of claims not submitted then are in ``ix_ledger_claim_open_unsubmitted``: aging
looks their start up when it runs."""

ledger_claim_ages = Table(
    "ledger_claim_ages",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("start_day", Date, nullable=False),
    Column("aged_cents", BigInteger, nullable=False),
    Column("aged_claims", Integer, nullable=False),
    Column("credit_cents", BigInteger, nullable=False),
    Column("credit_rows", Integer, nullable=False),
    PrimaryKeyConstraint("practice_id", "payer_id", "start_day", name="pk_ledger_claim_ages"),
)
"""The open ``ledger_claim_open`` rows of submitted claims summed per payer and UTC day of first
submission: what is owed (positive balances) and by how many claims, and the credits (negative
balances). Aging buckets these few rows by their day instead of reading every open claim."""

ix_ledger_balances_started = Index(
    "ix_ledger_balances_started",
    ledger_balances.c.practice_id,
    ledger_balances.c.bucket,
    ledger_balances.c.first_posted_at,
    ledger_balances.c.patient_id,
    ledger_balances.c.item_id,
    ledger_balances.c.balance_cents,
    sqlite_where=text("balance_cents <> 0"),
    postgresql_where=text("balance_cents <> 0"),
)
"""The open balances by the time they started: aging reads a patient's recent items alone."""

SUMMARY_TABLES = (
    ledger_day_totals,
    ledger_line_payments,
    ledger_unit_totals,
    ledger_patient_open,
    ledger_claim_open,
    ledger_claim_ages,
)
