"""MA's secondary analysis of special-education data for districts at Levels 3-5 (MA 2012 notice;
docs/methods.md section 9).

"(A) whether there appears to be an over-identification of low income students as eligible for
special education; and (B) whether there appears to be an inordinate separation of students with
disabilities across low income and/or racial groups." MA prints no threshold: the profile sets
one (risk ratio, minimum n and cell), and the rows are computed for every LEA; the profile's
conditions decide for which accountability levels they are shown as flags.

Rows (LEA level, for the determined year), computed with the shared risk-ratio code (the
comparison falls back to the statewide one when the LEA's fails its minimums):
- `low_income_identification` (category `low_income`): risk of having an IEP for low-income
  students against students who are not low income; denominator: enrolled students, ages
  `ages_identification`.
- `low_income_separation` (category `low_income`): among students with IEPs, ages
  `ages_placement`, the risk of a substantially separate setting (`separate_environments`,
  default inside regular class less than 40%) for low-income students against the others.
- `race_separation` (one row per racial/ethnic group): the same risk for group g against the
  other groups of the LEA.
Each has flag exceeds / not_exceeds against `threshold`.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import field_validator

from sedet.measures.common import (
    age_within,
    counted_by_environment,
    counted_by_others,
    plain,
    sum_where,
    to_measure_rows,
    with_margins,
)
from sedet.measures.family import Family
from sedet.measures.ratios import risk_ratios, rules_frame
from sedet.model import RACE_ETHNICITY, Inputs, MeasureInfo, NonNegInt, Strict

LOW, NOT_LOW = "LOW_INCOME", "NOT_LOW_INCOME"


class SecondaryParams(Strict):
    threshold: float
    threshold_op: Literal[">=", ">"]
    min_n: NonNegInt
    min_cell: NonNegInt
    separate_environments: list[str]
    ages_identification: tuple[NonNegInt, NonNegInt]
    ages_placement: tuple[NonNegInt, NonNegInt]


    @field_validator("ages_identification", "ages_placement", mode="before")
    @classmethod
    def _ages(cls, v):
        return tuple(v) if isinstance(v, list) else v


def secondary_measures(enrollment: pl.LazyFrame, params: SecondaryParams, year: int) -> pl.LazyFrame:
    c = pl.col("count")
    enr = with_margins(enrollment).filter(pl.col("school_year") == year)
    leas = plain(enr.select("school_year", "district_id").unique())
    income = pl.when(pl.col("low_income").fill_null(False)).then(pl.lit(LOW)).otherwise(pl.lit(NOT_LOW))
    separate = pl.col("environment").is_in(params.separate_environments)
    rules = rules_frame(["low_income_identification", "low_income_separation", "race_separation"],
                        lambda _: (params.min_n, params.min_cell, params.threshold, params.threshold_op))

    def complete(counts: pl.LazyFrame, groups: list[str], category: str) -> pl.LazyFrame:
        frame = leas.join(pl.LazyFrame({"race_ethnicity": groups}), how="cross").with_columns(
            pl.lit(category).alias("category")
        )
        keys = ["school_year", "district_id", "race_ethnicity", "category"]
        return frame.join(counts, on=keys, how="left").with_columns(pl.col("num", "den").fill_null(0))

    ident = plain(
        enr.filter(age_within(params.ages_identification) & counted_by_others())
        .group_by("school_year", "district_id", income.alias("race_ethnicity"))
        .agg(sum_where(c, pl.col("iep")).alias("num"), c.sum().alias("den"))
    ).with_columns(pl.lit("low_income_identification").alias("category"))
    iep = enr.filter(pl.col("iep") & age_within(params.ages_placement) & counted_by_environment())
    sep_income = plain(iep.group_by("school_year", "district_id", income.alias("race_ethnicity")).agg(
        sum_where(c, separate).alias("num"), c.sum().alias("den")
    )).with_columns(pl.lit("low_income_separation").alias("category"))
    sep_race = plain(iep.group_by("school_year", "district_id", "race_ethnicity").agg(
        sum_where(c, separate).alias("num"), c.sum().alias("den")
    )).with_columns(pl.lit("race_separation").alias("category"))
    counts = pl.concat([
        complete(ident, [LOW, NOT_LOW], "low_income_identification"),
        complete(sep_income, [LOW, NOT_LOW], "low_income_separation"),
        complete(sep_race, list(RACE_ETHNICITY), "race_separation"),
    ]).select("school_year", "district_id", "race_ethnicity", "category", pl.col("num").cast(pl.Int64),
              pl.col("den").cast(pl.Int64))
    ratios = risk_ratios(counts, rules)
    # The low-income rows are kept for the low-income group only (its comparison is the others).
    ratios = ratios.filter((pl.col("category") == "race_separation") | (pl.col("race_ethnicity") == LOW))
    return to_measure_rows(ratios.with_columns(
        pl.col("category").alias("measure"),
        pl.when(pl.col("category") == "race_separation").then(pl.col("race_ethnicity")).alias("race_ethnicity"),
        pl.when(pl.col("category") == "race_separation").then(pl.lit(None, pl.String)).otherwise(pl.lit("low_income"))
        .alias("category"),
        (pl.col("note") + pl.when(pl.col("measure") == "alternate_risk_ratio")
         .then(pl.lit(" (alternate: statewide comparison)")).otherwise(pl.lit(""))).alias("note"),
    ))


def compute(inputs: Inputs, params: SecondaryParams) -> pl.LazyFrame:
    return secondary_measures(inputs.table("enrollment"), params, inputs.year)


FAMILY = Family(
    name="secondary",
    params=SecondaryParams,
    compute=compute,
    tables=lambda p: ("enrollment",),
    reads={"enrollment": ("school_year", "district_id", "race_ethnicity", "iep", "environment", "low_income", "age",
                          "counts_in", "count")},
    measures=(
        MeasureInfo("low_income_identification", "Secondary analysis (A): identification of low-income students",
                    verdicts=("exceeds",)),
        MeasureInfo("low_income_separation", "Secondary analysis (B): separate settings by low-income status",
                    verdicts=("exceeds",)),
        MeasureInfo("race_separation", "Secondary analysis (B): separate settings by race/ethnicity",
                    verdicts=("exceeds",)),
    ),
)
