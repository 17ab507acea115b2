"""LEA compliance facts (NJ Factors 7, 8, 9; MA compliance criteria; docs/methods.md section 8).

District rows, for the school year asked, one set per row of the `compliance` table:

- `correction` (only when the profile declares both `findings` and `findings_corrected_on_time`):
  numerator = findings corrected within one year of notification, denominator = findings, value =
  share, threshold 1.0 (every finding corrected), flag `all_corrected` (corrected >= findings, compared
  in whole numbers) / `uncorrected`; status `no_data` (no value, no flag) when the district had no
  finding: with nothing to correct there is no rate, and the factor stage decides whether that earns
  the points or is left out (not applicable).
- `compliance_fact`, one row per declared fact (`category` = the fact's column name), numerator and
  denominator null (a fact is not a ratio):
  - a number or whole number: value = the number, flag null (`grant_revisions` keeps its count,
    `data_accuracy_rate` its share);
  - yes/no: value 1.0 (yes) / 0.0 (no), flag `yes` / `no`;
  - a date: value null, flag = the date as YYYY-MM-DD (a condition compares it with a date);
  - a code: value null, flag = the code.
  An empty cell (allowed only where the profile says the fact `may_be_missing`) gives value and flag
  null and status `no_data`: the fact is missing, never zero, and a factor that reads it is not
  applicable for that LEA.

A district with no compliance row for the year has no rows here at all: sedet does not invent a
fact. The factor stage sees the measure missing and treats the factor as it treats any measure that
is not there (the profile's choice: not applicable, or a data-quality failure).

Which facts exist is the profile's list (`facts`). A fact written as a bare name is typed as
`sedet.io.schema` knows it (whole numbers, yes/no, rates; any other name as a number) and needs a
value in every row; a fact written as a table says its type and whether it may be missing:

    facts = ["findings", { name = "met_goal", type = "yes_no" },
             { name = "component_b", type = "number", min = 0, max = 4, may_be_missing = true }]
"""

from __future__ import annotations

import re
from typing import Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from sedet.measures.common import to_measure_rows
from sedet.measures.family import Family
from sedet.model import BOOL, CODE, DATE, FLOAT, INT, MEASURE_SCHEMA, NO_DATA, OK, Column, Inputs, MeasureInfo, Strict

KEY = ["school_year", "district_id"]

DESCRIPTIONS = {
    "findings": "findings of noncompliance the district was notified of (Factor 7)",
    "findings_corrected_on_time": "findings corrected within one year of notification (Factor 7)",
    "data_timely": "data submitted on time (Factor 8)",
    "data_accurate": "data submissions accurate and complete (Factor 8)",
    "data_accuracy_rate": "share of data submissions accurate and complete (Factor 8)",
    "grant_on_time": "IDEA grant application and final expenditure report submitted on time (Factor 9)",
    "grant_revisions": "revisions of the IDEA grant application (Factor 9)",
    "significant_noncompliance": "significant noncompliance (MA)",
    "policies_contributed": "policies, procedures or practices contributed to the discrepancy (Indicator 4B)",
    "inappropriate_identification": "disproportionate representation resulting from inappropriate identification "
                                    "(Indicators 9/10)",
    "achievement_score": "achievement score",
}


FACT_KINDS = {"number": FLOAT, "whole_number": INT, "yes_no": BOOL, "date": DATE, "code": CODE}


class Fact(Strict):
    """An LEA fact declared with its type: a column of the compliance table."""

    name: str = Field(description="the column of the compliance table (lower-case snake_case)",
                      examples=["met_minimum_performance_goal"])
    type: Literal["number", "whole_number", "yes_no", "date", "code"] = Field(
        description="number; whole_number; yes_no (true/false, yes/no, y/n, 1/0); date (YYYY-MM-DD and the "
        "other spellings the loader reads); code (one of `values`)", examples=["yes_no"])
    values: list[str] | None = Field(default=None, description="the allowed codes of a `code` fact",
                                     examples=[["complete", "in_progress", "not_started"]])
    may_be_missing: bool = Field(default=False, description="an empty cell means the fact is missing for that LEA "
                                 "(a factor reading it is not applicable); false: an empty cell is an error",
                                 examples=[True])
    min: float | None = Field(default=None, description="lowest allowed value of a number", examples=[0])
    max: float | None = Field(default=None, description="highest allowed value of a number", examples=[4])
    title: str | None = Field(default=None, description="what the fact is, as the workbook's notes say it",
                              examples=["met the minimum performance goal"])

    @model_validator(mode="after")
    def _check(self) -> Fact:
        if (self.type == "code") != (self.values is not None):
            raise ValueError(f"fact {self.name}: `values` (the allowed codes) is needed for a code fact, and only "
                             "for it")
        if self.type not in ("number", "whole_number") and (self.min is not None or self.max is not None):
            raise ValueError(f"fact {self.name}: min and max apply to numbers only")
        return self

    def column(self) -> Column:
        """How the loader reads it."""
        codes = f"fact.{self.name}" if self.type == "code" else None
        return Column(self.name, FACT_KINDS[self.type], required=not self.may_be_missing, in_header=True,
                      codes=codes, min=self.min, max=self.max)


