"""``therabill init``: a practice and its first owner, asked for or given as options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from therabill.adapters.db.auth_tables import user_practice_roles, users
from therabill.adapters.db.engine import make_engine
from therabill.adapters.db.tables import audit_log, practices
from therabill.entrypoints.cli.main import app
from therabill.security import passwords
from therabill.service_layer import accounts, sessions
from therabill.service_layer import practice as practice_svc

runner = CliRunner()
PASSWORD = "a long owner passphrase 42"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("THERABILL_DATABASE_URL", raising=False)
    monkeypatch.delenv("THERABILL_OWNER_PASSWORD", raising=False)
    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path))
    return tmp_path


def _engine(folder: Path):  # type: ignore[no-untyped-def]
    found = list(folder.glob("*.sqlite3")) + list(folder.glob("*.db"))
    assert len(found) == 1, found
    return make_engine(f"sqlite:///{found[0]}")


FLAGS = ["init", "--name", "Calm Hands Massage", "--owner", "maria", "--owner-name", "Maria Gomez"]


def test_init_with_flags_creates_practice_and_owner_who_must_enrol(data_dir: Path) -> None:
    r = runner.invoke(app, [*FLAGS, "--password-stdin", "--no-input", "--json"], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["slug"] == "calm-hands-massage" and out["owner"] == "maria"
    engine = _engine(data_dir)
    with engine.connect() as conn:
        practice = conn.execute(select(practices)).one()
        assert practice.name == "Calm Hands Massage" and practice.id == out["practice_id"]
        role = conn.execute(select(user_practice_roles)).one()
        assert (role.role, role.practice_id) == ("owner", practice.id)
        user = conn.execute(select(users)).one()
        assert user.totp_secret is None and user.username == "maria"
        assert passwords.verify_password(user.password_hash, PASSWORD)
        assert sessions.next_stage(conn, user.id, accounts.SessionPolicy()) == "enroll"
        assert conn.execute(select(audit_log.c.action)).scalars().all() == ["practice.create"]


def test_init_asks_for_what_is_missing(data_dir: Path) -> None:
    answers = "\n".join(["Quiet Room PT", "quiet-room", "sam", "Sam Lee", PASSWORD, PASSWORD]) + "\n"
    r = runner.invoke(app, ["init"], input=answers)
    assert r.exit_code == 0, r.output
    assert "Practice name" in r.output and "Owner password" in r.output
    assert PASSWORD not in r.output  # the password is not echoed
    with _engine(data_dir).connect() as conn:
        assert conn.execute(select(practices.c.slug)).scalar_one() == "quiet-room"


def test_init_refuses_bad_input_with_every_problem_and_writes_nothing(data_dir: Path) -> None:
    r = runner.invoke(
        app,
        ["init", "--name", "X", "--slug", "Bad Slug", "--owner", "m", "--owner-name", "M", "--npi", "123"],
        input="short\n",
        env={"THERABILL_OWNER_PASSWORD": "short"},
    )
    assert r.exit_code == 2
    for code in (
        "settings-npi-invalid",
        "onboarding-slug-invalid",
        "account-username-invalid",
        "account-password-policy",
    ):
        assert code in r.stderr, code
    with _engine(data_dir).connect() as conn:
        assert conn.execute(select(practices)).all() == []
        assert conn.execute(select(users)).all() == []


def test_a_second_practice_and_taken_names(data_dir: Path) -> None:
    env = {"THERABILL_OWNER_PASSWORD": PASSWORD}
    assert runner.invoke(app, [*FLAGS, "--no-input"], env=env).exit_code == 0
    again = runner.invoke(app, [*FLAGS, "--no-input"], env=env)
    assert (
        again.exit_code == 2
        and "practice-exists" in again.stderr
        and "account-username-taken" in again.stderr
    )
    second = ["init", "--name", "Second Studio", "--owner", "lee", "--owner-name", "Lee Park", "--no-input"]
    assert runner.invoke(app, second, env=env).exit_code == 0
    with _engine(data_dir).connect() as conn:
        assert len(conn.execute(select(practices)).all()) == 2


def test_no_input_without_a_password_fails_clearly(data_dir: Path) -> None:
    r = runner.invoke(app, [*FLAGS, "--no-input"])
    assert r.exit_code == 2 and "password is missing" in r.stderr


def test_run_and_serve_take_host_and_port() -> None:
    for command in ("run", "serve"):
        r = runner.invoke(app, [command, "--help"])
        assert "--host" in r.stdout and "--port" in r.stdout, command
    bad = runner.invoke(app, ["serve", "--port", "70000"])
    assert bad.exit_code == 2


def test_front_desk_from_the_command_line(data_dir: Path) -> None:
    env = {"THERABILL_OWNER_PASSWORD": PASSWORD}
    made = runner.invoke(app, [*FLAGS, "--no-input", "--json"], env=env)
    practice_id = json.loads(made.stdout)["practice_id"]
    practice_svc.add_payer(
        _engine(data_dir), practice_id, "os:test", name="Aetna", payer_id="60054", profile="commercial",
        claim_filing_indicator="CI",
    )  # fmt: skip
    add = ["patients", "add", "--first-name", "Rosa", "--last-name", "Rivera", "--birth-date", "1981-06-30"]
    r = runner.invoke(app, [*add, "--json"])
    assert r.exit_code == 0, r.output
    chart = json.loads(r.stdout)["chart_number"]
    assert chart == "1001"
    dup = runner.invoke(app, add)
    assert dup.exit_code == 2 and "patient-duplicate" in dup.stderr and "chart 1001" in dup.stderr
    future = runner.invoke(
        app, ["patients", "add", "--first-name", "T", "--last-name", "F", "--birth-date", "2099-01-01"]
    )
    assert future.exit_code == 2 and "patient-birth-date-future" in future.stderr
    cov = ["patients", "coverage-add", chart, "--payer", "60054", "--sequence", "secondary", "--member-id", "S1",
           "--relationship", "spouse", "--subscriber-first-name", "Mark", "--subscriber-last-name", "Rivera",
           "--subscriber-birth-date", "1978-02-14"]  # fmt: skip
    r = runner.invoke(app, cov)
    assert r.exit_code == 0, r.output
    shown = json.loads(runner.invoke(app, ["patients", "show", chart, "--json"]).stdout)
    assert shown["coverages"][0]["subscriber"]["last_name"] == "Rivera"
    assert shown["coverages"][0]["relationship"] == "spouse" and shown["coverages"][0]["payer"] == "Aetna"
    assert runner.invoke(app, ["patients", "show", "NOPE"]).exit_code == 2
