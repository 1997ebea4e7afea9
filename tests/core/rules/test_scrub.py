"""The free-text scrubber: its spans, the own identifiers in their spellings, generic patterns, allow and deny,
dates under each date rule, the profile keys, and caching."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.rules.profile import CleanMode, compile_profile
from gateway.core.rules.schema import DateWord
from gateway.core.rules.scrub import Category, IdentifierKind, Identifiers, Scrubber
from gateway.core.rules.scrub_own import kind_of
from gateway.errors import ConfigError

NAME, ID, PLACE, DATE = IdentifierKind.NAME, IdentifierKind.ID, IdentifierKind.PLACE, IdentifierKind.DATE


def yamada() -> Identifiers:
    return (Identifiers().add(NAME, "YAMADA^TARO=山田^太郎=やまだ^たろう").add(NAME, "HAYASHI^MAKOTO=林^誠=ﾊﾔｼ^ﾏｺﾄ")
            .add(NAME, "TANAKA^KEN=田中^健=たなか^けん").add(ID, "00482913").add(ID, "A24-118273").add(ID, "1")
            .add(PLACE, "Sakura General Hospital").add(PLACE, "札幌市中央区北町2-15-7").add(PLACE, "Radiology")
            .add(DATE, "20240401").add(DATE, "19580312101500"))


def scrubbed(text: str, *, dates: DateWord = "remove", shift: int | None = None, **lists: list[str]) -> str:
    return Scrubber(lists.get("deny", ()), lists.get("allow", ()), dates=dates).scrub(
        text, yamada(), date_shift=shift).text


@pytest.mark.parametrize(("text", "expected"), [
    ("CT chest for YAMADA Taro 2024-04-01", "CT chest for"),
    ("T. Yamada follow-up", "follow-up"),
    ("Yamada T AX T2 FLAIR", "AX T2 FLAIR"),
    ("yamada, taro: CT", "CT"),
    ("Taro Yamada's prior", "'s prior"),
    ("PROTOCOL_YAMADA_TARO T1", "PROTOCOL_ T1"),
    ("YAMADATARO", ""),
    ("山田太郎様 頭部MRI", "頭部MRI"),
    ("山田　太郎の胸部CT", "の胸部CT"),
    ("ヤマダ タロウ 造影CT", "造影CT"),
    ("やまだたろう 造影CT", "造影CT"),
    ("林誠 様の検査", "の検査"),
    ("林様 頭部CT", "頭部CT"),
    ("ﾊﾔｼ ﾏｺﾄ 頭部CT", "頭部CT"),
    ("ハヤシ マコト 頭部CT", "頭部CT"),
    ("担当 田中健", "担当"),
    ("ＹＡＭＡＤＡ ＴＡＲＯ 患者ID ００４８２９１３", "患者ID"),
    ("ID 0048-2913 and 482913 and A24118273", "ID and and"),
    ("Sakura General follow-up", "follow-up"),
    ("SAKURA GENERAL HOSPITAL Radiology", "Radiology"),
    ("札幌市の病院から", "の病院から"),
    ("CT (YAMADA Taro) chest", "CT chest"),
    ("CT / YAMADA / chest", "CT / chest"),
    ("YAMADA, CT chest", "CT chest"),
    ("Name: YAMADA, MRN: 00482913, CT", "Name:, MRN:, CT"),
    ("For YAMADA.", "For."),
])
def test_own_identifiers_in_their_spellings(text: str, expected: str) -> None:
    assert scrubbed(text) == expected


@pytest.mark.parametrize("text", [
    "TY T2", "T2", "5mm", "3D", "C2-C3", "FLAIR", "DWI b1000", "512x512", "1.5T", "120kV", "CT chest follow-up",
    "造影CT 肝臓", "post contrast 5mm", "AX T2 FLAIR", "COR T1 POST GAD 3mm", "CT CHEST W/O CONTRAST", "Lung 1.25mm",
    "造影CT 肝臓 動脈相", "頭部MRI T2WI", "TR2000 TE120", "W400L40", "120kVp 250mAs", "FOV240mm", "T1W3D",
    "健康診断", "森林", "Series 1 of 3", "ratio 3/4", "BP 120/80", "Radiology", "中央部",
])
def test_clinical_text_stays(text: str) -> None:
    assert scrubbed(text) == text


@pytest.mark.parametrize(("text", "category"), [
    ("03-5800-8630", Category.PHONE), ("(617) 726-2000", Category.PHONE), ("tel 4321", Category.PHONE),
    ("reading.room@example.org", Category.EMAIL), ("https://pacs.example.jp/v?s=1", Category.URL),
    ("〒113-8655", Category.POSTAL), ("東京都 150-0002", Category.POSTAL), ("MA 02114", Category.POSTAL),
    ("MRN4471203", Category.ID_LIKE), ("AB12CD34", Category.ID_LIKE), ("4471203988", Category.ID_LIKE),
    ("1.2.392.200036.9116.2.5", Category.ID_LIKE), ("2019-07-20", Category.DATE), ("令和3年9月9日", Category.DATE),
])
def test_generic_patterns(text: str, category: Category) -> None:
    result = Scrubber().scrub(text, Identifiers())
    assert {span.category for span in result.spans} == {category}


def test_spans_point_into_the_original_text() -> None:
    text = "患者 ＹＡＭＡＤＡ　ＴＡＲＯ、ID ００４８２９１３、2024年4月1日 CT、tel 03-5800-8630"
    result = Scrubber().scrub(text, yamada())
    assert [(text[span.start : span.end], span.category) for span in result.spans] == [
        ("ＹＡＭＡＤＡ　ＴＡＲＯ", Category.OWN_NAME), ("００４８２９１３", Category.OWN_ID),
        ("2024年4月1日", Category.OWN_DATE), ("03-5800-8630", Category.PHONE),
    ]
    assert result.text == "患者、ID CT、tel"  # an ID and a date with only 、 between go as one


def test_what_a_removal_brings_together_goes_too() -> None:
    result = Scrubber().scrub("CT 山00482913田 and 0048 YAMADA 2913 chest", yamada())
    assert result.text == "CT and chest"
    assert [span.category for span in result.spans] == [Category.OWN_NAME, Category.OWN_NAME]  # unions


def test_allow_keeps_generic_patterns_never_own_identifiers() -> None:
    allow = ["/\\d{8}/", "/IRB-\\d{4}-\\d+/"]
    assert scrubbed("IRB-2024-0193 ref 87654321", allow=allow) == "IRB-2024-0193 ref 87654321"
    assert scrubbed("ref 00482913 on 2024-04-01", allow=[*allow, "/2024-04-01/"]) == "ref on"


def test_deny_terms_and_patterns() -> None:
    deny = ["Project Falcon", "/TRIAL-\\d{3}/"]
    assert scrubbed("project FALCON TRIAL-042 baseline", deny=deny) == "baseline"
    assert scrubbed("Falconry TRIAL-04", deny=deny) == "Falconry TRIAL-04"


@pytest.mark.parametrize(("text", "shift", "expected"), [
    ("CT 2024-04-01", -30, "CT 2024-03-02"),  # the instance's own date, shifted like its StudyDate
    ("CT 2019/7/20", -30, "CT 2019/6/20"),
    ("2019.07.20 prior", 10, "2019.07.30 prior"),
    ("20190720121500", -1, "20190719121500"),  # a DT keeps its time
    ("1 April 2023 and April 1, 2023", -1, "31 March 2023 and March 31, 2023"),
    ("Monday, April 3, 2023", 1, "Tuesday, April 4, 2023"),
    ("01-APR-2023", -1, "31-MAR-2023"),
    ("令和6年4月1日(月)撮影", -40, "令和6年2月21日(水)撮影"),
    ("令和元年5月1日", -1, "平成31年4月30日"),
    ("R6.4.1", -30, "R6.3.2"),
    ("２０２３年４月１日", 1, "２０２３年４月２日"),
    ("13/04/2023", 1, "14/04/2023"),  # only D/M/Y reads 13 as a day
    ("4/13/2023", 1, "4/14/2023"),
    ("13/04/2023 prior", -10, "prior"),  # 03/04/2023 would read both ways
    ("01/04/2023 prior", 1, "prior"),  # January or April
    ("01/04/23 prior", 1, "prior"),
    ("April 2023 prior", 1, "prior"),  # a month cannot be shifted without its day
    ("4月1日 prior", 1, "prior"),  # nor a day without its year
])
def test_dates_under_shift(text: str, shift: int, expected: str) -> None:
    assert scrubbed(text, dates="shift", shift=shift) == expected


def test_dates_under_the_other_rules() -> None:
    text = "CT 2024-04-01, prior 01/04/2023, 令和5年3月1日, 01/04/23 and 4月1日"
    assert scrubbed(text, dates="shift") == "CT, prior and"  # no shift given: removed
    assert scrubbed(text, dates="year") == "CT 2024, prior 2023, 令和5年, and"
    assert scrubbed(text, dates="keep") == text
    assert scrubbed(text) == "CT, prior and"
    assert scrubbed("ratio 4/1 on the day", dates="keep") == "ratio 4/1 on the day"
    assert scrubbed("ratio 4/1 on the day") == "ratio on the day"  # 4/1 is the instance's own 2024-04-01


def test_a_shifted_date_is_marked_with_what_replaced_it() -> None:
    result = Scrubber(dates="shift").scrub("CT 2024-04-01", yamada(), date_shift=-1)
    assert [(span.category, span.replacement) for span in result.spans] == [(Category.OWN_DATE, "2024-03-31")]


def test_identifiers_by_kind() -> None:
    ids = Identifiers().add(DATE, "20240401101530.5\\20240401").add(ID, "A\\B1234").add(DATE, "junk")
    assert ids.key == {(DATE, "2024-04-01"), (ID, "A"), (ID, "B1234")}
    assert kind_of(0x00100010, "PN") is NAME and kind_of(0x00080020, "DA") is DATE
    assert kind_of(0x00080080, "LO") is PLACE and kind_of(0x00100020, "LO") is ID
    assert kind_of(0x0020000D, "UI") is None


def test_caching_does_not_change_results() -> None:
    texts = ["CT chest for YAMADA Taro 2024-04-01", "AX T2 FLAIR", "tel 03-5800-8630", "Yamada 2024-04-01"]
    shared, other = Scrubber(dates="shift"), Identifiers().add(NAME, "SMITH^JOHN")
    first = [shared.scrub(text, yamada(), date_shift=-3) for text in texts]
    again = [shared.scrub(text, yamada(), date_shift=-3) for text in texts]
    fresh = [Scrubber(dates="shift").scrub(text, yamada(), date_shift=-3) for text in texts]
    assert first == again == fresh
    assert all(a is b for a, b in zip(first, again, strict=True))  # the memo answered
    assert shared.scrub("Yamada 2024-04-01", other, date_shift=-3).text == "Yamada 2024-03-29"  # not p1's memo
    assert shared.scrub("Yamada 2024-04-01", yamada(), date_shift=None).text == ""


BASE: dict[str, Any] = {"permissions": ["search"], "scope": {"reversible": False}}


@pytest.mark.parametrize(("extra", "key"), [
    ({"scrub": {"deny": ["ok", "/[unclosed/"]}}, "scrub.deny.1"),
    ({"scrub": {"allow": ["/a*/"]}}, "scrub.allow.0"),  # would match everywhere
    ({"scrub": {"allow": [" "]}}, "scrub.allow.0"),
    ({"scrub": {"keep": []}}, "scrub.keep"),
    ({"clean": "wipe"}, "clean"),
    ({"clean": "blank", "scrub": {"deny": ["x"]}}, "(profile)"),
])
def test_profile_errors_name_the_key(extra: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        compile_profile("test", {**BASE, **extra}, source="test.yaml")
    assert error.value.file == "test.yaml" and error.value.key == key


def test_profile_keys() -> None:
    profile = compile_profile("test", {**BASE, "options": ["retain-longitudinal-modified-dates"], "dates": "shift",
                                       "scrub": {"deny": ["Falcon"], "allow": ["/IRB-\\d+/"]}}, source="t.yaml")
    assert profile.clean_mode is CleanMode.SCRUB and profile.scrubber.dates == "shift"
    assert profile.scrubber.scrub("Falcon IRB-12 2024-04-01", Identifiers(), date_shift=1).text == "IRB-12 2024-04-02"
    blank = compile_profile("test", {**BASE, "clean": "blank"}, source="t.yaml")
    assert blank.clean_mode is CleanMode.BLANK
    assert compile_profile("test", BASE, source="t.yaml").version != blank.version


def test_shipped_roles_scrub(profiles: dict[str, Any]) -> None:
    for name in ("researcher", "external", "ai-service"):
        assert profiles[name].clean_mode is CleanMode.SCRUB
    assert profiles["external"].scrubber.dates == "year" and profiles["researcher"].scrubber.dates == "shift"


_TEXT = st.text(st.sampled_from("abcXYZ 0123456789-/.,:()^年月日様山田太郎やまだたろうＴ　\n"), max_size=40)
_PLANTED = st.sampled_from(["YAMADA", "Taro", "山田", "太郎", "やまだ", "ヤマダ", "00482913", "0048-2913", "A24118273",
                            "Sakura", "札幌市"])


@settings(max_examples=300, deadline=None)
@given(_TEXT, _PLANTED, _TEXT)
def test_a_planted_identifier_never_survives(before: str, planted: str, after: str) -> None:
    text = f"{before} {planted} {after}"
    result = Scrubber().scrub(text, yamada())
    assert planted.lower() not in result.text.lower()
    assert all(0 <= a.start < a.end <= b.start < b.end <= len(text)
               for a, b in zip(result.spans, result.spans[1:], strict=False))
