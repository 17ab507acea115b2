"""Typing a table's columns as the schema declares them, with the rules that name every value that
does not parse (docs/design.md section 4).

Nothing is typed by guessing: identifiers stay text (`00123` stays `00123`). A column read with a
fitting type (by polars' CSV parser, or from Parquet) is kept; anything else is taken as text and
parsed here, accepting more spellings than polars does. Most columns of an export hold a few
distinct values (codes, years, flags, district ids): those are typed once per distinct value and
mapped back (`via_unique_values`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from sedet.io.read import small_int_columns
from sedet.model import BOOL, CODE, CODE_LISTS, DATE, FLOAT, ID, INT, MAX_ID, MAX_TEXT, TEXT, Check, Column, found

TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")
EXCEL_EPOCH = pl.date(1899, 12, 30)  # Excel serial day 1 = 1900-01-01 (with the 1900 leap-year bug)
UNIQUE_LIMIT = 100_000  # columns with at most this many distinct values are typed value by value

EXPECTED = {
    INT: "a whole number",
    FLOAT: "a number",
    BOOL: "true or false (also yes/no, y/n, 1/0)",
    DATE: "a date (YYYY-MM-DD, MM/DD/YYYY or an Excel serial number)",
}
DTYPES = {INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean, DATE: pl.Date}


def typed_name(column: str) -> str:
    """The frame column that holds a column's typed values while a table is checked (model.T)."""
    return f"__typed_{column}"


@dataclass(frozen=True)
class Codes:
    """What a coded column may hold: the allowed codes of each code list (None: anything), and the
    profile's local codes mapped onto them."""

    lists: Mapping[str, tuple[str, ...] | None]
    maps: Mapping[str, Mapping[str, str]]


@dataclass
class Typing:
    """The typing of a table's columns: an expression per column (named `__typed_<name>`), the rules
    they bring (values that do not parse, required, out of range), and the columns whose typed
    values are the text as read (identity: their distinct values are the typed ones)."""

    exprs: list[pl.Expr]
    checks: list[Check]
    identity: set[str]


def type_columns(table: str, schema: pl.Schema, cols: list[Column], headers: list[str], codes: Codes,
                 values: dict[str, pl.Series] | None = None, nulls: dict[str, int] | None = None) -> Typing:
    """Typing expressions and the rules they bring. `values` (distinct values of text columns) and
    `nulls` (null counts), when known, let cheap shortcuts replace whole-column work."""
    values = values or {}
    out = Typing([], [], set())
    for c in cols:
        if c.name not in headers:
            out.exprs.append(default_value(c))
            continue
        raw = pl.col(c.name)
        typed, expected = typed_column(table, c, raw, schema[c.name], codes)
        if c.name in values and (expected is not None or c.kind == CODE):
            typed = via_unique_values(values[c.name], c.name, typed)
        if c.name in values and typed.meta.eq(raw) and c.default is None:
            out.identity.add(c.name)
        out.checks += _column_checks(c, raw, typed, expected, nulls)
        if c.default is not None:
            typed = typed.fill_null(pl.lit(c.default))
        out.exprs.append(typed.alias(typed_name(c.name)))
    return out


# Control characters a workbook cannot hold (XML 1.0), and in identifiers and codes also tab and line
# breaks: a cell holding one is a problem, never written on (docs/design.md section 4).
CONTROL_IN_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
CONTROL_IN_ID = r"[\x00-\x1f]"


def _text_checks(c: Column, raw: pl.Expr) -> list[Check]:
    """Text a report could not hold: control characters, or more than the longest allowed."""
    text = raw.cast(pl.String)
    control = CONTROL_IN_TEXT if c.kind == TEXT else CONTROL_IN_ID
    longest = MAX_TEXT if c.kind == TEXT else MAX_ID
    what = "text" if c.kind == TEXT else "an identifier or code"
    return [
        Check(c.name, text.str.contains(control), f"{what} without control characters"
              + ("" if c.kind == TEXT else ", tabs or line breaks"), found(c.name), [c.name]),
        Check(c.name, text.str.len_chars() > longest, f"{what} of at most {longest:,} characters",
              text.str.len_chars().cast(pl.String) + pl.lit(" characters, beginning ") + found(c.name), [c.name]),
    ]


