from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gateway.codec.multipart import MultipartWriter, iter_parts
from gateway.errors import BadRequest, PayloadTooLarge, UpstreamProtocolError

from .streams import chunked, cuts_for, fixed

BOUNDARY = "b0undary"
Parsed = list[tuple[dict[str, str], bytes]]


async def parse(chunks: AsyncIterator[bytes], boundary: str, max_header_bytes: int, max_preamble_bytes: int) -> Parsed:
    parts = iter_parts(chunks, boundary, max_header_bytes=max_header_bytes, max_preamble_bytes=max_preamble_bytes)
    return [(dict(part.headers), await part.read(1 << 30)) async for part in parts]


def run(
    chunks: AsyncIterator[bytes],
    boundary: str = BOUNDARY,
    *,
    max_header_bytes: int = 16384,
    max_preamble_bytes: int = 65536,
) -> Parsed:
    return asyncio.run(parse(chunks, boundary, max_header_bytes, max_preamble_bytes))


def orthanc_body(bodies: list[bytes], boundary: str = BOUNDARY) -> bytes:
    """What Orthanc sends for a study: Content-Type, Content-Length, MIME-Version on every part."""
    out = b""
    for body in bodies:
        out += (
            (
                f"--{boundary}\r\nContent-Type: application/dicom\r\nContent-Length: {len(body)}\r\n"
                f"MIME-Version: 1.0\r\n\r\n"
            ).encode()
            + body
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode()


def test_orthanc_study_byte_by_byte() -> None:
    bodies = [b"first", b"", b"\r\n--b0undar\r\n", b"x" * 1000]
    parsed = run(fixed(orthanc_body(bodies), 1))
    assert [body for _, body in parsed] == bodies
    assert parsed[0][0] == {"Content-Type": "application/dicom", "Content-Length": "5", "MIME-Version": "1.0"}


def test_headers_are_case_insensitive_and_repr_hides_values() -> None:
    async def first() -> None:
        async for part in iter_parts(fixed(orthanc_body([b"x"]), 7), BOUNDARY):
            assert part.headers["content-type"] == part.headers["CONTENT-TYPE"] == "application/dicom"
            assert "application/dicom" not in repr(part.headers)
            await part.skip()

    asyncio.run(first())


def test_preamble_epilogue_padding_and_bare_boundary_lookalikes() -> None:
    body = (
        b"preamble --b0undary not at a line start\r\n--b0undaryX still preamble\r\n"
        b"--b0undary \t\r\nA: 1\r\n\r\n--b0undary in body\r\n--b0undaryfoo\r\n--b0undary\r\n"
        b"\r\nno headers\r\n--b0undary-- \r\nepilogue --b0undary\r\n"
    )
    assert run(fixed(body, 3)) == [({"A": "1"}, b"--b0undary in body\r\n--b0undaryfoo"), ({}, b"no headers")]


def test_body_slices_share_the_input_chunks() -> None:
    big = b"\x00" * (1 << 20)
    data = orthanc_body([big])
    start = data.index(big)
    chunks = [data[:start], data[start:]]

    async def views() -> list[memoryview]:
        return [view async for part in iter_parts(chunked(data, [start]), BOUNDARY) async for view in part.body]

    (view,) = asyncio.run(views())
    assert view == big
    assert view.obj == chunks[1] and len(view.obj) == len(data) - start  # a slice, not a copy


def test_no_parts_and_a_close_delimiter_at_the_very_end() -> None:
    assert run(fixed(b"--b0undary--", 5)) == []
    assert run(fixed(b"--b0undary\r\n\r\nx\r\n--b0undary--\r", 5)) == [({}, b"x")]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"no boundary at all",
        b"--b0undary\r\nA: 1\r\n",
        b"--b0undary\r\nA: 1\r\n\r\nbody",
        b"--b0undary\r\nA: 1\r\n\r\nbody\r\n--b0undary",
        b"--b0undary\r\nA: 1\r\n\r\nbody\r\n--b0undary-",
        b"--b0undary\r\nA: 1\r\n\r\nbody\r\n--b0undary\r\n",
    ],
)
def test_truncated_body_fails_closed(data: bytes) -> None:
    with pytest.raises(UpstreamProtocolError, match="truncated multipart body"):
        run(fixed(data, 2))
    with pytest.raises(BadRequest, match="truncated multipart body"):
        asyncio.run(_client_parse(data))


async def _client_parse(data: bytes) -> None:
    async for part in iter_parts(fixed(data, 2), BOUNDARY, side="client"):
        await part.skip()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"--b0undary\r\nContent-Length: 3\r\n\r\nfour\r\n--b0undary--", "Content-Length"),
        (b"--b0undary\r\nContent-Length: 5\r\n\r\nfour\r\n--b0undary--", "Content-Length"),
        (b"--b0undary\r\nContent-Length: -4\r\n\r\nfour\r\n--b0undary--", "Content-Length"),
        (b"--b0undary\r\nA: 1\r\nA: 2\r\n\r\nx\r\n--b0undary--", "repeated"),
        (b"--b0undary\r\nA: 1\r\n folded\r\n\r\nx\r\n--b0undary--", "malformed"),
        (b"--b0undary\r\nA: 1\rB: 2\r\n\r\nx\r\n--b0undary--", "malformed"),
        (b"--b0undary\r\nno colon\r\n\r\nx\r\n--b0undary--", "malformed"),
        (b"--b0undary\r\n" + b"A: " + b"a" * 100 + b"\r\n\r\nx\r\n--b0undary--", "headers too long"),
        (b"p" * 101 + b"\r\n--b0undary\r\n\r\nx\r\n--b0undary--", "preamble too long"),
        (b"--b0undary" + b" " * 300 + b"\r\n\r\nx\r\n--b0undary--", "padding"),
    ],
)
def test_malformed_input(data: bytes, message: str) -> None:
    with pytest.raises(UpstreamProtocolError, match=message):
        run(fixed(data, 4), max_header_bytes=64, max_preamble_bytes=100)


