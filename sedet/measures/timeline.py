"""Timely initial evaluation (SPP/APR Indicator 11; NJ Factor 3; docs/methods.md section 6).

Every child whose parental consent to an initial evaluation was received in the reporting period is
sorted into exactly one outcome, in this order:

1. `exception`: the row carries an exception code the profile accepts (a federal code listed in
   `exceptions`, or a key of `state_exceptions`). Removed from both a and b.
2. `on_time`: determined, and determination - consent <= `timeline_days` calendar days (day N itself
   is on time).
3. `late`: determined, more than `timeline_days` days after consent.
4. `late_open`: no determination, and the timeline ran out within the reporting period: consent +
   `timeline_days` <= the last day of the period (June 30). The last allowed day is itself a day of
   the period, so a child whose last day is June 30 and who has no determination is late: the
   district had every day of its timeline inside the period.
5. `pending`: no determination, and the last allowed day falls after the period (July 1 or later):
   the timeline has not run out. In neither a nor b.

a = on_time + late + late_open; b = on_time.

District rows (district_id set), for the school year asked:

- `timeline`: numerator b, denominator a, value b / a, threshold = `target`, flag `met` (value >=
  target) / `not_met`; status `no_data` (no value, no flag) when a = 0. No minimum n: Indicator 11 is a
  compliance indicator, every child counts.
- `timeline_days_late`, one row per `category`: each band of `late_bands` ("1-10", "11-30", "31+"),
  and `not_determined` for `late_open` children (their timeline ran out and no determination is known,
  so the days late are not known either). numerator = children in that category, denominator = all late
  children (a - b), value = share. The categories therefore add up to a - b, which is what the APR
  asks for ("account for children included in a but not included in b; indicate the range of days
  beyond the timeline"). Status `no_data` when no child was late.
- `timeline_pending`: numerator = value = pending children (a count, denominator null).
- `timeline_exceptions`: numerator = value = children removed by an exception, one row per accepted
  code (`category` = the code, zeros included, so every district has the same rows) and one total row
  (`category` null). The APR asks for the reasons; the codes are what a state lists.

Statewide rows (district_id null), the same sums over every district: `indicator_11` (the statewide
percent, threshold and flag as for `timeline`), `timeline_days_late`, `timeline_pending`,
`timeline_exceptions`. The factor stage must take district rows only (district_id not null).

Choices the sources leave open:

- The year of a child is the row's `school_year`; `row_checks` refuses a consent date outside that
  year's reporting period, so the two cannot disagree.
- A determination after the end of the period is used as it is: if the data were extracted after
  June 30, the true outcome is known and beats "pending".
- An exception code removes the row whatever its dates (the code is the district's claim that the
  timeline did not apply). A code the profile does not accept does not remove anything (the loader
  refuses such codes, so this only matters when the function is called directly).
- State exceptions are removed from a and b like the federal ones by default (docs/methods.md section 6). The OSEP
  measurement table asks states to *include* cases under a state-established exception in b (counted
  as timely): `state_exceptions_count_as = "on_time"` does that.
- `late_bands` must start at 1, be contiguous, and end open (every late day falls in one band). In
  TOML, which has no null, the open band is written with one bound: `[31]`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from sedet.measures.common import plain, sum_where, target_flag, to_measure_rows
from sedet.measures.family import Family
from sedet.model import (
    FEDERAL_EVALUATION_EXCEPTIONS,
    NO_DATA,
    OK,
    Check,
    Fraction,
    Inputs,
    MeasureInfo,
    Strict,
    T,
    found,
)

# the federal codes, as a type the profile's parameters are validated against
FederalException = Literal[tuple(FEDERAL_EVALUATION_EXCEPTIONS)]  # type: ignore[valid-type]

KEY = ["school_year", "district_id"]
NOT_DETERMINED = "not_determined"

ON_TIME, LATE, LATE_OPEN, PENDING, EXCEPTION = "on_time", "late", "late_open", "pending", "exception"


class TimelineParams(Strict):
    """docs/methods.md section 6: the initial-evaluation timeline and what counts as a lawful delay."""

    timeline_days: int = Field(ge=1, description="calendar days from consent to eligibility determination "
                                                 "(60 federal, 34 CFR 300.301(c)(1); 90 NJ, N.J.A.C. 6A:14-3.4(e))")
    reporting_period_start: str = Field(
        default="07-01",
        description="MM-DD: the period runs from this day in the year before school_year to the day before it "
        "in school_year (07-01: July 1, 2011 - June 30, 2012 for school_year 2012)",
    )
    exceptions: list[FederalException] = Field(  # type: ignore[valid-type]
        description="federal exception codes the state accepts")
    state_exceptions: dict[str, str] = Field(default_factory=dict, description="state exception code -> description")
    state_exceptions_count_as: Literal["excluded", "on_time"] = Field(
        default="excluded",
        description="a case under a state exception: removed from a and b (docs/methods.md section 6), or counted "
        "in b as "
        "timely (the OSEP Indicator 11 measurement: 'describe cases falling within those exceptions and include in b')",
    )
    late_bands: list[tuple[int, int | None]] = Field(
        default=[(1, 10), (11, 30), (31, None)],
        description="bands of days beyond the timeline, [first, last]; the last band is open ([31])",
    )
    target: Fraction = 1.0


    @field_validator("late_bands", mode="before")
    @classmethod
    def _bands(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [((x[0], None) if len(x) == 1 else tuple(x)) if isinstance(x, list) else x for x in v]
        return v

    @field_validator("reporting_period_start")
    @classmethod
    def _month_day(cls, v: str) -> str:
        try:
            if len(v) != 5 or v[2] != "-":
                raise ValueError
            dt.date(2001, int(v[:2]), int(v[3:]))  # a non-leap year: 02-29 is refused
        except ValueError:
            raise ValueError(f"{v!r} is not a month and day written MM-DD (e.g. '07-01'; not 02-29)") from None
        return v

    @field_validator("state_exceptions")
    @classmethod
    def _state_codes(cls, v: dict[str, str]) -> dict[str, str]:
        for code in v:
            if not code or code != code.strip() or code != code.upper():
                raise ValueError(f"state exception code {code!r}: write codes in capitals, without surrounding spaces "
                                 "(the loader compares codes in capitals)")
            if code in FEDERAL_EVALUATION_EXCEPTIONS:
                raise ValueError(f"state exception code {code!r} is a federal code: list it in `exceptions`")
        return v

    @field_validator("exceptions")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each exception code once")
        return v

    @model_validator(mode="after")
    def _bands_cover(self) -> TimelineParams:
        bands = self.late_bands
        if not bands:
            raise ValueError("late_bands: at least one band, e.g. [[1, 10], [11, 30], [31]]")
        expect = 1
        for i, (lo, hi) in enumerate(bands):
            if lo != expect:
                raise ValueError(f"late_bands: band {i + 1} starts at {lo}, expected {expect} "
                                 "(bands start at 1 day late and follow each other without gaps)")
            last = i == len(bands) - 1
            if hi is None and not last:
                raise ValueError(f"late_bands: only the last band may be open, band {i + 1} is")
            if hi is not None and last:
                raise ValueError(f"late_bands: the last band must be open (e.g. [{lo}]) so every late day has a band")
            if hi is not None:
                if hi < lo:
                    raise ValueError(f"late_bands: band {i + 1} ends ({hi}) before it starts ({lo})")
                expect = hi + 1
        return self

    def month_day(self) -> tuple[int, int]:
        return int(self.reporting_period_start[:2]), int(self.reporting_period_start[3:])

    def period(self, school_year: int) -> tuple[dt.date, dt.date]:
        """First and last day of the reporting period of a school year."""
        m, d = self.month_day()
        return dt.date(school_year - 1, m, d), dt.date(school_year, m, d) - dt.timedelta(days=1)

    def accepted(self) -> list[str]:
        """Every code that removes a child from a and b: federal ones first, then the state's."""
        return [*self.exceptions, *self.state_exceptions]

    def band_labels(self) -> list[str]:
        return [_label(lo, hi) for lo, hi in self.late_bands]


