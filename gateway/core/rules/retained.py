"""What becomes of a standard attribute that Table E.1-1 does not name.

The rule is "remove unless the profile keeps it". A profile keeps, by default:

- attributes whose VR cannot hold a name or free text (numbers, code strings, tags, binary arrays, and
  sequences, whose items are still processed);
- a short hand-written list of text attributes that carry coded meaning or device type, never a person
  (`RETAINED_TEXT`): without them every code sequence and SR content item would become invalid.

Every unlisted UID is replaced as U. A UID the standard registers (a SOP class, a transfer syntax, a coding
scheme) is still kept wherever the engine sees one; an unregistered one is replaced even in a class or coding
scheme attribute, since nothing tells a vendor's private class from an instance UID put there. Unlisted text,
dates, person names and UN are removed. So is every unlisted retired attribute: no current IOD gives it a
meaning, and its binary value could be text in disguise (`conformance.py`). SR TextValue is cleaned, so a TEXT
content item stays valid while its text is gone.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.core.rules.actions import Action

DEFAULT_KEEP_VRS = frozenset(
    {"AT", "CS", "DS", "FD", "FL", "IS", "OB", "OD", "OF", "OL", "OV", "OW", "SL", "SQ", "SS", "SV", "UL", "US", "UV"}
)

RETAINED_TEXT = frozenset(
    {
        "CodeValue",
        "LongCodeValue",
        "URNCodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
        "ContextIdentifier",
        "MappingResource",
        "Manufacturer",
        "ManufacturerModelName",
        "SoftwareVersions",
        "ConvolutionKernel",
        "WindowCenterWidthExplanation",
        "RescaleType",
        "LossyImageCompressionRatio",
        "ContrastBolusRoute",
        "ReceiveCoilName",
        "TransmitCoilName",
        "SequenceName",
        "PulseSequenceName",
        "FilterType",
        "GeneratorPower",
        "ScanOptions",
    }
)

CLEANED_UNLISTED: Mapping[str, Action] = {"TextValue": Action.CLEAN}

def unlisted_action(keyword: str, vr: str, keep_vrs: frozenset[str], *, retired: bool = False) -> Action:
    """The action for a standard attribute that no E.1-1 row names (group lengths are removed elsewhere)."""
    if retired:
        return Action.REMOVE
    if keyword in CLEANED_UNLISTED:
        return CLEANED_UNLISTED[keyword]
    if keyword in RETAINED_TEXT:
        return Action.KEEP
    if vr == "UI":
        return Action.REPLACE_UID
    # Dictionary VRs such as "US or SS" and "OB or OW" keep or go together.
    if all(part in keep_vrs for part in vr.split(" or ")):
        return Action.KEEP
    return Action.REMOVE