def test_headers_up_to_the_limit_pass() -> None:
    data = b"--b0undary\r\n" + b"A: " + b"a" * 61 + b"\r\n\r\nx\r\n--b0undary--"
    assert run(fixed(data, 4), max_header_bytes=64) == [({"A": "a" * 61}, b"x")]


def test_read_limit_by_side() -> None:
    async def read(side: str, data: bytes) -> None:
        async for part in iter_parts(fixed(data, 3), BOUNDARY, side=side):  # type: ignore[arg-type]
            await part.read(4)

    unknown_length = b"--b0undary\r\n\r\n12345\r\n--b0undary--"
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read("client", unknown_length))
    with pytest.raises(UpstreamProtocolError):
        asyncio.run(read("upstream", unknown_length))
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read("client", orthanc_body([b"12345"])))


def test_each_part_must_be_consumed_before_the_next() -> None:
    async def lazy() -> None:
        async for _ in iter_parts(fixed(orthanc_body([b"a", b"b"]), 100), BOUNDARY):
            pass

    with pytest.raises(RuntimeError, match="consume or skip"):
        asyncio.run(lazy())


def test_writer_frames_parts_and_refuses_header_injection() -> None:
    writer = MultipartWriter(related_type="application/dicom")
    assert len(writer.boundary) == 48
    assert writer.content_type == f'multipart/related; type="application/dicom"; boundary={writer.boundary}'
    data = writer.part_head({"Content-Type": "application/dicom"}) + b"body" + writer.part_tail() + writer.close()
    assert run(fixed(data, 5), writer.boundary) == [({"Content-Type": "application/dicom"}, b"body")]
    with pytest.raises(ValueError):
        writer.part_head({"Content-Location": "x\r\nInjected: 1"})
    with pytest.raises(ValueError):
        writer.part_head({"Bad Name": "x"})
    frames = MultipartWriter("fixed", related_type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1")
    assert frames.content_type == (
        'multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"; boundary=fixed'
    )


# Property: wherever chunk edges fall, the parts parsed are the parts written.

_TRICKY = [b"\r\n", b"\r", b"\n", b"--", b"-", b" ", BOUNDARY.encode(), b"\r\n--" + BOUNDARY.encode(), b"\r\n--b0"]
_body = st.lists(st.sampled_from(_TRICKY) | st.binary(max_size=40), max_size=12).map(b"".join)
_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=20)
_names = st.sampled_from(["Content-Type", "Content-Length-X", "X-A", "Location"])
_headers = st.dictionaries(_names, _value.map(str.strip))
_parts = st.lists(st.tuples(_headers, _body), max_size=5)


def _delimiters(data: bytes, boundary: str) -> list[int]:
    pattern = rb"(?:^|\r\n)--" + re.escape(boundary.encode()) + rb"(?:--|[ \t]*\r\n)"
    return [m.start() for m in re.finditer(pattern, data)]


def _message(parts: list[tuple[dict[str, str], bytes]], preamble: bytes, epilogue: bytes) -> tuple[bytes, list[int]]:
    writer = MultipartWriter(BOUNDARY, related_type="application/dicom")
    data, expected = preamble + (b"\r\n" if preamble else b""), []
    for headers, body in parts:
        expected.append(len(data) - (2 if data else 0))
        data += writer.part_head(headers) + body + writer.part_tail()
    expected.append(len(data) - (2 if data else 0))
    return data + writer.close() + epilogue, expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=_parts, preamble=_body, epilogue=_body, data=st.data())
def test_parts_survive_any_chunking(
    parts: list[tuple[dict[str, str], bytes]], preamble: bytes, epilogue: bytes, data: st.DataObject
) -> None:
    message, expected = _message(parts, preamble, epilogue)
    assume(_delimiters(message, BOUNDARY)[: len(expected)] == expected)
    cuts = data.draw(cuts_for(len(message)))
    assert run(chunked(message, cuts)) == parts


@settings(max_examples=200, deadline=None)
@given(parts=_parts, data=st.data())
def test_any_cut_before_the_close_delimiter_is_truncation(
    parts: list[tuple[dict[str, str], bytes]], data: st.DataObject
) -> None:
    message, expected = _message(parts, b"", b"")
    assume(_delimiters(message, BOUNDARY)[: len(expected)] == expected)
    cut = data.draw(st.integers(0, len(message) - len(b"\r\n") - 1))
    with pytest.raises(UpstreamProtocolError, match="truncated multipart body"):
        run(chunked(message[:cut], data.draw(cuts_for(cut))))
