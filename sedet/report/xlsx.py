"""Workbook cells and sheets through openpyxl's public API: write-only workbooks, styles built once,
text that is never read as a formula. The data rows of large tables are written by
report/sheet_xml.py, the one place sedet renders worksheet XML itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from sedet.model import FORMULA_START

PERCENT = "0.0%"
DECIMAL = "0.0"
INTEGER = "#,##0"
TEXT = "@"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


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


def text_cell(ws: Any, value: str, font: Font | None = None) -> Cell:
    """A cell that holds text and is never read as a formula, whatever it starts with."""
    c = WriteOnlyCell(ws, value=value)
    c.data_type = "s"  # openpyxl would otherwise store '=...' as a formula
    if font is not None:
        c.font = font
    return c


def _number_cell(ws: Any, value: Any, fmt: str) -> Cell:
    """A number cell with a number format."""
    c = WriteOnlyCell(ws, value=value)
    c.number_format = fmt
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

    def __init__(self, ws: Any):
        self.sheet = ws
        self.rows = 0

    def append(self, row: list) -> None:
        self.sheet.append(row)
        self.rows += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sheet, name)


def first_row(intro: Sequence[str]) -> int:
    """The sheet row of the first data row of a table sheet with this intro."""
    return len(intro) + 2


def sheet_head(ws: Any, cols: Sequence[Col], n_rows: int, intro: Sequence[str]) -> int:
    """A table sheet's intro and header row, widths, frozen panes and filter (for `n_rows` data rows);
    returns the row number of its first data row."""
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
    return first_row(intro)