def _label(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"{lo}+"
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _band(days_late: pl.Expr, params: TimelineParams) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, pl.String)
    for lo, hi in params.late_bands:
        inside = days_late >= lo if hi is None else days_late.is_between(lo, hi)
        expr = pl.when(inside).then(pl.lit(_label(lo, hi))).otherwise(expr)
    return expr


def evaluation_outcomes(evaluations: pl.LazyFrame, params: TimelineParams, year: int) -> pl.LazyFrame:
    """The rows of `year` with `outcome`, `days` (consent to determination), `days_late` and `band`."""
    _, end = params.period(year)
    n = params.timeline_days
    days = (pl.col("determination_date") - pl.col("consent_date")).dt.total_days()
    deadline = pl.col("consent_date") + pl.duration(days=n)  # the last day that is on time
    timely_by_state = list(params.state_exceptions) if params.state_exceptions_count_as == "on_time" else []
    removed = [c for c in params.accepted() if c not in timely_by_state]
    outcome = (
        pl.when(pl.col("exception").is_in(removed).fill_null(False)).then(pl.lit(EXCEPTION))
        .when(pl.col("exception").is_in(timely_by_state).fill_null(False)).then(pl.lit(ON_TIME))
        .when(pl.col("determination_date").is_not_null() & (days <= n)).then(pl.lit(ON_TIME))
        .when(pl.col("determination_date").is_not_null()).then(pl.lit(LATE))
        .when(deadline <= pl.lit(end)).then(pl.lit(LATE_OPEN))
        .otherwise(pl.lit(PENDING))
    )
    return (
        evaluations.filter(pl.col("school_year") == year)
        .with_columns(outcome.alias("outcome"), days.alias("days"))
        .with_columns(pl.when(pl.col("outcome") == LATE).then(pl.col("days") - n).alias("days_late"))
        .with_columns(
            pl.when(pl.col("outcome") == LATE).then(_band(pl.col("days_late"), params))
            .when(pl.col("outcome") == LATE_OPEN).then(pl.lit(NOT_DETERMINED))
            .alias("band")
        )
    )


