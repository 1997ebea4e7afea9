"""The vocabulary shared by the de-identification engine and the pseudonym store.

The engine walks an instance (or a DICOM JSON object) and says which real values it needs replacements for
(`Needs`). The resolver derives keyed (HMAC) candidates for them and claims them in the store, which answers
with the values of record in one round trip (store.py). The engine then applies the resulting `Mappings`. A value
the engine asks for that is not in `Mappings` is an error: the engine never falls back to the real value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from gateway.errors import MappingMissing


class IdKind(StrEnum):
    PATIENT = "patient"  # patient key -> pseudonym (used for PatientID and PatientName)
    DATE_SHIFT = "date_shift"  # patient key -> shift in days, as a decimal string
    UID = "uid"  # real UID -> pseudonymous UID
    ACCESSION = "accession"  # real AccessionNumber -> pseudonymous one
    STUDY_ID = "study_id"  # real StudyID -> pseudonymous one


@dataclass(frozen=True)
class PseudonymScheme:
    """How new values look. Part of a role profile, fixed for the life of a scope."""

    patient_prefix: str = "RID-"
    patient_length: int = 10  # characters after the prefix
    uid_root: str = "2.25"  # new UIDs are <root>.<decimal digest>
    accession_prefix: str = "ACC-"
    study_id_prefix: str = "S"
    max_date_shift_days: int = 365  # shifts are drawn from [-max, -1]


@dataclass(frozen=True)
class ScopeSpec:
    """A pseudonym namespace. Roles that share a scope see the same pseudonyms."""

    name: str
    reversible: bool
    scheme: PseudonymScheme = field(default_factory=PseudonymScheme)


@dataclass
class Needs:
    """The real values an instance (or a whole response) needs replaced, grouped by kind."""

    values: dict[IdKind, set[str]] = field(default_factory=dict)

    def add(self, kind: IdKind, real: str) -> None:
        self.values.setdefault(kind, set()).add(real)

    def merge(self, other: Needs) -> None:
        for kind, reals in other.values.items():
            self.values.setdefault(kind, set()).update(reals)

    def __bool__(self) -> bool:
        return any(self.values.values())


@dataclass(frozen=True)
class Mappings:
    """Resolved values of record: kind -> real -> pseudonymous."""

    values: Mapping[IdKind, Mapping[str, str]]

    def get(self, kind: IdKind, real: str) -> str:
        try:
            return self.values[kind][real]
        except KeyError:
            raise MappingMissing(kind.value) from None

    def date_shift(self, patient: str) -> int:
        return int(self.get(IdKind.DATE_SHIFT, patient))
