"""The fast path for large tables: data rows rendered as worksheet XML by polars, and put into the
workbook openpyxl saved. openpyxl spends about 10 microseconds on a cell, which made the workbooks
the slowest part of a large state's run (docs/performance.md); polars renders a column at a time.

This is the one module that relies on how openpyxl lays out what it saves, beyond its public API:
- its workbook writer (`openpyxl.writer.excel.ExcelWriter`, what `Workbook.save` runs) writes the
  parts into a zip archive it is given;
- each worksheet part holds one `</sheetData>`, before which the rendered `<row>` elements go
  (their row numbers follow the rows appended through openpyxl);
- the styles of a fresh workbook are numbered 1, 2, ... in the order of first use (StyleRegistry
  checks it in every workbook it registers styles in).
The print settings (page setup, footer, print titles, row heights of the rows openpyxl writes) go
through openpyxl's public API, which writes them in write-only mode too; a rendered row with wrapped
text carries its own height (`ht`), from the lines its text needs at its column's width.
The openpyxl versions it was checked with are pinned in pyproject.toml, and
tests/report/test_sheet_xml.py fails if a release changes either.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from sedet.report.xlsx import ALIGNMENTS, LINE_PT, MAX_ROW_PT, TEXT, Col, Page, fit_columns, per_line, sheet_head

# A fixed moment stamped into every workbook, so two runs write the same bytes.
FIXED_TIME = datetime(2000, 1, 1, 0, 0, 0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class Book:
    """A write-only workbook, the data rows rendered for its sheets (by sheet title), and what the
    footer of its printed pages says (`page`)."""

    def __init__(self, page: Page | None = None) -> None:
        self.wb = Workbook(write_only=True)
        self.wb.properties.creator = "sedet"
        self.wb.properties.created = FIXED_TIME
        self.wb.properties.modified = FIXED_TIME
        self.rows: dict[str, bytes] = {}
        self.page = page or Page()

    def create_sheet(self, title: str) -> Any:
        return self.wb.create_sheet(title=title)


def new_workbook(page: Page | None = None) -> Book:
    return Book(page)


EXCEL_MAX_ROWS = 1_048_576  # rows a worksheet can hold


def table_sheet(book: Book, title: str, cols: Sequence[Col], data: pl.DataFrame, intro: Sequence[str] = (),
                fill_by: str | None = None, palette: Mapping[str, PatternFill] | None = None) -> None:
    """A sheet with an optional intro, a styled header row (frozen, filtered) and one row per row of
    `data` (which has a column for each `Col.key`, and any `Col.fmt_by` and `fill_by` columns).

    `fill_by` names a column whose value picks each row's fill from `palette`, for the columns marked
    `painted`. The data rows are rendered as sheet XML by polars, column by column (`_rows_xml`),
    and put into the sheet when the workbook is saved: openpyxl spends about 10 microseconds on a
    cell, which made the statewide workbook the slowest part of a large state's run. The columns are
    fitted to print one page wide at 8 pt or more (`fit_columns`).

    More rows than a worksheet holds continue on sheets "<title> (2)", "<title> (3)", ..., each
    saying which rows it has."""
    cols = fit_columns(cols)
    room = EXCEL_MAX_ROWS - len(intro) - 1
    if data.height <= room:
        _table_part(book, title[:31], cols, data, intro, fill_by, palette)
        return
    room -= 1  # a line saying which part this is
    n = -(-data.height // room)
    for k in range(n):
        part = data.slice(k * room, room)
        suffix = f" ({k + 1})" if k else ""
        where = (f"Part {k + 1} of {n}: rows {k * room + 1:,}-{k * room + part.height:,} of {data.height:,} "
                 f"(a worksheet holds at most {EXCEL_MAX_ROWS:,} rows; every row is in the flat files)")
        _table_part(book, title[:31 - len(suffix)] + suffix, cols, part, [*intro, where], fill_by, palette)


def _table_part(book: Book, title: str, cols: Sequence[Col], data: pl.DataFrame, intro: Sequence[str],
                fill_by: str | None, palette: Mapping[str, PatternFill] | None) -> None:
    ws = book.create_sheet(title)
    first = sheet_head(ws, cols, data.height, intro, book.page)
    if data.height:
        xml = _rows_xml(cols, data, first, fill_by, _BookStyles(ws, palette or {}))
        book.rows[ws.title] = xml.encode("utf-8")


def rendered_table_sheet(book: Book, title: str, cols: Sequence[Col], n_rows: int, rows: bytes,
                         intro: Sequence[str] = ()) -> None:
    """`table_sheet` for data rows already rendered by `rows_xml_by` (numbered from `first_row(intro)`,
    with the styles of a `StyleRegistry` registered in this workbook, and the columns as fitted for
    them: `fit_columns`)."""
    if n_rows > EXCEL_MAX_ROWS - len(intro) - 1:
        raise ValueError(f"{n_rows} rows do not fit on one sheet")
    ws = book.create_sheet(title[:31])
    sheet_head(ws, cols, n_rows, intro, book.page)
    if n_rows:
        book.rows[ws.title] = rows


def style_id(ws: Any, fmt: str, fill: PatternFill | None, align: str = "") -> int:
    """The workbook's index of a cell style with this number format, fill and alignment ("", "top" or
    "wrap": xlsx.ALIGNMENTS), registered on first use."""
    c = WriteOnlyCell(ws)
    if fmt:
        c.number_format = fmt
    if fill is not None:
        c.fill = fill
    if align:
        c.alignment = ALIGNMENTS[align]
    return c.style_id


class StyleOf(Protocol):
    """A cell style by (number format, fill key, alignment): its index in the workbook's styles (0:
    none); `fills`: whether a fill key has a fill."""

    def __call__(self, fmt: str, key: str, align: str) -> int: ...

    def fills(self, key: str) -> bool: ...


class _BookStyles:
    """The styles of one workbook's sheet, registered as they are asked for."""

    def __init__(self, ws: Any, palette: Mapping[str, PatternFill]):
        self.ws = ws
        self.palette = palette

    def __call__(self, fmt: str, key: str, align: str) -> int:
        return style_id(self.ws, fmt, self.palette.get(key), align)

    def fills(self, key: str) -> bool:
        return key in self.palette


