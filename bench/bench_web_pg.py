"""The web load test of ``bench_web`` on PostgreSQL with 4 app workers.

A fresh database ``therabill_bench_web`` on the server of ``THERABILL_BENCH_PG_URL`` (default:
the local test server) gets the demo practice; then the same mix at the same rate as
``bench_web``, served by ``therabill serve --workers 4``. The figures to read on a shared
machine are ``server_cpu_ms_per_request`` and the load averages beside them.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench import bench_web

WORKERS = 4
DATABASE = "therabill_bench_web"


def run() -> dict[str, object]:
    server = make_url(
        os.environ.get("THERABILL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    admin = create_engine(
        server.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    try:
        url = server.set(database=DATABASE).render_as_string(hide_password=False)
        return bench_web.run(database_url=url, workers=WORKERS)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()
