"""Tables of patient money beside the ledger: issued documents and commission rates.

``issued_documents`` keeps each statement and receipt exactly as printed or emailed (the
PDF bytes and their SHA-256): a document is a snapshot, shown again from here, never
rebuilt from the ledger. ``commission_rates`` holds a therapist's commission in basis points
(``code`` ``*``: the therapist's default; a service code: that code's rate).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from therabill.adapters.db.base import metadata

issued_documents = Table(
    "issued_documents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("number", String(40), nullable=False),
    Column("document_date", Date, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("batch_id", String(32), index=True),
    Column("pdf", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("emailed_to", String(120)),
    Column("emailed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100), nullable=False),
    CheckConstraint("kind IN ('statement', 'receipt')", name="kind"),
)

commission_rates = Table(
    "commission_rates",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=False, index=True),
    Column("code", String(5), nullable=False, server_default="*"),
    Column("basis_points", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("practice_id", "provider_id", "code", name="uq_commission_rates_provider_code"),
    CheckConstraint("basis_points BETWEEN 0 AND 10000", name="range"),
)

MONEY_TABLES = (issued_documents, commission_rates)
