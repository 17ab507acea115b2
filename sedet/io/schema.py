"""The tables of an input bundle and their columns (docs/design.md section 4).

This is the one place that says which columns a table has, which are required, how each is typed,
which code list it is checked against, and which rules hold between its columns. The loader, the
validator and the sample generator all read it; what a profile adds (columns it names, code lists
and rules that depend on its parameters) reaches the loader from the pipeline (io.bundle.LoadSpec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sedet.model import (
    BOOL,
    CODE,
    CODE_LISTS,
    DATE,
    FEDERAL_EVALUATION_EXCEPTIONS,
    FLOAT,
    ID,
    INT,
    TEXT,
    Check,
    Column,
    T,
)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # columns that must be unique together (when all present)
    checks: tuple[Check, ...] = ()  # rules between its columns that hold whatever the profile
    # columns beyond its own that a profile may name (compliance facts): typed as declared here, or as
    # `extra_kind` when not listed; without the profile naming any, those of `extras` present are read
    extras: tuple[Column, ...] = ()
    extra_kind: str | None = None  # None: the table takes no columns beyond its own and `extras`
    unknown_are_extras: bool = False  # without the profile naming any, every unknown column is an extra
    student_level: bool = False  # a row per student (or a count of them): may be large
    prune: bool = False  # large: a determination reads only the columns its measures use
    # a table of events (removals) whose header alone means "none happened"; any other table the
    # profile needs must have rows (a header-only file is a problem: an export cut short)
    may_be_empty: bool = False
    year_column: bool = True
    doc: str = ""
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def extra(self, name: str) -> Column:
        """How a column beyond the table's own is typed."""
        return next((c for c in self.extras if c.name == name), Column(name, self.extra_kind or TEXT))


DISTRICTS = "districts"  # the table every other table's district_id must be listed in, when the bundle has it
SUFFIXES = (".csv", ".xlsx", ".xlsm", ".parquet")  # the files a bundle's tables can come in

# The largest count a row may hold: more students than the largest LEA has, yet small enough that no
# sum of a bundle's rows can overflow (docs/design.md section 4).
MAX_COUNT = 10_000_000
COUNT = Column("count", INT, default=1, min=0, max=MAX_COUNT)
YEAR = Column("school_year", INT, required=True, min=1990, max=2100)
DISTRICT = Column("district_id", ID, required=True)

# Compliance facts sedet knows how to type (a profile may name others: read as numbers).
COMPLIANCE_FACTS = (
    Column("findings", INT, min=0, max=MAX_COUNT),
    Column("findings_corrected_on_time", INT, min=0, max=MAX_COUNT),
    Column("data_timely", BOOL),
    Column("data_accurate", BOOL),
    Column("data_accuracy_rate", FLOAT, min=0, max=1),
    Column("grant_on_time", BOOL),
    Column("grant_revisions", INT, min=0, max=MAX_COUNT),
    Column("significant_noncompliance", BOOL),
    Column("policies_contributed", BOOL),
    Column("inappropriate_identification", BOOL),
    Column("achievement_score", FLOAT),
)

DETERMINED_AFTER_CONSENT = Check(
    "determination_date",
    T("determination_date") < T("consent_date"),
    "a determination date on or after the consent date",
    pl.lit("'") + T("determination_date").cast(pl.String) + pl.lit("', before the consent date '")
    + T("consent_date").cast(pl.String) + pl.lit("'"),
)
CORRECTED_AT_MOST_FOUND = Check(
    "findings_corrected_on_time",
    T("findings_corrected_on_time") > T("findings"),
    "no more findings corrected than findings",
    T("findings_corrected_on_time").cast(pl.String) + pl.lit(" corrected of ") + T("findings").cast(pl.String),
)

MARGIN_OF_IEPS = Check(
    "counts_in",
    T("counts_in").is_not_null() & ~T("iep").fill_null(True),
    "a margin row ('counts_in' given) of children with IEPs (iep true)",
    pl.lit("counts_in '") + T("counts_in").cast(pl.String) + pl.lit("' with iep false"),
)
ENVIRONMENT_MARGIN = Check(
    "environment",
    (T("counts_in") == "ENVIRONMENT") & T("environment").is_null(),
    "an environment on a row that counts only by environment",
    pl.lit("no environment"),
)

DAYS_GIVEN = Check(
    "days_removed",
    T("days_removed").is_null() & (T("counts_in") != "REMOVALS").fill_null(True),
    "a number of days (only a row of removals only, counts_in REMOVALS, has none)",
    pl.lit("an empty cell"),
)

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
                Column("counts_in", CODE, codes="counts_in"),
                COUNT,
            ),
            checks=(MARGIN_OF_IEPS, ENVIRONMENT_MARGIN),
            student_level=True,
            prune=True,
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
                Column("accountable", BOOL, default_from="participated"),
                COUNT,
            ),
            student_level=True,
            prune=True,
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
            checks=(DETERMINED_AFTER_CONSENT,),
            student_level=True,
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
                Column("days_removed", FLOAT, min=0, in_header=True),
                Column("removals", INT, default=1, min=0, max=MAX_COUNT),
                Column("age", INT, min=0, max=120),
                Column("counts_in", CODE, codes="discipline_counts_in"),
                COUNT,
            ),
            checks=(DAYS_GIVEN,),
            student_level=True,
            may_be_empty=True,
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
            extra_kind=BOOL,
            unknown_are_extras=True,
            student_level=True,
            doc="IEPs of youth of transition age reviewed, one bool column per required component",
        ),
        Table(
            "compliance",
            (YEAR, DISTRICT),
            key=("school_year", "district_id"),
            checks=(CORRECTED_AT_MOST_FOUND,),
            extras=COMPLIANCE_FACTS,
            extra_kind=FLOAT,
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
            "history",
            (
                YEAR,
                DISTRICT,
                Column("category", TEXT, required=True),
                Column("percentage", FLOAT),
                Column("score", FLOAT),
            ),
            key=("school_year", "district_id"),
            doc="earlier official determinations, one row per LEA and school year (a profile may escalate on "
                "consecutive years; determinations.csv shows the prior year's), with the percentage or score "
                "when known",
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

# The code lists of the bundle's coded columns, before a profile adds its own (performance levels)
# or narrows them (the exception codes it accepts).
DEFAULT_CODE_LISTS: dict[str, tuple[str, ...]] = {
    **CODE_LISTS,
    "evaluation_exception": tuple(FEDERAL_EVALUATION_EXCEPTIONS),
}


def is_table_file(path: Path) -> bool:
    """A file of a bundle folder that holds a table: named after it, in one of the SUFFIXES (not an
    Office lock file or a hidden one)."""
    return (path.suffix.lower() in SUFFIXES and not path.name.startswith(("~$", "."))
            and path.stem.lower() in TABLES and path.is_file())
