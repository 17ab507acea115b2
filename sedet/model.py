"""The words every part of sedet shares: the measure row, statuses, code lists, the bundle's column
and rule types, the parameter base, a problem in the input, and the finished run a report lays out.

This module imports nothing else from sedet, so any module may import it (docs/design.md section 2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

# ---------------------------------------------------------------------------------------------------
# The measure row (docs/design.md section 3): one shape for every measure family

MEASURE_SCHEMA: dict[str, pl.DataType] = {
    "school_year": pl.Int64(),
    "district_id": pl.String(),  # null for a statewide row (an APR indicator)
    "measure": pl.String(),
    "subject": pl.String(),
    "grade_band": pl.String(),
    "assessment": pl.String(),
    "race_ethnicity": pl.String(),
    "disability": pl.String(),
    "category": pl.String(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "value": pl.Float64(),
    # the comparison the value is measured against, where it has one (a risk ratio's comparison group)
    "comparison_numerator": pl.Float64(),
    "comparison_denominator": pl.Float64(),
    "comparison_value": pl.Float64(),
    "threshold": pl.Float64(),  # the target or threshold the flag compares the value with
    "status": pl.String(),  # one of STATUSES
    "flag": pl.String(),  # the measure's own verdict, where it has one
    "note": pl.String(),  # how the value came about, in words (shown by `sedet explain`)
}
MEASURE_COLUMNS = list(MEASURE_SCHEMA)
QUALIFIERS = ["subject", "grade_band", "assessment", "race_ethnicity", "disability", "category"]
SORT_KEY = ["school_year", "district_id", "measure", *QUALIFIERS]

# Why a value is or is not usable (the `status` of a measure row).
OK = "ok"
BELOW_MIN_N = "below_min_n"  # the group is smaller than the minimum n
BELOW_MIN_CELL = "below_min_cell"  # fewer students with the outcome than the minimum cell
NO_DATA = "no_data"  # nothing to divide by, or nothing known
COMPARISON_BELOW_MIN = "comparison_below_min"  # a ratio's comparison groups (LEA and state) both fail the minimums
STATUSES = (OK, BELOW_MIN_N, BELOW_MIN_CELL, NO_DATA, COMPARISON_BELOW_MIN)

# Threshold tests on values computed in floating point compare with this tolerance, so that a ratio
# that is exactly 3 in arithmetic does not miss a `>= 3.0` test (docs/methods.md section 1).
EPS = 1e-9

# A text cell that starts with one of these is read by a spreadsheet as a formula (OWASP CSV
# injection): every writer stores such text as text (workbooks) or behind an apostrophe (CSV).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# ---------------------------------------------------------------------------------------------------
# EDFacts code lists (docs/design.md section 4). A profile may map local codes onto them.

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
# An enrollment row that holds one margin of a federal count (docs/design.md section 4): counted only
# by the measures of that margin. DISABILITY: children with IEPs by race and disability (EDFacts
# FS002 category set A), counted by every measure except those by environment; ENVIRONMENT:
# children with IEPs by race and environment (FS002 category set C), counted only by those.
COUNTS_IN = ("DISABILITY", "ENVIRONMENT")
# A discipline row that holds one of two federal counts (docs/design.md section 4): CHILDREN, children
# removed by type and length (EDFacts FS006), counted by every measure except total removals;
# REMOVALS, a number of removals of every type (FS143, in `removals` x `count`, no days), counted only
# by total removals.
DISCIPLINE_COUNTS_IN = ("CHILDREN", "REMOVALS")

CODE_LISTS: dict[str, tuple[str, ...]] = {
    "race_ethnicity": RACE_ETHNICITY,
    "disability": DISABILITY,
    "environment": ENVIRONMENT,
    "subject": SUBJECT,
    "assessment": ASSESSMENT,
    "removal_type": REMOVAL_TYPE,
    "counts_in": COUNTS_IN,
    "discipline_counts_in": DISCIPLINE_COUNTS_IN,
}

# Lawful reasons for a late initial evaluation (docs/methods.md section 6).
FEDERAL_EVALUATION_EXCEPTIONS = {
    "301D1": "34 CFR 300.301(d)(1): parent repeatedly failed or refused to produce the child",
    "301D2": "34 CFR 300.301(d)(2): child enrolled in another LEA after the timeline began",
    "309C": "34 CFR 300.309(c): SLD timeline extended by mutual written agreement",
}

# ---------------------------------------------------------------------------------------------------
# The bundle's columns and row rules (docs/design.md section 4)

# Column kinds. Identifiers and free text stay text: "00123" is never a number.
ID = "id"  # identifier, kept as text exactly as written (trimmed)
TEXT = "text"
INT = "int"
FLOAT = "float"
BOOL = "bool"
DATE = "date"
CODE = "code"  # text checked against a code list (after the profile's local mapping)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False  # in the header, and a value in every row
    in_header: bool = False  # in the header, where a row may leave it empty (a fact that may be missing)
    default: object = None
    default_from: str | None = None  # an empty cell takes the value of this column of the same row
    codes: str | None = None  # name of a code list (CODE_LISTS, or one the profile supplies)
    min: float | None = None
    max: float | None = None
    student_id: bool = False  # never written to any report


ROW = "__row"  # the row number as a person sees it in the file


@dataclass
class Check:
    """A rule over a table being loaded: rows where `bad` holds are problems. `bad` reads the typed
    values as `T(name)` and the text as read as `pl.col(name)`; `found` describes, as text, what
    was found. The loader applies a rule only when every column it reads is there."""

    column: str
    bad: pl.Expr
    expected: str
    found: pl.Expr  # a String expression describing what was found
    # the columns `bad` reads, value by value (no windows, no row number): the rule can then be tried
    # on their distinct combinations first; None when it needs whole rows
    on: list[str] | None = None
    # an aggregate that is false when the rule cannot hold on any row, cheaper than the rule itself
    # (for a duplicate-key rule: are the keys unique?); None: no such shortcut
    maybe: pl.Expr | None = None

    def columns(self) -> set[str]:
        """The frame columns the rule reads."""
        exprs = [self.bad, self.found, *([self.maybe] if self.maybe is not None else [])]
        return {name for e in exprs for name in e.meta.root_names()}


def T(name: str) -> pl.Expr:
    """The typed value of a column, in a rule."""
    return pl.col(f"__typed_{name}")


def found(col: str) -> pl.Expr:
    """The text of a column as read, quoted (its first 60 characters, control characters written as
    \\xNN so that none reaches a terminal), or 'an empty cell', in a rule."""
    raw = pl.col(col).cast(pl.String)
    quoted = pl.lit("'") + printable(raw.str.slice(0, 60)) + pl.lit("'")
    return pl.when(raw.is_null()).then(pl.lit("an empty cell")).otherwise(quoted)


CONTROL = (*range(32), 127)


def printable(text: pl.Expr) -> pl.Expr:
    """Text with each control character (U+0000-U+001F, U+007F) written as \\xNN (one replace_many,
    not 33 replace_all: the checks build this for every column they read)."""
    clean = text.str.replace_many([chr(c) for c in CONTROL], [f"\\x{c:02x}" for c in CONTROL])
    return pl.when(text.str.contains(r"[\x00-\x1f\x7f]")).then(clean).otherwise(text)


# The longest text a cell may hold (Excel's limit for a cell), and the longest identifier (a district
# id becomes a file name; a student id is never that long): docs/design.md section 4.
MAX_TEXT = 32_767
MAX_ID = 64


@dataclass(frozen=True)
class Problem:
    """One problem in the input: where it is and what is wrong.

    `row` is the row as a person sees it in that file: the spreadsheet row number for XLSX (header =
    row 1), the line number for CSV (header = line 1), the 1-based record number for Parquet. None
    when the problem is about the whole file or a column.
    """

    file: str
    column: str | None
    row: int | None
    expected: str
    found: str
    sheet: str | None = None
    table: str | None = None

    def where(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: expected {self.expected}, found {self.found}"

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------
# Parameters (docs/design.md section 5): the base of every profile section


class Strict(BaseModel):
    """Strict types, unknown keys refused, values frozen. (Strict still reads a whole number where a
    float is declared, as 40.0: TOML writes 40 and 40.0 differently.)"""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class ReportingParams(Strict):
    """Public release (docs/methods.md section 11; IDEA 618(b)(1)): what `--public` suppresses."""

    min_n: NonNegInt = Field(default=10, examples=[10],
                             description="suppress a count or rate whose group has fewer students than this")
    token: str = Field(default="*", description="what a suppressed cell shows", examples=["n<10"])
    top_bottom_coding: bool = Field(default=False, description="show high and low rates of mid-sized groups as bands",
                                    examples=[True])
    coding_min_n: NonNegInt = Field(default=40, description="top/bottom coding applies to groups of at least this size",
                                    examples=[40])
    coding_max_n: NonNegInt = Field(default=99, description="... and at most this size", examples=[99])
    top: float = Field(default=0.95, ge=0, le=1, description="a rate at or above this is shown as '>= 95%'",
                       examples=[0.95])
    bottom: float = Field(default=0.05, ge=0, le=1, description="a rate at or below this is shown as '<= 5%'",
                          examples=[0.05])

    @field_validator("token")
    @classmethod
    def _token(cls, v: str) -> str:
        return check_token(v)


def check_token(token: str) -> str:
    """A suppression token must not be blank nor read as a number: a reader would take a withheld cell
    for a value."""
    t = token.strip()
    if not t:
        raise ValueError("the suppression token must not be blank")
    try:
        float(t)
    except ValueError:
        return token
    raise ValueError(f"the suppression token {token!r} reads as a number")


def school_year_text(spring: int) -> str:
    """A school year as people write it, from sedet's spring year: 2023 -> "2022-23"."""
    return f"{spring - 1}-{spring % 100:02d}"


