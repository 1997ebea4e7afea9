"""What bench_soak.py and bench_rss_curve.py share: the store a benchmark gateway runs on, and the gateway's
processes and their memory as /proc tells it (never as the gateway reports it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from support.gateway_server import GatewayProcess
from support.redis_server import RedisServer

STORES = ("sqlite", "redis")


@contextmanager
def store_url(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh store of `kind` in `workdir`: a SQLite file, or a private redis-server stopped on exit."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'store.sqlite3'}"
        return
    server = RedisServer(workdir / "redis")
    server.dir.mkdir(parents=True)
    server.start()
    try:
        yield server.url
    finally:
        server.close()


def serving_pids(gateway: GatewayProcess, workers: int) -> list[int]:
    """The processes that serve: the gateway itself, or with workers above 1 those of its children that listen
    on its port (the parent only supervises, and multiprocessing adds a resource tracker: both reported apart)."""
    assert gateway.process is not None
    if workers == 1:
        return [gateway.process.pid]
    return [child.pid for child in psutil.Process(gateway.process.pid).children() if _listens(child, gateway.port)]


def _listens(process: psutil.Process, port: int) -> bool:
    sockets = process.net_connections("tcp")
    return any(s.status == psutil.CONN_LISTEN and s.laddr and s.laddr.port == port for s in sockets)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/PID/status in MB: VmRSS (resident now) or VmHWM (the peak of VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"{field} is not in /proc/{pid}/status")
