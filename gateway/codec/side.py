"""Which side of the proxy a byte stream came from, and the error each side earns.

The same parsing fault is the client's fault on a STOW-RS request (4xx) and the origin's fault on a WADO-RS
response (502). Parsers take `side` as a keyword and build their errors here, so the mapping lives in one place.
"""

from __future__ import annotations

from typing import Literal

from gateway.errors import BadRequest, GatewayError, PayloadTooLarge, UpstreamProtocolError

Side = Literal["client", "upstream"]


def malformed(side: Side, message: str) -> GatewayError:
    """A body or header that cannot be parsed. `message` must not hold any received value."""
    return BadRequest(message) if side == "client" else UpstreamProtocolError(message)


def too_large(side: Side, message: str) -> GatewayError:
    """A part larger than the caller allowed: the client asked too much, or the origin broke our contract."""
    return PayloadTooLarge(message) if side == "client" else UpstreamProtocolError(message)
