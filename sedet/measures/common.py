"""Expressions every measure family uses: sums in aggregations, the minimum-n / minimum-cell rule,
target flags, the measure-row shape (sedet.model.MEASURE_SCHEMA) and its sort order."""

from __future__ import annotations

import polars as pl
import polars.selectors as cs

from sedet.model import BELOW_MIN_CELL, BELOW_MIN_N, EPS, MEASURE_SCHEMA, NO_DATA, OK, SORT_KEY


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


def shortfall(den: pl.Expr, min_n: pl.Expr | int, num: pl.Expr | None = None,
              min_cell: pl.Expr | int | None = None) -> pl.Expr:
    """The minimum-n / minimum-cell rule (docs/methods.md section 1): why a group's value must not be
    computed, or null when it may be. `no_data` when the group is empty (`den` 0, negative or null);
    `below_min_n` when den < min_n; `below_min_cell` when num < min_cell (only with `num`). Every
    measure with minimums takes its status from here."""
    rule = pl.when(den.fill_null(0) <= 0).then(pl.lit(NO_DATA)).when(den < min_n).then(pl.lit(BELOW_MIN_N))
    if num is not None:
        rule = rule.when(num < min_cell).then(pl.lit(BELOW_MIN_CELL))
    return rule.otherwise(pl.lit(None, pl.String))


def meets_minimums(den: pl.Expr, min_n: pl.Expr | int, num: pl.Expr | None = None,
                   min_cell: pl.Expr | int | None = None) -> pl.Expr:
    """The group passes `shortfall`'s rule (a missing count never passes)."""
    ok = shortfall(den, min_n, num, min_cell).is_null() & den.is_not_null()
    return ok & num.is_not_null() if num is not None else ok


def status_expr(den: pl.Expr, min_n: int) -> pl.Expr:
    """A measure row's status under the minimum-n rule: `shortfall`, else `ok`."""
    return pl.coalesce(shortfall(den, min_n), pl.lit(OK))


def guarded(value: pl.Expr, status: pl.Expr) -> pl.Expr:
    """The value where the status is ok, else null (never 0, never infinity)."""
    return pl.when(status == OK).then(value).otherwise(None)


def at_least(value: pl.Expr, threshold: pl.Expr | float) -> pl.Expr:
    return value >= (threshold - EPS)


def target_flag(value: pl.Expr, target: pl.Expr | float, applies: pl.Expr) -> pl.Expr:
    """'met' / 'not_met' against a target where the value applies, else null."""
    return pl.when(applies).then(pl.when(at_least(value, target)).then(pl.lit("met")).otherwise(pl.lit("not_met")))


def sort_rows(df: pl.DataFrame) -> pl.DataFrame:
    """Measure rows in SORT_KEY order, empty cells first."""
    return sorted_parts([df])


def sorted_parts(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The rows of `parts` (frames of one schema), in SORT_KEY order, empty cells first. The list is
    emptied as the rows are gathered, column by column, so that the unsorted rows are let go while the
    sorted ones are built: the peak is the rows once and one column twice, not the rows twice.

    The distinct values of each key column are numbered in order (0 for empty) and the numbers
    packed into one integer, so polars sorts integers instead of comparing nine columns for each
    pair of rows (437,000 rows: 0.09 against 0.16 s). The same order; if the numbers would not fit
    in 63 bits, the columns are sorted as they are."""
    keys = pl.concat([p.select(SORT_KEY) for p in parts]) if parts else pl.DataFrame()
    if keys.height == 0:
        return pl.concat(parts) if parts else pl.DataFrame()
    order = keys.select(_packed_key(keys).arg_sort().alias("i")).get_column("i")
    del keys
    names = parts[0].columns
    columns = []
    for name in names:
        columns.append(pl.concat([p.get_column(name) for p in parts], rechunk=False).gather(order))
        parts[:] = [p.drop(name) for p in parts]  # the unsorted column is let go
    parts.clear()
    return pl.DataFrame(columns)


def _packed_key(keys: pl.DataFrame) -> pl.Expr:
    """One integer per row that sorts as SORT_KEY does (empty first), or the columns themselves."""
    distinct = keys.select([pl.col(c).unique().drop_nulls().sort().implode() for c in SORT_KEY])
    key, span = pl.lit(0, pl.UInt64), 1
    for c in SORT_KEY:
        values = distinct.get_column(c)[0]
        if values.len() == 0:
            continue  # empty in every row: nothing to order by
        span *= values.len() + 1
        if span >= 2**63:
            return pl.struct([pl.col(c).rank("dense").fill_null(0) for c in SORT_KEY])
        number = pl.col(c).replace_strict(values, pl.int_range(1, values.len() + 1, eager=True), return_dtype=pl.UInt64)
        key = key * (values.len() + 1) + number.fill_null(0)
    return key


def plain(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Categorical and Enum columns as text and Int16 columns as Int64. In memory, the student-level
    tables hold their codes and district ids as Categorical or Enum and their small whole numbers (school_year,
    age, grade) as Int16, to take less memory (io.read.categorical_columns, small_int_columns):
    a measure aggregates them first, then gives the small result the plain types of the frames
    built here before joining them."""
    return frame.with_columns((cs.categorical() | cs.enum()).cast(pl.String), pl.col(pl.Int16).cast(pl.Int64))


def fmt_num(e: pl.Expr, decimals: int = 1) -> pl.Expr:
    """A number as text for notes, rounded half-up for display only."""
    return e.round(decimals, mode="half_away_from_zero").cast(pl.String)


def age_within(ages: tuple[int, int]) -> pl.Expr:
    """Rows whose age is in the range, both ends included; a row without an age is counted (exports
    often leave age out: the range applies where an age is given)."""
    lo, hi = ages
    return pl.col("age").is_null() | pl.col("age").is_between(lo, hi)


def with_margins(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Enrollment or discipline with its `counts_in` column: a frame built without it (a test, a
    caller of the measure functions) holds no margin rows."""
    if "counts_in" in frame.collect_schema().names():
        return frame
    return frame.with_columns(pl.lit(None, pl.String).alias("counts_in"))


def children_removed() -> pl.Expr:
    """Discipline rows that count children removed: every row but those of removals only
    (`counts_in` REMOVALS, docs/design.md section 4)."""
    return pl.col("counts_in").is_null() | (pl.col("counts_in") == "CHILDREN")


def removals_given() -> pl.Expr:
    """Discipline rows whose `removals` count toward total removals: every row but those of children
    whose removals another row gives (`counts_in` CHILDREN)."""
    return pl.col("counts_in").is_null() | (pl.col("counts_in") == "REMOVALS")


def counted_by_environment() -> pl.Expr:
    """Enrollment rows a measure by educational environment counts: every row but those of a margin
    by disability (`counts_in`, docs/design.md section 4). Placement counts children by environment
    from the margin that has it; the margin by disability holds the same children again."""
    return pl.col("counts_in").is_null() | (pl.col("counts_in") == "ENVIRONMENT")


def counted_by_others() -> pl.Expr:
    """Enrollment rows every other measure counts: all but those of a margin by environment."""
    return pl.col("counts_in").is_null() | (pl.col("counts_in") == "DISABILITY")
