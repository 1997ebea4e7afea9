"""The DICOM JSON array cut into objects as it arrives (issue 14: metadata as a stream): the same objects as a
whole parse wherever the chunks are cut, and the origin's fault for anything that is not an array of objects."""

from __future__ import annotations

import itertools

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.codec.json_array_stream import JsonArrayStream, parse_object
from gateway.errors import UpstreamProtocolError

# Strings that hold what the cut must not be fooled by: braces, brackets, commas, quotes and backslashes.
_TEXT = st.text(alphabet=st.sampled_from('ab{}[],:"\\ é山\n'), max_size=12)
_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_OBJECT = st.dictionaries(_TEXT, _VALUE, max_size=4)


def _streamed(body: bytes, cuts: list[int], limit: int = 1 << 20) -> list[object]:
    stream = JsonArrayStream(limit)
    out: list[object] = []
    edges = sorted({0, len(body), *(cut % (len(body) + 1) for cut in cuts)})
    for start, end in itertools.pairwise(edges):
        out += map(parse_object, stream.feed(body[start:end]))
    stream.close()
    return out


@settings(max_examples=300, deadline=None)
@given(objects=st.lists(_OBJECT, max_size=5), cuts=st.lists(st.integers(0, 10**6), max_size=8),
       indent=st.booleans())
def test_the_objects_are_the_whole_parse_wherever_the_chunks_are_cut(objects, cuts, indent) -> None:
    body = orjson.dumps(objects, option=orjson.OPT_INDENT_2 if indent else 0)
    assert _streamed(body, cuts) == orjson.loads(body)


def test_one_byte_at_a_time_and_in_pieces_larger_than_the_scan() -> None:
    objects = [{"0020000D": {"vr": "UI", "Value": [f"1.2.{i}"]}, "t": "x\\\"}{" * 3000} for i in range(200)]
    body = orjson.dumps(objects)
    assert len(body) > 1_000_000
    assert _streamed(body, []) == objects
    assert _streamed(body, list(range(0, 3000))) == objects  # small chunks first, then the rest whole


@pytest.mark.parametrize("body", [b"", b"[]", b" [ ] ", b"[\n]\n"])
def test_no_objects(body: bytes) -> None:
    assert _streamed(body, []) == []


@pytest.mark.parametrize("body", [
    b"{}", b"[1]", b'["a"]', b"[{}", b"[{},]", b"[,{}]", b"[{}{}]", b"[{}] x", b"[{}][]", b"[{}}]", b"[}",
    b'[{"a": "b}]', b"[[{}]]", b"[{} , , {}]", b"[{\"a\":tru}]", b"x[{}]", b"[{}]]",
])
def test_anything_but_an_array_of_objects_is_the_origin_s_fault(body: bytes) -> None:
    for cuts in ([], list(range(len(body)))):
        with pytest.raises(UpstreamProtocolError):
            _streamed(body, cuts)


def test_an_object_larger_than_the_limit_is_refused_before_it_is_whole() -> None:
    stream = JsonArrayStream(limit=1000)
    stream.feed(b'[{"a": "')
    with pytest.raises(UpstreamProtocolError, match="larger"):
        for _ in range(10):
            stream.feed(b"x" * 200)