class StyleRegistry:
    """Style indexes for rows rendered before their workbooks exist (`rows_xml_by`): they are handed
    out in order of first use; `register` then creates the same styles, in the same order, first
    thing in a new workbook, where they get the same indexes (it checks). Small and picklable."""

    def __init__(self, palette: Mapping[str, PatternFill] | None = None):
        self.palette = dict(palette or {})
        self.order: list[tuple[str, str, str]] = []

    def __call__(self, fmt: str, key: str, align: str) -> int:
        key = key if key in self.palette else ""
        if not fmt and not key and not align:
            return 0
        if (fmt, key, align) not in self.order:
            self.order.append((fmt, key, align))
        return self.order.index((fmt, key, align)) + 1

    def fills(self, key: str) -> bool:
        return key in self.palette

    def prime(self, cols: Sequence[Col], data: pl.DataFrame, fill_by: str | None = None) -> None:
        """Hand out, in a fixed order, every style these columns need for these rows, so that rows
        rendered later, in any part, use indexes already given."""
        for col in cols:
            _style_attrs(col, data, fill_by, self, _align(col, cols))

    def register(self, ws) -> None:
        """Create the styles in the workbook of `ws`, before any other style is created there."""
        for i, (fmt, key, align) in enumerate(self.order, start=1):
            got = style_id(ws, fmt, self.palette.get(key), align)
            if got != i:
                raise AssertionError(f"style {fmt!r}/{key!r}/{align!r} got index {got}, rendered rows use {i}")


def _align(col: Col, cols: Sequence[Col]) -> str:
    """A cell's alignment: wrapped in a wrapped column; at the top of its row in a table with wrapped
    columns (whose rows may be several lines tall); else none."""
    if col.wrap:
        return "wrap"
    return "top" if any(c.wrap for c in cols) else ""