def _with_state(per_district: pl.LazyFrame, keys: list[str], values: list[str]) -> pl.LazyFrame:
    """Add statewide rows (district_id null): the sums over every district."""
    state = per_district.group_by([k for k in keys if k != "district_id"]).agg(pl.col(values).sum()).with_columns(
        pl.lit(None, pl.String).alias("district_id")
    )
    return pl.concat([per_district.select(*keys, *values), state.select(*keys, *values)])


def timeline_measures(evaluations: pl.LazyFrame, params: TimelineParams, year: int) -> pl.LazyFrame:
    """The Indicator 11 measure rows for `year`, per district and statewide (module docstring)."""
    n = params.timeline_days
    start, end = params.period(year)
    rows = evaluation_outcomes(plain(evaluations), params, year).cache()  # a row per evaluation: small
    c = pl.col("count")
    outcome = pl.col("outcome")
    totals = _with_state(
        rows.group_by(KEY).agg(
            consents=c.sum(),
            exceptions=sum_where(c, outcome == EXCEPTION),
            on_time=sum_where(c, outcome == ON_TIME),
            late=sum_where(c, outcome.is_in([LATE, LATE_OPEN])),
            pending=sum_where(c, outcome == PENDING),
        ),
        KEY,
        ["consents", "exceptions", "on_time", "late", "pending"],
    ).with_columns((pl.col("on_time") + pl.col("late")).alias("a")).cache()

    a, b = pl.col("a"), pl.col("on_time")
    status = pl.when(a > 0).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA))
    value = pl.when(a > 0).then(b / a)
    state = pl.col("district_id").is_null()

    def count_text(e: pl.Expr) -> pl.Expr:
        return e.cast(pl.Int64).cast(pl.String)

    timeline = totals.select(
        *KEY,
        pl.when(state).then(pl.lit("indicator_11")).otherwise(pl.lit("timeline")).alias("measure"),
        b.alias("numerator"),
        a.alias("denominator"),
        value.alias("value"),
        pl.lit(params.target).alias("threshold"),
        status.alias("status"),
        target_flag(value, params.target, a > 0).alias("flag"),
        pl.concat_str(
            pl.when(state).then(pl.lit("statewide: ")).otherwise(pl.lit("")),
            count_text(b), pl.lit(" of "), count_text(a),
            pl.lit(f" children with eligibility determined within {n} calendar days of consent"
                   f" (consents received {start} to {end}: "),
            count_text(pl.col("consents")), pl.lit("; removed by an exception: "), count_text(pl.col("exceptions")),
            pl.lit("; pending, timeline not yet run out: "), count_text(pl.col("pending")), pl.lit(")"),
        ).alias("note"),
    )

    # Days late: every district with evaluations gets every category (zeros included).
    categories = pl.LazyFrame({"category": [*params.band_labels(), NOT_DETERMINED]})
    by_band = rows.filter(pl.col("band").is_not_null()).group_by([*KEY, "band"]).agg(late_in_band=c.sum())
    bands = _with_state(
        totals.filter(~state).select(*KEY, "late").join(categories, how="cross")
        .join(by_band, left_on=[*KEY, "category"], right_on=[*KEY, "band"], how="left")
        .with_columns(pl.col("late_in_band").fill_null(0)),
        [*KEY, "category"],
        ["late", "late_in_band"],
    )
    days_late = bands.select(
        *KEY,
        pl.lit("timeline_days_late").alias("measure"),
        "category",
        pl.col("late_in_band").alias("numerator"),
        pl.col("late").alias("denominator"),
        pl.when(pl.col("late") > 0).then(pl.col("late_in_band") / pl.col("late")).alias("value"),
        pl.when(pl.col("late") > 0).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA)).alias("status"),
        pl.when(pl.col("category") == NOT_DETERMINED)
        .then(pl.lit(f"children with no determination whose {n}-day timeline ran out by {end} / children late"))
        .otherwise(pl.lit("children determined ") + pl.col("category")
                   + pl.lit(f" days after the {n}-day timeline / children late"))
        .alias("note"),
    )

    pending = totals.select(
        *KEY,
        pl.lit("timeline_pending").alias("measure"),
        pl.col("pending").alias("numerator"),
        pl.col("pending").alias("value"),
        pl.lit(OK).alias("status"),
        pl.lit(f"children with no determination whose {n}-day timeline runs past {end}: in neither a nor b")
        .alias("note"),
    )

    codes = pl.LazyFrame({"category": params.accepted()}, schema={"category": pl.String})
    by_code = rows.filter(pl.col("outcome") == EXCEPTION).group_by([*KEY, "exception"]).agg(removed=c.sum())
    per_code = _with_state(
        totals.filter(~state).select(*KEY).join(codes, how="cross")
        .join(by_code, left_on=[*KEY, "category"], right_on=[*KEY, "exception"], how="left")
        .with_columns(pl.col("removed").fill_null(0)),
        [*KEY, "category"],
        ["removed"],
    )
    all_codes = totals.select(*KEY, pl.lit(None, pl.String).alias("category"), pl.col("exceptions").alias("removed"))
    descriptions = _descriptions(params)
    exceptions = pl.concat([per_code, all_codes]).select(
        *KEY,
        pl.lit("timeline_exceptions").alias("measure"),
        "category",
        pl.col("removed").alias("numerator"),
        pl.col("removed").alias("value"),
        pl.lit(OK).alias("status"),
        pl.when(pl.col("category").is_null()).then(pl.lit("children removed from a and b by any accepted exception"))
        .otherwise(pl.lit("children removed from a and b: ")
                   + pl.col("category").replace_strict(descriptions, default=pl.col("category"),
                                                       return_dtype=pl.String))
        .alias("note"),
    )
    return pl.concat([to_measure_rows(x) for x in (timeline, days_late, pending, exceptions)])


