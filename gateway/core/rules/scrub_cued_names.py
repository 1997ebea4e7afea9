"""Names found by the words around them, whoever they are. The scrubber knows the instance's own names, but a
header can lose one (a name attribute left blank, garbled, or filled with something else) while a description
or a comment still names the person. A name is looked for only where a cue says that a person stands there:

- after a title: Dr Okonkwo, Mrs. E. Whitaker, DR OKONKWO (a word in capitals only when it is no clinical
  word: DR CHEST is digital radiography, MS FLAIR is multiple sclerosis);
- after a relation: daughter Margaret Whitaker, wife: Anna;
- after a verb of who did it: read by, reported by, repeated by H. Lindqvist;
- after a label: Name: WHITAKER^ELEANOR, Patient: Smith, 氏名：山田太郎;
- initials with a surname: H. Lindqvist, J.R. Smith, Lindqvist, H.; a degree after one: Smith, MD;
- a Japanese honorific after a run of kanji or katakana (or of two hiragana or more): 山田様, タナカ先生, but not
  患者様 or ご家族様, which address no one in particular; the honorific goes with the name.

Names after a title, relation, verb or label are Title Case words (the first may be in capitals), up to three;
a capitalised word with no cue stays, since "Smith fracture", "Hodgkin lymphoma" and "Radiology Report" would
go otherwise. What is found here is also what the instance's free text teaches the scrubber about it
(`names_in`): the same surname elsewhere in the instance's text then goes too, cue or not.
"""

from __future__ import annotations

import re
from functools import lru_cache

from gateway.core.rules.scrub_patterns import CLINICAL_WORDS, Category, Found

_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u024f"
_TITLE_WORD = rf"[{_UPPER}][{_LOWER}'\u2019-]+"
_CAP_WORD = rf"[{_UPPER}][{_UPPER}{_LOWER}'\u2019-]+"
_INITIALS = rf"(?:[{_UPPER}]\.\s?){{1,3}}"
_LEADING_INITIALS = re.compile(rf"^{_INITIALS}")
_NOT_LETTER_AFTER = rf"(?![{_UPPER}{_LOWER}])"
# A name after a cue: initials optional, a first word Title Case or in capitals, then Title Case words.
_NAME = (
    rf"(?P<name>(?:{_INITIALS})?{_CAP_WORD}(?:[ \t^]+(?:{_INITIALS})?{_TITLE_WORD}){{0,2}}"
    rf"|{_INITIALS}{_CAP_WORD}){_NOT_LETTER_AFTER}"
)
_TITLES = (
    "dr|drs|dra|doctor|mr|mrs|ms|mx|miss|mister|prof|professor|sr|sra|srta|herr|frau|mme|mlle|madam|nurse|dott|dottssa"
)
_RELATIONS = (
    "daughter|son|wife|husband|mother|father|sister|brother|spouse|partner|guardian|niece|nephew|aunt|"
    "uncle|grandmother|grandfather|grandson|granddaughter|grandparent|carer|caregiver|friend|neighbou?r|"
    "fianc[ée]e?|widow|widower|cousin|relative|next of kin"
)
_DOERS = (
    "read|reported|dictated|signed|verified|approved|reviewed|performed|acquired|scanned|referred|requested|"
    "ordered|transcribed|repeated|attested|interpreted|seen|examined|confirmed|checked|discussed|prepared"
)
_LABELS = "name|patient name|patient's name|pt name|attn|c/o"
_CUED = re.compile(
    rf"(?<![A-Za-z])(?:(?P<title>(?i:{_TITLES}))(?P<dot>\.?)[ \t]+"
    rf"|(?:(?i:{_RELATIONS})(?:[ \t]+(?i:is|was|named|called))?[ \t]*[:,-]?[ \t]+"
    rf"|(?i:{_DOERS})[ \t]+(?i:by|with)[ \t]*:?[ \t]+"
    rf"|(?P<label>(?i:{_LABELS}))[ \t]*[:=][ \t]*)"
    rf"(?:(?P<then_title>(?i:{_TITLES}))(?P<then_dot>\.?)[ \t]+)?)" + _NAME  # discussed with Mrs Whitaker
)
_WITH_INITIALS = re.compile(
    rf"(?<![{_UPPER}{_LOWER}.])(?P<initials>{_INITIALS}{_TITLE_WORD}){_NOT_LETTER_AFTER}"
    rf"|(?<![{_UPPER}{_LOWER}])(?P<reversed>{_TITLE_WORD},[ \t]?(?:[{_UPPER}]\.){{1,3}}){_NOT_LETTER_AFTER}"
    rf"|(?<![{_UPPER}{_LOWER}])(?P<degree>{_CAP_WORD}),?[ \t]+(?:M\.?D\.?|Ph\.?D\.?|MBBS|FRCR)(?![A-Za-z])"
)
_KANJI_KATAKANA = "\u3005\u3400-\u9fff\u30a1-\u30fa\u30fc"
_HONORIFICS = "様|さま|さん|氏|殿|君|くん|ちゃん|先生"
_HONORIFIC = re.compile(
    rf"(?P<name>(?P<run>[{_KANJI_KATAKANA}]{{1,6}}|[\u3041-\u3096]{{2,6}}?)[ \u3000]?(?:{_HONORIFICS}))"
)
_JAPANESE_LABEL = re.compile(
    rf"(?:氏名|患者名|名前)[ \u3000]*[:：]?[ \u3000]*(?P<name>[{_KANJI_KATAKANA}\u3041-\u3096]{{2,8}})"
)
# Who is addressed without being named: the patient, the family, everyone, the one in charge.
_ADDRESSED = ("患者", "家族", "皆", "各位", "担当", "主治医", "医師", "技師", "看護師", "先生", "お客", "利用者")


