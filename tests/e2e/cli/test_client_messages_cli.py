"""``therabill statement-emails`` and ``therabill patients messages`` on the SQLite default:
a run scheduled from the CLI is emailed by ``therabill worker --once``, once, opt-outs respected."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import SmtpServer
from tests.e2e.cli.harness import as_json, run
from tests.integration.db.builders import ACTOR, Practice
from therabill.adapters.db.engine import make_engine
from therabill.domain.ledger import ChargeType
from therabill.service_layer import ledger, patients


def _owing(p: Practice, first: str, amount: str) -> str:
    engine = make_engine()
    try:
        patient = patients.register_patient(
            engine, p.id, ACTOR, chart_number=f"C-{first}", first_name=first, last_name="Lindqvist",
            email=f"{first.lower()}@example.org",
        )  # fmt: skip
        ledger.post_charge(
            engine, p.id, ACTOR, patient_id=patient, amount=Decimal(amount), charge_type=ChargeType.RETAIL,
            key=f"retail:{patient}",
        )  # fmt: skip
        return patient
    finally:
        engine.dispose()


def test_statement_emails_from_the_cli_go_once_and_respect_an_opt_out(
    practice: Practice, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _owing(practice, "Astrid", "55.00")
    bo = _owing(practice, "Bo", "70.00")
    assert as_json("patients", "messages", bo) == {
        "patient_id": bo,
        "email_opt_out": False,
        "sms_opt_out": False,
    }
    assert as_json("patients", "messages", bo, "--no-email")["email_opt_out"] is True
    shown = run("patients", "messages", bo)
    assert shown.exit_code == 0 and "Email: opted out; text messages: accepted." in shown.output

    bad = run("statement-emails", "schedule", "--over", "lots")
    assert bad.exit_code == 2 and "statement-threshold-invalid" in bad.output
    scheduled = as_json("statement-emails", "schedule", "--over", "50.00")
    assert scheduled["counts"] == {"pending": 2} and scheduled["over"] == "50.00"
    no_mail = run("statement-emails", "send-due")
    assert no_mail.exit_code != 0 and "mail-not-configured" in no_mail.output

    monkeypatch.setenv("THERABILL_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("THERABILL_SMTP_PORT", str(smtp_server.port))
    first = run("worker", "--once")
    assert first.exit_code == 0, first.output
    again = run("statement-emails", "send-due")
    assert again.exit_code == 0 and "0 pending" in again.output
    assert [m["To"] for m in smtp_server.messages] == ["astrid@example.org"]

    shown_run = as_json("statement-emails", "show", scheduled["run_id"])
    assert shown_run["counts"] == {"sent": 1, "skipped": 1}
    assert {c["name"]: c["reason"] for c in shown_run["clients"]} == {
        "Astrid Lindqvist": None,
        "Bo Lindqvist": "the client opted out of email",
    }
    listed = run("statement-emails", "list")
    assert listed.exit_code == 0 and "1 sent, 1 not sent" in listed.output
    twice = run("statement-emails", "schedule", "--over", "50.00")
    assert twice.exit_code == 2 and "statement-emails-scheduled" in twice.output


def test_a_feed_url_is_rotated_and_revoked_from_the_cli(practice: Practice) -> None:
    from therabill.service_layer import calendar_feed
    from therabill.service_layer.links import LinkError

    def token(output: str) -> str:
        return output.strip().rsplit("/", 1)[1].removesuffix(".ics")

    first = run("schedule", "feed", practice.provider_id)
    assert first.exit_code == 0, first.output
    rotated = run("schedule", "feed", practice.provider_id, "--rotate")
    assert rotated.exit_code == 0 and rotated.output.strip().endswith(".ics")
    engine = make_engine()
    try:
        with pytest.raises(LinkError) as gone:
            calendar_feed.therapist_feed(engine, token(first.output))
        assert gone.value.problems[0].code == "calendar-feed-revoked"
        assert calendar_feed.therapist_feed(engine, token(rotated.output)).startswith(b"BEGIN:VCALENDAR")
        revoked = run("schedule", "feed", practice.provider_id, "--revoke")
        assert revoked.exit_code == 0 and "revoked" in revoked.output
        with pytest.raises(LinkError):
            calendar_feed.therapist_feed(engine, token(rotated.output))
    finally:
        engine.dispose()
    both = run("schedule", "feed", practice.provider_id, "--revoke", "--rotate")
    assert both.exit_code == 2 and "feed-option-conflict" in both.output
