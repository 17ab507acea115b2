"""Reading a bundle: one file per table (CSV, XLSX, Parquet) or one workbook with a sheet per table.

Every table is read as text first, with the row number a person sees in that
file, then typed with polars expressions. A value that does not parse becomes
a `Problem` naming file, sheet, row, column, what was expected and what was
found, instead of polars' byte offset. Nothing is typed by guessing:
identifiers stay text (`00123` stays `00123`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from sedet.errors import DEFAULT_LIMIT, BundleError, Problem, UsageError
from sedet.io import schema as S
from sedet.io.checks import ROW, Check, T, _found
from sedet.io.fingerprint import FileHash, Fingerprints, HashProcess, lowest_priority
from sedet.io.schema import Column, Table
from sedet.measures.timeline import row_checks as timeline_row_checks
from sedet.profile import LoadedProfile

TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")
EXCEL_EPOCH = pl.date(1899, 12, 30)  # Excel serial day 1 = 1900-01-01 (with the 1900 leap-year bug)
STREAMING_FROM = 2 << 30  # a bundle of this many bytes or more is checked and computed streaming
STREAM_TABLE_FROM = 64 << 20  # in a streaming run, tables of this size or more stay on disk
Categories = dict[str, pl.Categories]  # a run's category set of each Categorical column, by column name
STREAMABLE = ("enrollment", "assessments", "evaluations", "discipline", "transition")  # student-level tables


@dataclass
class Source:
    """Where a table comes from."""

    table: str
    path: Path
    sheet: str | None = None

    @property
    def label(self) -> str:
        return self.path.name


@dataclass
class LoadedTable:
    name: str
    source: Source
    frame: pl.DataFrame | pl.LazyFrame  # typed and validated; no ROW column; lazy when streamed
    rows_read: int
    columns_ignored: list[str] = field(default_factory=list)  # columns sedet does not know
    columns_not_read: list[str] = field(default_factory=list)  # known columns the profile's measures do not use
    years: list[int] | None = None  # the school years it holds, when known from reading it


@dataclass
class Bundle:
    path: Path
    tables: dict[str, LoadedTable]
    files: Mapping[str, str]  # file name -> SHA-256 of its bytes
    _years: dict[str, list[int]] = field(default_factory=dict, repr=False, compare=False)

    def lazy(self, name: str) -> pl.LazyFrame | None:
        t = self.tables.get(name)
        return t.frame.lazy() if t is not None else None

    @property
    def streaming(self) -> bool:
        return any(isinstance(t.frame, pl.LazyFrame) for t in self.tables.values())

    def years(self, table: str) -> list[int]:
        """The school years a table holds (one scan, remembered)."""
        if table not in self._years:
            t = self.tables.get(table)
            if t is not None and t.years is not None:
                self._years[table] = list(t.years)
            elif t is None or "school_year" not in t.frame.lazy().collect_schema().names():
                self._years[table] = []
            else:
                ys = t.frame.lazy().select(pl.col("school_year").unique()).collect(engine="streaming").get_column("school_year")
                self._years[table] = sorted(ys.drop_nulls().to_list())
        return list(self._years[table])


# ---------------------------------------------------------------------------------------------------
# Finding the tables


def discover(path: Path) -> list[Source]:
    """The tables of a bundle folder or workbook, by name."""
    if not path.exists():
        raise UsageError(f"bundle {str(path)!r} does not exist", hint="give a folder of tables or one workbook")
    if path.is_file():
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise UsageError(
                f"bundle {str(path)!r} is a file but not a workbook",
                hint="a bundle is a folder with one file per table, or one .xlsx workbook with a sheet per table",
            )
        return _workbook_sources(path)
    found: dict[str, Source] = {}
    for p in sorted(path.iterdir()):
        if S.is_table_file(p):
            name = p.stem.lower()
            if name in found:
                raise UsageError(
                    f"bundle {str(path)!r} holds two files for table {name!r}: {found[name].path.name} and {p.name}",
                    hint="keep one file per table",
                )
            found[name] = Source(name, p)
    if not found:
        workbooks = [p for p in sorted(path.iterdir()) if p.suffix.lower() in (".xlsx", ".xlsm")]
        if len(workbooks) == 1:
            return _workbook_sources(workbooks[0])
        raise UsageError(
            f"bundle {str(path)!r} holds no table",
            hint="expected files named after the tables: " + ", ".join(f"{t}.csv" for t in S.TABLES),
        )
    return [found[t] for t in S.TABLES if t in found]


def _workbook_sources(path: Path) -> list[Source]:
    import fastexcel

    try:
        names = fastexcel.read_excel(str(path)).sheet_names
    except Exception as e:  # noqa: BLE001 - calamine raises several kinds; all mean "cannot read"
        raise BundleError([Problem(path.name, None, None, "an Excel workbook (.xlsx)", f"a file that cannot be read ({e})")]) from None
    by_lower = {n.strip().lower(): n for n in names}
    sources = [Source(t, path, by_lower[t]) for t in S.TABLES if t in by_lower]
    if not sources:
        raise UsageError(
            f"workbook {path.name!r} has no sheet named after a table (sheets: {', '.join(names)})",
            hint="name the sheets " + ", ".join(S.TABLES),
        )
    return sources


# ---------------------------------------------------------------------------------------------------
# Reading raw text


def normalise_header(name: str) -> str:
    s = name.strip().lstrip("\ufeff").lower()
    s = re.sub(r"[^0-9a-z]+", "_", s)
    return s.strip("_")


def read_raw(src: Source, encoding: str | None = None, kinds: dict[str, str] | None = None,
             reads: frozenset[str] | None = None, categories: Categories | None = None) -> tuple[pl.DataFrame, int]:
    """The table as read, plus the offset that turns a 0-based index into the row a person sees.
    `reads`: the only columns to read (by normalised name) from a CSV or Parquet file; None: all.

    CSV columns that should hold whole numbers, numbers or booleans are first parsed by polars'
    own reader (fast, in parallel); if any value does not parse, the whole file is read again as
    text and typed by sedet, which accepts more spellings and names every bad cell. Dates are
    always parsed by sedet: polars reads 1/3/2012 day first. `categories`: the category sets of
    the run's Categorical columns (see categorical_columns).
    """
    suffix = src.path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(src, encoding, kinds or {}, reads, categories), 2
    if suffix in (".xlsx", ".xlsm"):
        return _read_sheet(src), 2
    return _read_parquet(src, reads), 1


def file_columns(src: Source, raw: pl.DataFrame, encoding: str | None = None) -> list[str]:
    """Every column of the file, also those `read_raw` was told not to read."""
    suffix = src.path.suffix.lower()
    if suffix == ".csv":
        with src.path.open("rb") as fh:
            head = fh.read(1 << 16)
        enc = (encoding or "utf-8").lower().replace("_", "-")
        if enc not in ("utf-8", "utf8", "utf-8-sig"):
            head = head.decode(enc, errors="replace").encode("utf-8")  # read_raw checked the encoding
        return _csv_header(head)
    if suffix == ".parquet":
        return pl.scan_parquet(src.path).collect_schema().names()
    return raw.columns


FAST_DTYPES = {S.INT: pl.Int64, S.FLOAT: pl.Float64, S.BOOL: pl.Boolean}


def _read_csv(src: Source, encoding: str | None, kinds: dict[str, str], reads: frozenset[str] | None = None,
              categories: Categories | None = None) -> pl.DataFrame:
    """Read a CSV file: polars reads UTF-8 files straight from disk; other encodings are decoded first.

    The whole file is loaded into Python only to explain a failure (bad encoding, ragged row)."""
    with src.path.open("rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip(b"\xef\xbb\xbf \t\r\n") and src.path.stat().st_size < (1 << 16):
        raise BundleError([Problem(src.label, None, None, "a header row and data rows", "an empty file", table=src.table)])
    enc = (encoding or "utf-8").lower().replace("_", "-")
    source: str | io.BytesIO = str(src.path)
    if enc not in ("utf-8", "utf8", "utf-8-sig"):
        data = src.path.read_bytes()
        try:
            source = io.BytesIO(data.decode(enc).encode("utf-8"))
        except LookupError:
            raise UsageError(f"unknown encoding {encoding!r}", hint="e.g. --encoding latin-1 or --encoding cp1252") from None
        except UnicodeDecodeError as e:
            raise BundleError([_encoding_problem(src, data, e, enc)]) from None
        head = source.getvalue()[: 1 << 16]
    header = _csv_header(head)
    dup = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if dup is not None:
        raise BundleError([Problem(src.label, dup, 1, "each column once", f"a second column named {dup!r}", table=src.table)])
    # Columns not to read are skipped by the parser (in the file's order: polars reads them so).
    columns = [h for h in header if normalise_header(h) in reads] if reads is not None else None
    fast = {h: FAST_DTYPES[kinds[normalise_header(h)]] for h in header if kinds.get(normalise_header(h)) in FAST_DTYPES}
    if fast:
        try:
            # codes and district ids straight into Categorical (see categorical_columns)
            cats, small = categorical_columns(src.table), small_int_columns(src.table)
            overrides = {h: (pl.Int16 if normalise_header(h) in small else fast[h]) if h in fast
                         else category_dtype(normalise_header(h), categories) if normalise_header(h) in cats
                         else pl.String for h in header}
            return pl.read_csv(_rewind(source), schema_overrides=overrides, infer_schema=False, columns=columns)
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.InvalidOperationError):
            pass  # some value is not in polars' own spelling: read as text below and name it
    try:
        return pl.read_csv(_rewind(source), infer_schema=False, columns=columns)
    except pl.exceptions.ComputeError as e:
        data = source.getvalue() if isinstance(source, io.BytesIO) else src.path.read_bytes()
        if "utf-8" in str(e).lower() or "utf8" in str(e).lower():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as ue:
                raise BundleError([_encoding_problem(src, data, ue, "utf-8")]) from None
        ragged = _ragged_row(data, len(header))
        if ragged is not None:
            line, n = ragged
            raise BundleError([Problem(src.label, None, line, f"{len(header)} fields, as in the header",
                                       f"{n} fields", table=src.table)]) from None
        raise BundleError([Problem(src.label, None, None, "a well-formed CSV file", _first_line(str(e)), table=src.table)]) from None


def _rewind(source: str | io.BytesIO) -> str | io.BytesIO:
    if isinstance(source, io.BytesIO):
        source.seek(0)
    return source


def _csv_header(data: bytes) -> list[str]:
    first = data[: 1 << 16].decode("utf-8", errors="replace").lstrip("\ufeff")
    return next(csv.reader(io.StringIO(first)), [])


def _ragged_row(data: bytes, width: int) -> tuple[int, int] | None:
    """The first line whose number of fields differs from the header's (error path only)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace").lstrip("\ufeff")))
    next(reader, None)
    for row in reader:
        if row and len(row) != width:
            return reader.line_num, len(row)
    return None