def cued_names(folded: str) -> list[Found]:
    """The names in `folded` text that a cue points at, as spans of the name alone."""
    return [Found(start, end, Category.NAME) for start, end in _spans(folded)]


@lru_cache(maxsize=8192)
def names_in(text: str) -> tuple[str, ...]:
    """The names a free text gives by their cues, for the scrubber to look for in the instance's other text."""
    return tuple(text[start:end] for start, end in _spans(text))


def _spans(text: str) -> list[tuple[int, int]]:
    spans = [match.span("name") for match in _CUED.finditer(text) if _after_cue(match)]
    for match in _WITH_INITIALS.finditer(text):
        group = match.lastgroup or "initials"
        if group != "degree" or _may_be_name(match.group(group)):
            spans.append(match.span(group))
    # The honorific goes with the name, as it does with the instance's own (`scrub_names`): left alone, 様
    # would make no sense, and would read as the honorific of whatever word comes before it.
    spans.extend(match.span("name") for match in _HONORIFIC.finditer(text) if not _addressed(match.group("run")))
    spans.extend(match.span("name") for match in _JAPANESE_LABEL.finditer(text) if not _addressed(match["name"]))
    return spans


def _after_cue(match: re.Match[str]) -> bool:
    """A word in capitals is a name after a label, or after a title not itself in capitals (DR, MR and MS are
    modalities and diseases as often as titles: MR BRAIN, DR CHEST), or a title with its dot (DR. OKONKWO)."""
    first = _LEADING_INITIALS.sub("", match.group("name")).split()[0]
    if not _person(first.strip("^")):
        return False  # by Dr. Patel: the title is found as a cue of its own
    if not first.isupper():
        return True
    title, dot = match["title"] or match["then_title"], match["dot"] or match["then_dot"]
    if match["label"] is None and (title is None or (title.isupper() and not dot)):
        return False
    return _may_be_name(first)


def _may_be_name(word: str) -> bool:
    return not word.isupper() or (len(word) >= 3 and word.lower() not in CLINICAL_WORDS)


def _addressed(name: str) -> bool:
    return name in _ADDRESSED or name.endswith(_ADDRESSED)


_WORD_BEFORE = re.compile(rf"(?<![{_UPPER}{_LOWER}])(?:(?P<word>{_TITLE_WORD})[ \t]+|(?P<part>[{_UPPER}{_LOWER}]+)\^)$")
_WORD_AFTER = re.compile(rf"(?:[ \t]+(?P<word>{_TITLE_WORD})|\^(?P<part>[{_UPPER}{_LOWER}]+)){_NOT_LETTER_AFTER}")
_BESIDE = 3  # words taken on each side: a given and a middle name, or a name written with ^ in full
# Words that start a sentence or a phrase in Title Case beside a name, and are none: "For Yamada", "Patient
# Whitaker", "Technologist Okafor".
_PHRASES = """
    a an the and or but for with without from to of in on at by as is was see per re ref cc attn via patient pt no
    not non new old follow followup report reported study series exam scan image images review reviewed history hx
    note notes comment comments clinical indication findings finding impression conclusion compared comparison prior
    previous known query rule discussed called informed seen dear thanks thank regards signed read dictated approved
    verified this that these those his her their technologist radiologist physician doctor resident fellow
    consultant surgeon operator tech radiographer sonographer attending referring reading performing requesting
"""
_NOT_NAMES = frozenset(_TITLES.split("|")) | CLINICAL_WORDS | frozenset(_PHRASES.split())


def beside_a_name(text: str, start: int, end: int) -> tuple[int, int]:
    """A name's span with the words that belong to it: a Title Case word just before or after it (the given
    name beside a known surname: Eleanor Whitaker, Whitaker Eleanor), and any word joined to it by ^, which
    only a person's name is written with. A name written in lower case (brown fat) is taken as the word it
    also is, and does not grow."""
    if not text[start : start + 1].isupper():
        return start, end
    for _ in range(_BESIDE):
        before = _WORD_BEFORE.search(text, max(0, start - 40), start)
        if not before or not (before["part"] or _person(before["word"])):
            break
        start = before.start()
    for _ in range(_BESIDE):
        after = _WORD_AFTER.match(text, end)
        if not after or not (after["part"] or _person(after["word"])):
            break
        end = after.end()
    return start, end


def _person(word: str) -> bool:
    return word.lower() not in _NOT_NAMES
