"""Seeded mutations of the planted-identifier phantoms, in Part 10 and in DICOM JSON.

Every case is a pure function of (seed, index): `part10_case(seed, index)` and `json_case(seed, index)` give
a `Case` whose `label` names the mutation (never a value), so a failure prints what to re-run.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import struct
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson

from adversarial.phantoms import MOVABLE, Element, Phantom, encode, item, own_values, pad, phantoms, sequence

Json = dict[str, Any]


@dataclass(frozen=True)
class Case:
    seed: int
    index: int
    label: str
    phantom: str
    body: bytes  # Part 10 bytes, or a DICOM JSON array as text (possibly broken on purpose)

    def __str__(self) -> str:
        return f"seed={self.seed} index={self.index} phantom={self.phantom} mutation={self.label}"


def rng_for(seed: int, index: int, layer: str) -> random.Random:
    return random.Random(f"{layer}:{seed}:{index}")


# -- Part 10 -------------------------------------------------------------------------------------------------
TEXT_VRS = (b"PN", b"LO", b"SH", b"LT", b"ST", b"UT", b"DA", b"DT", b"TM", b"UI", b"CS", b"AE", b"UC")
# Tags no E.1-1 row names (kept by every profile), tags the dictionary retires, and tags with a numeric VR.
UNLISTED = (0x00280030, 0x00180050, 0x00200013, 0x00080060, 0x00281050, 0x00180015, 0x00080008, 0x00200020)
RETIRED = (0x00080001, 0x00080010, 0x00280005, 0x00280040, 0x00200030, 0x00080040, 0x00184000)
PRIVATE = (0x00091010, 0x00111001, 0x00130010, 0x00291010, 0x7FE10010, 0x00990099)
SWAP_VRS = (b"OB", b"UN", b"UT", b"UL", b"US", b"FD", b"DS", b"IS", b"CS", b"UI", b"AT", b"SQ", b"XX", b"\0\0", b"OW")
CHARSETS = (b"ISO_IR 100", b"ISO_IR 192", b"\\ISO 2022 IR 87", b"ISO_IR 13", b"ISO 2022 IR 6", b"GB18030",
            b"BOGUS", b"", b"ISO_IR 100\\ISO_IR 192\\ISO_IR 13\\ISO 2022 IR 87 ")  # fmt: skip
SYNTAXES = (b"1.2.840.10008.1.2", b"1.2.840.10008.1.2.2", b"1.2.840.10008.1.2.1.99", b"1.2.840.10008.1.2.4.50",
            b"1.2.840.10008.1.2.5", b"1.2.3.4", b"", b"1.2.840.10008.1.2.1\\1.2.840.10008.1.2",
            MOVABLE["real_uid"].encode(), b"1.2.840.10008.1.2.4.90")  # fmt: skip


# The values the object being mutated really holds: a moved value is one of its own (`phantoms.own_values`).
_OWN: ContextVar[dict[str, str]] = ContextVar("own")


def _own() -> dict[str, str]:
    return _OWN.get()


def _value(rng: random.Random) -> tuple[str, bytes]:
    own = _own()
    key = rng.choice(sorted(own))
    text = own[key]
    codec = rng.choice(("utf-8", "latin-1", "iso2022_jp"))
    try:
        return key, text.encode(codec)
    except UnicodeEncodeError:
        return key, text.encode("utf-8")


def _header(p: Phantom) -> list[Element]:
    return [e for e in p.elements if e.tag >> 16 != 2 and e.start < p.header_end]


def _identifying(p: Phantom) -> list[Element]:
    return [e for e in _header(p) if e.vr in TEXT_VRS and e.value_length > 0]


def _insert(data: bytes, p: Phantom, tag: int, raw: bytes, *, replace: bool) -> bytes:
    """Put `raw` in tag order among the top-level elements (replacing that tag's element when asked)."""
    for e in p.elements:
        if e.tag >> 16 == 2:
            continue
        if e.tag == tag and replace:
            return data[: e.start] + raw + data[e.end :]
        if e.tag > tag:
            return data[: e.start] + raw + data[e.start :]
    return data + raw


def m_byte_flip(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    data = bytearray(p.part10)
    count = rng.choice((1, 2, 4, 8, 32))
    for _ in range(count):
        data[rng.randrange(128, p.header_end)] ^= 1 << rng.randrange(8)
    return f"byte-flip x{count}", bytes(data)


def m_truncate(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    where = rng.choice(("header", "element", "anywhere"))
    if where == "element":
        e = rng.choice(_header(p))
        cut = rng.randrange(e.start + 1, e.end + 1)
    else:
        cut = rng.randrange(0, p.header_end if where == "header" else len(p.part10))
    return f"truncate {where}", p.part10[:cut]


def m_length(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    e = rng.choice(_header(p))
    kind = rng.choice(("zero", "odd", "huge", "undefined", "short-by-one", "long-by-one"))
    wide = e.long_form
    n = {"zero": 0, "odd": e.value_length | 1, "huge": 0x7FFFFFF0 if wide else 0xFFFE,
         "undefined": 0xFFFFFFFF if wide else 0xFFFF, "short-by-one": max(e.value_length - 1, 0),
         "long-by-one": e.value_length + 1}[kind]  # fmt: skip
    data = bytearray(p.part10)
    if wide:
        struct.pack_into("<L", data, e.start + 8, n & 0xFFFFFFFF)
    else:
        struct.pack_into("<H", data, e.start + 6, n & 0xFFFF)
    return f"length {kind} ({e.tag:08X})", bytes(data)


def m_vr_swap(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    e = rng.choice(_identifying(p))
    vr = rng.choice(SWAP_VRS)
    value = p.part10[e.value_start : e.end]
    if vr in (b"UL", b"FD", b"AT") and rng.random() < 0.5:
        value = pad(value, 8, b"\0")
    raw = encode(e.tag, vr, pad(value))
    label = f"vr {e.vr.decode('latin-1')}->{vr.decode('latin-1')} ({e.tag:08X})"
    return label, p.part10[: e.start] + raw + p.part10[e.end :]


def m_retag(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    family = rng.choice(("unlisted", "retired", "private"))
    tag = rng.choice({"unlisted": UNLISTED, "retired": RETIRED, "private": PRIVATE}[family])
    key, value = _value(rng)
    vr = rng.choice((b"LO", b"PN", b"UT", b"SH", b"UL", b"DS", b"UN", b"OB", b"CS", b"LT"))
    raw = encode(tag, vr, pad(value, 4 if vr == b"UL" else 2))
    data = _insert(p.part10, p, tag, raw, replace=rng.random() < 0.7)
    return f"retag {family} {key} as ({tag:08X}) {vr.decode()}", data


def m_content_cs(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    """A ContentSequence item whose CS (and SH code value) carries a person's name."""
    key, value = _value(rng)
    cs_tag = rng.choice((0x0040A010, 0x0040A040, 0x00080100, 0x0040A043, 0x0040A168))
    inner = encode(cs_tag, b"CS", pad(value)) + encode(0x0040A040, b"CS", b"PNAME ")
    if rng.random() < 0.5:
        inner = encode(0x0040A043, b"SQ", item(encode(0x00080100, b"SH", pad(value)), undefined=False))
        inner = encode(0x0040A010, b"CS", b"CONTAINS") + inner
    raw = sequence(0x0040A730, [item(inner, undefined=rng.random() < 0.5)], undefined=rng.random() < 0.5)
    return f"content-cs {key} in ({cs_tag:08X})", _insert(p.part10, p, 0x0040A730, raw, replace=True)


def _meta_or_charset(p: Phantom, tag: int, value: bytes) -> bytes:
    e = next((e for e in p.elements if e.tag == tag), None)
    raw = encode(tag, b"UI" if tag >> 16 == 2 else b"CS", pad(value, 2, b"\0" if tag >> 16 == 2 else b" "))
    if e is None:
        return _insert(p.part10, p, tag, raw, replace=True)
    return p.part10[: e.start] + raw + p.part10[e.end :]


def m_charset(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    value = rng.choice(CHARSETS)
    return f"charset {value.decode('latin-1')!r}", _meta_or_charset(p, 0x00080005, value)


def m_syntax(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    value = rng.choice(SYNTAXES)
    label = "real-uid" if value.startswith(MOVABLE["real_uid"][:8].encode()) else value.decode()
    return f"transfer-syntax {label}", _meta_or_charset(p, 0x00020010, value)


def m_duplicate(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    e = rng.choice(_identifying(p))
    key, value = _value(rng)
    twin = encode(e.tag, e.vr, pad(value))
    where = rng.choice(("after", "before", "trailer", "far-after"))
    data = p.part10
    if where == "after":
        data = data[: e.end] + twin + data[e.end :]
    elif where == "before":
        data = data[: e.start] + twin + data[e.start :]
    elif where == "trailer":  # after PixelData: the gateway must drop (or de-identify) it, never relay it
        data = data + twin
    else:  # out of tag order, just before PixelData
        data = data[: p.header_end] + twin + data[p.header_end :]
    return f"duplicate ({e.tag:08X}) {where} with {key}", data


def m_nesting(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    depth = rng.choice((8, 32, 64, 128, 400))
    key, value = _value(rng)
    tag = rng.choice((0x00081140, 0x0040A730, 0x00400275, 0x00091020, 0x00081115, 0x00400260))
    inner_tag = rng.choice((0x00100010, 0x0040A123, 0x00080100, 0x00280030))
    content = encode(inner_tag, b"PN", pad(value))
    undefined = rng.random() < 0.5
    for _ in range(depth):
        content = sequence(tag, [item(content, undefined=undefined)], undefined=undefined)
    return f"nesting {depth} in ({tag:08X}) {key}", _insert(p.part10, p, tag, content, replace=True)


def m_dates(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    dates = [e for e in _header(p) if e.vr in (b"DA", b"DT", b"TM")]
    e = rng.choice(dates)
    kind = rng.choice(("swallow", "name", "junk", "range", "multi"))
    if kind == "swallow":  # the length covers the next elements: an identifier hides inside the "date"
        later = [x for x in _header(p) if x.start >= e.end][: rng.choice((1, 2, 4))]
        end = later[-1].end if later else e.end
        swallowed = p.part10[e.value_start : end]
        if e.long_form:
            return f"date-swallow ({e.tag:08X})", p.part10  # never: dates are short-form
        raw = encode(e.tag, e.vr, pad(swallowed + b" " + MOVABLE["name.patient_a"].encode()))
        return f"date-swallow ({e.tag:08X})", p.part10[: e.start] + raw + p.part10[end:]
    key, value = _value(rng)
    junk = {"name": value, "junk": b"2024031X" + value[:6], "range": b"19580314-" + value,
            "multi": b"20240311\\" + value}[kind]  # fmt: skip
    raw = encode(e.tag, e.vr, pad(junk))
    return f"date-{kind} ({e.tag:08X}) {key}", p.part10[: e.start] + raw + p.part10[e.end :]


def m_uid_values(rng: random.Random, p: Phantom) -> tuple[str, bytes]:
    """A UI element holding a name, or a real UID under a tag or VR the engine would not replace."""
    key, value = _value(rng)
    uis = [e for e in _header(p) if e.vr == b"UI"]
    e = rng.choice(uis)
    junk = rng.choice((value, MOVABLE["real_uid"].encode() + b".9" + value[:4], b"1.2.3\\" + value))
    raw = encode(e.tag, rng.choice((b"UI", b"LO", b"UN")), pad(junk, 2, b"\0"))
    return f"uid-value ({e.tag:08X}) {key}", p.part10[: e.start] + raw + p.part10[e.end :]


PART10_MUTATORS: tuple[Callable[[random.Random, Phantom], tuple[str, bytes]], ...] = (
    m_byte_flip, m_truncate, m_length, m_vr_swap, m_retag, m_content_cs, m_charset, m_syntax, m_duplicate,
    m_nesting, m_dates, m_uid_values,
)  # fmt: skip


# Mutators after which the element walk still holds (so another mutation can follow), and the rest.
_STACKABLE = (m_vr_swap, m_retag, m_content_cs, m_charset, m_syntax, m_duplicate, m_dates, m_uid_values)


def part10_case(seed: int, index: int, *, phantom: str | None = None) -> Case:
    rng = rng_for(seed, index, "part10")
    p = phantoms()[phantom or rng.choice(sorted(phantoms()))]
    _OWN.set(own_values(p.name))
    chain = [rng.choice(_STACKABLE) for _ in range(0 if rng.random() < 0.75 else rng.choice((1, 2)))]
    chain.append(rng.choice(PART10_MUTATORS))
    labels, current = [], p
    for mutator in chain:
        label, data = mutator(rng, current)
        labels.append(label)
        current = Phantom(p.name, data, p.json, p.study_uid, p.series_uid, p.sop_uid)
    return Case(seed, index, " + ".join(labels), p.name, current.part10)


# -- DICOM JSON ----------------------------------------------------------------------------------------------
JSON_VRS = ("LO", "UN", "OB", "CS", "SQ", "XX", "UL", "DS", "PN", "UT", "UI", "AT", "", None, 7)
TEXT_TAGS = ("00100010", "00100020", "00101040", "00080080", "00080090", "00080050", "00102180", "00081030",
             "00104000", "00100030")  # fmt: skip


def _text(rng: random.Random) -> tuple[str, str]:
    own = _own()
    key = rng.choice(sorted(own))
    return key, own[key]


def _b64(text: str, rng: random.Random) -> str:
    codec = rng.choice(("utf-8", "latin-1", "iso2022_jp"))
    try:
        raw = text.encode(codec)
    except UnicodeEncodeError:
        raw = text.encode("utf-8")
    return base64.b64encode(raw).decode()


def j_wrong_vr(rng: random.Random, obj: Json) -> str:
    tag = rng.choice([t for t in TEXT_TAGS if t in obj] or ["00100010"])
    vr = rng.choice(JSON_VRS)
    element = obj.setdefault(tag, {"vr": "PN", "Value": [MOVABLE["name.patient_a"]]})
    if vr is None:
        element.pop("vr", None)
    else:
        element["vr"] = vr
    return f"wrong-vr {tag} {vr!r}"


def j_inline_binary(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    tag = rng.choice((*TEXT_TAGS, "00102180"))
    vr = rng.choice(("UN", "OB", "PN", "LO", "OW", "UT"))
    obj[tag] = {"vr": vr, "InlineBinary": _b64(text, rng)}
    if rng.random() < 0.3:
        obj[tag]["Value"] = ["X"]
    return f"inline-binary {tag} {vr} {key}"


def j_bulk_uri(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    tag = rng.choice(TEXT_TAGS)
    base = (obj.get("7FE00010") or {}).get("BulkDataURI", "http://127.0.0.1:1/dicom-web/x").rsplit("/bulk/", 1)[0]
    uri = rng.choice((f"{base}/bulk/{text}", f"{base}/bulk/00100010", f"http://evil.example/{text}",
                      f"{base.rsplit('/studies/', 1)[0]}/studies/{MOVABLE['real_uid']}/bulk/00100010"))
    obj[tag] = {"vr": rng.choice(("PN", "LO", "OB", "UN")), "BulkDataURI": uri}
    return f"bulk-uri {tag} {key}"


def j_non_list_value(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    tag = rng.choice(TEXT_TAGS)
    vr = obj.get(tag, {}).get("vr", "LO")
    value = rng.choice((text, {"Alphabetic": text}, [[text]], [{"Alphabetic": text, "Evil": text}], 12, None,
                        [{"Ideographic": text}], [text, {"x": text}], {"Value": [text]}, [None, text], True))
    obj[tag] = {"vr": vr, "Value": value}
    return f"non-list-value {tag} {type(value).__name__} {key}"


def j_retag(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    tag = rng.choice(("00080001", "00280030", "00091010", "00111001", "00080010", "00280005", "00200013",
                      "00130010", "00990099", "7FE10010", "00180050", "00080060"))  # fmt: skip
    vr = rng.choice(("LO", "UL", "DS", "PN", "CS", "UN", "IS", "SH"))
    inline = vr == "UN" and rng.random() < 0.5
    obj[tag] = {"vr": vr, "InlineBinary": _b64(text, rng)} if inline else {"vr": vr, "Value": [text]}
    return f"retag {tag} {vr} {key}"


def j_content_cs(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    cs = rng.choice(("0040A010", "0040A040", "00080100", "0040A168"))
    inner: Json = {cs: {"vr": "CS", "Value": [text]}, "0040A040": {"vr": "CS", "Value": ["PNAME"]}}
    if rng.random() < 0.5:
        inner["0040A043"] = {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": [text]}}]}
    obj["0040A730"] = {"vr": "SQ", "Value": [inner]}
    return f"content-cs {cs} {key}"


def j_dates(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    tag = rng.choice(("00080020", "00080021", "00080030", "0008002A", "00100030", "00080012"))
    vr = rng.choice(("DA", "DT", "TM"))
    value = rng.choice((text, f"2024031X{text[:5]}", f"20240311\\{text}", f"19580314-{text}", "20241399", "-1"))
    obj[tag] = {"vr": vr, "Value": [value]}
    return f"date-garbage {tag} {vr} {key}"


def j_nested_garbage(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    depth = rng.choice((3, 20, 200))
    inner: Any = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": text}]}}
    for _ in range(depth):
        inner = {rng.choice(("00081140", "0040A730", "00091020")): {"vr": "SQ", "Value": [inner]}}
    tag, element = next(iter(inner.items()))
    if rng.random() < 0.3:
        element["Value"] = rng.choice(([text], [[text, {"00100010": text}]], text, [None]))
    obj[tag] = element
    return f"nested-garbage depth {depth} {key}"


def j_keys(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    tag = rng.choice(("PatientName", "0010001", "001000100", "00100010 ", "0010,0010", "0x00100010", "00100010"))
    obj[tag] = {"vr": "PN", "Value": [{"Alphabetic": text}]}
    if tag == "00100010":
        obj[tag] = {"vr": "PN", "Value": [{"Alphabetic": text}], "vr ": "PN"}
    return f"odd-key {tag!r} {key}"


def j_retrieve_url(rng: random.Random, obj: Json) -> str:
    key, text = _text(rng)
    url = rng.choice((f"http://evil.example/{text}", f"http://127.0.0.1:1/dicom-web/studies/{MOVABLE['real_uid']}",
                      text))
    obj["00081190"] = {"vr": rng.choice(("UR", "LO", "UT")), "Value": [url]}
    return f"retrieve-url {key}"


JSON_OBJECT_MUTATORS: tuple[Callable[[random.Random, Json], str], ...] = (
    j_wrong_vr, j_inline_binary, j_bulk_uri, j_non_list_value, j_retag, j_content_cs, j_dates, j_nested_garbage,
    j_keys, j_retrieve_url,
)  # fmt: skip


def _dumps(value: Any) -> bytes:
    """Deep nesting is a mutation of its own: the standard library writes what orjson refuses to."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _broken_text(rng: random.Random, text: bytes) -> tuple[str, bytes]:
    kind = rng.choice(("truncate", "garbage", "object", "scalars", "nan", "deep", "duplicate-key", "bom"))
    name = MOVABLE["name.patient_a"].encode()
    if kind == "truncate":
        return kind, text[: rng.randrange(1, len(text))]
    if kind == "garbage":
        at = rng.randrange(len(text))
        return kind, text[:at] + rng.choice((b"\x00", b"}", b"]]", b'"', b"\xff\xfe")) + text[at:]
    if kind == "object":
        return kind, text[1:-1] if text.startswith(b"[") else b'{"a": ' + text + b"}"
    if kind == "scalars":
        return kind, b'["' + name + b'", 1, null]'
    if kind == "nan":
        return kind, text[:-1] + b', {"00100010": {"vr": "PN", "Value": [NaN]}}]'
    if kind == "deep":
        return kind, b"[" * 5000 + name + b"]" * 5000
    if kind == "duplicate-key":
        return kind, b'[{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "' + name + b'"}]}, "00100010": 1}]'
    return kind, b"\xef\xbb\xbf" + text


def _held_by(obj: Json, default: str) -> dict[str, str]:
    """The own values of the phantom an object came from (by its study) that the object itself holds in a Value:
    what an earlier mutation moved into a URL or cut out of shape is no longer the object's own."""
    study = (obj.get("0020000D", {}).get("Value") or [None])[0]
    name = next((name for name, p in phantoms().items() if p.study_uid == study), default)
    texts = list(_value_strings(obj))
    held = {key: value for key, value in own_values(name).items() if any(value in text for text in texts)}
    return held or {"real_uid": own_values(name)["real_uid"]}


def _value_strings(obj: Json) -> Iterator[str]:
    """Every string in a Value of `obj` at any depth (person name groups included), iteratively: a mutation
    may have nested the object deeper than recursion goes."""
    pending: list[Any] = [obj]
    while pending:
        current = pending.pop()
        if not isinstance(current, dict):
            continue
        for attribute in current.values():
            values = attribute.get("Value") if isinstance(attribute, dict) else None
            for value in values if isinstance(values, list) else ():
                if isinstance(value, str):
                    yield value
                elif isinstance(value, dict):
                    groups = [v for v in value.values() if isinstance(v, str)]
                    yield from groups
                    pending.append(value)


def json_case(seed: int, index: int, *, phantom: str | None = None, objects: list[Json] | None = None) -> Case:
    rng = rng_for(seed, index, "json")
    name = phantom or rng.choice(sorted(phantoms()))
    array = copy.deepcopy(objects if objects is not None else [phantoms()[name].json])
    if rng.random() < 0.12:
        kind, text = _broken_text(rng, orjson.dumps(array))
        return Case(seed, index, f"broken-json {kind}", name, text)
    labels = []
    for _ in range(1 if rng.random() < 0.7 else rng.choice((2, 3))):
        target = array[rng.randrange(len(array))]
        _OWN.set(_held_by(target, name))  # what earlier mutations left of it
        labels.append(rng.choice(JSON_OBJECT_MUTATORS)(rng, target))
    return Case(seed, index, " + ".join(labels), name, _dumps(array))