def _encoding_problem(src: Source, data: bytes, e: UnicodeDecodeError, enc: str) -> Problem:
    line = data.count(b"\n", 0, e.start) + 1
    bad = data[e.start : e.start + 4]
    return Problem(
        src.label,
        None,
        line,
        f"text in {enc.upper()}",
        f"bytes {bad!r} that are not {enc.upper()}; if the file comes from Excel or an older system, try --encoding latin-1 or --encoding cp1252",
        table=src.table,
    )


def _first_line(msg: str) -> str:
    return msg.strip().splitlines()[0][:300] if msg.strip() else "unreadable content"


def _read_sheet(src: Source) -> pl.DataFrame:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(src.path))
        sheet = reader.load_sheet(src.sheet if src.sheet is not None else 0, dtypes="string")
        df = sheet.to_polars()
    except Exception as e:  # noqa: BLE001
        raise BundleError(
            [Problem(src.label, None, None, "a readable sheet", f"an error from the Excel reader: {_first_line(str(e))}", sheet=src.sheet, table=src.table)]
        ) from None
    if df.width == 0:
        raise BundleError([Problem(src.label, None, None, "a header row and data rows", "an empty sheet", sheet=src.sheet, table=src.table)])
    # Excel writes whole numbers as 5 or 5.0 and dates as '2012-01-03 00:00:00': normalised in typing.
    return df.select(pl.all().cast(pl.String))


