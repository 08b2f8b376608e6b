# ruff: noqa: N999  (the module is named after the implementation guide it follows)
"""837P (005010X222A1) professional claim writer, from ``domain.claim.Claim`` records.

``write_837p(claims, settings, control_number=..., created=...)`` returns the whole
interchange as text: one ISA/GS, one ST per 5,000 claims (or the settings' limit), claims
grouped under their billing provider (2000A), one subscriber HL (2000B) per claim and a
patient HL (2000C) only when the patient is not the subscriber. Counts (HL, LX, SE01,
GE01, IEA01) are computed.

Before a claim is written it is checked for what would make the file wrong and what
pyx12 does not catch (``check_claim``): NPI check digits, ZIP+4 of the billing provider and
service facility, claim total = sum of lines, at most 4 modifiers and 4 pointers per line,
pointers within the diagnoses, at most 12 diagnoses, claim id of 1-20 characters, a
replacement or void with the payer's claim number. A delimiter inside any value is refused
with an error naming the field. Nothing is returned unless every claim passed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from therabill.adapters.x12.envelope import (
    EnvelopeSettings,
    billing_provider_nm1,
    check_control_number,
    clean,
    isa_segment,
)
from therabill.adapters.x12.errors import X12Error
from therabill.domain.claim import CLAIM_ID_MAX, Claim
from therabill.domain.encounter import Address, Coverage, Encounter, LinePriorPayment
from therabill.domain.errors import Problem
from therabill.domain.validation import npi_is_valid

__all__ = ["VERSION", "check_claim", "npi_is_valid", "prior_payer", "write_837p"]

VERSION = "005010X222A1"

_SEQUENCE = {"primary": "P", "secondary": "S", "tertiary": "T"}
_PAT01 = {"spouse": "01", "child": "19", "employee": "20", "other": "G8"}
_SBR02_OTHER = {"spouse": "01", "child": "19", "employee": "20", "other": "G8"}
_MAX_DX = 12
_NOTE_MAX = 80
"""NTE02 of the 2300 loop holds at most 80 characters."""
_MAX_PWK = 10
"""The 2300 PWK segment repeats at most 10 times."""
_PWK_TRANSMISSION = frozenset({"AA", "BM", "EL", "EM", "FT", "FX"})
"""PWK02 codes of the 837P guide; all but ``AA`` (available on request) need a PWK06."""
_PWK_REPORT_TYPES = frozenset(
    "03 04 05 06 07 08 09 10 11 13 15 21 A3 A4 AM AS B2 B3 B4 BR BS BT CB CK CT D2 DA DB DG DJ DS"
    " EB HC HR I5 IR LA M1 MT NN OB OC OD OE OX OZ P4 P5 PE PN PO PQ PY PZ RB RR RT RX SG V5 XP".split()
)
"""PWK01 codes of the 837P guide (005010X222A1, 2300 PWK01); ``77`` of older versions is gone."""
_MAX_CAS = 5
"""CAS segments per 2320 or 2430 loop."""


def _d8(value: date) -> str:
    return value.isoformat().replace("-", "")


_npi_ok = functools.lru_cache(maxsize=4096)(npi_is_valid)
"""``npi_is_valid`` remembered: the same few NPIs come back claim after claim."""


def _money(value: Decimal) -> str:
    """An R amount: no trailing ``.00`` (``65`` / ``65.5``), as X12 prefers."""
    text = f"{value:.2f}"
    if text.endswith(".00"):
        return text[:-3]
    if text.endswith("0") and "." in text:
        return text[:-1]
    return text


def _units(value: int) -> str:
    return str(value)


def prior_payer(e: Encounter) -> tuple[int, Coverage] | None:
    """The other coverage whose payer adjudicated the lines of a secondary claim (2430 SVD01).

    The other coverage with sequence ``primary`` when there is one, else the first one;
    ``None`` without other coverages.
    """
    for k, other in enumerate(e.other_coverages):
        if other.sequence == "primary":
            return k, other
    return (0, e.other_coverages[0]) if e.other_coverages else None


def _cas_segments(adjustments: Sequence[tuple[str, str, Decimal]]) -> int:
    groups: dict[str, int] = {}
    for group, _, _ in adjustments:
        groups[group] = groups.get(group, 0) + 1
    return sum((n + 5) // 6 for n in groups.values())


def _check_extras(claim: Claim, add: Callable[[str, str, str], None]) -> None:
    """Attachments (PWK), the claim note (NTE) and line adjudications (2430)."""
    e = claim.encounter
    if len(e.attachments) > _MAX_PWK:
        add("x12-837-attachment", "attachments", f"at most {_MAX_PWK} attachments (PWK) fit a claim")
    for k, att in enumerate(e.attachments):
        loc = f"attachments[{k}]"
        if att.report_type not in _PWK_REPORT_TYPES:
            add(
                "x12-837-attachment",
                f"{loc}.report_type",
                f"report type {att.report_type!r} is not a PWK01 code of 005010X222A1 (e.g. OZ, B4, 04)",
            )
        if att.transmission not in _PWK_TRANSMISSION:
            add(
                "x12-837-attachment",
                f"{loc}.transmission",
                f"transmission {att.transmission!r} is not one of {', '.join(sorted(_PWK_TRANSMISSION))}",
            )
        elif att.transmission == "AA" and att.control_number:
            add(
                "x12-837-attachment",
                f"{loc}.control_number",
                "an attachment available on request (AA) carries no control number (PWK06)",
            )
        elif att.transmission != "AA" and not att.control_number:
            add(
                "x12-837-attachment",
                f"{loc}.control_number",
                f"an attachment sent ({att.transmission}) needs its control number (PWK06)",
            )
        if att.control_number is not None and not 1 <= len(att.control_number.strip()) <= 50:
            add("x12-837-attachment", f"{loc}.control_number", "the control number has 1-50 characters")
    if e.claim_note is not None and len(e.claim_note.strip()) > _NOTE_MAX:
        add(
            "x12-837-note-too-long",
            "claim_note",
            f"claim_note has {len(e.claim_note.strip())} characters; NTE02 holds at most {_NOTE_MAX}",
        )
    lines = [ln for ln in claim.lines if e.services[ln.service_index].prior_payment is not None]
    if not lines:
        return
    cov = e.coverage
    payer = prior_payer(e)
    if cov is not None and cov.sequence == "primary":
        add(
            "x12-837-cob",
            f"services[{lines[0].service_index}].prior_payment",
            "a line's prior payment belongs on a secondary or tertiary claim (coverage.sequence)",
        )
    if payer is None:
        add(
            "x12-837-cob",
            f"services[{lines[0].service_index}].prior_payment",
            "a line's prior payment needs the payer that adjudicated it in other_coverages",
        )
    claim_prior = payer[1].prior_payment if payer is not None else None
    lines_unbalanced = False
    for ln in lines:
        loc = f"services[{ln.service_index}].prior_payment"
        pp = e.services[ln.service_index].prior_payment
        assert pp is not None
        adjusted = sum((a for _, _, a in pp.adjustments), Decimal("0.00"))
        if ln.charge - adjusted != pp.paid_amount:
            lines_unbalanced = True
            add(
                "x12-837-cob-unbalanced",
                loc,
                f"line charge {ln.charge} - adjustments {adjusted} != paid {pp.paid_amount}",
            )
        if pp.adjudication_date is None and (claim_prior is None or claim_prior.adjudication_date is None):
            add("x12-837-cob", f"{loc}.adjudication_date", "the adjudication date (DTP*573) is required")
        if _cas_segments(pp.adjustments) > _MAX_CAS:
            add(
                "x12-837-cob", f"{loc}.adjustments", f"the adjustments need more than {_MAX_CAS} CAS segments"
            )
    if payer is None or claim_prior is None or lines_unbalanced:
        return
    # Claim (2320) and lines (2430) tell one adjudication: the lines' payments add up to the
    # claim's, and each dollar of the charge is adjusted once, at the claim or at a line.
    loc = f"other_coverages[{payer[0]}].prior_payment"
    zero = Decimal("0.00")
    line_paid = sum((e.services[ln.service_index].prior_payment.paid_amount for ln in lines), zero)  # type: ignore[union-attr]
    claim_adj = sum((a for _, _, a in claim_prior.adjustments), zero)
    if line_paid - claim_adj != claim_prior.paid_amount:
        add(
            "x12-837-cob-unbalanced",
            f"{loc}.paid_amount",
            f"the lines were paid {line_paid}, less claim adjustments {claim_adj}, but the claim says "
            f"{claim_prior.paid_amount} (AMT*D = sum of SVD02 - claim-level CAS)",
        )
    if len(lines) == len(claim.lines):
        line_adj = sum(
            (a for ln in lines for _, _, a in e.services[ln.service_index].prior_payment.adjustments),  # type: ignore[union-attr]
            zero,
        )
        if claim.total_charge - claim_prior.paid_amount != claim_adj + line_adj:
            add(
                "x12-837-cob-unbalanced",
                f"{loc}.adjustments",
                f"charge {claim.total_charge} - paid {claim_prior.paid_amount} != claim adjustments {claim_adj} "
                f"+ line adjustments {line_adj}: an adjustment is counted at both levels, or one is missing",
            )


def check_claim(claim: Claim) -> list[Problem]:
    """What would make the 837P of ``claim`` wrong (beyond pyx12's checks); empty when fine."""
    e = claim.encounter
    out: list[Problem] = []

    def add(code: str, loc: str, message: str) -> None:
        out.append(Problem(code, loc, message))

    if not claim.claim_id or len(claim.claim_id) > CLAIM_ID_MAX:
        add("x12-837-claim-id", "encounter_id", f"claim id must be 1-{CLAIM_ID_MAX} characters")
    bp = e.billing_provider
    if bp is None:
        add("x12-837-missing", "billing_provider", "the billing provider is required")
    else:
        if not bp.npi or not _npi_ok(bp.npi):
            add("x12-837-npi", "billing_provider.npi", f"NPI {bp.npi!r} is not a valid NPI (check digit)")
        if bp.address is None:
            add("x12-837-missing", "billing_provider.address", "the billing address is required")
        elif len(bp.address.zip) != 9:
            add("x12-837-zip4", "billing_provider.address.zip", "the billing provider needs a 9-digit ZIP+4")
        if not bp.tax_id or bp.tax_id_type not in ("EIN", "SSN"):
            add("x12-837-missing", "billing_provider.tax_id", "a tax id (EIN or SSN) is required")
        if bp.entity_type == "person" and not (bp.last_name and bp.first_name):
            add("x12-837-missing", "billing_provider.last_name", "a person needs first and last name")
        if bp.entity_type != "person" and not bp.organization_name:
            add("x12-837-missing", "billing_provider.organization_name", "the organization name is required")
    rp = e.rendering_provider
    if rp is not None and rp.npi and not _npi_ok(rp.npi):
        add("x12-837-npi", "rendering_provider.npi", f"NPI {rp.npi!r} is not a valid NPI (check digit)")
    ref = e.referring_provider
    if ref is not None and ref.npi and not _npi_ok(ref.npi):
        add("x12-837-npi", "referring_provider.npi", f"NPI {ref.npi!r} is not a valid NPI (check digit)")
    sf = e.service_facility
    if sf is not None:
        if sf.address is None or len(sf.address.zip) != 9:
            add("x12-837-zip4", "service_facility.address.zip", "the service facility needs a 9-digit ZIP+4")
        if sf.npi and not _npi_ok(sf.npi):
            add("x12-837-npi", "service_facility.npi", f"NPI {sf.npi!r} is not a valid NPI (check digit)")
    if e.patient is None:
        add("x12-837-missing", "patient", "the patient is required")
    cov = e.coverage
    if cov is None:
        add("x12-837-missing", "coverage", "the coverage is required")
    else:
        if not cov.payer_id or not cov.payer_name:
            add("x12-837-missing", "coverage.payer_id", "payer id and name are required")
        if not cov.claim_filing_indicator:
            add(
                "x12-837-missing", "coverage.claim_filing_indicator", "the claim filing indicator is required"
            )
        if cov.relationship_to_subscriber != "self" and cov.subscriber is None:
            add(
                "x12-837-missing", "coverage.subscriber", "the subscriber is required when the patient is not"
            )
        if cov.relationship_to_subscriber == "self" and not cov.member_id:
            add("x12-837-missing", "coverage.member_id", "the member id is required")
    if not e.diagnoses:
        add("x12-837-missing", "diagnoses", "at least one diagnosis is required")
    if len(e.diagnoses) > _MAX_DX:
        add("x12-837-diagnoses", "diagnoses", f"at most {_MAX_DX} diagnoses fit a claim")
    if not e.place_of_service:
        add("x12-837-missing", "place_of_service", "the place of service is required")
    if e.claim_frequency in ("7", "8") and not e.payer_claim_control_number:
        add(
            "x12-837-frequency",
            "payer_claim_control_number",
            "a replacement (7) or void (8) needs the payer's claim number",
        )
    if e.claim_frequency not in ("1", "7", "8"):
        add("x12-837-frequency", "claim_frequency", "claim frequency must be 1, 7 or 8")
    total = sum((ln.charge for ln in claim.lines), Decimal("0.00"))
    if total != claim.total_charge:
        add("x12-837-total", "services", f"claim total {claim.total_charge} != sum of lines {total}")
    for ln in claim.lines:
        loc = f"services[{ln.service_index}]"
        if len(ln.modifiers) > 4:
            add("x12-837-modifiers", f"{loc}.modifiers", "at most 4 modifiers per line")
        if not 1 <= len(ln.diagnosis_pointers) <= 4:
            add("x12-837-pointers", f"{loc}.diagnosis_pointers", "1 to 4 diagnosis pointers per line")
        for p in ln.diagnosis_pointers:
            if not 1 <= p <= min(len(e.diagnoses), _MAX_DX):
                add(
                    "x12-837-pointers",
                    f"{loc}.diagnosis_pointers",
                    f"pointer {p} is not a diagnosis on the claim",
                )
        if ln.charge <= 0:
            add("x12-837-charge", f"{loc}.unit_charge", "a line charge must be positive")
    _check_extras(claim, add)
    return out


_CACHE_LIMIT = 8192
"""Distinct values remembered as already clean, per file (bounded)."""


class _Claim837:
    """Writes the segments of one transaction's claims into a list of segment strings.

    Segments are built with one ``join`` each (trailing empty elements trimmed by
    stripping the element separator, which no value can contain) and the transaction is
    joined once at the end. Every data value goes through ``c`` (the delimiter and
    character rule of ``envelope.clean``, with the field named on error); values already
    seen in this file are looked up instead of checked again.
    """

    def __init__(self, settings: EnvelopeSettings, ok: dict[str, str] | None = None) -> None:
        d = settings.delimiters
        self.d = d
        self.sep = d.element
        self.comp = d.component
        self.term = d.segment + ("\n" if settings.line_break else "")
        self.out: list[str] = []
        self.ok: dict[str, str] = {} if ok is None else ok
        self.addresses: dict[Address, tuple[str, str]] = {}
        self._delims = (d.element, d.component, d.repetition, d.segment)

    def seg(self, *elements: str) -> None:
        """Append one segment from plain (already clean) elements."""
        sep = self.sep
        self.out.append(sep.join(elements).rstrip(sep) + self.term)

    def composite(self, *components: str) -> str:
        """A composite element; trailing empty components trimmed."""
        comp = self.comp
        return comp.join(components).rstrip(comp)

    def c(self, value: str | None, name: str) -> str:
        """``value`` cleaned for an element (see ``envelope.clean``); ``""`` for ``None``."""
        if value is None:
            return ""
        done = self.ok.get(value)
        if done is not None:
            return done
        e, co, r, t = self._delims
        if (
            value.isascii()
            and value.isprintable()
            and r
            and not (e in value or co in value or r in value or t in value)
        ):
            done = value.strip()
        else:
            done = clean(value, name, self.d)
        if len(self.ok) < _CACHE_LIMIT:
            self.ok[value] = done
        return done

    def address(self, a: Address | None, name: str) -> None:
        """N3/N4 of ``a`` (an address met before in this file is written from memory)."""
        if a is None:
            return
        done = self.addresses.get(a)
        if done is None:
            c = self.c
            sep, term = self.sep, self.term
            n3 = sep.join(("N3", c(a.line1, name + ".line1"), c(a.line2, name + ".line2"))).rstrip(sep)
            n4 = sep.join(
                ("N4", c(a.city, name + ".city"), c(a.state, name + ".state"), c(a.zip, name + ".zip"))
            ).rstrip(sep)
            done = (n3 + term, n4 + term)
            if len(self.addresses) < _CACHE_LIMIT:
                self.addresses[a] = done
        self.out += done

    def billing_provider(self, e: Encounter, hl: int) -> None:
        seg, c, bp = self.seg, self.c, e.billing_provider
        assert bp is not None
        seg("HL", str(hl), "", "20", "1")
        if bp.taxonomy:
            seg("PRV", "BI", "PXC", c(bp.taxonomy, "billing_provider.taxonomy"))
        seg(*billing_provider_nm1("85", bp, c))
        self.address(bp.address, "billing_provider.address")
        seg("REF", "EI" if bp.tax_id_type == "EIN" else "SY", c(bp.tax_id, "billing_provider.tax_id"))
        if bp.pay_to_address is not None and bp.pay_to_address != bp.address:
            seg("NM1", "87", "1" if bp.entity_type == "person" else "2")
            self.address(bp.pay_to_address, "billing_provider.pay_to_address")

    def patient_name(self, e: Encounter, entity: str, member: tuple[str, ...], claim_no: str | None) -> None:
        """The patient's NM1 (``IL`` as the subscriber, with the member id; ``QC`` otherwise),
        address, DMG, and REF*Y4 with the property and casualty claim number when given."""
        seg, c, pat = self.seg, self.c, e.patient
        assert pat is not None
        seg(
            "NM1",
            entity,
            "1",
            c(pat.last_name, "patient.last_name"),
            c(pat.first_name, "patient.first_name"),
            c(pat.middle_name, "patient.middle_name"),
            "",
            c(pat.suffix, "patient.suffix"),
            *member,
        )
        self.address(pat.address, "patient.address")
        if pat.birth_date is not None:
            seg("DMG", "D8", _d8(pat.birth_date), c(pat.sex, "patient.sex") or "U")
        if claim_no:
            seg("REF", "Y4", c(claim_no, "related_causes.property_casualty_claim_number"))

    def claim(self, claim: Claim, hl: int, parent: int) -> int:  # noqa: C901 - one loop after another
        """Write 2000B..2400 of ``claim``; return the number of HL segments written."""
        e = claim.encounter
        cov, pat = e.coverage, e.patient
        assert cov is not None and pat is not None
        seg, c = self.seg, self.c
        is_self = cov.relationship_to_subscriber == "self"
        pc = (cov.payer_profile or "") in ("workers_comp", "auto_no_fault") or cov.claim_filing_indicator in (
            "WC",
            "AM",
        )
        seg("HL", str(hl), str(parent), "22", "0" if is_self else "1")
        sbr05 = ""
        if cov.claim_filing_indicator == "MB" and cov.sequence != "primary":
            sbr05 = c(cov.medicare_secondary_payer_type, "coverage.medicare_secondary_payer_type")
        seg(
            "SBR",
            _SEQUENCE.get(cov.sequence, "P"),
            "18" if is_self else "",
            c(cov.group_number, "coverage.group_number"),
            "" if cov.group_number else c(cov.plan_name, "coverage.plan_name"),
            sbr05,
            "",
            "",
            "",
            c(cov.claim_filing_indicator, "coverage.claim_filing_indicator"),
        )
        # 2010BA subscriber
        claim_no = e.related_causes.property_casualty_claim_number
        if is_self:
            self.patient_name(
                e, "IL", ("MI", c(cov.member_id, "coverage.member_id")), claim_no if pc else None
            )
        else:
            sub = cov.subscriber
            assert sub is not None
            member = sub.member_id or cov.member_id
            if sub.entity_type == "organization":
                seg(
                    "NM1",
                    "IL",
                    "2",
                    c(sub.last_name, "coverage.subscriber.last_name"),
                    "",
                    "",
                    "",
                    "",
                    "MI" if member else "",
                    c(member, "coverage.subscriber.member_id"),
                )
            else:
                seg(
                    "NM1",
                    "IL",
                    "1",
                    c(sub.last_name, "coverage.subscriber.last_name"),
                    c(sub.first_name, "coverage.subscriber.first_name"),
                    "",
                    "",
                    "",
                    "MI" if member else "",
                    c(member, "coverage.subscriber.member_id"),
                )
            self.address(sub.address, "coverage.subscriber.address")
            if sub.entity_type != "organization" and sub.birth_date is not None:
                seg("DMG", "D8", _d8(sub.birth_date), c(sub.sex, "coverage.subscriber.sex") or "U")
        # 2010BB payer
        seg(
            "NM1",
            "PR",
            "2",
            c(cov.payer_name, "coverage.payer_name"),
            "",
            "",
            "",
            "",
            "PI",
            c(cov.payer_id, "coverage.payer_id"),
        )
        self.address(cov.payer_address, "coverage.payer_address")
        hls = 1
        if not is_self:
            # 2000C / 2010CA patient
            seg("HL", str(hl + 1), str(hl), "23", "0")
            seg("PAT", _PAT01.get(cov.relationship_to_subscriber, "G8"))
            self.patient_name(e, "QC", (), claim_no if pc else None)
            hls = 2
        self.clm(claim)
        return hls

    def clm(self, claim: Claim) -> None:  # noqa: C901 - the 2300 loop in guide order
        e = claim.encounter
        seg, c = self.seg, self.c
        cov = e.coverage
        assert cov is not None
        rc = e.related_causes
        clm11 = ""
        if rc.employment or rc.auto_accident or rc.other_accident:
            causes = [
                code
                for flag, code in ((rc.employment, "EM"), (rc.auto_accident, "AA"), (rc.other_accident, "OA"))
                if flag
            ]
            state = (
                c(rc.auto_accident_state, "related_causes.auto_accident_state") if rc.auto_accident else ""
            )
            clm11 = self.composite(*causes, *([""] * (3 - len(causes))), state)
        consent = e.consent
        seg(
            "CLM",
            c(claim.claim_id, "encounter_id"),
            _money(claim.total_charge),
            "",
            "",
            self.composite(c(e.place_of_service, "place_of_service"), "B", e.claim_frequency),
            "Y" if e.provider_signature_on_file else "N",
            "A" if e.accept_assignment else "C",
            "Y" if consent is not None and consent.benefits_assigned else "N",
            "Y" if consent is not None and consent.release_of_information else "I",
            "",
            clm11,
        )
        if e.onset_date is not None:
            seg("DTP", "431", "D8", _d8(e.onset_date))
        if rc.accident_date is not None and (rc.auto_accident or rc.other_accident or rc.employment):
            seg("DTP", "439", "D8", _d8(rc.accident_date))
        for k, att in enumerate(e.attachments):
            name = f"attachments[{k}]"
            pwk = [
                "PWK",
                c(att.report_type, name + ".report_type"),
                c(att.transmission, name + ".transmission"),
            ]
            if att.control_number:
                pwk += ["", "", "AC", c(att.control_number, name + ".control_number")]
            seg(*pwk)
        if e.patient_amount_paid is not None and e.patient_amount_paid > 0:
            seg("AMT", "F5", _money(e.patient_amount_paid))
        if e.claim_frequency in ("7", "8"):
            seg("REF", "F8", c(e.payer_claim_control_number, "payer_claim_control_number"))
        if cov.authorization is not None:
            seg("REF", "G1", c(cov.authorization.number, "coverage.authorization.number"))
        if cov.referral_number:
            seg("REF", "9F", c(cov.referral_number, "coverage.referral_number"))
        if e.claim_note is not None and e.claim_note.strip():
            seg("NTE", "ADD", c(e.claim_note, "claim_note"))
        comp = self.comp
        hi = [
            self.composite("ABK" if i == 0 else "ABF", c(dx, f"diagnoses[{i}]").replace(".", ""))
            for i, dx in enumerate(e.diagnoses[:_MAX_DX])
        ]
        seg("HI", *hi)
        ref = e.referring_provider
        if ref is not None and ref.qualifier == "DN":
            self.person("DN", ref.last_name, ref.first_name, ref.npi, "referring_provider")
        rp = e.rendering_provider
        bp = e.billing_provider
        assert bp is not None
        if rp is not None and rp.npi and rp.npi != bp.npi:
            self.person("82", rp.last_name, rp.first_name, rp.npi, "rendering_provider")
            if rp.taxonomy:
                seg("PRV", "PE", "PXC", c(rp.taxonomy, "rendering_provider.taxonomy"))
        sf = e.service_facility
        if sf is not None and sf.address != bp.address:
            seg(
                "NM1",
                "77",
                "2",
                c(sf.name, "service_facility.name"),
                "",
                "",
                "",
                "",
                "XX" if sf.npi else "",
                c(sf.npi, "service_facility.npi"),
            )
            self.address(sf.address, "service_facility.address")
        if ref is not None and ref.qualifier == "DQ":
            self.person("DQ", ref.last_name, ref.first_name, ref.npi, "referring_provider")
        for k, other in enumerate(e.other_coverages):
            self.other_subscriber(e, other, k)
        ordering = ref is not None and ref.qualifier == "DK"
        encounter_pos = e.place_of_service
        payer = prior_payer(e)
        for ln in claim.lines:
            i = ln.service_index
            seg("LX", str(ln.line_number))
            proc = "HC" + comp + c(ln.code, f"services[{i}].code")
            for m in ln.modifiers[:4]:
                proc += comp + c(m, f"services[{i}].modifiers")
            pos = ln.place_of_service if ln.place_of_service and ln.place_of_service != encounter_pos else ""
            seg(
                "SV1",
                proc.rstrip(comp),
                _money(ln.charge),
                "UN",
                str(ln.units),
                c(pos, f"services[{i}].place_of_service") if pos else "",
                "",
                comp.join([str(p) for p in ln.diagnosis_pointers[:4]]),
            )
            seg("DTP", "472", "D8", _d8(ln.date_of_service))
            seg("REF", "6R", c(ln.line_id, f"services[{i}].line_id"))
            if ordering:
                assert ref is not None
                self.person("DK", ref.last_name, ref.first_name, ref.npi, "referring_provider")
            pp = e.services[i].prior_payment
            if pp is not None and payer is not None:
                self.line_adjudication(pp, payer, proc.rstrip(comp), ln.units, f"services[{i}].prior_payment")

    def line_adjudication(
        self, pp: LinePriorPayment, payer: tuple[int, Coverage], proc: str, units: int, name: str
    ) -> None:
        """2430 SVD / CAS / DTP*573: how the earlier payer adjudicated the line."""
        seg, c = self.seg, self.c
        k, other = payer
        seg(
            "SVD",
            c(other.payer_id, f"other_coverages[{k}].payer_id"),
            _money(pp.paid_amount),
            proc,
            "",
            str(units),
        )
        self.cas(pp.adjustments, name + ".adjustments")
        when = pp.adjudication_date
        if when is None and other.prior_payment is not None:
            when = other.prior_payment.adjudication_date
        assert when is not None
        seg("DTP", "573", "D8", _d8(when))

    def cas(self, adjustments: Sequence[tuple[str, str, Decimal]], name: str) -> None:
        """CAS segments: one per group code, six reason/amount pairs each."""
        c = self.c
        by_group: dict[str, list[tuple[str, Decimal]]] = {}
        for group, reason, amt in adjustments:
            by_group.setdefault(group, []).append((reason, amt))
        for group, items in by_group.items():
            for start in range(0, len(items), 6):
                triples: list[str] = []
                for reason, amt in items[start : start + 6]:
                    triples += [c(reason, name), _money(amt), ""]
                self.seg("CAS", c(group, name), *triples)

    def person(self, qualifier: str, last: str, first: str, npi: str | None, name: str) -> None:
        c = self.c
        self.seg(
            "NM1",
            qualifier,
            "1",
            c(last, name + ".last_name"),
            c(first, name + ".first_name"),
            "",
            "",
            "",
            "XX" if npi else "",
            c(npi, name + ".npi"),
        )

    def other_subscriber(self, e: Encounter, other: Coverage, k: int) -> None:
        """2320 / 2330A / 2330B for another coverage of the patient (a secondary claim)."""
        seg, c = self.seg, self.c
        name = f"other_coverages[{k}]"
        pat = e.patient
        assert pat is not None
        is_self = other.relationship_to_subscriber == "self"
        seg(
            "SBR",
            _SEQUENCE.get(other.sequence, "P"),
            "18" if is_self else _SBR02_OTHER.get(other.relationship_to_subscriber, "G8"),
            c(other.group_number, f"{name}.group_number"),
            "" if other.group_number else c(other.plan_name, f"{name}.plan_name"),
            "",
            "",
            "",
            "",
            c(other.claim_filing_indicator, f"{name}.claim_filing_indicator"),
        )
        prior = other.prior_payment
        if prior is not None:
            self.cas(prior.adjustments, f"{name}.prior_payment.adjustments")
            seg("AMT", "D", _money(prior.paid_amount))
            if prior.remaining_patient_liability is not None:
                seg("AMT", "EAF", _money(prior.remaining_patient_liability))
        consent = e.consent
        seg(
            "OI",
            "",
            "",
            "Y" if consent is not None and consent.benefits_assigned else "N",
            "",
            "",
            "Y" if consent is not None and consent.release_of_information else "I",
        )
        sub = other.subscriber
        if is_self or sub is None:
            seg(
                "NM1",
                "IL",
                "1",
                c(pat.last_name, "patient.last_name"),
                c(pat.first_name, "patient.first_name"),
                "",
                "",
                "",
                "MI",
                c(other.member_id, f"{name}.member_id"),
            )
        else:
            seg(
                "NM1",
                "IL",
                "2" if sub.entity_type == "organization" else "1",
                c(sub.last_name, f"{name}.subscriber.last_name"),
                c(sub.first_name, f"{name}.subscriber.first_name")
                if sub.entity_type != "organization"
                else "",
                "",
                "",
                "",
                "MI",
                c(sub.member_id or other.member_id, f"{name}.member_id"),
            )
        seg(
            "NM1",
            "PR",
            "2",
            c(other.payer_name, f"{name}.payer_name"),
            "",
            "",
            "",
            "",
            "PI",
            c(other.payer_id, f"{name}.payer_id"),
        )
        if prior is not None and prior.adjudication_date is not None:
            seg("DTP", "573", "D8", _d8(prior.adjudication_date))
        if prior is not None and prior.payer_claim_control_number:
            seg(
                "REF",
                "F8",
                c(prior.payer_claim_control_number, f"{name}.prior_payment.payer_claim_control_number"),
            )


def _provider_key(claim: Claim) -> tuple[object, ...]:
    bp = claim.encounter.billing_provider
    assert bp is not None
    return (
        bp.entity_type,
        bp.organization_name,
        bp.last_name,
        bp.first_name,
        bp.npi,
        bp.tax_id,
        bp.tax_id_type,
        bp.taxonomy,
        bp.address,
        bp.pay_to_address,
    )


class _HL:
    """An HL segment of a claim written before its billing provider's place in the transaction
    is known: its number and parent relative to that provider's HL (``parent`` ``None``: the
    provider itself)."""

    __slots__ = ("child", "code", "number", "parent")

    def __init__(self, number: int, parent: int | None, code: str, child: str) -> None:
        self.number, self.parent, self.code, self.child = number, parent, code, child


class _Group:
    """The claims of one billing provider in a transaction, written as they come: text runs
    between the HL segments (numbered when the transaction closes)."""

    __slots__ = ("encounter", "error", "hls", "parts")

    def __init__(self, encounter: Encounter) -> None:
        self.encounter = encounter
        self.parts: list[str | _HL] = []
        self.hls = 0  # HL segments of its claims so far
        self.error: X12Error | None = None


class Interchange837:
    """One 837P interchange written claim by claim (``add``), then closed (``text``).

    Each claim is checked (``check_claim``) and written as it is added, so the caller need
    not hold the claims (a large batch streams them); the text is what ``write_837p`` gives
    for the same claims: transactions of ``max_claims_per_transaction`` claims in the order
    added, each one's claims grouped under their billing provider in first-seen order. Only
    the written text of the open transaction is kept (a few hundred bytes a claim), with
    its HL numbers filled in when the transaction closes.
    """

    def __init__(self, settings: EnvelopeSettings | None, *, control_number: int, created: datetime) -> None:
        self.settings = settings = settings or EnvelopeSettings()
        settings.check()
        check_control_number(control_number)
        self.control_number, self.created = control_number, created
        self.size = settings.max_claims_per_transaction
        self.problems: list[Problem] = []
        self.seen: set[str] = set()
        self.ok: dict[str, str] = {}
        self.sets: list[str] = []  # the closed transactions' text
        self.groups: dict[tuple[object, ...], _Group] = {}
        self.in_set = 0
        self.error: X12Error | None = None  # the first value that cannot be written
        self.writer = _Claim837(settings, self.ok)

    def add(self, claim: Claim) -> None:
        """Check and write one claim (a problem is kept and reported by ``text``)."""
        problems = [Problem(p.code, f"{claim.claim_id}: {p.loc}", p.message) for p in check_claim(claim)]
        if claim.claim_id in self.seen:
            problems.append(
                Problem("x12-837-claim-id-duplicate", claim.claim_id, "claim id used twice in one file")
            )
        self.seen.add(claim.claim_id)
        self.problems.extend(problems)
        if self.in_set == self.size:
            self._close_set()
        self.in_set += 1
        if self.problems or self.error is not None:
            return  # nothing will be written: only the checks go on
        key = _provider_key(claim)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(claim.encounter)
        if group.error is not None:
            return
        writer = self.writer
        writer.out = []
        try:
            hls = writer.claim(claim, 0, 0)
        except X12Error as exc:
            group.error = X12Error(f"claim {claim.claim_id}: {exc.detail}", code=exc.code)
            return
        out, sep = writer.out, writer.sep
        rel = group.hls + 1
        marks = [(0, _HL(rel, None, "22", "0" if hls == 1 else "1"))]
        if hls == 2:  # the patient's HL: the third segment after the payer's name and address
            at = next(k for k, text in enumerate(out) if k and text.startswith("HL" + sep))
            marks.append((at, _HL(rel + 1, rel, "23", "0")))
        last = 0
        for at, mark in marks:
            if at > last:
                group.parts.append("".join(out[last:at]))
            group.parts.append(mark)
            last = at + 1
        group.parts.append("".join(out[last:]))
        group.hls += hls

    def _close_set(self) -> None:
        if self.in_set and not self.problems and self.error is None:
            failed = next((g.error for g in self.groups.values() if g.error is not None), None)
            if failed is None:
                self.sets.append(self._transaction_text(len(self.sets) + 1))
            else:  # reported once every claim is checked (a problem found later comes first)
                self.error = failed
        self.groups = {}
        self.in_set = 0

    def _transaction_text(self, number: int) -> str:
        settings, created = self.settings, self.created
        st_control = f"{number:04d}"
        writer = _Claim837(settings, self.ok)
        seg, c = writer.seg, writer.c
        seg("ST", "837", st_control, VERSION)
        seg(
            "BHT", "0019", "00", f"{self.control_number}{st_control}", created.strftime("%Y%m%d"),
            created.strftime("%H%M"), "CH",
        )  # fmt: skip
        seg(
            "NM1", "41", "2", c(settings.submitter_name, "settings.submitter_name"), "", "", "", "", "46",
            c(settings.submitter_id, "settings.submitter_id"),
        )  # fmt: skip
        per = [
            "IC",
            c(settings.contact_name, "settings.contact_name"),
            "TE",
            c(settings.contact_phone, "settings.contact_phone"),
        ]
        if settings.contact_email:
            per += ["EM", c(settings.contact_email, "settings.contact_email")]
        seg("PER", *per)
        seg(
            "NM1", "40", "2", c(settings.receiver_name, "settings.receiver_name"), "", "", "", "", "46",
            c(settings.receiver_etin, "settings.receiver_etin"),
        )  # fmt: skip
        hl = 1
        for group in self.groups.values():
            base = hl
            writer.billing_provider(group.encounter, base)
            for part in group.parts:
                if isinstance(part, str):
                    writer.out.append(part)
                else:
                    parent = base if part.parent is None else base + part.parent
                    seg("HL", str(base + part.number), str(parent), part.code, part.child)
            hl = base + 1 + group.hls
        text = "".join(writer.out)
        count = text.count(writer.term)  # segments so far (no value holds the terminator)
        return text + writer.sep.join(("SE", str(count + 1), st_control)) + writer.term

    def text(self) -> str:
        """The interchange.

        Raises:
            X12Error: a claim failed ``check_claim`` (every problem listed), a value holds a
                delimiter (the field is named), or no claim was added.
        """
        if not self.seen:
            raise X12Error("there is no claim to write", code="x12-837-empty")
        if self.problems:
            raise X12Error(
                f"{len(self.problems)} problem(s) prevent writing the 837P",
                code="x12-837-invalid",
                problems=tuple(self.problems),
            )
        self._close_set()
        if self.error is not None:
            raise self.error
        settings, control_number, created = self.settings, self.control_number, self.created
        d = settings.delimiters
        gs_sender = clean(settings.application_sender or settings.sender_id, "settings.application_sender", d)
        gs_receiver = clean(
            settings.application_receiver or settings.receiver_id, "settings.application_receiver", d
        )
        nl = "\n" if settings.line_break else ""
        gs = (
            "GS", "HC", gs_sender, gs_receiver, created.strftime("%Y%m%d"), created.strftime("%H%M"),
            str(control_number), "X", VERSION,
        )  # fmt: skip
        parts = [isa_segment(settings, control_number, created), d.element.join(gs) + d.segment + nl]
        parts += self.sets
        parts.append(d.element.join(("GE", str(len(self.sets)), str(control_number))) + d.segment + nl)
        parts.append(d.element.join(("IEA", "1", f"{control_number:09d}")) + d.segment + nl)
        return "".join(parts)


def write_837p(
    claims: Iterable[Claim],
    settings: EnvelopeSettings | None = None,
    *,
    control_number: int,
    created: datetime,
) -> str:
    """Write ``claims`` as one 837P interchange (taken one at a time: an iterator of claims is
    not held whole; see ``Interchange837``).

    Args:
        claims: the claims (each must pass ``check_claim``; a scrubber gate is the caller's).
        settings: envelope settings (defaults: ``EnvelopeSettings()``).
        control_number: ISA13 and GS06 (1-999,999,999); ST02 counts 0001, 0002, ...
        created: the date and time written into ISA09/10, GS04/05 and BHT04/05.

    Raises:
        X12Error: a claim fails ``check_claim`` (every problem listed), a value holds a
            delimiter (the field is named), the settings are unusable, or there is no claim.
    """
    interchange = Interchange837(settings, control_number=control_number, created=created)
    for claim in claims:
        interchange.add(claim)
    return interchange.text()
