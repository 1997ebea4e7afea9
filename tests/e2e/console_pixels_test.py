"""Issue 18, the console's pixel-rule editor in headless chromium: a mask rectangle drawn with the mouse on a
rendered CT frame, saved as a rule of `researcher`, masks the next frames the researcher fetches of that device
and image size (exactly there), and not the frames of another device."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import requests
from console_preview_test import ct_choice
from console_support import run_console_flow
from support.gateway_server import GatewayProcess

from gateway.demo.planted import PLANTED
from gateway.demo.samples import STUDY_UIDS

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
FROM, TO = (20, 30), (70, 60)  # the drag's corners, in image pixels of the 128x128 CT frame


def _frame(gateway: GatewayProcess, modality: str) -> bytes:
    """Frame 1 of the first `modality` instance, as the researcher fetches it: the bytes of the one part."""
    headers = gateway.headers("researcher")
    found = requests.get(gateway.dicomweb_url + "/instances", params={"Modality": modality, "limit": "1"},
                         headers={**headers, "Accept": "application/dicom+json"}, timeout=10).json()[0]  # fmt: skip
    path = "/studies/{}/series/{}/instances/{}/frames/1".format(
        *(found[tag]["Value"][0] for tag in ("0020000D", "0020000E", "00080018"))
    )
    answer = requests.get(gateway.dicomweb_url + path, headers={**headers, "Accept": FRAMES}, timeout=10)
    assert answer.status_code == 200, answer.text[:200]
    boundary = re.search(r'boundary="?([^";]+)', answer.headers["Content-Type"]).group(1)  # type: ignore[union-attr]
    part = answer.content.split(b"--" + boundary.encode())[1]
    return part.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n")


def _pixels(frame: bytes) -> np.ndarray:
    return np.frombuffer(frame[: 128 * 128 * 2], dtype="<u2").reshape(128, 128)


def test_draw_save_and_the_researchers_frames_are_masked_there(ohif_installed: Path, gateway: GatewayProcess) -> None:
    admin = gateway.headers("admin")
    original = requests.get(gateway.url + "/admin/roles/researcher", headers=admin, timeout=10).json()["text"]
    ct_before, cr_before = _frame(gateway, "CT"), _frame(gateway, "CR")
    draw_on = ct_choice(gateway, STUDY_UIDS["a_ct"], 0)
    other = ct_choice(gateway, STUDY_UIDS["a_ct"], 1)["instance"]
    try:
        drag = {"from": FROM, "to": TO}
        report = run_console_flow(ohif_installed, gateway, "console_pixels_flow", role="researcher",
                                  search=PLANTED["id.patient_a"], other=other, **draw_on, **drag)  # fmt: skip
        ct_after, cr_after = _frame(gateway, "CT"), _frame(gateway, "CR")
    finally:
        restored = requests.put(gateway.url + "/admin/roles/researcher", headers=admin, json={"text": original},
                                timeout=10)  # fmt: skip
        assert restored.status_code == 200
    x, y, w, h = FROM[0], FROM[1], TO[0] - FROM[0], TO[1] - FROM[1]
    assert report["shown"]["image"] == [128, 128] and report["shown"]["width"] > 128  # drawn on a scaled image
    assert report["fields"] == [str(v) for v in (x, y, w, h)]  # the drag, in image pixels
    assert report["typedList"] == [f"x {x}, y {y}, {w}×{h} ", "x 0, y 0, 5×5 "]
    assert report["regions"] == [f"x {x}, y {y}, {w}×{h} "]
    assert "ACME Medical Systems Synthetica CT at 128×128" in report["match"]
    assert report["saveStatus"].startswith("saved as version"), report["saveStatus"]
    assert report["checkImages"] == [{"width": 128, "height": 128, "blob": True}] * 2
    assert report["checkMeans"]["after"] == 0 < report["checkMeans"]["before"]

    before, after = _pixels(ct_before), _pixels(ct_after)
    inside = np.zeros_like(before, dtype=bool)
    inside[y : y + h, x : x + w] = True
    assert before[inside].any() and not after[inside].any()  # blank in the rectangle
    assert (after[~inside] == before[~inside]).all()  # and untouched everywhere else
    assert cr_after == cr_before  # another device: not masked
    # Restored: the researcher's frames are as before again.
    assert _frame(gateway, "CT") == ct_before
