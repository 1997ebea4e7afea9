"""The scrubber against the labelled corpus (scrub_corpus/corpus.json, written by make_corpus.py).

Every labelled identifying span must be removed, per category, and at least 95% of the other words kept. The
test writes scrub_corpus/REPORT.md (counts, the kept share, and every false removal with its text), which is
committed: a change in what the scrubber does shows as a diff of the report.

A word is a run of letters and digits of one script (Latin and digits, or anything else: 頭部MRI is 頭部 and
MRI), cut at the labels' edges; it is kept when no removed span touches it.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.core.rules.scrub import IdentifierKind, Identifiers, Scrubbed, Scrubber

CORPUS_DIR = pathlib.Path(__file__).with_name("scrub_corpus")
CORPUS = json.loads((CORPUS_DIR / "corpus.json").read_text(encoding="utf-8"))
_WORDS = re.compile(r"[A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+|[^\W\dA-Za-z_]+")


def identifiers(context: str) -> Identifiers:
    ids = Identifiers()
    for kind, values in CORPUS["contexts"][context].items():
        for value in values:
            ids.add(IdentifierKind(kind), value)
    return ids


def cases() -> list[tuple[dict[str, Any], str]]:
    """Every text under its context; the clean texts (context "all") under every context."""
    contexts = list(CORPUS["contexts"])
    return [(text, context) for text in CORPUS["texts"]
            for context in (contexts if text["context"] == "all" else [text["context"]])]


@dataclass
class Tally:
    labelled: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    words: int = 0
    kept: int = 0
    missed: list[str] = field(default_factory=list)
    false_removals: list[str] = field(default_factory=list)

    def add(self, text: dict[str, Any], context: str, scrubbed: Scrubbed) -> None:
        covered = set().union(*(range(span.start, span.end) for span in scrubbed.spans))
        labels = set().union(*(range(label["start"], label["end"]) for label in text["spans"]))
        for label in text["spans"]:
            self.labelled[label["category"]] += 1
            if set(range(label["start"], label["end"])) <= covered:
                self.removed[label["category"]] += 1
            else:
                self.missed.append(f"{text['id']} ({context}) {label['category']}: {label['text']!r}")
        for start, end in _words(text["text"], labels):
            self.words += 1
            if covered.isdisjoint(range(start, end)):
                self.kept += 1
            else:
                self.false_removals.append(f"{text['id']} ({context}): {text['text'][start:end]!r} in "
                                           f"{text['text']!r}")


def _words(text: str, labels: set[int]) -> list[tuple[int, int]]:
    """The non-identifying words: runs of word characters outside the labels, cut where a label begins."""
    words = []
    for match in _WORDS.finditer(text):
        start = None
        for position in range(match.start(), match.end() + 1):
            inside = position == match.end() or position in labels
            if inside and start is not None:
                words.append((start, position))
                start = None
            elif not inside and start is None:
                start = position
    return words


@pytest.fixture(scope="module")
def tally() -> Tally:
    scrubber = Scrubber(CORPUS["deny"], CORPUS["allow"], dates="remove")
    result = Tally()
    for text, context in cases():
        result.add(text, context, scrubber.scrub(text["text"], identifiers(context)))
    _write_report(result)
    return result


def test_every_labelled_span_is_removed(tally: Tally) -> None:
    assert not tally.missed, "\n".join(tally.missed)
    assert tally.removed == tally.labelled


def test_the_non_identifying_words_are_kept(tally: Tally) -> None:
    assert tally.kept / tally.words >= 0.95, "\n".join(tally.false_removals)


def test_the_corpus_is_big_enough() -> None:
    texts = CORPUS["texts"]
    assert len(texts) >= 300
    assert {text["lang"] for text in texts} == {"en", "ja"}
    for text in texts:
        for label in text["spans"]:
            assert text["text"][label["start"] : label["end"]] == label["text"], text["id"]


def _write_report(tally: Tally) -> None:
    texts = CORPUS["texts"]
    lines = [
        "# Scrubber corpus report",
        "",
        "Written by `tests/core/rules/test_scrub_corpus.py` on every run; the corpus is `corpus.json`, made by",
        "`make_corpus.py`. The scrubber runs with the corpus's deny- and allow-lists and `dates: remove`. Clean",
        "texts (context `all`) are scrubbed under each of the contexts.",
        "",
        f"- texts: {len(texts)} ({sum(t['lang'] == 'en' for t in texts)} English, "
        f"{sum(t['lang'] == 'ja' for t in texts)} Japanese); scrubbed cases: {len(cases())}",
        f"- non-identifying words kept: {tally.kept} of {tally.words} "
        f"({100 * tally.kept / tally.words:.2f}%)",
        "",
        "| category | labelled spans | removed | share |",
        "|---|---:|---:|---:|",
        *(f"| {category} | {count} | {tally.removed[category]} | {100 * tally.removed[category] / count:.0f}% |"
          for category, count in sorted(tally.labelled.items())),
        "",
        f"## False removals ({len(tally.false_removals)} words)",
        "",
        *(f"- {entry}" for entry in tally.false_removals),
    ]
    if tally.missed:
        lines += ["", f"## Missed spans ({len(tally.missed)})", "", *(f"- {entry}" for entry in tally.missed)]
    (CORPUS_DIR / "REPORT.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_clues_never_rule_out_a_text_the_patterns_match() -> None:
    """`OwnPatterns` compiles only for a text its clues cannot rule out: over every corpus text under every
    context (and the texts run together, in upper and lower case), what it finds is what the compiled
    patterns find."""
    from gateway.core.rules.scrub_own import OwnPatterns
    from gateway.core.rules.scrub_patterns import fold

    texts = [text["text"] for text in CORPUS["texts"]]
    texts += [" ".join(texts[i : i + 3]) for i in range(0, len(texts), 3)]
    for context in CORPUS["contexts"]:
        key = identifiers(context).key
        forced = OwnPatterns(key)
        forced._compile()
        for text in texts:
            for form in (text, text.upper(), text.lower()):
                assert OwnPatterns(key).find(fold(form)) == forced.find(fold(form)), (context, form)
