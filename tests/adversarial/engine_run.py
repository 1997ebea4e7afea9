"""The in-process layer: one mutated case straight through a role's engine, as the gateway calls it.

Part 10: `split_part10` (the codec's split at PixelData) -> `read_header` -> `needs` -> Mappings -> `apply` ->
`write_header`; what goes out is the new header, the pixel element's head and its value (the trailer is
dropped, as the retrieve handler drops it). DICOM JSON: `json_array` -> per object `needs_json` -> `apply_json`
-> orjson, with the URL fields the HTTP layer rewrites (RetrieveURL, and BulkDataURI on binary VRs) blanked.
`Withheld` (and, for JSON, the origin-protocol error of a body that is not a DICOM JSON array) is an accepted
outcome; any other exception is a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from core.rules.conftest import mappings_for as rules_mappings

from adversarial.mutations import Case
from adversarial.phantoms import phantoms
from gateway.adapters.upstream import json_array
from gateway.codec.part10_stream import split_part10
from gateway.core.pseudonyms.model import Mappings, Needs
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile
from gateway.errors import Part10Error, UpstreamProtocolError, Withheld

_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def mappings_for(engine: Engine, needs: Needs) -> Mappings:
    """Deterministic pseudonyms for every need, standing in for the resolver (the engine tests' own)."""
    return rules_mappings(engine.profile, needs)


@dataclass
class Run:
    output: bytes | None  # None: withheld or refused as a whole
    crash: str = ""  # "stage: ExceptionType" when something other than Withheld escaped
    templated: int = 0  # objects written through their series' template (`Engine.compiled_json`)


def run_part10(engine: Engine, data: bytes) -> Run:
    stage = "split"
    try:
        split = split_part10(data)
        stage = "read_header"
        ds = engine.read_header(split.header.data)
        stage = "needs"
        mappings = mappings_for(engine, engine.needs(ds))
        stage = "apply"
        engine.apply(ds, mappings)
        stage = "write_header"
        header = engine.write_header(ds)
    except (Withheld, Part10Error):  # the core turns a codec fault into Withheld or Unreadable (core/instance)
        return Run(None)
    except Exception as exc:  # the property: nothing but Withheld may escape
        return Run(None, f"{stage}: {type(exc).__name__}")
    return Run(header + (split.header.pixel_head or b"") + split.pixel_value)


def run_part10_compiled(engine: Engine, data: bytes) -> Run | None:
    """As `run_part10`, through the series' compiled plan (`Engine.compiled`, as the retrieve reads each part);
    None when the plan declines the instance, which the full engine then reads."""
    stage = "split"
    try:
        split = split_part10(data)
        stage = "compiled"
        compiled = engine.compiled(split.header.data)
        if compiled is None:
            return None
        stage = "write_compiled"
        header, _ = engine.write_compiled(compiled, mappings_for(engine, compiled.needs))
    except (Withheld, Part10Error):
        return Run(None)
    except Exception as exc:
        return Run(None, f"{stage}: {type(exc).__name__}")
    return Run(header + (split.header.pixel_head or b"") + split.pixel_value)


def fast_path_check(layer: str, full: Engine, planned: Engine, case: Case) -> tuple[int, str]:
    """A case of `layer` ("part10" or "json") through its fast path against the full walk: (how many instances or
    objects the fast path served, what went wrong or ""). `planned` keeps its plans from case to case."""
    if layer == "part10":
        served, failure = plan_check(full, planned, case)
        return int(served), failure
    return template_check(full, full.profile, case)


def plan_check(full: Engine, planned: Engine, case: Case) -> tuple[bool, str]:
    """A Part 10 case through the series' compiled plan against the full engine, the unmutated phantom first so
    that the plan has met its context: (whether the plan served it, what went wrong or "")."""
    run_part10_compiled(planned, phantoms()[case.phantom].part10)
    fast = run_part10_compiled(planned, case.body)
    if fast is None:
        return False, ""
    if fast.crash:
        return True, f"crash {fast.crash}"
    return True, "" if fast.output == run_part10(full, case.body).output else "bytes differ from the engine"


def template_check(full: Engine, profile: Profile, case: Case) -> tuple[int, str]:
    """A DICOM JSON case through its series' template against the full walk: two copies of the case with other
    SOP Instance UIDs make the template first (the first is remembered, the second builds it), so the template
    is made of the mutated values. (How many objects the template served, what went wrong or "")."""
    templated = Engine(profile)  # a series keeps its first template: each case makes its own
    for suffix in (".8", ".9"):
        siblings = _siblings(case.body, suffix)
        if siblings is not None:
            run_json(templated, siblings, templates=True)
    fast = run_json(templated, case.body, templates=True)
    if fast.crash:
        return fast.templated, f"crash {fast.crash}"
    return fast.templated, "" if fast.output == run_json(full, case.body).output else "output differs from the walk"


def _siblings(body: bytes, suffix: str) -> bytes | None:
    """The objects of a case with another SOP Instance UID each (where it is a plain UI attribute)."""
    try:
        objects = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(objects, list):
        return None
    for obj in objects:
        sop = obj.get("00080018") if isinstance(obj, dict) else None
        values = sop.get("Value") if isinstance(sop, dict) else None
        if isinstance(values, list) and values and isinstance(values[0], str):
            sop["Value"] = [values[0] + suffix, *values[1:]]
    try:
        return orjson.dumps(objects)
    except (orjson.JSONEncodeError, TypeError):  # nested past orjson's depth on purpose
        return None


def run_json(engine: Engine, body: bytes, *, templates: bool = False) -> Run:
    """`templates`: through each series' template where the engine has one, as the gateway's views do."""
    try:
        objects = json_array(body)
    except UpstreamProtocolError:
        return Run(None)
    except Exception as exc:
        return Run(None, f"json_array: {type(exc).__name__}")
    out, templated = [], 0
    for obj in objects:
        stage = "needs_json"
        try:
            compiled = engine.compiled_json(obj) if templates else None
            if compiled is not None:
                stage, templated = "write_compiled_json", templated + 1
                out.append(_blank_urls(engine.write_compiled_json(compiled, mappings_for(engine, compiled.needs))))
                continue
            mappings = mappings_for(engine, engine.needs_json(obj))
            stage = "apply_json"
            out.append(_blank_urls(engine.apply_json(obj, mappings)))
        except Withheld:
            continue
        except Exception as exc:
            return Run(None, f"{stage}: {type(exc).__name__}")
    try:
        return Run(orjson.dumps(out), templated=templated)
    except Exception as exc:  # the gateway answers with orjson.dumps too (view.json_response)
        return Run(None, f"serialize: {type(exc).__name__}")


def _blank_urls(obj: dict[str, Any]) -> dict[str, Any]:
    """The URL values the HTTP layer rewrites after the engine (checked end to end in the hostile-origin suite)."""
    if isinstance(obj.get("00081190"), dict) and obj["00081190"].get("vr") == "UR":
        obj["00081190"] = {**obj["00081190"], "Value": ["<rewritten by the HTTP layer>"]}
    for element in obj.values():
        if isinstance(element, dict) and element.get("vr") in _BINARY_VRS and "BulkDataURI" in element:
            element["BulkDataURI"] = "<rewritten by the HTTP layer>"
    return obj
