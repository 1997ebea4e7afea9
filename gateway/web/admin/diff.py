"""Before/after of every attribute of one DICOM JSON object, for the rule editor's dry run.

Values are shown as text; sequences are walked item by item (`0040A730[0].0040A160`); bulk data is shown
as a marker, never fetched. These rows hold real values and go to the admin only, never to a log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydicom.datadict import keyword_for_tag

JsonObject = dict[str, Any]


def rows(before: JsonObject, after: JsonObject) -> list[dict[str, str | None]]:
    old, new = dict(_flat(before)), dict(_flat(after))
    out = []
    for path in sorted(old.keys() | new.keys()):
        was, now = old.get(path), new.get(path)
        change = "added" if was is None else "removed" if now is None else "kept" if was == now else "changed"
        tag = path.rsplit(".", 1)[-1]
        out.append({"path": path, "tag": _tag(tag), "keyword": keyword_for_tag(int(tag, 16)) or "",
                    "before": was, "after": now, "change": change})
    return out


def _flat(obj: JsonObject, prefix: str = "") -> Iterator[tuple[str, str]]:
    for tag, element in obj.items():
        if not isinstance(element, dict):
            continue
        path = prefix + tag.upper()
        if element.get("vr") == "SQ":
            items = element.get("Value") or []
            yield path, f"({len(items)} item{'s' if len(items) != 1 else ''})"
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    yield from _flat(item, f"{path}[{index}].")
        else:
            yield path, _text(element)


def _text(element: JsonObject) -> str:
    if "BulkDataURI" in element:
        return "(bulk data)"
    if "InlineBinary" in element:
        return f"(inline binary, {len(element['InlineBinary'])} base64 characters)"
    return "\\".join(_value(v) for v in element.get("Value") or [])


def _value(value: Any) -> str:
    if isinstance(value, dict):  # a person name
        return "=".join(str(value.get(part, "")) for part in ("Alphabetic", "Ideographic", "Phonetic")).rstrip("=")
    return "" if value is None else str(value)


def _tag(tag: str) -> str:
    return f"({tag[:4]},{tag[4:]})"
