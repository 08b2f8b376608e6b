"""Practice records: practices, providers, payers, patients, coverage, visits, claims, audit log.

Revision ID: 0001_records
Revises:
Create Date: 2026-11-23

The tables of ``therabill.adapters.db.tables``, written out so that this revision never
changes when the table module changes later; a test compares the two. Rows that record
history (audit log, note versions, claim status events, authorization events) are
append-only: triggers refuse UPDATE and DELETE on both engines.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_records"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("audit_log", "visit_notes", "claim_status_events", "authorization_events")


def _append_only_up() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION therabill_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001'; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION therabill_records_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _append_only_down() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS therabill_records_append_only()")
        return
    for table in APPEND_ONLY:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")


def upgrade() -> None:
    """Create the records tables and the append-only triggers."""
    op.create_table(
        "practices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("tax_id", sa.String(length=9), nullable=True),
        sa.Column("tax_id_type", sa.String(length=3), nullable=True),
        sa.Column("taxonomy", sa.String(length=10), nullable=True),
        sa.Column("entity_type", sa.String(length=12), server_default="organization", nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("place_of_service", sa.String(length=2), nullable=True),
        sa.Column("fees", sa.JSON(), nullable=True),
        sa.Column("next_control_number", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practices")),
        sa.UniqueConstraint("slug", name=op.f("uq_practices_slug")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_audit_log_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("practice_id", "seq", name="uq_audit_log_practice_seq"),
    )
    op.create_index(op.f("ix_audit_log_practice_id"), "audit_log", ["practice_id"], unique=False)
    op.create_table(
        "claim_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("control_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("total_charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_claim_batches_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_batches")),
        sa.UniqueConstraint("practice_id", "control_number", name="uq_claim_batches_practice_control"),
    )
    op.create_index(op.f("ix_claim_batches_practice_id"), "claim_batches", ["practice_id"], unique=False)
    op.create_table(
        "patients",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("chart_number", sa.String(length=30), nullable=False),
        sa.Column("first_name", sa.String(length=60), nullable=False),
        sa.Column("middle_name", sa.String(length=60), nullable=True),
        sa.Column("last_name", sa.String(length=60), nullable=False),
        sa.Column("suffix", sa.String(length=10), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_patients_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("practice_id", "chart_number", name="uq_patients_practice_chart"),
    )
    op.create_index(op.f("ix_patients_practice_id"), "patients", ["practice_id"], unique=False)
    op.create_table(
        "payers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=True),
        sa.Column("profile", sa.String(length=60), nullable=True),
        sa.Column("claim_filing_indicator", sa.String(length=2), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_payers_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payers")),
    )
    op.create_index(op.f("ix_payers_practice_id"), "payers", ["practice_id"], unique=False)
    op.create_table(
        "providers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(length=60), nullable=False),
        sa.Column("last_name", sa.String(length=60), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("taxonomy", sa.String(length=10), nullable=True),
        sa.Column("credential", sa.String(length=10), nullable=True),
        sa.Column("is_billing_entity", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_providers_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
    )
    op.create_index(op.f("ix_providers_practice_id"), "providers", ["practice_id"], unique=False)
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('scheduled', 'arrived', 'completed', 'no_show', 'cancelled')",
            name=op.f("ck_appointments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_appointments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_appointments_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_appointments_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(op.f("ix_appointments_patient_id"), "appointments", ["patient_id"], unique=False)
    op.create_index(op.f("ix_appointments_practice_id"), "appointments", ["practice_id"], unique=False)
    op.create_index("ix_appointments_practice_start", "appointments", ["practice_id", "start"], unique=False)
    op.create_index(op.f("ix_appointments_provider_id"), "appointments", ["provider_id"], unique=False)
    op.create_table(
        "coverages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("payer_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.String(length=10), nullable=False),
        sa.Column("member_id", sa.String(length=80), nullable=True),
        sa.Column("group_number", sa.String(length=50), nullable=True),
        sa.Column("plan_name", sa.String(length=80), nullable=True),
        sa.Column("relationship", sa.String(length=10), server_default="self", nullable=False),
        sa.Column("subscriber", sa.JSON(), nullable=True),
        sa.Column("referral_number", sa.String(length=50), nullable=True),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("active_to", sa.Date(), nullable=True),
        sa.Column("eligibility_verified_on", sa.Date(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sequence IN ('primary', 'secondary', 'tertiary')", name=op.f("ck_coverages_sequence")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_coverages_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(["payer_id"], ["payers.id"], name=op.f("fk_coverages_payer_id_payers")),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_coverages_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverages")),
    )
    op.create_index(op.f("ix_coverages_patient_id"), "coverages", ["patient_id"], unique=False)
    op.create_index(op.f("ix_coverages_payer_id"), "coverages", ["payer_id"], unique=False)
    op.create_index(op.f("ix_coverages_practice_id"), "coverages", ["practice_id"], unique=False)
    op.create_table(
        "provider_enrollments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("payer_id", sa.String(length=32), nullable=False),
        sa.Column("enrolled", sa.Boolean(), nullable=False),
        sa.Column("in_network", sa.Boolean(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("payer_provider_id", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["payer_id"], ["payers.id"], name=op.f("fk_provider_enrollments_payer_id_payers")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_provider_enrollments_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_provider_enrollments_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_enrollments")),
    )
    op.create_index(
        op.f("ix_provider_enrollments_payer_id"), "provider_enrollments", ["payer_id"], unique=False
    )
    op.create_index(
        op.f("ix_provider_enrollments_practice_id"), "provider_enrollments", ["practice_id"], unique=False
    )
    op.create_index(
        op.f("ix_provider_enrollments_provider_id"), "provider_enrollments", ["provider_id"], unique=False
    )
    op.create_table(
        "provider_licenses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_provider_licenses_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_provider_licenses_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_licenses")),
    )
    op.create_index(
        op.f("ix_provider_licenses_practice_id"), "provider_licenses", ["practice_id"], unique=False
    )
    op.create_index(
        op.f("ix_provider_licenses_provider_id"), "provider_licenses", ["provider_id"], unique=False
    )
    op.create_table(
        "authorizations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("coverage_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=50), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("units_pooled", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("visits_allowed", sa.Integer(), nullable=True),
        sa.Column("units_allowed", sa.Integer(), nullable=True),
        sa.Column("visits_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("units_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["coverage_id"], ["coverages.id"], name=op.f("fk_authorizations_coverage_id_coverages")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_authorizations_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorizations")),
    )
    op.create_index(op.f("ix_authorizations_coverage_id"), "authorizations", ["coverage_id"], unique=False)
    op.create_index(op.f("ix_authorizations_practice_id"), "authorizations", ["practice_id"], unique=False)
    op.create_table(
        "eligibility_checks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("coverage_id", sa.String(length=32), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["coverage_id"], ["coverages.id"], name=op.f("fk_eligibility_checks_coverage_id_coverages")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_eligibility_checks_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_checks")),
    )
    op.create_index(
        op.f("ix_eligibility_checks_coverage_id"), "eligibility_checks", ["coverage_id"], unique=False
    )
    op.create_index(
        op.f("ix_eligibility_checks_practice_id"), "eligibility_checks", ["practice_id"], unique=False
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("appointment_id", sa.String(length=32), nullable=True),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("coverage_id", sa.String(length=32), nullable=True),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("end_time", sa.String(length=5), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("encounter_json", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'documented', 'coded')", name=op.f("ck_visits_status")),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name=op.f("fk_visits_appointment_id_appointments")
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"], ["coverages.id"], name=op.f("fk_visits_coverage_id_coverages")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_visits_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_visits_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_visits_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    op.create_index(op.f("ix_visits_appointment_id"), "visits", ["appointment_id"], unique=False)
    op.create_index("ix_visits_patient_date", "visits", ["patient_id", "date_of_service"], unique=False)
    op.create_index(op.f("ix_visits_patient_id"), "visits", ["patient_id"], unique=False)
    op.create_index(op.f("ix_visits_practice_id"), "visits", ["practice_id"], unique=False)
    op.create_index(op.f("ix_visits_provider_id"), "visits", ["provider_id"], unique=False)
    op.create_table(
        "claims",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("visit_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("payer_id", sa.String(length=32), nullable=True),
        sa.Column("coverage_id", sa.String(length=32), nullable=True),
        sa.Column("claim_number", sa.String(length=20), nullable=False),
        sa.Column("payer_claim_control_number", sa.String(length=50), nullable=True),
        sa.Column("frequency", sa.String(length=1), server_default="1", nullable=False),
        sa.Column("replaces_claim_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("total_charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=True),
        sa.Column("has_errors", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("interchange_control_number", sa.Integer(), nullable=True),
        sa.Column("group_control_number", sa.Integer(), nullable=True),
        sa.Column("transaction_control_number", sa.String(length=9), nullable=True),
        sa.Column("batch_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("frequency IN ('1', '7', '8')", name=op.f("ck_claims_frequency")),
        sa.CheckConstraint("total_charge_cents >= 0", name=op.f("ck_claims_total_charge")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["claim_batches.id"], name=op.f("fk_claims_batch_id_claim_batches")
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"], ["coverages.id"], name=op.f("fk_claims_coverage_id_coverages")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_claims_patient_id_patients")),
        sa.ForeignKeyConstraint(["payer_id"], ["payers.id"], name=op.f("fk_claims_payer_id_payers")),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_claims_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["replaces_claim_id"], ["claims.id"], name=op.f("fk_claims_replaces_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_claims_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("practice_id", "claim_number", name="uq_claims_practice_claim_number"),
    )
    op.create_index(op.f("ix_claims_batch_id"), "claims", ["batch_id"], unique=False)
    op.create_index(op.f("ix_claims_patient_id"), "claims", ["patient_id"], unique=False)
    op.create_index(op.f("ix_claims_payer_id"), "claims", ["payer_id"], unique=False)
    op.create_index(op.f("ix_claims_practice_id"), "claims", ["practice_id"], unique=False)
    op.create_index(op.f("ix_claims_status"), "claims", ["status"], unique=False)
    op.create_index(op.f("ix_claims_visit_id"), "claims", ["visit_id"], unique=False)
    op.create_table(
        "goals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("visit_id", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("baseline", sa.String(length=200), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_goals_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_goals_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_goals_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
    )
    op.create_index(op.f("ix_goals_patient_id"), "goals", ["patient_id"], unique=False)
    op.create_index(op.f("ix_goals_practice_id"), "goals", ["practice_id"], unique=False)
    op.create_table(
        "objective_measures",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("visit_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "kind IN ('pain', 'rom', 'strength', 'functional')", name=op.f("ck_objective_measures_kind")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_objective_measures_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_objective_measures_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_objective_measures_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_measures")),
    )
    op.create_index(
        op.f("ix_objective_measures_patient_id"), "objective_measures", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_objective_measures_practice_id"), "objective_measures", ["practice_id"], unique=False
    )
    op.create_index(op.f("ix_objective_measures_visit_id"), "objective_measures", ["visit_id"], unique=False)
    op.create_table(
        "visit_notes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("visit_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_visit_notes_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_visit_notes_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_notes")),
        sa.UniqueConstraint("visit_id", "version", name="uq_visit_notes_visit_version"),
    )
    op.create_index(op.f("ix_visit_notes_practice_id"), "visit_notes", ["practice_id"], unique=False)
    op.create_index(op.f("ix_visit_notes_visit_id"), "visit_notes", ["visit_id"], unique=False)
    op.create_table(
        "authorization_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("authorization_id", sa.String(length=32), nullable=False),
        sa.Column("claim_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.CheckConstraint("kind IN ('use', 'release', 'adjust')", name=op.f("ck_authorization_events_kind")),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["authorizations.id"],
            name=op.f("fk_authorization_events_authorization_id_authorizations"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_authorization_events_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_authorization_events_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorization_events")),
    )
    op.create_index(
        op.f("ix_authorization_events_authorization_id"),
        "authorization_events",
        ["authorization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_authorization_events_claim_id"), "authorization_events", ["claim_id"], unique=False
    )
    op.create_index(
        op.f("ix_authorization_events_practice_id"), "authorization_events", ["practice_id"], unique=False
    )
    op.create_table(
        "claim_lines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("claim_id", sa.String(length=32), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("service_index", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("modifiers", sa.JSON(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("unit_charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("diagnosis_pointers", sa.JSON(), nullable=False),
        sa.Column("line_id", sa.String(length=50), nullable=False),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("place_of_service", sa.String(length=2), nullable=True),
        sa.CheckConstraint("charge_cents >= 0", name=op.f("ck_claim_lines_charge")),
        sa.CheckConstraint("units > 0", name=op.f("ck_claim_lines_units")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_lines_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_claim_lines_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_lines")),
        sa.UniqueConstraint("claim_id", "line_number", name="uq_claim_lines_claim_line"),
    )
    op.create_index(op.f("ix_claim_lines_claim_id"), "claim_lines", ["claim_id"], unique=False)
    op.create_index(op.f("ix_claim_lines_practice_id"), "claim_lines", ["practice_id"], unique=False)
    op.create_table(
        "claim_status_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("claim_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_status_events_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_claim_status_events_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_status_events")),
        sa.UniqueConstraint("claim_id", "seq", name="uq_claim_status_events_claim_seq"),
    )
    op.create_index(
        op.f("ix_claim_status_events_claim_id"), "claim_status_events", ["claim_id"], unique=False
    )
    op.create_index(
        op.f("ix_claim_status_events_practice_id"), "claim_status_events", ["practice_id"], unique=False
    )
    _append_only_up()


def downgrade() -> None:
    """Drop the records tables."""
    _append_only_down()
    op.drop_index(op.f("ix_claim_status_events_practice_id"), table_name="claim_status_events")
    op.drop_index(op.f("ix_claim_status_events_claim_id"), table_name="claim_status_events")
    op.drop_table("claim_status_events")
    op.drop_index(op.f("ix_claim_lines_practice_id"), table_name="claim_lines")
    op.drop_index(op.f("ix_claim_lines_claim_id"), table_name="claim_lines")
    op.drop_table("claim_lines")
    op.drop_index(op.f("ix_authorization_events_practice_id"), table_name="authorization_events")
    op.drop_index(op.f("ix_authorization_events_claim_id"), table_name="authorization_events")
    op.drop_index(op.f("ix_authorization_events_authorization_id"), table_name="authorization_events")
    op.drop_table("authorization_events")
    op.drop_index(op.f("ix_visit_notes_visit_id"), table_name="visit_notes")
    op.drop_index(op.f("ix_visit_notes_practice_id"), table_name="visit_notes")
    op.drop_table("visit_notes")
    op.drop_index(op.f("ix_objective_measures_visit_id"), table_name="objective_measures")
    op.drop_index(op.f("ix_objective_measures_practice_id"), table_name="objective_measures")
    op.drop_index(op.f("ix_objective_measures_patient_id"), table_name="objective_measures")
    op.drop_table("objective_measures")
    op.drop_index(op.f("ix_goals_practice_id"), table_name="goals")
    op.drop_index(op.f("ix_goals_patient_id"), table_name="goals")
    op.drop_table("goals")
    op.drop_index(op.f("ix_claims_visit_id"), table_name="claims")
    op.drop_index(op.f("ix_claims_status"), table_name="claims")
    op.drop_index(op.f("ix_claims_practice_id"), table_name="claims")
    op.drop_index(op.f("ix_claims_payer_id"), table_name="claims")
    op.drop_index(op.f("ix_claims_patient_id"), table_name="claims")
    op.drop_index(op.f("ix_claims_batch_id"), table_name="claims")
    op.drop_table("claims")
    op.drop_index(op.f("ix_visits_provider_id"), table_name="visits")
    op.drop_index(op.f("ix_visits_practice_id"), table_name="visits")
    op.drop_index(op.f("ix_visits_patient_id"), table_name="visits")
    op.drop_index("ix_visits_patient_date", table_name="visits")
    op.drop_index(op.f("ix_visits_appointment_id"), table_name="visits")
    op.drop_table("visits")
    op.drop_index(op.f("ix_eligibility_checks_practice_id"), table_name="eligibility_checks")
    op.drop_index(op.f("ix_eligibility_checks_coverage_id"), table_name="eligibility_checks")
    op.drop_table("eligibility_checks")
    op.drop_index(op.f("ix_authorizations_practice_id"), table_name="authorizations")
    op.drop_index(op.f("ix_authorizations_coverage_id"), table_name="authorizations")
    op.drop_table("authorizations")
    op.drop_index(op.f("ix_provider_licenses_provider_id"), table_name="provider_licenses")
    op.drop_index(op.f("ix_provider_licenses_practice_id"), table_name="provider_licenses")
    op.drop_table("provider_licenses")
    op.drop_index(op.f("ix_provider_enrollments_provider_id"), table_name="provider_enrollments")
    op.drop_index(op.f("ix_provider_enrollments_practice_id"), table_name="provider_enrollments")
    op.drop_index(op.f("ix_provider_enrollments_payer_id"), table_name="provider_enrollments")
    op.drop_table("provider_enrollments")
    op.drop_index(op.f("ix_coverages_practice_id"), table_name="coverages")
    op.drop_index(op.f("ix_coverages_payer_id"), table_name="coverages")
    op.drop_index(op.f("ix_coverages_patient_id"), table_name="coverages")
    op.drop_table("coverages")
    op.drop_index(op.f("ix_appointments_provider_id"), table_name="appointments")
    op.drop_index("ix_appointments_practice_start", table_name="appointments")
    op.drop_index(op.f("ix_appointments_practice_id"), table_name="appointments")
    op.drop_index(op.f("ix_appointments_patient_id"), table_name="appointments")
    op.drop_table("appointments")
    op.drop_index(op.f("ix_providers_practice_id"), table_name="providers")
    op.drop_table("providers")
    op.drop_index(op.f("ix_payers_practice_id"), table_name="payers")
    op.drop_table("payers")
    op.drop_index(op.f("ix_patients_practice_id"), table_name="patients")
    op.drop_table("patients")
    op.drop_index(op.f("ix_claim_batches_practice_id"), table_name="claim_batches")
    op.drop_table("claim_batches")
    op.drop_index(op.f("ix_audit_log_practice_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("practices")
