"""One client exchange as it moves through the stages: who asked, as which role, for which transaction."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.core.auth import Principal
from gateway.core.roles import Role
from gateway.core.target import Target
from gateway.core.transactions import Transaction
from gateway.core.urls import UrlMap


@dataclass(frozen=True)
class Exchange:
    request: web.Request
    transaction: Transaction
    principal: Principal
    role: Role
    urls: UrlMap
    target: Target

    @property
    def upstream_path(self) -> str:
        """The request's path under the DICOMweb root, rebuilt from its validated parts (never the raw path)."""
        return self.target.path


DICOMWEB_ROOT = "/dicom-web"
