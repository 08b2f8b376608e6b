"""The authorization matrix: every route × every role × own, same-practice and other-practice objects.

Expected outcomes come from one place, the permissions registry: a role without the
route's permission gets 403; an object of the other practice gets 404 (never its data);
a therapist asking for another therapist's visit of the same practice gets 404; everything
else must not be refused (401/403) and must never be a server error. Any 2xx where a
refusal is expected fails the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, login, token_for
from tests.e2e.api.world import AS_OF, DOS, ROLES, World
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.entrypoints.http.deps import PUBLIC, route_permissions
from therabill.security.permissions import Permission, allowed
from therabill.service_layer import accounts, batches, ledger
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import visits as visits_svc

VISIT_DOC = {
    "start_time": "10:00",
    "end_time": "11:00",
    "diagnoses": ["M54.50", "M62.830", "M54.2"],
    "services": [
        {"code": "97124", "minutes": 38, "diagnosis_pointers": [1, 2], "body_regions": ["lumbar"]},
        {
            "code": "97140",
            "minutes": 22,
            "modifiers": ["59"],
            "diagnosis_pointers": [3],
            "body_regions": ["cervical"],
        },
    ],
    "documentation": {"subjective": "Neck and low back stiffness.", "medical_necessity": "Limits sitting."},
}


@dataclass
class Objects:
    ids: dict[str, str]
    other_therapist_visit: str


def _objects(world: World, practice: str) -> Objects:
    pw = getattr(world, practice)
    engine, pid, actor = world.engine, pw.practice_id, "test:setup"
    visit = visits_svc.record_visit(
        engine,
        pid,
        actor,
        patient_id=pw.patient_id,
        provider_id=pw.provider_id,
        date_of_service=DOS,
        document=VISIT_DOC,
        coverage_id=pw.coverage_id,
    )
    coded = claims_svc.code_visit(engine, pid, actor, visit, as_of=AS_OF)
    ledger.post_claim_charges(engine, pid, actor, coded.claim_id)
    claims_svc.mark_ready(engine, pid, actor, coded.claim_id)
    batch = batches.build_batch(engine, pid, actor, [coded.claim_id], envelope=EnvelopeSettings())
    auth = coverages_svc.add_authorization(
        engine,
        pid,
        actor,
        coverage_id=pw.coverage_id,
        number=f"PA-{practice}",
        start_date=DOS,
        end_date=AS_OF.replace(month=12),
        codes=["97124", "97140"],
        visits_allowed=12,
        units_allowed=48,
    )
    other_provider = practice_svc.add_provider(
        engine,
        pid,
        actor,
        first_name="Omar",
        last_name="Other",
        npi="1003000126",
        taxonomy="225700000X",
        credential="LMT",
        licenses=[("IL", "227.099999", None)],
    )
    other_visit = visits_svc.record_visit(
        engine,
        pid,
        actor,
        patient_id=pw.patient_id,
        provider_id=other_provider,
        date_of_service=DOS,
        document=VISIT_DOC,
        coverage_id=pw.coverage_id,
    )
    second_visit = visits_svc.record_visit(
        engine,
        pid,
        actor,
        patient_id=pw.patient_id,
        provider_id=pw.provider_id,
        date_of_service=DOS,
        document=VISIT_DOC,
        coverage_id=pw.coverage_id,
    )
    with engine.begin() as conn:  # a user the settings routes may disable, re-role, reset
        spare_user = accounts.create_user(
            conn,
            username=f"spare-{practice}",
            display_name="Spare",
            password="correct horse battery staple",
            practice_id=pid,
            role="front_desk",
            now=world.clock(),
        )
    return Objects(
        {
            "patient_id": pw.patient_id,
            "coverage_id": pw.coverage_id,
            "authorization_id": auth,
            "visit_id": second_visit,
            "claim_id": coded.claim_id,
            "batch_id": batch.batch_id,
            "token_id": "0" * 32,
            "provider_id": pw.provider_id,
            "payer_id": pw.payer_id,
            "user_id": spare_user,
        },
        other_visit,
    )


@pytest.fixture(scope="module")
def objects(world: World) -> dict[str, Objects]:
    return {"a": _objects(world, "a"), "b": _objects(world, "b")}


BODIES = {
    ("POST", "/api/v1/patients/search"): {"name": "doe"},
    ("POST", "/api/v1/patients"): {"chart_number": "NEW-1", "first_name": "New", "last_name": "Person"},
    ("POST", "/api/v1/tokens"): {"name": "m", "scopes": ["claims.read"]},
    ("POST", "/api/v1/batches"): {"claim_ids": []},
    ("POST", "/api/v1/units"): {"services": [{"code": "97124", "minutes": 60}]},
    ("POST", "/api/v1/coverages/{coverage_id}/authorizations"): {"number": "PA-M", "visits_allowed": 4},
    ("POST", "/api/v1/patients/{patient_id}/coverages"): {"payer_id": "0" * 32},
    ("POST", "/api/v1/patients/{patient_id}/visits"): {
        "provider_id": "PROVIDER",
        "date_of_service": "2026-11-20",
        "document": VISIT_DOC,
    },
}
RAW = b"ISA*00*          *00*          *ZZ*X              *ZZ*Y              *261130*1200*^*00501*000000001*0*T*:~"


def _url(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "summary"), path)


def _expected(role: str, marks: list[str], other_practice: bool, has_object: bool, variant: str = "") -> str:
    permission = Permission(marks[0])
    if not allowed(role, permission):
        return "deny"
    if other_practice and has_object:
        return "404"
    if variant == "a-other" and role == "therapist":
        return "404"  # another therapist's visit of the same practice: as if it did not exist
    return "allow"


def _variants(path: str) -> tuple[str, ...]:
    """Own practice, other practice, and for visit routes another therapist's visit of the own practice."""
    if "_id}" not in path:
        return ("a",)
    return ("a", "b", "a-other") if "{visit_id}" in path else ("a", "b")


