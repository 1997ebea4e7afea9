"""The de-identification engine of one role profile, for Part 10 headers and for DICOM JSON.

The order for one instance is fixed: `read_header` -> `needs` -> (the resolver turns Needs into Mappings) ->
`apply` -> `write_header`, then the original pixel data element is appended (masked with `mask_pixels`
when the plan says so). Anything the engine cannot fully process raises Withheld with a reason that holds a
short code and a tag path, never a value; a dataset that raised must be dropped. The identity profile
(clinician) changes nothing.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from operator import attrgetter

from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from gateway.core.dicom import (
    CHARSET,
    MEDIA_STORAGE_SOP_INSTANCE_UID,
    SERIES_UID,
    SOP_CLASS_UID,
    SOP_INSTANCE_UID,
    STUDY_UID,
    JsonObject,
    Uids,
    dataset_patient,
    dataset_uids,
    first_text,
    json_key,
    json_patient,
)
from gateway.core.pseudonyms.model import IdKind, Mappings, Needs
from gateway.core.rules.actions import Action
from gateway.core.rules.burned_text import CLEAN, BurnedText, with_burned_text
from gateway.core.rules.dataset import DatasetWalk
from gateway.core.rules.dicom_json import JsonWalk
from gateway.core.rules.encapsulated import Accepted, Picture, Remasked, remask
from gateway.core.rules.header import (
    META,
    TAGS,
    Elements,
    Layout,
    TopLevel,
    layout_for,
    new_dataset,
    raw_element,
    read,
    read_meta,
    text_of,
    text_value,
    text_values,
    top_level,
)
from gateway.core.rules.header_plan import (
    PLANS_MAX,
    Compiled,
    Outcome,
    Plan,
    body,
    context_bytes,
    context_tags,
    held_elsewhere,
    in_context,
    sop_pieces,
    unknown,
)
from gateway.core.rules.masked_header import changed
from gateway.core.rules.method import Method
from gateway.core.rules.object_plan import (
    SOP_KEY,
    CompiledObject,
    Template,
    canonical,
    json_context,
    matched,
    own_matcher,
    sop_uid_pieces,
)
from gateway.core.rules.object_plan import in_context as in_json_context
from gateway.core.rules.own_identifiers import Matcher, Texts, matcher
from gateway.core.rules.pixels import PASSTHROUGH, Geometry, PixelPlan, mask_native
from gateway.core.rules.profile import CleanMode, DateMode, Profile
from gateway.core.rules.scrub import Identifiers, Scrubbed
from gateway.core.rules.values import AttributeMemo, ElementMemo, Rewrite, is_registered_uid
from gateway.core.rules.withhold import dataset_header, json_header, needs_ocr, screen, screens
from gateway.core.rules.writer import encode_element, encoded_file_start, file_start, write
from gateway.errors import MappingMissing, Unreadable, Withheld

log = logging.getLogger("gateway.rules")

IMPLEMENTATION_CLASS_UID = UID("2.25.188664085415034957858571589772874560276")  # uuid5 of the gateway's URN
IMPLEMENTATION_VERSION_NAME = "DWGATEWAY_0_1"
NATIVE_SYNTAXES = frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian})
# The memos of new element bytes and attributes: bounded for all patients together, so a long-lived process
# does not grow with its traffic (an entry is about 0.8 KB: 16,384 of them are some 13 MB per profile).
_PATIENTS_MAX = 256
_MEMO_MAX = 16384
_OUTGOING_UIDS = (SOP_CLASS_UID, SOP_INSTANCE_UID, STUDY_UID, SERIES_UID)  # what the file meta names
_DATA = attrgetter("data")
_SOP_CLASS, _SOP_INSTANCE = BaseTag(SOP_CLASS_UID), BaseTag(SOP_INSTANCE_UID)
_MEDIA_CLASS, _MEDIA_INSTANCE, _SYNTAX = BaseTag(0x00020002), BaseTag(0x00020003), BaseTag(0x00020010)
_META_GROUPS_MAX = 4  # per plan: a series has one SOP Class and one transfer syntax


class Engine:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._walk = DatasetWalk(profile)
        self._json = JsonWalk(profile)
        self._screens = screens(profile)
        self._method = Method(profile)
        self._rewrites: dict[str, Rewrite] = {}
        self._memo: ElementMemo = {}
        self._attributes: AttributeMemo = {}
        # The compiled header work (`header_plan`), by layout and context; None for a context only the full engine
        # can read. A profile that keeps private attributes has none: their creators tie elements together.
        self._plans: dict[tuple[bool, bool, tuple[bytes, ...]], Plan | None] = {}
        self._context = None if profile.identity or profile.keeps_private else \
            context_tags(self._walk.source_tags, self._walk.learned_tags)
        # The same for DICOM JSON (`object_plan`): by series, the first object seen, then its template.
        self._json_context = None if self._context is None else json_context(self._context)
        self._templates: dict[str, JsonObject | Template | None] = {}

    # -- Part 10 -----------------------------------------------------------------------------------------
    def read_header(self, header: bytes) -> Dataset:
        """Parse a Part 10 header (preamble, file meta, dataset up to the top-level PixelData) into raw elements.

        A profile that keeps no private attribute never sees one: they are skipped while reading."""
        with _fail_closed("unreadable-header", level=logging.INFO, kind=Unreadable):
            return read(header, skip_private=not self.profile.identity and not self.profile.keeps_private)

    def needs(self, ds: Dataset) -> Needs:
        """Every real value `apply` will ask Mappings for. Withheld instances raise here, before any store work."""
        needs = Needs()
        if self.profile.identity:
            return needs
        with _fail_closed("unprocessable-header"):
            if self._screens:
                screen(self.profile, dataset_header(ds))
            self._patient_needs(dataset_patient(ds), needs)
            self._walk.needs(ds, needs)
        self._media_needs(ds.file_meta, needs)
        return needs

    def apply(self, ds: Dataset, mappings: Mappings, burned: BurnedText = CLEAN) -> PixelPlan:
        """De-identify `ds` in place and return what must happen to its pixel data; `burned` is the OCR verdict on
        it (its regions are masked as a pixel rule's are)."""
        if self.profile.identity:
            return PASSTHROUGH
        with _fail_closed("unprocessable-header"):
            plan = screen(self.profile, dataset_header(ds)) if self._screens else PASSTHROUGH
            plan = with_burned_text(plan, burned)
            layout = layout_for(_syntax(ds))
            rewrite = self._rewrite(mappings, dataset_patient(ds))
            texts = self._texts()
            own = matcher(self._walk.own_identifiers(ds, set(), texts=texts))  # read before the walk removes them
            rewrite.identifiers, rewrite.guard = _scrubbing(texts)
            self._walk.apply(ds, rewrite, layout, own=own)
            self._map_media_uid(ds, rewrite)
        ds._dict.update(self._method.part10(plan, layout))
        return plan

    def write_header(self, ds: Dataset) -> bytes:
        """Preamble, a new file meta and the dataset, in the input's transfer syntax."""
        with _fail_closed("unwritable-header"):
            layout = layout_for(_syntax(ds))
            if self.profile.identity:
                meta = [element for tag, element in sorted(ds.file_meta._dict.items()) if tag & 0xFFFF]
                return write(ds, meta, layout)
            ds.preamble = b"\0" * 128  # a preamble can hold anything (a TIFF header, for one)
            return write(ds, self._file_meta(ds), layout)

    # -- Part 10, compiled per series (header_plan) ------------------------------------------------------
    def compiled(self, header: bytes) -> Compiled | None:
        """The header read through its series' plan: its needs and real UIDs, without building a dataset; None
        where only the full engine can say (`read_header`, `needs`, `apply`, `write_header` then do the work)."""
        if self._context is None:
            return None
        try:
            meta, position, layout = read_meta(header)
            top = top_level(header, position, layout)
        except (Unreadable, Withheld, struct.error):
            return None  # the full engine says what is wrong with it
        context = context_bytes(top, self._context)
        if context is None:
            return None
        key = (layout.implicit, layout.little, context)
        if key not in self._plans:
            if len(self._plans) >= PLANS_MAX:
                self._plans = {}
            self._plans[key] = self._plan(header, top, layout)
        plan = self._plans[key]
        return None if plan is None else self._compile(plan, header, top, meta)

    def write_compiled(self, compiled: Compiled, mappings: Mappings) -> tuple[bytes, Uids]:
        """The de-identified header of a compiled instance, and its outgoing UIDs (as `write_header` and
        `dicom.dataset_uids` give them for the same instance)."""
        plan, unseen = compiled.plan, compiled.unseen
        with _fail_closed("unprocessable-header"):
            rewrite = self._rewrite(mappings, plan.patient)
            rewrite.identifiers, rewrite.guard = plan.identifiers, plan.guard
            self._walk.apply(unseen, rewrite, plan.layout, own=plan.own)
            top, outcomes = compiled.top, compiled.outcomes[:]
            tags = top.tags
            for index in compiled.missing:
                outcome = outcomes[index] = self._outcome(unseen, tags[index], plan.layout)
                plan.remember(tags[index], top.datas[index], outcome)
            named: Elements = {}
            for tag in _OUTGOING_UIDS:
                at = top.index(tag)
                found = None if at is None else outcomes[at]
                if found is not None and found.element is not None:  # a removed element's is None
                    named[TAGS[tag]] = found.element
            ds = new_dataset(Dataset, named, default_encoding)
            ds.__dict__["file_meta"] = compiled.file_meta
            self._map_media_uid(ds, rewrite)
            out = self._meta_group(plan, ds)
            out += body(tags, list(map(_DATA, outcomes)), plan.method)
        return b"".join(out), dataset_uids(ds)

    def _plan(self, header: bytes, top: TopLevel, layout: Layout) -> Plan | None:
        """A new context's plan: read from its elements, as `needs` and `apply` read the whole dataset."""
        assert self._context is not None
        context = self._context
        ds = new_dataset(Dataset, {TAGS.get(tag) or BaseTag(tag): raw_element(header, span, layout)
                                   for tag, span in zip(top.tags, top.spans, strict=True)
                                   if in_context(tag, span[1], context)},
                         default_encoding)
        try:
            with _fail_closed("unprocessable-header"):
                screened = dataset_header(ds)
                pixels = screen(self.profile, screened) if self._screens else PASSTHROUGH
                texts = self._texts()
                own = matcher(self._walk.own_identifiers(ds, set(), texts=texts))
                patient = dataset_patient(ds)
                real = dataset_uids(ds)
        except Withheld:
            return None  # withheld, or not readable: the full engine says which, instance by instance
        if not pixels.passthrough or needs_ocr(self.profile, screened):
            return None  # pixels to mask or to read: those need the dataset
        identifiers, guard = _scrubbing(texts)
        method = sorted((int(tag), encode_element(element, layout, None))
                        for tag, element in self._method.part10(pixels, layout).items())
        return Plan(layout, patient, real.study, real.series, screened, own, identifiers, guard,
                    ds._dict.get(TAGS[CHARSET]), method)

    def _compile(self, plan: Plan, header: bytes, top: TopLevel, meta: Elements) -> Compiled | None:
        layout, tags, spans = plan.layout, top.tags, top.spans
        at = top.index(SOP_INSTANCE_UID)
        sop = raw_element(header, spans[at], layout) if at is not None else None
        if sop is not None and sop.VR not in ("UI", None):
            return None  # read as another VR, it would leave the scrubber's identifiers incomplete
        pieces = sop_pieces(sop.value if sop is not None else None)
        if pieces is None:
            return None
        if held_elsewhere(top, at, pieces):
            return None  # judged without the SOP Instance UID, the plan cannot vouch for an element that holds it
        unseen: Elements = {} if plan.charset is None else {TAGS[CHARSET]: plan.charset}
        outcomes = list(map(plan.outcomes.get, top.datas))
        missing = unknown(outcomes)
        for index in missing:
            unseen[TAGS.get(tags[index]) or BaseTag(tags[index])] = raw_element(header, spans[index], layout)
        needs = Needs()
        self._patient_needs(plan.patient, needs)
        unread = new_dataset(Dataset, unseen, default_encoding)
        file_meta = new_dataset(FileMetaDataset, meta, default_encoding)
        try:
            with _fail_closed("unprocessable-header"):
                self._walk.needs(unread, needs)
        except Withheld:
            return None
        self._media_needs(file_meta, needs)
        instance = "".join(text_values(sop, unread)).strip("\0 ") if sop else ""  # as `dicom.dataset_uids`
        return Compiled(plan, top, outcomes, missing, unread, file_meta, needs,
                        Uids(plan.real_study, plan.real_series, instance))

    @staticmethod
    def _outcome(unseen: Dataset, tag: int, layout: Layout) -> Outcome:
        element = unseen._dict.get(TAGS.get(tag) or BaseTag(tag))
        return Outcome(b"" if element is None else encode_element(element, layout, unseen), element)

    def identifiers(self, ds: Dataset) -> tuple[Identifiers | None, Matcher | None]:
        """The instance's own identifying texts, as the scrubber is given them: what OCR'd text is scrubbed with."""
        texts = Texts()
        with _fail_closed("unprocessable-header"):
            self._walk.own_identifiers(ds, set(), texts=texts)
        return texts.scrubbing()

    def identifiers_json(self, obj: JsonObject) -> tuple[Identifiers | None, Matcher | None]:
        """As `identifiers`, from the instance's (real) DICOM JSON."""
        texts = Texts()
        with _fail_closed("unprocessable-object"):
            self._json.own_identifiers(obj, set(), texts)
        return texts.scrubbing()

    def mask_pixels(self, ds: Dataset, pixel_value: bytes, plan: PixelPlan | None = None) -> bytes:
        """Mask native pixel data (all frames). Pass the plan `apply` returned; without one it is recomputed."""
        plan = plan if plan is not None else screen(self.profile, dataset_header(ds))
        if plan.passthrough:
            return pixel_value
        if _syntax(ds) not in NATIVE_SYNTAXES:
            raise Withheld("encapsulated-pixel-data-needs-mask (7FE0,0010)")
        geometry = Geometry(
            rows=int(ds.Rows),
            columns=int(ds.Columns),
            samples=int(ds.get("SamplesPerPixel", 1)),
            bits_allocated=int(ds.BitsAllocated),
            frames=int(ds.get("NumberOfFrames", 1) or 1),
            planar=int(ds.get("PlanarConfiguration", 0) or 0),
        )
        return mask_native(pixel_value, geometry, plan.regions)

    def mask_encapsulated(self, ds: Dataset, value: bytes, plan: PixelPlan, accepted: Accepted) -> Remasked:
        """Mask encapsulated pixel data (all frames): decoded, masked and encoded again in the syntax
        `remask` chooses, with `ds` (de-identified by `apply`, not yet written) changed to say so."""
        with _fail_closed("mask-unprocessable-header"):
            view = Dataset(dict(ds._dict))  # read through a copy: `ds` keeps its raw elements for the writer
            picture = Picture(
                rows=int(view.Rows),
                columns=int(view.Columns),
                samples=int(view.get("SamplesPerPixel", 1)),
                bits_allocated=int(view.BitsAllocated),
                bits_stored=int(view.get("BitsStored") or view.BitsAllocated),
                signed=int(view.get("PixelRepresentation", 0) or 0) == 1,
                photometric=str(view.PhotometricInterpretation),
                frames=int(view.get("NumberOfFrames", 1) or 1),
            )
        remasked = remask(value, _syntax(ds), picture, plan.regions, accepted)
        with _fail_closed("mask-unwritable-header"):
            changed(ds, remasked)
        return remasked

    # -- DICOM JSON --------------------------------------------------------------------------------------
    def needs_json(self, obj: JsonObject) -> Needs:
        """As `needs`, for one DICOM JSON object (a QIDO result or a metadata object)."""
        needs = Needs()
        if self.profile.identity:
            return needs
        with _fail_closed("unprocessable-object"):
            if self._screens:
                screen(self.profile, json_header(obj))
            self._patient_needs(json_patient(obj), needs)
            self._json.needs(obj, needs)
        return needs

    def apply_json(self, obj: JsonObject, mappings: Mappings) -> JsonObject:
        """A de-identified copy of `obj`. Kept bulk data keeps its BulkDataURI; the HTTP layer rewrites it."""
        if self.profile.identity:
            return dict(obj)
        with _fail_closed("unprocessable-object"):
            plan = screen(self.profile, json_header(obj)) if self._screens else PASSTHROUGH
            texts = self._texts()
            own = matcher(self._json.own_identifiers(obj, set(), texts))
            rewrite = self._rewrite(mappings, json_patient(obj))
            rewrite.identifiers, rewrite.guard = _scrubbing(texts)
            out = self._json.apply(obj, rewrite, own=own)
        out.update(self._method.json(plan))
        return dict(sorted(out.items()))

    def compiled_json(self, obj: JsonObject) -> CompiledObject | None:
        """A metadata object matched against its series' template (`object_plan`): its needs, without walking
        what it shares with the series; None where the full walk does the work (`needs_json`, `apply_json`).
        A series' first object is only remembered: a series with one object pays nothing. Metadata only: a
        search result holds other attributes than the metadata of the same series."""
        if self._json_context is None:
            return None
        series = first_text(obj, json_key(SERIES_UID))
        if not series:
            return None
        template = self._templates.get(series)
        if template is None:
            if series not in self._templates:
                if len(self._templates) >= PLANS_MAX:
                    self._templates = {}
                self._templates[series] = obj
            return None
        if not isinstance(template, Template):
            template = self._templates[series] = self._template(template)
            if template is None:
                return None
        pieces = sop_uid_pieces(obj.get(SOP_KEY))
        if obj is template.source or pieces is None or (template.out is not None and template.holds(pieces)):
            return None
        found = matched(template, obj, self._json_context)
        if found is None:
            return None
        same, walked = found
        if template.out is not None:
            walked.update(template.not_reused(obj, same))
        needs = Needs()
        try:
            with _fail_closed("unprocessable-object"):
                self._patient_needs(template.patient, needs)
                self._json.needs(walked, needs)
                if template.out is None:  # made at first use: the template's values must resolve, and the
                    needs.merge(self.needs_json(template.source))  # object's, should its UID bar the reuse
                    needs.merge(self.needs_json(obj))
        except Withheld:
            return None
        return CompiledObject(template, obj, same, walked, needs, pieces)

    def write_compiled_json(self, compiled: CompiledObject, mappings: Mappings) -> JsonObject:
        """As `apply_json` for the same object."""
        template, obj = compiled.template, compiled.source
        with _fail_closed("unprocessable-object"):
            rewrite = self._rewrite(mappings, template.patient)
            rewrite.identifiers, rewrite.guard = template.identifiers, template.guard
            if template.out is None:
                template.built(self._json.apply(template.source, rewrite, own=template.shared))
                if template.holds(compiled.sop_pieces):
                    return self.apply_json(obj, mappings)
                compiled.walked.update(template.not_reused(obj, compiled.same))
            out = self._json.apply(compiled.walked, rewrite, own=own_matcher(template, compiled.sop_pieces))
            made, reusable = template.out, template.reusable
            assert made is not None
            for key in compiled.same:
                if key in reusable and key in made:
                    out[key] = dict(made[key])  # a copy: the HTTP layer writes into what goes out
        out.update(self._method.json(template.pixels))
        return dict(sorted(out.items()))

    def _template(self, first: JsonObject) -> Template | None:
        """A series' template, read from its first object as `apply_json` reads an object."""
        if not all(map(canonical, first)):
            return None
        try:
            with _fail_closed("unprocessable-object"):
                pixels = screen(self.profile, json_header(first)) if self._screens else PASSTHROUGH
                texts = self._texts()
                rest = {key: value for key, value in first.items() if key != SOP_KEY}
                pieces = self._json.own_identifiers(rest, set(), texts)
                identifiers, guard = _scrubbing(texts)
                patient = json_patient(first)
        except Withheld:
            return None
        assert self._json_context is not None
        context = frozenset(key for key, value in first.items() if in_json_context(key, value, self._json_context))
        return Template(first, patient, pixels, frozenset(pieces), identifiers, guard, context, matcher(pieces))

    def scrub_json(self, obj: JsonObject, mappings: Mappings, text: str) -> Scrubbed | None:
        """How C scrubs `text` of `obj` (the admin preview marks the removed spans): None when this profile
        blanks, or when the object's identifiers cannot all be read, which blanks its free text too."""
        texts = self._texts()
        self._json.own_identifiers(obj, set(), texts)
        identifiers, _ = _scrubbing(texts)
        if identifiers is None:
            return None
        shift = mappings.date_shift(json_patient(obj)) if self.profile.date_mode is DateMode.SHIFT else None
        return self.profile.scrubber.scrub(text, identifiers, date_shift=shift)

    # -- helpers -----------------------------------------------------------------------------------------
    def _patient_needs(self, patient: str, needs: Needs) -> None:
        needs.add(IdKind.PATIENT, patient)
        if self.profile.date_mode is DateMode.SHIFT:
            needs.add(IdKind.DATE_SHIFT, patient)

    def _media_needs(self, file_meta: Dataset, needs: Needs) -> None:
        media_uid = "".join(text_of(file_meta, MEDIA_STORAGE_SOP_INSTANCE_UID))
        if media_uid and self.profile.action_for(MEDIA_STORAGE_SOP_INSTANCE_UID) is Action.REPLACE_UID:
            needs.add(IdKind.UID, media_uid)

    def _texts(self) -> Texts | None:
        """Where a walk collects the instance's identifying texts for the scrubber; None when C blanks."""
        return Texts() if self.profile.clean_mode is CleanMode.SCRUB else None

    def _rewrite(self, mappings: Mappings, patient: str) -> Rewrite:
        """One Rewrite per patient, across parts and requests, over the memos every patient shares.

        Values of record never change once claimed, so new element bytes computed under one Mappings are the
        bytes any later Mappings of the same scope gives: the memo carries over, and only the Mappings it reads
        new values from is swapped. `apply` runs without awaiting, so no other part sees the swap midway. Past
        the bound everything remembered is let go at once, between two objects; the values seen only once (UIDs,
        positions) would otherwise crowd out the ones a series repeats.
        """
        if len(self._memo) > _MEMO_MAX or len(self._attributes) > _MEMO_MAX:
            self._memo, self._attributes, self._rewrites = {}, {}, {}
        rewrite = self._rewrites.get(patient)
        if rewrite is None:
            if len(self._rewrites) >= _PATIENTS_MAX:
                self._rewrites = {}
            rewrite = self._rewrites[patient] = Rewrite(self.profile, mappings, patient, self._memo, self._attributes)
        else:
            rewrite.mappings = mappings
        return rewrite

    def _map_media_uid(self, ds: Dataset, rewrite: Rewrite) -> None:
        meta = ds.file_meta
        if MEDIA_STORAGE_SOP_INSTANCE_UID not in meta._dict:
            return
        if self.profile.action_for(MEDIA_STORAGE_SOP_INSTANCE_UID) is not Action.REPLACE_UID:
            return
        try:
            new = [rewrite.uid(uid) for uid in text_of(meta, MEDIA_STORAGE_SOP_INSTANCE_UID)]
        except MappingMissing:
            raise Withheld("mapping-missing-uid (0002,0003)") from None
        meta._dict[BaseTag(MEDIA_STORAGE_SOP_INSTANCE_UID)] = META.raw(
            MEDIA_STORAGE_SOP_INSTANCE_UID, "UI", text_value(new, "UI")
        )

    def _meta_group(self, plan: Plan, ds: Dataset) -> list[bytes]:
        """`file_start(None, self._file_meta(ds))` for a compiled instance. All of it but the instance UID is the
        same across a series: encoded once per plan, by the raw elements it is made of."""
        old = ds.file_meta._dict
        made_of = (ds._dict.get(_SOP_CLASS), old.get(_MEDIA_CLASS), old.get(_SYNTAX))
        if any(element is not None and not isinstance(element, RawDataElement) for element in made_of):
            return file_start(None, self._file_meta(ds))  # converted by pydicom: not keyed by its bytes
        key = tuple((element.VR, element.length, element.value) if isinstance(element, RawDataElement) else None
                    for element in made_of)  # fmt: skip
        known = plan.meta_groups.get(key)
        if known is None:
            elements = self._file_meta(ds)
            known = (b"".join(encode_element(element, META, None) for element in elements if element.tag < 0x20003),
                     b"".join(encode_element(element, META, None) for element in elements if element.tag > 0x20003))
            if len(plan.meta_groups) >= _META_GROUPS_MAX:
                plan.meta_groups.clear()
            plan.meta_groups[key] = known
        instance = _instance_uid(ds)
        middle = b"" if instance is None else encode_element(_meta_uid(ds, 0x00020003, instance), META, None)
        return encoded_file_start(None, known[0] + middle + known[1])

    def _file_meta(self, ds: Dataset) -> list[RawDataElement | DataElement]:
        old = ds.file_meta._dict
        # The class as de-identified in the dataset: the old meta's copy was never checked, and may say anything.
        class_uid = ds._dict.get(_SOP_CLASS) or _registered(ds, old.get(_MEDIA_CLASS))
        instance_uid = _instance_uid(ds)
        meta: list[RawDataElement | DataElement] = [META.raw(0x00020001, "OB", b"\0\1")]
        for tag, element in ((0x00020002, class_uid), (0x00020003, instance_uid)):
            if element is not None:
                meta.append(_meta_uid(ds, tag, element))
        meta.append(old[_SYNTAX])
        meta.append(META.raw(0x00020012, "UI", text_value([IMPLEMENTATION_CLASS_UID], "UI")))
        meta.append(META.raw(0x00020013, "SH", text_value([IMPLEMENTATION_VERSION_NAME], "SH")))
        return meta


@contextmanager
def _fail_closed(reason: str, *, level: int = logging.WARNING, kind: type[Withheld] = Withheld) -> Iterator[None]:
    """What the engine cannot fully process is withheld: with a reason and the error's type, never a value."""
    try:
        yield
    except Withheld:
        raise
    except MappingMissing as missing:
        raise Withheld(f"mapping-missing-{missing.args[0]}") from None
    except Exception as error:
        log.log(level, "%s (%s)", reason.replace("-", " "), type(error).__name__)
        raise kind(reason) from None


def _scrubbing(texts: Texts | None) -> tuple[Identifiers | None, Matcher | None]:
    """What the scrubber looks for in this instance's free text, and what its results are checked against;
    None (blank it) when C blanks, or when an identifying attribute could not be read as what it is."""
    return (None, None) if texts is None else texts.scrubbing()


def _syntax(ds: Dataset) -> str:
    return "".join(text_of(ds.file_meta, 0x00020010))


def _registered(ds: Dataset, element: RawDataElement | DataElement | None) -> RawDataElement | DataElement | None:
    return element if element is not None and all(map(is_registered_uid, _values(ds, element))) else None


def _instance_uid(ds: Dataset) -> RawDataElement | DataElement | None:
    """Where the new file meta takes its instance UID from: the old one's (mapped), else the data set's."""
    return ds.file_meta._dict.get(_MEDIA_INSTANCE) or ds._dict.get(_SOP_INSTANCE)


def _meta_uid(ds: Dataset, tag: int, element: RawDataElement | DataElement) -> RawDataElement:
    """A file meta UID element with the value of `element` (from the file meta or the dataset itself)."""
    return META.raw(tag, "UI", text_value(_values(ds, element), "UI"))


def _values(ds: Dataset, element: RawDataElement | DataElement) -> list[str]:
    """Text of a UI element taken from the file meta or from the dataset itself."""
    if isinstance(element, DataElement):
        return [str(element.value)]
    return [(element.value or b"").rstrip(b"\0 ").decode("latin-1")]