def _read_parquet(src: Source, reads: frozenset[str] | None = None) -> pl.DataFrame:
    try:
        columns = None
        if reads is not None:
            columns = [c for c in pl.scan_parquet(src.path).collect_schema().names() if normalise_header(c) in reads]
        df = pl.read_parquet(src.path, columns=columns)
    except Exception as e:  # noqa: BLE001
        raise BundleError([Problem(src.label, None, None, "a Parquet file", f"a file that cannot be read ({_first_line(str(e))})", table=src.table)]) from None
    return df  # native types are kept where they fit the column (TableReader._typed)


# ---------------------------------------------------------------------------------------------------
# Typing and checking


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


EXPECTED = {
    S.INT: "a whole number",
    S.FLOAT: "a number",
    S.BOOL: "true or false (also yes/no, y/n, 1/0)",
    S.DATE: "a date (YYYY-MM-DD, MM/DD/YYYY or an Excel serial number)",
}


class TableReader:
    """Types and checks one table against its declaration and the profile."""

    def __init__(
        self,
        table: Table,
        profile: LoadedProfile | None,
        code_lists: dict[str, tuple[str, ...] | None],
        districts: pl.Series | None = None,
        reads: frozenset[str] | None = None,
    ):
        self.table = table
        self.profile = profile
        self.code_lists = code_lists
        self.districts = districts  # the district_ids of the districts table, when the bundle has one
        self.reads = reads  # the only columns read and checked (None: all); pipeline.columns_read
        self.years: list[int] | None = None  # the school years of the table read last, when known

    def kinds(self) -> dict[str, str]:
        """The kind of every column this table may have (extra columns: those the profile declares)."""
        return {c.name: c.kind for c in self.columns_for([])}

    def columns_for(self, present: list[str]) -> list[Column]:
        cols = [c for c in self.table.columns if self.reads is None or c.name in self.reads]
        if self.table.extra_bool_columns:
            declared = transition_components(self.profile)
            extra = declared if declared is not None else [c for c in present if c not in self.table.by_name]
            cols += [Column(c, S.BOOL, required=declared is not None) for c in extra]
        if self.table.extra_columns:
            declared = compliance_facts(self.profile)
            names = declared if declared is not None else [c for c in present if c in S.COMPLIANCE_FACTS]
            cols += [replace(S.COMPLIANCE_FACTS.get(c, Column(c, S.FLOAT)), required=declared is not None) for c in names]
        return cols

    def unused(self, headers: list[str]) -> tuple[list[str], list[str]]:
        """Of a file's (normalised) headers: (columns sedet does not know, known columns not read)."""
        read = {c.name for c in self.columns_for(headers)}
        known = read | {c.name for c in self.table.columns}
        return [h for h in headers if h not in known], [h for h in headers if h in known and h not in read]

    def read(self, src: Source, raw: pl.DataFrame, offset: int, limit: int) -> tuple[pl.DataFrame | None, list[Problem], int]:
        """Return (typed frame or None, problems up to limit, total problems)."""
        label, sheet, tname = src.label, src.sheet, self.table.name
        headers = [normalise_header(c) for c in raw.columns]
        problems = []
        seen: dict[str, str] = {}
        for original, h in zip(raw.columns, headers, strict=True):
            if h in seen:
                problems.append(Problem(label, original, 1 if offset == 2 else None, "each column once",
                                        f"a second column that reads as {h!r} (first: {seen[h]!r})", sheet, tname))
            seen.setdefault(h, original)
        if problems:
            return None, problems, len(problems)
        df = raw.rename(dict(zip(raw.columns, headers, strict=True)))
        cols = self.columns_for(headers)
        missing = [c.name for c in cols if c.required and c.name not in headers]
        if missing:
            for m in missing:
                problems.append(Problem(label, m, None, f"a column named {m!r} (required in table {tname!r})",
                                        "columns " + ", ".join(repr(h) for h in headers), sheet, tname))
            return None, problems, len(problems)
        # Row numbers (polars' index type, counted from `offset`) are added only where needed: before
        # blank rows are dropped, or to name the rows of a problem; a clean table goes without.
        df = df.select([pl.col(c.name) for c in cols if c.name in headers])
        data_cols = [c.name for c in cols if c.name in headers]
        text_cols = [c for c in data_cols if df.schema[c] == pl.String or isinstance(df.schema[c], pl.Categorical)]
        # the school years come with the distinct values when polars read them as whole numbers
        year = "school_year" if "school_year" in data_cols and df.schema["school_year"].is_integer() else None
        self._values = _distinct(df, text_cols + ([year] if year else []))
        self.years = sorted(self._values.pop(year).to_list()) if year else None
        cleaned = {c: e for c in text_cols if (e := _cleaned(self._values[c], c)) is not None}
        if cleaned:
            df = df.with_columns(list(cleaned.values()))
            self._values.update(_distinct(df, list(cleaned)))
        # Blank lines (CSV) and blank rows (Excel) are read as rows of nulls, so that row numbers stay
        # true; drop them. The column with the fewest nulls tells cheaply whether there can be any.
        if data_cols and min(df.get_column(c).null_count() for c in data_cols):
            df = df.with_row_index(ROW, offset=offset).filter(~pl.all_horizontal([pl.col(c).is_null() for c in data_cols]))
        nulls = {c: df.get_column(c).null_count() for c in data_cols}
        typed, checks = self._type(df.schema, cols, headers, self._values, nulls)
        frame = df.with_columns(typed)
        # distinct values of the text columns, and of the typed columns that equal them (identity typing)
        known = dict(self._values) | {f"__typed_{c}": v for c, v in self._values.items() if c in self._identity}
        checks = _prefilter(frame, checks + self._row_checks(frame.columns), known)
        # One pass counts every rule; details are gathered only for rules that found something.
        counts = frame.select([c.bad.fill_null(False).sum().alias(f"c{i}") for i, c in enumerate(checks)]).row(0) if checks else ()
        total = 0
        numbered = None
        for chk, n in zip(checks, counts, strict=True):
            if not n:
                continue
            total += n
            if numbered is None:
                numbered = frame if ROW in frame.columns else frame.with_row_index(ROW, offset=offset)
            rows = _check_rows(numbered, chk, limit - len(problems))
            problems += [Problem(label, chk.column, r, chk.expected, f, sheet, tname) for r, f in rows]
        if total:
            return None, problems, total
        return frame, [], 0

    def _type(self, schema: pl.Schema, cols: list[Column], headers: list[str], values: dict[str, pl.Series] | None = None,
              nulls: dict[str, int] | None = None) -> tuple[list[pl.Expr], list[Check]]:
        """Typing expressions and the rules they bring. `values` (distinct values of text columns) and
        `nulls` (null counts), when known, let cheap shortcuts replace whole-column work."""
        values = values or {}
        self._identity: set[str] = set()
        exprs: list[pl.Expr] = []
        checks: list[Check] = []
        for c in cols:
            if c.name not in headers:
                exprs.append(self._default(c))
                continue
            raw = pl.col(c.name)
            typed, expected = self._typed(c, raw, schema[c.name])
            if c.name in values and (expected is not None or c.kind == S.CODE):
                typed = _via_unique_values(values[c.name], c.name, typed)
            if c.name in values and typed.meta.eq(raw) and c.default is None:
                self._identity.add(c.name)
            on = [c.name]
            if expected is not None:
                checks.append(Check(c.name, raw.is_not_null() & typed.is_null(), expected, _found(c.name), on))
            if c.required and (nulls is None or nulls.get(c.name, 1)):
                checks.append(Check(c.name, raw.is_null(), "a value (the column is required)", pl.lit("an empty cell")))
            if c.min is not None:
                checks.append(Check(c.name, typed < c.min, f"a value of at least {c.min}", _found(c.name), on))
            if c.max is not None:
                checks.append(Check(c.name, typed > c.max, f"a value of at most {c.max}", _found(c.name), on))
            if c.default is not None:
                typed = typed.fill_null(pl.lit(c.default))
            exprs.append(typed.alias(f"__typed_{c.name}"))
        return exprs, checks

    def _typed(self, c: Column, raw: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, str | None]:
        """The typed value of a column, and what a value must look like (None: anything goes).

        A column already read with a fitting type (by polars' CSV reader, or from Parquet) is
        kept; anything else is taken as text and parsed.
        """
        if isinstance(dtype, pl.Categorical) and c.kind == S.ID:
            return raw, None
        if dtype != pl.String:
            if c.kind == S.INT and dtype.is_integer():
                if dtype == pl.Int16 and c.name in small_int_columns(self.table.name):
                    return raw, None  # read narrow (small_int_columns)
                return raw.cast(pl.Int64), None
            if c.kind == S.FLOAT and dtype.is_numeric():
                f = raw.cast(pl.Float64)
                return pl.when(f.is_finite()).then(f), EXPECTED[S.FLOAT]
            if c.kind == S.BOOL and dtype == pl.Boolean:
                return raw, None
            if c.kind == S.DATE and dtype == pl.Date:
                return raw, None
            if c.kind == S.DATE and isinstance(dtype, pl.Datetime):
                return raw.dt.date(), None
            raw = raw.cast(pl.String)
        if c.kind in (S.ID, S.TEXT):
            return raw, None
        if c.kind == S.INT:
            return _int_expr(raw), EXPECTED[S.INT]
        if c.kind == S.FLOAT:
            f = raw.cast(pl.Float64, strict=False)
            return pl.when(f.is_finite()).then(f), EXPECTED[S.FLOAT]
        if c.kind == S.BOOL:
            return _bool_expr(raw), EXPECTED[S.BOOL]
        if c.kind == S.DATE:
            return _date_expr(raw), EXPECTED[S.DATE]
        if c.kind == S.CODE:
            allowed = self.code_lists.get(c.codes or "")
            mapping = (self.profile.model.codes.get(c.codes or "", {}) if self.profile else {})
            mapped = raw.replace(mapping) if mapping else raw
            mapped = mapped.str.to_uppercase()
            if allowed is None:
                return mapped, None
            shown = ", ".join(allowed) if len(allowed) <= 16 else ", ".join(allowed[:16]) + ", ..."
            where = f" or a local code mapped in the profile's [codes.{c.codes}]" if c.codes in S.CODE_LISTS else ""
            return pl.when(mapped.is_in(list(allowed))).then(mapped).otherwise(None), f"one of {shown}{where}"
        raise AssertionError(c.kind)

    def read_lazy(self, src: Source, limit: int) -> tuple[pl.LazyFrame | None, list[Problem], int, int, list[str], list[str]]:
        """Check a large CSV or Parquet table without holding it in memory: one streaming pass counts
        every rule; problem rows are gathered in a second pass only if there are any. Returns (typed
        lazy frame or None, problems, total problems, rows, columns ignored, columns not read)."""
        label, tname = src.label, self.table.name
        csv_file = src.path.suffix.lower() == ".csv"
        if csv_file:
            with src.path.open("rb") as fh:
                original = _csv_header(fh.read(1 << 16))
        else:
            original = pl.scan_parquet(src.path).collect_schema().names()
        headers = [normalise_header(c) for c in original]
        dup = next((h for i, h in enumerate(headers) if h in headers[:i]), None)
        if dup is not None:
            return None, [Problem(label, dup, 1 if csv_file else None, "each column once",
                                  f"a second column that reads as {dup!r}", None, tname)], 1, 0, [], []
        cols = self.columns_for(headers)
        missing = [c.name for c in cols if c.required and c.name not in headers]
        if missing:
            found = "columns " + ", ".join(repr(h) for h in headers)
            return None, [Problem(label, m, None, f"a column named {m!r} (required in table {tname!r})", found, None, tname)
                          for m in missing], len(missing), 0, [], []
        kinds = {c.name: c.kind for c in cols}
        present = [c.name for c in cols if c.name in headers]

        def scan(fast: bool) -> tuple[pl.LazyFrame, pl.LazyFrame, list[Check]]:
            """(typed frame, the same with row numbers, rules). Row numbers are added only for the
            pass that reports problems: a row index keeps polars from streaming."""
            if csv_file:
                dtypes = {h: (FAST_DTYPES.get(kinds.get(n, ""), pl.String) if fast else pl.String)
                          for h, n in zip(original, headers, strict=True)}
                lf = pl.scan_csv(src.path, schema_overrides=dtypes, infer_schema=False)
            else:
                lf = pl.scan_parquet(src.path)
            lf = lf.rename(dict(zip(original, headers, strict=True))).select(present)
            schema = lf.collect_schema()
            text = [c for c in present if schema[c] == pl.String]
            lf = lf.with_columns(*[_trimmed(c) for c in text])
            numbered = lf.with_row_index(ROW, offset=2 if csv_file else 1).with_columns(pl.col(ROW).cast(pl.Int64))
            typed, checks = self._type(schema, cols, headers)
            nonblank = ~pl.all_horizontal([pl.col(c).is_null() for c in present])
            full = lf.filter(nonblank).with_columns(typed)
            checks = checks + self._row_checks(full.collect_schema().names())
            return full, numbered.filter(nonblank).with_columns(typed), checks

        ignored, not_read = self.unused(headers)
        counts = None
        for fast in (True, False):
            full, numbered, checks = scan(fast)
            try:
                counts = full.select(pl.len().alias("rows"), *[c.bad.fill_null(False).sum().alias(f"c{i}")
                                                               for i, c in enumerate(checks)]).collect(engine="streaming").row(0)
                break
            except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError, pl.exceptions.SchemaError):
                if not fast:
                    raise BundleError([Problem(label, None, None, "a well-formed file", "content polars cannot read",
                                               table=tname)]) from None
        rows, counts = counts[0], counts[1:]
        problems: list[Problem] = []
        total = 0
        for chk, n in zip(checks, counts, strict=True):
            if not n:
                continue
            total += n
            problems += [Problem(label, chk.column, r, chk.expected, f, None, tname)
                         for r, f in _check_rows(numbered, chk, limit - len(problems))]
        if total:
            return None, problems, total, rows, ignored, not_read
        return full, [], 0, rows, ignored, not_read

    def _default(self, c: Column) -> pl.Expr:
        dtype = {S.INT: pl.Int64, S.FLOAT: pl.Float64, S.BOOL: pl.Boolean, S.DATE: pl.Date}.get(c.kind, pl.String)
        if c.name == "accountable":
            return pl.lit(None, pl.Boolean).alias(f"__typed_{c.name}")
        return pl.lit(c.default, dtype).alias(f"__typed_{c.name}")

    def _row_checks(self, columns: list[str]) -> list[Check]:
        t = self.table.name
        typed = {c[len("__typed_"):] for c in columns if c.startswith("__typed_")}
        out: list[Check] = []
        if t == "evaluations" and {"consent_date", "determination_date"} <= typed:
            out.append(Check(
                "determination_date",
                T("determination_date") < T("consent_date"),
                "a determination date on or after the consent date",
                pl.lit("'") + T("determination_date").cast(pl.String) + pl.lit("', before the consent date '")
                + T("consent_date").cast(pl.String) + pl.lit("'"),
            ))
        if t == "evaluations" and self.profile and self.profile.measures.timeline is not None and "consent_date" in typed:
            out += timeline_row_checks(self.profile.measures.timeline)
        det = self.profile.model.determination if self.profile else None
        if t == "overrides" and det is not None and "category" in typed:
            names = [c.label for c in det.categories] + [c.short for c in det.categories]
            out.append(Check(
                "category",
                ~T("category").str.to_lowercase().is_in([n.lower() for n in names]),
                "a category of the profile (" + ", ".join(f"{c.label} / {c.short}" for c in det.categories) + ")",
                _found("category"),
            ))
        if t == "compliance" and {"findings", "findings_corrected_on_time"} <= typed:
            out.append(Check(
                "findings_corrected_on_time",
                T("findings_corrected_on_time") > T("findings"),
                "no more findings corrected than findings",
                T("findings_corrected_on_time").cast(pl.String) + pl.lit(" corrected of ") + T("findings").cast(pl.String),
            ))
        if t == "assessments" and self.profile and self.profile.measures.assessment and "performance_level" in typed:
            out.append(_level_check(self.profile))
        if self.districts is not None and t != "districts":
            out.append(Check(
                "district_id",
                ~T("district_id").is_in(self.districts.implode()),
                "a district_id listed in the districts table",
                _found("district_id") + pl.lit(", which is not listed"),
                ["__typed_district_id"],
            ))
        key = [k for k in self.table.key if k in typed]
        if key and len(key) == len(self.table.key):
            dup = pl.struct([T(k) for k in key]).is_duplicated() & pl.all_horizontal([T(k).is_not_null() for k in key])
            keys = [T(k) for k in key]
            first = pl.int_range(pl.len()).over(keys) > 0
            out.append(Check(
                key[-1],
                dup & first,
                "one row per " + ", ".join(key),
                pl.lit("the same ") + pl.lit(", ".join(key)) + pl.lit(" as row ")
                + pl.col(ROW).first().over(keys).cast(pl.String),
                maybe=~pl.struct(keys).is_unique().all(),
            ))
        return out


