"""Workbook writing helpers: write-only openpyxl, styles built once, safe text, same bytes every run."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

# A fixed moment stamped into every workbook, so two runs write the same bytes.
FIXED_TIME = datetime(2000, 1, 1, 0, 0, 0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

PERCENT = "0.0%"
DECIMAL = "0.0"
INTEGER = "#,##0"
TEXT = "@"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")

FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Col:
    """A column of a table sheet: the frame column `key`, shown under `header`. `fmt` is its number
    format; `fmt_by` names a frame column holding each row's number format instead; `painted`: the
    cell takes the row's fill (see `table_sheet`)."""

    key: str
    header: str
    width: float = 12
    fmt: str | None = None
    fmt_by: str | None = None
    painted: bool = False


def text_cell(ws, value: str, font: Font | None = None) -> WriteOnlyCell:
    """A cell that holds text and is never read as a formula, whatever it starts with."""
    c = WriteOnlyCell(ws, value=value)
    c.data_type = "s"  # openpyxl would otherwise store '=...' as a formula
    if font is not None:
        c.font = font
    return c


def _number_cell(ws, value, fmt: str) -> WriteOnlyCell:
    """A number cell with a number format; the style is built once per workbook and format
    (kept on the workbook: style indexes belong to it)."""
    cache = ws.parent.__dict__.setdefault("_sedet_number_styles", {})
    style = cache.get(fmt)
    if style is None:
        template = WriteOnlyCell(ws, value=value)
        template.number_format = fmt
        style = cache[fmt] = template._style
    c = WriteOnlyCell(ws, value=value)
    c._style = copy(style)
    return c


def cell(ws, value, fmt: str | None = None, font: Font | None = None):
    """What to append for one value: a plain value where openpyxl cannot misread it, else a cell.

    A string is passed through as is unless it starts like a formula (then it becomes a text
    cell); booleans are shown as yes/no.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if isinstance(value, str) and fmt is not None and fmt != TEXT:
        # A public release writes numbers as text beside suppression tokens: show numbers as numbers.
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, str):
        if font is not None or value.startswith(FORMULA_START):
            return text_cell(ws, value, font)
        return value
    if font is not None:
        c = WriteOnlyCell(ws, value=value)
        c.font = font
        if fmt:
            c.number_format = fmt
        return c
    if fmt:
        return _number_cell(ws, value, fmt)
    return value


# Fill colours by seriousness, from the best category to the most serious.
CATEGORY_COLOURS = ["C6EFCE", "FFEB9C", "FCD5B4", "F8CBAD", "FFC7CE"]


def category_fills(shorts: Sequence[str]) -> dict[str, PatternFill]:
    """One fill per category, built once: green for the best, red for the most serious."""
    n = len(shorts)
    out = {}
    for i, short in enumerate(shorts):
        j = 0 if n == 1 else round(i * (len(CATEGORY_COLOURS) - 1) / (n - 1))
        out[short] = PatternFill("solid", fgColor=CATEGORY_COLOURS[j])
    return out


def filled(ws, value, fill: PatternFill | None, fmt: str | None = None):
    """A cell with a background fill (a text cell for text, never a formula)."""
    if fill is None:
        return cell(ws, value, fmt)
    c = text_cell(ws, value) if isinstance(value, str) else WriteOnlyCell(ws, value=value)
    if fmt and not isinstance(value, str):
        c.number_format = fmt
    c.fill = fill
    return c


def landscape(ws) -> None:
    """Print setup: landscape, one page wide, so a sheet printed or turned into a PDF is readable."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


class CountedSheet:
    """A write-only sheet that knows how many rows it has (openpyxl does not track them), so that
    charts can refer to the rows just written."""

    def __init__(self, ws):
        self._ws = ws
        self.rows = 0

    def append(self, row) -> None:
        self._ws.append(row)
        self.rows += 1

    def __getattr__(self, name):
        return getattr(self._ws, name)


EXCEL_MAX_ROWS = 1_048_576  # rows a worksheet can hold


