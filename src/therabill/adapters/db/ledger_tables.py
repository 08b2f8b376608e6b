"""The ledger tables: entries, remittances, their claims, the posting worklist, keys.

``ledger_entries`` is append-only: database triggers (SQLite and PostgreSQL) refuse every
UPDATE and DELETE, so a posted entry can only be corrected by a reversal row that names it
(``reverses_entry_id``, unique: an entry is reversed at most once). ``remittances`` and
``remittance_claims`` are append-only the same way. Money is integer cents.

Posting keys: ``idempotency_keys`` holds one row per money-moving request (a payment, a
remittance claim, a charge), unique per practice, written in the same transaction as the
entries, so a request posted twice finds its key and changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)

from therabill.adapters.db.base import metadata

ENTRY_KINDS = (
    "charge",
    "insurance-payment",
    "adjustment",
    "write-off",
    "transfer",
    "patient-payment",
    "tip",
    "prepaid-sale",
    "redemption",
    "refund",
)
BUCKETS = ("insurance", "patient", "prepaid", "tips")
APPEND_ONLY_TABLES = (
    "ledger_entries",
    "remittances",
    "remittance_claims",
    "remittance_lines",
    "practice_ledger_entries",
)
"""Tables whose rows the database refuses to update or delete."""

APPEND_ONLY_MESSAGE = "ledger-append-only: posted rows cannot be changed or deleted; post a reversal"


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def sqlite_trigger_sql(table: str) -> list[str]:
    """The SQLite triggers that refuse UPDATE and DELETE on ``table``."""
    return [
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        for op in ("UPDATE", "DELETE")
    ]


POSTGRES_FUNCTION_SQL = (
    "CREATE OR REPLACE FUNCTION therabill_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME; END $$"
)


def postgres_trigger_sql(table: str) -> list[str]:
    """The PostgreSQL triggers that refuse UPDATE, DELETE and TRUNCATE on ``table``."""
    return [
        POSTGRES_FUNCTION_SQL,
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION therabill_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION therabill_refuse_change()",
    ]


def _id() -> Column[str]:
    return Column("id", String(32), primary_key=True)


def _practice(*, index: bool = True) -> Column[str]:
    """The practice column; ``index=False`` where another index of the table starts with it."""
    return Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=index)


prepaid_instruments = Table(
    "prepaid_instruments",
    metadata,
    _id(),
    _practice(index=False),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("code", String(40), nullable=False),
    Column("description", String(200)),
    Column("sessions", Integer),
    Column("price_cents", BigInteger, nullable=False),
    Column("expires_on", Date),
    Column("sold_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("practice_id", "code", name="uq_prepaid_instruments_practice_code"),
    CheckConstraint("kind IN ('package', 'gift-certificate')", name="kind"),
    CheckConstraint("price_cents > 0", name="price"),
)

remittances = Table(
    "remittances",
    metadata,
    _id(),
    _practice(index=False),
    Column("payer_id", String(32), ForeignKey("payers.id"), index=True),
    Column("payer_identifier", String(80)),
    Column("payer_name", String(120)),
    Column("trace_number", String(80)),
    Column("payment_cents", BigInteger, nullable=False),
    Column("payment_date", Date),
    Column("payment_method", String(3)),
    Column("provider_adjustment_cents", BigInteger, nullable=False),
    Column("claim_count", Integer, nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("file_sha256", String(64)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("received_by", String(100), nullable=False),
    UniqueConstraint("practice_id", "idempotency_key", name="uq_remittances_practice_key"),
)

remittance_claims = Table(
    "remittance_claims",
    metadata,
    _id(),
    _practice(index=False),
    Column("remittance_id", String(32), ForeignKey("remittances.id"), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("claim_number", String(40), nullable=False),
    Column("status", String(3), nullable=False),
    Column("payer_claim_control_number", String(50)),
    Column("charge_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("patient_responsibility_cents", BigInteger, nullable=False),
    Column("claim_id", String(32), ForeignKey("claims.id"), index=True),
    Column("posted", Boolean, nullable=False),
    Column("crossover", Boolean, nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    Column("payer_id", String(32)),
    Column("remarks", JSON),
    UniqueConstraint("practice_id", "idempotency_key", name="uq_remittance_claims_practice_key"),
    UniqueConstraint("remittance_id", "ordinal", name="uq_remittance_claims_remittance_ordinal"),
)

remittance_lines = Table(
    "remittance_lines",
    metadata,
    _id(),
    _practice(),
    Column("remittance_claim_id", String(32), ForeignKey("remittance_claims.id"), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("claim_line_id", String(32), ForeignKey("claim_lines.id"), index=True),
    Column("line_id", String(50)),
    Column("code", String(10), nullable=False),
    Column("charge_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("adjustments", JSON, nullable=False),
    Column("remarks", JSON, nullable=False),
    UniqueConstraint("remittance_claim_id", "ordinal", name="uq_remittance_lines_claim_ordinal"),
)
"""Each service line (SVC) of a posted claim payment: its CAS and its remark codes (RARC)."""

ledger_entries = Table(
    "ledger_entries",
    metadata,
    _id(),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),  # indexes lead with it
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("item_id", String(32), index=True),
    Column("claim_id", String(32), ForeignKey("claims.id"), index=True),
    Column("claim_line_id", String(32), ForeignKey("claim_lines.id"), index=True),
    Column("payer_id", String(32), ForeignKey("payers.id"), index=True),
    Column("kind", String(20), nullable=False),
    Column("bucket", String(10), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("group_code", String(20)),
    Column("reason_code", String(10)),
    Column("detail", String(40)),
    Column("instrument_id", String(32), ForeignKey("prepaid_instruments.id")),
    Column("journal_id", String(32)),
    Column("reverses_entry_id", String(32), ForeignKey("ledger_entries.id"), unique=True),
    Column("idempotency_key", String(255), index=True),
    Column("remittance_id", String(32), ForeignKey("remittances.id")),
    Column("remittance_claim_id", String(32), ForeignKey("remittance_claims.id")),
    Column("memo", Text),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    Column("posted_by", String(100), nullable=False),
    Column("provider_id", String(32)),
    CheckConstraint(f"kind IN ({_in(ENTRY_KINDS)})", name="kind"),
    CheckConstraint(f"bucket IN ({_in(BUCKETS)})", name="bucket"),
    CheckConstraint("amount_cents <> 0", name="amount_not_zero"),
)
"""Indexed (revision ``0028_posting_triggers``) by what is read by it: ``patient_id``, ``claim_id``,
``claim_line_id``, ``payer_id``, ``item_id``, ``idempotency_key`` (exactly-once postings),
``reverses_entry_id`` (unique: an entry is reversed once) and the report indexes of
``report_indexes`` (all led by ``practice_id``). Not by ``practice_id`` alone (the report indexes
cover it), ``journal_id``, ``instrument_id``, ``remittance_id`` or ``remittance_claim_id``: no
query looks entries up by those (a transfer's legs and an instrument's entries are found among a
patient's entries), and the rows they refer to are never deleted (nor are entries: the table is
append-only), so no foreign-key check needs them. Every foreign key stays: each one is checked
through the referred table's primary key when an entry is written."""

