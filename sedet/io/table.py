"""One table, typed and checked: what a table holds beyond the file (the profile's columns and
rules), and the in-memory path (the streaming one is io.stream)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from sedet.io.checks import count_and_locate, header_problems, prefilter, table_rules
from sedet.io.discover import Source
from sedet.io.read import normalise_header
from sedet.io.schema import Table
from sedet.io.typed import Codes, cleaned, distinct, type_columns, typed_name
from sedet.model import ROW, Check, Column, Problem


@dataclass(frozen=True)
class TableSpec:
    """How to read one table: its declaration, and what the profile and the bundle add to it."""

    table: Table
    codes: Codes
    declared: list[Column] | None = None  # columns beyond its own the profile names; None: none named
    checks: tuple[Check, ...] = ()  # rules the profile adds
    reads: frozenset[str] | None = None  # the only columns read and checked (None: all)
    districts: pl.Series | None = None  # the district_ids of the districts table, when the bundle has one

    def columns_for(self, present: list[str]) -> list[Column]:
        """The columns to read of a file with these (normalised) headers."""
        t = self.table
        cols = [c for c in t.columns if self.reads is None or c.name in self.reads]
        if self.declared is not None:
            return cols + list(self.declared)
        listed = {c.name for c in t.extras}
        return cols + [t.extra(n) for n in present
                       if n in listed or (t.unknown_are_extras and n not in t.by_name)]

    def kinds(self) -> dict[str, str]:
        """The kind of every column this table may have (beyond its own: those the profile names)."""
        return {c.name: c.kind for c in self.columns_for([])}

    def unused(self, headers: list[str]) -> tuple[list[str], list[str]]:
        """Of a file's (normalised) headers: (columns sedet does not know, known columns not read)."""
        read = {c.name for c in self.columns_for(headers)}
        known = read | {c.name for c in self.table.columns}
        return [h for h in headers if h not in known], [h for h in headers if h in known and h not in read]


@dataclass
class TableRead:
    """A table as read: the typed frame (None when it has problems), its problems (up to the limit)
    and how many in all, and the school years it holds when known from reading it."""

    frame: pl.DataFrame | pl.LazyFrame | None  # lazy when streamed (io.stream)
    problems: list[Problem] = field(default_factory=list)
    total: int = 0
    years: list[int] | None = None


def read_table(spec: TableSpec, src: Source, raw: pl.DataFrame, offset: int, limit: int) -> TableRead:
    """Type and check a table read into memory (`raw`, rows numbered from `offset`)."""
    headers = [normalise_header(c) for c in raw.columns]
    cols = spec.columns_for(headers)
    problems = header_problems(src, raw.columns, headers, cols, 1 if offset == 2 else None)
    if problems:
        return TableRead(None, problems, len(problems))
    df = raw.rename(dict(zip(raw.columns, headers, strict=True)))
    df = df.select([pl.col(c.name) for c in cols if c.name in headers])
    data_cols = [c.name for c in cols if c.name in headers]
    df, values, years = _cleaned(df, data_cols)
    # Blank lines (CSV) and blank rows (Excel) are read as rows of nulls, so that row numbers stay
    # true; drop them. The column with the fewest nulls tells cheaply whether there can be any. Row
    # numbers (counted from `offset`) are added only where needed: here, or to name a problem's rows.
    if data_cols and min(df.get_column(c).null_count() for c in data_cols) > 0:
        df = df.with_row_index(ROW, offset=offset).filter(~pl.all_horizontal([pl.col(c).is_null() for c in data_cols]))
    nulls = {c: df.get_column(c).null_count() for c in data_cols}
    typing = type_columns(spec.table.name, df.schema, cols, headers, spec.codes, values, nulls)
    frame = df.with_columns(typing.exprs)
    # distinct values of the text columns, and of the typed columns that equal them (identity typing)
    known = dict(values) | {typed_name(c): v for c, v in values.items() if c in typing.identity}
    checks = typing.checks + table_rules(spec.table, frame.columns, spec.checks, spec.districts)
    checks = prefilter(frame, checks, known)
    # One pass counts every rule; details are gathered only for rules that found something.
    counts = frame.select([c.bad.fill_null(False).sum().alias(f"c{i}") for i, c in enumerate(checks)]).row(0) \
        if checks else ()
    problems, total = count_and_locate(frame, checks, counts, src, limit, offset=offset)
    if total:
        return TableRead(None, problems, total, years)
    return TableRead(frame, [], 0, years)


def _cleaned(df: pl.DataFrame, data_cols: list[str]) -> tuple[pl.DataFrame, dict[str, pl.Series], list[int] | None]:
    """Text trimmed, empty cells as null; the distinct values of the text columns; the school years
    (they come with the distinct values when polars read them as whole numbers)."""
    text_cols = [c for c in data_cols if df.schema[c] == pl.String or isinstance(df.schema[c], pl.Categorical)]
    year = "school_year" if "school_year" in data_cols and df.schema["school_year"].is_integer() else None
    values = distinct(df, text_cols + ([year] if year else []))
    years = sorted(values.pop(year).to_list()) if year else None
    exprs = {c: e for c in text_cols if (e := cleaned(values[c], c)) is not None}
    if exprs:
        df = df.with_columns(list(exprs.values()))
        values.update(distinct(df, list(exprs)))
    return df, values, years


def finish(table: Table, frame: pl.DataFrame | pl.LazyFrame,
           kept: dict[str, pl.DataType]) -> pl.DataFrame | pl.LazyFrame:
    """Typed columns under their own names, in declaration order, cast as `kept` says (the narrow
    types of the student-level tables in memory), with the defaults that depend on another column."""
    names = frame.collect_schema().names()
    typed = [c[len("__typed_"):] for c in names if c.startswith("__typed_")]
    out = frame.select([
        (pl.col(typed_name(c)).cast(kept[c]) if c in kept else pl.col(typed_name(c))).alias(c) for c in typed
    ])
    fills = [pl.col(c.name).fill_null(pl.col(c.default_from)) for c in table.columns
             if c.default_from is not None and c.name in typed and c.default_from in typed]
    return out.with_columns(fills) if fills else out
