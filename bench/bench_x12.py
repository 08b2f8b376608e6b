"""X12 benchmark: 837P writing and 835 reading at 10,000 and 100,000 claims, beside x12sdk.

Figures: claims per second on CPU time of this process (``time.process_time``, what the
code costs) and on wall time (what a user waits; on a shared machine it includes time
other processes took), best of ``REPEATS`` runs with the spread between runs, and peak
traced memory (tracemalloc, a separate run) for our writer and our streaming reader.
In the same run: the floor (plain ``str.split`` tokenising of the same files, nothing
else) and x12sdk reading the 10,000-claim 835 and a 1,000-claim 837P (100,000 would take
minutes). The data vary per claim (patient names, member ids, addresses, amounts) so that
nothing is measured on one repeated record. Benchmarks never assert timings.

For the 835 also: our tokenizer alone (``tokenise_835_*``) and the reader with every claim
read segment by segment (``read_835_general_*``, ``iter_835(fast=False)``), each with
``floor_over_cpu``, the floor's CPU time over its own (1.0 would be as fast as the floor).
"""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.tokenizer import SegmentReader
from therabill.adapters.x12.x835_005010X221A1 import iter_835
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.domain.claim import Claim, build_claim
from therabill.domain.remittance import ClaimPayment
from therabill.schemas.encounter import parse_encounter
from therabill.service_layer.coding import units_of

REPO = Path(__file__).resolve().parents[1]


REPEATS = 3


def _claims(n: int) -> list[Claim]:
    """``n`` claims cycling through the example encounters, each with its own patient."""
    base = []
    for p in sorted((REPO / "examples").glob("*.json")):
        enc = parse_encounter(p.read_bytes())
        base.append(build_claim(enc, units_of(enc.services, enc.payer_profile)))
    out = []
    for i in range(n):
        c = base[i % len(base)]
        cid = f"C{i:09d}"
        enc = c.encounter
        assert enc.patient is not None and enc.coverage is not None
        address = enc.patient.address
        patient = dataclasses.replace(
            enc.patient,
            last_name=f"PATIENT{i}",
            first_name=f"FIRST{i % 997}",
            birth_date=enc.patient.birth_date,
            address=None if address is None else dataclasses.replace(address, line1=f"{i} MAIN ST"),
        )
        coverage = dataclasses.replace(enc.coverage, member_id=f"M{i:09d}")
        lines = tuple(dataclasses.replace(ln, line_id=f"{cid}-{ln.line_number}") for ln in c.lines)
        encounter = dataclasses.replace(enc, patient=patient, coverage=coverage, encounter_id=cid)
        out.append(dataclasses.replace(c, claim_id=cid, lines=lines, encounter=encounter))
    return out


_HEAD = (
    "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*RIVERSIDE      *261123*1200*^*00501*000000002*0*T*:~\n"
    "GS*HP*ACMEHEALTH*RIVERSIDE*20261130*1200*2*X*005010X221A1~\n"
)


def _remittance_file(n: int, per_st: int = 5000) -> str:
    parts = [_HEAD]
    sets = 0
    for start in range(0, n, per_st):
        sets += 1
        k = min(per_st, n - start)
        body = [
            f"ST*835*{sets:04d}~",
            f"BPR*I*{k * 42}.00*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20261130~",
            f"TRN*1*EFT{sets:06d}*1512345678~",
            "DTM*405*20261128~",
            "N1*PR*ACME HEALTH PLAN~",
            "N3*PO BOX 1000~",
            "N4*SPRINGFIELD*IL*62701~",
            "PER*BL*PROVIDER SERVICES*TE*8005551212~",
            "N1*PE*RIVERSIDE THERAPEUTIC MASSAGE*XX*1234567893~",
            "LX*1~",
        ]
        for i in range(start, start + k):
            cents = i % 500  # 500 different charges: amounts are not one repeated text
            charge = f"{70 + cents // 100}.{cents % 100:02d}"
            co45 = f"{30 + cents // 100}.{cents % 100:02d}"
            total = f"{105 + cents // 100}.{cents % 100:02d}"
            body += [
                f"CLP*C{i:09d}*1*{total}*42.00*10.00*12*PCN{i:012d}*11*1~",
                f"NM1*QC*1*PATIENT{i}*FIRST{i % 997}****MI*M{i:09d}~",
                f"DTM*050*202611{10 + i % 15}~",
                f"SVC*HC:97124*{charge}*30.00**2~",
                "DTM*472*20261120~",
                f"CAS*CO*45*{co45}~",
                "CAS*PR*3*10.00~",
                f"REF*6R*C{i:09d}-1~",
                "AMT*B6*40.00~",
                "SVC*HC:97140:59*35.00*12.00**1~",
                "DTM*472*20261120~",
                "CAS*CO*45*23.00~",
                f"REF*6R*C{i:09d}-2~",
            ]
        body.append(f"SE*{len(body) + 1}*{sets:04d}~")
        parts.append("\n".join(body) + "\n")
    parts.append(f"GE*{sets}*2~\nIEA*1*000000002~\n")
    return "".join(parts)