def _column_checks(c: Column, raw: pl.Expr, typed: pl.Expr, expected: str | None,
                   nulls: dict[str, int] | None) -> list[Check]:
    on = [c.name]
    checks = _text_checks(c, raw) if c.kind in (ID, TEXT, CODE) else []
    if expected is not None:
        checks.append(Check(c.name, raw.is_not_null() & typed.is_null(), expected, found(c.name), on))
    if c.required and (nulls is None or nulls.get(c.name, 1)):
        checks.append(Check(c.name, raw.is_null(), "a value (the column is required)", pl.lit("an empty cell")))
    if c.min is not None:
        checks.append(Check(c.name, typed < c.min, f"a value of at least {_bound(c.min)}", found(c.name), on))
    if c.max is not None:
        checks.append(Check(c.name, typed > c.max, f"a value of at most {_bound(c.max)}", found(c.name), on))
    return checks


def _bound(x: float) -> str:
    """A bound as a message shows it: 10,000,000; 1990 (a year); 4; 0.5."""
    if float(x).is_integer():
        return f"{int(x):,}" if abs(x) >= 100_000 else str(int(x))
    return f"{x:g}"


def default_value(c: Column) -> pl.Expr:
    """The typed value of a column the file does not have: its default (or null, or for a column that
    defaults to another column, null until the table is finished)."""
    dtype = DTYPES.get(c.kind, pl.String)
    value = None if c.default_from is not None else c.default
    return pl.lit(value, dtype).alias(typed_name(c.name))


def typed_column(table: str, c: Column, raw: pl.Expr, dtype: pl.DataType, codes: Codes) -> tuple[pl.Expr, str | None]:
    """The typed value of a column, and what a value must look like (None: anything goes)."""
    if dtype != pl.String:
        native = _native(table, c, raw, dtype)
        if native is not None:
            return native
        raw = raw.cast(pl.String)
    if c.kind in (ID, TEXT):
        return raw, None
    if c.kind == INT:
        return _int_expr(raw), EXPECTED[INT]
    if c.kind == FLOAT:
        f = raw.cast(pl.Float64, strict=False)
        return pl.when(f.is_finite()).then(f), EXPECTED[FLOAT]
    if c.kind == BOOL:
        return _bool_expr(raw), EXPECTED[BOOL]
    if c.kind == DATE:
        return _date_expr(raw), EXPECTED[DATE]
    if c.kind == CODE:
        return _code(c, raw, codes)
    raise AssertionError(c.kind)


def _native(table: str, c: Column, raw: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, str | None] | None:
    """A column read with a type of its own (polars' CSV parser, Parquet): kept where it fits."""
    if isinstance(dtype, pl.Categorical) and c.kind == ID:
        return raw, None
    if c.kind == INT and dtype.is_integer():
        if dtype == pl.Int16 and c.name in small_int_columns(table):
            return raw, None  # read narrow (small_int_columns)
        return raw.cast(pl.Int64), None
    if c.kind == FLOAT and dtype.is_numeric():
        f = raw.cast(pl.Float64)
        return pl.when(f.is_finite()).then(f), EXPECTED[FLOAT]
    if (c.kind == BOOL and dtype == pl.Boolean) or (c.kind == DATE and dtype == pl.Date):
        return raw, None
    if c.kind == DATE and isinstance(dtype, pl.Datetime):
        return raw.dt.date(), None
    return None


def _code(c: Column, raw: pl.Expr, codes: Codes) -> tuple[pl.Expr, str | None]:
    """A code, after the profile's local mapping, in capitals; checked against its list if it has one."""
    allowed = codes.lists.get(c.codes or "")
    mapping = codes.maps.get(c.codes or "", {})
    mapped = (raw.replace(dict(mapping)) if mapping else raw).str.to_uppercase()
    if allowed is None:
        return mapped, None
    shown = ", ".join(allowed) if len(allowed) <= 16 else ", ".join(allowed[:16]) + ", ..."
    where = f" or a local code mapped in the profile's [codes.{c.codes}]" if c.codes in CODE_LISTS else ""
    return pl.when(mapped.is_in(list(allowed))).then(mapped).otherwise(None), f"one of {shown}{where}"


