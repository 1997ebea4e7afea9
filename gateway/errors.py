"""The gateway's one error tree.

Every error carries the HTTP status a client sees and a public message that never holds an identifying value
(no element values, no UIDs, no patient data). Other libraries' errors (aiohttp, redis, pydicom) are
translated into this tree at the adapter that calls them.

    GatewayError
    ├── ConfigError            start-up or reload configuration is invalid (file, key, reason)
    ├── ClientError            the request is at fault
    │   ├── BadRequest              400
    │   ├── Unauthenticated         401
    │   ├── Forbidden               403
    │   ├── NotFound                404
    │   ├── NotAcceptable           406
    │   ├── PayloadTooLarge         413
    │   ├── UnsupportedMediaType    415
    │   ├── IrreversibleScope       409, a reverse lookup an anonymized scope does not allow
    │   └── VersionConflict         409, a profile update based on a version that is no longer current
    ├── UpstreamError          the origin server failed us
    │   ├── UpstreamUnavailable     502 (connection refused or cut)
    │   ├── UpstreamTimeout         504
    │   ├── UpstreamStatus          the origin's own 4xx, passed on; its 5xx becomes 502
    │   └── UpstreamProtocolError   502 (a body we cannot parse)
    ├── StoreUnavailable       503, the pseudonym store cannot be reached in time
    │   └── GovernanceUnavailable   503, the opt-out registry, ledger or profile records cannot be used
    ├── KeyMismatch            503, a wrapped key or sealed value that the secret does not open
    ├── PseudonymsExhausted    503, every candidate pseudonym of a value is taken (the scheme is too short)
    ├── UnmigratedStore        503, a store in the clear layout of an earlier version
    ├── ProfileSyncFailed      503, a stored role profile does not compile here: the role is not served
    ├── Part10Error            502, the codec cannot stream these bytes as Part 10 (the core decides what
    │   │                           that means for the instance: gateway.core.instance.judged)
    │   ├── MalformedPart10         bytes that do not parse (truncated, no DICM prefix, an unknown syntax)
    │   └── UnstreamablePart10      valid, but not as a stream (deflated, a header or trailer beyond its limit)
    ├── OcrFailed              500, burned-in text could not be read (not an image, Tesseract failing): the
    │   │                           caller withholds the instance (gateway.web.handlers.ocr_verdicts)
    │   └── OcrTimeout              no verdict in time, which withholds too
    └── DeidentificationError  500, the engine could not fully process something
        ├── MappingMissing          a value the engine asked for was never resolved (a bug: it fails closed)
        └── Withheld                an instance left out on purpose, with a reason
            └── Unreadable          502, bytes that do not parse as DICOM: in a stream, the response aborts
"""

from __future__ import annotations

from typing import Self


class GatewayError(Exception):
    status = 500
    public_message = "internal gateway error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.public_message)
        if message is not None:
            self.public_message = message


class ConfigError(GatewayError):
    """A configuration or role-profile problem, always naming where it is."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"{file}: {key}: {reason}")


class ClientError(GatewayError):
    status = 400
    public_message = "bad request"


class BadRequest(ClientError):
    status = 400
    public_message = "bad request"


class Unauthenticated(ClientError):
    status = 401
    public_message = "missing or unknown credentials"


class Forbidden(ClientError):
    status = 403
    public_message = "this role may not use this resource"


class NotFound(ClientError):
    status = 404
    public_message = "not found"


class NotAcceptable(ClientError):
    status = 406
    public_message = "none of the acceptable media types can be served"


class PayloadTooLarge(ClientError):
    status = 413
    public_message = "request body too large"


class UnsupportedMediaType(ClientError):
    status = 415
    public_message = "unsupported request media type"


class UpstreamError(GatewayError):
    status = 502
    public_message = "the origin server failed"


class UpstreamUnavailable(UpstreamError):
    status = 502
    public_message = "the origin server cannot be reached"


class UpstreamTimeout(UpstreamError):
    status = 504
    public_message = "the origin server did not answer in time"


class UpstreamStatus(UpstreamError):
    """The origin answered with an error status. 4xx passes on as is; 5xx becomes 502."""

    def __init__(self, upstream_status: int) -> None:
        self.upstream_status = upstream_status
        self.status = upstream_status if 400 <= upstream_status < 500 else 502
        super().__init__(f"the origin server answered {upstream_status}")


class UpstreamProtocolError(UpstreamError):
    status = 502
    public_message = "the origin server sent a body the gateway cannot parse"


class StoreUnavailable(GatewayError):
    status = 503
    public_message = "the pseudonym store is unavailable"

    @classmethod
    def because(cls, kind: str) -> Self:
        """The error with what failed named by its kind (an exception's type, never its text: a store error can
        quote keys and arguments)."""
        return cls(f"{cls.public_message} ({kind})")


class OcrFailed(GatewayError):
    """Burned-in text could not be read; the message is a reason code, never text that was read."""


class OcrTimeout(OcrFailed):
    """OCR gave no verdict in time."""


class DeidentificationError(GatewayError):
    status = 500
    public_message = "the gateway could not de-identify the data"


class Withheld(DeidentificationError):
    """An instance deliberately left out. `reason` is a short code plus tag path, never a value."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"withheld: {reason}")


class Unreadable(Withheld):
    """An instance whose bytes cannot be parsed (truncated, not DICOM, an unknown or deflated syntax).

    Unlike a withheld instance, it is not left out quietly: the client would take the study for whole. Before
    the response starts it is a 502; after, the stream is cut without its closing boundary."""

    status = 502
    public_message = "the origin sent an instance the gateway cannot parse"


class Part10Error(GatewayError):
    """Raised by the codec only. `reason` is a short description of the fault, never a value."""

    status = 502
    public_message = "the origin sent an instance the gateway cannot parse"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the instance cannot be streamed: {reason}")


class MalformedPart10(Part10Error):
    pass


class UnstreamablePart10(Part10Error):
    pass


class MappingMissing(DeidentificationError):
    """The engine asked for a value that was never resolved: a programming error, and it fails closed."""

    public_message = "the gateway could not de-identify the data (a value was never resolved)"

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__()


# -- the stores ---------------------------------------------------------------------------------------------
class IrreversibleScope(ClientError):
    """An anonymized (irreversible) scope keeps no reverse map except for UIDs, which routing needs."""

    status = 409
    public_message = "this role's pseudonyms are irreversible: they cannot be mapped back to real values"


class KeyMismatch(GatewayError):
    """A wrapped key or a sealed value does not open: another secret made it, or it was altered."""

    status = 503
    public_message = "the gateway's store was sealed under another secret; check GATEWAY_SECRET"


class PseudonymsExhausted(GatewayError):
    """Every candidate of a value is another value's pseudonym: the scope's pseudonyms are too short."""

    status = 503
    public_message = "no free pseudonym is left for this scope; lengthen its pseudonym scheme"


class GovernanceUnavailable(StoreUnavailable):
    # Same prefix as the pseudonym store's message: by default both live in the same store.
    public_message = "the pseudonym store is unavailable (governance records)"


class VersionConflict(ClientError):
    status = 409
    public_message = "the profile changed since it was read: reload it and apply the edit again"


class ProfileSyncFailed(GatewayError):
    status = 503
    public_message = "a stored role profile does not compile on this replica"


class UnmigratedStore(GatewayError):
    """Not a StoreUnavailable: waiting does not help, and start-up refuses it instead of carrying on."""

    status = 503
    public_message = (
        "the store holds records in the clear layout of an earlier version: "
        "run `dicomweb-gateway store migrate` with the gateways stopped"
    )
