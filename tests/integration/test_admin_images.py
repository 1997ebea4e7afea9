"""The console's images: a rendered frame before and after a (candidate) profile's pixel rules, and a drawn rule
added to a profile's text, against the real Orthanc."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import requests
import yaml
from PIL import Image
from support.gateway_server import GatewayProcess

from gateway.demo.samples import STUDY_UIDS

REGIONS = [[10, 20, 40, 30], [90, 100, 20, 10]]
CT = {"Manufacturer": "ACME Medical Systems", "ManufacturerModelName": "Synthetica CT", "Rows": 128, "Columns": 128}


def _admin(gateway: GatewayProcess, method: str, path: str, role: str = "admin", **kwargs: Any) -> requests.Response:
    headers = gateway.headers(role) if role else {}
    return requests.request(method, gateway.url + "/admin" + path, headers=headers, timeout=30, **kwargs)


def _first_instance(gateway: GatewayProcess, study_key: str, modality: str) -> dict[str, str]:
    study = STUDY_UIDS[study_key]
    series = next(s for s in _admin(gateway, "GET", f"/origin/studies/{study}/series").json()
                  if s["Modality"] == modality)  # fmt: skip
    uid = series["SeriesInstanceUID"]
    instance = _admin(gateway, "GET", f"/origin/studies/{study}/series/{uid}/instances").json()[0]
    return {"StudyInstanceUID": study, "SeriesInstanceUID": uid, "SOPInstanceUID": instance["SOPInstanceUID"]}


def _researcher_text(gateway: GatewayProcess) -> str:
    return str(_admin(gateway, "GET", "/roles/researcher").json()["text"])


def _png(response: requests.Response) -> np.ndarray:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("L")).astype(int)


def _inside(shape: tuple[int, ...], regions: list[list[int]]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for x, y, w, h in regions:
        mask[y : y + h, x : x + w] = True
    return mask


def test_the_masked_image_differs_from_the_origin_exactly_inside_the_rule(gateway: GatewayProcess) -> None:
    uids = _first_instance(gateway, "a_ct", "CT")
    text = (
        _researcher_text(gateway)
        + "pixel_rules:\n"
        + yaml.safe_dump([{"match": CT, "regions": REGIONS}], default_flow_style=None)
    )
    before = _png(_admin(gateway, "POST", "/roles/researcher/rendered", json={**uids, "masked": False}))
    after = _png(_admin(gateway, "POST", "/roles/researcher/rendered", json={**uids, "text": text, "masked": True}))
    live = _png(_admin(gateway, "POST", "/roles/researcher/rendered", json={**uids, "masked": True}))
    inside = _inside(before.shape, REGIONS)
    assert before.shape == (128, 128)
    assert not after[inside].any() and before[inside].any()  # blanked where the rule says, and only there:
    assert (after[~inside] == before[~inside]).all()
    assert (live == before).all()  # the live researcher profile has no pixel rule


def test_an_instance_the_role_withholds_is_said_to_be_withheld(gateway: GatewayProcess) -> None:
    uids = _first_instance(gateway, "c_us", "US")  # BurnedInAnnotation YES
    answer = _admin(gateway, "POST", "/roles/researcher/rendered", json={**uids, "masked": True})
    assert answer.status_code == 200 and "burned-in-annotation" in answer.json()["withheld"]
    _png(_admin(gateway, "POST", "/roles/researcher/rendered", json={**uids, "masked": False}))


def test_a_drawn_rule_is_added_to_the_profile_text_as_written(gateway: GatewayProcess) -> None:
    text = _researcher_text(gateway)
    answer = _admin(gateway, "POST", "/roles/researcher/with-pixel-rule",
                    json={"text": text, "match": CT, "regions": REGIONS})  # fmt: skip
    assert answer.status_code == 200, answer.text
    new = answer.json()["text"]
    assert new.startswith(text.rstrip("\n")) and "# Pseudonymized data" in new  # comments kept
    assert yaml.safe_load(new)["pixel_rules"] == [{"match": CT, "regions": REGIONS}]
    again = _admin(gateway, "POST", "/roles/researcher/with-pixel-rule",
                   json={"text": new, "match": {"Rows": 64}, "regions": [[0, 0, 4, 4]]}).json()["text"]  # fmt: skip
    assert [r["match"] for r in yaml.safe_load(again)["pixel_rules"]] == [CT, {"Rows": 64}]
    assert _researcher_text(gateway) == text  # nothing stored
    too_wide = _admin(gateway, "POST", "/roles/researcher/with-pixel-rule",
                      json={"text": text, "match": CT, "regions": [[100, 0, 40, 4]]})  # fmt: skip
    assert too_wide.status_code == 422 and too_wide.json()["key"].startswith("pixel_rules")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/roles/researcher/rendered", {"masked": False}),
        ("/roles/researcher/with-pixel-rule", {"match": CT, "regions": REGIONS}),
    ],
)
def test_the_image_routes_are_for_the_admin_only(gateway: GatewayProcess, path: str, body: dict[str, Any]) -> None:
    full = {**_first_instance(gateway, "a_ct", "CT"), **body, "text": _researcher_text(gateway)}
    assert _admin(gateway, "POST", path, role="", json=full).status_code == 401
    assert _admin(gateway, "POST", path, role="researcher", json=full).status_code == 403
    assert _admin(gateway, "POST", path, json=full).status_code == 200


def test_bad_input_is_refused_before_anything_goes_upstream(gateway: GatewayProcess) -> None:
    uids = _first_instance(gateway, "a_ct", "CT")
    for bad in ({**uids, "SOPInstanceUID": "1.2/../3", "masked": True}, {**uids, "masked": "yes"},
                {**uids, "masked": True, "frame": 0}, {**uids, "masked": True, "frame": "1"}):  # fmt: skip
        assert _admin(gateway, "POST", "/roles/researcher/rendered", json=bad).status_code == 400, bad
    text = _researcher_text(gateway)
    for match, regions in (({"Rows": 128, "Colour": 1}, REGIONS), ({"Rows": True}, REGIONS), (CT, [[1, 2, 3]]),
                           (CT, []), ({"Manufacturer": "a\nb"}, REGIONS)):  # fmt: skip
        answer = _admin(gateway, "POST", "/roles/researcher/with-pixel-rule",
                        json={"text": text, "match": match, "regions": regions})  # fmt: skip
        assert answer.status_code == 400, (match, regions)


def test_image_actions_are_in_the_ledger_with_the_real_uids(gateway: GatewayProcess) -> None:
    uids = _first_instance(gateway, "a_ct", "CT")
    head = _admin(gateway, "GET", "/ledger", params={"limit": "1"}).json()["head"]
    assert _admin(gateway, "POST", "/roles/researcher/rendered", json={**uids, "masked": True}).status_code == 200
    _admin(gateway, "POST", "/roles/researcher/with-pixel-rule", json={"text": "x: [", "match": CT, "regions": REGIONS})
    entries = _admin(gateway, "GET", "/ledger", params={"after": str(head)}).json()["entries"]
    [shown] = [e for e in entries if e["action"] == "admin.roles.rendered"]
    assert shown["real"]["instances"] == [uids["SOPInstanceUID"]] and shown["real"]["studies"] == [STUDY_UIDS["a_ct"]]
    assert shown["detail"]["masked"] == "true"
    [drafted] = [e for e in entries if e["action"] == "admin.roles.with_pixel_rule"]
    assert drafted["detail"]["status"] == "422"
