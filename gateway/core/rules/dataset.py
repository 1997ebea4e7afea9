"""The walk over a parsed Part 10 header (a pydicom Dataset), at every sequence depth.

An element whose action keeps it is never decoded: it stays a raw element and is written back byte for
byte, which is both fast and exact in any character set. New values go straight into raw elements encoded
for the header's transfer syntax (`header.Layout`).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from pydicom.charset import decode_bytes, encode_string
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from gateway.core.pseudonyms.model import IdKind, Needs
from gateway.core.rules.actions import Action
from gateway.core.rules.conformance import SHORT_VRS, TYPE_1, conforms, dictionary_vrs, stated_vr, written_vr
from gateway.core.rules.header import (
    ASCII_VRS,
    TAGS,
    UNDEFINED,
    Elements,
    Layout,
    character_set,
    new_dataset,
    number_value,
    plain_ascii,
    read_items,
    split_values,
    text_of,
    text_value,
    text_values,
)
from gateway.core.rules.own_identifiers import (
    FREE_TEXT_VRS,
    MIN_BYTES,
    Matcher,
    Texts,
    cleaned_tags,
    collect,
    collect_texts,
    learn_names,
    learned_tags,
    source_tags,
)
from gateway.core.rules.profile import PSEUDONYM_KIND, CleanMode, Profile
from gateway.core.rules.scrub import IdentifierKind
from gateway.core.rules.values import BULK_VRS, NonConforming, Rewrite, is_registered_uid
from gateway.errors import MappingMissing, Withheld

log = logging.getLogger("gateway.rules")

SQ_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ")
DUMMY_CONTEXT_VRS = frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
BINARY_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT"})
Path = tuple[int, ...]  # tags and item indexes, alternating
Encoding = str | list[str]  # pydicom's form of a character set
PRESENT = "(present)"  # stands for free text that the new value does not depend on
_MAYBE_SEQUENCE = frozenset({"SQ", "UN", None})
_MAYBE_UID = frozenset({"UI", "UN", None})
_NEEDS_VALUE = frozenset({Action.PSEUDONYM, Action.REPLACE_UID})


def tag_path(path: Path) -> str:
    """'(0040,A730)[0]>(0040,A160)': where something happened, never what the value was."""
    parts = []
    for depth, step in enumerate(path):
        parts.append(f"[{step}]>" if depth % 2 else f"({step >> 16:04X},{step & 0xFFFF:04X})")
    return "".join(parts)


def vr_of(tag: int, element: RawDataElement | DataElement) -> str:
    """The VR a new value of this element is written with (`conformance.written_vr`)."""
    return written_vr(tag, stated_vr(tag, element.VR))


def _pieces(ds: Dataset, tag: int, element: RawDataElement | DataElement) -> tuple[str, ...]:
    """The identifier pieces of one element: remembered for ASCII values, which a study repeats (names, IDs)
    and which read the same in every character set."""
    value = element.value
    if type(element) is RawDataElement and isinstance(value, bytes) and plain_ascii(value):
        return _ascii_pieces(tag, element.VR, value)
    collected: set[str] = set()
    collect(vr_of(tag, element), text_values(element, ds), collected)
    return tuple(collected)


def scrubbed_value(values: list[str], vr: str, ds: Dataset) -> bytes:
    """Scrubbed text as element bytes in the dataset's own character set: it keeps what it can of the original,
    accents and kanji included. Text the character set cannot hold again, exactly, goes."""
    text = "\\".join(values)
    if text.isascii():
        return text_value(values, vr)
    encoding = character_set(ds)
    try:
        encoded = encode_string(text, encoding)
        same = decode_bytes(encoded, encoding, {0x5C}) == text
    except (UnicodeError, LookupError, ValueError):
        same = False
    if not same:
        raise NonConforming()
    return encoded + b" " if len(encoded) % 2 else encoded


def _add_texts(ds: Dataset, tag: int, element: RawDataElement | DataElement, texts: Texts) -> None:
    """The whole values of one identifying element, by kind, for the scrubber; remembered for ASCII ones. One
    not encoded as its attribute (UN, bytes, another VR) leaves the texts incomplete."""
    entry = DicomDictionary.get(tag)
    vr = entry[0] if entry is not None and element.VR is None else element.VR  # implicit VR: the dictionary's
    if entry is None or entry[0] != vr:
        texts.complete = False
        return
    value = element.value
    if type(element) is RawDataElement and isinstance(value, bytes) and plain_ascii(value):
        texts.values.update(_ascii_texts(tag, vr, value))
        return
    collect_texts(tag, vr, text_values(element, ds), texts)


def _learn_names(ds: Dataset, element: RawDataElement | DataElement, texts: Texts) -> None:
    """The names one free-text element (`own_identifiers.learned_tags`) gives by their cues. One sent as another
    VR is removed by C, and says nothing here."""
    if element.VR is None or element.VR in FREE_TEXT_VRS:
        learn_names(text_values(element, ds), texts)  # VR None: implicit VR, read as the dictionary's


@lru_cache(maxsize=65536)
def _ascii_texts(tag: int, vr: str, value: bytes) -> tuple[tuple[IdentifierKind, str], ...]:
    texts = Texts()
    collect_texts(tag, vr, split_values(value.decode("latin-1")), texts)
    return tuple(texts.values)


@lru_cache(maxsize=65536)
def _ascii_pieces(tag: int, encoded: str | None, value: bytes) -> tuple[str, ...]:
    collected: set[str] = set()
    collect(written_vr(tag, stated_vr(tag, encoded)), split_values(value.decode("latin-1")), collected)
    return tuple(collected)


_CHARSET = TAGS[0x00080005]


def kept_element(tag: int, element: RawDataElement | DataElement,
                 private_vr: str | None = None) -> RawDataElement | DataElement | None:
    """The element as it may be kept, or None when it must go: its VR is not the attribute's, or its value does
    not conform to the VR. UN that conforms to the dictionary's VR is re-encoded with it."""
    if type(element) is not RawDataElement:
        return element  # made by the engine or pydicom from checked values
    if element.length == UNDEFINED:
        return None
    vr = _kept_vr(tag, element.VR, private_vr, element.value or b"")
    if vr is None:
        return None
    return element._replace(VR=vr) if vr != element.VR and element.VR == "UN" else element