# ---------------------------------------------------------------------------------------------------
# What a measure family declares about each measure it writes (docs/design.md section 6)

Shown = Literal["rate", "count", "number", "made", "years"]


@dataclass(frozen=True)
class MeasureInfo:
    """How one measure is titled, shown and published. Declared by its family (sedet/measures/),
    handed to the reports with the run."""

    name: str
    title: str
    # how its value is shown: a rate (percent), a count, a number, made/not made (1/0), years
    shown_as: Shown = "number"
    numerator: Literal["count", "number"] = "count"  # a count of students, or a sum of weights
    own_sheet: bool = False  # a sheet of its own in determinations.xlsx
    verdicts: tuple[str, ...] = ()  # flags that put an LEA's row on the Flags sheet
    # public release (docs/methods.md section 11):
    statewide: str | None = None  # the statewide measure its LEA rows add up to, when not itself
    additive: bool = True  # its qualifier-null row is the sum of the rows along one qualifier
    counts_students: bool = True  # its counts are counts of students (False: LEAs, findings)
    # comparison measures whose groups in one LEA share a total; the one named so compares within the
    # LEA, the others statewide
    ratio_family: str | None = None
    per_child_categories: tuple[str, ...] = ()  # categories whose risk is a count per child, not a share
    blank_qualifiers: Mapping[str, str] = field(default_factory=dict)  # how an empty qualifier reads ("all")


