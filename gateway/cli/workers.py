"""`serve` with `workers: N` above 1: N gateway processes on one port, and this parent supervising them.

Each worker is a whole gateway (its own event loop, upstream pool, store clients and caches) that binds the port
with SO_REUSEPORT, so the kernel spreads new connections over the N listening sockets; nothing is handed from
process to process, and the parent serves nothing. They share state only through Redis, which the settings
require for workers above 1 (`settings._check_workers`).

- Workers are spawned, not forked: a fresh interpreter inherits no event loop, thread or open store client of
  the parent by accident.
- SIGTERM or SIGINT to the parent sends SIGTERM to every worker, which stops as a lone gateway does (aiohttp
  lets requests in flight finish, then the cleanup contexts close the stores); the parent exits 0.
- A worker that exits on its own makes the parent stop the others and exit non-zero (the worker's own status
  when it gave one, such as 2 for a configuration error found at start-up, else 1). A gateway never serves on
  with fewer workers than configured: whatever restarts it (systemd, the container runtime) sees it fail.
- A parent that is killed outright (SIGKILL, the OOM killer) takes its workers with it: each asks the kernel
  for SIGTERM when its parent dies (PR_SET_PDEATHSIG), which is why workers above 1 need Linux, whose
  SO_REUSEPORT is also the one that balances connections.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

from gateway import logs
from gateway.errors import ConfigError
from gateway.settings import Settings
from gateway.web.app import run

log = logging.getLogger("gateway")

# aiohttp's run_app gives requests in flight 60 s (shutdown_timeout) before the cleanup contexts run.
STOP_GRACE_S = 75.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1


def supervise(settings: Settings) -> int:
    """Run `settings.workers` workers until a stop signal (0) or until one of them exits (non-zero)."""
    if sys.platform != "linux":
        raise ConfigError(settings.source, "workers", "more than 1 needs Linux (SO_REUSEPORT, PR_SET_PDEATHSIG)")
    logs.configure(settings.log_level)
    signalled = _signal_pipe()
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_work, args=(settings, number, os.getpid()), name=f"gateway-worker-{number}",
                        daemon=True)
        for number in range(settings.workers)
    ]  # fmt: skip
    for worker in workers:
        worker.start()
    log.info("workers started", extra={"count": len(workers), "pid": os.getpid()})
    ready = wait([signalled, *(worker.sentinel for worker in workers)])
    if signalled in ready:
        log.info("stop signal: stopping the workers", extra={"count": len(workers)})
        status = 0
    else:
        status = _failure(workers, ready)
    _stop(workers)
    return status


def _signal_pipe() -> int:
    """A pipe the stop signals write to (signal.set_wakeup_fd), so one wait() sees a signal or a worker's exit."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    for number in _STOP_SIGNALS:
        signal.signal(number, lambda *_: None)  # the byte in the pipe is the message; the default would kill us
    return read_end


def _failure(workers: Sequence[BaseProcess], ready: Sequence[object]) -> int:
    number, exited = next((n, worker) for n, worker in enumerate(workers) if worker.sentinel in ready)
    exited.join()  # its sentinel closes a moment before the kernel has its exit status
    code = exited.exitcode
    log.error("worker exited: stopping the gateway", extra={"worker": number, "pid": exited.pid, "exit_status": code})
    return code if code is not None and code > 0 else 1


def _stop(workers: Sequence[BaseProcess]) -> None:
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            log.warning("worker did not stop in time: killed", extra={"pid": worker.pid})
            worker.kill()
            worker.join()


def _work(settings: Settings, number: int, parent: int) -> None:
    """One worker: serve like a lone gateway, on a shared port, for as long as its parent lives."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request above took effect
        return
    try:
        run(settings, worker=number)
    except ConfigError as exc:  # found at start-up (a store under another secret, say): reported as `serve` does
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
