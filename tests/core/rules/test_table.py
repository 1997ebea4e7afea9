"""The generated Table E.1-1 and its compilation into one action per tag."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

from gateway.core.rules import annex_e_table
from gateway.core.rules.actions import COMPOUND, Action, Option, code_to_action, compile_table

REPO = pathlib.Path(__file__).resolve().parents[3]


def test_generated_table_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_annex_e", REPO / "tools" / "gen_annex_e.py")
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    if not generator.DATA.exists():
        pytest.skip("the shared PS3.15 data is not next to the repository")
    assert generator.render() == (REPO / "gateway" / "core" / "rules" / "annex_e_table.py").read_text()


def test_table_is_stamped_and_complete() -> None:
    assert annex_e_table.EDITION == "2024b + additions 2026c/d"
    assert len(annex_e_table.ROWS) == 656
    assert len(annex_e_table.SAFE_PRIVATE) == 130
    patterns = {tag for tag, _, _ in annex_e_table.ROWS if "x" in tag or "g" in tag}
    assert patterns == {"50xx,xxxx", "60xx,3000", "60xx,4000", "gggg,eeee"}


@pytest.mark.parametrize(
    ("code", "action"),
    [("X/Z", Action.ZERO), ("X/D", Action.DUMMY), ("Z/D", Action.DUMMY), ("X/Z/D", Action.DUMMY),
     ("X/Z/U*", Action.REPLACE_UID), ("X", Action.REMOVE), ("K", Action.KEEP), ("C", Action.CLEAN)],
)
def test_compound_codes_resolve_to_the_strictest_valid_choice(code: str, action: Action) -> None:
    assert code_to_action(code) is action


def test_every_basic_code_compiles() -> None:
    codes = {codes[0] for _, _, codes in annex_e_table.ROWS}
    assert codes <= {"X", "Z", "D", "U", *COMPOUND}


def test_option_columns_replace_basic() -> None:
    basic, _ = compile_table(frozenset())
    assert basic[0x00081030] is Action.REMOVE  # StudyDescription X
    described, _ = compile_table(frozenset({Option.CLEAN_DESCRIPTORS}))
    assert described[0x00081030] is Action.CLEAN
    full, _ = compile_table(frozenset({Option.RETAIN_LONGITUDINAL_FULL_DATES}))
    assert full[0x00080020] is Action.KEEP
    uids, _ = compile_table(frozenset({Option.RETAIN_UIDS}))
    assert uids[0x0020000D] is Action.KEEP and basic[0x0020000D] is Action.REPLACE_UID


def test_two_options_disagreeing_keep_less() -> None:
    # DateOfLastDetectorCalibration: Retain Device Identity says K, Modified Dates says C.
    both, _ = compile_table(frozenset({Option.RETAIN_DEVICE_IDENTITY, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}))
    assert both[0x0018700C] is Action.CLEAN


def test_graphics_patterns() -> None:
    _, basic = compile_table(frozenset())
    _, graphics = compile_table(frozenset({Option.CLEAN_GRAPHICS}))
    assert basic["60xx,3000"] is Action.REMOVE and basic["50xx,xxxx"] is Action.REMOVE
    assert graphics["60xx,3000"] is Action.CLEAN and graphics["50xx,xxxx"] is Action.CLEAN
