"""``GET /api/v1/patients/{id}/fhir`` through the real app: scoped to the practice, audited.

Uses the API tests' world (two practices, every role, one patient each) and its fixtures.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.patient import Patient
from sqlalchemy import func, select

from tests.e2e.api.conftest import app, bearer, client, token_for, tokens, world  # noqa: F401 - fixtures
from tests.e2e.api.world import World
from therabill.adapters.db.tables import audit_log


def _exports(w: World, practice_id: str, patient_id: str) -> int:
    with w.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(audit_log)
                .where(
                    audit_log.c.practice_id == practice_id,
                    audit_log.c.action == "fhir.export",
                    audit_log.c.object_id == patient_id,
                )
            ).scalar_one()
        )


def test_own_patient_is_a_valid_r4b_bundle_and_the_export_is_audited(
    client: TestClient,  # noqa: F811
    world: World,  # noqa: F811
    tokens: dict[tuple[str, str], str],  # noqa: F811
) -> None:
    before = _exports(world, world.a.practice_id, world.a.patient_id)
    r = client.get(f"/api/v1/patients/{world.a.patient_id}/fhir", headers=bearer(tokens[("a", "biller")]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(r.content)
    assert bundle.type == "collection"
    patients = [e.resource for e in bundle.entry if isinstance(e.resource, Patient)]
    assert [p.id for p in patients] == [world.a.patient_id]
    assert patients[0].name[0].family == "DoePA" and str(patients[0].birthDate) == "1980-04-02"
    coverages = [e.resource for e in bundle.entry if isinstance(e.resource, Coverage)]
    assert [c.id for c in coverages] == [world.a.coverage_id]
    assert "DoePB" not in r.text  # nothing of the other practice
    assert _exports(world, world.a.practice_id, world.a.patient_id) == before + 1


def test_other_practice_patient_is_404_and_not_audited(
    client: TestClient,  # noqa: F811
    world: World,  # noqa: F811
    tokens: dict[tuple[str, str], str],  # noqa: F811
) -> None:
    before = _exports(world, world.b.practice_id, world.b.patient_id)
    other = client.get(f"/api/v1/patients/{world.b.patient_id}/fhir", headers=bearer(tokens[("a", "owner")]))
    missing = client.get(f"/api/v1/patients/{'0' * 32}/fhir", headers=bearer(tokens[("a", "owner")]))
    assert other.status_code == missing.status_code == 404
    assert "DoePB" not in other.text
    assert other.json().keys() == missing.json().keys()  # the same answer as an unknown id
    assert _exports(world, world.b.practice_id, world.b.patient_id) == before
    assert _exports(world, world.a.practice_id, world.b.patient_id) == 0


def test_no_token_is_401_and_a_token_without_patients_read_is_403(
    client: TestClient,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    url = f"/api/v1/patients/{world.a.patient_id}/fhir"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer("not-a-token")).status_code == 401
    narrow = token_for(world, "a", "biller", scopes="claims.read")
    assert client.get(url, headers=bearer(narrow)).status_code == 403