class ComplianceParams(Strict):
    """docs/methods.md section 8: the LEA-level facts a profile scores (columns of `compliance`)."""

    facts: list[str | Fact] = Field(
        description="columns of the compliance table the profile scores: a bare name (typed as sedet knows it, or as "
        "a number; a value needed in every row) or a table with its type (see Fact)",
        examples=[["findings", "findings_corrected_on_time", {"name": "met_goal", "type": "yes_no"}]])

    @property
    def names(self) -> list[str]:
        return [f if isinstance(f, str) else f.name for f in self.facts]

    def title(self, name: str) -> str:
        declared = next((f.title for f in self.facts if isinstance(f, Fact) and f.name == name), None)
        return declared or DESCRIPTIONS.get(name, name)

    @field_validator("facts")
    @classmethod
    def _names(cls, facts: list[str | Fact]) -> list[str | Fact]:
        v = [f if isinstance(f, str) else f.name for f in facts]
        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"fact {name!r}: a column name in lower-case snake_case (as the loader reads headers)")
            if name in KEY:
                raise ValueError(f"fact {name!r} is a key column of the compliance table, not a fact")
        if len(set(v)) != len(v):
            raise ValueError("each fact once")
        return facts


def compliance_measures(compliance: pl.LazyFrame, params: ComplianceParams, year: int) -> pl.LazyFrame:
    """The compliance measure rows for `year` (module docstring)."""
    rows = compliance.filter(pl.col("school_year") == year)
    schema = rows.collect_schema()
    parts: list[pl.LazyFrame] = []
    if {"findings", "findings_corrected_on_time"} <= set(params.names):
        found, fixed = pl.col("findings"), pl.col("findings_corrected_on_time")
        some = found.fill_null(0) > 0
        parts.append(rows.select(
            *KEY,
            pl.lit("correction").alias("measure"),
            fixed.alias("numerator"),
            found.alias("denominator"),
            pl.when(some).then(fixed / found).alias("value"),
            pl.lit(1.0).alias("threshold"),
            pl.when(some).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA)).alias("status"),
            pl.when(some).then(pl.when(fixed >= found).then(pl.lit("all_corrected")).otherwise(pl.lit("uncorrected")))
            .alias("flag"),
            pl.when(some).then(pl.lit("findings corrected within one year of notification / findings"))
            .otherwise(pl.lit("no finding of noncompliance: nothing to correct"))
            .alias("note"),
        ))
    for name in params.names:
        value, flag, shown = _fact_value(pl.col(name), schema[name])
        parts.append(rows.select(
            *KEY,
            pl.lit("compliance_fact").alias("measure"),
            pl.lit(name).alias("category"),
            value.alias("value"),
            pl.when(pl.col(name).is_not_null()).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA)).alias("status"),
            flag.alias("flag"),
            pl.lit(params.title(name) + shown).alias("note"),
        ))
    if not parts:
        return pl.LazyFrame(schema=MEASURE_SCHEMA)
    return pl.concat([to_measure_rows(p) for p in parts])


def _fact_value(col: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr, str]:
    """A fact's value, its flag, and what the note adds about how it is shown."""
    none = pl.lit(None, pl.String)
    if dtype == pl.Boolean:
        yes_no = pl.when(col).then(pl.lit("yes")).when(~col).then(pl.lit("no"))
        return col.cast(pl.Float64), yes_no, " (1 = yes, 0 = no)"
    if dtype == pl.Date:
        return pl.lit(None, pl.Float64), col.dt.strftime("%Y-%m-%d"), " (the date is in the flag column)"
    if dtype == pl.String:
        return pl.lit(None, pl.Float64), col, " (the code is in the flag column)"
    return col.cast(pl.Float64), none, ""


def columns(params: ComplianceParams) -> dict[str, list[str | Column]]:
    """The facts the loader must find: by name (typed as sedet knows them), or as declared."""
    return {"compliance": [f if isinstance(f, str) else f.column() for f in params.facts]}


def code_lists(params: ComplianceParams) -> dict[str, tuple[str, ...]]:
    """The allowed codes of each code fact (read in capitals, as every code)."""
    return {f"fact.{f.name}": tuple(v.upper() for v in f.values)
            for f in params.facts if isinstance(f, Fact) and f.values is not None}


def compute(inputs: Inputs, params: ComplianceParams) -> pl.LazyFrame:
    return compliance_measures(inputs.table("compliance"), params, inputs.year)


FAMILY = Family(
    name="compliance",
    params=ComplianceParams,
    compute=compute,
    tables=lambda p: ("compliance",),
    columns=columns,
    code_lists=code_lists,
    measures=(
        MeasureInfo("compliance_fact", "LEA compliance facts"),
        # counts findings of noncompliance, not students
        MeasureInfo("correction", "Findings of noncompliance corrected within one year", "rate", counts_students=False),
    ),
)
