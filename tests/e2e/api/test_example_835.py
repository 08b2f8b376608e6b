"""The example 835: it pays the practice's own claims awaiting payment, reads back balanced, and
posts: every claim matched, one line denied and explained, nothing to the unmatched worklist."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.e2e.api.test_authorization_matrix import _objects
from tests.e2e.api.world import build_world
from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.entrypoints.cli.main import app
from therabill.service_layer import remittances


def test_the_example_835_matches_the_practice_claims_and_posts(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    engine, pid = world.engine, world.a.practice_id
    objects = _objects(world, "a")
    text = remittances.example_835(engine, pid, "test:example")
    (rem,) = list(read_835(text))
    assert rem.transaction_balanced and not rem.problems
    assert [c.claim_id for c in rem.claims]  # the batched claim of the practice
    posted = remittances.post_835(engine, pid, "test:example", text)
    assert posted[0].matched_claims == len(rem.claims) and posted[0].not_matched == 0
    denials = remittances.denial_worklist(engine, pid, "test:example")
    assert [d["claim_id"] for d in denials] == [objects.ids["claim_id"]]
    assert denials[0]["reasons"][0]["code"] == "CO-97"
    assert remittances.example_835(engine, pid, "test:example") == ""  # nothing awaits payment now


def test_era_example_writes_the_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    world = build_world(tmp_path)
    _objects(world, "b")
    monkeypatch.setenv("THERABILL_DATABASE_URL", f"sqlite:///{tmp_path / 'web.sqlite3'}")
    out = tmp_path / "example.835"
    result = CliRunner().invoke(app, ["era", "example", "--practice", "pb", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("ISA*") and "CLP*" in out.read_text()
    again = CliRunner().invoke(app, ["era", "post", str(out), "--practice", "pb"])
    assert "1 claim(s) posted, 0 matched none of ours" in again.output, again.output
