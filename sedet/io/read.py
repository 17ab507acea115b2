"""Reading a table's file as it is: CSV, a sheet of a workbook, or Parquet, into a frame of text (or
of the types polars' own parser can read), with the offset that turns a row index into the row a
person sees. Typing and checking come after (io.table, io.typed).

In memory, the student-level tables hold their codes and district ids as polars Categorical and
their small whole numbers as Int16 (`categorical_columns`, `small_int_columns`): a string is 16
bytes a cell, a category 4; the two largest tables of a large state (20M rows) took 0.8 GB less,
and reading them 0.3-0.5 s less (docs/performance.md). Once checked, a code of a closed list is
held as an Enum of the list, a byte a cell (`code_enum`, io.bundle).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import polars as pl

from sedet.errors import BundleError, UsageError
from sedet.io import schema as S
from sedet.io import xlsx
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
    try:
        return next(csv.reader(io.StringIO(first, newline="")), [])
    except csv.Error:  # a header polars will refuse too, with a located problem
        return first.splitlines()[0].split(",") if first.strip() else []


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
    if enc in UTF8 and head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise BundleError([Problem(src.label, None, None, "text in UTF-8",
                                   "a UTF-16 file (it begins with a UTF-16 byte-order mark): save it as 'CSV UTF-8', "
                                   "or run with --encoding utf-16", table=src.table)])
    cr_only = b"\r" in head and b"\n" not in head
    if enc in UTF8 and not cr_only:
        return str(src.path), head
    data = src.path.read_bytes()
    try:
        text = data.decode(enc) if enc not in UTF8 else data.decode("utf-8-sig")
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}",
                         hint="e.g. --encoding latin-1 or --encoding cp1252") from None
    except UnicodeDecodeError as e:
        raise BundleError([_encoding_problem(src, data, e, enc)]) from None
    if cr_only:  # line ends of classic Mac OS (CR alone): read as line breaks, one line per record
        text = text.replace("\r", "\n")
    decoded = io.BytesIO(text.encode("utf-8"))
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
    """What is wrong with a CSV file polars cannot read: its encoding, a quote never closed, a row
    of the wrong width, or polars' own words."""
    data = source.getvalue() if isinstance(source, io.BytesIO) else src.path.read_bytes()
    if "utf-8" in str(e).lower() or "utf8" in str(e).lower():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as ue:
            return _encoding_problem(src, data, ue, "utf-8")
    unclosed = _unclosed_quote(data)
    if unclosed is not None:
        return Problem(src.label, None, unclosed, 'a quoted field that ends with a quote (")',
                       "a quote opened on this line and never closed (the rest of the file would be one field)",
                       table=src.table)
    ragged = _ragged_row(data, width)
    if ragged is not None:
        line, n = ragged
        return Problem(src.label, None, line, f"{width} fields, as in the header", f"{n} fields", table=src.table)
    return Problem(src.label, None, None, "a well-formed CSV file", first_line(str(e)), table=src.table)


def _unclosed_quote(data: bytes) -> int | None:
    """The line on which a record begins whose quoted field runs to the end of the file, if any."""
    if b'"' not in data:
        return None
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace").lstrip("\ufeff"), newline=""), strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as e:
        if "end of data" in str(e) or "unexpected end" in str(e) or "EOF" in str(e):
            return start
    return None


def physical_lines(src: Source, encoding: str | None, rows: set[int]) -> dict[int, int]:
    """For a CSV file whose quoted fields span lines: row as counted (header = 1, one per record) ->
    the line of the file the record begins on, for the rows asked (error path only)."""
    if src.path.suffix.lower() != ".csv" or not rows:
        return {}
    data = src.path.read_bytes()
    if b'"' not in data:
        return {}
    enc = encoding_name(encoding)
    text = data.decode("utf-8-sig" if enc in UTF8 else enc, errors="replace")
    if "\n" not in text:
        text = text.replace("\r", "\n")
    out, last = {}, max(rows)
    for record, (start, _) in enumerate(_records(text), start=1):
        if record in rows and start != record:
            out[record] = start
        if record >= last:
            break
    return out