def _level_check(profile: LoadedProfile) -> Check:
    params = profile.measures.assessment
    assert params is not None
    band_of = params.band_of_grade()
    rows = []
    for grade, band in band_of.items():
        for a in ("REG", "ALT"):
            for level in params.scale_for(band, a).weights:
                rows.append((grade, a, level))
    valid_key = [f"{g}|{a}|{lv}" for g, a, lv in rows]
    all_levels = sorted({lv for _, _, lv in rows})
    key = T("grade").cast(pl.String) + pl.lit("|") + T("assessment") + pl.lit("|") + T("performance_level")
    in_band = T("grade").is_in(list(band_of))
    bad = T("performance_level").is_not_null() & pl.when(in_band).then(~key.is_in(valid_key)).otherwise(
        ~T("performance_level").is_in(all_levels)
    )
    return Check(
        "performance_level",
        bad,
        "a performance level of the profile's scale for that grade and assessment ("
        + "; ".join(f"{s.grade_band} {'/'.join(s.assessments)}: {', '.join(s.weights)}" for s in params.scales)
        + ")",
        _found("performance_level") + pl.lit(" for grade ") + T("grade").cast(pl.String) + pl.lit(" ") + T("assessment"),
        ["__typed_grade", "__typed_assessment", "__typed_performance_level"],
    )