# The instances of a series repeat most kept values (ImageType, PixelSpacing, Manufacturer, Rows...): the verdict
# on each is remembered, bounded, since checking costs more than looking up.
@lru_cache(maxsize=65536)
def _kept_vr(tag: int, encoded: str | None, private_vr: str | None, value: bytes) -> str | None:
    """The VR a kept value goes out with, or None when it must go."""
    vr = stated_vr(tag, encoded, private_vr)
    if vr is None or not conforms(vr, value):
        return None
    if encoded == "UN" and vr in SHORT_VRS and len(value) > 0xFFFF:
        return None  # a short VR cannot say this length
    return vr


def sequence_items(ds: Dataset, key: BaseTag, element: RawDataElement | DataElement,
                   encoding: Encoding) -> list[Dataset]:
    """The items of a sequence, parsed once by `header.read_items` and kept in `ds` for the next walk."""
    if isinstance(element, DataElement):
        return list(element.value)
    items = [new_dataset(Dataset, elements, encoding) for elements in read_items(element)]
    ds._dict[key] = _sequence_element(key, items, element)
    return items


class ParsedSequence(DataElement):
    """A sequence parsed from `raw`. When no item changes, `apply` puts `raw` back: it is written as it came."""

    raw: RawDataElement


# pydicom builds Sequences and DataElements through validating setters, which dominates the cost of an SR
# (hundreds of items); this builds the same object from the state of a real one (pydicom < 4).
_SEQUENCE_STATE = DataElement(0, "SQ", []).__dict__


def _sequence_element(key: BaseTag, items: list[Dataset], raw: RawDataElement) -> ParsedSequence:
    sequence = object.__new__(Sequence)
    sequence.__dict__["_list"] = items
    element = object.__new__(ParsedSequence)
    element.__dict__.update(_SEQUENCE_STATE, tag=key, _value=sequence, raw=raw)
    return element


def is_sequence(tag: int, element: RawDataElement | DataElement) -> bool:
    """SQ by its encoding where the attribute can be one; a time sent as SQ is a time that does not conform."""
    if element.VR == "SQ":
        return tag in SQ_TAGS or dictionary_vrs(tag) is None
    return tag in SQ_TAGS and element.VR in (None, "UN")


