"""Generated 835 files of varied shapes, for the tests that compare the two ways of reading.

``remittance_text(rng, ...)`` writes one interchange: one or more transactions (payers),
LX groups, PLB, claim-level CAS and the other 2100 segments, service lines with and
without their optional segments, now and then a value that cannot be read or a claim
that does not balance, with the delimiters and line breaks asked for.
"""

from __future__ import annotations

import random

DELIMITER_SETS = (
    ("*", ":", "^", "~"),
    ("|", ">", "^", "~"),
    ("*", ":", "^", "'"),
    ("+", ":", "!", "'"),
    ("!", "^", "{", "~"),
    ("*", ":", "^", "\n"),  # a white-space terminator: everything goes the general way
)


def _money(rng: random.Random, low: int = 0, high: int = 50_000) -> int:
    return rng.randint(low, high)


def _amount(cents: int, rng: random.Random, bad: float) -> str:
    if rng.random() < bad:
        return rng.choice(["12.345", "abc", "", "1E5", "-", "1234567890123.00", "0.5"])
    text = f"{cents / 100:.2f}"
    if rng.random() < 0.1 and cents % 100 == 0:
        text = str(cents // 100)  # "42" reads as 42.00
    return text


def _date(rng: random.Random, bad: float) -> str:
    if rng.random() < bad:
        return rng.choice(["20261340", "2026113", "ABCDEFGH", "20260230"])
    return f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def _line(
    rng: random.Random, i: int, claim_id: str, bad: float, extras: float = 1.0
) -> tuple[list[list[str]], int, int]:
    """The segments of one service line, its charge and paid (cents); ``extras`` scales the
    chances of the rarer segments."""
    charge = _money(rng, 1000, 30000)
    adjustments = [
        (
            rng.choice(["CO", "PR", "OA", "PI"]),
            rng.choice(["45", "1", "2", "3", "253"]),
            _money(rng, 0, 3000),
            "",
        )
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3]))
    ]
    if rng.random() < 0.1:
        adjustments.append(("CO", "45", -_money(rng, 0, 500), "1"))  # a negative one, with a quantity
    paid = charge - sum(a[2] for a in adjustments)
    if rng.random() < 0.1:
        paid += rng.choice([1, -100])  # does not balance
    mods = rng.choice(["", ":59", ":GP", ":GP:59", "::59", ":GP:59:KX:XU:XE"])
    svc = ["SVC", f"HC:{rng.choice(['97124', '97140', '97110', '97112'])}{mods}", _amount(charge, rng, bad)]
    svc.append(_amount(paid, rng, bad))
    shape = rng.random()
    if shape < 0.5:
        svc += ["", str(rng.choice([1, 2, 4]))]
    elif shape < 0.6:
        svc += ["", rng.choice(["1", "1.5", "", "x"]), f"HC:{rng.choice(['97124', '97140'])}", "2"]
    elif shape < 0.7:
        svc += ["0420"]
    segs = [svc]
    served = rng.random()
    if served < 0.7:
        segs.append(["DTM", "472", _date(rng, bad)])
    elif served < 0.85:
        segs += [["DTM", "150", _date(rng, bad)], ["DTM", "151", _date(rng, bad)]]
    for group, reason, cents, qty in adjustments:
        cas = ["CAS", group, reason, _amount(cents, rng, bad)]
        if qty:
            cas.append(qty)
        segs.append(cas)
    if adjustments and rng.random() < 0.15:  # several reasons in one CAS
        segs.append(["CAS", "OA", "23", "0.00", "", "94", "0.00"])
    if rng.random() < 0.8:
        segs.append(["REF", "6R", rng.choice([f"{claim_id}-{i}", ""])])
    if rng.random() < 0.1 * extras:
        segs.append(["REF", "LU", "11"])
    if rng.random() < 0.6:
        segs.append(["AMT", "B6", _amount(_money(rng), rng, bad)])
    if rng.random() < 0.1 * extras:
        segs.append(["AMT", "KH", "1.00"])
    if rng.random() < 0.1 * extras:
        segs.append(["QTY", "ZL", "1"])
    if rng.random() < 0.15 * extras:
        segs.append(["LQ", "HE", rng.choice(["M1", "N130", ""])])
    return segs, charge, paid


