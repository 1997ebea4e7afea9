"""What the origin holds of a patient, asked when an opt-out is added or its disclosures are listed.

An opt-out whose PatientID (or issuer) matches nothing withdraws no one, silently: so adding one reports how
many studies the origin holds of that patient, and 0 (or an origin that cannot be asked) is a warning.
"""

from __future__ import annotations

from gateway.adapters.upstream import JsonLimit, UpstreamClient
from gateway.core.dicom import JsonObject, first_text, json_patient
from gateway.core.governance.model import OptOut
from gateway.core.governance.withdrawal import PatientObjects
from gateway.core.target import path_uid
from gateway.errors import UpstreamProtocolError


async def studies_of(upstream: UpstreamClient, optout: OptOut) -> dict[str, str]:
    """The patient's real studies at the origin, each with the patient key the engine gave it."""
    query = [("PatientID", optout.patient_id), ("includefield", "00100021")]
    objects = await upstream.get_json("/studies", query, limit=JsonLimit.PATIENT_STUDIES)
    return {
        obj["0020000D"]["Value"][0]: json_patient(obj)
        for obj in objects
        if "0020000D" in obj and _covered(obj, optout)
    }


async def patient_objects(upstream: UpstreamClient, optout: OptOut) -> PatientObjects:
    """Every study, series and instance the origin holds of the patient: what a withdrawal is matched against."""
    studies = await studies_of(upstream, optout)
    series: set[str] = set()
    instances: set[str] = set()
    for study in studies:
        if not path_uid(study):  # it goes into a path: checked like a client's
            raise UpstreamProtocolError("the origin named a study by something that is not a UID")
        query = [("includefield", "0020000E")]
        for obj in await upstream.get_json(f"/studies/{study}/instances", query, limit=JsonLimit.SEARCH):
            series.add(first_text(obj, "0020000E"))
            instances.add(first_text(obj, "00080018"))
    return PatientObjects(studies, frozenset(series - {""}), frozenset(instances - {""}))


def holding_note(count: int | None) -> str:
    """What the admin is told about an opt-out's reach; it never names the patient."""
    if count is None:
        return "warning: the origin could not be asked how many studies it holds of this patient"
    if count == 0:
        return "warning: the origin holds no study of this patient: check the PatientID and its issuer"
    return f"the origin holds {count} stud{'y' if count == 1 else 'ies'} of this patient"


def _covered(obj: JsonObject, optout: OptOut) -> bool:
    """An origin that does not return the issuer counts as a match: for a withdrawal, too much beats too little."""
    if "00100021" not in obj:
        return True
    return optout.covers(json_patient(obj))
