"""One client exchange as it moves through the stages: who asked, as which role, for which transaction."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.auth import Principal
from gateway.roles import Role
from gateway.transactions import Transaction
from gateway.urls import UrlMap


@dataclass(frozen=True)
class Exchange:
    request: web.Request
    transaction: Transaction
    principal: Principal
    role: Role
    urls: UrlMap

    @property
    def upstream_path(self) -> str:
        """The request's own path under the DICOMweb root, still percent-encoded as the client sent it."""
        return self.request.rel_url.raw_path[len(DICOMWEB_ROOT) :]


DICOMWEB_ROOT = "/dicom-web"
