"""The calendar: services, rooms, working hours, time off, recurring series; the practice's zone and fee policy.

Revision ID: 0010_schedule
Revises: 0009_batch_snapshot
Create Date: 2026-12-06

``practices`` gains its IANA ``time_zone`` (default ``America/New_York``) and the no-show /
late-cancel policy (fees in cents, the window in hours). ``appointments`` gains the service,
room and series it belongs to, and ``held_until`` (its end plus the service's buffer: what a
double-booking check compares); rows booked before this revision hold until their end.
The status list gains ``confirmed`` and ``late_cancel``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0010_schedule"
down_revision: str | Sequence[str] | None = "0009_batch_snapshot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('scheduled', 'arrived', 'completed', 'no_show', 'cancelled')"
NEW_STATUSES = (
    "status IN ('scheduled', 'confirmed', 'arrived', 'completed', 'no_show', 'late_cancel', 'cancelled')"
)


def _practice_id() -> sa.Column[str]:
    return sa.Column("practice_id", sa.String(length=32), nullable=False)


def _practice_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["practice_id"], ["practices.id"], name=op.f(f"fk_{table}_practice_id_practices")
    )


def _provider_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["provider_id"], ["providers.id"], name=op.f(f"fk_{table}_provider_id_providers")
    )


def _recreate() -> Literal["always", "auto"]:
    """SQLite changes a CHECK constraint only by copying the table; PostgreSQL alters it in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table("practices") as batch:
        batch.add_column(
            sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="America/New_York")
        )
        batch.add_column(sa.Column("no_show_fee_cents", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("late_cancel_fee_cents", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("late_cancel_window_hours", sa.Integer(), nullable=True))
    op.create_table(
        "services",
        sa.Column("id", sa.String(length=32), nullable=False),
        _practice_id(),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("codes", sa.JSON(), nullable=True),
        sa.Column("provider_ids", sa.JSON(), nullable=True),
        sa.Column("room_ids", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _practice_fk("services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("practice_id", "name", name="uq_services_practice_name"),
    )
    op.create_index(op.f("ix_services_practice_id"), "services", ["practice_id"], unique=False)
    op.create_table(
        "rooms",
        sa.Column("id", sa.String(length=32), nullable=False),
        _practice_id(),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _practice_fk("rooms"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("practice_id", "name", name="uq_rooms_practice_name"),
    )
    op.create_index(op.f("ix_rooms_practice_id"), "rooms", ["practice_id"], unique=False)
    op.create_table(
        "working_hours",
        sa.Column("id", sa.String(length=32), nullable=False),
        _practice_id(),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=False),
        _practice_fk("working_hours"),
        _provider_fk("working_hours"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours")),
    )
    op.create_index(op.f("ix_working_hours_practice_id"), "working_hours", ["practice_id"], unique=False)
    op.create_index(op.f("ix_working_hours_provider_id"), "working_hours", ["provider_id"], unique=False)
    op.create_table(
        "time_off",
        sa.Column("id", sa.String(length=32), nullable=False),
        _practice_id(),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(timezone=False), nullable=False),
        sa.Column("end", sa.DateTime(timezone=False), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        _practice_fk("time_off"),
        _provider_fk("time_off"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    op.create_index(op.f("ix_time_off_practice_id"), "time_off", ["practice_id"], unique=False)
    op.create_index(op.f("ix_time_off_provider_id"), "time_off", ["provider_id"], unique=False)
    op.create_table(
        "appointment_series",
        sa.Column("id", sa.String(length=32), nullable=False),
        _practice_id(),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("first_local", sa.String(length=19), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _practice_fk("appointment_series"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_series")),
    )
    op.create_index(
        op.f("ix_appointment_series_practice_id"), "appointment_series", ["practice_id"], unique=False
    )
    with op.batch_alter_table("appointments", recreate=_recreate()) as batch:
        batch.drop_constraint(op.f("ck_appointments_status"), type_="check")
        batch.create_check_constraint(op.f("ck_appointments_status"), sa.text(NEW_STATUSES))
        batch.add_column(sa.Column("service_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("room_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("series_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("held_until", sa.DateTime(timezone=False), nullable=True))
        batch.create_foreign_key(
            op.f("fk_appointments_service_id_services"), "services", ["service_id"], ["id"]
        )
        batch.create_foreign_key(op.f("fk_appointments_room_id_rooms"), "rooms", ["room_id"], ["id"])
        batch.create_foreign_key(
            op.f("fk_appointments_series_id_appointment_series"), "appointment_series", ["series_id"], ["id"]
        )
        batch.create_index(op.f("ix_appointments_service_id"), ["service_id"], unique=False)
        batch.create_index(op.f("ix_appointments_room_id"), ["room_id"], unique=False)
        batch.create_index(op.f("ix_appointments_series_id"), ["series_id"], unique=False)
        batch.create_index("ix_appointments_provider_start", ["provider_id", "start"], unique=False)
    op.execute('UPDATE appointments SET held_until = "end"')


def downgrade() -> None:
    op.execute("UPDATE appointments SET status = 'scheduled' WHERE status = 'confirmed'")
    op.execute("UPDATE appointments SET status = 'cancelled' WHERE status = 'late_cancel'")
    with op.batch_alter_table("appointments", recreate=_recreate()) as batch:
        batch.drop_index("ix_appointments_provider_start")
        batch.drop_index(op.f("ix_appointments_series_id"))
        batch.drop_index(op.f("ix_appointments_room_id"))
        batch.drop_index(op.f("ix_appointments_service_id"))
        batch.drop_constraint(op.f("fk_appointments_series_id_appointment_series"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_appointments_room_id_rooms"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_appointments_service_id_services"), type_="foreignkey")
        batch.drop_column("held_until")
        batch.drop_column("series_id")
        batch.drop_column("room_id")
        batch.drop_column("service_id")
        batch.drop_constraint(op.f("ck_appointments_status"), type_="check")
        batch.create_check_constraint(op.f("ck_appointments_status"), sa.text(OLD_STATUSES))
    for table in ("appointment_series", "time_off", "working_hours", "rooms", "services"):
        op.drop_table(table)
    with op.batch_alter_table("practices") as batch:
        batch.drop_column("late_cancel_window_hours")
        batch.drop_column("late_cancel_fee_cents")
        batch.drop_column("no_show_fee_cents")
        batch.drop_column("time_zone")
