"""The DICOMweb resources the gateway serves, named with PS3.18 transaction words.

One table fixes every route: its method, its path under /dicom-web, the transaction it is, and the
permission a role needs to use it. Handlers are chosen by the transaction's `kind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    SEARCH = "search"
    RETRIEVE = "retrieve"
    STORE = "store"


class Kind(StrEnum):
    SEARCH = "search"  # QIDO-RS: DICOM JSON array
    INSTANCES = "instances"  # WADO-RS study/series/instance retrieve: multipart application/dicom
    METADATA = "metadata"  # WADO-RS metadata: DICOM JSON array
    FRAMES = "frames"  # WADO-RS frames and bulkdata: multipart octet-stream
    RENDERED = "rendered"  # WADO-RS rendered: a consumer image
    THUMBNAIL = "thumbnail"
    STORE = "store"  # STOW-RS


@dataclass(frozen=True)
class Transaction:
    name: str
    method: str
    path: str  # aiohttp route template under /dicom-web
    kind: Kind

    @property
    def permission(self) -> Permission:
        if self.kind is Kind.SEARCH:
            return Permission.SEARCH
        return Permission.STORE if self.kind is Kind.STORE else Permission.RETRIEVE


_STUDY = "/studies/{study}"
_SERIES = _STUDY + "/series/{series}"
_INSTANCE = _SERIES + "/instances/{instance}"
_FRAMES = _INSTANCE + "/frames/{frames}"

TRANSACTIONS: tuple[Transaction, ...] = (
    Transaction("search_for_studies", "GET", "/studies", Kind.SEARCH),
    Transaction("search_for_series", "GET", _STUDY + "/series", Kind.SEARCH),
    Transaction("search_for_instances", "GET", _SERIES + "/instances", Kind.SEARCH),
    Transaction("search_for_instances", "GET", _STUDY + "/instances", Kind.SEARCH),
    Transaction("search_for_series", "GET", "/series", Kind.SEARCH),
    Transaction("search_for_instances", "GET", "/instances", Kind.SEARCH),
    Transaction("retrieve_study", "GET", _STUDY, Kind.INSTANCES),
    Transaction("retrieve_series", "GET", _SERIES, Kind.INSTANCES),
    Transaction("retrieve_instance", "GET", _INSTANCE, Kind.INSTANCES),
    Transaction("retrieve_study_metadata", "GET", _STUDY + "/metadata", Kind.METADATA),
    Transaction("retrieve_series_metadata", "GET", _SERIES + "/metadata", Kind.METADATA),
    Transaction("retrieve_instance_metadata", "GET", _INSTANCE + "/metadata", Kind.METADATA),
    Transaction("retrieve_instance_frames", "GET", _FRAMES, Kind.FRAMES),
    # Orthanc's BulkDataURIs point at .../instances/{i}/bulk/{tag path}; PS3.18 also names .../bulkdata.
    Transaction("retrieve_bulkdata", "GET", _INSTANCE + "/bulk/{tagpath:[0-9A-Fa-f./]+}", Kind.FRAMES),
    Transaction("retrieve_bulkdata", "GET", _INSTANCE + "/bulkdata", Kind.FRAMES),
    Transaction("retrieve_rendered_study", "GET", _STUDY + "/rendered", Kind.RENDERED),
    Transaction("retrieve_rendered_series", "GET", _SERIES + "/rendered", Kind.RENDERED),
    Transaction("retrieve_rendered_instance", "GET", _INSTANCE + "/rendered", Kind.RENDERED),
    Transaction("retrieve_rendered_frames", "GET", _FRAMES + "/rendered", Kind.RENDERED),
    Transaction("retrieve_study_thumbnail", "GET", _STUDY + "/thumbnail", Kind.THUMBNAIL),
    Transaction("retrieve_series_thumbnail", "GET", _SERIES + "/thumbnail", Kind.THUMBNAIL),
    Transaction("retrieve_instance_thumbnail", "GET", _INSTANCE + "/thumbnail", Kind.THUMBNAIL),
    Transaction("retrieve_frames_thumbnail", "GET", _FRAMES + "/thumbnail", Kind.THUMBNAIL),
    Transaction("store_instances", "POST", "/studies", Kind.STORE),
    Transaction("store_instances", "POST", _STUDY, Kind.STORE),
)
