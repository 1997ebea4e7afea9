"""Keyed derivation of pseudonymous values: the same data key, scope and real value always give the same
candidates, so values stay stable across replicas and even if the store is lost.

The store still records which value each pseudonym names, because stored values win: a value created elsewhere
(for example a UID an AI service minted and STOW recorded) must keep resolving, a pseudonym must name one value
only (collisions), and reverse lookups need a record.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from gateway.core.pseudonyms.model import IdKind, PseudonymScheme, ScopeSpec

# Crockford base32: upper case, no I, L, O or U, so pseudonyms survive being read aloud or retyped.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SH_MAX = 16  # AccessionNumber and StudyID are SH: at most 16 characters
UID_MAX = 64
_UID_ROOT = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
# A derived UID needs enough digest digits to make collisions negligible; 30 digits are about 100 bits.
_MIN_UID_DIGITS = 30


def check_scheme(scheme: PseudonymScheme) -> None:
    """Raise ValueError if a scheme cannot produce valid, unambiguous values."""
    if not _UID_ROOT.fullmatch(scheme.uid_root):
        raise ValueError("uid_root must be digits and dots, with no leading zeros in a component")
    if UID_MAX - len(scheme.uid_root) - 1 < _MIN_UID_DIGITS:
        raise ValueError(f"uid_root is too long: new UIDs need at least {_MIN_UID_DIGITS} digits of digest")
    if not 1 <= scheme.patient_length <= 51:  # 51 base32 characters use up the 256-bit digest
        raise ValueError("patient_length must be between 1 and 51")
    for name in ("accession_prefix", "study_id_prefix"):
        if len(getattr(scheme, name)) > SH_MAX - 8:  # keep at least 40 bits of digest in an SH value
            raise ValueError(f"{name} must leave at least 8 of the 16 SH characters for the digest")
    if scheme.max_date_shift_days < 1:
        raise ValueError("max_date_shift_days must be at least 1")


def derive(key: bytes, scope: ScopeSpec, kind: IdKind, real: str, attempt: int = 0) -> str:
    """Candidate number `attempt` for a real value, made with the data key of the scope's key version.

    Candidate 0 is what every replica proposes first. A later one is asked for only when the earlier ones name
    other values (a collision), and it is the same on every replica, so they all walk the same sequence.
    """
    message = f"{scope.name}\0{kind.value}\0{real}" + (f"\0{attempt}" if attempt else "")
    return _FORMATS[kind](scope.scheme, _hmac(key, message))


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _base32(digest: bytes, length: int) -> str:
    number = int.from_bytes(digest, "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in range(length))


def _patient(scheme: PseudonymScheme, digest: bytes) -> str:
    return scheme.patient_prefix + _base32(digest, scheme.patient_length)


def _uid(scheme: PseudonymScheme, digest: bytes) -> str:
    # A Python int never prints leading zeros, so the last component is always valid.
    number = int.from_bytes(digest[:16], "big") % 10 ** (UID_MAX - len(scheme.uid_root) - 1)
    return f"{scheme.uid_root}.{number}"


def _date_shift(scheme: PseudonymScheme, digest: bytes) -> str:
    return str(-(int.from_bytes(digest[:8], "big") % scheme.max_date_shift_days + 1))


def _short_string(prefix: str, digest: bytes) -> str:
    return prefix + _base32(digest, SH_MAX - len(prefix))


_FORMATS = {
    IdKind.PATIENT: _patient,
    IdKind.UID: _uid,
    IdKind.DATE_SHIFT: _date_shift,
    IdKind.ACCESSION: lambda scheme, digest: _short_string(scheme.accession_prefix, digest),
    IdKind.STUDY_ID: lambda scheme, digest: _short_string(scheme.study_id_prefix, digest),
}
