"""Units engine throughput, as the CLI and API use it (explanations built).

CPU time of this process (one core). 1,000,000 random visits (1-4 lines of common therapy codes, 0-75 minutes each, a share of
them with billed units), CMS and per-code methods, one core. Target: ≥ 200,000 visits/s.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from therabill.domain.timing import UnitMethod, compute_units
from therabill.refdata.catalog import default_catalog

CODES = ["97124", "97140", "97110", "97112", "97530", "97035", "97161", "97010", "97116"]
VISITS = 1_000_000


@dataclass(frozen=True, slots=True)
class Line:
    code: str
    minutes: int
    units: int | None = None


def _visits(n: int, seed: int = 20261123) -> list[list[Line]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        k = rnd.randint(1, 4)
        lines = []
        for _ in range(k):
            billed = rnd.randint(0, 5) if rnd.random() < 0.2 else None
            lines.append(Line(rnd.choice(CODES), rnd.randint(0, 75), billed))
        out.append(lines)
    return out


def run() -> dict[str, object]:
    catalog = default_catalog().units
    visits = _visits(VISITS)
    figures: dict[str, object] = {"visits": VISITS}
    for method in (UnitMethod.CMS, UnitMethod.PER_CODE):
        started = time.process_time()
        explained = 0
        for lines in visits:
            result = compute_units(lines, method, catalog)
            explained += len(result.explanation)
        elapsed = time.process_time() - started
        figures[f"{method.value}_visits_per_second"] = round(VISITS / elapsed)
        figures[f"{method.value}_seconds"] = round(elapsed, 2)
        figures[f"{method.value}_explanation_sentences"] = explained
    figures["target_visits_per_second"] = 200_000
    return figures
