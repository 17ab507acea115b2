"""Loading a bundle: every table found (io.discover), read (io.read), typed and checked (io.table, or
io.stream for large tables of a large bundle), with every problem named by file, sheet, row,
column, what was expected and what was found; nothing is used while one stands.

What a profile adds to the checks reaches the loader as plain data (`LoadSpec`, made by the
pipeline): the loader knows nothing of measures or profiles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from sedet.errors import DEFAULT_LIMIT, BundleError
from sedet.io import schema as S
from sedet.io.discover import Source, discover
from sedet.io.fingerprint import Fingerprints
from sedet.io.read import (
    UTF8,
    Categories,
    ascii_compatible,
    categorical_columns,
    category_dtype,
    code_enum,
    encoding_name,
    file_columns,
    normalise_header,
    physical_lines,
    read_raw,
    short_rows,
    small_int_columns,
)
from sedet.io.stream import read_streaming
from sedet.io.table import TableRead, TableSpec, finish, read_table
from sedet.io.typed import Codes
from sedet.model import CODE, Check, Column, Problem

STREAMING_FROM = 2 << 30  # a bundle of this many bytes or more is checked and computed streaming
STREAM_TABLE_FROM = 64 << 20  # in a streaming run, tables of this size or more stay on disk


@dataclass(frozen=True)
class LoadSpec:
    """What a profile asks of the loader, as plain data (pipeline.load_spec)."""

    required: tuple[str, ...] = ()  # tables that must be in the bundle
    code_lists: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(S.DEFAULT_CODE_LISTS))
    code_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # local code -> EDFacts code
    columns: Mapping[str, list[Column]] = field(default_factory=dict)  # columns a table must have beyond its own
    checks: Mapping[str, list[Check]] = field(default_factory=dict)  # rules that depend on the profile, by table
    reads: Mapping[str, frozenset[str]] = field(default_factory=dict)  # the only columns read of these tables


@dataclass
class LoadedTable:
    name: str
    source: Source
    frame: pl.DataFrame | pl.LazyFrame  # typed and validated; lazy when streamed
    rows_read: int
    columns_ignored: list[str] = field(default_factory=list)  # columns sedet does not know
    columns_not_read: list[str] = field(default_factory=list)  # known columns the profile's measures do not use
    years: list[int] | None = None  # the school years it holds, when known from reading it


@dataclass(frozen=True)
class CsvShape:
    """A CSV table as read: its file, the fields of its header, and the records polars read."""

    source: Source
    width: int
    rows: int


@dataclass
class Bundle:
    path: Path
    tables: dict[str, LoadedTable]
    files: Fingerprints  # file name -> SHA-256 of its bytes
    shapes: list[CsvShape] = field(default_factory=list)
    encoding: str | None = None
    _years: dict[str, list[int]] = field(default_factory=dict, repr=False, compare=False)

    def verify(self, limit: int = DEFAULT_LIMIT) -> None:
        """Raise BundleError if a CSV file has a row with fewer fields than its header. The file's
        commas, counted while it is hashed, settle it for a file without quotes; a file with quotes,
        or whose count is off, is read again record by record (io.read.short_rows)."""
        problems: list[Problem] = []
        total = 0
        for shape in self.shapes:
            seps = self.files.separators(shape.source.path.name)
            if (seps is not None and seps.quotes == 0 and ascii_compatible(self.encoding)
                    and seps.commas == (shape.width - 1) * (shape.rows + 1)):
                continue
            found, n = short_rows(shape.source, self.encoding, shape.width, limit)
            problems += found
            total += n
        if total:
            raise BundleError(problems[:limit], truncated=total > limit, total=total)

    def release(self, keep: set[str]) -> None:
        """Let go of the rows of every table in memory but those in `keep`: each becomes an empty
        frame of its columns, for a run whose measures are computed and that reads no more of them."""
        for name, t in self.tables.items():
            if name not in keep and isinstance(t.frame, pl.DataFrame):
                t.frame = t.frame.clear()

    def lazy(self, name: str) -> pl.LazyFrame | None:
        t = self.tables.get(name)
        return t.frame.lazy() if t is not None else None

    @property
    def streaming(self) -> bool:
        return any(isinstance(t.frame, pl.LazyFrame) for t in self.tables.values())

    def years(self, table: str) -> list[int]:
        """The school years a table holds (one scan, remembered)."""
        if table not in self._years:
            self._years[table] = self._scan_years(table)
        return list(self._years[table])

    def _scan_years(self, table: str) -> list[int]:
        t = self.tables.get(table)
        if t is not None and t.years is not None:
            return list(t.years)
        if t is None or "school_year" not in t.frame.lazy().collect_schema().names():
            return []
        ys = t.frame.lazy().select(pl.col("school_year").unique()).collect(engine="streaming").get_column("school_year")
        return sorted(ys.drop_nulls().to_list())


def load_bundle(path: Path, spec: LoadSpec | None = None, *, encoding: str | None = None, limit: int = DEFAULT_LIMIT,
                on_table: Callable[[str, int, int], None] | None = None, streaming: bool | None = None) -> Bundle:
    """Read, type and check every table of the bundle; raise BundleError listing all problems.
    `on_table(table, rows, tables)` is called when a table has been read (with its rows) and once
    before the first, with the number of tables to read (`on_table("", 0, n)`).

    `streaming`: large CSV and Parquet tables are checked in a streaming pass and kept as lazy scans
    instead of being held in memory (for bundles larger than memory allows). None: decided by the
    bundle's size (STREAMING_FROM bytes of table files)."""
    spec = spec or LoadSpec()
    sources = discover(path)
    paths = list(dict.fromkeys(s.path for s in sources))
    if streaming is None:
        streaming = sum(p.stat().st_size for p in paths) >= STREAMING_FROM
    loader = _Loader(spec, encoding, limit, streaming)
    loader.problems += _missing_tables(path, sources, spec.required)
    loader.total += len(loader.problems)
    loader.load(sources, on_table)
    if loader.total:
        order = {t: i for i, t in enumerate(S.TABLES)}
        problems = sorted(loader.problems, key=lambda p: (order.get(p.table or "", 99), p.file, p.row or 0))
        raise BundleError(problems[:limit], truncated=loader.total > limit, total=loader.total)
    tables = {src.table: loader.tables[src.table] for src in sources if src.table in loader.tables}  # schema order
    return Bundle(path, tables, Fingerprints.start(paths), sorted(loader.shapes, key=lambda s: s.source.path.name),
                  encoding)


