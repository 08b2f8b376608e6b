"""The visit documentation page: live units (8-minute rule) and findings, save, create the claim."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import login
from tests.e2e.api.world import World


def _units(html: str) -> list[int]:
    return [int(u) for u in re.findall(r'<td class="units-value">(\d+)</td>', html)]


def _form(world: World, csrf: str, services: list[dict[str, str]], **extra: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf,
        "date_of_service": "2026-11-20",
        "start_time": "10:00",
        "end_time": "11:00",
        "provider_id": world.a.provider_id,
        "coverage_id": world.a.coverage_id,
        "diagnoses": "M54.50, M62.830, M54.2",
        "subjective": "Low back and neck stiffness after desk work.",
        "assessment": "Hypertonic lumbar paraspinals.",
        "plan": "2x/week for 4 weeks.",
        "medical_necessity": "Spasm limits sitting tolerance to 20 min.",
        "pain_scale": "6",
        "rom-0-joint": "cervical",
        "rom-0-motion": "rotation right",
        "rom-0-degrees": "55",
        "goal-0-description": "Sit 60 minutes without pain above 3/10",
        "goal-0-baseline": "20 min at 6/10",
        "goal-0-target": "60 min at 3/10",
        "goal-0-target_date": "2026-12-18",
        **extra,
    }
    for i, svc in enumerate(services):
        for key, value in svc.items():
            data[f"svc-{i}-{key}"] = value
    return data


def test_sixty_minute_massage_shows_four_units(client: TestClient, world: World) -> None:
    csrf = login(client, world, "a", "therapist")
    page = client.get(f"/patients/{world.a.patient_id}/visits/new")
    assert page.status_code == 200
    assert page.text.count('class="region"') >= 30  # the body diagram
    r = client.post(
        f"/patients/{world.a.patient_id}/visits/preview",
        data=_form(world, csrf, [{"code": "97124", "minutes": "60", "regions": "lumbar", "pointers": "1"}]),
    )
    assert r.status_code == 200, r.text
    assert _units(r.text) == [4]
    assert "8-minute" in r.text or "minutes" in r.text


def test_massage_and_manual_therapy_with_59_show_three_and_one(client: TestClient, world: World) -> None:
    csrf = login(client, world, "a", "therapist")
    services = [
        {
            "code": "97124",
            "minutes": "38",
            "regions": "lumbar",
            "pointers": "1,2",
            "techniques": "effleurage",
        },
        {
            "code": "97140",
            "minutes": "22",
            "regions": "cervical",
            "pointers": "3",
            "modifiers": "59",
            "techniques": "myofascial release",
        },
    ]
    r = client.post(f"/patients/{world.a.patient_id}/visits/preview", data=_form(world, csrf, services))
    assert _units(r.text) == [3, 1]
    assert "Claim check" in r.text
    # Same region and no 59: the scrubber says so beside the form.
    services[1].update(regions="lumbar", modifiers="")
    r = client.post(f"/patients/{world.a.patient_id}/visits/preview", data=_form(world, csrf, services))
    assert _units(r.text) == [3, 1]
    assert 'data-rule="massage-manual-same-region"' in r.text


def test_a_bad_minutes_value_is_named_by_its_path(client: TestClient, world: World) -> None:
    csrf = login(client, world, "a", "therapist")
    r = client.post(
        f"/patients/{world.a.patient_id}/visits/preview",
        data=_form(world, csrf, [{"code": "97124", "minutes": "sixty"}]),
    )
    assert "services[0].minutes" in r.text


def test_save_the_visit_then_the_owner_creates_the_claim(client: TestClient, world: World) -> None:
    csrf = login(client, world, "a", "therapist")
    services = [
        {"code": "97124", "minutes": "38", "regions": "lumbar", "pointers": "1,2"},
        {"code": "97140", "minutes": "22", "regions": "cervical", "pointers": "3", "modifiers": "59"},
    ]
    r = client.post(f"/patients/{world.a.patient_id}/visits", data=_form(world, csrf, services))
    assert r.status_code == 303, r.text
    visit_url = r.headers["location"]
    page = client.get(visit_url)
    assert page.status_code == 200 and _units(page.text) == [3, 1]
    assert 'id="create-claim"' not in page.text  # a therapist does not bill
    csrf = login(client, world, "a", "owner")
    page = client.get(visit_url)
    assert 'id="create-claim"' in page.text
    r = client.post(visit_url + "/claim", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/claims/")


def test_other_practice_patient_is_404(client: TestClient, world: World) -> None:
    login(client, world, "a", "therapist")
    assert client.get(f"/patients/{world.b.patient_id}/visits/new").status_code == 404
    assert client.get(f"/patients/{world.b.patient_id}").status_code == 404


def test_icd10_search(client: TestClient, world: World) -> None:
    csrf = login(client, world, "a", "therapist")
    r = client.post("/icd10/search", data={"icd-q": "M54.5", "csrf_token": csrf})
    assert r.status_code == 200
    assert 'data-icd="M54.50"' in r.text


def test_patient_page_charts_pain_and_motion(client: TestClient, world: World) -> None:
    csrf = login(client, world, "a", "therapist")
    for day, pain, degrees in (("2026-11-06", "7", "40"), ("2026-11-13", "5", "50")):
        data = _form(world, csrf, [{"code": "97124", "minutes": "30", "regions": "lumbar", "pointers": "1"}])
        data.update({"date_of_service": day, "pain_scale": pain, "rom-0-degrees": degrees})
        assert client.post(f"/patients/{world.a.patient_id}/visits", data=data).status_code == 303
    page = client.get(f"/patients/{world.a.patient_id}")
    assert 'id="progress"' in page.text
    assert page.text.count("<polyline") >= 2
    assert "pain (0-10): 7 →" in page.text and "cervical rotation right (deg): 40 →" in page.text
    login(client, world, "a", "front_desk")
    page = client.get(f"/patients/{world.a.patient_id}")
    assert 'id="progress"' not in page.text  # no clinical data for the front desk


def test_progress_series_scales_points() -> None:
    from datetime import date
    from types import SimpleNamespace

    from therabill.entrypoints.web.charts import HEIGHT, PAD, progress_series

    rows = [
        SimpleNamespace(kind="pain", name="pain_scale", value="8", measured_on=date(2026, 11, 1)),
        SimpleNamespace(kind="pain", name="pain_scale", value="2", measured_on=date(2026, 11, 21)),
        SimpleNamespace(kind="strength", name="x", value="4/5", measured_on=date(2026, 11, 1)),
        SimpleNamespace(kind="rom", name="hip flexion", value="n/a", measured_on=date(2026, 11, 1)),
    ]
    (pain,) = progress_series(rows)
    assert (pain.first, pain.last) == (8.0, 2.0)
    (x1, y1, _), (x2, y2, _) = pain.dots
    assert x1 == PAD and x2 > x1 and y1 < y2  # higher pain is drawn higher
    assert y2 == round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * 0.2, 1)


def test_dashboard_lists_authorizations_running_out(client: TestClient, world: World) -> None:
    from therabill.service_layer import coverages as coverages_svc

    coverages_svc.add_authorization(
        world.engine,
        world.a.practice_id,
        "test:setup",
        coverage_id=world.a.coverage_id,
        number="PA-LOW",
        start_date=None,
        end_date=None,
        visits_allowed=2,
        units_allowed=40,
    )
    login(client, world, "a", "biller")
    page = client.get("/")
    section = page.text.split('id="auth-running-out"')[1].split("</section>")[0]
    assert "PA-LOW" in section and "2 visits left" in section
    assert 'id="paid-this-week"' in page.text


def test_the_dashboard_says_once_that_no_icd10_release_covers_today(client: TestClient, world: World) -> None:
    """The packaged release ends 2026-09-30 and the suite lives on 2026-11-23: the owner and
    the biller are told once, with the command that fixes it; a therapist is not."""
    login(client, world, "a", "biller")
    page = client.get("/").text
    assert page.count('id="refdata-missing"') == 1
    section = page.split('id="refdata-missing"')[1].split("</section>")[0]
    assert "therabill icd10 import" in section
    client.cookies.clear()
    login(client, world, "a", "therapist")
    assert 'id="refdata-missing"' not in client.get("/").text
