"""One hostile-origin case over HTTP: what the origin serves, what the client asks, and the verdict.

`run_case(origin, gateway, pseudonyms, role, route, seed, index)` is a pure function of its arguments (and of
the gateway's state, which only grows pseudonyms): the origin answer and the request are drawn from
`random.Random(f"http:{route}:{seed}:{index}")`, and the mutated bodies from `mutations.part10_case` and
`mutations.json_case` with the same (seed, index).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass

from support.gateway_server import GatewayProcess

from adversarial.client import Outcome, fetch, violations
from adversarial.hostile_origin import (
    Answer,
    HostileOrigin,
    frame_parts,
    jpeg,
    json_answer,
    multipart,
    multipart_dicom,
    pixel_value,
)
from adversarial.leaks import Scanner
from adversarial.mutations import json_case, part10_case
from adversarial.phantoms import MOVABLE

JSON = "application/dicom+json"
DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'
OCTETS = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
NAME = MOVABLE["name.patient_a"]


@dataclass(frozen=True)
class Pseudonyms:
    study: str
    series: str
    instance: str

    def path(self, level: str) -> str:
        study = f"/studies/{self.study}"
        series = f"{study}/series/{self.series}"
        return {"study": study, "series": series, "instance": f"{series}/instances/{self.instance}"}[level]


@dataclass
class Result:
    seed: int
    index: int
    role: str
    route: str
    label: str
    request: str  # the request path, pseudonyms written as S, SE and I
    outcome: Outcome
    violations: list[str]

    def describe(self) -> str:
        return (f"seed={self.seed} index={self.index} role={self.role} route={self.route} "
                f"request={self.request} mutation={self.label!r} -> {self.outcome}: {', '.join(self.violations)}")


def _value(obj: dict, tag: str) -> str:
    return str(obj[tag]["Value"][0])


def learn_pseudonyms(origin: HostileOrigin, gateway: GatewayProcess, role: str) -> Pseudonyms:
    """Search through the gateway over the clean baseline, so its scope issues pseudonyms for the CT phantom."""
    origin.reset()
    headers = {**gateway.headers(role), "Accept": JSON}
    import requests

    def get(path: str) -> list[dict]:
        response = requests.get(gateway.dicomweb_url + path, headers=headers, timeout=10)
        assert response.status_code == 200, (role, path, response.status_code)
        return response.json()

    studies = get("/studies")
    ct_study = next(s for s in studies if _value(s, "00080060" if "00080060" in s else "00080061") == "CT")
    study = _value(ct_study, "0020000D")
    series = _value(get(f"/studies/{study}/series")[0], "0020000E")
    instance = _value(get(f"/studies/{study}/series/{series}/instances")[0], "00080018")
    return Pseudonyms(study, series, instance)


def _body_index(kind: str, index: int) -> int:
    """Each route draws its mutated bodies from its own stretch of the generator (still a function of index)."""
    return 1_000_000 * (1 + sorted(("qido-studies", "qido-series", "qido-instances", "metadata", "retrieve",
                                    "frames")).index(kind)) + index


# -- hostile decorations shared by every route ---------------------------------------------------------------
def _hostile_headers(rng: random.Random, origin: HostileOrigin) -> dict[str, str]:
    ct = origin.phantoms["a_ct"]
    choices = {
        "Content-Location": f"{origin.base}/studies/{ct.study_uid}/series/{ct.series_uid}",
        "Location": f"{origin.base}/studies/{ct.study_uid}",
        "Warning": f'299 origin "{NAME}"',
        "X-Patient": NAME,
        "Link": f"<{origin.base}/studies/{ct.study_uid}>; rel=next",
    }
    return {k: v for k, v in choices.items() if rng.random() < 0.3}


def _error_answer(rng: random.Random, origin: HostileOrigin) -> Answer:
    status = rng.choice((400, 401, 403, 404, 406, 409, 413, 500, 502, 503))
    ct = origin.phantoms["a_ct"]
    body = rng.choice((
        f'{{"error": "no such patient {NAME}", "uid": "{ct.study_uid}"}}'.encode(),
        f"Traceback (most recent call last):\n  File \"orthanc.py\" {NAME}".encode(),
        ct.part10[:600],
    ))
    content_type = rng.choice(("application/json", "text/plain", "application/dicom+json", "text/html"))
    headers = {"Warning": f'299 origin "{NAME}"', "X-Patient": NAME}
    return Answer(body, content_type, status=status, headers=headers)


def _stream_options(rng: random.Random) -> dict:
    return {"chunk": rng.choice((0, 0, 1, 7, 512, 4096)), "cut": rng.random() < 0.08}


# -- routes: each returns (origin kind, its answer, request path, Accept, label) -------------------------------
Route = Callable[[random.Random, HostileOrigin, Pseudonyms, int, int], tuple[str, Answer, str, str, str]]


def _json_route(kind: str, paths: tuple[str, ...]) -> Route:
    def route(rng: random.Random, origin: HostileOrigin, known: Pseudonyms, seed: int, index: int):
        base = [origin.phantoms[rng.choice(("a_ct", "a_sr", "b_cr", "c_mr"))].json]
        if kind == "qido-studies" and rng.random() < 0.5:
            base = [origin.phantoms[name].json for name in ("a_ct", "b_cr", "c_mr")]
        case = json_case(seed, _body_index(kind, index), objects=base)
        answer = json_answer(case.body, headers=_hostile_headers(rng, origin), **_stream_options(rng))
        path = rng.choice(paths).format(study=known.path("study"), series=known.path("series"),
                                        instance=known.path("instance"))
        return kind, answer, path, rng.choice((JSON, "application/json", "*/*")), case.label

    return route


def _retrieve(rng: random.Random, origin: HostileOrigin, known: Pseudonyms, seed: int, index: int):
    case = part10_case(seed, _body_index("retrieve", index))
    clean = origin.phantoms[case.phantom].part10
    layout = rng.choice(("alone", "alone", "after-clean", "before-clean", "twice"))
    parts = {"alone": [case.body], "after-clean": [clean, case.body], "before-clean": [case.body, clean],
             "twice": [case.body, case.body]}[layout]  # fmt: skip
    answer = multipart_dicom(parts, headers=_hostile_headers(rng, origin), **_stream_options(rng))
    path = known.path(rng.choice(("study", "series", "instance")))
    return "retrieve", answer, path, rng.choice((DICOM, 'multipart/related; type="application/dicom"')), \
        f"{case.label} [{layout}]"


def _frame_answer(rng: random.Random, origin: HostileOrigin, seed: int, index: int) -> tuple[Answer, str]:
    ct = origin.phantoms["a_ct"]
    kind = rng.choice(("location-with-name", "type-with-name", "dicom-outer", "dicom-part", "json-part",
                       "foreign-location", "extra-headers", "mutated-dicom-outer", "clean"))  # fmt: skip
    parts = frame_parts(ct, origin.base)
    related = "application/octet-stream"
    if kind == "location-with-name":
        parts[0][0]["Content-Location"] += f"/{NAME}"
    elif kind == "type-with-name":
        parts[0][0]["Content-Type"] = f'application/octet-stream; name="{NAME}"'
    elif kind == "dicom-outer":
        parts, related = [({"Content-Type": "application/dicom"}, ct.part10)], "application/dicom"
    elif kind == "dicom-part":
        parts = [({"Content-Type": "application/dicom"}, ct.part10)]
    elif kind == "json-part":
        parts = [({"Content-Type": "application/dicom+json"}, json_answer([ct.json]).body)]
    elif kind == "foreign-location":
        parts[0][0]["Content-Location"] = f"{origin.base}/studies/{origin.phantoms['b_cr'].study_uid}/frames/1"
    elif kind == "extra-headers":
        parts[0][0].update({"Content-Description": NAME, "X-Patient-ID": MOVABLE["id.patient_a"]})
    elif kind == "mutated-dicom-outer":
        case = part10_case(seed, _body_index("frames", index))
        parts, related = [({"Content-Type": "application/dicom"}, case.body)], "application/dicom"
        kind += f" ({case.label})"
    return multipart(parts, related, headers=_hostile_headers(rng, origin), **_stream_options(rng)), kind


def _frames(rng: random.Random, origin: HostileOrigin, known: Pseudonyms, seed: int, index: int):
    answer, label = _frame_answer(rng, origin, seed, index)
    return "frames", answer, known.path("instance") + "/frames/1", rng.choice((OCTETS, "*/*", DICOM)), label


def _bulk(rng: random.Random, origin: HostileOrigin, known: Pseudonyms, seed: int, index: int):
    answer, label = _frame_answer(rng, origin, seed, index)
    path = known.path("instance") + rng.choice(("/bulk/7fe00010", "/bulk/7FE00010", "/bulkdata"))
    return "bulk", answer, path, rng.choice((OCTETS, "*/*")), label


def _rendered(rng: random.Random, origin: HostileOrigin, known: Pseudonyms, seed: int, index: int):
    ct = origin.phantoms["a_ct"]
    kind = rng.choice(("dicom-type", "dicom-body-as-jpeg", "jpeg-comment", "json", "html", "png-as-dicom",
                       "pixels-as-octets", "clean"))  # fmt: skip
    body, content_type = {
        "dicom-type": (ct.part10, "application/dicom"),
        "dicom-body-as-jpeg": (ct.part10, "image/jpeg"),
        "jpeg-comment": (jpeg(NAME.encode() + b" " + ct.study_uid.encode()), "image/jpeg"),
        "json": (json_answer([ct.json]).body, "application/dicom+json"),
        "html": (f"<html>{NAME} {base64.b64encode(NAME.encode()).decode()}</html>".encode(), "text/html"),
        "png-as-dicom": (jpeg(), "application/dicom"),
        "pixels-as-octets": (pixel_value(ct)[:64] + NAME.encode(), "application/octet-stream"),
        "clean": (jpeg(), "image/jpeg"),
    }[kind]
    answer = Answer(body, content_type, headers=_hostile_headers(rng, origin), **_stream_options(rng))
    path = known.path("instance") + rng.choice(("/rendered", "/thumbnail", "/frames/1/rendered", "/frames/1/thumbnail"))
    if rng.random() < 0.25:
        path = known.path(rng.choice(("study", "series"))) + "/thumbnail"
    return "rendered", answer, path, rng.choice(("image/jpeg", "image/png", "*/*")), kind


def _errors(rng: random.Random, origin: HostileOrigin, known: Pseudonyms, seed: int, index: int):
    kind, path, accept = rng.choice((
        ("qido-studies", "/studies", JSON),
        ("metadata", known.path("instance") + "/metadata", JSON),
        ("retrieve", known.path("study"), DICOM),
        ("frames", known.path("instance") + "/frames/1", OCTETS),
        ("rendered", known.path("instance") + "/rendered", "image/jpeg"),
        ("qido-series", known.path("study") + "/series", JSON),
    ))
    answer = _error_answer(rng, origin)
    return kind, answer, path, accept, f"origin-{answer.status} {answer.content_type}"


ROUTES: dict[str, Route] = {
    "qido-studies": _json_route("qido-studies", ("/studies", "/studies?includefield=00081030&limit=5")),
    "qido-series": _json_route("qido-series", ("{study}/series",)),
    "qido-instances": _json_route("qido-instances", ("{series}/instances", "{study}/instances")),
    "metadata": _json_route("metadata", ("{study}/metadata", "{series}/metadata", "{instance}/metadata")),
    "retrieve": _retrieve,
    "frames": _frames,
    "bulk": _bulk,
    "rendered": _rendered,
    "origin-errors": _errors,
}


def run_case(origin: HostileOrigin, gateway: GatewayProcess, known: Pseudonyms, role: str, route: str,
             seed: int, index: int) -> Result:
    rng = random.Random(f"http:{route}:{seed}:{index}")
    kind, answer, path, accept, label = ROUTES[route](rng, origin, known, seed, index)
    origin.reset()
    origin.serve(kind, answer)
    outcome = fetch(gateway.port, "/dicom-web" + path, {**gateway.headers(role), "Accept": accept})
    shown = path.replace(known.instance, "I").replace(known.series, "SE").replace(known.study, "S")
    return Result(seed, index, role, route, label, shown, outcome, violations(outcome, Scanner.for_role(role)))