def measure_info(name: str, known: Mapping[str, MeasureInfo]) -> MeasureInfo:
    """The declaration of a measure, or a plain one for a name no family declares."""
    return known.get(name) or MeasureInfo(name, name)


# ---------------------------------------------------------------------------------------------------
# What a measure family computes from


@dataclass(frozen=True)
class Inputs:
    """The bundle's typed tables (lazy) and the school year a measure family computes for."""

    year: int
    tables: Mapping[str, pl.LazyFrame]
    years_of: Callable[[str], list[int]]  # the school years a table holds
    # a sweep's store of the work its scenarios share (sweep.py); None in a plain run
    memo: dict[tuple, pl.DataFrame] | None = None
    # a sweep's scenario: the only measures whose rows it keeps (sweep.Work); None: every measure
    measures: frozenset[str] | None = None

    def wants(self, measure: str) -> bool:
        """Whether the caller keeps this measure's rows (a family may skip building the others)."""
        return self.measures is None or measure in self.measures

    def shared(self, key: tuple, build: Callable[[], pl.LazyFrame], latest: bool = False) -> pl.LazyFrame:
        """The part of a family's work that depends only on the parameters in `key` (counts read from
        the large tables): in a sweep computed once per key and kept, so that the scenarios rerun only
        what depends on the parameters they vary; in a plain run, part of the family's one query.
        `latest`: keep only the latest of this kind (key[0]), for a large part that consecutive
        scenarios share."""
        if self.memo is None:
            return build()
        if key not in self.memo:
            if latest:
                for old in [k for k in self.memo if k[0] == key[0]]:
                    del self.memo[old]
            self.memo[key] = build().collect()
        return self.memo[key].lazy()

    def table(self, name: str) -> pl.LazyFrame:
        """A table the family needs (the loader has made sure it is there)."""
        if name not in self.tables:
            raise KeyError(f"table {name!r} is not in the bundle")
        return self.tables[name]

    def optional(self, name: str) -> pl.LazyFrame | None:
        return self.tables.get(name)


