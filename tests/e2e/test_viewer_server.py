"""gateway.demo.ohif without a browser: the generated app-config, the static server and the demo's fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from gateway.demo import ohif
from gateway.demo.ohif import OhifViewer, app_config, demo_viewer

pytestmark = pytest.mark.e2e


def test_app_config_carries_the_gateway_and_key_as_string_literals() -> None:
    config = app_config("http://127.0.0.1:9/dicom-web/", "key-with-'quote\"-0123456789").decode()
    assert 'const dicomWebRoot = "http://127.0.0.1:9/dicom-web";' in config
    assert 'const apiKey = "key-with-\'quote\\"-0123456789";' in config
    assert "@DICOMWEB_ROOT@" not in config and "@API_KEY@" not in config
    for setting in ("imageRendering: 'wadors'", "thumbnailRendering: 'wadors'", "enableStudyLazyLoad: true",
                    "supportsFuzzyMatching: false", "supportsWildcard: true",
                    "omitQuotationForMultipartRequest: true", "bulkDataURI: { enabled: true }"):  # fmt: skip
        assert setting in config


def test_serves_files_config_and_the_single_page_fallback(ohif_installed: Path) -> None:
    with OhifViewer("http://127.0.0.1:9/dicom-web", "researcher-key-0123456789") as viewer:
        config = requests.get(viewer.url + "/app-config.js", timeout=5)
        index = requests.get(viewer.url + "/viewer?StudyInstanceUIDs=2.25.1", timeout=5)
        wasm = next(ohif.DIST.glob("*.wasm")).name
        module = requests.get(f"{viewer.url}/{wasm}", timeout=5)
    assert config.headers["Content-Type"].startswith("text/javascript")
    assert b"researcher-key-0123456789" in config.content
    assert index.ok and b'src="/app-config.js"' in index.content
    assert module.headers["Content-Type"] == "application/wasm"


def test_demo_skips_the_viewer_with_a_message_when_it_is_not_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ohif, "DIST", tmp_path / "dist")
    with demo_viewer("http://127.0.0.1:9/dicom-web", "researcher-key-0123456789", role="researcher") as viewer:
        assert viewer is None
    assert "OHIF viewer skipped" in capsys.readouterr().out
