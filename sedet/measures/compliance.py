"""LEA compliance facts (NJ Factors 7, 8, 9; MA compliance criteria; docs/methods.md section 8).

District rows, for the school year asked, one set per row of the `compliance` table:

- `correction` (only when the profile declares both `findings` and `findings_corrected_on_time`):
  numerator = findings corrected within one year of notification, denominator = findings, value =
  share, threshold 1.0 (every finding corrected), flag `all_corrected` (corrected >= findings, compared
  in whole numbers) / `uncorrected`; status `no_data` (no value, no flag) when the district had no
  finding: with nothing to correct there is no rate, and the factor stage decides whether that earns
  the points or is left out (not applicable).
- `compliance_fact`, one row per declared fact (`category` = the fact's column name): value = the
  fact as a number: bools as 1.0 (true) / 0.0 (false) with flag `yes` / `no`; counts and rates as they
  are (`grant_revisions` keeps its count, `data_accuracy_rate` its share), flag null. numerator and
  denominator stay null: a fact is not a ratio. A blank fact gives value null and status `no_data`
  (the loader refuses blanks in declared columns, so this only happens when called directly).

A district with no compliance row for the year has no rows here at all: sedet does not invent a
fact. The factor stage sees the measure missing and treats the factor as it treats any measure that
is not there (the profile's choice: not applicable, or a data-quality failure).

Which facts exist is the profile's list (`facts`); the loader requires those columns and types them
(`sedet.io.schema`, the compliance table's known facts: whole numbers, bools, rates; any other
fact as a number).
"""

from __future__ import annotations

import re

import polars as pl
from pydantic import Field, field_validator

from sedet.measures.common import to_measure_rows
from sedet.measures.family import Family
from sedet.model import MEASURE_SCHEMA, NO_DATA, OK, Inputs, MeasureInfo, Strict

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


class ComplianceParams(Strict):
    """docs/methods.md section 8: the LEA-level facts a profile scores (columns of `compliance`)."""

    facts: list[str] = Field(description="columns of the compliance table the profile scores; the loader requires them")

    @field_validator("facts")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"fact {name!r}: a column name in lower-case snake_case (as the loader reads headers)")
            if name in KEY:
                raise ValueError(f"fact {name!r} is a key column of the compliance table, not a fact")
        if len(set(v)) != len(v):
            raise ValueError("each fact once")
        return v


def compliance_measures(compliance: pl.LazyFrame, params: ComplianceParams, year: int) -> pl.LazyFrame:
    """The compliance measure rows for `year` (module docstring)."""
    rows = compliance.filter(pl.col("school_year") == year)
    schema = rows.collect_schema()
    parts: list[pl.LazyFrame] = []
    if {"findings", "findings_corrected_on_time"} <= set(params.facts):
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
    for name in params.facts:
        col = pl.col(name)
        is_bool = schema[name] == pl.Boolean
        parts.append(rows.select(
            *KEY,
            pl.lit("compliance_fact").alias("measure"),
            pl.lit(name).alias("category"),
            col.cast(pl.Float64).alias("value"),
            pl.when(col.is_not_null()).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA)).alias("status"),
            (pl.when(col).then(pl.lit("yes")).when(~col).then(pl.lit("no")) if is_bool else pl.lit(None, pl.String))
            .alias("flag"),
            pl.lit(DESCRIPTIONS.get(name, name) + (" (1 = yes, 0 = no)" if is_bool else "")).alias("note"),
        ))
    if not parts:
        return pl.LazyFrame(schema=MEASURE_SCHEMA)
    return pl.concat([to_measure_rows(p) for p in parts])


def compute(inputs: Inputs, params: ComplianceParams) -> pl.LazyFrame:
    return compliance_measures(inputs.table("compliance"), params, inputs.year)


FAMILY = Family(
    name="compliance",
    params=ComplianceParams,
    compute=compute,
    tables=lambda p: ("compliance",),
    columns=lambda p: {"compliance": list(p.facts)},
    measures=(
        MeasureInfo("compliance_fact", "LEA compliance facts"),
        # counts findings of noncompliance, not students
        MeasureInfo("correction", "Findings of noncompliance corrected within one year", "rate", counts_students=False),
    ),
)
