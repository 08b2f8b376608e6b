"""The in-process job runner of the SQLite default: the same jobs on a timer in one thread.

``therabill run`` and ``therabill serve`` start it when the database is SQLite (one
machine, one process writes): every ``jobs_interval_seconds`` it runs the due-reminder and
statement-email jobs, and every ``clearinghouse_every_minutes`` the clearinghouse
exchange.
A job that fails is logged and tried again at the next tick; the reminders' claims make a
second runner (a second ``serve``) harmless.
"""

from __future__ import annotations

import logging
import threading
import time

from therabill.entrypoints.http.settings import Settings
from therabill.entrypoints.jobs.tasks import (
    JobContext,
    clearinghouse_exchange,
    run_due_reminders,
    run_due_statement_emails,
)
from therabill.service_layer.database import has_schema

log = logging.getLogger("therabill.jobs")


class InProcessJobs:
    """A daemon thread running the jobs every ``interval`` seconds until ``stop``."""

    def __init__(self, ctx: JobContext, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval
        self._stop = threading.Event()
        self._exchanged_at: float | None = None
        self._schema_seen = False
        self._thread = threading.Thread(target=self._loop, name="therabill-jobs", daemon=True)

    def start(self) -> InProcessJobs:
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the runner stops (Ctrl-C stops it)."""
        try:
            while self._thread.is_alive():
                self._thread.join(1.0)
        except KeyboardInterrupt:
            self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def tick(self) -> None:
        """Run every job once (what each interval does); nothing while the database has no
        schema yet (a runner started before ``therabill db upgrade`` or the first ``run``)."""
        if not self._schema_seen:
            if not has_schema(self.ctx.engine):
                log.debug("the database has no schema yet; the jobs wait for it")
                return
            self._schema_seen = True
        try:
            run_due_reminders(self.ctx)
        except Exception:  # noqa: BLE001 - a failing job must not stop the runner; logged
            log.exception("the reminder job failed; it runs again at the next tick")
        try:
            run_due_statement_emails(self.ctx)
        except Exception:  # noqa: BLE001 - a failing job must not stop the runner; logged
            log.exception("the statement-email job failed; it runs again at the next tick")
        minutes = self.ctx.clearinghouse_minutes
        due = self._exchanged_at is None or time.monotonic() - self._exchanged_at >= minutes * 60
        if minutes and due:
            self._exchanged_at = time.monotonic()
            try:
                log.info("clearinghouse: %s", clearinghouse_exchange(self.ctx))
            except Exception:  # noqa: BLE001 - logged; tried again at its next time
                log.exception("the clearinghouse job failed; it runs again at its next time")

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)


def start_for_sqlite(settings: Settings | None = None) -> InProcessJobs | None:
    """Start the runner when the database is SQLite and the interval is not 0 (PostgreSQL:
    ``therabill worker`` processes run the jobs); the runner, or ``None``."""
    settings = settings or Settings()
    if not settings.url().startswith("sqlite") or settings.jobs_interval_seconds == 0:
        return None
    return InProcessJobs(JobContext.from_settings(settings), settings.jobs_interval_seconds).start()
