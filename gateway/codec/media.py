"""Media types as DICOMweb uses them (RFC 9110 §8.3.1, PS3.18 §8.7).

    >>> mt = MediaType.parse('multipart/related; type="application/dicom"; boundary=abc')
    >>> mt.essence, mt.boundary, mt.related_type
    ('multipart/related', 'abc', MediaType(essence='application/dicom', items=()))

The transfer syntax may sit in either of two places, and `transfer_syntax` reads both:

- PS3.18: `multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1`
- Orthanc: `multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"`

`MediaType.parse` validates everything up front (syntax, duplicate parameters, the nested `type`, the
boundary's RFC 2046 alphabet, agreeing transfer syntaxes), so the accessors never fail. A fault raises
`BadRequest` or `UpstreamProtocolError`, chosen by `side`; the message never repeats the header's value.
`MediaType.build` does the same checks for values we compose ourselves and raises `ValueError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.codec.side import Side, malformed

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"'
# Unquoted values are looser than RFC 9110 tokens: clients send boundaries such as `----=_Part_1` unquoted.
_BARE = r'[^\s;",\\\x00-\x1f\x7f]+'
_ESSENCE = re.compile(rf"[ \t]*({_TOKEN})/({_TOKEN})[ \t]*")
_PARAM = re.compile(rf";[ \t]*(?:({_TOKEN})[ \t]*=[ \t]*({_QUOTED}|{_BARE})[ \t]*)?")
_TOKEN_ONLY = re.compile(_TOKEN)
_ESSENCE_ONLY = re.compile(rf"{_TOKEN}/{_TOKEN}")
_UNESCAPE = re.compile(r"\\(.)")
# RFC 2046 §5.1.1: 1 to 70 characters from this alphabet, not ending in a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


class _Malformed(ValueError):
    pass


@dataclass(frozen=True)
class MediaType:
    """A parsed media type: lower-case `essence` ("type/subtype") and `items`, its parameters in order.

    Parameter names are lower-case; values keep their case (boundaries are case-sensitive).
    """

    essence: str
    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, value: str, *, side: Side = "upstream") -> MediaType:
        try:
            return cls._checked(*_split(value))
        except _Malformed as exc:
            raise malformed(side, f"malformed media type: {exc}") from None

    @classmethod
    def build(cls, essence: str, **params: str) -> MediaType:
        """Compose a media type; `transfer_syntax=` is spelled `transfer-syntax` on the wire."""
        items = tuple((name.replace("_", "-").lower(), value) for name, value in params.items())
        return cls._checked(essence.lower(), items)

    @classmethod
    def _checked(cls, essence: str, items: tuple[tuple[str, str], ...]) -> MediaType:
        if not _ESSENCE_ONLY.fullmatch(essence):
            raise _Malformed("bad type/subtype")
        names = [name for name, _ in items]
        if len(set(names)) != len(names):
            raise _Malformed("duplicate parameter")
        media = cls(essence, items)
        if media.boundary is not None and not _BOUNDARY.fullmatch(media.boundary):
            raise _Malformed("boundary outside RFC 2046")
        related = media.related_type
        if related and related.param("type") is not None:
            raise _Malformed("nested type parameter")
        inner = related.param("transfer-syntax") if related else None
        outer = media.param("transfer-syntax")
        if inner is not None and outer is not None and inner != outer:
            raise _Malformed("conflicting transfer syntaxes")
        return media

    def param(self, name: str) -> str | None:
        """The value of parameter `name` (any case), or None."""
        name = name.lower()
        return next((value for key, value in self.items if key == name), None)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.items)

    @property
    def boundary(self) -> str | None:
        return self.param("boundary")

    @property
    def related_type(self) -> MediaType | None:
        """The `type` parameter of a multipart/related type, itself parsed as a media type."""
        value = self.param("type")
        return None if value is None else MediaType(*_split(value))

    @property
    def transfer_syntax(self) -> str | None:
        """The transfer syntax from this type's own parameter or from inside its `type` parameter."""
        related = self.related_type
        own = self.param("transfer-syntax")
        return own if own is not None or related is None else related.param("transfer-syntax")

    def __str__(self) -> str:
        return self.essence + "".join(f"; {name}={_quote(value)}" for name, value in self.items)


def _split(value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    head = _ESSENCE.match(value)
    if head is None:
        raise _Malformed("bad type/subtype")
    items: list[tuple[str, str]] = []
    pos = head.end()
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None:
            raise _Malformed("bad parameter")
        if match.group(1):
            items.append((match.group(1).lower(), _unquote(match.group(2))))
        pos = match.end()
    return f"{head.group(1)}/{head.group(2)}".lower(), tuple(items)


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return _UNESCAPE.sub(r"\1", value[1:-1])
    return value


def _quote(value: str) -> str:
    if _TOKEN_ONLY.fullmatch(value):
        return value
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
        raise ValueError("control character in a media type parameter")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
_RANGES = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')


def accepted_transfer_syntaxes(accept: str | None, part: str = "application/dicom") -> frozenset[str]:
    """The transfer syntaxes an Accept header takes for `part` parts of multipart/related ("*" for any). A range
    that names no syntax takes PS3.18's default, Explicit VR Little Endian; ranges that do not parse, or ask for
    other parts, take nothing."""
    syntaxes: set[str] = set()
    for text in _RANGES.findall(accept or "*/*"):
        try:
            media = MediaType.parse(text, side="client")
        except Exception:  # one bad range in a list: the others still say what the client takes
            continue
        related = media.related_type
        takes = media.essence in ("*/*", "multipart/*", part) or (
            media.essence == "multipart/related" and (related is None or related.essence == part)
        )
        if takes:
            syntaxes.add(media.transfer_syntax or EXPLICIT_VR_LITTLE_ENDIAN)
    return frozenset(syntaxes)


_JSON_RANGES = frozenset({"application/dicom+json", "application/json", "application/*", "*/*"})


def accepts_json(accept: str | None) -> bool:
    """Whether an Accept header (or the `accept` query parameter) takes DICOM JSON: one of its media ranges is
    DICOM JSON, JSON or a wildcard over them, with a q above 0 (RFC 9110 12.5.1). No header takes anything;
    ranges that do not parse take nothing."""
    if not accept:
        return True
    for text in _RANGES.findall(accept):
        try:
            media = MediaType.parse(text, side="client")
            weight = float(media.param("q") or "1")
        except Exception:  # one bad range in a list: the others still say what the client takes
            continue
        if media.essence in _JSON_RANGES and weight > 0:
            return True
    return False
