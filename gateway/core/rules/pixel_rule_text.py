"""A pixel rule added to a profile's YAML text, keeping the rest of the text (and its comments) as written.

The console draws regions and the admin saves them as a rule; the browser never parses YAML. The new text is
the old one with its top-level `pixel_rules` block (if any) taken out and written again at the end, the new
rule last; it is accepted only if it loads as exactly the old mapping plus that rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from gateway.errors import ConfigError

_KEY = re.compile(r"^pixel_rules\s*:")
_TOP_LEVEL = re.compile(r"^(?![\s#]|-(\s|$))")  # a key at column 0, not a "- " item of the block


def with_pixel_rule(text: str, rule: Mapping[str, Any], *, source: str) -> str:
    """`text` with `rule` ({match, regions}) appended to its pixel_rules, or ConfigError naming the key."""
    old = _loaded(text, source)
    rules = [*(old.get("pixel_rules") or []), dict(rule)]
    kept = _without_block(text)
    block = yaml.safe_dump({"pixel_rules": rules}, default_flow_style=None, sort_keys=False, allow_unicode=True)
    new = kept.rstrip("\n") + "\n" + block
    if _loaded(new, source) != {**old, "pixel_rules": rules}:
        raise ConfigError(source, "pixel_rules", "the rule could not be added to the text as written")
    return new


def _without_block(text: str) -> str:
    """The text without its top-level `pixel_rules:` key and the lines that belong to it."""
    lines, out, inside = text.splitlines(keepends=True), [], False
    for line in lines:
        if _KEY.match(line):
            inside = True
            continue
        if inside and _TOP_LEVEL.match(line):
            inside = False
        if not inside:
            out.append(line)
    return "".join(out)


def _loaded(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(source, "(text)", "is not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(source, "(profile)", "a profile is a YAML mapping")
    return data