def _records(text: str) -> Iterator[tuple[int, list[str] | None]]:
    """(the line a record begins on, its fields), header included; (line, None) where the text stops
    being CSV the csv module can read (then nothing more)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield start, None
            return
        yield start, row
        start = reader.line_num + 1


def short_rows(src: Source, encoding: str | None, width: int, limit: int) -> tuple[list[Problem], int]:
    """Rows of a CSV file with fewer fields than the header (polars reads them as if the missing
    fields were empty): up to `limit` problems, by the line the record begins on, and how many."""
    enc = encoding_name(encoding)
    text = src.path.read_bytes().decode("utf-8-sig" if enc in UTF8 else enc, errors="replace")
    if "\n" not in text:
        text = text.replace("\r", "\n")
    problems: list[Problem] = []
    total = 0
    records = _records(text)
    next(records, None)
    for start, row in records:
        if row is not None and (not row or len(row) >= width):
            continue
        total += 1
        if len(problems) < limit:
            found = "a record the csv reader cannot read" if row is None else \
                f"{len(row)} field{'s' if len(row) > 1 else ''} (a row cut short?)"
            problems.append(Problem(src.label, None, start, f"{width} fields, as in the header", found,
                                    table=src.table))
    return problems, total


def ascii_compatible(encoding: str | None) -> bool:
    """Whether commas and quotes are the bytes 44 and 34 in this encoding (not in UTF-16 or UTF-32)."""
    try:
        return ',"\n'.encode(encoding_name(encoding)) == b',"\n'
    except LookupError:
        return False


def _ragged_row(data: bytes, width: int) -> tuple[int, int] | None:
    """The first line whose number of fields differs from the header's (error path only)."""
    records = _records(data.decode("utf-8", errors="replace").lstrip("\ufeff"))
    next(records, None)
    for start, row in records:
        if row is None:
            return None
        if row and len(row) != width:
            return start, len(row)
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
    """A sheet, once its XML shows it can be read: its cells span a rectangle the reader can
    allocate (io.xlsx.MAX_CELLS), and no cell holds an Excel error or an uncalculated formula."""
    import fastexcel

    def problem(expected: str, found: str, row: int | None = None, column: str | None = None) -> Problem:
        return Problem(src.label, column, row, expected, found, sheet=src.sheet, table=src.table)

    try:
        sheet = _sheet_info(src)
        cells = xlsx.scan(str(src.path), sheet)
    except xlsx.WorkbookError as e:
        raise BundleError([problem("an Excel workbook (.xlsx) with a visible sheet", str(e))]) from None
    if cells.cells > xlsx.MAX_CELLS:
        raise BundleError([problem(
            f"cells within {xlsx.MAX_CELLS:,} (rows x columns) of a table",
            f"a cell at {cells.farthest}: {cells.rows:,} rows x {cells.columns:,} columns to read; delete the "
            "stray cells beyond the table, or save the table as CSV")])
    try:
        df = fastexcel.read_excel(str(src.path)).load_sheet(sheet.name, dtypes="string").to_polars()
    except Exception as e:  # noqa: BLE001
        raise BundleError([problem("a readable sheet", f"an error from the Excel reader: {first_line(str(e))}")]) \
            from None
    if df.width == 0:
        raise BundleError([problem("a header row and data rows", "an empty sheet")])
    header = {cells.first_column + i: name for i, name in enumerate(df.columns)}
    bad = [problem("a value", f"the Excel error {text}", row, header.get(col, xlsx.column_letters(col)))
           for row, col, text in cells.errors]
    bad += [problem("a value (a formula's result)", "a formula that was never calculated (no cached value); "
                    "open the file in Excel, let it calculate, and save it", row,
                    header.get(col, xlsx.column_letters(col))) for row, col in cells.uncached]
    if bad:
        raise BundleError(sorted(bad, key=lambda p: (p.row or 0, p.column or "")))
    # Excel writes whole numbers as 5 or 5.0 and dates as '2012-01-03 00:00:00': normalised in typing.
    return df.select(pl.all().cast(pl.String))


def _sheet_info(src: Source) -> xlsx.Sheet:
    """The sheet a source names (a table's own workbook: discover chose it)."""
    found = xlsx.sheets(str(src.path))
    match = next((sh for sh in found if sh.name == src.sheet), None)
    if match is None:
        shown = ", ".join(sh.name for sh in found if sh.visible) or "none"
        raise xlsx.WorkbookError(f"no visible sheet to read (visible sheets: {shown}; hidden sheets are not read)")
    return match


def _read_parquet(src: Source, reads: frozenset[str] | None = None) -> pl.DataFrame:
    try:
        columns = None
        if reads is not None:
            names = pl.scan_parquet(src.path).collect_schema().names()
            columns = [c for c in names if normalise_header(c) in reads]
        schema = pl.scan_parquet(src.path).collect_schema()
    except Exception as e:  # noqa: BLE001
        raise BundleError([Problem(src.label, None, None, "a Parquet file",
                                   f"a file that cannot be read ({first_line(str(e))})", table=src.table)]) from None
    nested = [(name, dtype) for name, dtype in schema.items() if (columns is None or name in columns)
              and (dtype.is_nested() or dtype in (pl.Binary, pl.Object))]
    if nested:
        raise BundleError([Problem(src.label, name, None, "a column of single values (text, numbers, dates)",
                                   f"a column of type {dtype}", table=src.table) for name, dtype in nested])
    try:
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


def code_enum(codes: tuple[str, ...]) -> pl.Enum:
    """The in-memory type of a code column whose values are checked against `codes`: an Enum of them
    in text order, so that sorting it sorts as the text would (polars holds an Enum of up to 255
    values in a byte a cell)."""
    return pl.Enum(sorted(set(codes)))


def category_dtype(column: str, categories: Categories | None) -> pl.DataType:
    """The Categorical type of a column: its own category set in the run's `categories` (created on
    first use, shared by the tables that have the column), or polars' global one without them."""
    if categories is None:
        return pl.Categorical()
    if column not in categories:  # setdefault: the reading thread and this one may both get here first
        categories.setdefault(column, pl.Categories.random())
    return pl.Categorical(categories[column])