def _descriptions(params: TimelineParams) -> dict[str, str]:
    return {**{k: FEDERAL_EVALUATION_EXCEPTIONS[k] for k in params.exceptions}, **params.state_exceptions}


# ---------------------------------------------------------------------------------------------------
# Input errors the loader adds for the evaluations table


def _period_bounds(params: TimelineParams) -> tuple[pl.Expr, pl.Expr]:
    """First and last day of each row's reporting period, from its typed school_year."""
    m, d = params.month_day()
    year = T("school_year")
    return pl.date(year - 1, m, d), pl.date(year, m, d) - pl.duration(days=1)


def _date_found(name: str) -> pl.Expr:
    """The text as read, and the date it was read as when the two differ (an Excel serial, 06/30/2012)."""
    iso = T(name).cast(pl.String)
    return found(name) + pl.when(pl.col(name) != iso).then(pl.lit(" (") + iso + pl.lit(")")).otherwise(pl.lit(""))


def row_checks(params: TimelineParams) -> list[Check]:
    """Rules over the evaluations table that depend on the profile.

    - A consent date after the last day of its school year's reporting period: a date in the future of
      the period, most often a row filed under the wrong school_year.
    - A consent date before the first day of the period: a consent of an earlier year; Indicator 11
      counts consents received in the year, so the row belongs to another school_year.
    - A row with a student_id but a count other than 1: a student-level row stands for one child
      (the table's key is school_year, district_id, student_id), so 0 or 3 is a contradiction.
    """
    start, end = _period_bounds(params)
    year = T("school_year").cast(pl.String)
    md = params.reporting_period_start
    end_md = (dt.date(2001, *params.month_day()) - dt.timedelta(days=1)).strftime("%m-%d")
    return [
        Check(
            "consent_date",
            T("consent_date") > end,
            f"a consent date within the reporting period of the row's school_year ({md} of the year before to "
            f"{end_md} of school_year), not after it",
            _date_found("consent_date") + pl.lit(", after ") + end.cast(pl.String)
            + pl.lit(", the last day of the ") + year + pl.lit(" reporting period"),
        ),
        Check(
            "consent_date",
            T("consent_date") < start,
            f"a consent date within the reporting period of the row's school_year ({md} of the year before to "
            f"{end_md} of school_year), not before it",
            _date_found("consent_date") + pl.lit(", before ") + start.cast(pl.String)
            + pl.lit(", the first day of the ") + year + pl.lit(" reporting period"),
        ),
        Check(
            "count",
            T("student_id").is_not_null() & (T("count") != 1),
            "a count of 1 on a row with a student_id (a student-level row stands for one child)",
            pl.lit("a count of ") + T("count").cast(pl.String),
        ),
    ]


