from __future__ import annotations

import pytest

from gateway.codec.media import MediaType, accepts_json
from gateway.errors import BadRequest, UpstreamProtocolError

ORTHANC_FRAMES = 'multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"; boundary=b1'


def test_parses_the_dicomweb_study_type() -> None:
    media = MediaType.parse('multipart/related; type="application/dicom"; boundary=abc')
    assert media.essence == "multipart/related"
    assert media.boundary == "abc"
    assert media.related_type == MediaType("application/dicom")
    assert media.transfer_syntax is None


def test_names_and_type_are_case_insensitive_values_are_not() -> None:
    media = MediaType.parse("Multipart/Related ;  BOUNDARY=AbC;Type=application/dicom;")
    assert media.essence == "multipart/related"
    assert media.param("boundary") == "AbC"
    assert media.params == {"boundary": "AbC", "type": "application/dicom"}


def test_transfer_syntax_inside_the_quoted_type_as_orthanc_sends_it() -> None:
    media = MediaType.parse(ORTHANC_FRAMES)
    assert media.transfer_syntax == "1.2.840.10008.1.2.1"
    assert media.related_type is not None
    assert media.related_type.essence == "application/octet-stream"


def test_transfer_syntax_as_its_own_parameter() -> None:
    media = MediaType.parse(
        'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.4.50'
    )
    assert media.transfer_syntax == "1.2.840.10008.1.2.4.50"
    assert MediaType.parse("application/dicom; transfer-syntax=*").transfer_syntax == "*"


def test_quoted_strings_unescape_and_round_trip() -> None:
    media = MediaType.parse(r'multipart/related; title="a \"b\" \\c"')
    assert media.param("title") == 'a "b" \\c'
    assert MediaType.parse(str(media)) == media


@pytest.mark.parametrize(
    "value",
    [
        "",
        "multipart",
        "multipart/related; boundary",
        "multipart/related; boundary=a; Boundary=b",
        'multipart/related; boundary="unterminated',
        "multipart/related; boundary=a b",
        'multipart/related; type="application/dicom; type=x"',
        'multipart/related; boundary=""',
        "multipart/related; boundary=" + "a" * 71,
        'multipart/related; type="application/octet-stream; transfer-syntax=1"; transfer-syntax=2',
        'multipart/related; type="not a type"',
    ],
)
def test_malformed_values_raise_by_side(value: str) -> None:
    with pytest.raises(UpstreamProtocolError):
        MediaType.parse(value)
    with pytest.raises(BadRequest):
        MediaType.parse(value, side="client")


def test_error_messages_do_not_repeat_the_value() -> None:
    with pytest.raises(BadRequest) as info:
        MediaType.parse("multipart/related; boundary=a; patient=DOE^JOHN; patient=x", side="client")
    assert "DOE" not in str(info.value)


def test_build_and_render() -> None:
    media = MediaType.build("multipart/related", type="application/dicom", boundary="x y")
    assert str(media) == 'multipart/related; type="application/dicom"; boundary="x y"'
    assert MediaType.parse(str(media)) == media
    built = MediaType.build("application/octet-stream", transfer_syntax="1.2.840.10008.1.2.1")
    assert str(built) == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    with pytest.raises(ValueError):
        MediaType.build("multipart/related", boundary="bad\r\nheader")
    assert str(MediaType.parse(ORTHANC_FRAMES)) == ORTHANC_FRAMES


@pytest.mark.parametrize(("accept", "takes"), [
    (None, True), ("", True), ("application/dicom+json", True), ("application/json", True),
    ("*/*", True), ("application/*;q=0.5", True), ("application/dicom+xml, application/dicom+json;q=0.9", True),
    ('multipart/related; type="application/dicom+xml"', False), ("application/dicom+jsonx", False),
    ("text/html; note=application/json", False), ("application/dicom+xml, application/json;q=0", False),
    ("image/*", False), (";;;", False),
])
def test_accepts_json_reads_the_media_ranges_not_substrings(accept: str | None, takes: bool) -> None:
    """PS3.18 8.3.3.1 and RFC 9110 12.5.1: a range takes DICOM JSON by its type, and q=0 refuses it."""
    assert accepts_json(accept) is takes
