"""A hostile DICOMweb origin: the attacker in front of which the gateway must fail closed.

It is not a stand-in for Orthanc. It answers every upstream request the gateway makes for a de-identifying role
(QIDO at three levels, metadata, WADO-RS retrieve, frames, bulkdata, rendered) from in-process state that a test
sets per case with `origin.serve(kind, Answer(...))`, so one origin and one gateway process serve many cases
in turn. Unset kinds get the clean baseline built from the phantoms, so the gateway can issue pseudonyms first.

    with HostileOrigin() as origin:          # 127.0.0.1, a free port, its own thread and event loop
        origin.reset()                       # every kind back to the baseline
        origin.serve("retrieve", multipart_dicom([mutated]))
"""

from __future__ import annotations

import asyncio
import io
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from PIL import Image
from support.gateway_server import free_port

from adversarial.phantoms import PIXEL_DATA, Phantom, phantoms

BOUNDARY = "hostile-origin-boundary-7f3a"
KINDS = ("qido-studies", "qido-series", "qido-instances", "metadata", "retrieve", "frames", "bulk", "rendered")


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunk: int = 0  # when set, the body goes out in chunks of this size (streamed, chunked encoding)
    cut: bool = False  # drop the connection after the body instead of ending it
    # When set, the body stops after `hold_after` bytes until the test sets the event (or 10 s pass).
    hold: threading.Event | None = field(default=None, compare=False)
    hold_after: int = 0


def json_answer(objects: Any, **options: Any) -> Answer:
    body = objects if isinstance(objects, bytes) else orjson.dumps(objects)
    return Answer(body, "application/dicom+json", **options)


def multipart(parts: list[tuple[dict[str, str], bytes]], related_type: str, **options: Any) -> Answer:
    out = io.BytesIO()
    for headers, body in parts:
        out.write(f"--{BOUNDARY}\r\n".encode())
        for name, value in headers.items():
            out.write(f"{name}: {value}\r\n".encode())
        out.write(b"\r\n" + body + b"\r\n")
    out.write(f"--{BOUNDARY}--\r\n".encode())
    content_type = f'multipart/related; type="{related_type}"; boundary={BOUNDARY}'
    return Answer(out.getvalue(), content_type, **options)


def multipart_dicom(instances: list[bytes], **options: Any) -> Answer:
    syntax = "1.2.840.10008.1.2.1"
    parts = [({"Content-Type": f"application/dicom; transfer-syntax={syntax}"}, data) for data in instances]
    return multipart(parts, "application/dicom", **options)


def pixel_value(p: Phantom) -> bytes:
    element = next(e for e in p.elements if e.tag == PIXEL_DATA)
    return p.part10[element.value_start : element.end]


def frame_parts(p: Phantom, base: str, *, content_type: str = "application/octet-stream") -> list[tuple[dict, bytes]]:
    location = f"{base}/studies/{p.study_uid}/series/{p.series_uid}/instances/{p.sop_uid}/frames/1"
    return [({"Content-Type": content_type, "Content-Location": location}, pixel_value(p))]


def jpeg(comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    Image.new("L", (16, 16), 128).save(out, format="JPEG")
    data = out.getvalue()
    if comment:  # a COM segment right after SOI: viewers ignore it, a careless proxy relays it
        data = data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]
    return data


class HostileOrigin:
    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/dicom-web"
        self.phantoms = phantoms(self.base)
        self._lock = threading.Lock()
        self._answers: dict[str, Answer] = {}
        self.requests: list[tuple[str, str]] = []  # (kind, raw path) as the gateway asked, for diagnosis
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.reset()

    # -- control -------------------------------------------------------------------------------------------
    def baseline(self) -> dict[str, Answer]:
        ct = self.phantoms["a_ct"]
        studies = [self.phantoms[name].json for name in ("a_ct", "b_cr", "c_mr")]
        return {
            "qido-studies": json_answer(studies),
            "qido-series": json_answer([ct.json]),
            "qido-instances": json_answer([ct.json]),
            "metadata": json_answer([ct.json]),
            "retrieve": multipart_dicom([ct.part10]),
            "frames": multipart(frame_parts(ct, self.base), "application/octet-stream"),
            "bulk": multipart(frame_parts(ct, self.base), "application/octet-stream"),
            "rendered": Answer(jpeg(), "image/jpeg"),
        }

    def reset(self) -> None:
        with self._lock:
            self._answers = self.baseline()
            self.requests.clear()

    def serve(self, kind: str, answer: Answer) -> None:
        assert kind in KINDS, kind
        with self._lock:
            self._answers[kind] = answer

    # -- the server ----------------------------------------------------------------------------------------
    def __enter__(self) -> HostileOrigin:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="hostile-origin", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hostile origin did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        if loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        ready.set()
        loop.run_forever()
        loop.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        kind = kind_of(request.rel_url.raw_path)
        with self._lock:
            answer = self._answers.get(kind) if kind else None
            self.requests.append((kind or "-", request.rel_url.raw_path))
        if answer is None:
            return web.Response(status=404)
        headers = {"Content-Type": answer.content_type, **answer.headers}
        if not answer.chunk and not answer.cut and answer.hold is None:
            return web.Response(status=answer.status, body=answer.body, headers=headers)
        response = web.StreamResponse(status=answer.status, headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        body = answer.body
        if answer.hold is not None:
            await response.write(body[: answer.hold_after])
            await asyncio.get_running_loop().run_in_executor(None, answer.hold.wait, 10)
            body = body[answer.hold_after :]
        step = answer.chunk or len(body) or 1
        for start in range(0, len(body), step):
            await response.write(body[start : start + step])
        if answer.cut:
            assert request.transport is not None
            request.transport.abort()
            return response
        await response.write_eof()
        return response


def kind_of(path: str) -> str | None:
    """Which resource the gateway asked for, from the upstream path (the UIDs in it are ignored)."""
    rest = path.split("/dicom-web", 1)[-1].rstrip("/")
    segments = rest.split("/")[1:]
    if not segments:
        return None
    last = segments[-1]
    if last == "metadata":
        return "metadata"
    if last in ("rendered", "thumbnail"):
        return "rendered"
    if "frames" in segments:
        return "frames"
    if "bulk" in segments or last == "bulkdata":
        return "bulk"
    if last == "studies":
        return "qido-studies"
    if last == "series":
        return "qido-series"
    if last == "instances":
        return "qido-instances"
    if segments[0] == "studies":
        return "retrieve"
    return None