def _style_attrs(col: Col, data: pl.DataFrame, fill_by: str | None, style_of: StyleOf,
                 align: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """The ` s="N"` attribute of each row's cell in this column: (for a number, for a text, for an
    empty text). A number gets the column's (or the row's) number format, the row's fill and the
    column's alignment; a text the fill and the alignment; an empty text only a fill (with the
    alignment), or no cell at all."""
    def attr(sid: int) -> str:
        return f' s="{sid}"' if sid else ""

    if not col.fmt_by and not (col.painted and fill_by):  # the same style on every row
        return (pl.lit(attr(style_of(col.fmt or "", "", align)), pl.String),
                pl.lit(attr(style_of("", "", align)), pl.String), pl.lit("", pl.String))
    fmt = pl.col(col.fmt_by).fill_null("") if col.fmt_by else pl.lit(col.fmt or "", pl.String)
    paint = pl.col(fill_by).cast(pl.String).fill_null("") if (col.painted and fill_by) else pl.lit("", pl.String)
    combos = data.select(fmt.alias("f"), paint.alias("k")).unique().sort("f", "k").rows()

    out = []
    for kind in ("number", "text", "empty"):
        mapping = {}
        for f, k in combos:
            if kind == "empty" and not style_of.fills(k):
                mapping[f"{f}\x1f{k}"] = ""
            else:
                mapping[f"{f}\x1f{k}"] = attr(style_of(f if kind == "number" else "", k, align))
        if len(set(mapping.values())) == 1:
            out.append(pl.lit(next(iter(mapping.values())), pl.String))
        else:
            key = pl.concat_str([fmt, pl.lit("\x1f"), paint])
            # default: the mapping covers every row, but polars may evaluate a when/then branch on
            # rows the condition masks out (a null value), whose key it does not cover
            out.append(key.replace_strict(mapping, default="", return_dtype=pl.String))
    return out[0], out[1], out[2]


# Characters XML 1.0 does not allow (openpyxl refuses them too): dropped from text cells.
_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]"


def _escaped(text: pl.Expr) -> pl.Expr:
    return (text.str.replace_all(_ILLEGAL_XML, "").str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True))


def _cell_xml(j: int, cols: Sequence[Col], data: pl.DataFrame, row: pl.Expr, fill_by: str | None,
              style_of: StyleOf) -> pl.Expr:
    """Each row's `<c>` element for column j (null: no cell). Numbers are written as numbers,
    booleans as yes/no, anything else as inline text, which a spreadsheet never reads as a formula.
    In a column with a number format, a text that reads as a number (a public release writes
    numbers as text beside suppression tokens) is written as a number."""
    col = cols[j]
    v = pl.col(col.key)
    dtype = data.schema[col.key]
    num_attr, text_attr, empty_attr = _style_attrs(col, data, fill_by, style_of, _align(col, cols))
    ref = pl.concat_str([pl.lit(f'<c r="{get_column_letter(j + 1)}'), row, pl.lit('"')])

    def number(x: pl.Expr) -> pl.Expr:
        return pl.concat_str([ref, num_attr, pl.lit(' t="n"><v>'), x.cast(pl.String), pl.lit("</v></c>")])

    def text(x: pl.Expr) -> pl.Expr:
        """An empty text is no cell (or an empty cell that keeps its fill)."""
        full = pl.concat_str([ref, text_attr, pl.lit(' t="inlineStr"><is><t xml:space="preserve">'), _escaped(x),
                              pl.lit("</t></is></c>")])
        empty = pl.when(empty_attr != "").then(pl.concat_str([ref, empty_attr, pl.lit("/>")]))
        return pl.when(x == "").then(empty).otherwise(full)

    if dtype.is_integer():
        return number(v)
    if dtype.is_float():
        return pl.when(v.is_finite()).then(number(v))
    if dtype == pl.Boolean:
        return text(pl.when(v).then(pl.lit("yes")).when(~v).then(pl.lit("no")))
    if dtype == pl.Null:
        return pl.lit(None, pl.String)
    s = v.cast(pl.String)
    if col.fmt not in (None, TEXT) or col.fmt_by:
        f = s.cast(pl.Float64, strict=False)
        return pl.when(f.is_finite()).then(number(f)).otherwise(text(s))
    return text(s)


