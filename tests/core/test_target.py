"""The target resource: every part checked against its grammar, the upstream path rebuilt from the parts."""

from __future__ import annotations

import pytest

from gateway.core.target import Target, rendering_query
from gateway.core.transactions import TRANSACTIONS
from gateway.errors import BadRequest

FRAMES = next(t.path for t in TRANSACTIONS if t.name == "retrieve_instance_frames")
BULK = next(t.path for t in TRANSACTIONS if t.name == "retrieve_bulkdata" and "{tagpath" in t.path)
UIDS = {"study": "2.25.1", "series": "2.25.2", "instance": "2.25.3"}


def parse(template: str, raw_path: str, strict: bool = True, **parts: str) -> Target:
    return Target.parse(template, raw_path, {**UIDS, **parts}, strict_uids=strict)


@pytest.mark.parametrize(
    ("raw", "frames"),
    [
        ("/studies/2.25.1/series/2.25.2/instances/2.25.3/frames/1%2F..%2F..", "1/../.."),
        ("/studies/2.25.1/series/2.25.2/instances/2.25.3/frames/%2e%2e", ".."),
        ("/studies/2.25.1/series/2.25.2/instances/2.25.3/frames/1%5C..", "1\\.."),
        ("/studies/2.25.1/series/2.25.2/instances/2.25.3/frames/1,2%2F..", "1,2/.."),
        ("/studies/2.25.1/series/2.25.2/instances/2.25.3/frames/1%00", "1\0"),
        ("/studies/2.25.1/series/2.25.2/instances/2.25.3/frames/1%252F..", "1%2F.."),
        ("/studies/2.25.1/series/2.25.2/instances/2.25.3/frames/0", "0"),
        ("/studies/2.25.1/series/2.25.2/instances/2.25.3/frames/1,,2", "1,,2"),
    ],
)
def test_a_frame_list_that_is_not_numbers_is_refused(raw: str, frames: str) -> None:
    with pytest.raises(BadRequest):
        parse(FRAMES, raw, frames=frames)


@pytest.mark.parametrize("uid", ["2.25.1/..", "2.25.01", "1", "2.25.1.", ".2.25", "2.25.1\\x", "9" * 65 + ".1"])
def test_a_uid_segment_outside_the_uid_grammar_is_refused(uid: str) -> None:
    with pytest.raises(BadRequest):
        parse(FRAMES, "/studies/x", study=uid, frames="1")


def test_identity_roles_reach_real_uids_with_leading_zeros() -> None:
    target = parse(FRAMES, "/studies/1.02.3", strict=False, study="1.02.3", frames="1")
    assert target.path.startswith("/studies/1.02.3/")
    with pytest.raises(BadRequest):
        parse(FRAMES, "/studies/1.02.3", study="1.02.3", frames="1")


@pytest.mark.parametrize("tagpath", ["00100010/../..", "7fe00010/", "7fe00010/x/00100010", "7fe0001", "7fe00010/./"])
def test_a_bulk_tag_path_outside_its_grammar_is_refused(tagpath: str) -> None:
    with pytest.raises(BadRequest):
        parse(BULK, "/studies/x", tagpath=tagpath)


def test_the_upstream_path_is_built_from_the_parts_alone() -> None:
    target = parse(BULK, "/studies/2.25.1", tagpath="00540016/0/00540300")
    assert target.path == "/studies/2.25.1/series/2.25.2/instances/2.25.3/bulk/00540016/0/00540300"
    real = target.with_uids({"2.25.1": "1.2.3", "2.25.2": "1.2.3.4", "2.25.3": "1.2.3.4.5"})
    assert real.path == "/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5/bulk/00540016/0/00540300"
    assert parse(FRAMES, "/studies/2.25.1", frames="1,3,12").path.endswith("/frames/1,3,12")


@pytest.mark.parametrize(
    ("name", "value"),
    [("viewport", "128,128/../.."), ("window", "40,400,linear&annotation=patient"), ("quality", "0"),
     ("quality", "Whitaker")],
)
def test_a_rendering_parameter_outside_its_grammar_is_refused(name: str, value: str) -> None:
    with pytest.raises(BadRequest, match=name):
        rendering_query([(name, value)])


def test_rendering_parameters_that_conform_go_on_and_others_stay_behind() -> None:
    items = [("viewport", "512,512"), ("window", "40,400,linear"), ("quality", "90"), ("annotation", "patient")]
    assert rendering_query(items) == items[:3]