def _ids(objects: dict[str, Objects], variant: str) -> dict[str, str]:
    if variant == "a-other":
        return {**objects["a"].ids, "visit_id": objects["a"].other_therapist_visit}
    return objects[variant].ids


MATRIX_CELLS: dict[str, int] = {}
"""Cells checked by each matrix test (read by the security report)."""


def _check(method: str, path: str, role: str, expected: str, response) -> None:  # type: ignore[no-untyped-def]
    code = response.status_code
    cell = f"{method} {path} as {role}: expected {expected}, got {code}"
    assert code < 500, cell
    if expected == "deny":
        assert code == 403, cell
    elif expected == "404":
        # 422: the body was refused before the object was looked up (nothing of it leaks).
        assert code in (404, 422), cell
    else:
        assert code not in (401, 403), cell


def test_api_matrix(client: TestClient, world: World, objects: dict[str, Objects]) -> None:
    table = {
        k: v for k, v in route_permissions(client.app).items() if k[1].startswith("/api/") and v != [PUBLIC]
    }
    tokens = {role: token_for(world, "a", role) for role in ROLES}
    cells = 0
    for (method, path), marks in sorted(table.items()):
        has_object = "_id}" in path
        for role in ROLES:
            for variant in _variants(path):
                practice = variant[0]
                url = _url(path, _ids(objects, variant))
                body = BODIES.get((method, path))
                if body and "provider_id" in body:
                    body = {**body, "provider_id": getattr(world, practice).provider_id}
                if path.endswith(("/271", "/remittances")):
                    r = client.request(method, url, content=RAW, headers=bearer(tokens[role]))
                else:
                    r = client.request(method, url, json=body, headers=bearer(tokens[role]))
                expected = _expected(role, marks, practice == "b", has_object, variant)
                _check(method, path, f"{role} ({variant})", expected, r)
                cells += 1
    MATRIX_CELLS["api"] = cells
    assert cells > 150


def test_page_matrix(client: TestClient, world: World, objects: dict[str, Objects]) -> None:
    table = {
        k: v
        for k, v in route_permissions(client.app).items()
        if not k[1].startswith("/api/") and v != [PUBLIC]
    }
    cells = 0
    for role in ROLES:
        csrf = login(client, world, "a", role)
        for (method, path), marks in sorted(table.items()):
            has_object = "_id}" in path
            for variant in _variants(path):
                url = _url(path, _ids(objects, variant))
                r = client.request(method, url, headers={"X-CSRF-Token": csrf})
                expected = _expected(role, marks, variant == "b", has_object, variant)
                _check(method, path, f"{role} ({variant})", expected, r)
                cells += 1
    MATRIX_CELLS["pages"] = cells
    assert cells > 150


def test_therapist_sees_only_own_visits(
    client: TestClient, world: World, objects: dict[str, Objects]
) -> None:
    own = objects["a"].ids["visit_id"]
    other = objects["a"].other_therapist_visit
    therapist = token_for(world, "a", "therapist")
    assert client.get(f"/api/v1/visits/{own}", headers=bearer(therapist)).status_code == 200
    assert client.get(f"/api/v1/visits/{other}", headers=bearer(therapist)).status_code == 404
    listed = client.get(f"/api/v1/patients/{world.a.patient_id}/visits", headers=bearer(therapist)).json()
    assert other not in {v["id"] for v in listed} and own in {v["id"] for v in listed}
    owner = token_for(world, "a", "owner")
    assert client.get(f"/api/v1/visits/{other}", headers=bearer(owner)).status_code == 200
    login(client, world, "a", "therapist")
    assert client.get(f"/visits/{other}").status_code == 404
    assert client.get(f"/visits/{own}").status_code == 200


def test_other_practice_ids_never_leak_data(
    client: TestClient, world: World, objects: dict[str, Objects]
) -> None:
    owner_a = token_for(world, "a", "owner")
    for name in ("patient_id", "coverage_id", "authorization_id", "visit_id", "claim_id"):
        other = objects["b"].ids[name]
        r = client.get(
            f"/api/v1/{name.removesuffix('_id')}s/{other}".replace("authorizations", "authorizations"),
            headers=bearer(owner_a),
        )
        assert r.status_code == 404, (name, r.status_code)
        assert other not in r.text
