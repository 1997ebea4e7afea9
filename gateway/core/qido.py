"""QIDO-RS query translation for de-identifying roles (pure: no I/O, no aiohttp).

A client of a de-identifying role only ever knows pseudonymous values, so its query must be translated before
it reaches the origin, and no key may act as an oracle on real values:

* pseudonymous UIDs, PatientID, AccessionNumber and StudyID become the real ones through the store's reverse
  map; a value that was never issued matches nothing;
* PatientName equals the patient pseudonym in every component, so an exact name is searched as that pseudonym;
* dates that the role shifts or cuts to the year are searched over the widest real range they could come from,
  and the results are then filtered on their de-identified values, so the answer is exact;
* every other key is allowed only if the role keeps the attribute unchanged; otherwise 400.

Every translated key is checked again against the de-identified results (`Check`), so what matches is always
decided by the pseudonymous value the client sent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_VR, tag_for_keyword

from gateway.core.dicom import PATIENT_NAME
from gateway.core.pseudonyms.model import IdKind
from gateway.core.rules.actions import Action
from gateway.core.rules.profile import Profile
from gateway.errors import BadRequest

RESERVED = frozenset({"limit", "offset", "fuzzymatching", "emptyvaluematching", "multiplevaluematching"})
# PS3.18 8.3.3.1: stand-ins for the Accept and Accept-Charset headers, judged with them by the shell; the answer
# is the gateway's own DICOM JSON, so they never go upstream.
MEDIA = frozenset({"accept", "charset"})
_UID_TAGS = {0x0020000D, 0x0020000E, 0x00080018}
_PSEUDONYM_KINDS = {0x00100020: IdKind.PATIENT, 0x00080050: IdKind.ACCESSION, 0x00200010: IdKind.STUDY_ID}
_WILDCARD = re.compile(r"[*?]")


@dataclass(frozen=True)
class Check:
    """A condition the de-identified result must meet: its value at `tag` matches `expected`."""

    tag: int
    expected: frozenset[str] | tuple[str, str]  # a set of exact values, or an inclusive date range ('' = open)


@dataclass
class QueryPlan:
    """The translated query: what to ask the store, then what to send upstream and check afterwards."""

    passthrough: list[tuple[str, str]] = field(default_factory=list)
    reverse: dict[tuple[int, IdKind], list[str]] = field(default_factory=dict)  # tag/kind -> pseudonyms
    checks: list[Check] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    unsupported: list[str] = field(default_factory=list)  # matching parameters asked for and not honoured


def plan_search(query: Iterable[tuple[str, str]], profile: Profile) -> QueryPlan:
    plan = QueryPlan()
    seen: set[int] = set()
    for name, value in query:
        if name in RESERVED:
            _reserved(plan, name, value)
        elif name in MEDIA:
            continue
        elif name == "includefield":
            plan.passthrough.append((name, value))
        else:
            tag = _tag(name)
            if tag in seen:
                raise BadRequest(f"the matching key {name} is repeated")
            seen.add(tag)
            _key(plan, profile, name, tag, value)
    return plan


def upstream_query(plan: QueryPlan, real: dict[tuple[int, IdKind], list[str]]) -> list[tuple[str, str]]:
    """The query for the origin, once the store has mapped the pseudonyms back (real values per key)."""
    query = list(plan.passthrough)
    for (tag, kind), values in real.items():
        if kind is IdKind.PATIENT:
            values = [patient.rpartition("\\")[2] for patient in values]
        query.append((f"{tag:08X}", ",".join(values)))
    return query


def _reserved(plan: QueryPlan, name: str, value: str) -> None:
    if name in ("limit", "offset"):
        if not value.isdigit():
            raise BadRequest(f"{name} must be a non-negative integer")
        if name == "limit":
            plan.limit = int(value)
        else:
            plan.offset = int(value)
    elif value.lower() == "true" and name not in plan.unsupported:
        # Fuzzy, empty-value and multiple-value matching are not passed: literal matching is what we can vouch
        # for. PS3.18 8.3.4 asks that the client be told so (a Warning), not refused.
        plan.unsupported.append(name)


def _tag(name: str) -> int:
    if "." in name:
        raise BadRequest("matching inside sequences is not supported")
    if re.fullmatch(r"[0-9A-Fa-f]{8}", name):
        return int(name, 16)
    tag = tag_for_keyword(name)
    if tag is None:
        raise BadRequest(f"unknown matching key {name!r}")
    return int(tag)


def _key(plan: QueryPlan, profile: Profile, name: str, tag: int, value: str) -> None:
    if value == "":
        plan.passthrough.append(("includefield", f"{tag:08X}"))  # universal matching: return it, filter nothing
        return
    action = profile.action_for(tag)
    if tag in _UID_TAGS and action is Action.REPLACE_UID:
        _reverse(plan, tag, IdKind.UID, value.split(","), name)
    elif tag in _PSEUDONYM_KINDS and action is Action.PSEUDONYM:
        _reverse(plan, tag, _PSEUDONYM_KINDS[tag], [value], name)
    elif tag == PATIENT_NAME and action is Action.PSEUDONYM:
        # The name shown is the patient pseudonym itself, in every component.
        _reverse(plan, 0x00100020, IdKind.PATIENT, [value.split("=")[0].rstrip("^")], name)
    elif action is Action.KEEP:
        plan.passthrough.append((f"{tag:08X}", value))
    elif _is_date(tag) and action is Action.CLEAN:
        _date(plan, profile, tag, value)
    else:
        raise BadRequest(f"role {profile.name!r} may not search on {name}: the attribute is de-identified")


def _reverse(plan: QueryPlan, tag: int, kind: IdKind, values: list[str], name: str) -> None:
    if any(_WILDCARD.search(value) for value in values):
        raise BadRequest(f"{name} takes exact pseudonymous values here, not wildcards")
    plan.reverse[(tag, kind)] = values
    plan.checks.append(Check(tag, frozenset(values)))


def _is_date(tag: int) -> bool:
    try:
        return dictionary_VR(tag) == "DA"
    except KeyError:
        return False


def _date(plan: QueryPlan, profile: Profile, tag: int, value: str) -> None:
    low, sep, high = value.partition("-")
    if not sep:
        high = low
    for bound in (low, high):
        if bound and not re.fullmatch(r"\d{8}", bound):
            raise BadRequest("dates must be YYYYMMDD or a YYYYMMDD-YYYYMMDD range")
    real_low, real_high = _real_range(profile, low, high)
    if real_low is not None and real_high is not None and real_low > real_high:
        plan.checks.append(Check(tag, frozenset()))  # no real date can land in the range
    plan.passthrough.append((f"{tag:08X}", f"{real_low or ''}-{real_high or ''}"))
    plan.checks.append(Check(tag, (low, high)))


def _real_range(profile: Profile, low: str, high: str) -> tuple[str | None, str | None]:
    """The real dates whose de-identified value can fall in [low, high]."""
    mode = profile.date_mode.value
    if mode == "shift":
        assert profile.scope is not None
        # Shifts lie in [-max, -1]: a real date is 1..max days after its de-identified one.
        most = profile.scope.scheme.max_date_shift_days
        return (_add(low, 1) if low else None, _add(high, most) if high else None)
    if mode == "year":
        # Each year shows as its 1st of January: only years whose 1 January is in range can match.
        first = None if not low else (low[:4] if low[4:] == "0101" else str(int(low[:4]) + 1))
        return (first + "0101" if first else None, high[:4] + "1231" if high else None)
    raise BadRequest(f"role {profile.name!r} may not search on dates: they are removed")


def _add(day: str, days: int) -> str:
    return (dt.date(int(day[:4]), int(day[4:6]), int(day[6:])) + dt.timedelta(days=days)).strftime("%Y%m%d")


def passes(obj: dict[str, dict[str, object]], checks: Iterable[Check]) -> bool:
    """Does a de-identified DICOM JSON object meet every check?"""
    return all(_meets(obj, check) for check in checks)


def _meets(obj: dict[str, dict[str, object]], check: Check) -> bool:
    element = obj.get(f"{check.tag:08X}", {})
    raw = element.get("Value") or []
    values = [str(v) for v in raw] if isinstance(raw, list) else []
    if isinstance(check.expected, frozenset):
        return any(v in check.expected for v in values)
    low, high = check.expected
    return any((not low or v >= low) and (not high or v <= high) for v in values)
