"""Workbook writing helpers: write-only openpyxl, styles built once, safe text, same bytes every run."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

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
    key: str
    header: str
    width: float = 12
    fmt: str | None = None


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


def table_sheet(wb: Workbook, title: str, cols: Sequence[Col], rows: Iterable[Sequence], n_rows: int,
                intro: Sequence[str] = (), fills: Sequence[dict[int, PatternFill]] | None = None,
                formats: Sequence[dict[int, str]] | None = None) -> None:
    """A sheet with an optional intro, a styled header row (frozen, filtered) and data rows.

    `fills`, when given, has for each row a mapping of column index -> fill; `formats` a mapping of
    column index -> number format, for a column whose rows hold different kinds of numbers."""
    ws = wb.create_sheet(title=title[:31])
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
    fmts = [c.fmt for c in cols]
    for i, row in enumerate(rows):
        paint = fills[i] if fills is not None else None
        row_fmts = fmts
        if formats is not None and formats[i]:
            row_fmts = [formats[i].get(j, f) for j, f in enumerate(fmts)]
        if paint:
            ws.append([filled(ws, v, paint.get(j), f) for j, (v, f) in enumerate(zip(row, row_fmts, strict=True))])
        else:
            ws.append([cell(ws, v, f) for v, f in zip(row, row_fmts, strict=True)])


def new_workbook() -> Workbook:
    wb = Workbook(write_only=True)
    wb.properties.creator = "sedet"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def save_deterministic(wb: Workbook, path: Path) -> None:
    """Save, then rewrite the zip with fixed entry times and core-property times."""
    wb.save(path)
    normalise_zip(path)


def normalise_zip(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>2000-01-01T00:00:00Z\g<3>", data)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data)
    tmp.replace(path)
