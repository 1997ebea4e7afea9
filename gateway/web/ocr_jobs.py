"""The OCR reads in flight (gateway.web.handlers.ocr_verdicts), each with its handle."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from gateway.core.rules.burned_text import BurnedText

AHEAD = 32  # reads started ahead that may wait at once
Key = tuple[str, str]  # profile version, SOP Instance UID


class OcrJobs:
    """The reads in flight, one per instance and profile version, each with its handle: a request and a read ahead
    of the same instance share one read, and the cleanup context cancels what is left."""

    def __init__(self, ahead: int = AHEAD) -> None:
        self._tasks: dict[Key, asyncio.Task[BurnedText]] = {}
        self._ahead = ahead

    def get(self, key: Key) -> asyncio.Task[BurnedText] | None:
        return self._tasks.get(key)

    def start(self, key: Key, read: Coroutine[Any, Any, BurnedText], *, ahead: bool = False) -> bool:
        """Start a read (a read ahead only while fewer than `AHEAD` are in flight); False when not started."""
        if key in self._tasks or (ahead and len(self._tasks) >= self._ahead):
            read.close()
            return False
        task = asyncio.get_running_loop().create_task(read)
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))
        return True

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