# ---------------------------------------------------------------------------------------------------
# A finished run: everything a report lays out (docs/design.md section 7)


@dataclass(frozen=True)
class CategoryInfo:
    """A category of the profile's method, as the reports show it."""

    short: str
    label: str
    tier: str | None = None
    tier_text: str | None = None
    by_method: bool = True
    op: str = ">="
    min_percentile: float | None = None
    min_percentage: float | None = None
    min_score: float | None = None


@dataclass(frozen=True)
class ScoreInfo:
    """The state's own score (a profile's [determination.score]), as the reports show it."""

    name: str
    scale_min: float
    scale_max: float
    decimals: int

    def text(self, value: float) -> str:
        """The score with its decimals, half away from zero (2.125 -> '2.13' at 2 decimals)."""
        q = Decimal(repr(value)).quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)
        return f"{q:f}"


@dataclass(frozen=True)
class MethodInfo:
    method: str  # percentile, cut_points or level_alignment
    percentile_definition: str
    categories: tuple[CategoryInfo, ...]  # from the best to the most serious
    score: ScoreInfo | None = None  # the state's own score, when the profile defines one

    def label_of(self, short: str) -> str:
        return next(c.label for c in self.categories if c.short == short)

    @property
    def shorts(self) -> list[str]:
        return [c.short for c in self.categories]


@dataclass(frozen=True)
class Distribution:
    """How the LEAs spread over the categories and the percentages."""

    per_category: Mapping[str, int]  # category short -> LEAs
    relabelled: tuple[tuple[str, int], ...]  # labels other than the categories' own ("Level 1-NSI"), LEAs
    undetermined: int
    ranked: int  # LEAs with a percentage
    # (from, to, LEAs): 10-point bins of percentages, or tenths of the scale of the profile's own score
    histogram: tuple[tuple[float, float, int], ...]
    lowest: Mapping[str, float]  # category short -> lowest percentage (or score) the method placed there
    # how each LEA's category was placed: (method / condition <id> / override / not determined, LEAs)
    placed: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Determinations:
    table: pl.DataFrame  # one row per LEA (determine.DETERMINATION_COLUMNS)
    factors: pl.DataFrame  # one row per LEA and factor (determine.FACTOR_SCHEMA)
    factor_state: pl.DataFrame  # per factor: the state's figure beside each LEA's, LEAs applicable, below max
    method: MethodInfo
    distribution: Distribution
    # the profile's factors (determine.params.Factor) by id: their points tables, for the words
    # reports use (sedet/words.py)
    factor_defs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProfileInfo:
    id: str
    title: str
    run_type: str
    display_decimals: int
    file: str  # the profile file's name
    sha256: str
    parameters: tuple[tuple[str, Any, str], ...]  # (dotted path, value, source), in profile order
    reporting: ReportingParams
    # the profile's [letters] section as plain data (profile.Letters.model_dump(), its `template` an absolute
    # folder), or None when it has none: what report/letters.py puts into each determination letter
    letters: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class InputTable:
    """An input table as read."""

    table: str
    file: str
    sheet: str | None
    rows_read: int
    columns_ignored: tuple[str, ...]  # columns sedet does not know
    columns_not_read: tuple[str, ...]  # known columns the profile's measures do not use


@dataclass(frozen=True)
class RunResult:
    profile: ProfileInfo
    year: int
    years: list[int]
    inputs: tuple[InputTable, ...]
    fingerprints: Mapping[str, str]  # input file name -> SHA-256 (computed when first read)
    streaming: bool
    measures: pl.DataFrame  # the measure rows, sorted
    measure_info: Mapping[str, MeasureInfo]
    district_names: Mapping[str, str]
    n_districts: int  # districts with measure rows
    status_counts: pl.DataFrame  # measure, status, len: district rows by status
    determinations: Determinations | None = None
    # earlier school years the bundle holds, as the profile places them (pipeline.past_years): per LEA and
    # year, category, category_label, percentage, score; and per LEA, year and factor, value and points
    past: pl.DataFrame | None = None
    past_factors: pl.DataFrame | None = None
