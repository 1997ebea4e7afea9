"""STOW-RS for de-identifying roles that may store (ai-service): each instance re-identified as it streams.

Two request forms are taken (PS3.18 10.5): PS3.10 files, one per part, and metadata plus bulk data
(`type="application/dicom+json"`), whose objects become PS3.10 parts first
(`gateway.web.handlers.store_metadata`); from there on both go the same way. The XML metadata form is refused
with 415. The client's multipart body is parsed part by part. Each part's Part 10 header is read and re-identified
(`gateway.core.stow`) before a single byte of that part goes upstream; its pixel bytes then pass through
untouched. The instances go to the origin as one multipart/related request whose body is an async generator,
so memory holds one part header at a time. The upstream request opens only once a first instance is ready.

A refused instance never goes upstream. It is answered in FailedSOPSequence with a FailureReason (a part that
is no instance at all, in OtherFailuresSequence), and its reason (a code and a tag, never a value) goes to the
log and to a Warning header. An instance of an opted-out patient is refused like one of an unknown study.
Elements after the pixel data are dropped, as on retrieve: nothing re-identifies them.

The origin stores nothing from a body that ends without its closing boundary. A client fault mid-stream (a cut
body, a body over the limit) therefore cuts the upstream request, and nothing of the request is stored.

The origin's Store Instances Response goes back in the caller's terms (`gateway.web.handlers.store_response`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from pydicom import Dataset

from gateway.adapters.upstream import JsonLimit
from gateway.codec.media import MediaType
from gateway.codec.multipart import BodyPart, MultipartWriter, iter_parts
from gateway.codec.part10_stream import Part10Header, Part10Stream
from gateway.core.dicom import SOP_CLASS_UID, JsonObject, first_text
from gateway.core.pseudonyms.model import IdKind, Needs
from gateway.core.rules.header import text_of
from gateway.core.rules.profile import DateMode
from gateway.core.stow import (
    CANNOT_UNDERSTAND,
    LEVEL_TAGS,
    PROCESSING_FAILURE,
    SOP_INSTANCE_UID,
    Level,
    RealPatient,
    Refusal,
    StorePlan,
    apply,
    check_patient,
    collect,
    reverse,
)
from gateway.errors import (
    GatewayError,
    Part10Error,
    UnsupportedMediaType,
    UpstreamError,
    Withheld,
)
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import stow_body, upstream_of
from gateway.web.handlers.store_metadata import METADATA_TYPES, metadata_instances
from gateway.web.handlers.store_response import Failure, json_object, respond
from gateway.web.view import View, require_json

log = logging.getLogger("gateway.store")

_PATIENT_FIELDS = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex")
_QIDO_BATCH = 50  # UIDs per list-matching query: keeps the URL short
_ANSWER_LIMIT = 64 << 20
_FORMS = frozenset({"application/dicom"} | METADATA_TYPES)


async def store_instances(exchange: Exchange, view: View) -> web.StreamResponse:
    request = exchange.request
    require_json(request)
    media = MediaType.parse(request.headers.get("Content-Type", ""), side="client")
    related = media.related_type
    if (
        media.essence != "multipart/related"
        or media.boundary is None
        or related is None
        or (related.essence not in _FORMS)
    ):
        raise UnsupportedMediaType(
            'this role stores multipart/related; type="application/dicom" (PS3.10 files) or '
            'type="application/dicom+json" (metadata and bulk data); the XML metadata form is not supported'
        )
    path, sent_uids = await view.translate_path(exchange.target)  # an unknown study pseudonym is a 404
    upload = _Upload(view, exchange, next(iter(sent_uids.values()), None))
    received = iter_parts(stow_body(exchange), media.boundary, side="client")
    if related.essence == "application/dicom":
        return await upload.run(path, received)
    with metadata_instances(received) as instances:
        return await upload.run(path, instances)


@dataclass
class _Ready:
    """A re-identified instance whose header is written and whose pixel bytes are still to come."""

    part: BodyPart
    stream: Part10Stream
    header: Part10Header
    data: bytes

    async def chunks(self, writer: MultipartWriter) -> AsyncIterator[bytes]:
        # Bare: Orthanc skips parts whose type carries parameters; the file meta names the transfer syntax anyway.
        yield writer.part_head({"Content-Type": "application/dicom"})
        yield self.data
        if self.header.pixel_head is not None:
            yield self.header.pixel_head
        async for view in self.stream.pixel_value():  # consumed even when empty: the trailer comes after it
            yield bytes(view)  # a copy of one received chunk at most, never more
        await self.stream.read_trailer()  # dropped on purpose: see the module docstring
        await self.part.skip()
        yield writer.part_tail()


class _Upload:
    def __init__(self, view: View, exchange: Exchange, path_study: str | None) -> None:
        self.view = view
        self.exchange = exchange
        self.path_study = path_study  # the pseudonymous study of POST /studies/{study}
        self.writer = MultipartWriter(related_type="application/dicom")
        self.failures: list[Failure] = []
        self.caller_uids: dict[str, str] = {}  # real -> as the caller sent it, for the answer
        self.parts_seen = 0
        self.fault: BaseException | None = None

    async def run(self, path: str, parts: AsyncIterator[BodyPart]) -> web.Response:
        first = await self.next_ready(parts)
        answer = await self.send(path, first, parts) if first is not None else {}
        return respond(answer, self)

    async def next_ready(self, parts: AsyncIterator[BodyPart]) -> _Ready | None:
        """Read parts until one is re-identified and ready to go upstream; None once the body has ended."""
        async for part in parts:
            self.parts_seen += 1
            ready = await self._prepare(part)
            if ready is not None:
                return ready
        return None

    async def _prepare(self, part: BodyPart) -> _Ready | None:
        if not _is_dicom(part):
            await self._refuse(part, "", "", Refusal(CANNOT_UNDERSTAND, "not-application/dicom"))
            return None
        stream = Part10Stream(part.body)
        try:
            header = await stream.read_header()
            ds = self.view.engine.read_header(header.data)
        except (Part10Error, Withheld) as exc:  # a client's bytes: refused with the reason, whatever the fault
            await self._refuse(part, "", "", Refusal(CANNOT_UNDERSTAND, exc.reason))
            return None
        sop_class, instance = _text(ds, SOP_CLASS_UID), _text(ds, SOP_INSTANCE_UID)
        try:
            refusal = await self._reidentify(ds)
            data = self.view.engine.write_header(ds) if refusal is None else b""
        except Withheld as exc:
            refusal = Refusal(PROCESSING_FAILURE, exc.reason)
        if refusal is not None:
            await self._refuse(part, sop_class, instance, refusal)
            return None
        return _Ready(part, stream, header, data)

    async def _refuse(self, part: BodyPart, sop_class: str, instance: str, refusal: Refusal) -> None:
        log.info("instance refused", extra={"where": f"part {self.parts_seen}", "reason": refusal.reason})
        self.failures.append(Failure(self.parts_seen, sop_class, instance, refusal))
        await part.skip()

    async def _reidentify(self, ds: Dataset) -> Refusal | None:
        view = self.view
        claims = collect(ds)
        maps = {
            kind: await view.resolver.real_values(view.scope, kind, values) for kind, values in claims.kinds().items()
        }
        plan = reverse(claims, maps, self.path_study)
        if isinstance(plan, Refusal):
            return plan
        patient, owners = await self._origin_facts(plan)
        if patient is not None and view.audit.withdrawn.covers(patient.key):
            # An opted-out patient's studies do not exist for this role, on the way in as on the way out; the
            # refusal is the one an unknown study gets, so it tells the caller nothing more than a 404 would.
            patient = None
        refusal = check_patient(plan, patient, owners)
        if refusal is not None or patient is None:
            return refusal
        if plan.new_uids:
            stored = await view.resolver.record(view.scope, IdKind.UID, {uid: uid for uid in plan.new_uids})
            if any(stored.get(uid) != uid for uid in plan.new_uids):
                return Refusal(PROCESSING_FAILURE, "uid-of-record-differs")  # a real UID this scope maps
        apply(ds, plan, patient, await self._shift(patient), view.engine.profile)
        self.caller_uids.update({real: sent for sent, real in plan.uids.items()})
        return None

    async def _shift(self, patient: RealPatient) -> int | None:
        if self.view.engine.profile.date_mode is not DateMode.SHIFT:
            return None
        mappings = await self.view.resolver.resolve(self.view.scope, Needs({IdKind.DATE_SHIFT: {patient.key}}))
        return mappings.date_shift(patient.key)

    async def _origin_facts(self, plan: StorePlan) -> tuple[RealPatient | None, dict[str, str]]:
        """The real study's patient, and the patient key of every referenced object the origin holds."""
        owners: dict[str, str] = {}
        patient = None
        for level in Level:
            reals = plan.owned.get(level, set()) | ({plan.real_study} if level is Level.STUDY else set())
            key = f"{LEVEL_TAGS[level]:08X}"
            for obj in await self._search(level, sorted(reals)):
                uid = first_text(obj, key)
                owners[uid] = _patient(obj).key
                if level is Level.STUDY and uid == plan.real_study:
                    patient = _patient(obj)
        return patient, owners

    async def _search(self, level: Level, uids: list[str]) -> list[JsonObject]:
        found: list[JsonObject] = []
        keyword = {Level.STUDY: "StudyInstanceUID", Level.SERIES: "SeriesInstanceUID", Level.INSTANCE: "SOPInstanceUID"}
        for start in range(0, len(uids), _QIDO_BATCH):
            query = [(keyword[level], ",".join(uids[start : start + _QIDO_BATCH]))]
            query += [("includefield", name) for name in _PATIENT_FIELDS]
            found += await upstream_of(self.exchange.request).get_json(f"/{level.value}", query, limit=JsonLimit.SEARCH)
        return found

    # -- upstream -------------------------------------------------------------------------------------------
    async def send(self, path: str, first: _Ready, parts: AsyncIterator[BodyPart]) -> JsonObject:
        headers = {"Content-Type": self.writer.content_type, "Accept": "application/dicom+json"}
        try:
            async with upstream_of(self.exchange.request).request(
                "POST", path, headers=headers, body=self._body(first, parts), accept_statuses=frozenset({409})
            ) as upstream:
                answer = await upstream.read(_ANSWER_LIMIT)
        except UpstreamError:
            # aiohttp reports a failing body as a broken connection: the body's own error is the one that counts.
            if self.fault is not None:
                raise self.fault from None
            raise
        return json_object(answer)

    async def _body(self, first: _Ready, parts: AsyncIterator[BodyPart]) -> AsyncIterator[bytes]:
        ready: _Ready | None = first
        try:
            while ready is not None:
                async for chunk in ready.chunks(self.writer):
                    yield chunk
                ready = await self.next_ready(parts)
        except Exception as exc:
            self.fault = exc  # no closing boundary: the origin sees a cut body and stores none of it
            raise
        yield self.writer.close()


def _is_dicom(part: BodyPart) -> bool:
    try:
        return MediaType.parse(part.headers.get("Content-Type") or "", side="client").essence == "application/dicom"
    except GatewayError:
        return False


def _text(ds: Dataset, tag: int) -> str:
    return "".join(text_of(ds, tag))


def _patient(obj: JsonObject) -> RealPatient:
    name = obj.get("00100010", {}).get("Value") or [{}]
    groups = [str(name[0].get(g, "")) for g in ("Alphabetic", "Ideographic", "Phonetic")] if name[0] else []
    return RealPatient(
        name="=".join(groups).rstrip("="),
        patient_id=first_text(obj, "00100020"),
        issuer=first_text(obj, "00100021"),
        birth_date=first_text(obj, "00100030"),
        sex=first_text(obj, "00100040"),
    )
