"""Secondary transition (SPP/APR Indicator 13; NJ Factor 5; docs/methods.md section 7).

District rows (district_id set), for the school year asked:

- `transition`: numerator = youth aged `min_age` and over whose IEP has **every** component in
  `components`; denominator = youth aged `min_age` and over whose IEPs were reviewed; value = share;
  threshold = `target`; flag `met` (value >= target) / `not_met`; status `no_data` (no value, no flag)
  when no youth of that age was reviewed (a district whose rows are all younger gets this row).
  No minimum n: Indicator 13 is a compliance indicator.
- `transition_component`, one row per component (`category` = the component's column name):
  numerator = youth of that age whose IEP has that component, denominator as above, value = share;
  no threshold, no flag. It tells a district which requirement its IEPs miss.

Statewide rows (district_id null), the sums over every district: `indicator_13` (threshold and flag
as for `transition`) and `transition_component`. The factor stage must take district rows only.

Choices the sources leave open:

- Age is the `age` column as the state exports it (the state fixes its reference date, e.g. age at
  the IEP reviewed); a youth counts when age >= `min_age` ("aged 16 and above": 16 counts, 15 does not).
- A null component (the reviewer left it blank) counts as **not present**: the IEP fails. A reviewed
  IEP must show evidence of each component; a blank is no evidence. (The loader reads a blank cell
  in a declared component column as null; it does not refuse it.)
- The agency-invitation component is "where appropriate": a file should mark it true when an
  invitation was not appropriate (nothing was required, so nothing is missing). sedet cannot tell
  "not appropriate" from "missing" in a bool.
"""

from __future__ import annotations

import re

import polars as pl
from pydantic import Field, field_validator

from sedet.measures.common import plain, sum_where, target_flag, to_measure_rows
from sedet.measures.family import Family
from sedet.model import NO_DATA, OK, Fraction, Inputs, MeasureInfo, NonNegInt, Strict

KEY = ["school_year", "district_id"]
RESERVED = ("school_year", "district_id", "student_id", "age", "count")

# The components of a transition IEP that NJ requires (NJ Factor 5; docs/methods.md section 7).
NJ_TRANSITION_COMPONENTS = (
    "postsecondary_goals",
    "transition_services",
    "annual_goals",
    "student_invited",
    "agency_invited",
)


class TransitionParams(Strict):
    """docs/methods.md section 7: who is reviewed and which IEP components are required."""

    min_age: NonNegInt = Field(description="youth aged this and over are counted (16: 20 U.S.C. 1416(a)(3)(B))")
    components: list[str] = Field(
        description="bool columns of the transition table, each a required IEP component; all must be true"
    )
    target: Fraction


    @field_validator("components")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one component")
        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"component {name!r}: a column name in lower-case snake_case "
                                 "(as the loader reads headers)")
            if name in RESERVED:
                raise ValueError(f"component {name!r} is a column of the transition table, not a component")
        if len(set(v)) != len(v):
            raise ValueError("each component once")
        return v


def transition_measures(transition: pl.LazyFrame, params: TransitionParams, year: int) -> pl.LazyFrame:
    """The Indicator 13 measure rows for `year`, per district and statewide (module docstring)."""
    c = pl.col("count")
    of_age = pl.col("age") >= params.min_age
    has = {name: pl.col(name).fill_null(False) for name in params.components}
    all_present = pl.all_horizontal(list(has.values()))
    per_district = plain(transition.filter(pl.col("school_year") == year)).group_by(KEY).agg(
        reviewed=sum_where(c, of_age),
        compliant=sum_where(c, of_age & all_present),
        **{f"has__{name}": sum_where(c, of_age & e) for name, e in has.items()},
    )
    values = ["reviewed", "compliant", *(f"has__{name}" for name in params.components)]
    state = per_district.group_by("school_year").agg(pl.col(values).sum()).with_columns(
        pl.lit(None, pl.String).alias("district_id")
    )
    sums = pl.concat([per_district.select(*KEY, *values), state.select(*KEY, *values)]).cache()

    n, k = pl.col("reviewed"), pl.col("compliant")
    is_state = pl.col("district_id").is_null()
    value = pl.when(n > 0).then(k / n)
    status = pl.when(n > 0).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA))
    listed = ", ".join(params.components)
    overall = sums.select(
        *KEY,
        pl.when(is_state).then(pl.lit("indicator_13")).otherwise(pl.lit("transition")).alias("measure"),
        k.alias("numerator"),
        n.alias("denominator"),
        value.alias("value"),
        pl.lit(params.target).alias("threshold"),
        status.alias("status"),
        target_flag(value, params.target, n > 0).alias("flag"),
        pl.concat_str(
            pl.when(is_state).then(pl.lit("statewide: ")).otherwise(pl.lit("")),
            pl.lit(f"IEPs of youth aged {params.min_age}+ with all {len(params.components)} components ({listed}) "
                   f"/ IEPs of youth aged {params.min_age}+ reviewed; a blank component counts as missing"),
        ).alias("note"),
    )
    components = pl.concat([
        sums.select(
            *KEY,
            pl.lit("transition_component").alias("measure"),
            pl.lit(name).alias("category"),
            pl.col(f"has__{name}").alias("numerator"),
            n.alias("denominator"),
            pl.when(n > 0).then(pl.col(f"has__{name}") / n).alias("value"),
            status.alias("status"),
            pl.lit(f"IEPs of youth aged {params.min_age}+ with {name} / IEPs of youth aged {params.min_age}+ reviewed")
            .alias("note"),
        )
        for name in params.components
    ])
    return pl.concat([to_measure_rows(overall), to_measure_rows(components)])


def compute(inputs: Inputs, params: TransitionParams) -> pl.LazyFrame:
    return transition_measures(inputs.table("transition"), params, inputs.year)


FAMILY = Family(
    name="transition",
    params=TransitionParams,
    compute=compute,
    tables=lambda p: ("transition",),
    columns=lambda p: {"transition": list(p.components)},
    measures=(
        MeasureInfo("transition", "Secondary transition: IEPs with every required component (Indicator 13)", "rate",
                    statewide="indicator_13"),
        MeasureInfo("transition_component", "Indicator 13: IEPs with each component", "rate"),
        MeasureInfo("indicator_13",
                    "Indicator 13: percent of youth aged 16+ with IEPs that have every required component", "rate"),
    ),
)
