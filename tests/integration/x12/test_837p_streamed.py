"""The 837P written claim by claim: claims taken from an iterator one at a time, grouped under
their billing provider (first seen first) with HL numbers, parents and counts computed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from therabill.adapters.x12 import iter_segments
from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.x837p_005010X222A1 import write_837p
from therabill.domain.claim import Claim
from therabill.domain.encounter import Address

from .conftest import CREATED, GOLDEN, SETTINGS, claim_of


def _mixed(count: int) -> list[Claim]:
    """Claims of three billing providers, interleaved, some with the patient not the subscriber."""
    names = ("clean-60-minute-massage", "sole-proprietor-own-npi", "workers-comp-visit", "medicare-pt-visit")
    bases = [claim_of(GOLDEN / name / "input.json") for name in names]
    return [dataclasses.replace(bases[i % len(bases)], claim_id=f"M{i}") for i in range(count)]


def test_claims_are_grouped_under_their_provider_with_computed_hl_numbers() -> None:
    claims = _mixed(11)
    settings = dataclasses.replace(SETTINGS, max_claims_per_transaction=5)
    taken: list[str] = []

    def one_by_one() -> Iterator[Claim]:
        for claim in claims:
            taken.append(claim.claim_id)
            yield claim

    segs = list(iter_segments(write_837p(one_by_one(), settings, control_number=9, created=CREATED)))
    assert taken == [c.claim_id for c in claims]
    starts = [i for i, s in enumerate(segs) if s[0] == "ST"]
    assert [segs[i][2] for i in starts] == ["0001", "0002", "0003"]
    written: list[str] = []
    for number, start in enumerate(starts):
        end = next(j for j in range(start, len(segs)) if segs[j][0] == "SE")
        assert int(segs[end][1]) == end - start + 1
        hls = [s for s in segs[start:end] if s[0] == "HL"]
        assert [int(s[1]) for s in hls] == list(range(1, len(hls) + 1))
        provider = 0
        npis: list[str] = []
        for k, s in enumerate(segs[start:end]):
            if s[0] == "HL" and s[3] == "20":
                provider = int(s[1])
                npi = next(x for x in segs[start + k :] if x[0] == "NM1" and x[1] == "85")[-1]
                assert npi not in npis  # one group per provider
                npis.append(npi)
            elif s[0] == "HL" and s[3] == "22":
                assert int(s[2]) == provider
                subscriber = int(s[1])
            elif s[0] == "HL" and s[3] == "23":
                assert int(s[2]) == subscriber
        in_set = claims[number * 5 : number * 5 + 5]
        firsts = list(dict.fromkeys(c.encounter.billing_provider.npi for c in in_set))
        assert npis == firsts
        clms = [s[1] for s in segs[start:end] if s[0] == "CLM"]
        assert sorted(clms) == sorted(c.claim_id for c in in_set)
        written += clms
    assert sum(1 for s in segs if s[0] == "HL" and s[3] == "23") > 0
    assert len(written) == len(claims)


def test_a_problem_found_after_a_bad_value_is_what_is_reported() -> None:
    claims = _mixed(6)
    enc = claims[1].encounter
    claims[1] = dataclasses.replace(
        claims[1],
        encounter=dataclasses.replace(enc, patient=dataclasses.replace(enc.patient, last_name="O*Brien")),
    )
    settings = dataclasses.replace(SETTINGS, max_claims_per_transaction=2)
    with pytest.raises(X12Error) as info:
        write_837p(iter(claims), settings, control_number=1, created=CREATED)
    assert info.value.code == "x12-delimiter-in-data"
    facility = dataclasses.replace(
        claims[5].encounter.billing_provider, address=Address("1 Main St", None, "Town", "NY", "12601")
    )
    claims[5] = dataclasses.replace(
        claims[5], encounter=dataclasses.replace(claims[5].encounter, billing_provider=facility)
    )
    with pytest.raises(X12Error) as info:
        write_837p(iter(claims), settings, control_number=1, created=CREATED)
    assert info.value.code == "x12-837-invalid"  # every claim is checked before anything is reported
