"""Checking a large CSV or Parquet table without holding it in memory (bundles of STREAMING_FROM
bytes or more, io.bundle): one streaming pass counts every rule; the problem rows are gathered in a
second pass only if there are any. The typed table stays a lazy scan of the file."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from sedet.errors import BundleError
from sedet.io.checks import count_and_locate, header_problems, table_rules
from sedet.io.discover import Source
from sedet.io.read import FAST_DTYPES, csv_header, normalise_header
from sedet.io.table import TableRead, TableSpec
from sedet.io.typed import trimmed, type_columns
from sedet.model import ROW, Check, Column, Problem


@dataclass
class _Scan:
    full: pl.LazyFrame  # the typed frame
    numbered: pl.LazyFrame  # the same with row numbers (a row index keeps polars from streaming)
    checks: list[Check]


def read_streaming(spec: TableSpec, src: Source, limit: int) -> tuple[TableRead, int, list[str]]:
    """The table checked in a streaming pass: (the typed lazy frame or its problems, rows read, the
    file's columns)."""
    csv_file = src.path.suffix.lower() == ".csv"
    if csv_file:
        with src.path.open("rb") as fh:
            original = csv_header(fh.read(1 << 16))
    else:
        original = pl.scan_parquet(src.path).collect_schema().names()
    headers = [normalise_header(c) for c in original]
    cols = spec.columns_for(headers)
    problems = header_problems(src, original, headers, cols, 1 if csv_file else None)
    if problems:
        return TableRead(None, problems, len(problems)), 0, original
    scan, counts = _counted(spec, src, cols, original, headers)
    rows = counts[0]
    found, total = count_and_locate(scan.full, scan.checks, counts[1:], src, limit, numbered=scan.numbered)
    if total:
        return TableRead(None, found, total), rows, original
    return TableRead(scan.full), rows, original


def _counted(spec: TableSpec, src: Source, cols: list[Column], original: list[str], headers: list[str]
             ) -> tuple[_Scan, tuple[int, ...]]:
    """One streaming pass: the rows, and how many rows each rule holds for. Numbers and flags are
    first parsed by polars' reader; if a value does not parse, the file is scanned again as text."""
    for fast in (True, False):
        scan = _scan(spec, src, cols, original, headers, fast)
        query = scan.full.select(pl.len().alias("rows"), *[c.bad.fill_null(False).sum().alias(f"c{i}")
                                                            for i, c in enumerate(scan.checks)])
        try:
            return scan, query.collect(engine="streaming").row(0)
        except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError, pl.exceptions.SchemaError):
            continue
    raise BundleError([Problem(src.label, None, None, "a well-formed file", "content polars cannot read",
                               table=src.table)])


def _scan(spec: TableSpec, src: Source, cols: list[Column], original: list[str], headers: list[str],
          fast: bool) -> _Scan:
    """The file scanned lazily and typed. `fast`: numbers and flags parsed by polars' reader (if a
    value does not parse, the scan is made again with every column as text, and typed by sedet)."""
    kinds = {c.name: c.kind for c in cols}
    present = [c.name for c in cols if c.name in headers]
    if src.path.suffix.lower() == ".csv":
        dtypes = {h: (FAST_DTYPES.get(kinds.get(n, ""), pl.String) if fast else pl.String)
                  for h, n in zip(original, headers, strict=True)}
        lf = pl.scan_csv(src.path, schema_overrides=dtypes, infer_schema=False)
        first = 2
    else:
        lf = pl.scan_parquet(src.path)
        first = 1
    lf = lf.rename(dict(zip(original, headers, strict=True))).select(present)
    schema = lf.collect_schema()
    lf = lf.with_columns(*[trimmed(c) for c in present if schema[c] == pl.String])
    numbered = lf.with_row_index(ROW, offset=first).with_columns(pl.col(ROW).cast(pl.Int64))
    typing = type_columns(spec.table.name, schema, cols, headers, spec.codes)
    nonblank = ~pl.all_horizontal([pl.col(c).is_null() for c in present])
    full = lf.filter(nonblank).with_columns(typing.exprs)
    checks = typing.checks + table_rules(spec.table, full.collect_schema().names(), spec.checks, spec.districts)
    return _Scan(full, numbered.filter(nonblank).with_columns(typing.exprs), checks)
