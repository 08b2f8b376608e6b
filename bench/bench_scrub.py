"""Scrubbing throughput: encounters per second on one core, full rule set, with a
1,000,000-row PTP table (official CMS layout) imported into a temporary data folder.

Wall-clock figures depend on what else the machine runs (``load_average_1m`` records the
load around the scrub); the CPU-time figures (``time.process_time``) are the ones to compare
between runs on a shared machine. The reference path (``scrub(..., fast=False)``: every
rule, no caches) is measured on a subset for comparison."""

from __future__ import annotations

import dataclasses
import os
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROWS = 1_000_000
ENCOUNTERS = 20_000
REFERENCE_ENCOUNTERS = 5_000
AS_OF = date(2026, 11, 23)


def _codes(rng: random.Random, n: int) -> list[str]:
    out = set()
    while len(out) < n:
        out.add(f"{rng.randint(10000, 99999)}" if rng.random() < 0.9 else f"G{rng.randint(0, 9999):04d}")
    return sorted(out)


def _write_ptp(path: Path, rng: random.Random) -> None:
    codes = _codes(rng, 9000)
    real = ["97124", "97140", "97110", "97112", "97530", "98940", "98941", "97161", "97164", "97012"]
    with open(path, "w", encoding="latin-1") as fh:
        fh.write("CMS NCCI practitioner PTP edits (synthetic benchmark file)\n")
        fh.write("Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
                 "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n")  # fmt: skip
        for c1 in ("98940", "98941", "98942"):
            for c2 in ("97140", "97124", "97112"):
                fh.write(f"{c1}\t{c2}\t\t20020401\t*\t1\tStandards of medical / surgical practice\n")
        for k in range(ROWS - 9):
            c1 = real[k % len(real)] if k % 50 == 0 else codes[rng.randrange(len(codes))]
            c2 = codes[rng.randrange(len(codes))]
            dele = "*" if rng.random() < 0.8 else "20191231"
            fh.write(
                f"{c1}\t{c2}\t\t{rng.randint(1996, 2025)}0101\t{dele}\t{rng.choice('0119')}\tMutually exclusive\n"
            )


def _encounters(rng: random.Random, n: int) -> list[object]:
    from therabill.schemas.encounter import parse_encounter

    root = Path(__file__).resolve().parents[1] / "examples"
    bases = [parse_encounter(p.read_text(encoding="utf-8")) for p in sorted(root.glob("*.json"))]
    out = []
    for _ in range(n):
        e = rng.choice(bases)
        services = tuple(
            dataclasses.replace(s, minutes=max(0, s.minutes + rng.randint(-10, 10))) for s in e.services
        )
        out.append(
            dataclasses.replace(
                e, services=services, date_of_service=date(2026, 11, 20) - timedelta(days=rng.randint(0, 60))
            )
        )
    return out


def run() -> dict[str, object]:
    """Import the synthetic table, then scrub realistic random encounters."""
    rng = random.Random(20261123)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["THERABILL_DATA_DIR"] = tmp
        from therabill.refdata.ncci import default_ncci, import_ptp, reset_default_ncci
        from therabill.scrubber import scrub

        reset_default_ncci()
        src = Path(tmp) / "ccipra-v999r0-f1.txt"
        t0 = time.perf_counter()
        _write_ptp(src, rng)
        gen = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        rows = import_ptp([src])
        imported, imported_cpu = time.perf_counter() - t0, time.process_time() - c0
        store = default_ncci()
        encs = _encounters(rng, ENCOUNTERS)
        for e in encs[:500]:  # warm the process caches (ICD-10 index, profiles)
            scrub(e, as_of=AS_OF)  # type: ignore[arg-type]
            scrub(e, as_of=AS_OF, fast=False)  # type: ignore[arg-type]
        load_before = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        errors = 0
        for e in encs:
            errors += scrub(e, as_of=AS_OF).has_errors  # type: ignore[arg-type]
        elapsed, elapsed_cpu = time.perf_counter() - t0, time.process_time() - c0
        ref = encs[:REFERENCE_ENCOUNTERS]
        t0, c0 = time.perf_counter(), time.process_time()
        for e in ref:
            scrub(e, as_of=AS_OF, fast=False)  # type: ignore[arg-type]
        ref_elapsed, ref_cpu = time.perf_counter() - t0, time.process_time() - c0
        load_after = os.getloadavg()[0]
        reset_default_ncci()
        del os.environ["THERABILL_DATA_DIR"]
    return {
        "ptp_rows_imported": rows,
        "ptp_file_generation_s": round(gen, 2),
        "ptp_import_s": round(imported, 2),
        "ptp_import_cpu_s": round(imported_cpu, 2),
        "store": type(store).__name__,
        "encounters": ENCOUNTERS,
        "encounters_with_errors": errors,
        "scrub_s": round(elapsed, 3),
        "scrub_cpu_s": round(elapsed_cpu, 3),
        "encounters_per_s": round(ENCOUNTERS / elapsed),
        "encounters_per_cpu_s": round(ENCOUNTERS / elapsed_cpu),
        "reference_encounters": REFERENCE_ENCOUNTERS,
        "reference_encounters_per_s": round(REFERENCE_ENCOUNTERS / ref_elapsed),
        "reference_encounters_per_cpu_s": round(REFERENCE_ENCOUNTERS / ref_cpu),
        "target_encounters_per_s": 10_000,
        # the machine is shared: the 1-minute load average around the scrub (cores: os.cpu_count())
        "load_average_1m": [round(load_before, 2), round(load_after, 2)],
    }
