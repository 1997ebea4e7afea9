"""The prebuilt OHIF v3 viewer (npm `@ohif/app`, installed in `ohif/node_modules`) served from loopback.

`OhifViewer` serves the viewer's `dist/` on 127.0.0.1 with a generated `/app-config.js` that points OHIF at the
gateway's DICOMweb root and sends one API key as `Authorization: Bearer <key>` on every DICOMweb request. Any
path that is not a file of `dist/` gets `index.html` (OHIF is a single-page app: /viewer, /viewer/dicomweb …).
The browser then talks to the gateway directly, so the gateway must allow the viewer's origin (CORS). Whoever
can reach the viewer's port can read the key in `/app-config.js`: that is why it binds to 127.0.0.1 only.

The server is the standard library's threaded HTTP server on a daemon thread: nothing here shares the
gateway's event loop, and `stop()` closes the socket and joins the thread.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OHIF_DIR = Path(__file__).resolve().parents[2] / "ohif"
DIST = OHIF_DIR / "node_modules" / "@ohif" / "app" / "dist"
CONFIG_TEMPLATE = OHIF_DIR / "app-config.template.js"
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}


def viewer_missing_reason() -> str | None:
    """Why the viewer cannot be served here, or None when it can."""
    if not (DIST / "index.html").is_file():
        hint = "npm ci" if shutil.which("npm") else "install Node.js and npm, then run npm ci"
        return f"the OHIF viewer is not installed ({DIST} is missing): cd {OHIF_DIR} && {hint}"
    return None


def app_config(dicomweb_url: str, api_key: str) -> bytes:
    """`/app-config.js` for this gateway and key; the values go in as JSON string literals."""
    text = CONFIG_TEMPLATE.read_text()
    for placeholder, value in (("'@DICOMWEB_ROOT@'", dicomweb_url.rstrip("/")), ("'@API_KEY@'", api_key)):
        if placeholder not in text:
            raise ValueError(f"{CONFIG_TEMPLATE}: placeholder {placeholder} is missing")
        text = text.replace(placeholder, json.dumps(value))
    return text.encode()


class _ViewerHandler(SimpleHTTPRequestHandler):
    """Static files from `dist/`, the generated config, and the single-page-app fallback to index.html."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}  # noqa: RUF012 (the base declares it)

    def __init__(self, *args: object, config: bytes, **kwargs: object) -> None:
        self._config = config
        super().__init__(*args, directory=str(DIST), **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == "/app-config.js":
            self._send_config()
            return
        if not Path(self.translate_path(path)).is_file():
            self.path = "/index.html"
        super().do_GET()

    def _send_config(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/javascript; charset=utf-8")
        self.send_header("Content-Length", str(len(self._config)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(self._config)

    def end_headers(self) -> None:
        if self.path == "/index.html":
            self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the access log would only repeat the browser's own requests."""


class OhifViewer:
    """The viewer on http://127.0.0.1:<port>/ (port 0: a free one), configured for one gateway and one key."""

    def __init__(self, dicomweb_url: str, api_key: str, *, port: int = 0) -> None:
        self._config = app_config(dicomweb_url, api_key)
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the viewer is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OhifViewer:
        reason = viewer_missing_reason()
        if reason:
            raise RuntimeError(reason)
        handler = partial(_ViewerHandler, config=self._config)
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ohif-viewer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> OhifViewer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def demo_viewer(dicomweb_url: str, api_key: str, *, role: str, port: int = 3000) -> Iterator[OhifViewer | None]:
    """For `dicomweb-gateway demo`: the viewer with `role`'s key (port 3000, else a free one), or None."""
    reason = viewer_missing_reason()
    if reason:
        print(f"OHIF viewer skipped: {reason}\n", flush=True)
        yield None
        return
    try:
        viewer = OhifViewer(dicomweb_url, api_key, port=port).start()
    except OSError:  # the preferred port is taken: any free one will do
        viewer = OhifViewer(dicomweb_url, api_key).start()
    print(f"OHIF viewer (as {role}, through the gateway): {viewer.url}/\n", flush=True)
    try:
        yield viewer
    finally:
        viewer.stop()