UNIQUE_LIMIT = 100_000  # columns with at most this many distinct values are typed value by value


def _trimmed(col: str) -> pl.Expr:
    """Text trimmed, with an empty cell as null. (when/then rather than `replace("", None)`, which
    keeps polars from streaming and held a whole table in memory.)"""
    t = pl.col(col).str.strip_chars()
    return pl.when(t != "").then(t).alias(col)


def _distinct(df: pl.DataFrame, cols: list[str]) -> dict[str, pl.Series]:
    """The distinct non-null values of each column, computed in one query (columns in parallel)."""
    if not cols:
        return {}
    # A Categorical column of the run's own category set (categorical_columns) is not scanned: its
    # set holds every value met in that column of any table of the bundle so far, a superset of
    # the column's, which is all the uses of these values need (each value is typed, and a rule
    # that holds for none of them holds for no row: one that holds for some is tried on the rows).
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
    found = df.select([pl.col(c).unique(maintain_order=c in ordered).drop_nulls().implode() for c in scan])
    for c in scan:
        v = found.get_column(c)[0].rename(c)
        out[c] = v.cast(pl.String) if isinstance(v.dtype, pl.Categorical) else v
    return out


def _cleaned(values: pl.Series, col: str) -> pl.Expr | None:
    """Trimmed text with empty cells as null; None when the column needs no change (the usual case).
    `values` are the column's distinct values."""
    if values.len() > UNIQUE_LIMIT:
        return _trimmed(col)
    trimmed = values.str.strip_chars()
    if (trimmed == values).all() and not (values == "").any():
        return None
    return pl.col(col).replace_strict(values, trimmed.replace("", None), default=None, return_dtype=pl.String)


