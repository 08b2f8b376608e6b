"""Settings pages through the app: every action changes the practice's data, is audited,
checks its input, and reaches only the caller's practice (another practice's id answers 404).

Changes are made in practice B (A's ids are the "other practice" here) and undone at the end
of each test, so the session's other tests see the world as it was built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import shared_path
from tests.e2e.api.conftest import csrf_of, login
from tests.e2e.api.world import PASSWORD, World
from therabill.adapters.db.auth_tables import users
from therabill.adapters.db.tables import audit_log, eligibility_checks, payers, practices, providers
from therabill.entrypoints.app import create_app
from therabill.entrypoints.http.settings import Settings
from therabill.service_layer import accounts, api_tokens
from therabill.service_layer import audit as audit_service
from therabill.service_layer.uow import UnitOfWork


def _events(world: World, practice: str, action: str) -> list[dict[str, object]]:
    pid = getattr(world, practice).practice_id
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.object_id, audit_log.c.details, audit_log.c.actor)
            .where(audit_log.c.practice_id == pid, audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).all()
    return [{"object_id": r.object_id, "details": r.details, "actor": r.actor} for r in rows]


def _chain_ok(world: World, practice: str) -> bool:
    from sqlalchemy.orm import Session

    with Session(world.engine) as session:
        return audit_service.verify_chain(session, getattr(world, practice).practice_id).ok


@pytest.fixture
def owner_b(client: TestClient, world: World) -> Iterator[str]:
    yield login(client, world, "b", "owner")


def test_practice_details_are_saved_checked_and_audited(
    client: TestClient, world: World, owner_b: str
) -> None:
    page = client.get("/settings")
    assert page.status_code == 200 and 'name="npi"' in page.text
    form = {
        "csrf_token": owner_b,
        "name": "Practice pb",
        "npi": "1234567893",
        "tax_id": "123456789",
        "tax_id_type": "EIN",
        "taxonomy": "225700000X",
        "phone": "(217) 555-0199",
        "line1": "100 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip": "62701-1234",
        "place_of_service": "11",
    }
    bad = client.post("/settings/practice", data={**form, "npi": "1234567890", "state": "Illinois"})
    assert bad.status_code == 422
    assert "settings-npi-invalid" in bad.text and "settings-state-invalid" in bad.text
    with world.engine.connect() as conn:
        assert conn.execute(
            select(practices.c.npi).where(practices.c.id == world.b.practice_id)
        ).scalar() == ("1234567893")
    ok = client.post("/settings/practice", data=form)
    assert ok.status_code == 200 and "Saved (phone)" in ok.text
    with world.engine.connect() as conn:
        assert conn.execute(
            select(practices.c.phone).where(practices.c.id == world.b.practice_id)
        ).scalar() == ("2175550199")
    assert _events(world, "b", "practice.update")[-1]["details"] == {"fields": ["phone"]}
    assert client.post("/settings/practice", data={**form, "phone": "2175550100"}).status_code == 200
    assert _chain_ok(world, "b")


def test_providers_add_edit_with_licenses_and_other_practice_is_404(
    client: TestClient, world: World, owner_b: str
) -> None:
    form = {
        "csrf_token": owner_b,
        "first_name": "Lena",
        "last_name": "Licensed",
        "npi": "1245319599",
        "taxonomy": "225700000x",
        "credential": "LMT",
        "lic-0-state": "il",
        "lic-0-number": "227.000111",
        "lic-0-expires": "2026-12-01",
    }
    bad = client.post("/settings/providers", data={**form, "npi": "1245319590", "lic-0-expires": "soon"})
    assert bad.status_code == 422 and "settings-date-invalid" in bad.text
    bad = client.post("/settings/providers", data={**form, "npi": "1245319590"})
    assert bad.status_code == 422 and "settings-npi-invalid" in bad.text
    assert client.post("/settings/providers", data=form).status_code == 303
    with world.engine.connect() as conn:
        new = conn.execute(
            select(providers).where(
                providers.c.practice_id == world.b.practice_id, providers.c.last_name == "Licensed"
            )
        ).one()
    assert new.taxonomy == "225700000X"
    listing = client.get("/settings/providers").text
    assert "IL 227.000111" in listing and "expires 2026-12-01" in listing  # within 60 days of 2026-11-23
    edit = client.get(f"/settings/providers/{new.id}")
    assert edit.status_code == 200 and 'value="227.000111"' in edit.text
    saved = client.post(
        f"/settings/providers/{new.id}", data={**form, "credential": "LMT, CR"[:10], "active": "off"}
    )
    assert saved.status_code == 303
    with world.engine.connect() as conn:
        assert conn.execute(select(providers.c.active).where(providers.c.id == new.id)).scalar() is False
    # Practice A's provider: not found, whether read or written, and nothing changes.
    assert client.get(f"/settings/providers/{world.a.provider_id}").status_code == 404
    assert client.post(f"/settings/providers/{world.a.provider_id}", data=form).status_code == 404
    with world.engine.connect() as conn:
        assert conn.execute(
            select(providers.c.last_name).where(providers.c.id == world.a.provider_id)
        ).scalar() == ("Lopez")
    actions = [e["object_id"] for e in _events(world, "b", "provider.update")]
    assert new.id in actions


def test_payers_profiles_and_own_profile_toml(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf = login(client, world, "b", "biller")  # billing.setup: owner and biller
    page = client.get("/settings/payers")
    assert page.status_code == 200
    assert "unit_method" in page.text and "source" in page.text.lower()
    form = {"csrf_token": csrf, "name": "Aetna", "payer_id": "60054", "profile": "commercial"}
    assert client.post("/settings/payers", data={**form, "profile": "pa.mine"}).status_code == 422
    assert client.post("/settings/payers", data={**form, "claim_filing_indicator": "XX"}).status_code == 422
    assert client.post("/settings/payers", data={**form, "claim_filing_indicator": "CI"}).status_code == 303
    with world.engine.connect() as conn:
        aetna = conn.execute(
            select(payers).where(payers.c.practice_id == world.b.practice_id, payers.c.name == "Aetna")
        ).one()
    assert aetna.profile == "commercial" and aetna.claim_filing_indicator == "CI"

    shipped = client.get("/settings/profiles/commercial")
    assert shipped.status_code == 200
    text = re.search(r'<textarea name="toml"[^>]*>(.*?)</textarea>', shipped.text, re.S)
    assert text is not None
    toml = (
        text.group(1).replace("&#34;", '"').replace("&quot;", '"').replace("&#39;", "'").replace("&amp;", "&")
    )
    no_source = '[unit_method]\nvalue = "cms"\n'
    refused = client.post(
        "/settings/profiles", data={"csrf_token": csrf, "name": "strict", "toml": no_source}
    )
    assert refused.status_code == 422 and "source" in refused.text
    refused = client.post("/settings/profiles", data={"csrf_token": csrf, "name": "strict", "toml": "[x"})
    assert refused.status_code == 422 and "settings-profile-toml" in refused.text
    saved = client.post(
        "/settings/profiles",
        data={"csrf_token": csrf, "name": "strict"},
        files={"file": ("mine.toml", toml.encode("utf-8"), "application/toml")},
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/settings/profiles/pb.strict"
    assert client.get("/settings/profiles/pb.strict").status_code == 200
    assert (
        client.post(
            f"/settings/payers/{aetna.id}",
            data={**form, "profile": "pb.strict", "claim_filing_indicator": "CI"},
        ).status_code
        == 303
    )
    with world.engine.connect() as conn:
        assert conn.execute(select(payers.c.profile).where(payers.c.id == aetna.id)).scalar() == "pb.strict"
    assert _events(world, "b", "profile.save")[-1]["object_id"] == "pb.strict"
    # Practice A: cannot see B's profile, nor edit B's payer; B cannot touch A's payer.
    assert client.post(f"/settings/payers/{world.a.payer_id}", data=form).status_code == 404
    assert client.get(f"/settings/payers/{world.a.payer_id}").status_code == 404
    login(client, world, "a", "owner")
    assert client.get("/settings/profiles/pb.strict").status_code == 404
    assert "pb.strict" not in client.get("/settings/payers").text
    login(client, world, "b", "front_desk")
    assert client.get("/settings/payers").status_code == 403


def test_fee_schedule_form_and_csv_import(client: TestClient, world: World, owner_b: str) -> None:
    assert "fee-97124" in client.get("/settings/fees").text
    assert client.post("/settings/fees", data={"csrf_token": owner_b}).status_code == 422  # nothing sent
    bad = client.post("/settings/fees", data={"csrf_token": owner_b, "fee-97124": "3O.00"})
    assert bad.status_code == 422 and "settings-fee-amount" in bad.text
    bad = client.post("/settings/fees", data={"csrf_token": owner_b, "fee-ZZZZZ": "10"})
    assert bad.status_code == 422 and "settings-fee-code-unknown" in bad.text
    ok = client.post("/settings/fees", data={"csrf_token": owner_b, "fee-97124": "36.5", "fee-97140": ""})
    assert ok.status_code == 200
    with world.engine.connect() as conn:
        fees = conn.execute(select(practices.c.fees).where(practices.c.id == world.b.practice_id)).scalar()
    assert fees == {"97124": "36.50"}
    csv = (
        "code,practice_fee,medicare_amount,effective_from,effective_to,source\n"
        "97124,30.00,,2025-01-01,2025-12-31,old\n"
        "97124,35.00,,2026-01-01,,2026 list\n"
        "97140,40.00,,2026-01-01,,2026 list\n"
    )
    r = client.post(
        "/settings/fees/import", data={"csrf_token": owner_b}, files={"file": ("f.csv", csv, "text/csv")}
    )
    assert r.status_code == 200 and "Imported 2 fees" in r.text
    with world.engine.connect() as conn:
        fees = conn.execute(select(practices.c.fees).where(practices.c.id == world.b.practice_id)).scalar()
    assert fees == {"97124": "35.00", "97140": "40.00"}  # as the world was built
    broken = client.post(
        "/settings/fees/import",
        data={"csrf_token": owner_b},
        files={"file": ("f.csv", "code,x\n1,2\n", "text/csv")},
    )
    assert broken.status_code == 422 and "missing column" in broken.text
    assert [e["details"]["source"] for e in _events(world, "b", "fees.update")][-2:] == ["form", "csv"]  # type: ignore[index]


def test_users_invite_role_disable_reset_and_the_last_owner(
    client: TestClient, world: World, owner_b: str
) -> None:
    r = client.post(
        "/settings/users",
        data={
            "csrf_token": owner_b,
            "username": "Newbie-PB",
            "display_name": "New Bie",
            "role": "front_desk",
        },
    )
    assert r.status_code == 200
    password = re.search(r'id="new-password">([^<]+)<', r.text)
    assert password is not None
    assert (
        client.post(
            "/settings/users", data={"csrf_token": owner_b, "username": "newbie-pb", "role": "front_desk"}
        ).status_code
        == 422
    )  # taken
    assert (
        client.post(
            "/settings/users", data={"csrf_token": owner_b, "username": "x-pb", "role": "admin"}
        ).status_code
        == 422
    )
    with world.engine.connect() as conn:
        newbie = conn.execute(select(users.c.id).where(users.c.username == "newbie-pb")).scalar_one()
    # The new user logs in with the first password (in another browser).
    with TestClient(client.app, base_url="http://127.0.0.1", follow_redirects=False) as other:
        page = other.get("/login")
        done = other.post(
            "/login",
            data={"username": "newbie-pb", "password": password.group(1), "csrf_token": csrf_of(page.text)},
        )
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert other.get("/patients").status_code == 200
        # A role change ends the user's sessions at once; so does disabling.
        assert (
            client.post(
                f"/settings/users/{newbie}/role", data={"csrf_token": owner_b, "role": "therapist"}
            ).status_code
            == 303
        )
        assert other.get("/patients").status_code == 303
    assert client.post(f"/settings/users/{newbie}/disable", data={"csrf_token": owner_b}).status_code == 303
    with world.engine.connect() as conn:
        assert conn.execute(select(users.c.active).where(users.c.id == newbie)).scalar() is False
    assert client.post(f"/settings/users/{newbie}/enable", data={"csrf_token": owner_b}).status_code == 303
    # The only owner of B can be neither demoted nor disabled.
    owner = world.b.users["owner"]
    r = client.post(f"/settings/users/{owner}/role", data={"csrf_token": owner_b, "role": "biller"})
    assert r.status_code == 422 and "account-last-owner" in r.text
    r = client.post(f"/settings/users/{owner}/disable", data={"csrf_token": owner_b})
    assert r.status_code == 422 and "account-last-owner" in r.text
    # Reset MFA of the biller: the secret is gone and the next log-in asks to enroll again.
    biller = world.b.users["biller"]
    with world.engine.connect() as conn:
        secret = conn.execute(select(users.c.totp_secret).where(users.c.id == biller)).scalar()
    assert client.post(f"/settings/users/{biller}/reset-mfa", data={"csrf_token": owner_b}).status_code == 303
    with world.engine.begin() as conn:
        assert conn.execute(select(users.c.totp_secret).where(users.c.id == biller)).scalar() is None
        conn.execute(
            users.update()
            .where(users.c.id == biller)
            .values(totp_secret=secret, totp_enrolled_at=world.clock())
        )
    # A user of practice A: not found for every action.
    for action in ("role", "disable", "enable", "reset-mfa"):
        r = client.post(
            f"/settings/users/{world.a.users['front_desk']}/{action}",
            data={"csrf_token": owner_b, "role": "owner"},
        )
        assert r.status_code == 404, action
    actions = {e["object_id"] for e in _events(world, "b", "user.role")} | {
        e["object_id"] for e in _events(world, "b", "user.disable")
    }
    assert newbie in actions
    assert _chain_ok(world, "b")


def test_api_tokens_are_created_with_scopes_and_revoked_by_the_owner(
    client: TestClient, world: World, owner_b: str
) -> None:
    r = client.post(
        "/settings/tokens",
        data={
            "csrf_token": owner_b,
            "name": "export",
            "scope": ["claims.read", "reports.read"],
            "expires_in_days": "30",
        },
    )
    assert r.status_code == 200
    token = re.search(r'id="new-token">(tb_[^<]+)<', r.text)
    assert token is not None
    auth = {"Authorization": f"Bearer {token.group(1)}"}
    assert client.get("/api/v1/claims", headers=auth).status_code == 200
    assert client.get("/api/v1/me", headers=auth).status_code == 403  # account.self was not chosen
    assert (
        client.post(
            "/settings/tokens", data={"csrf_token": owner_b, "name": "x", "scope": "nope"}
        ).status_code
        == 422
    )
    # The owner revokes a token of another user of the practice.
    with world.engine.begin() as conn:
        who = accounts.Principal(world.b.users["biller"], "biller-pb", "b", world.b.practice_id, "biller")
        biller_token_id, biller_token = api_tokens.create_api_token(
            conn, who, "script", "claims.read", world.clock()
        )
        other = accounts.Principal(world.a.users["biller"], "biller-pa", "a", world.a.practice_id, "biller")
        a_token_id, _ = api_tokens.create_api_token(conn, other, "script", "claims.read", world.clock())
    assert "script" in client.get("/settings/tokens").text
    assert (
        client.post(f"/settings/tokens/{biller_token_id}/revoke", data={"csrf_token": owner_b}).status_code
        == 303
    )
    assert (
        client.get("/api/v1/claims", headers={"Authorization": f"Bearer {biller_token}"}).status_code == 401
    )
    assert (
        client.post(f"/settings/tokens/{a_token_id}/revoke", data={"csrf_token": owner_b}).status_code == 404
    )
    assert _events(world, "b", "token.revoke")[-1]["object_id"] == biller_token_id


def test_settings_forms_need_csrf_and_the_role(client: TestClient, world: World) -> None:
    login(client, world, "b", "owner")
    assert client.post("/settings/practice", data={"name": "Forged"}).status_code == 403
    assert client.post("/settings/fees", data={"fee-97124": "1.00"}).status_code == 403
    login(client, world, "b", "biller")
    assert client.get("/settings").status_code == 403
    assert client.get("/settings/users").status_code == 403
    assert client.get("/settings/fees").status_code == 200
    assert _events(world, "b", "deny")


def test_reference_data_imports(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from therabill.refdata.ncci import default_ncci, reset_default_ncci

    # The app's data folder is where imports go; the loaders read it too (outside a request,
    # from the environment).
    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path))
    app = create_app(
        Settings(database_url="sqlite:///unused", data_dir=str(tmp_path)),
        engine=world.engine,
        clock=world.clock,
    )
    client = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    csrf = login(client, world, "b", "owner")
    ptp = (
        "CMS National Correct Coding Initiative\nColumn 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\t"
        "Deletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
        "97530\t97124\t\t20200101\t*\t1\tMutually exclusive procedures\n"
    )
    # Two practices share this installation: only the named one may import.
    refused = client.post(
        "/settings/refdata/ncci-ptp",
        data={"csrf_token": csrf},
        files={"file": ("ccipra-f1.txt", ptp, "text/plain")},
    )
    assert refused.status_code == 422 and "settings-import-shared" in refused.text
    app.state.settings.refdata_practice = "pb"  # THERABILL_REFDATA_PRACTICE=pb
    wrong = client.post(
        "/settings/refdata/ncci-ptp",
        data={"csrf_token": csrf},
        files={"file": ("../../evil.php", ptp, "text/plain")},
    )
    assert wrong.status_code == 422 and "settings-import-type" in wrong.text
    ok = client.post(
        "/settings/refdata/ncci-ptp",
        data={"csrf_token": csrf},
        files={"file": ("ccipra-f1.txt", ptp, "text/plain")},
    )
    assert ok.status_code == 200 and "Imported 1 PTP edit pairs" in ok.text
    try:
        reset_default_ncci()
        assert [(e.column1, e.column2) for e in default_ncci().pairs_among(["97530", "97124"])] == [
            ("97530", "97124")
        ]
    finally:
        reset_default_ncci()
    mue = '"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"\n97124,4,"3 Date of Service Edit: Clinical","Clinical: Data"\n'
    r = client.post(
        "/settings/refdata/mue",
        data={"csrf_token": csrf},
        files={"file": ("MCR_MUE_PractitionerServices.csv", mue, "text/csv")},
    )
    assert r.status_code == 422 and "settings-date-invalid" in r.text  # no date in the name, none given
    r = client.post(
        "/settings/refdata/mue",
        data={"csrf_token": csrf},
        files={"file": ("MCR_MUE_PractitionerServices_Eff_01-01-2027.csv", mue, "text/csv")},
    )
    assert r.status_code == 200 and "Imported 1 MUE values" in r.text
    bad = client.post(
        "/settings/refdata/fees",
        data={"csrf_token": csrf},
        files={"file": ("fees.csv", "code\n97124\n", "text/csv")},
    )
    assert bad.status_code == 422 and "settings-import-failed" in bad.text and "missing column" in bad.text
    status = client.get("/settings/refdata").text
    assert "ptp" in status and "mue 20270101" in status
    assert not list(tmp_path.glob("import-*"))  # the uploads are gone
    assert [e["object_id"] for e in _events(world, "b", "refdata.import")][-2:] == ["ncci-ptp", "mue"]
    reset_default_ncci()


def test_eligibility_page_270_and_271(client: TestClient, world: World) -> None:
    csrf = login(client, world, "b", "front_desk")
    page = client.get(f"/patients/{world.b.patient_id}/eligibility")
    assert page.status_code == 200 and "No check yet" in page.text
    r = client.post(f"/coverages/{world.b.coverage_id}/eligibility/270", data={"csrf_token": csrf})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/edi-x12")
    assert "ST*270*0001" in r.text and "NM1*IL*1*DoePB*Jane****MI*XOJ123456789" in r.text
    assert "EQ*BE^AE^30" in r.text
    answer = shared_path(
        "x12-samples", "270-271", "lfh__subscriber-health-benefit-check-error.271"
    ).read_bytes()
    r = client.post(
        f"/coverages/{world.b.coverage_id}/eligibility/271",
        data={"csrf_token": csrf},
        files={"file": ("answer.271", answer, "application/edi-x12")},
    )
    assert r.status_code == 303
    history = client.get(f"/patients/{world.b.patient_id}/eligibility").text
    assert "270 sent" in history and "awaiting the 271" in history
    with UnitOfWork(world.engine, world.b.practice_id, "test", read_only=True) as uow:
        sources = [c.source for c in uow.session.execute(uow.records.scoped(eligibility_checks)).all()]
    assert sorted(sources)[-2:] == ["270", "271"]
    notx12 = client.post(
        f"/coverages/{world.b.coverage_id}/eligibility/271",
        data={"csrf_token": csrf},
        files={"file": ("a.271", b"%PDF-1.4", "application/pdf")},
    )
    assert notx12.status_code == 422 and "upload-not-x12" in notx12.text
    # Another practice's patient or coverage: 404, and no check is stored there.
    assert client.get(f"/patients/{world.a.patient_id}/eligibility").status_code == 404
    assert (
        client.post(
            f"/coverages/{world.a.coverage_id}/eligibility/270", data={"csrf_token": csrf}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/coverages/{world.a.coverage_id}/eligibility/271",
            data={"csrf_token": csrf},
            files={"file": ("answer.271", answer, "application/edi-x12")},
        ).status_code
        == 404
    )
    assert _events(world, "b", "eligibility.270")
    login(client, world, "b", "therapist")
    assert client.get(f"/patients/{world.b.patient_id}/eligibility").status_code == 403
    assert PASSWORD  # the world's password is the one the logins above used
