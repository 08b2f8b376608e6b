"""A practice of its own for each command-line test, in a data folder of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cli.harness import run
from tests.integration.db.builders import Practice, a_practice
from therabill.adapters.db.engine import make_engine


@pytest.fixture
def practice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    """A migrated SQLite database in a new data folder with one practice, named by
    ``THERABILL_PRACTICE``; no mail server configured."""
    folder = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERABILL_DATA_DIR", str(folder))
        for name in ("THERABILL_DATABASE_URL", "THERABILL_PRACTICE", "THERABILL_SMTP_HOST"):
            mp.delenv(name, raising=False)
        assert run("db", "upgrade").exit_code == 0
        engine = make_engine()
        p = a_practice(engine)
        mp.setenv("THERABILL_PRACTICE", p.id)
        yield p
        engine.dispose()
