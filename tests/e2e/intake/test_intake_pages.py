"""The intake pages, the visit's intake check and clearance, the claim block, note versions.

Each test registers its own patient in practice A of the session's world, so the intakes of
one test never change what another test sees.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, login
from tests.e2e.api.world import World
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import encounters
from therabill.service_layer import intake as svc
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import visits as visits_svc

CONSENTS = {
    f"consent-{key}-{part}": value
    for key in ("treatment", "release_of_information", "assignment_of_benefits")
    for part, value in (("given", "on"), ("date", "2026-11-01"), ("method", "paper"))
}


def new_patient(world: World) -> str:
    pw = world.a
    return patients_svc.register_patient(
        world.engine,
        pw.practice_id,
        "test:setup",
        chart_number=f"I-{uuid.uuid4().hex[:8]}",
        first_name="Rita",
        last_name="Intake",
        birth_date=date(1975, 3, 9),
        sex="F",
        address={"line1": "1 Oak St", "city": "Springfield", "state": "IL", "zip": "62704"},
        coverages_in=[
            coverages_svc.CoverageInput(
                payer_id=pw.payer_id,
                member_id="XOJ555000111",
                group_number="G-2",
                active_from=date(2026, 1, 1),
            )
        ],
    )


def visit_form(world: World, csrf: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "date_of_service": "2026-11-20",
        "start_time": "10:00",
        "end_time": "11:00",
        "provider_id": world.a.provider_id,
        "diagnoses": "M54.50",
        "subjective": "Low back stiffness.",
        "medical_necessity": "Limits sitting.",
        "svc-0-code": "97124",
        "svc-0-minutes": "45",
        "svc-0-pointers": "1",
        "svc-0-regions": "lumbar",
        "svc-0-techniques": "effleurage, petrissage",
        **extra,
    }


def save_visit(client: TestClient, world: World, patient: str, csrf: str, **extra: str) -> str:
    r = client.post(f"/patients/{patient}/visits", data=visit_form(world, csrf, **extra))
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_front_desk_fills_in_the_form_and_a_therapist_signs(client: TestClient, world: World) -> None:
    patient = new_patient(world)
    csrf = login(client, world, "a", "front_desk")
    form = client.get(f"/patients/{patient}/intake/edit")
    assert form.status_code == 200 and 'id="avoid-diagram"' in form.text
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "reason_for_care": "Neck pain after a car accident",
        "onset_date": "2026-10-02",
        "onset_mechanism": "auto_accident",
        "accident_state": "il",
        "cond-0-name": "whiplash",
        "cond-0-regions": "cervical",
        "event-0-kind": "surgery",
        "event-0-description": "knee arthroscopy",
        "event-0-date": "2025-04-01",
        "event-0-regions": "knee_right",
        "med-0-name": "ibuprofen",
        "allergy-0-substance": "almond oil",
        "allergy-0-kind": "topical",
        "pregnant": "on",
        "pregnancy_weeks": "20",
        "device-0-name": "pacemaker",
        "avoid_regions": "abdomen,knee_right",
        "avoid_reason": "ticklish",
        "pressure_preference": "light",
        "ec_name": "Sam Intake",
        "ec_phone": "2175550199",
        "ec_relationship": "spouse",
        "doc_name": "Dr. Patel",
        **CONSENTS,
    }
    r = client.post(f"/patients/{patient}/intake", data=data)
    assert r.status_code == 303, r.text
    page = client.get(f"/patients/{patient}/intake")
    assert page.status_code == 200
    assert 'id="intake-unsigned"' in page.text and "almond oil" in page.text
    assert 'data-kind="precaution" data-rule="pregnancy"' in page.text  # a precaution, not a block
    assert 'data-kind="local" data-rule="implanted-cardiac-device"' in page.text
    assert 'data-kind="absolute"' not in page.text
    assert 'id="sign-intake"' not in page.text  # the front desk enters it; a therapist signs
    assert client.post(f"/patients/{patient}/intake/sign", data={"csrf_token": csrf}).status_code == 403
    current = svc.current_intake(world.engine, world.a.practice_id, "t", patient)
    assert current is not None and current.record.onset.accident_state == "IL"
    assert [a.region for a in current.record.areas_to_avoid] == ["abdomen", "knee_right"]
    assert current.record.consents.assignment_of_benefits.method == "paper"

    # a bad field is named and nothing is stored
    bad = client.post(f"/patients/{patient}/intake", data={**data, "cond-0-regions": "wing"})
    assert bad.status_code == 422 and "current_conditions[0].regions[0]" in bad.text
    assert len(svc.intake_history(world.engine, world.a.practice_id, "t", patient)) == 1

    csrf = login(client, world, "a", "therapist")
    page = client.get(f"/patients/{patient}/intake")
    assert 'id="sign-intake"' in page.text
    assert (
        client.post(f"/patients/{patient}/intake/sign", data={"csrf_token": csrf, "version": "1"}).status_code
        == 303
    )
    assert 'id="intake-signed"' in client.get(f"/patients/{patient}/intake").text
    printable = client.get(f"/patients/{patient}/intake/print")
    assert (
        printable.status_code == 200
        and "Client signature" in printable.text
        and "almond oil" in printable.text
    )
    assert "intake.css" in printable.text


def test_versions_are_kept_and_each_can_be_read(client: TestClient, world: World) -> None:
    patient = new_patient(world)
    csrf = login(client, world, "a", "owner")
    for pressure in ("light", "deep"):
        data = {"csrf_token": csrf, "reason_for_care": "back", "pressure_preference": pressure}
        assert client.post(f"/patients/{patient}/intake", data=data).status_code == 303
    page = client.get(f"/patients/{patient}/intake")
    assert re.findall(r'<tr data-version="(\d+)">', page.text) == ["2", "1"]
    assert "Pressure preference: deep" in page.text
    old = client.get(f"/patients/{patient}/intake", params={"version": 1})
    assert "Pressure preference: light" in old.text and "Version 1" in old.text
    assert client.get(f"/patients/{patient}/intake", params={"version": 9}).status_code == 404
    edit = client.get(f"/patients/{patient}/intake/edit")  # the form starts from the current version
    assert re.search(r'<option value="deep" selected>', edit.text)
    blank = client.get(f"/patients/{new_patient(world)}/intake/print")
    assert blank.status_code == 200 and "Mark the areas to avoid" in blank.text


def test_absolute_contraindication_blocks_the_claim_until_cleared(client: TestClient, world: World) -> None:
    patient = new_patient(world)
    svc.record_intake(
        world.engine,
        world.a.practice_id,
        "test",
        patient,
        {"current_conditions": ["deep vein thrombosis"], "areas_to_avoid": ["abdomen"]},
    )
    csrf = login(client, world, "a", "therapist")
    new = client.get(f"/patients/{patient}/visits/new")  # the check is shown before treating
    assert 'data-kind="absolute" data-rule="deep-vein-thrombosis"' in new.text
    assert re.search(r'class="region avoid" data-region="abdomen"', new.text)
    url = save_visit(client, world, patient, csrf)  # the note is saved all the same
    page = client.get(url)
    assert 'id="not-billable"' in page.text and 'class="clearance card"' in page.text
    visit_id = url.rsplit("/", 1)[1]

    csrf = login(client, world, "a", "owner")
    blocked = client.post(f"{url}/claim", data={"csrf_token": csrf})
    assert blocked.status_code == 422
    assert "intake-contraindication-uncleared" in blocked.text and 'id="visit-errors"' in blocked.text
    api = client.post(f"/api/v1/visits/{visit_id}/claim", headers=bearer(_token(world)))
    assert api.status_code == 422
    body = api.json()["error"]
    assert body["code"] == "visit-not-billable"
    assert body["problems"][0]["code"] == "intake-contraindication-uncleared"

    csrf = login(client, world, "a", "therapist")
    missing = client.post(
        f"{url}/clearance", data={"csrf_token": csrf, "rule_id": "deep-vein-thrombosis", "document": ""}
    )
    assert missing.status_code == 422 and "intake-clearance-document-missing" in missing.text
    r = client.post(
        f"{url}/clearance",
        data={
            "csrf_token": csrf,
            "rule_id": "deep-vein-thrombosis",
            "document": "Dr. Patel's note, 2026-11-19",
        },
    )
    assert r.status_code == 303
    page = client.get(url)
    assert 'class="ok cleared"' in page.text and 'id="not-billable"' not in page.text

    csrf = login(client, world, "a", "owner")
    made = client.post(f"{url}/claim", data={"csrf_token": csrf})
    assert made.status_code == 303 and made.headers["location"].startswith("/claims/")


def _token(world: World) -> str:
    from tests.e2e.api.conftest import token_for

    return token_for(world, "a", "owner")


def test_other_therapist_and_other_practice_cannot_clear(client: TestClient, world: World) -> None:
    login(client, world, "a", "therapist")
    r = client.post(
        f"/patients/{world.b.patient_id}/intake/sign", data={}, headers={"X-CSRF-Token": _csrf(client)}
    )
    assert r.status_code == 404
    assert client.get(f"/patients/{world.b.patient_id}/intake").status_code == 404
    assert client.get(f"/patients/{world.b.patient_id}/intake/print").status_code == 404


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").text)
    assert found
    return found.group(1)


def test_live_panel_flags_a_region_to_avoid(client: TestClient, world: World) -> None:
    patient = new_patient(world)
    svc.record_intake(world.engine, world.a.practice_id, "test", patient, {"areas_to_avoid": ["lumbar"]})
    csrf = login(client, world, "a", "therapist")
    r = client.post(f"/patients/{patient}/visits/preview", data=visit_form(world, csrf))
    assert r.status_code == 200
    assert 'data-rule="intake-region-avoid"' in r.text and "treated on line 1 (lumbar)" in r.text


def test_editing_a_note_makes_a_new_version_and_keeps_the_old(client: TestClient, world: World) -> None:
    patient = new_patient(world)
    csrf = login(client, world, "a", "therapist")
    url = save_visit(
        client,
        world,
        patient,
        csrf,
        client_feedback="Felt looser, pain 3/10 after.",
        changes_since_last_visit="Slept better this week.",
        pre_session_assessment="Guarded lumbar flexion.",
        post_session_advice="Heat 15 min twice a day.",
    )
    page = client.get(url)
    assert 'data-field="client_feedback">Felt looser' in page.text
    assert "Slept better this week." in client.get(f"/patients/{patient}").text  # progress over time
    edit = client.get(f"{url}/note/edit")
    assert edit.status_code == 200 and "Felt looser, pain 3/10 after." in edit.text
    r = client.post(
        f"{url}/note",
        data={
            "csrf_token": csrf,
            "subjective": "Low back stiffness, better.",
            "client_feedback": "Much looser; pain 2/10 after.",
            "medical_necessity": "Limits sitting.",
        },
    )
    assert r.status_code == 303
    visit_id = url.rsplit("/", 1)[1]
    versions = visits_svc.note_versions(world.engine, world.a.practice_id, "t", visit_id)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content"]["client_feedback"] == "Felt looser, pain 3/10 after."
    assert versions[1]["content"]["client_feedback"] == "Much looser; pain 2/10 after."
    history = client.get(f"{url}/notes")
    assert history.status_code == 200
    assert re.findall(r'data-version="(\d+)"', history.text) == ["2", "1"]
    assert "Felt looser, pain 3/10 after." in history.text and "Much looser" in history.text
    assert "Much looser" in client.get(url).text
    csrf = login(client, world, "a", "front_desk")
    assert client.get(f"{url}/notes").status_code == 403


def test_a_web_visit_takes_the_consent_from_the_intake(client: TestClient, world: World) -> None:
    patient = new_patient(world)
    svc.record_intake(
        world.engine,
        world.a.practice_id,
        "test",
        patient,
        {
            "consents": {
                "release_of_information": {"given": True, "date": "2026-11-02", "method": "electronic"},
                "assignment_of_benefits": {"given": False},
            }
        },
    )
    csrf = login(client, world, "a", "therapist")
    visit_id = save_visit(client, world, patient, csrf).rsplit("/", 1)[1]
    encounter = encounters.encounter_for_visit(world.engine, world.a.practice_id, "t", visit_id)
    assert encounter.consent.release_of_information and not encounter.consent.benefits_assigned
    assert str(encounter.consent.signature_date) == "2026-11-02"
