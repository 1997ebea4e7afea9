"""A DICOM JSON answer (PS3.18 F.2: an array of objects) cut into its objects as the bytes arrive, so that
series and study metadata are de-identified and sent one object at a time and memory holds one object, not the
whole answer.

    stream = JsonArrayStream(limit)
    for chunk in chunks:
        for piece in stream.feed(chunk):  # each top-level object's bytes, as they arrived
            obj = parse_object(piece)
    stream.close()                        # raises unless the array was closed

Only the outer structure is read here: the array's brackets and commas, and where each top-level object ends,
which takes knowing what is inside a string. That is found for a whole chunk at once with numpy: the quotes
no backslash escapes and the braces are located, a brace with an odd number of quotes before it is inside a
string, and the others move the depth; so the cost is a few passes over the bytes, not a Python step per
character. Each object is then parsed by orjson (`parse_object`, which the caller runs when it has room: the
bytes are several times smaller than the objects they parse into), and orjson checks everything else.
Anything but `[`, objects separated by commas, `]` and whitespace is the origin's fault: UpstreamProtocolError,
and nothing of the answer should pass (the caller aborts a response already begun).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from gateway.errors import UpstreamProtocolError

JsonObject = dict[str, Any]

_QUOTE, _BACKSLASH, _OPEN, _CLOSE = 0x22, 0x5C, 0x7B, 0x7D
_PIECE = 64 * 1024  # bytes scanned at once: numpy's working arrays stay small and in cache whatever the chunk


class JsonArrayStream:
    """The state carried from one chunk to the next: whether the array opened, what the bytes of the object in
    progress are, the depth and string state at the chunk's end, and whether its last byte escapes the next."""

    def __init__(self, limit: int) -> None:
        self._limit = limit  # bytes of one object
        self._opened = self._closed = False
        self._expect_object = True  # after [ or a comma; False after an object
        self._commas = 0
        self._pending: list[bytes] = []  # the object in progress, as received
        self._pending_size = 0
        self._depth = 0
        self._in_string = False
        self._escaped = False  # the next byte is escaped (a chunk ended on an odd run of backslashes)

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        for start in range(0, len(chunk), _PIECE):
            out += self._feed(chunk[start : start + _PIECE])
        return out

    def _feed(self, chunk: bytes) -> list[bytes]:
        data = np.frombuffer(chunk, dtype=np.uint8)
        quotes = self._unescaped(chunk, np.flatnonzero(data == _QUOTE))
        braces = np.flatnonzero((data == _OPEN) | (data == _CLOSE))
        # A brace is inside a string when an odd number of quotes (with the carried state) stands before it.
        braces = braces[((np.searchsorted(quotes, braces) + self._in_string) & 1) == 0]
        steps = np.where(data[braces] == _OPEN, 1, -1)
        depth = self._depth + np.cumsum(steps)
        if depth.size and depth.min() < 0:
            raise UpstreamProtocolError("the origin's DICOM JSON has an unbalanced brace")
        starts = braces[(steps == 1) & (depth == 1)]
        ends = braces[(steps == -1) & (depth == 0)]
        out = self._cut(chunk, starts.tolist(), ends.tolist())
        if depth.size:
            self._depth = int(depth[-1])
        self._in_string = bool((len(quotes) + self._in_string) & 1)
        return out

    def close(self) -> None:
        """The answer ended: it must have been a whole array (or nothing at all, which is no match)."""
        if self._pending_size or self._depth or self._in_string:
            raise UpstreamProtocolError("the origin's DICOM JSON ended inside an object")
        if self._opened and not self._closed:
            raise UpstreamProtocolError("the origin's DICOM JSON array was not closed")

    def _unescaped(self, chunk: bytes, quotes: np.ndarray) -> np.ndarray:
        """The quotes no backslash escapes. DICOM JSON rarely holds a backslash, so the runs are walked in
        Python; a run ending the chunk escapes the next chunk's first byte."""
        escaped: list[int] = []
        carried, self._escaped = self._escaped, False
        if carried:
            escaped.append(0)  # and a backslash there is a literal one, which starts no run
        position = chunk.find(b"\\", 1 if carried else 0)
        while position >= 0:
            end = position
            while end < len(chunk) and chunk[end] == _BACKSLASH:
                end += 1
            if (end - position) % 2:
                if end == len(chunk):
                    self._escaped = True
                else:
                    escaped.append(end)
            position = chunk.find(b"\\", end)
        return np.setdiff1d(quotes, escaped, assume_unique=True) if escaped else quotes

    def _cut(self, chunk: bytes, starts: list[int], ends: list[int]) -> list[bytes]:
        """The objects that end in this chunk, in order; what stands between them (at depth 0, outside every
        object) must be the array's own structure, and the start of an object still open is held."""
        out: list[bytes] = []
        position = 0
        if self._depth:  # an object in progress from an earlier chunk ends first, if it ends here
            if not ends:
                self._hold(chunk)
                return out
            out.append(self._object(chunk[: ends[0] + 1]))
            position, ends = ends[0] + 1, ends[1:]
        for index, start in enumerate(starts):
            self._between(chunk[position:start])
            if not self._opened or self._closed or not self._expect_object:
                raise UpstreamProtocolError("the origin's DICOM JSON is not an array of objects")
            if index == len(ends):  # the last object goes on in the next chunk
                self._hold(chunk[start:])
                return out
            out.append(self._object(chunk[start : ends[index] + 1]))
            position = ends[index] + 1
        self._between(chunk[position:])
        return out

    def _between(self, gap: bytes) -> None:
        for byte in gap.translate(None, b" \t\r\n"):
            self._structure(byte)

    def _structure(self, byte: int) -> None:
        if byte == ord("[") and not self._opened:
            self._opened = True
        elif byte == ord(",") and self._opened and not self._closed and not self._expect_object:
            self._expect_object = True
            self._commas += 1
        elif byte == ord("]") and self._opened and not self._closed and (not self._expect_object or not self._commas):
            self._closed = True
        else:
            raise UpstreamProtocolError("the origin's DICOM JSON is not an array of objects")

    def _hold(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size > self._limit:
            raise UpstreamProtocolError("the origin sent a larger DICOM JSON object than expected")

    def _object(self, tail: bytes) -> bytes:
        if self._pending:
            self._hold(tail)
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        elif len(tail) > self._limit:
            raise UpstreamProtocolError("the origin sent a larger DICOM JSON object than expected")
        else:
            data = tail
        self._expect_object = False
        return data


def parse_object(data: bytes) -> JsonObject:
    """One object's bytes as `JsonArrayStream.feed` cut them, parsed; anything but a JSON object is refused."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError("the origin's answer is not valid JSON") from None
    if not isinstance(obj, dict):
        raise UpstreamProtocolError("the origin's answer is not a DICOM JSON array")
    return obj
