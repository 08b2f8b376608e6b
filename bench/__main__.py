"""Run the benchmarks: ``python -m bench [NAME ...]``.

Each module ``bench/bench_<name>.py`` has ``run() -> dict`` returning its figures; the
runner writes them to ``bench/results/<name>.json`` with the machine and the date, and
prints a summary. Benchmarks measure; they never fail a build on timing.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main(argv: list[str]) -> int:
    from therabill.clock import install
    from therabill.entrypoints.clock import system_clock

    install(system_clock)  # the benchmarks are a program of their own: the real clock
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        figures = module.run()
        record = {
            "benchmark": name,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "wall_seconds": round(time.perf_counter() - started, 2),
            "figures": figures,
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        for key, value in figures.items():
            print(f"   {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