def _bool_expr(raw: pl.Expr) -> pl.Expr:
    low = raw.str.to_lowercase()
    return pl.when(low.is_in(TRUE_WORDS)).then(True).when(low.is_in(FALSE_WORDS)).then(False).otherwise(None)


def _int_expr(raw: pl.Expr) -> pl.Expr:
    as_float = raw.cast(pl.Float64, strict=False)
    return (
        pl.when(as_float.is_finite() & (as_float == as_float.round(0)) & (as_float.abs() < 2**53))
        .then(as_float.cast(pl.Int64, strict=False))
        .otherwise(None)
    )


def _date_expr(raw: pl.Expr) -> pl.Expr:
    iso = raw.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    us = raw.str.to_date("%m/%d/%Y", strict=False)
    serial = raw.cast(pl.Float64, strict=False)
    from_serial = (
        pl.when(serial.is_finite() & (serial >= 1) & (serial < 2958466) & (serial == serial.floor()))
        .then(EXCEL_EPOCH + pl.duration(days=serial.cast(pl.Int64, strict=False)))
        .otherwise(None)
    )
    iso_full = pl.when(raw.str.contains(r"^\d{4}-\d{2}-\d{2}($|[ T]\d{2}:\d{2})")).then(iso).otherwise(None)
    return pl.coalesce(iso_full, us, from_serial.cast(pl.Date))


# ---------------------------------------------------------------------------------------------------
# Text cells, and typing value by value


def trimmed(col: str) -> pl.Expr:
    """Text trimmed, with an empty cell as null. (when/then rather than `replace("", None)`, which
    keeps polars from streaming and held a whole table in memory.)"""
    t = pl.col(col).str.strip_chars()
    return pl.when(t != "").then(t).alias(col)


def cleaned(values: pl.Series, col: str) -> pl.Expr | None:
    """Trimmed text with empty cells as null; None when the column needs no change (the usual case).
    `values` are the column's distinct values."""
    if values.len() > UNIQUE_LIMIT:
        return trimmed(col)
    stripped = values.str.strip_chars()
    if (stripped == values).all() and not (values == "").any():
        return None
    return pl.col(col).replace_strict(values, stripped.replace("", None), default=None, return_dtype=pl.String)


def via_unique_values(values: pl.Series, col: str, typed: pl.Expr) -> pl.Expr:
    """The same typing, computed once per distinct value and mapped back. Identical results: the
    typing expressions work value by value. `values` are the column's distinct values."""
    if values.len() > UNIQUE_LIMIT:
        return typed
    small = pl.DataFrame({col: values}).select(typed.alias("t")).get_column("t")
    if small.dtype == values.dtype and (small.is_null().sum() == 0) and (small == values).all():
        return pl.col(col)  # every value is already what it should be
    return pl.col(col).cast(pl.String).replace_strict(values, small, default=None, return_dtype=small.dtype)


def distinct(df: pl.DataFrame, cols: list[str]) -> dict[str, pl.Series]:
    """The distinct non-null values of each column, computed in one query (columns in parallel).

    A Categorical column of the run's own category set (io.read.categorical_columns) is not scanned:
    its set holds every value met in that column of any table of the bundle so far, a superset of
    the column's, which is all the uses of these values need (each value is typed, and a rule that
    holds for none of them holds for no row: one that holds for some is tried on the rows)."""
    if not cols:
        return {}
    out: dict[str, pl.Series] = {}
    for c in cols:
        dtype = df.schema[c]
        if isinstance(dtype, pl.Categorical) and not dtype.categories.is_global():
            out[c] = dtype.categories.to_series().cast(pl.String).rename(c)
    scan = [c for c in cols if c not in out]
    if not scan:
        return out
    # Whole numbers (the school year) and categories by hashing, in the order met: polars' plain
    # unique() of an integer column sorts a copy of it (72 MB for 9M rows: 0.02 s and 18,000 page
    # faults). Categories come back as text.
    ordered = {c for c in scan if df.schema[c].is_integer() or isinstance(df.schema[c], pl.Categorical)}
    found_values = df.select([pl.col(c).unique(maintain_order=c in ordered).drop_nulls().implode() for c in scan])
    for c in scan:
        v = found_values.get_column(c)[0].rename(c)
        out[c] = v.cast(pl.String) if isinstance(v.dtype, pl.Categorical) else v
    return out
