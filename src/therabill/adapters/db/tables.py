"""The practice records tables (SQLAlchemy Core, on ``therabill.adapters.db.base.metadata``).

Every primary key is ``id``: an opaque random 32-character hex string, never a chart number
or a name. Every row of practice data carries ``practice_id`` and every repository query
filters on it. Money is integer cents (``BigInteger``). Timestamps are UTC.
Migrations (``migrations/versions/0001_records.py``) create exactly these tables; a test
compares the migrated schema with this module.
"""

from __future__ import annotations

from sqlalchemy import (
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
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    literal_column,
    true,
)

from therabill.adapters.db.base import metadata


def _id() -> Column[str]:
    return Column("id", String(32), primary_key=True)


def _practice(*, index: bool = True) -> Column[str]:
    """The practice column; ``index=False`` where another index of the table starts with it."""
    return Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=index)


def _created() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False)


practices = Table(
    "practices",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("slug", String(64), nullable=False, unique=True),
    Column("npi", String(10)),
    Column("tax_id", String(9)),
    Column("tax_id_type", String(3)),
    Column("taxonomy", String(10)),
    Column("entity_type", String(12), nullable=False, server_default="organization"),
    Column("phone", String(20)),
    Column("address", JSON),
    Column("place_of_service", String(2)),
    Column("fees", JSON),
    Column("next_control_number", Integer, nullable=False, server_default="1"),
    Column("time_zone", String(64), nullable=False, server_default="America/New_York"),
    Column("token_default_days", Integer),
    Column("token_max_days", Integer),
    Column("no_show_fee_cents", BigInteger),
    Column("late_cancel_fee_cents", BigInteger),
    Column("late_cancel_window_hours", Integer),
    Column("accept_assignment", Boolean, nullable=False, server_default="1"),
    _created(),
)

providers = Table(
    "providers",
    metadata,
    _id(),
    _practice(),
    Column("first_name", String(60), nullable=False),
    Column("last_name", String(60), nullable=False),
    Column("npi", String(10)),
    Column("taxonomy", String(10)),
    Column("credential", String(10)),
    Column("is_billing_entity", Boolean, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("signature_on_file", Boolean, nullable=False, server_default="1"),
    _created(),
)

provider_licenses = Table(
    "provider_licenses",
    metadata,
    _id(),
    _practice(),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=False, index=True),
    Column("state", String(2), nullable=False),
    Column("number", String(40), nullable=False),
    Column("expires_on", Date),
)

payers = Table(
    "payers",
    metadata,
    _id(),
    _practice(),
    Column("name", String(120), nullable=False),
    Column("payer_id", String(80)),
    Column("profile", String(60)),
    Column("claim_filing_indicator", String(2)),
    Column("address", JSON),
    _created(),
)

provider_enrollments = Table(
    "provider_enrollments",
    metadata,
    _id(),
    _practice(),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=False, index=True),
    Column("payer_id", String(32), ForeignKey("payers.id"), nullable=False, index=True),
    Column("enrolled", Boolean, nullable=False),
    Column("in_network", Boolean, nullable=False),
    Column("effective_from", Date),
    Column("effective_to", Date),
    Column("payer_provider_id", String(50)),
)

patients = Table(
    "patients",
    metadata,
    _id(),
    _practice(index=False),
    Column("chart_number", String(30), nullable=False),
    Column("first_name", String(60), nullable=False),
    Column("middle_name", String(60)),
    Column("last_name", String(60), nullable=False),
    Column("suffix", String(10)),
    Column("birth_date", Date),
    Column("sex", String(1)),
    Column("address", JSON),
    Column("phone", String(20)),
    Column("email", String(120)),
    _created(),
    UniqueConstraint("practice_id", "chart_number", name="uq_patients_practice_chart"),
)

