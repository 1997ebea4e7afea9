"""Writes corpus.json: descriptor and report texts in English and Japanese, each with the identifiers its
instance carries and its identifying spans labelled by category.

Run from the repository root: `.venv/bin/python tests/core/rules/scrub_corpus/make_corpus.py`. The output is
deterministic (one seeded generator), so a change to this script shows as a reviewable diff of corpus.json.

Three kinds of text:
- clean clinical text, written here by hand, with nothing to remove (series and study descriptions, protocol
  names, report sentences); its context is "all", and the test scrubs it under every context, so that an own
  identifier that happens to be a clinical word shows as a false removal;
- templates that mix the instance's own identifiers (in many spellings: case, order, initials, `^`, the three
  PN groups, kana scripts, IDs with separators, every date form) with clinical words;
- templates with generic patterns (other dates, phone numbers, e-mail addresses, URLs, postal codes, ID-like
  tokens) and the corpus's deny-list terms.

A label covers exactly the identifying characters: `Dr.` before a name is kept, a Japanese honorific after it
(様, 先生) goes with the name, since it means nothing alone. The labels come from the slots the templates fill,
so they are right by construction; the slot spellings are listed below for review.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

OUT = pathlib.Path(__file__).with_name("corpus.json")
DENY = ["Project Falcon", "/(?i)TRIAL-\\d{3}/"]
ALLOW = ["/IRB-\\d{4}-\\d+/", "PROTO123456"]
ERAS = (("令和", "R", datetime.date(2019, 5, 1)), ("平成", "H", datetime.date(1989, 1, 8)),
        ("昭和", "S", datetime.date(1926, 12, 25)))
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@dataclass(frozen=True)
class Person:
    family: str
    given: str
    family_ja: str = ""
    given_ja: str = ""
    family_kana: str = ""
    given_kana: str = ""

    def pn(self) -> str:
        groups = [f"{self.family}^{self.given}"]
        if self.family_ja:
            groups += [f"{self.family_ja}^{self.given_ja}", f"{self.family_kana}^{self.given_kana}"]
        return "=".join(groups)


@dataclass(frozen=True)
class Context:
    key: str
    lang: str
    patient: Person
    physician: Person
    operator: Person
    mother: Person | None
    patient_id: str
    accession: str
    other_ids: tuple[str, ...]
    institution: str
    institution_word: str  # how the institution is called for short
    institution_ja: str
    institution_ja_stem: str  # the Japanese name without 病院, クリニック and the like
    station: str
    address: str
    address_ja: str
    study_date: datetime.date
    birth_date: datetime.date

    def identifiers(self) -> dict[str, list[str]]:
        people = [self.patient, self.physician, self.operator] + ([self.mother] if self.mother else [])
        places = [self.institution, self.institution_ja, self.station, self.address, self.address_ja, "Radiology"]
        return {
            "name": [person.pn() for person in people],
            "id": [self.patient_id, self.accession, *self.other_ids],
            "place": [place for place in places if place],
            "date": [self.study_date.strftime("%Y%m%d"), self.birth_date.strftime("%Y%m%d"),
                     self.study_date.strftime("%Y%m%d") + "101530.000"],
        }


CONTEXTS = (
    Context("p1", "ja", Person("YAMADA", "TARO", "山田", "太郎", "やまだ", "たろう"),
            Person("SUZUKI", "ICHIRO", "鈴木", "一郎", "すずき", "いちろう"),
            Person("TANAKA", "KEN", "田中", "健", "たなか", "けん"),
            Person("SATO", "HANAKO", "佐藤", "花子", "さとう", "はなこ"),
            "00482913", "A24-118273", ("KH-77120", "RP-20931", "7731"),
            "Sakura General Hospital", "Sakura", "さくら総合病院", "さくら", "CT-SAKURA-02",
            "2-15-7 Kitamachi, Chuo-ku, Sapporo 060-0042", "札幌市中央区北町2-15-7",
            datetime.date(2024, 4, 1), datetime.date(1958, 3, 12)),
    Context("p2", "en", Person("Fernández", "María"), Person("CHEN", "WEI"), Person("NG", "LI"), None,
            "5531207", "US24-00981", ("88120",),
            "Lakeside Medical Center", "Lakeside", "", "", "LMC-MR3",
            "1200 Harbor Street, Springfield, MA 01103", "",
            datetime.date(2023, 11, 15), datetime.date(1967, 7, 4)),
    Context("p3", "ja", Person("HAYASHI", "MAKOTO", "林", "誠", "ハヤシ", "マコト"),
            Person("ITO", "YUKI", "伊藤", "由紀", "いとう", "ゆき"),
            Person("KIMURA", "SHO", "木村", "翔", "きむら", "しょう"), None,
            "2207415", "R6-04512", ("HX0091",),
            "Kohoku Central Hospital", "Kohoku", "港北中央病院", "港北", "MR_KOHOKU_1",
            "3-6-1 Shin-Yokohama, Kohoku-ku, Yokohama", "横浜市港北区新横浜3-6-1",
            datetime.date(2019, 4, 15), datetime.date(1980, 1, 1)),
    Context("p4", "ja", Person("SATO", "MISAKI", "佐藤", "美咲", "ｻﾄｳ", "ﾐｻｷ"),
            Person("WATANABE", "JUN", "渡辺", "純", "わたなべ", "じゅん"),
            Person("OGAWA", "RIE", "小川", "理恵", "おがわ", "りえ"), None,
            "P0099812", "240615-0032", ("SID4410",),
            "Kita Medical Clinic", "KITA", "北メディカルクリニック", "北メディカル", "XR-KITA-1",
            "1-1 Honcho, Kita-ku, Okayama", "岡山市北区本町1-1",
            datetime.date(2024, 6, 15), datetime.date(1992, 9, 30)),
    Context("p5", "en", Person("SMITH", "JOHN"), Person("PATEL", "ANITA"), Person("OKAFOR", "EMEKA"),
            Person("BROWN", "ELIZABETH"),
            "778812340", "ACC99812", ("MGH-55120",),
            "St. Mary's Hospital", "St. Mary's", "", "", "SMH-CT-7",
            "55 Fruit Street, Boston, MA 02114", "",
            datetime.date(2022, 3, 1), datetime.date(1945, 12, 24)),
)


def era_forms(date: datetime.date) -> tuple[str, str]:
    kanji, letter, start = next(era for era in ERAS if date >= era[2])
    year = date.year - start.year + 1
    kanji_form = f"{kanji}{'元' if year == 1 else year}年{date.month}月{date.day}日"
    return kanji_form, f"{letter}{year}.{date.month}.{date.day}"


def date_forms(date: datetime.date, lang: str) -> list[str]:
    """The ways a date is written in the texts this corpus stands for."""
    month = MONTHS[date.month - 1]
    forms = [date.isoformat(), f"{date.year}/{date.month}/{date.day}", date.strftime("%Y/%m/%d"),
             date.strftime("%Y.%m.%d"), date.strftime("%Y%m%d"), date.strftime("%d/%m/%Y"),
             f"{date.day} {month} {date.year}", f"{month} {date.day}, {date.year}",
             f"{month[:3]} {date.day} {date.year}", f"{date.day:02d}-{month[:3].upper()}-{date.year}"]
    if lang == "ja":
        kanji, letter = era_forms(date)
        forms += [f"{date.year}年{date.month}月{date.day}日", kanji, letter, f"{date.month}月{date.day}日"]
    return forms


def _name_en(person: Person, rng: random.Random) -> str:
    f, g = person.family, person.given
    plain = unicodedata.normalize("NFD", f"{f} {g}").encode("ascii", "ignore").decode()  # accents dropped
    return rng.choice([f"{f} {g}", f"{f.title()} {g.title()}", f"{g.title()} {f.title()}", f"{f}^{g}",
                       f"{g[0]}. {f.title()}", f"{f.title()} {g[0]}", f"{f.title()}, {g.title()}",
                       f"{f.lower()} {g.lower()}", f"{g} {f}", f"{f.upper()}", f"{f.title()}", plain.upper(),
                       f"{f.upper()}{g.upper()}"])


def _katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in unicodedata.normalize("NFKC", text))


def _name_ja(person: Person, rng: random.Random) -> str:
    fj, gj, fk, gk = person.family_ja, person.given_ja, person.family_kana, person.given_kana
    katakana = _katakana(f"{fk} {gk}")
    return rng.choice([f"{fj}{gj}", f"{fj} {gj}", f"{fj}{gj}様", f"{fj}様", f"{fk} {gk}", f"{fk}{gk}", katakana,
                       katakana.replace(" ", ""), f"{fj}\u3000{gj}", f"{fj}さん", f"{fj}{gj} 様"])


def _rare_date(date: datetime.date, rng: random.Random) -> str:
    """Forms seen less often: a weekday, full-width digits, a DT with its time, a zero-padded era year."""
    weekday = "月火水木金土日"[date.weekday()]
    full = str.maketrans("0123456789", "０１２３４５６７８９")
    kanji, letter = era_forms(date)
    return rng.choice([f"{date.year}年{date.month}月{date.day}日({weekday})", f"{kanji}（{weekday}）",
                       f"{date.year}年{date.month}月{date.day}日".translate(full), date.strftime("%Y%m%d%H%M%S"),
                       f"{date:%A}, {date:%B} {date.day}, {date.year}", f"{date:%a %d %b %Y}",
                       f"{letter[0]}{int(letter[1:].split('.')[0]):02d}.{date.month:02d}.{date.day:02d}",
                       f"{date.day}{_ordinal(date.day)} of {date:%B}, {date.year}"])


def _ordinal(day: int) -> str:
    return "th" if 10 <= day <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _id(value: str, rng: random.Random) -> str:
    core = re.sub(r"[-\s]", "", value)
    forms = [value, core]
    if len(core) >= 6:
        forms += [f"{core[:3]}-{core[3:]}", f"{core[:4]} {core[4:]}"]
    if core.isdigit() and core.startswith("0"):
        forms.append(core.lstrip("0"))
    return rng.choice(forms)


def _other_date(rng: random.Random) -> datetime.date:
    return datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randrange(0, 3000))


SLOTS: dict[str, tuple[str, Callable[[Context, random.Random], str]]] = {
    "name": ("own-name", lambda c, r: _name_en(c.patient, r)),
    "name_ja": ("own-name", lambda c, r: _name_ja(c.patient, r)),
    "family": ("own-name", lambda c, r: r.choice([c.patient.family, c.patient.family.title()])),
    "dr": ("own-name", lambda c, r: r.choice([c.physician.family.title(), c.physician.family,
                                                f"{c.physician.given[0]}. {c.physician.family.title()}"])),
    "dr_ja": ("own-name", lambda c, r: r.choice([f"{c.physician.family_ja}先生", c.physician.family_ja,
                                                   f"{c.physician.family_ja}{c.physician.given_ja}"])),
    "operator": ("own-name", lambda c, r: _name_en(c.operator, r)),
    "operator_ja": ("own-name", lambda c, r: r.choice([f"{c.operator.family_ja}{c.operator.given_ja}",
                                                         f"{c.operator.family_ja} {c.operator.given_ja}"])),
    "mother": ("own-name", lambda c, r: _name_en(c.mother or c.patient, r)),
    "pid": ("own-id", lambda c, r: _id(c.patient_id, r)),
    "acc": ("own-id", lambda c, r: _id(c.accession, r)),
    "other_id": ("own-id", lambda c, r: _id(r.choice(c.other_ids), r)),
    "inst": ("own-place", lambda c, r: r.choice([c.institution, c.institution.upper(), c.institution_word])),
    "inst_ja": ("own-place", lambda c, r: r.choice([c.institution_ja, c.institution_ja_stem])),
    "station": ("own-place", lambda c, r: c.station),
    "addr": ("own-place", lambda c, r: c.address),
    "addr_ja": ("own-place", lambda c, r: c.address_ja),
    "study_date": ("own-date", lambda c, r: r.choice(date_forms(c.study_date, c.lang))),
    "rare_date": ("own-date", lambda c, r: _rare_date(c.study_date, r)),
    "wide_name": ("own-name", lambda c, r: _full_width(f"{c.patient.family} {c.patient.given}")),
    "wide_id": ("own-id", lambda c, r: _full_width(c.patient_id)),
    "birth_date": ("own-date", lambda c, r: r.choice(date_forms(c.birth_date, c.lang))),
    "date": ("date", lambda c, r: r.choice(date_forms(_other_date(r), "en"))),
    "date_ja": ("date", lambda c, r: r.choice(date_forms(_other_date(r), "ja")[10:])),
    "phone": ("phone", lambda c, r: r.choice(["03-5800-8630", "06-6879-5111", "090-2345-6789", "0120-345-678",
                                               "(617) 726-2000", "212-746-5454", "+1 415 476 1000",
                                               "+81 3 3815 5411", "080-4432-1187", "045-474-8111"])),
    "email": ("email", lambda c, r: r.choice(["radiology-desk@example.org", "info@clinic.example.jp",
                                               "reading.room@hospital.example.com", "pacs-admin@example.net"])),
    "url": ("url", lambda c, r: r.choice(["https://pacs.example.jp/viewer?study=8812", "www.imaging.example.com",
                                           "http://reports.example.org/r/77120"])),
    "postal": ("postal", lambda c, r: r.choice(["〒113-8655", "〒060-0042", "〒1008907"])),
    "postal_ja": ("postal", lambda c, r: r.choice(["150-0002", "530-0001"])),
    "zip": ("postal", lambda c, r: r.choice(["02114", "10021", "94143-0001"])),
    "idlike": ("id-like", lambda c, r: r.choice(["MRN4471203", "K2291A77", "AB12CD34", "RX558201", "4471203988",
                                                  "1.2.392.200036.9116.2.5.1.37.2418", "Z99X1234", "ORD-778120"])),
    "deny": ("deny", lambda c, r: r.choice(["Project Falcon", "TRIAL-042", "project falcon", "trial-007"])),
    # Names none of the instance's own attributes give: found only by the cue beside them (scrub_cued_names).
    "stranger": ("name", lambda c, r: r.choice(["Okonkwo", "Lindqvist", "Margaret Whitaker", "Ferreira",
                                                  "Anna Kowalska", "Haddad", "E. Novak", "J.R. Castillo"])),
    "stranger_ja": ("name", lambda c, r: r.choice(["佐々木", "高橋", "イトウ", "中村", "渡辺"])
                    + r.choice(["様", "さん", "先生", "氏"])),  # the honorific goes with the name
}

CLEAN_EN = """
AX T2 FLAIR | COR T1 POST GAD 3mm | DWI b1000 | CT CHEST W/O CONTRAST | Lung 1.25mm | SAG T1 SE | AX T1 MPRAGE
T2 FLAIR axial | CT chest follow-up | post contrast 5mm | 3D TOF MRA | SWI 3D | ADC map | DTI 32 directions
CT HEAD WITHOUT CONTRAST | CTA HEAD AND NECK | ABD/PELVIS PV PHASE 5mm | Bone 0.625mm B60f | Soft tissue 2.5mm
Scout | Localizer | MPR Coronal 3mm | MIP 10mm | VR 3D | Dose Report | Patient Protocol | Screen Save
PET WB FDG AC | PET/CT Attenuation Correction | NM Bone Scan Whole Body | US Abdomen Complete | Echo 2D
MR LUMBAR SPINE WO | C2-C3 level sagittal | L4-L5 disc axial T2 | T1W3D TFE | T2W TSE 512x512 | 1.5T Brain routine
120kV 250mAs helical | FOV 240mm matrix 512x512 | TR 2000 TE 120 | W400L40 | C40W400 | ep2d_diff_b1000
t2_tse_tra_p2 | t1_mprage_sag_iso | CINE SAX 25 phases | LGE PSIR SAX | Perfusion rest | T1 mapping MOLLI
Chest PA and lateral | Knee 3 views | Hand AP oblique lateral | Mammo CC MLO bilateral | Tomosynthesis R CC
CT CHEST LOW DOSE SCREENING | CT AP WITH CONTRAST | CT Coronary calcium score | CTA chest PE protocol
Brain MRI with and without gadolinium | MRCP 3D | Liver dynamic arterial phase | Delayed 3 min | Pre contrast
Recon 2 Lung | Recon 3 Bone | Series 4 of 12 | Phase 70% | Gated 75% | 0.6mm x 0.6mm | 64 slices | 3.0T
DWI b0 b800 | MOCO | Mean diffusivity | FA map | BOLD resting state | ASL perfusion | SWAN | FIESTA 2D
T12-L1 junction | S1-S2 | C1/2 odontoid | Th12/L1 | 2 x 3 cm | 0.5 mm slices | 3T MR neuro | Ingenia 1.5T
Optima MR450w | Discovery MR750 | SOMATOM Force 0.6mm | Aquilion ONE 320-row | Brilliance iCT 256 | 750HD
b=1000 s/mm2 | window 1500/-600 | ratio 3/4 | grade 2/3 | 10-20 system EEG | 70% diastole | ECG-gated 75%
SUVmax 12.3 | HU 1000 | Cr 1.2 mg/dL | PSA 8.4 ng/mL | eGFR 45 | 1 x 10^6 | BP 120/80 | HbA1c 6.5%
May Thurner protocol | Mark at umbilicus | MIP 3D 20mm | Stack 2 of 3 | Echo 1 of 2 | Flip angle 90 | NEX 2
Cine 4CH | 2CH | 3CH | SAX stack | LVOT | RVOT | Ao flow VENC 150 | Q flow | T2* GRE | T2 STIR COR
Pelvis FRFSE T2 | DCE perfusion 5s | Hip AP bilateral | Wrist PA | Foot 3 views | Ankle mortise | Spine scoliosis
""".strip()

CLEAN_REPORTS_EN = [
    "Findings: No acute intracranial hemorrhage. Ventricles are normal in size.",
    "Impression: 5 mm nodule in the right upper lobe, follow-up CT in 12 months is recommended.",
    "Comparison is made with the prior study. Stable appearance of the left renal cyst.",
    "There is a 2.3 x 1.8 cm enhancing lesion in segment VII of the liver.",
    "Mild degenerative changes at C5-C6 with no significant canal stenosis.",
    "The heart size is normal. No pleural effusion or pneumothorax.",
    "Technique: Axial T1, T2 and FLAIR images were obtained at 1.5T, followed by post contrast T1.",
    "No evidence of acute infarct on DWI. ADC values are within normal limits.",
    "Ejection fraction is estimated at 55%. No regional wall motion abnormality.",
    "Recommend clinical correlation and follow-up MRI in 3 months.",
    "Contrast: 80 mL iohexol 350 injected at 3 mL/s. No adverse reaction.",
    "Dose: CTDIvol 12.4 mGy, DLP 456 mGy*cm.",
    "The appendix is normal. No free fluid. No lymphadenopathy.",
    "Bone windows show no fracture. Paranasal sinuses are clear.",
    "Nodule measures 8 mm, Lung-RADS category 3. Short-term follow-up in 6 months.",
    "BI-RADS 2: benign findings. Routine screening in 1 year.",
    "Grade 2 spondylolisthesis of L5 on S1.",
    "NG tube tip is in the stomach. ET tube 4 cm above the carina.",
    "LI-RADS 4 observation in segment VIII, 2.1 cm, arterial phase hyperenhancement.",
    "Prominent brown fat uptake in the supraclavicular regions.",
    "Blood pressure 120/80 mmHg, heart rate 72 bpm during the scan.",
    "The lesion may represent a hemangioma; a follow-up in 6 months may be useful.",
    "Agatston score 112, MESA percentile 60. CAC-DRS A2.",
    "Right femoral neck fracture, Garden III. Total hip arthroplasty is suggested.",
    "PI-RADS 3 lesion in the left peripheral zone at the mid gland, 9 mm.",
    "Fleischner 2017 guidelines: no routine follow-up for a 4 mm solid nodule in a low risk patient.",
    "TI-RADS 3, 1.4 cm isoechoic nodule in the right lobe of the thyroid.",
    "Findings are consistent with Smith fracture of the distal radius.",
]

CLEAN_JA = """
頭部MRI T2WI | 頭部MRI FLAIR 軸位 | 造影CT 肝臓 動脈相 | 造影CT 肝臓 門脈相 | 単純CT 胸部 | 胸部CT 肺野条件
腹部CT 平衡相 | 頭部CT 単純 | 腰椎MRI 矢状断 T2 | 頸椎MRI T1 矢状断 | 拡散強調画像 b1000 | MRA 頭部 3D TOF
乳腺MRI ダイナミック | 前立腺MRI T2 横断 | 心臓MRI シネ | 骨シンチグラフィ 全身 | PET-CT 全身 FDG
冠動脈CT 石灰化スコア | 胸部X線 正面 | 腹部超音波 | 膝関節MRI PD 冠状断 | 肩関節MRI 斜冠状断
脳血流SPECT | 造影後 T1 脂肪抑制 | 再構成 肺野 1mm | 再構成 縦隔 5mm | 肝臓 EOB 肝細胞相 20分
健康診断 胸部 | 経過観察 | 術後評価 | 再検査 | 比較読影 | 緊急 | 頭部MRI 脳ドック
第3腰椎 | S状結腸 | T1強調像 | T2強調像 | 1.5テスラ | 3テスラ MRI | 造影剤 100mL | 右肺S6 | 肝S4/8 | Th12/L1
冠状断 再構成 | 矢状断 再構成 | 肺動脈相 | 遅延相 3分 | 脂肪抑制 T2 | 心電図同期 | 息止め 15秒 | 位置決め
乳房 MLO CC | 胃透視 | 注腸造影 | 大腸CT | 歯科用CT | 頭頸部CTA | 下肢静脈エコー | 甲状腺エコー
""".strip()

CLEAN_REPORTS_JA = [
    "所見：右上葉に5mm大の結節を認めます。前回と比較して著変ありません。",
    "肝S7に2.3cm大の早期濃染を伴う腫瘤を認めます。肝細胞癌を疑います。",
    "頭蓋内に明らかな出血や梗塞は認めません。脳室拡大なし。",
    "両側胸水は認めません。縦隔リンパ節の腫大なし。",
    "C5/6レベルで軽度の椎間板膨隆を認めますが、脊柱管狭窄は軽度です。",
    "拡散強調画像で高信号域は認めません。",
    "3か月後の経過観察MRIを推奨します。",
    "造影剤：イオヘキソール 80mL を 3mL/秒で注入。副作用なし。",
    "心拡大なし。肺野に浸潤影は認めません。",
    "膵尾部に1cm大の嚢胞性病変あり。IPMNを疑います。経過観察をお勧めします。",
    "診断：左腎嚢胞、良性と考えます。",
    "前立腺辺縁域にT2低信号域あり、PI-RADS 4。",
    "中央部に石灰化を伴う結節を認めます。",
    "健康診断の胸部CTで異常を指摘され精査。",
    "左腎に2cm大の血管筋脂肪腫を認めます。脂肪成分あり。",
    "肝S4/8に早期濃染と洗い出しを示す結節あり、LI-RADS 5相当です。",
    "第1腰椎に圧迫骨折を認めます。新鮮骨折の可能性があります。",
    "冠動脈石灰化スコアは112です。",
    "子宮筋腫を認めます。最大径は5.2cmです。",
    "血圧 120/80 mmHg、心拍数 72 回/分。",
    "右中大脳動脈領域に急性期脳梗塞を認めます。発症から4時間以内と推定されます。",
    "骨盤内に少量の腹水あり。卵巣に異常なし。",
]

TEMPLATES_EN = [
    "CT chest for {name} {study_date}",
    "MR BRAIN {name} {pid}",
    "{name} AX T2 FLAIR",
    "COR T1 POST GAD 3mm {family}",
    "Patient: {name}, MRN {pid}, DOB {birth_date}",
    "Accession {acc} CT ABD/PELVIS",
    "Referred by Dr. {dr} for headache",
    "Performed at {inst}, {station}",
    "Study date {study_date}. Comparison {date}.",
    "Call {phone} with results",
    "Questions: {email}",
    "Images at {url}",
    "{name} (ID {pid}) follow-up CT chest",
    "Technologist {operator}, 120kV 250mAs",
    "Mother's maiden name {mother}",
    "Other ID {other_id}, DWI b1000",
    "Sent from {inst} Radiology",
    "Address: {addr}",
    "Albany, NY {zip} outpatient imaging",
    "Specimen {idlike} correlated with CT",
    "Lung 1.25mm {idlike}",
    "{deny} baseline MRI",
    "Enrolled in {deny}, visit 2",
    "IRB-2024-0193 consented, prior {date}",
    "PROTO123456 research protocol T1 mapping",
    "Findings: Compared with the CT of {date}, the nodule is stable. Dr. {dr} was informed by phone at {phone}.",
    "Impression: {name} has a 5 mm nodule. Follow-up in 12 months. Reported {study_date} by Dr. {dr}.",
    "History: {name}, {pid}. Chest pain. Technique: CTA chest PE protocol.",
    "Report for accession {acc}: no acute findings. Questions to {email}.",
    "Prior exam on {date} at {inst} is not available.",
    "The patient, {name}, tolerated the procedure well.",
    "{name}^{study_date} SERIES 3 T1 SAG",
    "Scanned on {study_date} at {station}",
    "Contact {email} or {phone}",
    "Order {idlike} from {url}",
    "Mr. {family} is a 66 year old man with cough",
    "{family}'s prior MRI was reviewed",
    "PROTOCOL_{name} T1_MPRAGE",
    "ID:{pid} AX DWI",
    "#{pid} CT HEAD",
    "pt {pid} / acc {acc} / {study_date}",
    "Exam {study_date}, read {date} by {dr}",
    "Compared with {date} and {date}: interval growth of 2 mm.",
    "tel. {phone} fax {phone}",
    "Questions about this report: {email}, {phone}.",
    "Ship films to {addr}",
    "{inst} Department of Radiology, CT suite 2",
    "Operator: {operator}; Station: {station}",
    "DOB {birth_date} age 66Y",
    "Specimen {idlike}, block A2",
    "Seen at {url} on {date}",
    "Records from {inst}, New York, NY {zip}",
    "Accession#{acc} MRN#{pid}",
    "{name} {name} duplicated header",
    "For {name}, cc {dr} and {operator}",
    "Trial {deny} arm B, T2 FLAIR",
    "Acquired {rare_date} on {station}",
    "{rare_date}: CT chest PE protocol",
    "{wide_name} ({wide_id}) MR",
]

TEMPLATES_JA = [
    "{name_ja} 頭部MRI T2WI",
    "造影CT 肝臓 {name_ja}",
    "患者ID {pid} 胸部CT",
    "受付番号 {acc} 腹部CT 平衡相",
    "{study_date} 撮影 頭部CT 単純",
    "生年月日 {birth_date}",
    "依頼医 {dr_ja} 腰椎MRI",
    "{inst_ja} 放射線科 胸部X線",
    "撮影：{operator_ja} 造影CT",
    "住所 {addr_ja}",
    "送付先 {postal} 宛",
    "連絡先 {phone}",
    "{name_ja}、{study_date}に撮影。前回 {date_ja} と比較。",
    "所見：{date_ja}のCTと比較して、右上葉の結節は著変ありません。{dr_ja}に電話で報告済み。",
    "{name_ja}の頭部MRI。拡散強調画像で高信号域は認めません。",
    "依頼元：{inst_ja}、{station}",
    "検査日 {study_date} 造影後 T1 脂肪抑制",
    "郵便番号 {postal_ja} 東京都",
    "メール {email} まで",
    "{name_ja} {pid} {study_date}",
    "{deny} 頭部MRI ベースライン",
    "その他ID {other_id} 再構成 肺野 1mm",
    "画像は {url} で参照できます。",
    "検体番号 {idlike} と対比",
    "患者名：{name_ja}　患者ID：{pid}",
    "{name_ja}の胸部CT、{study_date}撮影",
    "主治医 {dr_ja}、担当技師 {operator_ja}",
    "{inst_ja}からの紹介。{date_ja}に当院受診。",
    "{study_date}の頭部MRIと比較して、病変は縮小しています。",
    "連絡先：{email}、電話 {phone}",
    "ID:{pid}　{name_ja}　{birth_date}生",
    "撮影日 {study_date} / 受付 {acc}",
    "{name_ja}の検査結果を{dr_ja}に報告しました。",
    "前回検査 {date_ja}、今回 {study_date}",
    "住所：{postal} {addr_ja}",
    "{deny} 被験者 腹部CT",
    "検査番号 {idlike}",
    "ステーション {station} 造影CT",
    "検査日 {rare_date} 頭部MRI",
    "{rare_date}撮影分と比較",
    "患者 {wide_name} 患者ID {wide_id}",
]

# Texts that name someone the header does not, next to a cue; a separate random stream, so the texts above
# stay as they were.
TEMPLATES_STRANGER = [
    "CT CHEST follow-up ref Dr {stranger}",
    "Patient moved slightly; repeated by {stranger}",
    "Lives with daughter {stranger}; call first",
    "Reported by {stranger}, MD",
    "Discussed with Mrs {stranger} at the bedside",
    "Name: {stranger}",
    "Consent signed by husband {stranger}",
    "胸部X線 {stranger_ja}",
    "担当 {stranger_ja} 確認済み",
    "{stranger_ja}の腹部CT 平衡相",
]


def render(template: str, context: Context, rng: random.Random) -> tuple[str, list[dict[str, object]]]:
    text, spans, position = "", [], 0
    for match in re.finditer(r"\{(\w+)\}", template):
        text += template[position : match.start()]
        category, fill = SLOTS[match[1]]
        value = fill(context, rng)
        spans.append({"start": len(text), "end": len(text) + len(value), "category": category, "text": value})
        text += value
        position = match.end()
    return text + template[position:], spans


def main() -> None:
    rng = random.Random(15)
    texts: list[dict[str, object]] = []

    def add(kind: str, lang: str, context: Context | None, template: str) -> None:
        text, spans = render(template, context, rng) if context else (template, [])
        texts.append({"id": f"{lang}-{kind}-{len(texts) + 1:03d}", "lang": lang, "kind": kind,
                      "context": context.key if context else "all", "text": text, "spans": spans})

    for line in CLEAN_EN.replace("\n", " | ").split("|"):
        add("series", "en", None, line.strip())
    for line in CLEAN_JA.replace("\n", " | ").split("|"):
        add("series", "ja", None, line.strip())
    for line in CLEAN_REPORTS_EN:
        add("report", "en", None, line)
    for line in CLEAN_REPORTS_JA:
        add("report", "ja", None, line)
    for template in TEMPLATES_EN:
        for context in rng.sample(CONTEXTS, 3):
            add("report" if len(template) > 60 else "description", "en", context, template)
    for template in TEMPLATES_JA:
        for context in (c for c in CONTEXTS if c.lang == "ja"):
            add("report" if len(template) > 30 else "description", "ja", context, template)
    stranger_rng = random.Random(19)
    for template in TEMPLATES_STRANGER:
        lang = "en" if template.isascii() else "ja"
        for context in stranger_rng.sample([c for c in CONTEXTS if lang == "en" or c.lang == "ja"], 2):
            text, spans = render(template, context, stranger_rng)
            texts.append({"id": f"{lang}-stranger-{len(texts) + 1:03d}", "lang": lang, "kind": "description",
                          "context": context.key, "text": text, "spans": spans})
    corpus = {
        "about": "Written for issue 15 by make_corpus.py; see its docstring.",
        "deny": DENY,
        "allow": ALLOW,
        "contexts": {context.key: context.identifiers() for context in CONTEXTS},
        "texts": texts,
    }
    OUT.write_text(json.dumps(corpus, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
