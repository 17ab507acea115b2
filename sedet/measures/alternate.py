"""Alternate assessment participation (NJ Factor 6; ESSA 1% cap; docs/methods.md section 3).

District rows (district_id set), for the school year asked:

- `alternate_rate` per `subject`: numerator = students who took the alternate assessment (`ALT`,
  e.g. DLM) and participated; denominator = all students tested in that subject (REG and ALT
  participants), in the grades `grades` lists for the subject, **all students** (rows with iep
  true and false); value = share; threshold = `cap`; flag `above_cap` (value > cap) / `within_cap`;
  status `no_data` (no value, no flag) when no student was tested in the subject. Every district
  with assessment rows in the year gets one row per subject of `grades`.
- `alternate_rate` with subject null: the district's rate, the **highest** of its subject rates
  (NJ: "the highest rate of participation across each of the three areas ... is used"). Its
  numerator, denominator and value are those of that subject; the note names the subject and lists
  every subject's rate. `no_data` when no subject has a rate.

Choices the sources leave open:

- "Tested students" (ESSA, 34 CFR 200.6(c)(2)) and NJ's "total test enrollment ... including students
  taking both the NJSLA and DLM" are read as participants: rows with `participated` true, REG or ALT.
  A student enrolled for the test who did not take it is not in the denominator. `enrolled_in_window`
  is not used.
- A grade not listed for the subject is not counted at all (e.g. ELA grade 10, or a science test in
  grade 4): neither in the numerator nor in the denominator.
- "No more than one percent": a rate of exactly 1% is within the cap; above means value > cap
  (compared as value > cap + 1e-9, the house tolerance, so 3/300 is within a 0.01 cap).
- Ties for the highest subject go to the first subject in `grades` order (ELA, MATH, SCI); the note
  names it.
- Students in out-of-district placements count for the district that placed them: the file must
  carry them under that district_id (sedet cannot tell).
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field, field_validator

from sedet.measures.common import fmt_num, plain, sum_where, to_measure_rows
from sedet.measures.family import Family
from sedet.model import EPS, NO_DATA, OK, Fraction, Inputs, MeasureInfo, Strict

KEY = ["school_year", "district_id"]

Subject = Literal["ELA", "MATH", "SCI"]


class AlternateParams(Strict):
    """docs/methods.md section 3: which grades count per subject, and the cap."""

    grades: dict[Subject, list[int]] = Field(
        description="subject -> grades counted (NJ: ELA and MATH 3-8 and 11, SCI 5, 8 and 11)"
    )
    cap: Fraction = Field(description="share of tested students on the alternate assessment (ESSA: 0.01)")


    @field_validator("grades")
    @classmethod
    def _grades(cls, v: dict[str, list[int]]) -> dict[str, list[int]]:
        if not v:
            raise ValueError("at least one subject")
        for subject, gs in v.items():
            if not gs:
                raise ValueError(f"{subject}: at least one grade")
            bad = [g for g in gs if not 3 <= g <= 12]
            if bad:
                raise ValueError(f"{subject}: grades {bad} are outside 3-12 (the assessments table's grades)")
            if len(set(gs)) != len(gs):
                raise ValueError(f"{subject}: each grade once")
        return v


def _in_grades(params: AlternateParams) -> pl.Expr:
    expr = pl.lit(False)
    for subject, gs in params.grades.items():
        expr = expr | ((pl.col("subject") == subject) & pl.col("grade").is_in(gs))
    return expr


def alternate_measures(assessments: pl.LazyFrame, params: AlternateParams, year: int) -> pl.LazyFrame:
    """The alternate-assessment rate rows for `year`: per district and subject, and the district's highest."""
    subjects = list(params.grades)
    order = {s: i for i, s in enumerate(subjects)}
    rows = assessments.filter(pl.col("school_year") == year)
    c = pl.col("count")
    counted = rows.filter(_in_grades(params) & pl.col("participated"))
    sums = plain(counted.group_by([*KEY, "subject"]).agg(
        alt=sum_where(c, pl.col("assessment") == "ALT"),
        tested=c.sum(),
    ))
    grid = (
        plain(rows.select(KEY).unique())
        .join(pl.LazyFrame({"subject": subjects}, schema={"subject": pl.String}), how="cross")
        .join(sums, on=[*KEY, "subject"], how="left")
        .with_columns(pl.col("alt", "tested").fill_null(0))
        .with_columns(pl.when(pl.col("tested") > 0).then(pl.col("alt") / pl.col("tested")).alias("rate"))
        .cache()
    )
    cap = params.cap

    def flag(value: pl.Expr) -> pl.Expr:
        return pl.when(value.is_not_null()).then(
            pl.when(value > cap + EPS).then(pl.lit("above_cap")).otherwise(pl.lit("within_cap"))
        )

    grade_text = "; ".join(f"{s} grades {', '.join(map(str, gs))}" for s, gs in params.grades.items())
    per_subject = grid.select(
        *KEY,
        pl.lit("alternate_rate").alias("measure"),
        "subject",
        pl.col("alt").alias("numerator"),
        pl.col("tested").alias("denominator"),
        pl.col("rate").alias("value"),
        pl.lit(cap).alias("threshold"),
        pl.when(pl.col("tested") > 0).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA)).alias("status"),
        flag(pl.col("rate")).alias("flag"),
        pl.lit(f"all students (not only IEP) tested on the alternate assessment / all students tested ({grade_text})")
        .alias("note"),
    )

    listing = (
        pl.col("subject") + pl.lit(" ")
        + pl.when(pl.col("rate").is_not_null())
        .then(pl.col("alt").cast(pl.String) + pl.lit(" of ") + pl.col("tested").cast(pl.String)
              + pl.lit(" = ") + fmt_num(pl.col("rate") * 100, 2) + pl.lit("%"))
        .otherwise(pl.lit("no data"))
    )
    # The highest rate first; a tie goes to the first subject in `grades`; subjects without a rate last.
    ranked = [pl.col("rate"), pl.col("__order")]

    def top(name: str) -> pl.Expr:
        return pl.col(name).sort_by(ranked, descending=[True, False], nulls_last=True).first()

    highest = (
        grid.with_columns(pl.col("subject").replace_strict(order, return_dtype=pl.Int64).alias("__order"))
        .group_by(KEY)
        .agg(
            top("subject").alias("top"),
            top("alt").alias("alt"),
            top("tested").alias("tested"),
            top("rate").alias("rate"),
            listing.sort_by("__order").str.join(", ").alias("listing"),
        )
    )
    district = highest.select(
        *KEY,
        pl.lit("alternate_rate").alias("measure"),
        pl.lit(None, pl.String).alias("subject"),
        pl.col("alt").alias("numerator"),
        pl.col("tested").alias("denominator"),
        pl.col("rate").alias("value"),
        pl.lit(cap).alias("threshold"),
        pl.when(pl.col("rate").is_not_null()).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA)).alias("status"),
        flag(pl.col("rate")).alias("flag"),
        pl.when(pl.col("rate").is_not_null())
        .then(pl.lit("highest subject rate: ") + pl.col("top") + pl.lit(" (") + pl.col("listing") + pl.lit(")"))
        .otherwise(pl.lit("no subject has students tested (") + pl.col("listing") + pl.lit(")"))
        .alias("note"),
    )
    return pl.concat([to_measure_rows(per_subject), to_measure_rows(district)])


def compute(inputs: Inputs, params: AlternateParams) -> pl.LazyFrame:
    return alternate_measures(inputs.table("assessments"), params, inputs.year)


FAMILY = Family(
    name="alternate",
    params=AlternateParams,
    compute=compute,
    tables=lambda p: ("assessments",),
    reads={"assessments": ("school_year", "district_id", "subject", "grade", "assessment", "participated", "count")},
    measures=(
        # the LEA's row is its highest subject, not a sum of the subjects
        MeasureInfo("alternate_rate", "Alternate assessment participation rate (1% cap)", "rate", additive=False,
                    verdicts=("above_cap",)),
    ),
)