posting_worklist = Table(
    "posting_worklist",
    metadata,
    _id(),
    _practice(),
    Column("remittance_id", String(32), ForeignKey("remittances.id"), index=True),
    Column("remittance_claim_id", String(32), ForeignKey("remittance_claims.id"), index=True),
    Column("claim_id", String(32), ForeignKey("claims.id"), index=True),
    Column("kind", String(30), nullable=False),
    Column("claim_number", String(40)),
    Column("line", String(50)),
    Column("amount_cents", BigInteger, nullable=False),
    Column("reason", String(200)),
    Column("message", Text, nullable=False),
    Column("segment_number", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by", String(100)),
    Column("action", String(20)),
    Column("resolution", String(20)),
    Column("resolution_note", String(200)),
)
"""``resolution``: how a closed item was closed (``dismissed`` with ``resolution_note`` the
biller's reason, or ``assigned`` to one of our claims and posted)."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _id(),
    _practice(index=False),
    Column("key", String(255), nullable=False),
    Column("scope", String(30), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("response", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("practice_id", "key", name="uq_idempotency_keys_practice_key"),
)

practice_ledger_entries = Table(
    "practice_ledger_entries",
    metadata,
    _id(),
    _practice(index=False),
    Column("kind", String(30), nullable=False),
    Column("payer_id", String(32), ForeignKey("payers.id"), index=True),
    Column("remittance_id", String(32), ForeignKey("remittances.id"), index=True),
    Column("provider_identifier", String(80)),
    Column("fiscal_period_date", Date),
    Column("reason", String(10), nullable=False),
    Column("reference", String(80)),
    Column("amount_cents", BigInteger, nullable=False),
    Column("segment_number", Integer, nullable=False),
    Column("reverses_entry_id", String(32), ForeignKey("practice_ledger_entries.id"), unique=True),
    Column("idempotency_key", String(255), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    Column("posted_by", String(100), nullable=False),
    UniqueConstraint("practice_id", "idempotency_key", name="uq_practice_ledger_entries_practice_key"),
    CheckConstraint("kind IN ('provider-adjustment')", name="kind"),
    CheckConstraint("amount_cents <> 0", name="amount_not_zero"),
)
"""Practice-level ledger entries: money that belongs to the practice, not to a patient.

One row per PLB provider-level adjustment of a posted remittance (recoupment of an earlier
overpayment ``WO``, interest ``L6``, forward balance ``FB``, ...), with the payer's reason
and reference. ``amount_cents`` is as the payer reported it: positive = withheld from this
payment, negative = added to it. Append-only like ``ledger_entries``.
"""

TOTAL_CLASS = (
    "kind",
    "bucket",
    "detail",
    "group_code",
    "reason_code",
    "payer_id",
    "on_line",
    "code",
    "place_of_service",
    "provider_id",
)
"""The entry class and attribution the kept ledger totals are summed by, after the practice and
the period (the month of ``ledger_month_totals``, the day of ``ledger_day_totals``)."""


def ledger_totals_table(name: str, period: Column[Any]) -> Table:
    """A table of the ledger summed per practice, ``period`` and ``TOTAL_CLASS``."""
    return Table(
        name,
        metadata,
        Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
        period,
        Column("kind", String(20), nullable=False),
        Column("bucket", String(10), nullable=False),
        Column("detail", String(40), nullable=False),
        Column("group_code", String(20), nullable=False),
        Column("reason_code", String(10), nullable=False),
        Column("payer_id", String(32), nullable=False),
        Column("on_line", Boolean, nullable=False),
        Column("code", String(5), nullable=False),
        Column("place_of_service", String(2), nullable=False),
        Column("provider_id", String(32), nullable=False),
        Column("amount_cents", BigInteger, nullable=False),
        Column("entries", Integer, nullable=False),
        PrimaryKeyConstraint("practice_id", period.name, *TOTAL_CLASS, name=f"pk_{name}"),
    )


ledger_month_totals = ledger_totals_table("ledger_month_totals", Column("month", String(7), nullable=False))
"""The ledger summed by UTC month of posting and by what the reports group on (derived data).

One row per practice, month, entry class (kind, bucket, detail, group and reason code) and
attribution: the payer (the entry's, else its claim's), whether the entry is on a claim line,
the line's code and place of service, the visit's rendering provider. ``''`` stands for
"none" in the key columns (a NULL would never match an existing row). Kept up to date in the
transaction that posts the entries (``therabill.adapters.db.report_totals``); unlike the
ledger it is updated in place, and it can always be rebuilt from the ledger.
"""

ledger_balances = Table(
    "ledger_balances",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("bucket", String(10), nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("claim_id", String(32), nullable=False),
    Column("patient_id", String(32), nullable=False),
    Column("item_id", String(32), nullable=False),
    Column("balance_cents", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("first_posted_at", DateTime(timezone=True), nullable=False),
    Column("last_posted_at", DateTime(timezone=True), nullable=False),
    Column("claim_ref", String(32)),
    PrimaryKeyConstraint(
        "practice_id", "bucket", "payer_id", "claim_id", "patient_id", "item_id", name="pk_ledger_balances"
    ),
    Index(
        "ix_ledger_balances_open",
        "practice_id",
        "bucket",
        "payer_id",
        "claim_id",
        "patient_id",
        "item_id",
        "balance_cents",
        "first_posted_at",
        "claim_ref",
        sqlite_where=text("balance_cents <> 0"),
        postgresql_where=text("balance_cents <> 0"),
    ),
    Index("ix_ledger_balances_last_posted", "practice_id", "last_posted_at"),
)
"""What is owed now, per insurance claim and per patient item (derived data, for A/R aging).

Insurance rows: one per practice, payer and claim (``patient_id`` and ``item_id`` ``''``);
patient rows: one per practice, patient and item (``payer_id`` and ``claim_id`` ``''``,
``claim_ref`` the item's claim). ``balance_cents`` is the sum of the entries with the reducing
kinds (payments, adjustments, write-offs, redemptions) counted negative, as the aging report
counts them; ``first_posted_at`` / ``last_posted_at`` are the first and last entry's posting
time. Only rows with a balance are in ``ix_ledger_balances_open`` (a partial index), so the
aging report reads the open balances alone. Kept in the posting transaction with the monthly
totals (``therabill.adapters.db.report_totals``); rebuilt from the ledger on demand.
"""

remittance_claim_payments = Table(
    "remittance_claim_payments",
    metadata,
    Column("remittance_claim_id", String(32), ForeignKey("remittance_claims.id"), primary_key=True),
    _practice(),
    Column("payment", JSON, nullable=False),
)
"""What the payer sent for one claim (the CLP loop as read, ``domain.remittance_data``), kept
beside each remittance claim: the claim page reads its adjustments, and an unmatched claim is
posted from it once a biller assigns it to one of our claims."""

remittance_assignments = Table(
    "remittance_assignments",
    metadata,
    _id(),
    _practice(),
    Column("worklist_id", String(32), ForeignKey("posting_worklist.id"), nullable=False),
    Column("remittance_claim_id", String(32), ForeignKey("remittance_claims.id"), nullable=False),
    Column("claim_id", String(32), ForeignKey("claims.id"), nullable=False, index=True),
    Column("posted_remittance_claim_id", String(32), ForeignKey("remittance_claims.id"), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("assigned_by", String(100), nullable=False),
    UniqueConstraint("worklist_id", name="uq_remittance_assignments_worklist"),
)
"""An unmatched 835 claim a biller assigned to one of our claims, and the posting it made."""

bank_deposits = Table(
    "bank_deposits",
    metadata,
    _id(),
    _practice(),
    Column("remittance_id", String(32), ForeignKey("remittances.id"), nullable=False),
    Column("deposit_cents", BigInteger, nullable=False),
    Column("deposit_date", Date, nullable=False),
    Column("note", String(200)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    UniqueConstraint("remittance_id", name="uq_bank_deposits_remittance"),
)
"""The bank deposit a biller matched to a received payment (835 / EFT): amount and date."""

LEDGER_TABLES = (
    prepaid_instruments,
    remittances,
    remittance_claims,
    ledger_entries,
    posting_worklist,
    idempotency_keys,
    practice_ledger_entries,
    ledger_month_totals,
    ledger_balances,
    remittance_claim_payments,
    remittance_assignments,
    bank_deposits,
)

for _table in (remittances, remittance_claims, remittance_lines, ledger_entries, practice_ledger_entries):
    for _sql in sqlite_trigger_sql(_table.name):
        event.listen(_table, "after_create", DDL(_sql).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]
    for _sql in postgres_trigger_sql(_table.name):
        event.listen(_table, "after_create", DDL(_sql).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]

ledger_line_denials = Table(
    "ledger_line_denials",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("claim_line_id", String(32), nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("code", String(5), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("denials", Integer, nullable=False),
    Column("stake_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    PrimaryKeyConstraint("practice_id", "claim_line_id", "payer_id", name="pk_ledger_line_denials"),
)
"""What the denials report needs of each claim line and payer (derived data).

One row per practice, claim line and payer (the entry's ``payer_id``, ``''`` for none) that
has an insurance payment or adjustment on the line: their count (``entries``), the count of
denial adjustments that are not reversals (``denials``), what the denial adjustments hold net
of reversals (``stake_cents``) and the payments (``paid_cents``). The line's date of service and
code are copied so that the day totals need no join. A denial is an adjustment in group CO, OA
or PI whose reason is not a routine contractual one (``reports/data/contractual.toml``).
"""

ledger_denial_days = Table(
    "ledger_denial_days",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("code", String(5), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("denied", Integer, nullable=False),
    Column("stake_cents", BigInteger, nullable=False),
    Column("fixed", Integer, nullable=False),
    PrimaryKeyConstraint("practice_id", "date_of_service", "payer_id", "code", name="pk_ledger_denial_days"),
)
"""``ledger_line_denials`` summed per practice, date of service, payer and code (derived data):
adjudicated lines, denied lines, money at stake and lines fixed and paid (denied, stake back to
zero, paid). The denials report reads this (a row per day, payer and code) instead of every
line of the range."""

ledger_denial_reasons = Table(
    "ledger_denial_reasons",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("claim_line_id", String(32), nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("group_code", String(20), nullable=False),
    Column("reason_code", String(10), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("cents", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "practice_id",
        "claim_line_id",
        "payer_id",
        "group_code",
        "reason_code",
        name="pk_ledger_denial_reasons",
    ),
    Index(
        "ix_ledger_denial_reasons_day",
        "practice_id",
        "date_of_service",
        "payer_id",
        "group_code",
        "reason_code",
        "claim_line_id",
        "cents",
    ),
)
"""The denial adjustments of each claim line, payer and reason (group and CARC), summed (derived
data): the denials report's top reasons count the lines of a reason and add up what it holds."""
