"""Inbound X12 files shaped like a clearinghouse's answers to our own batch (for fetch tests)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def interchange(
    functional_id: str, version: str, transactions: Sequence[Sequence[str]], control: int = 901
) -> bytes:
    """An ISA/GS/.../GE/IEA around ``transactions`` (each a list of segments from ST to before SE)."""
    out = [
        f"ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*THERABILL      *261124*1200*^*00501*{control:09d}*0*T*:",
        f"GS*{functional_id}*CLEARINGHOUSE*THERABILL*20261124*1200*{control}*X*{version}",
    ]
    for k, body in enumerate(transactions, start=1):
        st = f"{k:04d}"
        segs = [body[0].replace("ST*", "ST*", 1).replace("#ST#", st), *body[1:]]
        out.extend(segs)
        out.append(f"SE*{len(segs) + 1}*{st}")
    out.append(f"GE*{len(transactions)}*{control}")
    out.append(f"IEA*1*{control:09d}")
    return ("~".join(out) + "~").encode()


def ack_999(group_control: int, accepted: bool = True) -> bytes:
    status = "A" if accepted else "R"
    body = [
        "ST*999*#ST#*005010X231A1",
        f"AK1*HC*{group_control}*005010X222A1",
        "AK2*837*0001*005010X222A1",
        *([] if accepted else ["IK3*CLM*5**8", "IK4*2*782*7*XX"]),
        f"IK5*{status}" + ("" if accepted else "*5"),
        f"AK9*{status}*1*1*{1 if accepted else 0}",
    ]
    return interchange("FA", "005010X231A1", [body])


def ack_277ca(
    claim_number: str | None,
    charge: Decimal,
    accepted: bool = True,
    pccn: str = "PCN-777",
    *,
    batch_trace: str = "BATCH1",
    batch_stc: str = "A1:19",
) -> bytes:
    """A 277CA: the batch (2200B, ``batch_trace`` = our BHT03) and, unless ``claim_number`` is
    None, one claim (2200D)."""
    stc = "A2:20" if accepted else "A7:562:85"
    body = [
        "ST*277*#ST#*005010X214",
        "BHT*0085*08*1*20261124*1200*TH",
        "HL*1**20*1",
        "NM1*AY*2*CLEARINGHOUSE*****46*CH",
        "TRN*1*1",
        "DTP*050*D8*20261124",
        "DTP*009*D8*20261124",
        "HL*2*1*21*1",
        "NM1*41*2*HUDSON VALLEY MASSAGE*****46*THERABILL",
        f"TRN*2*{batch_trace}",
        f"STC*{batch_stc}*20261124*{'WQ' if batch_stc.startswith('A1') else 'U'}*{charge}",
        "QTY*90*1",
        f"AMT*YU*{charge}",
        "HL*3*2*19*1",
        "NM1*85*2*HUDSON VALLEY MASSAGE*****XX*1887754327",
    ]
    if claim_number is not None:
        body += [
            "HL*4*3*PT",
            "NM1*QC*1*MILLER*GRACE****MI*W123456789",
            f"TRN*2*{claim_number}",
            f"STC*{stc}*20261124*{'WQ' if accepted else 'U'}*{charge}",
            f"REF*1K*{pccn}",
            "DTP*472*D8*20261120",
        ]
    return interchange("HN", "005010X214", [body])


def remit_835(
    claim_number: str, lines: Sequence[tuple[str, Decimal, Decimal, str]], trace: str = "TRACE-1"
) -> bytes:
    """An 835 paying ``lines`` = (code, charge, paid, line_id); the difference is CO-45."""
    charge = sum((c for _, c, _, _ in lines), Decimal("0"))
    paid = sum((p for _, _, p, _ in lines), Decimal("0"))
    body = [
        "ST*835*#ST#",
        f"BPR*I*{paid}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20261201",
        f"TRN*1*{trace}*1512345678",
        "DTM*405*20261201",
        "N1*PR*AETNA",
        "N3*PO BOX 981106",
        "N4*EL PASO*TX*799981106",
        "REF*2U*60054",
        "N1*PE*HUDSON VALLEY MASSAGE*XX*1887754327",
        "LX*1",
        f"CLP*{claim_number}*1*{charge}*{paid}**12*PCN-777",
        "NM1*QC*1*MILLER*GRACE****MI*W123456789",
    ]
    for code, c, p, line_id in lines:
        body += [f"SVC*HC:{code}*{c}*{p}**1", "DTM*472*20261120"]
        if c != p:
            body.append(f"CAS*CO*45*{c - p}")
        body.append(f"REF*6R*{line_id}")
    return interchange("HP", "005010X221A1", [body])


def status_277(claim_number: str, category: str = "P1", code: str = "20") -> bytes:
    body = [
        "ST*277*#ST#*005010X212",
        "BHT*0010*08*STATUS1*20261215*1200*DG",
        "HL*1**20*1",
        "NM1*PR*2*AETNA*****PI*60054",
        "HL*2*1*21*1",
        "NM1*41*2*HUDSON VALLEY MASSAGE*****46*THERABILL",
        "HL*3*2*19*1",
        "NM1*1P*2*HUDSON VALLEY MASSAGE*****XX*1887754327",
        "HL*4*3*22*0",
        "NM1*IL*1*MILLER*GRACE****MI*W123456789",
        f"TRN*2*{claim_number}",
        f"STC*{category}:{code}*20261215**100*0",
        "REF*1K*PCN-777",
        "DTP*472*RD8*20261120-20261120",
    ]
    return interchange("HN", "005010X212", [body])
