"""X12 benchmark: 837P writing and 835 reading at 10,000 and 100,000 claims, beside x12sdk.

Figures: claims per second and peak traced memory (tracemalloc) for our writer and our
streaming reader; x12sdk reads the same 10,000-claim files in the same run (100,000 would
take minutes). Benchmarks never assert timings.
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
from therabill.adapters.x12.x835_005010X221A1 import iter_835
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.domain.claim import Claim, build_claim
from therabill.domain.remittance import ClaimPayment
from therabill.schemas.encounter import parse_encounter
from therabill.service_layer.coding import units_of

REPO = Path(__file__).resolve().parents[1]


def _claims(n: int) -> list[Claim]:
    base = []
    for p in sorted((REPO / "examples").glob("*.json")):
        enc = parse_encounter(p.read_bytes())
        base.append(build_claim(enc, units_of(enc.services, enc.payer_profile)))
    out = []
    for i in range(n):
        c = base[i % len(base)]
        cid = f"C{i:09d}"
        lines = tuple(dataclasses.replace(ln, line_id=f"{cid}-{ln.line_number}") for ln in c.lines)
        out.append(dataclasses.replace(c, claim_id=cid, lines=lines))
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
            body += [
                f"CLP*C{i:09d}*1*105.00*42.00*10.00*12*PCN{i:012d}*11*1~",
                f"NM1*QC*1*DOE*JANE****MI*M{i:09d}~",
                "DTM*050*20261124~",
                "SVC*HC:97124*70.00*30.00**2~",
                "DTM*472*20261120~",
                "CAS*CO*45*30.00~",
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


def _measure(fn: Callable[[], int], *, memory: bool = True) -> dict[str, float]:
    """Time ``fn`` untraced; then, if asked, run it again under tracemalloc for the peak.

    tracemalloc slows Python code several times, so speed and memory are separate runs.
    """
    t0 = time.perf_counter()
    count = fn()
    elapsed = time.perf_counter() - t0
    out: dict[str, float] = {
        "claims": count,
        "seconds": round(elapsed, 3),
        "claims_per_s": round(count / elapsed),
    }
    if memory:
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["peak_traced_mb"] = round(peak / 2**20, 1)
    return out


def _read_ours(path: Path) -> int:
    n = 0
    for event in iter_835(path):
        if isinstance(event, ClaimPayment):
            n += 1
    return n


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
            out.append(write_837p(claims, settings, control_number=1, created=created))
            return len(claims)

        results[f"write_837p_{n}"] = _measure(write, memory=n <= 10_000)
        del claims
        path = folder / f"remit-{n}.835"
        text835 = _remittance_file(n)
        path.write_text(text835)
        results[f"read_835_{n}"] = _measure(lambda p=path: _read_ours(p))
        results[f"read_835_{n}"]["file_mb"] = round(path.stat().st_size / 2**20, 1)
        if n <= x12sdk_max:
            try:
                results[f"x12sdk_read_835_{n}"] = _measure(
                    lambda t=text835: _read_x12sdk_835(t), memory=False
                )
                small = write_837p(_claims(1000), settings, control_number=1, created=created)
                results["x12sdk_read_837p_1000"] = _measure(lambda t=small: _read_x12sdk_837(t), memory=False)
            except ImportError:
                results["x12sdk"] = "not installed"
        path.unlink()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
