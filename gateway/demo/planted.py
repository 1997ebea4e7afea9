"""Every identifying value planted in the synthetic samples, and the byte forms a leak test should look for.

Keys are `<kind>.<what>`, so a test can pick a family with a prefix (`name.`, `id.`, `date.` …). A leak test
scans the raw output bytes for each value in each of `encoded_forms(value)`. `PLANTED_DATES` is the subset of
dates and times (`date.`, `time.`), which some profiles keep or shift on purpose.
"""

from __future__ import annotations

from gateway.demo.factory import UID_ROOT

PLANTED: dict[str, str] = {
    # Patient A: an English CT patient with two studies four months apart.
    "name.patient_a": "Whitaker^Eleanor^Marie",
    "name.patient_a_family": "Whitaker",
    "name.patient_a_given": "Eleanor",
    "name.patient_a_relative": "Margaret Whitaker",
    "id.patient_a": "MRN4471953",
    "id.patient_a_issuer": "STBRIGID-MRN",
    "id.patient_a_other": "9434765919",
    "address.patient_a": "14 Larkspur Lane, Bristol BS8 1QU",
    "phone.patient_a": "+44 117 496 0321",
    "name.referring_a": "Okonkwo^Chidi^^Dr",
    "name.referring_a_family": "Okonkwo",
    "name.operator_a": "Lindqvist^Henrik",
    "name.operator_a_family": "Lindqvist",
    "name.performing_a": "Abernathy^Rosalind",
    "name.performing_a_family": "Abernathy",
    "name.requesting_a": "Farrow^Desmond",
    "name.requesting_a_family": "Farrow",
    "name.private_a": "Pemberton^Archibald",
    "name.private_a_family": "Pemberton",
    "name.sr_observer_a": "Quartermaine^Beatrix",
    "name.sr_observer_a_family": "Quartermaine",
    "institution.a": "St Brigid's General Hospital",
    "institution.a_address": "1 Infirmary Road, Bristol BS2 8HW",
    "institution.a_department": "Radiology West Wing",
    "accession.a_ct": "BRG24031100042",
    "accession.a_followup": "BRG24071500187",
    "study_id.a_ct": "CT240311",
    "study_id.a_followup": "CT240715",
    "request.a_procedure_id": "RP88213",
    "request.a_step_id": "SPS55120",
    "request.a_performed_step_id": "PPS31877",
    "device.a_serial": "SN7781CT2",
    "device.a_station": "BRIGIDCT2",
    # Patient B: a Japanese patient, ISO 2022 IR 87, three-component name.
    "name.patient_b": "Yamada^Tarou=山田^太郎=やまだ^たろう",
    "name.patient_b_alphabetic": "Yamada^Tarou",
    "name.patient_b_ideographic": "山田^太郎",
    "name.patient_b_phonetic": "やまだ^たろう",
    "name.patient_b_family": "Yamada",
    "name.patient_b_family_ideographic": "山田",
    "name.referring_b": "Suzuki^Ichiro=鈴木^一郎=すずき^いちろう",
    "name.referring_b_family": "Suzuki",
    "name.operator_b": "Tanaka^Hanako=田中^花子=たなか^はなこ",
    "name.operator_b_family": "Tanaka",
    "id.patient_b": "JP20931877",
    "institution.b": "東都中央病院",
    "accession.b_cr": "TCH2405020019",
    "study_id.b_cr": "CR240502",
    # Patient C: a Spanish patient, ISO_IR 100 (Latin-1), multi-frame MR and a burned-in ultrasound.
    "name.patient_c": "Fernández García^María José",
    "name.patient_c_family": "Fernández",
    "id.patient_c": "CSU00581273",
    "institution.c": "Clínica Santa Úrsula de Almería",
    "accession.c_mr": "CSU2402190033",
    "accession.c_us": "CSU2402200051",
    "study_id.c_mr": "MR0219",
    "study_id.c_us": "US0220",
    "name.operator_c": "Ibáñez^Nuria",
    "name.operator_c_family": "Ibáñez",
    # UIDs: every sample UID starts with this fake organisation root.
    "uid_root": UID_ROOT,
    # Dates and times, which some profiles keep or shift on purpose.
    "date.patient_a_birth": "19580314",
    "date.a_ct_study": "20240311",
    "time.a_ct_study": "091522",
    "date.a_followup_study": "20240715",
    "time.a_followup_study": "143005",
    "date.patient_b_birth": "19710802",
    "date.b_cr_study": "20240502",
    "time.b_cr_study": "103317",
    "date.patient_c_birth": "19890127",
    "date.c_mr_study": "20240219",
    "time.c_mr_study": "160844",
    "date.c_us_study": "20240220",
    "time.c_us_study": "081209",
}

PLANTED_DATES: dict[str, str] = {k: v for k, v in PLANTED.items() if k.startswith(("date.", "time."))}


def encoded_forms(value: str) -> set[bytes]:
    """The byte strings under which `value` can appear in a DICOM or JSON body.

    UTF-8 covers ISO_IR 192 and JSON; Latin-1 covers ISO_IR 100; ISO-2022-JP covers ISO 2022 IR 87 (with the
    escape sequences, per PN component, and the bare JIS X 0208 bytes a careless rewriter might leave behind).
    """
    forms = {value.encode("utf-8")}
    for codec in ("latin-1", "iso2022_jp"):
        try:
            forms.add(value.encode(codec))
        except UnicodeEncodeError:
            continue
    for group in value.split("="):
        for component in group.split("^"):
            forms |= _jis_forms(component)
    return {form for form in forms if form}


def _jis_forms(component: str) -> set[bytes]:
    if component.isascii() or not component:
        return set()
    try:
        escaped = component.encode("iso2022_jp")
    except UnicodeEncodeError:
        return set()
    return {escaped, escaped.replace(b"\x1b$B", b"").replace(b"\x1b(B", b"")}
