"""The OCR verdict from the words read (no Tesseract here: words are given), which instances are read, and the
profile option."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.rules.burned_text import (
    CLEAN,
    IDENTIFIERS_UNREAD,
    TEXT_DENSE,
    TEXT_READ,
    BurnedText,
    OcrRule,
    Word,
    at_risk,
    judge_words,
    with_burned_text,
)
from gateway.core.rules.own_identifiers import scrubbing_of
from gateway.core.rules.pixels import PixelPlan, Region
from gateway.core.rules.profile import compile_profile, load_profiles
from gateway.core.rules.scrub import IdentifierKind
from gateway.core.rules.withhold import needs_ocr
from gateway.errors import ConfigError, Withheld

RULE = OcrRule()
IDENTIFIERS, GUARD = scrubbing_of(frozenset({
    (IdentifierKind.NAME, "YAMADA^TARO=山田^太郎"), (IdentifierKind.ID, "48213377"), (IdentifierKind.DATE, "20240401"),
}))  # fmt: skip
ROLES = Path(__file__).resolve().parents[3] / "conf" / "roles"


def word(text: str, x: int, y: int = 10, *, line: int = 1, block: int = 1, confidence: float = 90) -> Word:
    return Word(text, confidence, Region(x, y, 10 * len(text), 16), (block, 1, line))


def judged(*words: Word, rule: OcrRule = RULE) -> BurnedText:
    return judge_words(rule, list(words), IDENTIFIERS, GUARD)


@pytest.mark.parametrize(
    "texts",
    [["YAMADA^TARO"], ["Taro", "Yamada"], ["YAMAOA", "TARO"], ["山", "田", "太", "朗"], ["ID:", "48213377"],
     ["4821", "3377"], ["2024/04/01"], ["Exam", "01.04.2024"], ["PID:9934512"], ["Tel", "03-1234-5678"]],
)  # fmt: skip
def test_identifying_words_are_masked_with_their_block(texts: list[str]) -> None:
    words = [word(text, 10 + 120 * index) for index, text in enumerate(texts)]
    verdict = judged(*words, word("ABD", 10, 40, line=2))
    assert verdict.withheld is None and len(verdict.regions) == 1
    region = verdict.regions[0]
    for each in words:
        box = each.box
        assert region.x <= box.x and box.x + box.width <= region.x + region.width
        assert region.y <= box.y and box.y + box.height <= region.y + region.height


@pytest.mark.parametrize("texts", [[], ["5.0MHz", "GAIN", "48"], ["L"], ["ABD", "10cm", "FR", "24Hz"], ["MI", "0.9"]])
def test_harmless_device_text_is_clean(texts: list[str]) -> None:
    assert judged(*(word(text, 10 + 100 * index) for index, text in enumerate(texts))) == CLEAN


def test_only_the_blocks_holding_identifying_words_are_masked() -> None:
    verdict = judged(word("YAMADA", 10), word("GAIN", 400, 300, block=2))
    assert len(verdict.regions) == 1 and verdict.regions[0].y < 300


def test_withhold_mode_withholds_what_it_would_mask() -> None:
    rule = OcrRule(on_text="withhold")
    withheld = judged(word("YAMADA", 10), rule=rule).withheld
    assert withheld is not None and withheld.reason == TEXT_READ
    assert judged(word("GAIN", 10), rule=rule) == CLEAN


def test_a_document_is_withheld_and_unread_identifiers_withhold_any_text() -> None:
    many = [word(f"word{chr(97 + i % 26)}x", 10 * i, line=i) for i in range(RULE.max_words + 1)]
    dense = judged(*many).withheld
    assert dense is not None and dense.reason == TEXT_DENSE
    unread = judge_words(RULE, [word("GAIN", 10)], None, None)
    assert unread.withheld is not None and unread.withheld.reason == IDENTIFIERS_UNREAD
    assert judge_words(RULE, [], None, None) == CLEAN


def test_the_verdict_joins_the_pixel_plan_or_withholds() -> None:
    rule_region, ocr_region = Region(0, 0, 5, 5), Region(10, 10, 5, 5)
    assert with_burned_text(PixelPlan((rule_region,)), BurnedText((ocr_region,))).regions == (rule_region, ocr_region)
    assert with_burned_text(PixelPlan(), CLEAN).passthrough
    with pytest.raises(Withheld):
        with_burned_text(PixelPlan(), BurnedText(withheld=Withheld(TEXT_READ)))


@pytest.mark.parametrize(
    ("modality", "flag", "read"),
    [("US", None, True), ("SC", "NO", True), ("OT", "maybe", True), ("US", "YES", False), ("CT", None, False),
     ("MR", "NO", False)],
)  # fmt: skip
def test_which_instances_are_read(modality: str, flag: str | None, read: bool) -> None:
    assert at_risk(RULE, {"Modality": modality, "BurnedInAnnotation": flag}) is read
    assert at_risk(None, {"Modality": modality, "BurnedInAnnotation": flag}) is False


def test_the_shipped_roles() -> None:
    profiles = load_profiles(ROLES)
    researcher, external = profiles["researcher"], profiles["external"]
    assert researcher.withhold.ocr is not None and researcher.withhold.ocr.on_text == "mask"
    assert external.withhold.ocr is not None and external.withhold.ocr.on_text == "withhold"
    assert needs_ocr(researcher, {"Modality": "US", "BurnedInAnnotation": None})
    assert not needs_ocr(external, {"Modality": "US", "BurnedInAnnotation": None})  # withheld without reading
    assert needs_ocr(external, {"Modality": "ES", "BurnedInAnnotation": "NO"})
    assert profiles["clinician"].withhold.ocr is None


def test_the_option_is_validated() -> None:
    base = {"permissions": ["search"], "scope": {"reversible": True}}
    profile = compile_profile("r", {**base, "withhold": {"ocr": {}}}, source="r.yaml")
    assert profile.withhold.ocr is not None and profile.withhold.ocr.modalities == {"US", "SC", "XC", "ES", "OT"}
    with pytest.raises(ConfigError, match=r"withhold\.ocr\.languages"):
        compile_profile("r", {**base, "withhold": {"ocr": {"languages": ["klingon"]}}}, source="r.yaml")
    with pytest.raises(ConfigError, match=r"withhold\.ocr\.timeout_s"):
        compile_profile("r", {**base, "withhold": {"ocr": {"timeout_s": 0}}}, source="r.yaml")