def table_sheet(wb: Workbook, title: str, cols: Sequence[Col], data: pl.DataFrame, intro: Sequence[str] = (),
                fill_by: str | None = None, palette: Mapping[str, PatternFill] | None = None) -> None:
    """A sheet with an optional intro, a styled header row (frozen, filtered) and one row per row of
    `data` (which has a column for each `Col.key`, and any `Col.fmt_by` and `fill_by` columns).

    `fill_by` names a column whose value picks each row's fill from `palette`, for the columns marked
    `painted`. The data rows are rendered as sheet XML by polars, column by column (`_rows_xml`),
    and put into the sheet when the workbook is saved: openpyxl spends about 10 microseconds on a
    cell, which made the statewide workbook the slowest part of a large state's run.

    More rows than a worksheet holds continue on sheets "<title> (2)", "<title> (3)", ..., each
    saying which rows it has."""
    room = EXCEL_MAX_ROWS - len(intro) - 1
    if data.height <= room:
        _table_part(wb, title[:31], cols, data, intro, fill_by, palette)
        return
    room -= 1  # a line saying which part this is
    n = -(-data.height // room)
    for k in range(n):
        part = data.slice(k * room, room)
        suffix = f" ({k + 1})" if k else ""
        where = (f"Part {k + 1} of {n}: rows {k * room + 1:,}-{k * room + part.height:,} of {data.height:,} "
                 f"(a worksheet holds at most {EXCEL_MAX_ROWS:,} rows; every row is in the flat files)")
        _table_part(wb, title[:31 - len(suffix)] + suffix, cols, part, [*intro, where], fill_by, palette)


def _table_part(wb: Workbook, title: str, cols: Sequence[Col], data: pl.DataFrame, intro: Sequence[str],
                fill_by: str | None, palette: Mapping[str, PatternFill] | None) -> None:
    ws, first_row = _sheet_head(wb, title, cols, data.height, intro)
    if data.height:
        palette = palette or {}
        xml = _rows_xml(cols, data, first_row, fill_by, lambda fmt, key: _style_id(ws, fmt, palette.get(key)))
        wb.__dict__.setdefault("_sedet_rows", []).append((ws, xml.encode("utf-8")))


def rendered_table_sheet(wb: Workbook, title: str, cols: Sequence[Col], n_rows: int, rows: bytes,
                         intro: Sequence[str] = ()) -> None:
    """`table_sheet` for data rows already rendered by `rows_xml_by` (numbered from `first_row(intro)`,
    with the styles of a `StyleRegistry` registered in this workbook)."""
    if n_rows > EXCEL_MAX_ROWS - len(intro) - 1:
        raise ValueError(f"{n_rows} rows do not fit on one sheet")
    ws, _ = _sheet_head(wb, title[:31], cols, n_rows, intro)
    if n_rows:
        wb.__dict__.setdefault("_sedet_rows", []).append((ws, rows))


def first_row(intro: Sequence[str]) -> int:
    """The sheet row of the first data row of a table sheet with this intro."""
    return len(intro) + 2


def _sheet_head(wb: Workbook, title: str, cols: Sequence[Col], n_rows: int, intro: Sequence[str]):
    """A new sheet with its intro and header row, widths, frozen panes and filter; returns (the sheet,
    the row number of its first data row)."""
    ws = wb.create_sheet(title=title)
    landscape(ws)
    for i, col in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    header_row = len(intro) + 1
    ws.freeze_panes = f"A{header_row + 1}"
    last = get_column_letter(len(cols))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(n_rows, 1)}"
    for line in intro:
        ws.append([text_cell(ws, line, BOLD)])
    header = []
    for col in cols:
        c = text_cell(ws, col.header, HEADER_FONT)
        c.fill = HEADER_FILL
        c.alignment = WRAP
        header.append(c)
    ws.append(header)
    return ws, first_row(intro)


def _style_id(ws, fmt: str, fill: PatternFill | None) -> int:
    """The workbook's index of a cell style with this number format and fill (registered on first use)."""
    c = WriteOnlyCell(ws)
    if fmt:
        c.number_format = fmt
    if fill is not None:
        c.fill = fill
    return c.style_id


# A cell style by (number format, fill key): its index in the workbook's styles ("" and "": none, 0).
StyleOf = Callable[[str, str], int]


class StyleRegistry:
    """Style indexes for rows rendered before their workbooks exist (`rows_xml_by`): they are handed
    out in order of first use; `register` then creates the same styles, in the same order, first
    thing in a new workbook, where they get the same indexes (it checks). Small and picklable."""

    def __init__(self, palette: Mapping[str, PatternFill] | None = None):
        self.palette = dict(palette or {})
        self.order: list[tuple[str, str]] = []

    def __call__(self, fmt: str, key: str) -> int:
        key = key if key in self.palette else ""
        if not fmt and not key:
            return 0
        if (fmt, key) not in self.order:
            self.order.append((fmt, key))
        return self.order.index((fmt, key)) + 1

    def prime(self, cols: Sequence[Col], data: pl.DataFrame, fill_by: str | None = None) -> None:
        """Hand out, in a fixed order, every style these columns need for these rows, so that rows
        rendered later, in any part, use indexes already given."""
        for col in cols:
            _style_attrs(col, data, fill_by, self)

    def register(self, ws) -> None:
        """Create the styles in the workbook of `ws`, before any other style is created there."""
        for i, (fmt, key) in enumerate(self.order, start=1):
            got = _style_id(ws, fmt, self.palette.get(key))
            if got != i:
                raise AssertionError(f"style {fmt!r}/{key!r} got index {got}, rendered rows use {i}")


