"""How many answers the process may hold whole at once, before the first byte goes out.

Holding an answer (a frames answer of a few MB) lets the gateway send it with its length in one go and turn an
origin's failure into a clean error status. Held by every request at once it is memory that grows with the
number of viewers: twenty OHIF clients at six connections each held 120 frames together, and the soak's RSS
rose by 70 MB. Past the budget an answer streams, as every larger answer does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class HoldBudget:
    def __init__(self, slots: int) -> None:
        self._free = slots

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Whether this answer may be held (a slot taken until the block ends), or must stream."""
        taken = self._free > 0
        self._free -= taken
        try:
            yield taken
        finally:
            self._free += taken
