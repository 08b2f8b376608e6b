"""Stateful property test of the pure ledger (bounded: ~200 steps per run)."""

from __future__ import annotations

from hypothesis import settings

from tests.unit.ledger.machine import LedgerMachine

TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=25, stateful_step_count=40, deadline=None)