class DatasetWalk:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.actions = profile.actions
        # Kept, and not a sequence by the dictionary: the walks skip these without deciding anything.
        self.plain_keep = frozenset(
            tag for tag, action in profile.actions.items() if action is Action.KEEP and tag not in SQ_TAGS
        )
        self.source_tags = source_tags(profile.actions)
        self.cleaned_tags = cleaned_tags(profile.actions)
        self.learned_tags = learned_tags(profile.actions)
        self._scrubs_private = profile.keeps_private and profile.clean_mode is CleanMode.SCRUB

    def decide(self, ds: Dataset, tag: int) -> Action:
        if tag >> 16 & 1:
            return self._private(ds, tag) if self.profile.keeps_private else Action.REMOVE
        # A plain int: looking a BaseTag up in an int-keyed dict would call BaseTag.__eq__ (Python code).
        return self.actions.get(tag) or self.profile.action_for(tag)

    def _private(self, ds: Dataset, tag: int) -> Action:
        element = tag & 0xFFFF
        if not self.profile.keeps_private or element < 0x10 or 0x100 <= element < 0x1000:
            return Action.REMOVE
        if element < 0x100:
            return Action.KEEP  # a private creator: `apply` drops it again unless its block keeps something
        creator_tag = (tag & 0xFFFF0000) | element >> 8
        if creator_tag not in ds._dict:
            return Action.REMOVE
        creator = "".join(text_of(ds, creator_tag))
        return self.profile.private_action(tag >> 16, creator, element & 0xFF)

    def _private_text(self, tag: int, element: RawDataElement | DataElement,
                      private_vr: str | None) -> tuple[RawDataElement | DataElement, Action]:
        """A kept private attribute whose VR is free text is scrubbed, as C scrubs public text: the safe list
        says what the attribute holds, not what a site typed into it. Sent as UN or in implicit VR, it is read as
        the VR the list gives; the rest is kept, and checked, as before."""
        vr = stated_vr(tag, element.VR, private_vr)
        if vr not in FREE_TEXT_VRS:
            return element, Action.KEEP
        if element.VR in (None, "UN") and type(element) is RawDataElement:
            element = element._replace(VR=vr)  # implicit VR reads a private element with no VR, or as UN
        return element, Action.CLEAN

    def _private_vr(self, ds: Dataset, tag: int) -> str | None:
        """What a kept private element must be: LO for a creator, else what Table E.3.10-1 lists, if anything."""
        element = tag & 0xFFFF
        if element < 0x100:
            return "LO"
        creator = "".join(text_of(ds, (tag & 0xFFFF0000) | element >> 8))
        return self.profile.private_vr(tag >> 16, creator, element & 0xFF)

    # -- the instance's own identifiers ---------------------------------------------------------------------
    def own_identifiers(self, ds: Dataset, pieces: set[str], elements: Elements | None = None,
                        texts: Texts | None = None) -> set[str]:
        """Collect, at every depth, the values of the attributes that name someone or something and that this
        profile does not keep (`own_identifiers.source_tags`): read before `apply` removes them.

        Items are read as raw elements and left unparsed in `ds`: most sequences that hold identifiers are
        removed by `apply` without ever being parsed, and building their datasets (with their character set)
        costs more than the rest of the collection."""
        sources = self.source_tags
        for key, element in (ds._dict if elements is None else elements).items():
            tag = int(key)
            if texts is not None and tag in self.learned_tags and element.value:
                _learn_names(ds, element, texts)
            if tag in sources:
                if element.value:
                    pieces.update(_pieces(ds, tag, element))
                    if texts is not None and tag not in self.cleaned_tags:
                        _add_texts(ds, tag, element, texts)
            elif element.VR in _MAYBE_SEQUENCE and is_sequence(tag, element):
                items = [item._dict for item in element.value] if isinstance(element, DataElement) else \
                    read_items(element)
                for item in items:
                    # An item may name its own character set; only then is it worth a dataset of its own.
                    decoder = new_dataset(Dataset, item, character_set(ds)) if _CHARSET in item else ds
                    self.own_identifiers(decoder, pieces, item, texts)
        return pieces

    # -- needs -------------------------------------------------------------------------------------------
    def needs(self, ds: Dataset, needs: Needs, encoding: Encoding | None = None) -> None:
        decide, actions, action_for = self.decide, self.actions, self.profile.action_for
        remove, zero, keep = Action.REMOVE, Action.ZERO, Action.KEEP
        # No copy of the items: the walk only replaces values of existing keys (parsed sequences).
        plain_keep = self.plain_keep
        for key, element in ds._dict.items():
            tag = int(key)
            if tag in plain_keep and element.VR not in _MAYBE_SEQUENCE:
                continue
            action = decide(ds, tag) if tag >> 16 & 1 else actions.get(tag) or action_for(tag)
            if action is remove or action is zero:
                continue
            vr = element.VR
            if vr in _MAYBE_SEQUENCE and is_sequence(tag, element):
                encoding = encoding or character_set(ds)
                for item in sequence_items(ds, key, element, encoding):
                    self.needs(item, needs, encoding)
            elif action is not keep and (vr in _MAYBE_UID or action in _NEEDS_VALUE):
                self._needs_value(ds, tag, element, action, needs)

    def _needs_value(self, ds: Dataset, tag: int, element: RawDataElement | DataElement, action: Action,
                     needs: Needs) -> None:
        if action is Action.PSEUDONYM:
            if PSEUDONYM_KIND[tag] is not IdKind.PATIENT:
                for value in text_values(element, ds):
                    if value:
                        needs.add(PSEUDONYM_KIND[tag], value)
        elif vr_of(tag, element) == "UI":
            for value in text_values(element, ds):
                if value and not is_registered_uid(value):
                    needs.add(IdKind.UID, value)

    # -- apply -------------------------------------------------------------------------------------------
    def apply(self, ds: Dataset, rewrite: Rewrite, layout: Layout, path: Path = (), dummy: bool = False,
              encoding: Encoding | None = None, own: Matcher | None = None) -> bool:
        """De-identify `ds` in place and say whether anything changed.

        `dummy` is set inside a sequence whose action is D: kept text there becomes a dummy too, so that
        e.g. the CodeMeaning of an InstitutionCodeSequence item cannot carry the institution's name."""
        elements = ds._dict
        kept_blocks: set[int] = set()
        changed = False
        decide, remove, keep = self.decide, Action.REMOVE, Action.KEEP
        plain_keep = frozenset() if dummy else self.plain_keep
        for key, element in list(elements.items()):
            tag = int(key)
            if tag in plain_keep and element.VR not in _MAYBE_SEQUENCE:
                changed |= _keep(ds, key, tag, element, path, own)
                continue
            action = decide(ds, tag)
            if action is remove:
                del elements[key]
                changed = True
                continue
            if tag >> 16 & 1 and tag & 0xFFFF >= 0x1000:
                kept_blocks.add((tag & 0xFFFF0000) | (tag & 0xFFFF) >> 8)
            if action is keep and not dummy and not (element.VR in _MAYBE_SEQUENCE and is_sequence(tag, element)):
                private_vr = self._private_vr(ds, tag) if tag >> 16 & 1 else None
                if self._scrubs_private and tag >> 16 & 1 and tag & 0xFFFF >= 0x1000:
                    element, action = self._private_text(tag, element, private_vr)
                if action is keep:
                    changed |= _keep(ds, key, tag, element, path, own, private_vr)
                    continue
            try:
                changed |= self._apply_element(ds, key, element, action, rewrite, layout, (*path, tag), dummy,
                                               encoding, own)
            except Withheld:
                raise
            except MappingMissing as missing:
                raise Withheld(f"mapping-missing-{missing.kind} {tag_path((*path, tag))}") from None
            except NonConforming:
                del elements[key]  # a value that cannot be parsed is removed, never passed on or rewritten
                changed = True
            except Exception as error:
                where = tag_path((*path, tag))
                log.warning("unprocessable element %s (%s)", where, type(error).__name__)
                raise Withheld(f"unprocessable {where}") from None
        if kept_blocks or self.profile.keeps_private:
            for key in [key for key in elements if key >> 16 & 1 and key & 0xFFFF < 0x100]:
                if int(key) not in kept_blocks:
                    del elements[key]
                    changed = True
        return changed

    def _apply_element(self, ds: Dataset, key: BaseTag, element: RawDataElement | DataElement, action: Action,
                       rewrite: Rewrite, layout: Layout, path: Path, dummy: bool, encoding: Encoding | None,
                       own: Matcher | None) -> bool:
        tag = int(key)
        if is_sequence(tag, element):
            if action is Action.ZERO:
                ds._dict[key] = layout.raw(tag, "SQ", b"")
                return True
            encoding = encoding or character_set(ds)  # only now: it costs more than a whole element
            changed = False
            for index, item in enumerate(sequence_items(ds, key, element, encoding)):
                changed |= self.apply(item, rewrite, layout, (*path, index), dummy or action is Action.DUMMY, encoding,
                                      own)
            parsed = ds._dict[key]
            if not changed and isinstance(parsed, ParsedSequence):
                ds._dict[key] = parsed.raw
            return changed
        vr = vr_of(tag, element)
        if action is Action.KEEP:
            if not (dummy and vr in DUMMY_CONTEXT_VRS):
                return _keep(ds, key, tag, element, path[:-1], own)
            action = Action.DUMMY
        if action is Action.CLEAN and (element.VR == "UN" or stated_vr(tag, element.VR) is None):
            # Cleaning starts from the value: one that is not the attribute's goes, and so does UN, whose
            # bytes have no VR or character set to read them by (scrubbing would keep what it cannot read).
            raise NonConforming()
        if vr in BULK_VRS or vr in BINARY_NUMBER_VRS:
            if action is Action.CLEAN:  # a bitmap or numbers cannot be cleaned, only removed
                raise NonConforming()
            ds._dict[key] = layout.raw(tag, vr, _binary_value(vr, action, layout, path))
            return True
        if type(element) is RawDataElement:
            # A scrubbed value depends on the instance's identifiers too, which a patient's studies do not share.
            context = rewrite.identifiers if action is Action.CLEAN else None
            memo_key = (rewrite.patient, tag, vr, action, element.value or b"", context)
            value = rewrite.memo.get(memo_key)
            if value is None:
                value = rewrite.memo[memo_key] = self._new_text(ds, tag, element, vr, action, rewrite)
        else:
            value = self._new_text(ds, tag, element, vr, action, rewrite)
        ds._dict[key] = layout.raw(tag, vr, value)
        return True

    def _new_text(self, ds: Dataset, tag: int, element: RawDataElement | DataElement, vr: str, action: Action,
                  rewrite: Rewrite) -> bytes:
        scrubbing = action is Action.CLEAN and rewrite.identifiers is not None
        new = rewrite.text(tag, action, vr, self._old_values(ds, element, vr, action, scrubbing))
        if not scrubbing:
            return text_value(new, vr)
        value = scrubbed_value(new, vr, ds)
        if rewrite.guard is not None and rewrite.guard.in_bytes(value):
            raise NonConforming()  # as the text check in `Rewrite.scrubbed`, on the bytes that would go out
        return value

    @staticmethod
    def _old_values(ds: Dataset, element: RawDataElement | DataElement, vr: str, action: Action,
                    scrubbing: bool) -> list[str]:
        """Decode the old value only where the new one depends on it: free text only when it is scrubbed."""
        if vr in ASCII_VRS or scrubbing or action is Action.PSEUDONYM or action is Action.REPLACE_UID:
            return text_values(element, ds)
        return [PRESENT] if element.value else []


