"""Migration 0010 on a database that already has appointments and the visits that document them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from therabill.adapters.db import migrations

ROWS = [
    "INSERT INTO practices (id, name, slug, entity_type, next_control_number, created_at) "
    "VALUES ('p1', 'P', 'p', 'organization', 1, '2026-01-01 00:00:00')",
    "INSERT INTO providers (id, practice_id, first_name, last_name, is_billing_entity, created_at) "
    "VALUES ('t1', 'p1', 'Mei', 'Chen', false, '2026-01-01 00:00:00')",
    "INSERT INTO patients (id, practice_id, chart_number, first_name, last_name, created_at) "
    "VALUES ('c1', 'p1', 'C-1', 'Grace', 'Miller', '2026-01-01 00:00:00')",
    'INSERT INTO appointments (id, practice_id, patient_id, provider_id, start, "end", status, created_at) '
    "VALUES ('a1', 'p1', 'c1', 't1', '2026-11-20 15:00:00', '2026-11-20 16:00:00', 'arrived', '2026-01-01 00:00:00')",
    "INSERT INTO visits (id, practice_id, appointment_id, patient_id, provider_id, date_of_service, status, "
    "encounter_json, created_at) VALUES ('v1', 'p1', 'a1', 'c1', 't1', '2026-11-20', 'documented', '{}', "
    "'2026-01-01 00:00:00')",
]


def test_upgrade_keeps_appointments_and_the_visits_that_reference_them(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine, "0009_batch_snapshot")
    with empty_engine.begin() as conn:
        for sql in ROWS:
            conn.execute(text(sql))
    migrations.upgrade(empty_engine)
    with empty_engine.begin() as conn:
        row = conn.execute(text("SELECT status, held_until, \"end\" FROM appointments WHERE id = 'a1'")).one()
        assert row.status == "arrived" and str(row.held_until) == str(row.end)
        assert conn.execute(text("SELECT appointment_id FROM visits")).scalar_one() == "a1"
        assert conn.execute(text("SELECT time_zone FROM practices")).scalar_one() == "America/New_York"
        conn.execute(text("UPDATE appointments SET status = 'late_cancel'"))
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(text("UPDATE appointments SET status = 'teleported'"))
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:  # foreign keys are enforced again
        conn.execute(text("UPDATE visits SET appointment_id = 'nope'"))
    migrations.downgrade(empty_engine, "0009_batch_snapshot")
    with empty_engine.begin() as conn:
        assert conn.execute(text("SELECT status FROM appointments")).scalar_one() == "cancelled"
