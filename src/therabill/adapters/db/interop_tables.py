"""Interoperability tables: what was sent to a clearinghouse and every file received.

``submissions``: one row per claim batch (``UNIQUE(batch_id)``), so a batch is never sent
twice. The row is written as ``sending`` before the upload and becomes ``sent`` (with
``sent_at``) only after the far side confirmed size and hash; a row still ``sending`` after
a crash is resolved on the next run by looking for the file on the far side.
``inbound_files``: one row per distinct file received (``UNIQUE(practice_id, sha256)``),
with the path of the copy kept in the data folder and what processing it did.
Migration: ``migrations/versions/0005_interop.py``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from therabill.adapters.db.base import metadata

submissions = Table(
    "submissions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("batch_id", String(32), ForeignKey("claim_batches.id"), nullable=False),
    Column("connector", String(60), nullable=False),
    Column("remote_name", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("interchange_control_number", Integer, nullable=False),
    Column("group_control_number", Integer, nullable=False),
    Column("transaction_control_numbers", JSON, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("batch_id", name="uq_submissions_batch_id"),
    UniqueConstraint(
        "practice_id", "connector", "remote_name", name="uq_submissions_practice_connector_name"
    ),
    CheckConstraint("status IN ('sending', 'sent')", name="status"),
)

inbound_files = Table(
    "inbound_files",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("connector", String(60), nullable=False),
    Column("name", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("stored_path", String(500), nullable=False),
    Column("processed_at", DateTime(timezone=True)),
    Column("outcome", JSON),
    UniqueConstraint("practice_id", "sha256", name="uq_inbound_files_practice_sha256"),
)

INTEROP_TABLES = (submissions, inbound_files)
"""The tables of this module in creation order."""