def _measure(fn: Callable[[], int], *, memory: bool = True, repeats: int = REPEATS) -> dict[str, float]:
    """Time ``fn`` untraced ``repeats`` times; then, if asked, once under tracemalloc.

    Rates are claims per second of the best run, on CPU time (``cpu_claims_per_s``) and on
    wall time (``claims_per_s``); ``cpu_spread`` is (slowest - fastest) / fastest CPU time.
    tracemalloc slows Python code several times, so speed and memory are separate runs.
    """
    cpu: list[float] = []
    wall: list[float] = []
    count = 0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        count = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    out: dict[str, float] = {
        "claims": count,
        "runs": repeats,
        "cpu_seconds": round(min(cpu), 3),
        "cpu_claims_per_s": round(count / min(cpu)),
        "cpu_spread": round((max(cpu) - min(cpu)) / min(cpu), 2),
        "seconds": round(min(wall), 3),
        "claims_per_s": round(count / min(wall)),
        "wall_spread": round((max(wall) - min(wall)) / min(wall), 2),
    }
    if memory:
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["peak_traced_mb"] = round(peak / 2**20, 1)
    return out


def _floor(path: Path, claims: int) -> Callable[[], int]:
    """Plain tokenising of ``path``: split on the terminator, then each segment on ``*``."""

    def run() -> int:
        for segment in path.read_text(encoding="latin-1").split("~"):
            segment.split("*")
        return claims

    return run


def _read_ours(path: Path, *, fast: bool = True) -> int:
    n = 0
    for event in iter_835(path, fast=fast):
        if isinstance(event, ClaimPayment):
            n += 1
    return n


def _tokenise(path: Path, claims: int) -> Callable[[], int]:
    """Our tokenizer alone (``SegmentReader.batches``) over ``path``."""

    def run() -> int:
        for _ in SegmentReader(path).batches():
            pass
        return claims

    return run


def _read_x12sdk_835(text: str) -> int:
    from x12sdk.io import X12ModelReader

    n = 0
    with X12ModelReader(text.replace("\n", "")) as reader:
        for model in reader.models():
            for loop in model.loop_2000 or []:
                n += len(loop.loop_2100 or [])
    return n


def _read_x12sdk_837(text: str) -> int:
    from x12sdk.io import X12ModelReader

    n = 0
    with X12ModelReader(text) as reader:
        for model in reader.models():
            for a in model.loop_2000a:
                for b in a.loop_2000b:
                    n += len(b.loop_2300 or []) + sum(len(c.loop_2300 or []) for c in (b.loop_2000c or []))
    return n


def run(
    tmp: Path | None = None, sizes: tuple[int, ...] = (10_000, 100_000), x12sdk_max: int = 10_000
) -> dict[str, Any]:
    """Run the benchmark; return the figures."""
    import tempfile

    folder = Path(tmp or tempfile.mkdtemp(prefix="bench-x12-"))
    results: dict[str, Any] = {}
    settings = EnvelopeSettings()
    created = datetime(2026, 11, 23, 12, 0)
    for n in sizes:
        claims = _claims(n)
        text837: list[str] = []

        def write(claims: list[Claim] = claims, out: list[str] = text837) -> int:
            out[:] = [write_837p(claims, settings, control_number=1, created=created)]
            return len(claims)

        results[f"write_837p_{n}"] = _measure(write, memory=n <= 10_000)
        del claims
        path837 = folder / f"claims-{n}.837"
        path837.write_text(text837[0])
        text837.clear()
        results[f"floor_tokenise_837p_{n}"] = _measure(_floor(path837, n), memory=False)
        path837.unlink()
        path = folder / f"remit-{n}.835"
        text835 = _remittance_file(n)
        path.write_text(text835)
        results[f"floor_tokenise_835_{n}"] = _measure(_floor(path, n), memory=False)
        results[f"tokenise_835_{n}"] = _measure(_tokenise(path, n), memory=False)
        results[f"read_835_{n}"] = _measure(lambda p=path: _read_ours(p))
        results[f"read_835_{n}"]["file_mb"] = round(path.stat().st_size / 2**20, 1)
        results[f"read_835_general_{n}"] = _measure(lambda p=path: _read_ours(p, fast=False), memory=False)
        floor_cpu = results[f"floor_tokenise_835_{n}"]["cpu_seconds"]
        for name in (f"read_835_{n}", f"read_835_general_{n}", f"tokenise_835_{n}"):
            results[name]["floor_over_cpu"] = round(floor_cpu / results[name]["cpu_seconds"], 3)
        if n <= x12sdk_max:
            try:
                results[f"x12sdk_read_835_{n}"] = _measure(
                    lambda t=text835: _read_x12sdk_835(t), memory=False, repeats=1
                )
                small = write_837p(_claims(1000), settings, control_number=1, created=created)
                results["x12sdk_read_837p_1000"] = _measure(
                    lambda t=small: _read_x12sdk_837(t), memory=False, repeats=1
                )
            except ImportError:
                results["x12sdk"] = "not installed"
        path.unlink()
    results["targets"] = {"read_835_claims_per_s": 50_000, "write_837p_claims_per_s": 20_000}
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
