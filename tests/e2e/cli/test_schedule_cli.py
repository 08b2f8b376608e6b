"""``therabill schedule``: book a weekly series, list, move, cancel and change a status from the shell."""

from __future__ import annotations

from tests.e2e.cli.harness import as_json, run
from tests.integration.db.builders import Practice


def test_schedule_commands(practice: Practice) -> None:
    p = practice
    service = as_json(
        "schedule", "service-add", "Massage 60", "--minutes", "60", "--price", "95.00", "--buffer", "15"
    )
    assert service["price"] == "95.00"
    hours = run("schedule", "hours", p.provider_id, "--on", "1=09:00-17:00", "--on", "3=09:00-17:00")
    assert hours.exit_code == 0, hours.output
    booked = as_json(
        "schedule", "book", "--patient", p.patient_id, "--therapist", p.provider_id,
        "--at", "2027-03-02T10:00", "--service", service["id"], "--weekly", "3",
    )  # fmt: skip
    assert [a["start_local"] for a in booked] == [
        "2027-03-02T10:00:00",
        "2027-03-09T10:00:00",
        "2027-03-16T10:00:00",
    ]
    assert [a["start"] for a in booked] == [
        "2027-03-02T15:00:00Z",
        "2027-03-09T15:00:00Z",
        "2027-03-16T14:00:00Z",
    ]

    clash = run(
        "schedule",
        "book",
        "--patient",
        p.patient_id,
        "--therapist",
        p.provider_id,
        "--at",
        "2027-03-02T10:30",
        "--service",
        service["id"],
    )
    assert clash.exit_code == 2 and "therapist-double-booked" in clash.output

    listed = as_json("schedule", "list", "--day", "2027-03-01", "--days", "7")
    assert [a["id"] for a in listed] == [booked[0]["id"]]
    text = run("schedule", "list", "--day", "2027-03-02")
    assert "Tue Mar 2 10:00 AM–11:00 AM  Grace Miller with Mei Chen  Massage 60  [Booked]" in text.output

    moved = as_json("schedule", "move", booked[1]["id"], "--at", "2027-03-11T13:00", "--scope", "rest")
    assert [a["start_local"] for a in moved] == ["2027-03-11T13:00:00", "2027-03-18T13:00:00"]

    slots = as_json("schedule", "slots", "--service", service["id"], "--day", "2027-03-02")
    assert "2027-03-02T10:00:00" not in {s["start_local"] for s in slots}
    assert "2027-03-02T11:15:00" in {s["start_local"] for s in slots}

    confirmed = as_json("schedule", "status", booked[0]["id"], "confirmed")
    assert confirmed[0]["status_label"] == "Confirmed"
    bad = run("schedule", "status", booked[0]["id"], "teleported")
    assert bad.exit_code == 2 and "appointment-status-unknown" in bad.output
    cancelled = as_json("schedule", "cancel", booked[1]["id"], "--scope", "rest")
    assert [a["status"] for a in cancelled] == ["cancelled", "cancelled"]
