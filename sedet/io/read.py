"""Reading a table's file as it is: CSV, a sheet of a workbook, or Parquet, into a frame of text (or
of the types polars' own parser can read), with the offset that turns a row index into the row a
person sees. Typing and checking come after (io.table, io.typed).

In memory, the student-level tables hold their codes and district ids as polars Categorical and
their small whole numbers as Int16 (`categorical_columns`, `small_int_columns`): a string is 16
bytes a cell, a category 4; the two largest tables of a large state (20M rows) took 0.8 GB less,
and reading them 0.3-0.5 s less (docs/performance.md).
"""

from __future__ import annotations

import csv
import io
import re

import polars as pl

from sedet.errors import BundleError, UsageError
from sedet.io import schema as S
from sedet.io.discover import WORKBOOKS, Source
from sedet.model import BOOL, CODE, FLOAT, INT, Problem

Categories = dict[str, pl.Categories]  # a run's category set of each Categorical column, by column name
FAST_DTYPES = {INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean}
UTF8 = ("utf-8", "utf8", "utf-8-sig")
HEAD = 1 << 16  # bytes read to find a file's header


def normalise_header(name: str) -> str:
    s = name.strip().lstrip("\ufeff").lower()
    s = re.sub(r"[^0-9a-z]+", "_", s)
    return s.strip("_")


def encoding_name(encoding: str | None) -> str:
    return (encoding or "utf-8").lower().replace("_", "-")


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
    if suffix in WORKBOOKS:
        return _read_sheet(src), 2
    return _read_parquet(src, reads), 1


def file_columns(src: Source, raw: pl.DataFrame, encoding: str | None = None) -> list[str]:
    """Every column of the file, also those `read_raw` was told not to read."""
    suffix = src.path.suffix.lower()
    if suffix == ".csv":
        with src.path.open("rb") as fh:
            head = fh.read(HEAD)
        enc = encoding_name(encoding)
        if enc not in UTF8:
            head = head.decode(enc, errors="replace").encode("utf-8")  # read_raw checked the encoding
        return csv_header(head)
    if suffix == ".parquet":
        return pl.scan_parquet(src.path).collect_schema().names()
    return raw.columns


def csv_header(data: bytes) -> list[str]:
    first = data[:HEAD].decode("utf-8", errors="replace").lstrip("\ufeff")
    return next(csv.reader(io.StringIO(first)), [])


def first_line(msg: str) -> str:
    return msg.strip().splitlines()[0][:300] if msg.strip() else "unreadable content"


# ---------------------------------------------------------------------------------------------------
# CSV


def _read_csv(src: Source, encoding: str | None, kinds: dict[str, str], reads: frozenset[str] | None = None,
              categories: Categories | None = None) -> pl.DataFrame:
    """Read a CSV file: polars reads UTF-8 files straight from disk; other encodings are decoded first.
    The whole file is loaded into Python only to explain a failure (bad encoding, ragged row)."""
    source, head = _csv_source(src, encoding)
    header = csv_header(head)
    dup = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if dup is not None:
        raise BundleError([Problem(src.label, dup, 1, "each column once", f"a second column named {dup!r}",
                                   table=src.table)])
    # Columns not to read are skipped by the parser (in the file's order: polars reads them so).
    columns = [h for h in header if normalise_header(h) in reads] if reads is not None else None
    if any(kinds.get(normalise_header(h)) in FAST_DTYPES for h in header):
        try:
            dtypes = _fast_dtypes(src.table, header, kinds, categories)
            return pl.read_csv(_rewind(source), schema_overrides=dtypes, infer_schema=False, columns=columns)
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.InvalidOperationError):
            pass  # some value is not in polars' own spelling: read as text below and name it
    try:
        return pl.read_csv(_rewind(source), infer_schema=False, columns=columns)
    except pl.exceptions.ComputeError as e:
        raise BundleError([_csv_problem(src, source, e, len(header))]) from None


def _csv_source(src: Source, encoding: str | None) -> tuple[str | io.BytesIO, bytes]:
    """What polars reads (the path, or the file decoded into UTF-8) and the first bytes of it."""
    with src.path.open("rb") as fh:
        head = fh.read(HEAD)
    if not head.strip(b"\xef\xbb\xbf \t\r\n") and src.path.stat().st_size < HEAD:
        raise BundleError([Problem(src.label, None, None, "a header row and data rows", "an empty file",
                                   table=src.table)])
    enc = encoding_name(encoding)
    if enc in UTF8:
        return str(src.path), head
    data = src.path.read_bytes()
    try:
        decoded = io.BytesIO(data.decode(enc).encode("utf-8"))
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}",
                         hint="e.g. --encoding latin-1 or --encoding cp1252") from None
    except UnicodeDecodeError as e:
        raise BundleError([_encoding_problem(src, data, e, enc)]) from None
    return decoded, decoded.getvalue()[:HEAD]