def _row_xml(cols: Sequence[Col], data: pl.DataFrame, row: pl.Expr, fill_by: str | None, style_of: StyleOf) -> pl.Expr:
    """Each data row as a `<row>` element, as openpyxl writes it; `row`: its sheet row number, as text."""
    cells = [_cell_xml(j, cols, data, row, fill_by, style_of) for j in range(len(cols))]
    return pl.concat_str([pl.lit('<row r="'), row, pl.lit('"'), _height_attr(cols, data), pl.lit(">"), *cells,
                          pl.lit("</row>")], ignore_nulls=True)


def _height_attr(cols: Sequence[Col], data: pl.DataFrame) -> pl.Expr:
    """Each row's height, where its wrapped text needs more than one line: ` ht="45" customHeight="1"`.
    The lines a text needs are estimated from its length: characters / (a line's characters less 2,
    for the room word wrapping leaves at the end of a line), rounded up; rather more than it needs
    than less."""
    lines = []
    for col in cols:
        if not col.wrap or data.schema[col.key] in (pl.Null, pl.Boolean) or data.schema[col.key].is_numeric():
            continue
        room = max(1, per_line(col.width) - 2)
        lines.append((pl.col(col.key).cast(pl.String).str.len_chars() / room).ceil().fill_null(1))
    if not lines:
        return pl.lit("", pl.String)
    n = pl.max_horizontal(lines)
    height = (n * LINE_PT).clip(upper_bound=MAX_ROW_PT).cast(pl.Int64).cast(pl.String)
    return pl.when(n > 1).then(pl.concat_str([pl.lit(' ht="'), height, pl.lit('" customHeight="1"')])) \
        .otherwise(pl.lit("", pl.String))


def _rows_xml(cols: Sequence[Col], data: pl.DataFrame, first: int, fill_by: str | None, style_of: StyleOf) -> str:
    """The `<row>` elements of the data rows, numbered from sheet row `first`."""
    row = pl.int_range(first, first + pl.len()).cast(pl.String)
    return data.select(_row_xml(cols, data, row, fill_by, style_of).str.join("")).item()


def rows_xml_by(cols: Sequence[Col], data: pl.DataFrame, by: str, first: int, style_of: StyleOf,
                fill_by: str | None = None) -> dict:
    """For each value of column `by`, the `<row>` elements of its rows (in frame order), numbered from
    sheet row `first`, as UTF-8: the tables of many workbooks rendered in one query."""
    numbered = data.with_columns((pl.int_range(pl.len()).over(by) + first).cast(pl.String).alias("__sheet_row"))
    xml = _row_xml(cols, numbered, pl.col("__sheet_row"), fill_by, style_of)
    rendered = (numbered.select(by, xml.alias("__xml")).group_by(by, maintain_order=True)
                .agg(pl.col("__xml").str.join("")))
    return {k: x.encode("utf-8") for k, x in rendered.iter_rows()}


_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def save_deterministic(book: Book, path: Path) -> None:
    """Save with fixed entry and core-property times, putting in the data rows rendered for each sheet.
    openpyxl's writer (what `Workbook.save` runs) writes its parts uncompressed into memory; they are
    compressed once, here (compressing them twice cost about 0.4 s of 1,000 district workbooks)."""
    if not book.wb.worksheets:
        book.create_sheet("Sheet")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        ExcelWriter(book.wb, archive).save()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        parts = {part: book.rows[title] for title, part in sheet_parts(src).items() if title in book.rows}
        for entry in src.infolist():
            data = src.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>2000-01-01T00:00:00Z\g<3>", data)
            if entry.filename in parts:
                data = splice_rows(data, parts[entry.filename])
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data)


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> the zip entry of its worksheet, from the workbook part and its relationships
    (the standard's own map, not openpyxl's file names)."""
    book = ET.fromstring(archive.read("xl/workbook.xml"))
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        ref = target[sheet.get(_REL)]
        part = ref.lstrip("/") if ref.startswith("/") else str(PurePosixPath("xl") / ref)
        out[sheet.get("name", "")] = part
    return out


def splice_rows(sheet: bytes, rows: bytes) -> bytes:
    """A worksheet part with `rows` (rendered `<row>` elements) after the rows openpyxl wrote."""
    at = sheet.rindex(b"</sheetData>")
    return sheet[:at] + rows + sheet[at:]