def _claim(rng: random.Random, k: int, bad: float, extras: float = 1.0) -> tuple[list[list[str]], int]:
    """The segments of one claim and its paid amount (cents); ``extras`` scales the chances
    of the rarer segments."""
    claim_id = rng.choice([f"C{k:06d}", f"C{k:06d}", ""]) if rng.random() < 0.05 else f"C{k:06d}"
    lines: list[list[str]] = []
    charge = paid = 0
    for i in range(rng.choice([0, 1, 1, 2, 2, 2, 3])):
        segs, c, p = _line(rng, i + 1, claim_id, bad, extras)
        lines += segs
        charge += c
        paid += p
    claim_adj = _money(rng, 0, 2000) if rng.random() < 0.2 * extras else 0
    paid -= claim_adj
    if not lines:
        charge, paid = _money(rng, 1000, 20000), _money(rng, 0, 1000)
    status = rng.choice(["1", "1", "1", "2", "4", "19", "22"])
    clp = ["CLP", claim_id, status, _amount(charge, rng, bad), _amount(paid, rng, bad)]
    pcn = "" if k % 5 == 2 else f"PCN{k}"  # now and then an empty id or name (read as None)
    clp += rng.choice(
        [
            [],
            [_amount(_money(rng, 0, 2000), rng, bad)],
            ["", "12", pcn, "11", "1"],
            [_amount(1000, rng, bad), "MC", pcn, "11", "1", "", "", "", "", "1"],
            ["10.00", "12"],
        ]
    )
    segs = [clp]
    if claim_adj:
        segs.append(["CAS", "PR", "1", _amount(claim_adj, rng, bad)])
    if rng.random() < 0.9:
        last, member = ("" if k % 11 == 5 else f"LAST{k}"), ("" if k % 7 == 3 else f"M{k:08d}")
        nm1 = ["NM1", "QC", "1", last, rng.choice([f"FIRST{k}", ""]), "", "", "", "MI", member]
        segs.append(nm1 if rng.random() < 0.9 else nm1[:5])
    if rng.random() < 0.1 * extras:
        segs.append(["NM1", "IL", "1", "SUBSCRIBER", "S", "", "", "", "MI", f"S{k}"])
    if rng.random() < 0.1 * extras:
        segs.append(["NM1", "82", "1", "RENDERING", "R", "", "", "", "XX", "1234567893"])
    if rng.random() < 0.05 * extras:
        segs.append(["NM1", "TT", "2", "CROSSOVER PLAN", "", "", "", "", "PI", "CO1"])
    if rng.random() < 0.1 * extras:
        segs.append(["MOA", "", "", "MA01", "N130"])
    if rng.random() < 0.05 * extras:
        segs.append(["MIA", "0", "", "", "", "MA02"])
    if rng.random() < 0.1 * extras:
        segs.append(["REF", "1K", f"PAYER{k}"])
    if rng.random() < 0.1 * extras:
        segs += [["DTM", "232", _date(rng, bad)], ["DTM", "233", _date(rng, bad)]]
    if rng.random() < 0.8:
        segs.append(["DTM", "050", _date(rng, bad)])
    if rng.random() < 0.05 * extras:
        segs.append(["PER", "CX", "CLAIMS", "TE", "8005551212"])
    if rng.random() < 0.1 * extras:
        segs.append(["AMT", "AU", "10.00"])
    return segs + lines, paid


_SHAPES = 3
"""Claims of a file written with ``repeat`` share one of this many sets of amounts and codes."""


def _repeated_claim(rng: random.Random, k: int, bad: float, shapes: int) -> tuple[list[list[str]], int]:
    """A claim with the amounts, codes and segments of one of ``_SHAPES`` claims (the same
    texts as other claims of the file), its own ids, names and dates; most of the shapes
    have few of the rarer segments. ``shapes`` (drawn once per file) picks the shapes."""
    shape = rng.randrange(_SHAPES)
    segs, paid = _claim(random.Random(shapes + shape), k, bad, extras=0.1 if shape else 1.0)
    for seg in segs:
        if seg[0] == "DTM" and len(seg) > 2:
            seg[2] = _date(rng, bad)
    return segs, paid


