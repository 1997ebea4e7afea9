"""The YAML schema of a role profile, validated with pydantic before it is compiled.

Cross-field rules live here so that a broken profile fails at load time, naming the key:

- an identity profile (clinician) takes no de-identification settings and no scope;
- any other profile needs a scope;
- the two longitudinal options are alternatives;
- the date mode agrees with them: keep needs Full Dates, shift needs Modified Dates, remove needs neither,
  year works with Modified Dates or with neither (HIPAA Safe Harbor keeps the year);
- the UID mode agrees with Retain UIDs;
- a scrub section goes with `clean: scrub`, and every deny- and allow-list entry compiles (`/regex/` or a term).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from gateway.core.rules.actions import Option
from gateway.core.rules.scrub_patterns import term_pattern

OverrideWord = Literal["remove", "zero", "dummy", "keep", "clean", "replace-uid"]
DateWord = Literal["keep", "shift", "year", "remove"]
CleanWord = Literal["scrub", "blank"]
PermissionWord = Literal["search", "retrieve", "store"]
UidWord = Literal["keep", "replace"]
OcrLanguage = Literal["eng", "jpn"]  # the Tesseract languages scripts/test.sh installs


def _compiles(term: str) -> str:
    term_pattern(term)  # its ValueError names the fault, and pydantic the key: scrub.deny.2
    return term


Term = Annotated[str, AfterValidator(_compiles)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PseudonymModel(_Strict):
    patient_prefix: str = Field(default="RID-", pattern=r"^[A-Z0-9_-]{0,12}$")
    patient_length: int = Field(default=10, ge=6, le=52)
    uid_root: str = Field(default="2.25", pattern=r"^[1-9][0-9]*(\.(0|[1-9][0-9]*))*$", max_length=24)
    accession_prefix: str = Field(default="ACC-", pattern=r"^[A-Z0-9_-]{0,8}$")
    study_id_prefix: str = Field(default="S", pattern=r"^[A-Z0-9_-]{0,8}$")
    max_date_shift_days: int = Field(default=365, ge=1, le=36500)


class ScopeModel(_Strict):
    name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    reversible: bool
    pseudonym: PseudonymModel = Field(default_factory=PseudonymModel)


class FaceVolumeModel(_Strict):
    """What makes a head CT or MR series a volume a face could be rendered from, and what says it is defaced."""

    min_slices: int = Field(default=20, ge=2, le=100000)
    max_slice_mm: float = Field(default=5.0, gt=0, le=1000)
    defaced_markers: list[Term] = ["DEFACED"]


class OcrModel(_Strict):
    """Burned-in text read by OCR on the first frame of instances of these modalities (burned_text.py)."""

    modalities: list[str] = Field(default_factory=lambda: ["US", "SC", "XC", "ES", "OT"], min_length=1)
    languages: list[OcrLanguage] = Field(default_factory=lambda: list[OcrLanguage](["jpn"]), min_length=1)
    timeout_s: float = Field(default=20.0, gt=0, le=300)  # past it the instance is withheld
    on_text: Literal["mask", "withhold"] = "mask"  # what identifying text read does: masked boxes, or withheld
    max_words: int = Field(default=40, ge=1, le=10000)  # more confident words: a document, withheld


class WithholdModel(_Strict):
    modalities: list[str] = []  # always withheld, e.g. photographs of a face or a fundus
    burned_in_risk_modalities: list[str] = []  # withheld unless a pixel rule cleans them
    burned_in_annotation: bool = True  # BurnedInAnnotation YES is withheld unless a pixel rule cleans it
    sop_classes: list[str] = []  # SOP Class UIDs or pydicom keywords
    face_volumes: bool = False  # head CT and MR series of thin slices, unless marked defaced (face_volume.py)
    face_volume: FaceVolumeModel = Field(default_factory=FaceVolumeModel)
    ocr: OcrModel | None = None  # None: no OCR; {} takes every default


class MatchModel(_Strict):
    Manufacturer: str | None = None
    ManufacturerModelName: str | None = None
    Rows: int | None = Field(default=None, ge=1)
    Columns: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _names_something(self) -> MatchModel:
        if not self.model_dump(exclude_none=True):
            raise ValueError("a pixel rule must match on at least one of its keys")
        return self


class PixelRuleModel(_Strict):
    match: MatchModel
    regions: list[tuple[int, int, int, int]] = Field(min_length=1)  # x, y, width, height

    @model_validator(mode="after")
    def _regions_fit(self) -> PixelRuleModel:
        for x, y, width, height in self.regions:
            if min(x, y) < 0 or min(width, height) < 1:
                raise ValueError("a region is x, y, width, height with x, y >= 0 and a positive size")
            if self.match.Columns and x + width > self.match.Columns:
                raise ValueError("a region is wider than the Columns it matches")
            if self.match.Rows and y + height > self.match.Rows:
                raise ValueError("a region is taller than the Rows it matches")
        return self


class ScrubModel(_Strict):
    """Free text under `clean: scrub`: what always goes (deny) and what generic patterns must not take (allow).
    The instance's own identifiers go whatever the allow-list says."""

    deny: list[Term] = []
    allow: list[Term] = []


class ProfileModel(_Strict):
    description: str = ""
    identity: bool = False
    permissions: list[PermissionWord] = Field(min_length=1)
    scope: ScopeModel | None = None
    options: list[Option] = []
    dates: DateWord | None = None
    uids: UidWord | None = None
    age_cap_years: int | None = Field(default=None, ge=1, le=150)
    withhold: WithholdModel = Field(default_factory=WithholdModel)
    pixel_rules: list[PixelRuleModel] = []
    overrides: dict[str, OverrideWord] = {}
    keep_unlisted_vrs: list[str] | None = None
    clean: CleanWord = "scrub"  # what C does to free text: scrub it, or blank it to a constant
    scrub: ScrubModel = Field(default_factory=ScrubModel)

    @model_validator(mode="after")
    def _consistent(self) -> ProfileModel:
        if self.identity:
            extra = self.model_fields_set - {"description", "identity", "permissions"}
            if extra:
                raise ValueError(f"an identity profile takes no de-identification settings: {sorted(extra)}")
            return self
        if self.scope is None:
            raise ValueError("a de-identifying profile needs a scope")
        if len(set(self.options)) != len(self.options):
            raise ValueError("an option is listed twice")
        self._check_dates()
        if (self.uids == "keep") != (Option.RETAIN_UIDS in self.options) and self.uids is not None:
            raise ValueError("uids: keep goes with retain-uids, and only with it")
        if self.clean == "blank" and "scrub" in self.model_fields_set:
            raise ValueError("scrub: takes effect only with clean: scrub")
        return self

    def _check_dates(self) -> None:
        full = Option.RETAIN_LONGITUDINAL_FULL_DATES in self.options
        modified = Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in self.options
        if full and modified:
            raise ValueError("the two retain-longitudinal options are alternatives: enable at most one")
        allowed = {"keep"} if full else {"shift", "year"} if modified else {"remove", "year"}
        if self.dates is not None and self.dates not in allowed:
            raise ValueError(f"dates: {self.dates} does not agree with the options; use one of {sorted(allowed)}")

    def date_mode(self) -> DateWord:
        if self.dates is not None:
            return self.dates
        if Option.RETAIN_LONGITUDINAL_FULL_DATES in self.options:
            return "keep"
        return "shift" if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in self.options else "remove"
