"""What a request costs the database, counted (never timed): the caller is resolved in one
query, the claims lists (page and API) never read the claims' JSON columns, a page's statements stay within a
fixed number whatever the practice holds, and the session factory is made once per engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from tests.e2e.api.conftest import bearer, login
from tests.e2e.api.test_authorization_matrix import VISIT_DOC
from tests.e2e.api.world import World, ready_claim
from therabill.adapters.db.engine import session_factory

CLAIMS_PAGE_MAX_STATEMENTS = 12
"""GET /claims with every part of it shown (as in the shared test world once other tests have
billed): the caller, the worklist page and its count, the count of claims to fix, the visits to
bill and their count, the queues' totals and their rows, recent batches, payers, the audit row's
head and insert. A query per claim or per patient would pass this at once."""
DASHBOARD_MAX_STATEMENTS = 14
"""GET / with every part of it shown (the shared test world once other tests have run): the
caller, the practice, today's visits (with the practice's time zone), the
visits not documented, authorizations running out, the claims needing attention and their
count, the week's payments, the patients' names, the queue counts, the audit row's head and
insert."""
PATIENT_PAGE_MAX_STATEMENTS = 11
"""GET /patients/{id}: the caller, the patient, coverages, authorizations,
measures, visits, the intake (with its patient), the audit row's head and insert."""


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block (transaction control left out)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _auth_queries(seen: list[str]) -> list[str]:
    return [s for s in seen if "FROM api_tokens" in s or "FROM sessions" in s]


def test_an_api_token_is_resolved_in_one_query(
    client: TestClient, world: World, tokens: dict[tuple[str, str], str]
) -> None:
    auth = bearer(tokens[("a", "biller")])
    assert client.get("/api/v1/claims?limit=5", headers=auth).status_code == 200  # marked used now
    with statements(world.engine) as seen:
        r = client.get("/api/v1/claims?limit=5", headers=auth)
    assert r.status_code == 200, r.text
    assert len(_auth_queries(seen)) == 1, _auth_queries(seen)
    assert not [s for s in seen if s.lstrip().upper().startswith("UPDATE")]  # last use is fresh
    assert not [s for s in seen if "claims.findings" in s], "the claims list read the findings"


def test_a_browser_session_is_resolved_in_one_query_and_the_claims_page_reads_no_claim_json(
    client: TestClient, world: World
) -> None:
    login(client, world, "a", "owner")
    with statements(world.engine) as seen:
        r = client.get("/claims")
    assert r.status_code == 200, r.text
    assert len(_auth_queries(seen)) == 1, _auth_queries(seen)
    for column in ("claims.findings", "claims.coded_document", "claims.cob"):
        assert not [s for s in seen if column in s], f"the claims page read {column}"
    assert len(seen) <= CLAIMS_PAGE_MAX_STATEMENTS, "\n\n".join(seen)


def test_the_session_factory_is_made_once_per_engine_and_kind(world: World) -> None:
    assert session_factory(world.engine) is session_factory(world.engine)
    assert session_factory(world.engine, read_only=True) is session_factory(world.engine, read_only=True)
    assert session_factory(world.engine) is not session_factory(world.engine, read_only=True)


@contextmanager
def statement_objects(engine: Engine) -> Iterator[list[Any]]:
    """The statement objects ``engine`` is asked to run inside the block (before compiling)."""
    seen: list[Any] = []

    def note(_conn: Any, clause: Any, *_: Any) -> None:
        seen.append(clause)

    event.listen(engine, "before_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_execute", note)


def _fixed_cost_statements(clauses: list[Any]) -> list[Any]:
    """The caller's lookup and the audit row's statements among ``clauses``."""
    wanted = ("FROM api_tokens", "FROM sessions", "FROM audit_log", "INSERT INTO audit_log")
    return [c for c in clauses if any(w in str(c) for w in wanted)]


def test_the_caller_and_audit_statements_are_built_once(
    client: TestClient, world: World, tokens: dict[tuple[str, str], str]
) -> None:
    """Every request resolves its caller and most write an audit row: those statements are
    built once and run again (a statement object keeps its cache key), never rebuilt per call."""
    auth = bearer(tokens[("a", "biller")])
    assert client.get("/api/v1/claims?limit=5", headers=auth).status_code == 200
    runs = []
    for _ in range(2):
        with statement_objects(world.engine) as seen:
            assert client.get("/api/v1/claims?limit=5", headers=auth).status_code == 200
        runs.append(_fixed_cost_statements(seen))
    first, second = runs
    assert len(first) == 3, [str(c) for c in first]  # the token, the chain head, the insert
    assert [id(c) for c in first] == [id(c) for c in second]


