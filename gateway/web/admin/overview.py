"""The console's overview: this process's last hour per minute (requests per role, withheld objects by reason,
errors by kind, p50/p95 latency), from the gateway's own counters (history.py), no Prometheus needed.

    GET /admin/overview    {minutes, requests, withheld, errors, latency, pid}
"""

from __future__ import annotations

import os

from aiohttp import web

from gateway import metrics
from gateway.web.admin.body import json_answer
from gateway.web.state import RequestHandler


async def overview(request: web.Request) -> web.Response:
    return json_answer({**metrics.HISTORY.series(), "pid": os.getpid()})


ROUTES: tuple[tuple[str, str, RequestHandler, str], ...] = (("GET", "/overview", overview, "overview"),)
