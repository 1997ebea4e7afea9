"""PS3.15 actions and options, and the compilation of Table E.1-1 into one action per tag.

Precedence is data, applied once at compile time, in this order:

1. the `basic` column;
2. the column of each enabled option that has a code for the row (when two enabled options both have a code,
   the one that keeps less wins: C beats K);
3. compound codes resolve to the strictest choice that is still valid without knowing the IOD's Type for the
   attribute (see `COMPOUND`);
4. the profile's date mode, its age cap and its pseudonym attributes (in `profile.py`);
5. the profile's own overrides, which always win.

Anything no row names is decided by `retained.py` (kept, cleaned or replaced) or removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from gateway.core.rules import annex_e_table


class Action(StrEnum):
    """What an attribute becomes. The values are the PS3.15 action codes; P is the gateway's own."""

    REMOVE = "X"
    ZERO = "Z"  # present, empty (an empty sequence for SQ)
    DUMMY = "D"  # a non-identifying value valid for the VR; sequences have their items processed
    KEEP = "K"  # kept; sequences still have their items processed
    CLEAN = "C"  # a safe value of the same VR; dates follow the date mode; sequences are processed
    REPLACE_UID = "U"  # the scope's pseudonymous UID, consistent everywhere
    PSEUDONYM = "P"  # the scope's pseudonym (PatientID, PatientName, AccessionNumber, StudyID)


class Option(StrEnum):
    """The ten PS3.15 options, by their YAML names."""

    RETAIN_SAFE_PRIVATE = "retain-safe-private"
    RETAIN_UIDS = "retain-uids"
    RETAIN_DEVICE_IDENTITY = "retain-device-identity"
    RETAIN_INSTITUTION_IDENTITY = "retain-institution-identity"
    RETAIN_PATIENT_CHARACTERISTICS = "retain-patient-characteristics"
    RETAIN_LONGITUDINAL_FULL_DATES = "retain-longitudinal-full-dates"
    RETAIN_LONGITUDINAL_MODIFIED_DATES = "retain-longitudinal-modified-dates"
    CLEAN_DESCRIPTORS = "clean-descriptors"
    CLEAN_STRUCTURED_CONTENT = "clean-structured-content"
    CLEAN_GRAPHICS = "clean-graphics"


COLUMN: Mapping[Option, str] = {
    Option.RETAIN_SAFE_PRIVATE: "rtn_safe_priv",
    Option.RETAIN_UIDS: "rtn_uids",
    Option.RETAIN_DEVICE_IDENTITY: "rtn_dev_id",
    Option.RETAIN_INSTITUTION_IDENTITY: "rtn_inst_id",
    Option.RETAIN_PATIENT_CHARACTERISTICS: "rtn_pat_chars",
    Option.RETAIN_LONGITUDINAL_FULL_DATES: "rtn_long_full_dates",
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: "rtn_long_modif_dates",
    Option.CLEAN_DESCRIPTORS: "clean_desc",
    Option.CLEAN_STRUCTURED_CONTENT: "clean_struct_cont",
    Option.CLEAN_GRAPHICS: "clean_graph",
}

# PS3.16 CID 7050, recorded in De-identification Method Code Sequence.
BASIC_CODE = ("113100", "Basic Application Confidentiality Profile")
CLEAN_PIXEL_CODE = ("113101", "Clean Pixel Data Option")
OPTION_CODE: Mapping[Option, tuple[str, str]] = {
    Option.CLEAN_GRAPHICS: ("113103", "Clean Graphics Option"),
    Option.CLEAN_STRUCTURED_CONTENT: ("113104", "Clean Structured Content Option"),
    Option.CLEAN_DESCRIPTORS: ("113105", "Clean Descriptors Option"),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
    ),
    Option.RETAIN_PATIENT_CHARACTERISTICS: ("113108", "Retain Patient Characteristics Option"),
    Option.RETAIN_DEVICE_IDENTITY: ("113109", "Retain Device Identity Option"),
    Option.RETAIN_UIDS: ("113110", "Retain UIDs Option"),
    Option.RETAIN_SAFE_PRIVATE: ("113111", "Retain Safe Private Option"),
    Option.RETAIN_INSTITUTION_IDENTITY: ("113112", "Retain Institution Identity Option"),
}

# Without evaluating the IOD's Type for each attribute, assume the worst case: the attribute may be Type 1.
# So every choice that includes D becomes D; X/Z becomes Z (it may be Type 2); the reference sequences of
# X/Z/U* are kept and every UID inside them is replaced (U applies to a sequence as "process the items").
COMPOUND: Mapping[str, Action] = {
    "X/Z": Action.ZERO,
    "X/D": Action.DUMMY,
    "Z/D": Action.DUMMY,
    "X/Z/D": Action.DUMMY,
    "X/Z/U*": Action.REPLACE_UID,
}

# Among enabled options that disagree on one attribute, the one that keeps less wins.
_KEEPS_LESS = {"C": 0, "K": 1}


def code_to_action(code: str) -> Action:
    return COMPOUND.get(code) or Action(code)


def _merged_code(codes: tuple[str | None, ...], columns: Iterable[int]) -> str:
    chosen = [code for index in columns if (code := codes[index]) is not None]
    if not chosen:
        return codes[0] or "X"
    return min(chosen, key=lambda code: _KEEPS_LESS[code])


def _column_indexes(options: Iterable[Option]) -> list[int]:
    return [annex_e_table.COLUMNS.index(COLUMN[option]) for option in options]


def compile_table(options: frozenset[Option]) -> tuple[dict[int, Action], dict[str, Action]]:
    """Return (action per concrete tag, action per pattern row) for these options.

    Pattern rows are keyed '50xx,xxxx', '60xx,3000', '60xx,4000' and 'gggg,eeee' (private).
    """
    columns = _column_indexes(sorted(options))
    concrete: dict[int, Action] = {}
    patterns: dict[str, Action] = {}
    for tag, _keyword, codes in annex_e_table.ROWS:
        action = code_to_action(_merged_code(codes, columns))
        if "x" in tag or "g" in tag:
            patterns[tag] = action
        else:
            concrete[int(tag.replace(",", ""), 16)] = action
    return concrete, patterns


def keyword_tags() -> dict[str, int]:
    """Keywords the table knows but the installed pydicom may not (rows added after 2024b)."""
    return {
        keyword: int(tag.replace(",", ""), 16)
        for tag, keyword, _codes in annex_e_table.ROWS
        if keyword and "x" not in tag and "g" not in tag
    }