def test_a_browser_caller_statement_is_built_once(client: TestClient, world: World) -> None:
    login(client, world, "a", "owner")
    runs = []
    for _ in range(2):
        with statement_objects(world.engine) as seen:
            assert client.get("/claims").status_code == 200
        runs.append([c for c in seen if "FROM sessions" in str(c)])
    assert len(runs[0]) == 1
    assert runs[0][0] is runs[1][0]


def _practice_checks(seen: list[str]) -> list[str]:
    """The practice checks of units of work. A read of a signed-in caller has none: the caller's
    practice was read with the caller (its role row's foreign key), not once per use case."""
    return [s for s in seen if s.lstrip().startswith("SELECT practices.id \nFROM") and "FOR UPDATE" not in s]


def test_the_patient_page_reads_in_one_transaction_with_its_audit_row(
    client: TestClient, world: World
) -> None:
    """The chart and the intake check join one read (no practice check per use case);
    the audit row is still written before the page is answered."""
    login(client, world, "a", "owner")
    pid = world.a.patient_id
    with statements(world.engine) as seen:
        r = client.get(f"/patients/{pid}")
    assert r.status_code == 200, r.text
    assert not _practice_checks(seen), _practice_checks(seen)
    assert [s for s in seen if s.startswith("INSERT INTO audit_log")]
    assert len(seen) <= PATIENT_PAGE_MAX_STATEMENTS, "\n\n".join(seen)


def test_the_claim_api_reads_in_one_transaction_with_its_audit_row(
    client: TestClient, world: World, tokens: dict[tuple[str, str], str]
) -> None:
    auth = bearer(tokens[("b", "biller")])
    claim_id = ready_claim(world, date(2026, 9, 3), VISIT_DOC).claim_id
    with statements(world.engine) as seen:
        r = client.get(f"/api/v1/claims/{claim_id}", headers=auth)
    assert r.status_code == 200, r.text
    assert not _practice_checks(seen), _practice_checks(seen)  # detail, history, adjudication
    assert [s for s in seen if s.startswith("INSERT INTO audit_log")]
    with statements(world.engine) as seen:
        assert client.post("/api/v1/patients/search", json={"name": "a"}, headers=auth).status_code == 200
    assert not _practice_checks(seen)
    assert [s for s in seen if s.startswith("INSERT INTO audit_log")]


def test_the_visit_preview_reads_in_one_transaction(client: TestClient, world: World) -> None:
    csrf = login(client, world, "a", "owner")
    form = {
        "date_of_service": "2026-11-20",
        "provider_id": world.a.provider_id,
        "diagnoses": "M54.50",
        "svc-0-code": "97124",
        "svc-0-minutes": "38",
        "svc-0-pointers": "1",
    }
    url = f"/patients/{world.a.patient_id}/visits/preview"
    with statements(world.engine) as seen:
        r = client.post(url, data=form, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert not _practice_checks(seen), _practice_checks(seen)
    missing = client.post(
        "/patients/no-such-patient/visits/preview", data=form, headers={"X-CSRF-Token": csrf}
    )
    assert missing.status_code == 404


def test_a_name_search_statement_is_built_once(
    client: TestClient, world: World, tokens: dict[tuple[str, str], str]
) -> None:
    auth = bearer(tokens[("a", "biller")])
    runs = []
    for name in ("an", "e"):
        with statement_objects(world.engine) as seen:
            r = client.post("/api/v1/patients/search", json={"name": name}, headers=auth)
        assert r.status_code == 200, r.text
        runs.append([c for c in seen if "FROM patients" in str(c)])
    assert len(runs[0]) == 1
    assert runs[0][0] is runs[1][0]


def test_the_dashboard_and_the_claims_page_read_in_one_transaction_with_their_audit_row(
    client: TestClient, world: World
) -> None:
    """Each page's use cases share one read (no practice check per use case); its
    audit row is still written before the page is answered."""
    login(client, world, "a", "owner")
    for url, action in (("/", "dashboard.view"), ("/claims", "claim.list")):
        with statements(world.engine) as seen:
            r = client.get(url)
        assert r.status_code == 200, r.text
        assert not _practice_checks(seen), (url, _practice_checks(seen))
        inserts = [s for s in seen if s.startswith("INSERT INTO audit_log")]
        assert len(inserts) == 1, (url, inserts)
        limit = DASHBOARD_MAX_STATEMENTS if url == "/" else CLAIMS_PAGE_MAX_STATEMENTS
        assert len(seen) <= limit, "\n\n".join(seen)
        with world.engine.connect() as conn:
            last = conn.exec_driver_sql(
                "SELECT action FROM audit_log WHERE practice_id = ? ORDER BY seq DESC LIMIT 1",
                (world.a.practice_id,),
            ).scalar_one()
        assert last == action