coverages = Table(
    "coverages",
    metadata,
    _id(),
    _practice(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("payer_id", String(32), ForeignKey("payers.id"), nullable=False, index=True),
    Column("sequence", String(10), nullable=False),
    Column("member_id", String(80)),
    Column("group_number", String(50)),
    Column("plan_name", String(80)),
    Column("relationship", String(10), nullable=False, server_default="self"),
    Column("subscriber", JSON),
    Column("referral_number", String(50)),
    Column("active_from", Date),
    Column("active_to", Date),
    Column("eligibility_verified_on", Date),
    Column("details", JSON),
    _created(),
    CheckConstraint("sequence IN ('primary', 'secondary', 'tertiary')", name="sequence"),
)

authorizations = Table(
    "authorizations",
    metadata,
    _id(),
    _practice(),
    Column("coverage_id", String(32), ForeignKey("coverages.id"), nullable=False, index=True),
    Column("number", String(50), nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("codes", JSON, nullable=False),
    Column("units_pooled", Boolean, nullable=False, server_default="1"),
    Column("visits_allowed", Integer),
    Column("units_allowed", Integer),
    Column("visits_used", Integer, nullable=False, server_default="0"),
    Column("units_used", Integer, nullable=False, server_default="0"),
    _created(),
)

authorization_events = Table(
    "authorization_events",
    metadata,
    _id(),
    _practice(),
    Column("authorization_id", String(32), ForeignKey("authorizations.id"), nullable=False, index=True),
    Column("claim_id", String(32), ForeignKey("claims.id"), index=True),
    Column("kind", String(10), nullable=False),
    Column("visits", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(80), nullable=False),
    CheckConstraint("kind IN ('use', 'release', 'adjust')", name="kind"),
)

referrals = Table(
    "referrals",
    metadata,
    _id(),
    _practice(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("coverage_id", String(32), ForeignKey("coverages.id")),
    Column("kind", String(12), nullable=False),
    Column("number", String(50)),
    Column("prescriber_name", String(120)),
    Column("prescriber_npi", String(10)),
    Column("issued_on", Date),
    Column("expires_on", Date),
    Column("visits_allowed", Integer),
    Column("file_name", String(120)),
    Column("content_type", String(40)),
    Column("file_bytes", Integer),
    Column("file_sha256", String(64)),
    Column("stored_as", String(200)),
    _created(),
)
"""A patient's referral or prescription (order) with its attached document (kept in the data
folder's private files; ``stored_as`` is its name there)."""

eligibility_checks = Table(
    "eligibility_checks",
    metadata,
    _id(),
    _practice(),
    Column("coverage_id", String(32), ForeignKey("coverages.id"), nullable=False, index=True),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("service_date", Date),
    Column("active", Boolean),
    Column("source", String(20), nullable=False),
    Column("result", JSON),
)

services = Table(
    "services",
    metadata,
    _id(),
    _practice(index=False),
    Column("name", String(120), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("buffer_minutes", Integer, nullable=False, server_default="0"),
    Column("codes", JSON),
    Column("provider_ids", JSON),
    Column("room_ids", JSON),
    Column("active", Boolean, nullable=False, server_default="1"),
    _created(),
    UniqueConstraint("practice_id", "name", name="uq_services_practice_name"),
)

rooms = Table(
    "rooms",
    metadata,
    _id(),
    _practice(index=False),
    Column("name", String(80), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    _created(),
    UniqueConstraint("practice_id", "name", name="uq_rooms_practice_name"),
)

working_hours = Table(
    "working_hours",
    metadata,
    _id(),
    _practice(),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=False, index=True),
    Column("weekday", Integer, nullable=False),
    Column("start_time", String(5), nullable=False),
    Column("end_time", String(5), nullable=False),
)

time_off = Table(
    "time_off",
    metadata,
    _id(),
    _practice(),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=False, index=True),
    Column("start", DateTime(timezone=False), nullable=False),
    Column("end", DateTime(timezone=False), nullable=False),
    Column("reason", String(200)),
)

appointment_series = Table(
    "appointment_series",
    metadata,
    _id(),
    _practice(),
    Column("rule", String(200), nullable=False),
    Column("first_local", String(19), nullable=False),
    _created(),
)

appointments = Table(
    "appointments",
    metadata,
    _id(),
    _practice(index=False),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=False),
    Column("start", DateTime(timezone=False), nullable=False),
    Column("end", DateTime(timezone=False), nullable=False),
    Column("status", String(12), nullable=False),
    Column("reason", String(200)),
    _created(),
    Column("service_id", String(32), ForeignKey("services.id"), index=True),
    Column("room_id", String(32), ForeignKey("rooms.id"), index=True),
    Column("series_id", String(32), ForeignKey("appointment_series.id"), index=True),
    Column("held_until", DateTime(timezone=False)),
    CheckConstraint(
        "status IN ('scheduled', 'confirmed', 'arrived', 'completed', 'no_show', 'late_cancel', 'cancelled')",
        name="status",
    ),
)

visits = Table(
    "visits",
    metadata,
    _id(),
    _practice(index=False),
    Column("appointment_id", String(32), ForeignKey("appointments.id"), index=True),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=False, index=True),
    Column("coverage_id", String(32), ForeignKey("coverages.id")),
    Column("date_of_service", Date, nullable=False),
    Column("start_time", String(5)),
    Column("end_time", String(5)),
    Column("status", String(12), nullable=False),
    Column("encounter_json", JSON, nullable=False),
    _created(),
    # Treated (``domain.records.has_treatment``) and no claim of it yet: kept by the repository
    # where visits and claims are written (``adapters.db.repositories``), so the visits to bill
    # are read through ``ix_visits_to_bill`` instead of every visit's document.
    Column("awaiting_claim", Boolean, nullable=False, server_default="0"),
    CheckConstraint("status IN ('open', 'documented', 'coded')", name="status"),
)

visit_notes = Table(
    "visit_notes",
    metadata,
    _id(),
    _practice(),
    Column("visit_id", String(32), ForeignKey("visits.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content", JSON, nullable=False),
    Column("created_by", String(80), nullable=False),
    _created(),
    UniqueConstraint("visit_id", "version", name="uq_visit_notes_visit_version"),
)

goals = Table(
    "goals",
    metadata,
    _id(),
    _practice(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("visit_id", String(32), ForeignKey("visits.id")),
    Column("description", Text, nullable=False),
    Column("baseline", String(200)),
    Column("target", String(200)),
    Column("target_date", Date),
    Column("status", String(12), nullable=False, server_default="open"),
    _created(),
)

objective_measures = Table(
    "objective_measures",
    metadata,
    _id(),
    _practice(index=False),
    Column("visit_id", String(32), ForeignKey("visits.id"), nullable=False, index=True),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("measured_on", Date, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(80), nullable=False),
    Column("value", String(40), nullable=False),
    Column("unit", String(20)),
    CheckConstraint("kind IN ('pain', 'rom', 'strength', 'functional')", name="kind"),
)

claim_batches = Table(
    "claim_batches",
    metadata,
    _id(),
    _practice(index=False),
    Column("control_number", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("claim_count", Integer, nullable=False),
    Column("total_charge_cents", BigInteger, nullable=False),
    Column("file_sha256", String(64)),
    Column("x12_text", Text),
    _created(),
    UniqueConstraint("practice_id", "control_number", name="uq_claim_batches_practice_control"),
)

claims = Table(
    "claims",
    metadata,
    _id(),
    _practice(index=False),
    Column("visit_id", String(32), ForeignKey("visits.id"), nullable=False, index=True),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("payer_id", String(32), ForeignKey("payers.id"), index=True),
    Column("coverage_id", String(32), ForeignKey("coverages.id")),
    Column("claim_number", String(20), nullable=False),
    Column("payer_claim_control_number", String(50)),
    Column("frequency", String(1), nullable=False, server_default="1"),
    Column("replaces_claim_id", String(32), ForeignKey("claims.id")),
    Column("status", String(24), nullable=False, index=True),
    Column("date_of_service", Date, nullable=False),
    Column("total_charge_cents", BigInteger, nullable=False),
    Column("findings", JSON),
    Column("has_errors", Boolean, nullable=False, server_default="0"),
    Column("coded_document", JSON),
    Column("interchange_control_number", Integer),
    Column("group_control_number", Integer),
    Column("transaction_control_number", String(9)),
    Column("batch_id", String(32), ForeignKey("claim_batches.id"), index=True),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("cob", JSON),
    Column("primary_claim_id", String(32), ForeignKey("claims.id"), index=True),
    UniqueConstraint("practice_id", "claim_number", name="uq_claims_practice_claim_number"),
    CheckConstraint("frequency IN ('1', '7', '8')", name="frequency"),
    CheckConstraint("total_charge_cents >= 0", name="total_charge"),
)

claim_lines = Table(
    "claim_lines",
    metadata,
    _id(),
    _practice(index=False),
    Column("claim_id", String(32), ForeignKey("claims.id"), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("service_index", Integer, nullable=False),
    Column("code", String(5), nullable=False),
    Column("modifiers", JSON, nullable=False),
    Column("units", Integer, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("unit_charge_cents", BigInteger, nullable=False),
    Column("charge_cents", BigInteger, nullable=False),
    Column("diagnosis_pointers", JSON, nullable=False),
    Column("line_id", String(50), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("place_of_service", String(2)),
    UniqueConstraint("claim_id", "line_number", name="uq_claim_lines_claim_line"),
    CheckConstraint("units > 0", name="units"),
    CheckConstraint("charge_cents >= 0", name="charge"),
)

claim_status_events = Table(
    "claim_status_events",
    metadata,
    _id(),
    _practice(index=False),
    Column("claim_id", String(32), ForeignKey("claims.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(24), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("note", String(300)),
    Column("findings", JSON),
    UniqueConstraint("claim_id", "seq", name="uq_claim_status_events_claim_seq"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    _practice(index=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(60), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(32)),
    Column("details", JSON),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("practice_id", "seq", name="uq_audit_log_practice_seq"),
)

Index("ix_appointments_practice_start", appointments.c.practice_id, appointments.c.start)
Index("ix_appointments_provider_start", appointments.c.provider_id, appointments.c.start)
Index("ix_visits_patient_date", visits.c.patient_id, visits.c.date_of_service)

VISITS_TO_BILL = and_(visits.c.awaiting_claim == true(), visits.c.status != literal_column("'open'", String))
"""The visits to bill: documented (not open), treated, no claim yet. Written the same in a query
as in the partial index's condition (a constant, not a parameter), so both engines use it."""
# The visits to bill in their list's order, practice first; only the visits the list holds.
Index(
    "ix_visits_to_bill",
    visits.c.practice_id,
    visits.c.date_of_service,
    visits.c.id,
    visits.c.status,  # the condition's columns too: SQLite then reads the index alone
    visits.c.awaiting_claim,
    postgresql_where=VISITS_TO_BILL,
    sqlite_where=VISITS_TO_BILL,
)

RECORD_TABLES = (
    practices,
    providers,
    provider_licenses,
    payers,
    provider_enrollments,
    patients,
    coverages,
    authorizations,
    referrals,
    eligibility_checks,
    services,
    rooms,
    working_hours,
    time_off,
    appointment_series,
    appointments,
    visits,
    visit_notes,
    goals,
    objective_measures,
    claim_batches,
    claims,
    claim_lines,
    claim_status_events,
    authorization_events,
    audit_log,
)
"""The tables of this module in creation order (parents first)."""
