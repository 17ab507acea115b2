"""Significant discrepancy in suspension and expulsion (Indicators 4A and 4B; NJ Factor 1).

Rate = students with IEPs whose out-of-school suspensions and expulsions add up to more than
10 days in the year / students with IEPs (from `enrollment`), docs/methods.md section 5. 4A is the
LEA overall; 4B each racial/ethnic group. The state picks the comparison (34 CFR 300.170(a)):

- `rate_ratio_nondisabled`: the LEA's IEP rate / the LEA's rate for students without IEPs
  (for 4B: the group's IEP rate / the LEA's non-IEP rate, all groups);
- `rate_ratio_state`: the LEA's IEP rate / the state's IEP rate (for 4B: the group's rate /
  the state's rate for all students with IEPs);
- `rate_difference_state`: the LEA's IEP rate - the state's IEP rate, in percentage points.

Minimum n applies to the IEP students (denominator), minimum cell to the students removed more
than 10 days (numerator). A comparison of 0 (no non-IEP removals, for a ratio) gives no value.

Rows: `discipline_rate` (4A, race null; 4B, per group) with numerator/denominator = the LEA's
(or group's) counts, comparison_* = the comparison's, value = the ratio or difference, flag
`significant_discrepancy` / `no_discrepancy`; `indicator_4b` per LEA and group: flag
`policies_contributed` where there is a discrepancy and the compliance fact
`policies_contributed` is true. Statewide: `indicator_4a` (LEAs with a significant discrepancy /
LEAs meeting the minimums), `indicator_4b` (LEAs with a discrepancy by race and policies that
contributed / LEAs meeting the minimums for at least one group), and `indicator_4a_excluded` /
`indicator_4b_excluded` (LEAs excluded by the minimums).
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field, field_validator

from sedet.measures.common import (
    age_within,
    children_removed,
    counted_by_others,
    meets_minimums,
    plain,
    shortfall,
    sum_where,
    to_measure_rows,
    with_margins,
)
from sedet.measures.family import Family
from sedet.measures.ratios import exceeds, pct
from sedet.model import NO_DATA, OK, RACE_ETHNICITY, Inputs, MeasureInfo, NonNegInt, Strict

Comparison = Literal["rate_ratio_nondisabled", "rate_ratio_state", "rate_difference_state"]


class DisciplineParams(Strict):
    comparison: Comparison
    threshold: float = Field(description="a ratio, or for rate_difference_state percentage points")
    threshold_op: Literal[">=", ">"]
    min_n: NonNegInt
    min_cell: NonNegInt
    more_than_days: float
    removal_types: list[Literal["OSS", "ISS", "IAES"]] = Field(
        description="removals that count as suspension/expulsion")
    ages: tuple[NonNegInt, NonNegInt]
    by_race: bool


    @field_validator("ages", mode="before")
    @classmethod
    def _ages(cls, v):
        return tuple(v) if isinstance(v, list) else v


def discipline_cells(enrollment: pl.LazyFrame, discipline: pl.LazyFrame, params: DisciplineParams,
                     year: int) -> pl.LazyFrame:
    """Per LEA, race/ethnicity and IEP status: students enrolled (den) and students over the days (num)."""
    c = pl.col("count")
    enr = with_margins(enrollment).filter(
        (pl.col("school_year") == year) & age_within(params.ages) & counted_by_others()
    )
    removed = with_margins(discipline).filter(
        (pl.col("school_year") == year)
        & pl.col("removal_type").is_in(params.removal_types)
        & age_within(params.ages)
        & children_removed()
    )
    # A student's days over the counted removal types (one row per student and type).
    over = removed.filter(pl.col("days_removed") > params.more_than_days)
    keys = ["district_id", "race_ethnicity"]
    den = plain(enr.group_by([*keys, "iep"]).agg(c.sum().alias("den")))
    num = plain(over.group_by([*keys, "iep"]).agg(c.sum().alias("num")))
    return (
        plain(enr.select("district_id").unique())
        .join(pl.LazyFrame({"race_ethnicity": list(RACE_ETHNICITY)}), how="cross")
        .join(pl.LazyFrame({"iep": [True, False]}), how="cross")
        .join(den, on=[*keys, "iep"], how="left")
        .join(num, on=[*keys, "iep"], how="left")
        .with_columns(pl.col("den", "num").fill_null(0))
    )


def cells_key(params: DisciplineParams, year: int) -> tuple:
    """What discipline_cells depends on: not the comparison, threshold or minimums."""
    return ("discipline.cells", year, params.ages, tuple(params.removal_types), params.more_than_days)


def discipline_measures(
    enrollment: pl.LazyFrame,
    discipline: pl.LazyFrame,
    params: DisciplineParams,
    year: int,
    compliance: pl.LazyFrame | None = None,
    cells: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """`cells`: discipline_cells of these tables and parameters, when already computed (a sweep)."""
    if cells is None:
        cells = discipline_cells(enrollment, discipline, params, year)
    cells = cells.cache()
    iep = cells.filter(pl.col("iep"))
    non = cells.filter(~pl.col("iep")).group_by("district_id").agg(
        pl.col("num").sum().alias("nd_num"), pl.col("den").sum().alias("nd_den")
    )
    state = iep.select(pl.col("num").sum().alias("st_num"), pl.col("den").sum().alias("st_den"))
    overall = iep.group_by("district_id").agg(pl.col("num", "den").sum()).with_columns(
        pl.lit(None, pl.String).alias("race_ethnicity")
    )
    groups = iep.select("district_id", "race_ethnicity", "num", "den") if params.by_race else None
    frames = [overall.select("district_id", "race_ethnicity", "num", "den")] + ([groups] if groups is not None else [])
    rows = (
        pl.concat(frames)
        .join(non, on="district_id", how="left")
        .join(state, how="cross")
        .with_columns(pl.col("nd_num", "nd_den").fill_null(0))
    )
    if params.comparison == "rate_ratio_nondisabled":
        cmp_num, cmp_den = pl.col("nd_num"), pl.col("nd_den")
        cmp_words = "students without IEPs in the LEA"
    else:
        cmp_num, cmp_den = pl.col("st_num"), pl.col("st_den")
        cmp_words = "students with IEPs statewide"
    difference = params.comparison == "rate_difference_state"
    status = pl.coalesce(
        shortfall(pl.col("den"), params.min_n, pl.col("num"), params.min_cell),
        pl.when(cmp_den <= 0).then(pl.lit(NO_DATA)),
        pl.when(pl.lit(not difference) & (cmp_num <= 0)).then(pl.lit(NO_DATA)),
        pl.lit(OK),
    )
    if difference:
        value = 100 * (pl.col("num") / pl.col("den") - cmp_num / cmp_den)
    else:  # exact: one division of integer products
        value = ((pl.col("num").cast(pl.Int64) * cmp_den.cast(pl.Int64))
                 / (pl.col("den").cast(pl.Int64) * cmp_num.cast(pl.Int64)))
    rate_rows = rows.with_columns(status.alias("status")).with_columns(
        pl.lit(year, pl.Int64).alias("school_year"),
        pl.lit("discipline_rate").alias("measure"),
        pl.col("num").cast(pl.Float64).alias("numerator"),
        pl.col("den").cast(pl.Float64).alias("denominator"),
        cmp_num.cast(pl.Float64).alias("comparison_numerator"),
        cmp_den.cast(pl.Float64).alias("comparison_denominator"),
        pl.when(cmp_den > 0).then(cmp_num / cmp_den).alias("comparison_value"),
        pl.when(pl.col("status") == OK).then(value).alias("value"),
        pl.lit(params.threshold).alias("threshold"),
    ).with_columns(
        pl.when(pl.col("value").is_not_null())
        .then(pl.when(exceeds(pl.col("value"), pl.lit(params.threshold), pl.lit(params.threshold_op)))
              .then(pl.lit("significant_discrepancy")).otherwise(pl.lit("no_discrepancy")))
        .alias("flag"),
        pl.concat_str(
            pl.lit(f"students with IEPs removed more than {params.more_than_days:g} days: "),
            pl.col("num").cast(pl.String), pl.lit("/"), pl.col("den").cast(pl.String), pl.lit(" = "),
            pct(pl.col("num"), pl.col("den")),
            pl.lit(f" vs {cmp_words} "), cmp_num.cast(pl.String), pl.lit("/"), cmp_den.cast(pl.String), pl.lit(" = "),
            pct(cmp_num, cmp_den),
            pl.lit(f"; {params.comparison.replace('_', ' ')} {params.threshold_op} {params.threshold:g}"
                   f"; minimum n {params.min_n}, cell {params.min_cell}"),
        ).alias("note"),
    ).cache()
    parts = [to_measure_rows(rate_rows)]
    # 4B: discrepancy by race and the LEA's policies contributed (a compliance fact).
    has_fact = compliance is not None and "policies_contributed" in compliance.collect_schema().names()
    by_group = rate_rows.filter(pl.col("race_ethnicity").is_not_null())
    if compliance is not None and has_fact:
        facts = compliance.filter(pl.col("school_year") == year).select("district_id", "policies_contributed")
        by_group = by_group.join(facts, on="district_id", how="left")
    else:
        by_group = by_group.with_columns(pl.lit(None, pl.Boolean).alias("policies_contributed"))
    contributed = (pl.col("flag") == "significant_discrepancy") & pl.col("policies_contributed").fill_null(False)
    ind_4b_rows = by_group.select(
        "school_year", "district_id", "race_ethnicity", "num", "den",
        pl.lit("indicator_4b").alias("measure"),
        pl.col("status"),
        pl.when(pl.col("status") == OK).then(
            pl.when(contributed).then(pl.lit("policies_contributed"))
            .when(pl.col("flag") == "significant_discrepancy").then(pl.lit("discrepancy_only"))
            .otherwise(pl.lit("no_discrepancy"))
        ).alias("flag"),
        pl.when(pl.col("status") == OK).then(contributed.cast(pl.Float64)).alias("value"),
        pl.lit("significant discrepancy by race/ethnicity, and the LEA's policies, procedures or practices contributed"
               + ("" if has_fact else " (no policies_contributed fact in the bundle)")).alias("note"),
    )
    if params.by_race:
        parts.append(to_measure_rows(ind_4b_rows))
    parts.append(_state_rows(rate_rows, ind_4b_rows if params.by_race else None, year, params))
    return pl.concat(parts)


def _state_rows(rate_rows: pl.LazyFrame, ind_4b: pl.LazyFrame | None, year: int,
                params: DisciplineParams) -> pl.LazyFrame:
    # An LEA (or group) is in the denominator when it meets the minimum n and cell, whether or not
    # its comparison could be computed; those that do not are the "excluded" the APR reports.
    meets = meets_minimums(pl.col("den"), params.min_n, pl.col("num"), params.min_cell)
    a = rate_rows.filter(pl.col("race_ethnicity").is_null()).select(
        pl.lit("indicator_4a").alias("measure"),
        (pl.col("flag") == "significant_discrepancy").sum().cast(pl.Float64).alias("numerator"),
        meets.sum().cast(pl.Float64).alias("denominator"),
        (~meets).sum().cast(pl.Float64).alias("excluded"),
        pl.len().cast(pl.Float64).alias("all"),
        pl.lit("LEAs with a significant discrepancy / LEAs meeting the minimum n and cell").alias("note"),
    )
    frames = [a]
    if ind_4b is not None:
        per_lea = ind_4b.group_by("district_id").agg(
            meets.any().alias("meets"), (pl.col("flag") == "policies_contributed").any().alias("counted")
        )
        frames.append(per_lea.select(
            pl.lit("indicator_4b").alias("measure"),
            sum_where(pl.col("counted"), pl.col("meets")).cast(pl.Float64).alias("numerator"),
            pl.col("meets").sum().cast(pl.Float64).alias("denominator"),
            (~pl.col("meets")).sum().cast(pl.Float64).alias("excluded"),
            pl.len().cast(pl.Float64).alias("all"),
            pl.lit("LEAs with a significant discrepancy by race/ethnicity and policies that contributed / "
                   "LEAs meeting the minimum n and cell for at least one group").alias("note"),
        ))
    s = pl.concat(frames)
    main = s.select(
        pl.lit(year, pl.Int64).alias("school_year"), "measure", "numerator", "denominator",
        pl.when(pl.col("denominator") > 0).then(pl.col("numerator") / pl.col("denominator")).alias("value"),
        pl.when(pl.col("denominator") > 0).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA)).alias("status"),
        "note",
    )
    excluded = s.select(
        pl.lit(year, pl.Int64).alias("school_year"), (pl.col("measure") + "_excluded").alias("measure"),
        pl.col("excluded").alias("numerator"), pl.col("all").alias("denominator"), pl.lit(OK).alias("status"),
        pl.lit("LEAs excluded by the minimum n or cell").alias("note"),
    )
    return pl.concat([to_measure_rows(main), to_measure_rows(excluded)])


def compute(inputs: Inputs, params: DisciplineParams) -> pl.LazyFrame:
    enrollment, discipline = inputs.table("enrollment"), inputs.table("discipline")
    cells = inputs.shared(cells_key(params, inputs.year),
                          lambda: discipline_cells(enrollment, discipline, params, inputs.year))
    return discipline_measures(enrollment, discipline, params, inputs.year, inputs.optional("compliance"), cells)


FAMILY = Family(
    name="discipline",
    params=DisciplineParams,
    compute=compute,
    tables=lambda p: ("enrollment", "discipline"),
    reads={"enrollment": ("school_year", "district_id", "race_ethnicity", "iep", "age", "counts_in", "count")},
    measures=(
        MeasureInfo("discipline_rate", "Suspension/expulsion of more than 10 days: rate of students with IEPs against "
                    "the comparison", verdicts=("significant_discrepancy",)),
        MeasureInfo("indicator_4b", "Indicator 4B: discrepancy by race/ethnicity with contributing policies", "rate",
                    counts_students=False, verdicts=("policies_contributed", "discrepancy_only")),
        MeasureInfo("indicator_4a", "Indicator 4A: percent of LEAs with a significant discrepancy", "rate",
                    counts_students=False),
        MeasureInfo("indicator_4a_excluded", "Indicator 4A: LEAs excluded by the minimum n or cell", "count",
                    counts_students=False),
        MeasureInfo("indicator_4b_excluded", "Indicator 4B: LEAs excluded by the minimum n or cell", "count",
                    counts_students=False),
    ),
)
