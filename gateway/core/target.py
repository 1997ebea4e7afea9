"""The target resource of a request (PS3.18 8.2), parsed from its route's parts and checked against their grammars.

The upstream path is always built from these validated parts, never from the path the client sent. The origin
decodes and normalises what it receives (Orthanc turns `1%2F..%2F..` in a frame list into the instance
itself), so one encoded separator spliced through would name another resource than the one the gateway
judged, de-identified and recorded. Each part must match its grammar after percent-decoding, and a raw path
holding an encoded separator, dot or control character is refused outright, on every route and for every role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from gateway.errors import BadRequest

# PS3.5 9.1: numeric components without leading zeros, dot-separated, at most 64 characters.
UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+")
# Archives hold UIDs with leading zeros; identity roles must still reach them (they see real UIDs anyway).
LENIENT_UID = re.compile(r"[0-9]+(?:\.[0-9]+)+")
FRAME_LIST = re.compile(r"[1-9][0-9]*(?:,[1-9][0-9]*)*")
# PS3.18 bulk data tag path as Orthanc builds it: tag, then (item number, tag) pairs, tags as 8 hex digits.
TAG_PATH = re.compile(r"[0-9A-Fa-f]{8}(?:/[0-9]+/[0-9A-Fa-f]{8})*")
MAX_UID = 64
MAX_FRAMES = 4096
# Encoded '/', '\\', '.', NUL..US and DEL, a raw backslash, and a dot segment: nothing legitimate needs them.
_FORBIDDEN = re.compile(r"%(?:2[fFeE]|5[cC]|[01][0-9A-Fa-f]|7[fF])|\\|(?:^|/)\.\.?(?:/|$)")
_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_UID_PARTS = ("study", "series", "instance")


def path_uid(value: str) -> bool:
    """Whether a UID the origin gave (a real one, leading zeros allowed) may go into a path the gateway builds."""
    return len(value) <= MAX_UID and LENIENT_UID.fullmatch(value) is not None


@dataclass(frozen=True)
class Target:
    """The validated parts of a request's path, and the route template they fill in."""

    template: str  # the transaction's route under /dicom-web, e.g. /studies/{study}/series/{series}
    study: str | None = None
    series: str | None = None
    instance: str | None = None
    frames: str | None = None
    tagpath: str | None = None

    @classmethod
    def parse(cls, template: str, raw_path: str, parts: Mapping[str, str], *, strict_uids: bool) -> Target:
        """Check every part; a failure is a 400 that names the part, never its value."""
        if _FORBIDDEN.search(raw_path) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw_path):
            raise BadRequest("the path holds an encoded separator, a dot segment or a control character")
        uid = UID if strict_uids else LENIENT_UID
        for name in _UID_PARTS:
            value = parts.get(name)
            if value is not None and (len(value) > MAX_UID or not uid.fullmatch(value)):
                raise BadRequest(f"the {name} UID in the path does not match the UID grammar (PS3.5 9.1)")
        frames = parts.get("frames")
        if frames is not None and (not FRAME_LIST.fullmatch(frames) or frames.count(",") >= MAX_FRAMES):
            raise BadRequest("the frame list must be positive frame numbers separated by commas")
        tagpath = parts.get("tagpath")
        if tagpath is not None and not TAG_PATH.fullmatch(tagpath):
            raise BadRequest("the bulk data tag path does not match its grammar")
        known = {name: parts.get(name) for name in (*_UID_PARTS, "frames", "tagpath")}
        return cls(template, **known)

    @property
    def path(self) -> str:
        """The path under the DICOMweb root, built from the validated parts alone."""
        return _PLACEHOLDER.sub(lambda match: str(getattr(self, match.group(1))), self.template)

    @property
    def uids(self) -> dict[str, str]:
        """The study, series and instance UIDs the path names, by part."""
        return {name: value for name in _UID_PARTS if (value := getattr(self, name)) is not None}

    def with_uids(self, mapped: Mapping[str, str]) -> Target:
        """The same resource with each UID replaced through `mapped` (pseudonymous -> real)."""
        return replace(self, **{name: mapped[value] for name, value in self.uids.items()})


# PS3.18 8.3.5: the rendering parameters a de-identifying role may pass on, each held to its grammar.
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
RENDER_PARAMETERS = {
    "viewport": re.compile(r"[0-9]{1,5},[0-9]{1,5}(?:,[0-9]{1,5},[0-9]{1,5},-?[0-9]{1,5},-?[0-9]{1,5})?"),
    "window": re.compile(rf"{_NUMBER},{_NUMBER},(?:linear|linear-exact|sigmoid)"),
    "quality": re.compile(r"[1-9][0-9]?|100"),
}


def rendering_query(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The rendering parameters of a request, each checked before it goes upstream; others are dropped."""
    query = []
    for name, value in items:
        grammar = RENDER_PARAMETERS.get(name)
        if grammar is None:
            continue
        if not grammar.fullmatch(value):
            raise BadRequest(f"the {name} parameter does not match its PS3.18 grammar")
        query.append((name, value))
    return query
