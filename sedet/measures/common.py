"""The measure row (DESIGN.md): one shape for every measure family, so later stages are generic."""

from __future__ import annotations

import polars as pl
import polars.selectors as cs

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
    "status": pl.String(),  # ok | below_min_n | below_min_cell | no_data
    "flag": pl.String(),  # the measure's own verdict, where it has one
    "note": pl.String(),  # how the value came about, in words (shown by `sedet explain`)
}
MEASURE_COLUMNS = list(MEASURE_SCHEMA)
QUALIFIERS = ["subject", "grade_band", "assessment", "race_ethnicity", "disability", "category"]
SORT_KEY = ["school_year", "district_id", "measure", *QUALIFIERS]

OK = "ok"
BELOW_MIN_N = "below_min_n"
BELOW_MIN_CELL = "below_min_cell"
NO_DATA = "no_data"

# A tolerance for threshold tests on values computed in floating point (METHODS.md: a ratio that is
# exactly 3 must not miss a `>= 3.0` test). Values are compared as value >= threshold - EPS.
EPS = 1e-9


def sum_where(value: pl.Expr, cond: pl.Expr) -> pl.Expr:
    """In an aggregation: the sum of `value` over the rows where `cond` holds (0 when none does).
    Same as value.filter(cond).sum(), which polars computes group by group, about twice as slowly."""
    return pl.when(cond).then(value).sum()


def only_where(value: pl.Expr, cond: pl.Expr) -> pl.Expr:
    """In an aggregation: the value of the one row where `cond` holds (null if none; callers make
    sure there is at most one). Faster than value.filter(cond).first(), for the same reason."""
    return pl.when(cond).then(value).max()


def to_measure_rows(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add the missing measure columns as nulls and order them; drop anything else."""
    names = lf.collect_schema().names()
    return lf.select(
        [
            (pl.col(c) if c in names else pl.lit(None)).cast(dtype).alias(c)
            for c, dtype in MEASURE_SCHEMA.items()
        ]
    )


def status_expr(denominator: pl.Expr, n: pl.Expr, min_n: int) -> pl.Expr:
    """`no_data` when nothing to divide by, `below_min_n` when n is under the minimum, else `ok`."""
    return (
        pl.when(denominator.fill_null(0) <= 0)
        .then(pl.lit(NO_DATA))
        .when(n < min_n)
        .then(pl.lit(BELOW_MIN_N))
        .otherwise(pl.lit(OK))
    )


def guarded(value: pl.Expr, status: pl.Expr) -> pl.Expr:
    """The value where the status is ok, else null (never 0, never infinity)."""
    return pl.when(status == OK).then(value).otherwise(None)


def at_least(value: pl.Expr, threshold: pl.Expr | float) -> pl.Expr:
    return value >= (threshold - EPS)


def target_flag(value: pl.Expr, target: pl.Expr | float, applies: pl.Expr) -> pl.Expr:
    """'met' / 'not_met' against a target where the value applies, else null."""
    return pl.when(applies).then(pl.when(at_least(value, target)).then(pl.lit("met")).otherwise(pl.lit("not_met")))


def sort_rows(df: pl.DataFrame) -> pl.DataFrame:
    """Measure rows in SORT_KEY order, empty cells first.

    The distinct values of each key column are numbered in order (0 for empty) and the numbers
    packed into one integer, so polars sorts integers instead of comparing nine columns for each
    pair of rows (437,000 rows: 0.09 against 0.16 s). The same order; if the numbers would not fit
    in 63 bits, the columns are sorted as they are."""
    distinct = df.select([pl.col(c).unique().drop_nulls().sort().implode() for c in SORT_KEY])
    key, span = pl.lit(0, pl.UInt64), 1
    for c in SORT_KEY:
        values = distinct.get_column(c)[0]
        if values.len() == 0:
            continue  # empty in every row: nothing to order by
        span *= values.len() + 1
        if span >= 2**63:
            return df.sort(SORT_KEY, nulls_last=False)
        number = pl.col(c).replace_strict(values, pl.int_range(1, values.len() + 1, eager=True), return_dtype=pl.UInt64)
        key = key * (values.len() + 1) + number.fill_null(0)
    return df.sort(key)


def plain(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Categorical columns as text and Int16 columns as Int64. In memory, the student-level tables
    hold their codes and district ids as Categorical and their small whole numbers (school_year,
    age, grade) as Int16, to take less memory (io.bundle.categorical_columns, small_int_columns):
    a measure aggregates them first, then gives the small result the plain types of the frames
    built here before joining them."""
    return frame.with_columns(cs.categorical().cast(pl.String), pl.col(pl.Int16).cast(pl.Int64))


def fmt_num(e: pl.Expr, decimals: int = 1) -> pl.Expr:
    """A number as text for notes, rounded half-up for display only."""
    return e.round(decimals, mode="half_away_from_zero").cast(pl.String)


def age_within(ages: tuple[int, int]) -> pl.Expr:
    """Rows whose age is in the range, both ends included; a row without an age is counted (exports
    often leave age out: the range applies where an age is given)."""
    lo, hi = ages
    return pl.col("age").is_null() | pl.col("age").is_between(lo, hi)