def _fast_dtypes(table: str, header: list[str], kinds: dict[str, str], categories: Categories | None) -> dict:
    """The types polars' own parser reads each column as: whole numbers, numbers and flags typed
    (small whole numbers of student-level tables as Int16), codes and district ids of student-level
    tables as categories (categorical_columns), the rest as text."""
    cats, small = categorical_columns(table), small_int_columns(table)

    def dtype(h: str) -> pl.DataType:
        name = normalise_header(h)
        kind = kinds.get(name)
        if kind in FAST_DTYPES:
            return pl.Int16() if name in small else FAST_DTYPES[kind]()
        return category_dtype(name, categories) if name in cats else pl.String()

    return {h: dtype(h) for h in header}


def _rewind(source: str | io.BytesIO) -> str | io.BytesIO:
    if isinstance(source, io.BytesIO):
        source.seek(0)
    return source


def _csv_problem(src: Source, source: str | io.BytesIO, e: Exception, width: int) -> Problem:
    """What is wrong with a CSV file polars cannot read: its encoding, a row of the wrong width, or
    polars' own words."""
    data = source.getvalue() if isinstance(source, io.BytesIO) else src.path.read_bytes()
    if "utf-8" in str(e).lower() or "utf8" in str(e).lower():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as ue:
            return _encoding_problem(src, data, ue, "utf-8")
    ragged = _ragged_row(data, width)
    if ragged is not None:
        line, n = ragged
        return Problem(src.label, None, line, f"{width} fields, as in the header", f"{n} fields", table=src.table)
    return Problem(src.label, None, None, "a well-formed CSV file", first_line(str(e)), table=src.table)


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
        f"bytes {bad!r} that are not {enc.upper()}; if the file comes from Excel or an older system, try "
        "--encoding latin-1 or --encoding cp1252",
        table=src.table,
    )


# ---------------------------------------------------------------------------------------------------
# Workbooks and Parquet


def _read_sheet(src: Source) -> pl.DataFrame:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(src.path))
        sheet = reader.load_sheet(src.sheet if src.sheet is not None else 0, dtypes="string")
        df = sheet.to_polars()
    except Exception as e:  # noqa: BLE001
        raise BundleError([Problem(src.label, None, None, "a readable sheet",
                                   f"an error from the Excel reader: {first_line(str(e))}", sheet=src.sheet,
                                   table=src.table)]) from None
    if df.width == 0:
        raise BundleError([Problem(src.label, None, None, "a header row and data rows", "an empty sheet",
                                   sheet=src.sheet, table=src.table)])
    # Excel writes whole numbers as 5 or 5.0 and dates as '2012-01-03 00:00:00': normalised in typing.
    return df.select(pl.all().cast(pl.String))


def _read_parquet(src: Source, reads: frozenset[str] | None = None) -> pl.DataFrame:
    try:
        columns = None
        if reads is not None:
            names = pl.scan_parquet(src.path).collect_schema().names()
            columns = [c for c in names if normalise_header(c) in reads]
        df = pl.read_parquet(src.path, columns=columns)
    except Exception as e:  # noqa: BLE001
        raise BundleError([Problem(src.label, None, None, "a Parquet file",
                                   f"a file that cannot be read ({first_line(str(e))})", table=src.table)]) from None
    return df  # native types are kept where they fit the column (io.typed.typed_column)


# ---------------------------------------------------------------------------------------------------
# Narrow types of the student-level tables in memory


def categorical_columns(table: str) -> frozenset[str]:
    """The columns of a student-level table held in memory as polars Categorical: its codes and the
    district id. Measures aggregate them first and hold the (small) results as text
    (measures.common.plain). Tables streamed from disk, and the small tables, keep text."""
    t = S.TABLES[table]
    if not t.student_level:
        return frozenset()
    return frozenset(c.name for c in t.columns if c.kind == CODE or c.name == "district_id")


def small_int_columns(table: str) -> frozenset[str]:
    """The whole-number columns of a student-level table held in memory as Int16 (2 bytes a cell
    instead of 8): those whose declared range fits (school_year, age, grade); the checks have
    rejected any value outside it. As with categorical_columns, measures aggregate first and
    widen the results (measures.common.plain)."""
    t = S.TABLES[table]
    if not t.student_level:
        return frozenset()
    return frozenset(c.name for c in t.columns
                     if c.kind == INT and c.min is not None and c.max is not None and -(2**15) <= c.min
                     and c.max < 2**15)


def category_dtype(column: str, categories: Categories | None) -> pl.DataType:
    """The Categorical type of a column: its own category set in the run's `categories` (created on
    first use, shared by the tables that have the column), or polars' global one without them."""
    if categories is None:
        return pl.Categorical()
    if column not in categories:  # setdefault: the reading thread and this one may both get here first
        categories.setdefault(column, pl.Categories.random())
    return pl.Categorical(categories[column])