def _keep(ds: Dataset, key: BaseTag, tag: int, element: RawDataElement | DataElement, path: Path,
          own: Matcher | None, private_vr: str | None = None) -> bool:
    """Keep `element` if it is what its tag says, conforms, and holds none of the instance's own identifiers;
    say whether the dataset changed."""
    elements = ds._dict
    kept = kept_element(tag, element, private_vr)
    if kept is not None and own is not None and _holds(own, ds, tag, kept):
        kept = None
    if kept is element:
        return False
    if kept is None:
        if not path and tag in TYPE_1:
            raise Withheld(f"non-conforming-type-1 {tag_path((tag,))}")
        if tag == 0x00080005:  # SpecificCharacterSet
            # Every text of the data set was read by it: without it, none of them can be trusted to say what it says.
            raise Withheld(f"non-conforming-character-set {tag_path((*path, tag))}")
        del elements[key]
    else:
        elements[key] = kept
    return True


def _holds(own: Matcher, ds: Dataset, tag: int, element: RawDataElement | DataElement) -> bool:
    """Whether a kept value holds an identifier: in its bytes (in the encodings a careless writer uses, whatever
    the character set says), or as text in the dataset's own character set."""
    value = element.value
    if not isinstance(value, bytes) or len(value) < MIN_BYTES:
        return False  # made by the engine or pydicom from checked values, or too short to hold any piece
    if own.in_bytes(value):
        return True
    if value.isascii():
        return False
    vr = vr_of(tag, element)
    return vr not in BULK_VRS and vr not in BINARY_NUMBER_VRS and own.in_text("\\".join(text_values(element, ds)))


def _binary_value(vr: str, action: Action, layout: Layout, path: Path) -> bytes:
    if action is Action.ZERO:
        return b""
    if action is Action.DUMMY and vr in BINARY_NUMBER_VRS:
        return number_value(vr, 0, layout)
    raise Withheld(f"no-{action.name.lower()}-for-{vr} {tag_path(path)}")