def compute(inputs: Inputs, params: TimelineParams) -> pl.LazyFrame:
    return timeline_measures(inputs.table("evaluations"), params, inputs.year)


def exception_codes(params: TimelineParams) -> tuple[str, ...]:
    """The codes the evaluations table's `exception` column accepts: the federal ones the state
    accepts, then the state's own."""
    return (*(k for k in FEDERAL_EVALUATION_EXCEPTIONS if k in params.exceptions), *params.state_exceptions)


FAMILY = Family(
    name="timeline",
    params=TimelineParams,
    compute=compute,
    tables=lambda p: ("evaluations",),
    code_lists=lambda p: {"evaluation_exception": exception_codes(p)},
    row_checks=lambda p: {"evaluations": row_checks(p)},
    measures=(
        MeasureInfo("timeline", "Timely initial evaluation (Indicator 11)", "rate", statewide="indicator_11"),
        MeasureInfo("timeline_days_late", "Indicator 11: children evaluated late, by days beyond the timeline", "rate"),
        MeasureInfo("timeline_exceptions", "Indicator 11: children removed by a lawful exception", "count"),
        MeasureInfo("timeline_pending", "Indicator 11: evaluations pending (timeline not yet run out)", "count"),
        MeasureInfo("indicator_11", "Indicator 11: percent of children evaluated within the timeline", "rate"),
    ),
)