def _style_attrs(col: Col, data: pl.DataFrame, fill_by: str | None, style_of: StyleOf) -> tuple[pl.Expr, pl.Expr]:
    """The ` s="N"` attribute of each row's cell in this column: (for a number, for a text). A number
    gets the column's (or the row's) number format and the row's fill; a text only the fill."""
    def attr(sid: int) -> str:
        return f' s="{sid}"' if sid else ""

    if not col.fmt_by and not (col.painted and fill_by):  # the same style on every row
        return (pl.lit(attr(style_of(col.fmt or "", "")), pl.String), pl.lit("", pl.String))
    fmt = pl.col(col.fmt_by).fill_null("") if col.fmt_by else pl.lit(col.fmt or "", pl.String)
    paint = pl.col(fill_by).cast(pl.String).fill_null("") if (col.painted and fill_by) else pl.lit("", pl.String)
    combos = data.select(fmt.alias("f"), paint.alias("k")).unique().sort("f", "k").rows()

    out = []
    for number in (True, False):
        mapping = {f"{f}\x1f{k}": attr(style_of(f if number else "", k)) for f, k in combos}
        if len(set(mapping.values())) == 1:
            out.append(pl.lit(next(iter(mapping.values())), pl.String))
        else:
            key = pl.concat_str([fmt, pl.lit("\x1f"), paint])
            # default: the mapping covers every row, but polars may evaluate a when/then branch on
            # rows the condition masks out (a null value), whose key it does not cover
            out.append(key.replace_strict(mapping, default="", return_dtype=pl.String))
    return out[0], out[1]


# Characters XML 1.0 does not allow (openpyxl refuses them too): dropped from text cells.
_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]"


def _escaped(text: pl.Expr) -> pl.Expr:
    return (text.str.replace_all(_ILLEGAL_XML, "").str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True))


def _cell_xml(j: int, col: Col, data: pl.DataFrame, row: pl.Expr, fill_by: str | None, style_of: StyleOf) -> pl.Expr:
    """Each row's `<c>` element for column j (null: no cell). Numbers are written as numbers,
    booleans as yes/no, anything else as inline text, which a spreadsheet never reads as a formula.
    In a column with a number format, a text that reads as a number (a public release writes
    numbers as text beside suppression tokens) is written as a number."""
    v = pl.col(col.key)
    dtype = data.schema[col.key]
    num_attr, text_attr = _style_attrs(col, data, fill_by, style_of)
    ref = pl.concat_str([pl.lit(f'<c r="{get_column_letter(j + 1)}'), row, pl.lit('"')])

    def number(x: pl.Expr) -> pl.Expr:
        return pl.concat_str([ref, num_attr, pl.lit(' t="n"><v>'), x.cast(pl.String), pl.lit("</v></c>")])

    def text(x: pl.Expr) -> pl.Expr:
        """An empty text is no cell (or an empty cell that keeps its fill)."""
        full = pl.concat_str([ref, text_attr, pl.lit(' t="inlineStr"><is><t xml:space="preserve">'), _escaped(x),
                              pl.lit("</t></is></c>")])
        empty = pl.when(text_attr != "").then(pl.concat_str([ref, text_attr, pl.lit("/>")]))
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
    cells = [_cell_xml(j, col, data, row, fill_by, style_of) for j, col in enumerate(cols)]
    return pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")], ignore_nulls=True)


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
    rendered = numbered.select(by, xml.alias("__xml")).group_by(by, maintain_order=True).agg(pl.col("__xml").str.join(""))
    return {k: x.encode("utf-8") for k, x in rendered.iter_rows()}


def new_workbook() -> Workbook:
    wb = Workbook(write_only=True)
    wb.properties.creator = "sedet"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def save_deterministic(wb: Workbook, path: Path) -> None:
    """Save with fixed entry times and core-property times, putting in the data rows `table_sheet`
    rendered. openpyxl writes the parts uncompressed into memory; they are compressed once, here."""
    if wb.write_only and not wb.worksheets:
        wb.create_sheet()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    rows = {ws.path.lstrip("/"): xml for ws, xml in wb.__dict__.get("_sedet_rows", [])}
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for entry in src.infolist():
            data = src.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>2000-01-01T00:00:00Z\g<3>", data)
            if entry.filename in rows:
                at = data.rindex(b"</sheetData>")
                data = data[:at] + rows[entry.filename] + data[at:]
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data)
    tmp.replace(path)
