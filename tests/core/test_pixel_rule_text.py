"""A drawn pixel rule added to a profile's YAML text: the rest of the text stays as written."""

from __future__ import annotations

import pytest
import yaml

from gateway.core.rules.pixel_rule_text import with_pixel_rule
from gateway.errors import ConfigError

RULE = {"match": {"Manufacturer": 'ACME: "X" # 1', "Rows": 128}, "regions": [[1, 2, 3, 4]]}


@pytest.mark.parametrize(
    "text",
    [
        "# a comment\npermissions: [search]\nclean: scrub  # kept\n",
        "permissions: [search]\npixel_rules: []\nclean: scrub\n",
        "permissions: [search]\npixel_rules:\n- match: {Rows: 64}\n  regions:\n  - [0, 0, 1, 1]\n"
        "# note\nclean: scrub\n",
        "pixel_rules:\n  - match: {Rows: 64}\n    regions: [[0, 0, 1, 1]]\npermissions: [search]",
    ],
)
def test_the_rule_is_appended_and_everything_else_is_kept(text: str) -> None:
    old = yaml.safe_load(text)
    new = with_pixel_rule(text, RULE, source="r.yaml")
    assert yaml.safe_load(new) == {**old, "pixel_rules": [*(old.get("pixel_rules") or []), RULE]}
    for line in text.splitlines():
        if not line.startswith(("pixel_rules", " ", "-", "# note")):
            assert line in new.splitlines()


def test_a_text_that_is_not_a_profile_is_refused() -> None:
    for text in ("x: [", "- a list"):
        with pytest.raises(ConfigError):
            with_pixel_rule(text, RULE, source="r.yaml")
