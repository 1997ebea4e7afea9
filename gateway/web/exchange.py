"""One client exchange as it moves through the stages: who asked, as which role, for which transaction, and
(for a de-identifying role) its Audit: who is withdrawn, and what the response discloses."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.core.auth import Principal
from gateway.core.governance.disclosure import Audit
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
    audit: Audit | None = None  # the governance side, for de-identifying roles only

    @property
    def upstream_path(self) -> str:
        """The request's path under the DICOMweb root, rebuilt from its validated parts (never the raw path)."""
        return self.target.path


DICOMWEB_ROOT = "/dicom-web"
