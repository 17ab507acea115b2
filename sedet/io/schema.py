"""The tables of an input bundle and their columns (DESIGN.md, "The input bundle").

This is the one place that says which columns a table has, which are
required, how each is typed and which code list it is checked against.
The loader, the validator and the sample generator all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Column kinds. Identifiers and free text stay text: "00123" is never a number.
ID = "id"  # identifier, kept as text exactly as written (trimmed)
TEXT = "text"
INT = "int"
FLOAT = "float"
BOOL = "bool"
DATE = "date"
CODE = "code"  # text checked against a code list (after the profile's local mapping)

# EDFacts code lists (DESIGN.md). A profile may map local codes onto these.
RACE_ETHNICITY = ("AM7", "AS7", "BL7", "HI7", "PI7", "WH7", "MU7")
RACE_ETHNICITY_NAMES = {
    "AM7": "American Indian or Alaska Native",
    "AS7": "Asian",
    "BL7": "Black or African American",
    "HI7": "Hispanic/Latino",
    "PI7": "Native Hawaiian or Other Pacific Islander",
    "WH7": "White",
    "MU7": "Two or more races",
}
DISABILITY = ("AUT", "DB", "DD", "EMN", "HI", "ID", "MD", "OHI", "OI", "SLD", "SLI", "TBI", "VI")
ENVIRONMENT = ("RC80", "RC79TO40", "RC39LT", "SS", "RF", "HH", "CF", "PPPS")
SUBJECT = ("ELA", "MATH", "SCI")
ASSESSMENT = ("REG", "ALT")
REMOVAL_TYPE = ("OSS", "ISS", "IAES")

CODE_LISTS: dict[str, tuple[str, ...]] = {
    "race_ethnicity": RACE_ETHNICITY,
    "disability": DISABILITY,
    "environment": ENVIRONMENT,
    "subject": SUBJECT,
    "assessment": ASSESSMENT,
    "removal_type": REMOVAL_TYPE,
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    default: object = None
    codes: str | None = None  # name of a code list (CODE_LISTS, or one the profile supplies)
    min: int | None = None
    max: int | None = None
    student_id: bool = False  # never written to any report


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # columns that must be unique together (when all present)
    extra_bool_columns: bool = False  # the profile declares more columns (transition components)
    extra_columns: bool = False  # the profile declares LEA-level facts (compliance)
    year_column: bool = True
    doc: str = ""
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


SUFFIXES = (".csv", ".xlsx", ".xlsm", ".parquet")  # the files a bundle's tables can come in

COUNT = Column("count", INT, default=1, min=0)
YEAR = Column("school_year", INT, required=True, min=1990, max=2100)
DISTRICT = Column("district_id", ID, required=True)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "districts",
            (
                DISTRICT,
                Column("district_name", TEXT),
                Column("accountability_level", INT, min=1, max=5),
                Column("charter", BOOL, default=False),
            ),
            key=("district_id",),
            year_column=False,
            doc="one row per LEA",
        ),
        Table(
            "enrollment",
            (
                YEAR,
                DISTRICT,
                Column("race_ethnicity", CODE, required=True, codes="race_ethnicity"),
                Column("iep", BOOL, required=True),
                Column("disability", CODE, codes="disability"),
                Column("environment", CODE, codes="environment"),
                Column("low_income", BOOL),
                Column("age", INT, min=0, max=120),
                Column("grade", TEXT),
                COUNT,
            ),
            doc="students (or counts of students) enrolled, by race/ethnicity and IEP status",
        ),
        Table(
            "assessments",
            (
                YEAR,
                DISTRICT,
                Column("subject", CODE, required=True, codes="subject"),
                Column("grade", INT, required=True, min=3, max=12),
                Column("iep", BOOL, required=True),
                Column("assessment", CODE, default="REG", codes="assessment"),
                Column("enrolled_in_window", BOOL, default=True),
                Column("participated", BOOL, required=True),
                Column("performance_level", CODE, codes="performance_level"),
                Column("accountable", BOOL),  # default: participated (set by the loader)
                COUNT,
            ),
            doc="assessment records: one per student and subject, or counts",
        ),
        Table(
            "evaluations",
            (
                YEAR,
                DISTRICT,
                Column("student_id", ID, student_id=True),
                Column("consent_date", DATE, required=True),
                Column("determination_date", DATE),
                Column("exception", CODE, codes="evaluation_exception"),
                COUNT,
            ),
            key=("school_year", "district_id", "student_id"),
            doc="initial evaluations: parental consent and eligibility determination dates",
        ),
        Table(
            "discipline",
            (
                YEAR,
                DISTRICT,
                Column("race_ethnicity", CODE, required=True, codes="race_ethnicity"),
                Column("iep", BOOL, required=True),
                Column("removal_type", CODE, default="OSS", codes="removal_type"),
                Column("days_removed", FLOAT, required=True, min=0),
                Column("removals", INT, default=1, min=0),
                Column("age", INT, min=0, max=120),
                COUNT,
            ),
            doc="disciplinary removals: one row per student and removal type",
        ),
        Table(
            "transition",
            (
                YEAR,
                DISTRICT,
                Column("student_id", ID, student_id=True),
                Column("age", INT, required=True, min=0, max=120),
                COUNT,
            ),
            key=("school_year", "district_id", "student_id"),
            extra_bool_columns=True,
            doc="IEPs of youth of transition age reviewed, one bool column per required component",
        ),
        Table(
            "compliance",
            (YEAR, DISTRICT),
            key=("school_year", "district_id"),
            extra_columns=True,
            doc="LEA-level compliance facts the profile scores",
        ),
        Table(
            "targets",
            (
                YEAR,
                DISTRICT,
                Column("subject", CODE, required=True, codes="subject"),
                Column("grade_band", TEXT, required=True),
                Column("effective_target", FLOAT),
                Column("safe_harbor_target", FLOAT),
            ),
            key=("school_year", "district_id", "subject", "grade_band"),
            doc="state-supplied AYP targets per LEA, subject and grade band",
        ),
        Table(
            "overrides",
            (
                DISTRICT,
                Column("category", TEXT, required=True),
                Column("reason", TEXT, required=True),
            ),
            key=("district_id",),
            year_column=False,
            doc="case-by-case decisions (NI, NSI) with their reasons",
        ),
    )
}

# Compliance facts sedet knows how to type (a profile may declare others, typed there).
COMPLIANCE_FACTS: dict[str, Column] = {
    c.name: c
    for c in (
        Column("findings", INT, min=0),
        Column("findings_corrected_on_time", INT, min=0),
        Column("data_timely", BOOL),
        Column("data_accurate", BOOL),
        Column("data_accuracy_rate", FLOAT, min=0, max=1),
        Column("grant_on_time", BOOL),
        Column("grant_revisions", INT, min=0),
        Column("significant_noncompliance", BOOL),
        Column("policies_contributed", BOOL),
        Column("inappropriate_identification", BOOL),
        Column("achievement_score", FLOAT),
    )
}

# The components of a transition IEP that NJ requires (NJ Factor 5; METHODS.md section 6).
NJ_TRANSITION_COMPONENTS = (
    "postsecondary_goals",
    "transition_services",
    "annual_goals",
    "student_invited",
    "agency_invited",
)

# Lawful reasons for a late initial evaluation (METHODS.md section 5).
FEDERAL_EVALUATION_EXCEPTIONS = {
    "301D1": "34 CFR 300.301(d)(1): parent repeatedly failed or refused to produce the child",
    "301D2": "34 CFR 300.301(d)(2): child enrolled in another LEA after the timeline began",
    "309C": "34 CFR 300.309(c): SLD timeline extended by mutual written agreement",
}


def is_table_file(path: Path) -> bool:
    """A file of a bundle folder that holds a table: named after it, in one of the SUFFIXES (not an
    Office lock file or a hidden one)."""
    return (path.suffix.lower() in SUFFIXES and not path.name.startswith(("~$", "."))
            and path.stem.lower() in TABLES and path.is_file())