def _missing_tables(path: Path, sources: list[Source], required: tuple[str, ...]) -> list[Problem]:
    names = {s.table for s in sources}
    return [Problem(path.name, None, None,
                    f"a table {t!r} ({t}.csv, {t}.xlsx or {t}.parquet, or a sheet {t!r}), which the profile needs",
                    "no such table in the bundle", table=t) for t in required if t not in names]


class _Loader:
    """The tables of one bundle, read one after another, and their problems (each table keeps up to
    `limit` of its own; they are reported in schema order whatever the order of work)."""

    def __init__(self, spec: LoadSpec, encoding: str | None, limit: int, streaming: bool):
        self.spec, self.encoding, self.limit, self.streaming = spec, encoding, limit, streaming
        self.codes = Codes(spec.code_lists, spec.code_maps)
        self.categories: Categories = {}  # this run's category set of each Categorical column
        self.districts: pl.Series | None = None
        self.tables: dict[str, LoadedTable] = {}
        self.problems: list[Problem] = []
        self.total = 0
        self.shapes: list[CsvShape] = []

    def table_spec(self, src: Source) -> TableSpec:
        t = src.table
        return TableSpec(S.TABLES[t], self.codes, self.spec.columns.get(t), tuple(self.spec.checks.get(t, ())),
                         self.spec.reads.get(t), self.districts)

    def streamed(self, src: Source) -> bool:
        return bool(self.streaming and S.TABLES[src.table].student_level and src.sheet is None
                    and src.path.suffix.lower() in (".csv", ".parquet") and src.path.stat().st_size >= STREAM_TABLE_FROM
                    and encoding_name(self.encoding) in UTF8)

    def load(self, sources: list[Source], on_table: Callable[[str, int, int], None] | None) -> None:
        """Tables are parsed one after another in a thread, so that parsing the next table (polars,
        outside the GIL) overlaps with checking this one. `districts` comes first, so the others are
        checked against it; then the largest files, so that what is left to do once the last large
        table is parsed is checking it while the small ones are parsed."""
        work = sorted(sources, key=lambda src: (src.table != S.DISTRICTS, -src.path.stat().st_size))
        pool = ThreadPoolExecutor(max_workers=1)
        try:
            parsed = {id(src): pool.submit(read_raw, src, self.encoding, self.table_spec(src).kinds(),
                                           self.spec.reads.get(src.table), self.categories)
                      for src in work if not self.streamed(src)}
            if on_table:
                on_table("", 0, len(work))
            for src in work:
                self.load_one(src, parsed.get(id(src)))
                if on_table:
                    t = self.tables.get(src.table)
                    on_table(src.table, t.rows_read if t is not None else 0, len(work))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def load_one(self, src: Source, parsed: Future | None) -> None:
        spec = self.table_spec(src)
        try:
            if parsed is None:
                read, rows, headers = read_streaming(spec, src, self.limit)
            else:
                raw, offset = parsed.result()
                read, rows = read_table(spec, src, raw, offset, self.limit), raw.height
                headers = raw.columns if spec.reads is None else file_columns(src, raw, self.encoding)
        except BundleError as e:
            self.problems += e.problems[: self.limit]
            self.total += e.total
            return
        self.problems += self.on_lines(src, read.problems)
        self.total += read.total
        if read.frame is not None:
            self.keep(src, spec, read, rows, headers)
            if rows == 0 and src.table in self.spec.required and not spec.table.may_be_empty:
                self.problems.append(Problem(src.label, None, None, "rows of data (the profile needs this table)",
                                             "a header row only", src.sheet, src.table))
                self.total += 1

    def on_lines(self, src: Source, problems: list[Problem]) -> list[Problem]:
        """Problems of a CSV file named by the line a record begins on, where quoted line breaks
        make it differ from the row as counted."""
        lines = physical_lines(src, self.encoding, {p.row for p in problems if p.row is not None})
        return [replace(p, row=lines.get(p.row, p.row)) if p.row is not None else p for p in problems]

    def keep(self, src: Source, spec: TableSpec, read: TableRead, rows: int, headers: list[str]) -> None:
        assert read.frame is not None
        if isinstance(read.frame, pl.DataFrame):
            frame = finish(spec.table, read.frame, self.narrow(src.table))
            rows = read.frame.height
        else:
            frame = finish(spec.table, read.frame, {})
        ignored, not_read = spec.unused([normalise_header(c) for c in headers])
        self.tables[src.table] = LoadedTable(src.table, src, frame, rows, ignored, not_read, read.years)
        if src.path.suffix.lower() == ".csv":
            self.shapes.append(CsvShape(src, len(headers), rows))
        if src.table == S.DISTRICTS and isinstance(frame, pl.DataFrame):
            self.districts = frame.get_column("district_id").unique()

    def narrow(self, table: str) -> dict[str, pl.DataType]:
        """The narrow types of a student-level table held in memory (io.read.categorical_columns): a
        code with a closed list as an Enum of that list (a byte a cell, where a Categorical takes 4;
        the checks have placed every value in the list), the district id and any other code as a
        Categorical, small whole numbers as Int16."""
        lists = {c.name: self.codes.lists.get(c.codes or "") for c in S.TABLES[table].columns if c.kind == CODE}
        kept: dict[str, pl.DataType] = {}
        for c in categorical_columns(table):
            codes = lists.get(c)
            kept[c] = code_enum(codes) if codes else category_dtype(c, self.categories)
        return kept | {c: pl.Int16() for c in small_int_columns(table)}