def _transaction(
    rng: random.Random, t: int, first_claim: int, bad: float, repeat: float = 0.0, shapes: int = 0
) -> tuple[list[list[str]], int]:
    body: list[list[str]] = []
    total = 0
    k = first_claim
    for g in range(rng.choice([1, 1, 2, 3])):
        if g or rng.random() < 0.7:
            body.append(["LX", str(g + 1)])
        for _ in range(rng.choice([1, 2, 3, 5, 8])):
            if repeat and rng.random() < repeat:
                segs, paid = _repeated_claim(rng, k, bad, shapes)
            else:
                segs, paid = _claim(rng, k, bad)
            k += 1
            body += segs
            total += paid
    plb = []
    if rng.random() < 0.2:
        cents = _money(rng, 0, 3000)
        plb = [["PLB", "1234567893", "20261231", "WO:REF1", _amount(cents, rng, bad)]]
        total -= cents
    head = [
        ["BPR", "I", f"{total / 100:.2f}", "C", "ACH", "CCP", "01", "999999992", "DA", "123456", "1512345678"]
        + ["", "01", "999988880", "DA", "98765", _date(rng, bad / 2)],
        ["TRN", "1", f"EFT{t:06d}", "1512345678"],
        ["DTM", "405", "20261128"],
        ["N1", "PR", f"PAYER {t}"],
        ["N3", "PO BOX 1000"],
        ["N4", "SPRINGFIELD", "IL", "62701"],
    ]
    if rng.random() < 0.5:
        head.append(["REF", "2U", f"PAYERID{t}"])
    head.append(["N1", "PE", "RIVERSIDE THERAPEUTIC MASSAGE", "XX", "1234567893"])
    segs = [["ST", "835", f"{t:04d}"], *head, *body, *plb]
    segs.append(["SE", str(len(segs) + 1), f"{t:04d}"])
    return segs, k


def remittance_text(
    rng: random.Random,
    delimiters: tuple[str, str, str, str] = ("*", ":", "^", "~"),
    breaks: str = "\n",
    bad: float = 0.0,
    untidy: float = 0.0,
    repeat: float = 0.0,
) -> str:
    """One interchange of 835s (see the module docs).

    ``breaks`` goes after each terminator; ``untidy`` is the share of segments written with
    white space around them (which the tokenizer strips); ``bad`` the share of values that
    cannot be read; ``repeat`` the share of claims that repeat the amounts, codes and
    segments of other claims of the file (with their own ids, names and dates), as the
    claims of a practice's remittances do.
    """
    sep, comp, rep, term = delimiters
    segs: list[list[str]] = [
        ["GS", "HP", "ACMEHEALTH", "RIVERSIDE", "20261130", "1200", "2", "X", "005010X221A1"]
    ]
    k = 1
    shapes = rng.randrange(2**32) if repeat else 0
    sets = rng.choice([1, 1, 2, 3])
    for t in range(1, sets + 1):
        tx, k = _transaction(rng, t, k, bad, repeat, shapes)
        segs += tx
    segs += [["GE", str(sets), "2"], ["IEA", "1", "000000002"]]
    isa = (
        f"ISA{sep}00{sep}          {sep}00{sep}          {sep}ZZ{sep}ACMEHEALTH     {sep}ZZ{sep}RIVERSIDE      "
        f"{sep}261123{sep}1200{sep}{rep}{sep}00501{sep}000000002{sep}0{sep}T{sep}{comp}{term}"
    )
    out = [isa, breaks]
    for seg in segs:
        text = sep.join(part.replace(":", comp) for part in seg)
        if untidy and rng.random() < untidy:
            text = rng.choice([" ", "\n", "\r\n", "\t"]) + text + rng.choice([" ", "", "\t"])
        out.append(text + term + breaks)
    return "".join(out)