def _via_unique_values(values: pl.Series, col: str, typed: pl.Expr) -> pl.Expr:
    """The same typing, computed once per distinct value and mapped back (most columns of an export
    hold a few distinct values: codes, years, flags, district ids). Identical results: the typing
    expressions work value by value. `values` are the column's distinct values."""
    if values.len() > UNIQUE_LIMIT:
        return typed
    small = pl.DataFrame({col: values}).select(typed.alias("t")).get_column("t")
    if small.dtype == values.dtype and (small.is_null().sum() == 0) and (small == values).all():
        return pl.col(col)  # every value is already what it should be
    return pl.col(col).cast(pl.String).replace_strict(values, small, default=None, return_dtype=small.dtype)


def _combinations(frame: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """The distinct combinations of these columns' values (lazily: several times faster here than
    an eager unique of a struct)."""
    return frame.lazy().select(cols).unique().collect()


def _prefilter(frame: pl.DataFrame, checks: list[Check], known: dict[str, pl.Series] | None = None) -> list[Check]:
    """Drop the rules that cannot find anything, before the one pass that counts the rest:
    - a rule with a `maybe` shortcut is dropped when the shortcut says it cannot hold;
    - a rule that depends only on a few columns, value by value, is first tried on every combination
      of their known distinct values, else on the combinations the rows hold, and kept only if one
      of them fails.
    `known`: distinct values already computed, by column."""
    known = known or {}
    shortcuts = [i for i, c in enumerate(checks) if c.maybe is not None]
    can = frame.select([checks[i].maybe.alias(f"m{i}") for i in shortcuts]).row(0) if shortcuts else ()
    impossible = {i for i, m in zip(shortcuts, can, strict=True) if m is False}
    keep = []
    for i, chk in enumerate(checks):
        if i in impossible:
            continue
        if chk.on is None:
            keep.append(chk)
            continue
        if all(frame.schema[c] != pl.String and not isinstance(frame.schema[c], pl.Categorical) for c in chk.on):
            keep.append(chk)  # numbers and flags: the rule is as cheap on the rows as on their values
            continue
        if all(c in known for c in chk.on) and math.prod(known[c].len() + 1 for c in chk.on) <= UNIQUE_LIMIT:
            # Every combination of the columns' distinct values (known without nulls: add one, in
            # case a rule holds for an empty cell). If the rule holds for none, it holds for no row.
            product = None
            for c in chk.on:
                part = pl.DataFrame({c: known[c].extend_constant(None, 1)})
                product = part if product is None else product.join(part, how="cross")
            if len(chk.on) == 1 or not product.select(chk.bad.fill_null(False).any()).item():
                combos = product
            else:  # some combination fails: try the combinations the rows really hold
                combos = _combinations(frame, chk.on)
        else:
            combos = _combinations(frame, chk.on)
        if combos.height > UNIQUE_LIMIT or combos.select(chk.bad.fill_null(False).any()).item():
            keep.append(chk)
    return keep


def _check_rows(frame: pl.DataFrame, chk: Check, room: int) -> list[tuple[int, str]]:
    """The first `room` rows where a rule holds: (row, what was found)."""
    if room <= 0:
        return []
    # `found` and `bad` may use window functions: evaluate them over the whole frame, then filter.
    rows = (
        frame.lazy()
        .select(chk.bad.fill_null(False).alias("__bad"), pl.col(ROW), chk.found.alias("__found"))
        .filter(pl.col("__bad"))
        .head(room)
        .collect(engine="streaming" if isinstance(frame, pl.LazyFrame) else "auto")
        .select(ROW, "__found")
        .rows()
    )
    return [(r, f if f is not None else "an empty cell") for r, f in rows]


def transition_components(profile: LoadedProfile | None) -> list[str] | None:
    m = getattr(profile.measures, "transition", None) if profile else None
    return list(m.components) if m is not None else None


def compliance_facts(profile: LoadedProfile | None) -> list[str] | None:
    m = getattr(profile.measures, "compliance", None) if profile else None
    return list(m.facts) if m is not None else None


def code_lists_for(profile: LoadedProfile | None) -> dict[str, tuple[str, ...] | None]:
    lists: dict[str, tuple[str, ...] | None] = dict(S.CODE_LISTS)
    levels: tuple[str, ...] | None = None
    if profile and profile.measures.assessment:
        levels = tuple(sorted({lv for s in profile.measures.assessment.scales for lv in s.weights}))
    lists["performance_level"] = levels
    exceptions = dict(S.FEDERAL_EVALUATION_EXCEPTIONS)
    ev = getattr(profile.measures, "timeline", None) if profile else None
    if ev is not None:
        exceptions = {k: v for k, v in exceptions.items() if k in ev.exceptions} | dict(ev.state_exceptions)
    lists["evaluation_exception"] = tuple(exceptions)
    return lists


# ---------------------------------------------------------------------------------------------------
# The whole bundle


def load_bundle(
    path: Path,
    profile: LoadedProfile | None,
    *,
    required: tuple[str, ...] = (),
    encoding: str | None = None,
    limit: int = DEFAULT_LIMIT,
    on_table: Callable[[str], None] | None = None,
    streaming: bool | None = None,
    reads: Mapping[str, frozenset[str]] | None = None,
    early: HashProcess | None = None,
) -> Bundle:
    """Read, type and check every table of the bundle; raise BundleError listing all problems.

    `streaming`: large CSV and Parquet tables are checked in a streaming pass and kept as lazy scans
    instead of being held in memory (for bundles larger than memory allows). None: decided by the
    bundle's size (STREAMING_FROM bytes of table files).
    `reads`: for some tables, the only columns to read and check (pipeline.columns_read); the others
    are listed in the table's `columns_not_read`.
    `early`: a child process already hashing the bundle's files (fingerprint.HashProcess)."""
    sources = discover(path)
    paths = list(dict.fromkeys(s.path for s in sources))
    names = {s.table for s in sources}
    problems: list[Problem] = []
    total = 0
    for t in required:
        if t not in names:
            where = path.name
            problems.append(Problem(where, None, None, f"a table {t!r} ({t}.csv, {t}.xlsx or {t}.parquet, or a sheet {t!r}), which the profile needs",
                                    "no such table in the bundle", table=t))
            total += 1
    code_lists = code_lists_for(profile)
    tables: dict[str, LoadedTable] = {}
    districts: pl.Series | None = None
    if streaming is None:
        streaming = sum(p.stat().st_size for p in paths) >= STREAMING_FROM

    def streamed(src: Source) -> bool:
        return bool(streaming and src.table in STREAMABLE and src.sheet is None
                    and src.path.suffix.lower() in (".csv", ".parquet") and src.path.stat().st_size >= STREAM_TABLE_FROM
                    and (encoding or "utf-8").lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig"))

    # Tables are parsed one after another in a thread, so that parsing the next table (polars,
    # outside the GIL) overlaps with checking this one. `districts` comes first, so the others are
    # checked against it; then the largest files, so that what is left to do once the last large
    # table is parsed is checking it while the small ones are parsed. Problems are reported in
    # schema order whatever the order of work: each table keeps up to `limit` of its own.
    work = sorted(sources, key=lambda src: (src.table != "districts", -src.path.stat().st_size))
    reader_pool = ThreadPoolExecutor(max_workers=1)
    reads = reads or {}
    categories: Categories = {}  # this run's category set of each Categorical column (categorical_columns)

    def reader_for(src: Source, districts: pl.Series | None = None) -> TableReader:
        return TableReader(S.TABLES[src.table], profile, code_lists, districts, reads.get(src.table))

    parsed = {
        id(src): reader_pool.submit(read_raw, src, encoding, reader_for(src).kinds(), reads.get(src.table), categories)
        for src in work if not streamed(src)
    }
    for src in work:
        if on_table:
            on_table(src.table)
        room = limit
        reader = reader_for(src, districts)
        if streamed(src):
            try:
                lazy, found, n, rows, ignored, not_read = reader.read_lazy(src, room)
            except BundleError as e:
                problems += e.problems[:room]
                total += e.total
                continue
            problems += found
            total += n
            if lazy is not None:
                tables[src.table] = LoadedTable(src.table, src, _finish(src.table, lazy), rows, ignored, not_read)
            continue
        try:
            raw, offset = parsed.pop(id(src)).result()
        except BundleError as e:
            problems += e.problems[:room]
            total += e.total
            continue
        frame, found, n = reader.read(src, raw, offset, room)
        problems += found
        total += n
        if frame is not None:
            headers = [normalise_header(c) for c in (raw.columns if reader.reads is None else file_columns(src, raw, encoding))]
            loaded = LoadedTable(src.table, src, _finish(src.table, frame, categories), frame.height, *reader.unused(headers), reader.years)
            tables[src.table] = loaded
            if src.table == "districts":
                districts = loaded.frame.get_column("district_id").unique()
    reader_pool.shutdown(wait=False, cancel_futures=True)
    tables = {src.table: tables[src.table] for src in sources if src.table in tables}  # schema order
    if total:
        order = {t: i for i, t in enumerate(S.TABLES)}
        problems.sort(key=lambda p: (order.get(p.table or "", 99), p.file, p.row or 0))
        raise BundleError(problems[:limit], truncated=total > limit, total=total)
    # Fingerprints are computed in two lowest-priority threads (hashlib releases the GIL) once the
    # tables are read: parsing keeps both cores busy, computing and writing leave them idle at times,
    # and it is those cycles the hashing takes (started with the reading, it lengthened it by more
    # than it saved later); two files at a time, so that what is left when the manifest asks for
    # them is not hashed on one core at the end; and what is left then, the asking thread finishes
    # (FileHash). A bundle with problems is not hashed at all. With a child process already at it
    # (`early`), these threads are not started: the child goes on in the idle cycles, and the asker
    # finishes what it has not.
    hashes = {p: FileHash(p) for p in paths}
    if early is None:
        hasher = ThreadPoolExecutor(max_workers=2, initializer=lowest_priority)
        for h in hashes.values():
            hasher.submit(h.run_in_background)
        hasher.shutdown(wait=False)  # the threads go on with the files asked for
    return Bundle(path, tables, Fingerprints({p.name: h for p, h in sorted(hashes.items(), key=lambda x: x[0].name)}, early))


def categorical_columns(table: str) -> frozenset[str]:
    """The columns of a student-level table held in memory as polars Categorical: its codes and the
    district id. A string is 16 bytes a cell, a category 4: the two largest tables of a large state
    (20M rows) took 0.8 GB less, and reading them 0.3-0.5 s less on this machine, where touching
    new memory is dear. Measures aggregate them first and hold the (small) results as text
    (measures.common.plain). Tables streamed from disk, and the small tables, keep text."""
    if table not in STREAMABLE:
        return frozenset()
    return frozenset(c.name for c in S.TABLES[table].columns if c.kind == S.CODE or c.name == "district_id")


def small_int_columns(table: str) -> frozenset[str]:
    """The whole-number columns of a student-level table held in memory as Int16 (2 bytes a cell
    instead of 8): those whose declared range fits (school_year, age, grade); the checks have
    rejected any value outside it. As with categorical_columns, measures aggregate first and
    widen the results (measures.common.plain)."""
    if table not in STREAMABLE:
        return frozenset()
    return frozenset(c.name for c in S.TABLES[table].columns
                     if c.kind == S.INT and c.min is not None and c.max is not None and -(2**15) <= c.min and c.max < 2**15)


def category_dtype(column: str, categories: Categories | None) -> pl.DataType:
    """The Categorical type of a column: its own category set in the run's `categories` (created on
    first use, shared by the tables that have the column), or polars' global one without them."""
    if categories is None:
        return pl.Categorical
    if column not in categories:  # setdefault: the reading thread and this one may both get here first
        categories.setdefault(column, pl.Categories.random())
    return pl.Categorical(categories[column])


def _finish(table: str, frame: pl.DataFrame, categories: Categories | None = None) -> pl.DataFrame:
    """Typed columns under their own names, in declaration order, with defaults that depend on others."""
    names = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
    typed = [c for c in names if c.startswith("__typed_")]
    in_memory = isinstance(frame, pl.DataFrame)
    cats = categorical_columns(table) if in_memory else frozenset()
    small = small_int_columns(table) if in_memory else frozenset()

    def kept(c: str) -> pl.Expr:
        name = c[len("__typed_"):]
        e = (pl.col(c).cast(category_dtype(name, categories)) if name in cats
             else pl.col(c).cast(pl.Int16) if name in small else pl.col(c))
        return e.alias(name)

    out = frame.select([kept(c) for c in typed])
    if table == "assessments" and {"__typed_accountable", "__typed_participated"} <= set(typed):  # unless not read
        out = out.with_columns(pl.col("accountable").fill_null(pl.col("participated")))
    return out
