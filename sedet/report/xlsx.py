"""Workbook cells and sheets through openpyxl's public API: write-only workbooks, styles built once,
text that is never read as a formula, and sheets that print (US Letter, one page wide, header rows
repeated, a footer with the run and page x of y, nothing under 8 pt). The data rows of large tables
are written by report/sheet_xml.py, the one place sedet renders worksheet XML itself.

How a sheet prints is computed, not guessed: a column `w` units wide is about 7.5w + 5 pixels at 96
dpi (a unit is one digit of the default font, Calibri 11: 7 px in Excel, 7.43 px in LibreOffice with
Carlito, Calibri's metric twin; the model takes a little more than either); fit to width prints the
sheet at printable width / columns' width (at most 1), so its 11 pt text prints at that times 11. A
sheet whose columns would print under MIN_PT has its wrapped (free-text) columns narrowed
(`fit_columns`), and every row with wrapped text is made tall enough for the lines it needs
(`text_lines`). Checked against LibreOffice 7.4's PDFs (with Carlito): text within 4% of the model.
Where neither Calibri nor Carlito is installed, LibreOffice sets the sheets in DejaVu Sans, whose
digits are a third wider: everything then prints a quarter smaller."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break

from sedet.model import FORMULA_START, school_year_text

PERCENT = "0.0%"
DECIMAL = "0.0"
INTEGER = "#,##0"
TEXT = "@"

# Every font names the default one (Calibri 11): a font without a name is set in whatever a reader
# falls back to (LibreOffice: DejaVu Serif Bold), wider than the widths were made for.
FONT_NAME = "Calibri"
HEADER_FONT = Font(name=FONT_NAME, size=11, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
TITLE_FONT = Font(name=FONT_NAME, size=14, bold=True)
BOLD = Font(name=FONT_NAME, size=11, bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
ALIGNMENTS = {"top": TOP, "wrap": WRAP}  # by the names sheet_xml's styles use ("": none)


@dataclass(frozen=True)
class Col:
    """A column of a table sheet: the frame column `key`, shown under `header`. `fmt` is its number
    format; `fmt_by` names a frame column holding each row's number format instead; `painted`: the
    cell takes the row's fill (see `table_sheet`); `wrap`: free text, wrapped at the column's width
    (which `fit_columns` may narrow), its rows as tall as their text needs."""

    key: str
    header: str
    width: float = 12
    fmt: str | None = None
    fmt_by: str | None = None
    painted: bool = False
    wrap: bool = False


# ---------------------------------------------------------------------------------------------------
# Printing

PAPER_LETTER = "1"  # the paperSize code of US Letter
LETTER_IN = (8.5, 11.0)  # width and height, portrait
SIDE_MARGIN_IN = 0.5
TOP_MARGIN_IN = BOTTOM_MARGIN_IN = 0.75
HEADER_MARGIN_IN = FOOTER_MARGIN_IN = 0.3
DPI = 96
PX_PER_UNIT = 7.5  # a column width unit: one digit of Calibri 11 at 96 dpi (7 px in Excel, 7.43 in LibreOffice)
NARROW_PX_PER_UNIT = 7.0  # the narrowest a unit prints (Excel's): a sheet then holds the fewest rows a page
PAD_PX = 5  # what a column adds to its width in units
BASE_PT = 11  # the default font's size: every cell prints at this times the sheet's scale
MIN_PT = 8.0  # nothing prints smaller
FIT_PT = 8.1  # the size a fitted sheet aims at, leaving room for a renderer's rounding of its scale (to 1%)
LINE_PT = 15.0  # the height of a line of 11 pt text (a row's default height)
TITLE_PT = 20.0  # the height of a row of TITLE_FONT
MAX_ROW_PT = 409.0  # the tallest row a worksheet allows
CHARS_PER_UNIT = 1.0  # characters of text a width unit holds, with room for capitals
BOLD_CHARS_PER_UNIT = 0.85  # the same in bold (a header): "Numerator" needs 11 units, not 9
MIN_WRAP = 10.0  # the narrowest a wrapped column is made
PT_PER_CM = 72 / 2.54


def printable_px(landscape: bool) -> float:
    """The width a page prints on, in pixels at 96 dpi, between the side margins."""
    return (LETTER_IN[1 if landscape else 0] - 2 * SIDE_MARGIN_IN) * DPI


def printable_pt(landscape: bool) -> float:
    """The height a page prints on, in points, between the top and bottom margins."""
    return (LETTER_IN[0 if landscape else 1] - TOP_MARGIN_IN - BOTTOM_MARGIN_IN) * 72


def columns_px(widths: Sequence[float], px_per_unit: float = PX_PER_UNIT) -> float:
    """The width of these columns in pixels at 96 dpi."""
    return sum(w * px_per_unit + PAD_PX for w in widths)


def is_landscape(width_px: float) -> bool:
    """Landscape where a sheet is wider than a portrait page."""
    return width_px > printable_px(False)


def print_scale(width_px: float) -> float:
    """The scale fit-to-width prints a sheet this wide at (1 at most), on the page it is given."""
    return min(1.0, printable_px(is_landscape(width_px)) / width_px) if width_px else 1.0


def fit_columns(cols: Sequence[Col]) -> list[Col]:
    """The columns, each at least as wide as the longest word of its header needs (a word is never
    broken), then the widest wrapped ones narrowed (one unit at a time, not below MIN_WRAP nor that
    word) until the sheet prints at FIT_PT or more on a landscape page."""
    budget = printable_px(True) * BASE_PT / FIT_PT
    least = [math.ceil(max(len(w) for w in c.header.split()) / BOLD_CHARS_PER_UNIT) if c.header.strip() else 1
             for c in cols]
    widths = [max(c.width, k) for c, k in zip(cols, least, strict=True)]
    floor = [max(MIN_WRAP, k) for k in least]
    wrapped = [i for i, c in enumerate(cols) if c.wrap]
    while columns_px(widths) > budget:
        i = max((k for k in wrapped if widths[k] > floor[k]), key=lambda k: widths[k], default=None)
        if i is None:
            break  # nothing left to narrow: the sheet prints smaller
        widths[i] = max(floor[i], widths[i] - 1)
    return [c if c.width == w else replace(c, width=w) for c, w in zip(cols, widths, strict=True)]


def per_line(width: float, bold: bool = False) -> int:
    """Characters a line of a wrapped cell this wide holds."""
    return max(1, int(width * (BOLD_CHARS_PER_UNIT if bold else CHARS_PER_UNIT)))


def text_lines(text: str, width: float, bold: bool = False) -> int:
    """The lines a text needs, wrapped word by word in a column `width` units wide (a word longer
    than a line is broken, as spreadsheets do)."""
    room = per_line(width, bold)
    lines = 0
    for paragraph in str(text).split("\n"):
        n, used = 1, 0
        for word in paragraph.split():
            w = len(word)
            if used and used + 1 + w <= room:
                used += 1 + w
                continue
            if used:
                n += 1
            n += max(0, math.ceil(w / room) - 1)
            used = w - (math.ceil(w / room) - 1) * room
        lines += n
    return lines


def row_height(lines: int) -> float:
    return min(MAX_ROW_PT, LINE_PT * max(1, lines))


@dataclass(frozen=True)
class Page:
    """What the footer of every printed page says: on the left `left` (default: the sheet's name),
    in the middle `center` (the profile, run type and school year: `run_footer`), on the right
    "Page x of y"."""

    center: str = ""
    left: str = "&A"



def run_footer(profile_id: str, run_type: str, year: int | None) -> str:
    """The footer's middle of a run's workbooks: "nj-ffy2022, official run, school year 2022-23"."""
    said = f"{profile_id}, {run_type} run"
    return f"{said}, school year {school_year_text(year)}" if year is not None else said


def footer_text(text: str) -> str:
    """Text for a header or footer, where "&" starts a code."""
    return text.replace("&", "&&")


def print_setup(ws: Any, page: Page, widths: Sequence[float], title_rows: tuple[int, int] | None = None) -> None:
    """US Letter, landscape where wider than a portrait page, one page wide and as many long as it
    takes, the rows `title_rows` (first, last) repeated on every page, and the footer of `page`."""
    px = columns_px(widths)
    ws.page_setup.paperSize = PAPER_LETTER
    ws.page_setup.orientation = "landscape" if is_landscape(px) else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=SIDE_MARGIN_IN, right=SIDE_MARGIN_IN, top=TOP_MARGIN_IN,
                                  bottom=BOTTOM_MARGIN_IN, header=HEADER_MARGIN_IN, footer=FOOTER_MARGIN_IN)
    if title_rows is not None:
        ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    # in the default font and size: Excel keeps it so (scaleWithDoc), LibreOffice scales it with the
    # sheet, to no less than MIN_PT
    footer = ws.oddFooter
    footer.left.text = page.left if page.left == "&A" else footer_text(page.left)
    footer.center.text = footer_text(page.center) if page.center else None
    footer.right.text = "Page &P of &N"
    ws.HeaderFooter.scaleWithDoc = False


class Pager:
    """Where the rows of a sheet fall on its printed pages, as they are appended, so that a block (a
    table with its chart) can be kept on one page by a manual break before it.

    Renderers differ in how wide a column unit prints (NARROW_PX_PER_UNIT to PX_PER_UNIT), so in how
    many rows a page holds, and so where their own breaks fall. A block is therefore kept clear of
    them all: unless the rows since the sheet's start or its last manual break, with the block, fit
    on one page at the fewest rows a page can hold, a manual break goes before the block."""

    def __init__(self, ws: Any, widths: Sequence[float], title_pt: float = 0.0):
        self.sheet = ws
        landscape = is_landscape(columns_px(widths))  # as print_setup sets it
        scale = min(1.0, printable_px(landscape) / columns_px(widths, NARROW_PX_PER_UNIT))
        self.room = printable_pt(landscape) / scale  # sheet points a page holds, at the fewest
        self.title_pt = title_pt  # the repeated title rows, at the top of every page after the first
        self.used = 0.0  # points since the sheet's start or its last manual break
        self.rows = 0

    def add(self, height: float) -> None:
        self.used += height
        self.rows += 1

    def keep_together(self, height: float) -> None:
        """A manual break before the next row, unless a block `height` points tall fits on the page with
        everything since the last one."""
        if self.used + height > self.room and self.used > self.title_pt and self.rows:
            self.sheet.row_breaks.append(Break(id=self.rows))
            self.used = self.title_pt


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


class CountedSheet:
    """A write-only sheet that knows how many rows it has (openpyxl does not track them), so that
    charts can refer to the rows just written, and where they fall on the printed pages (`pager`, set
    once the column widths are known)."""

    def __init__(self, ws: Any):
        self.sheet = ws
        self.rows = 0
        self.pager: Pager | None = None

    def append(self, row: list, height: float | None = None) -> None:
        """Append a row, `height` points tall (default: one line)."""
        if height is not None and height != LINE_PT:
            self.sheet.row_dimensions[self.rows + 1].height = height
        self.sheet.append(row)
        self.rows += 1
        if self.pager is not None:
            self.pager.add(height or LINE_PT)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sheet, name)

    def __setattr__(self, name: str, value: Any) -> None:
        """The sheet's own settings (print titles, margins, ...) are set on the sheet."""
        if name in ("sheet", "rows", "pager"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.sheet, name, value)


def styled(ws: Any, value: Any, *, font: Font | None = None, fill: PatternFill | None = None,
           align: Alignment | None = None, fmt: str | None = None) -> Cell:
    """A cell with a font, fill, alignment and number format (any of them: module constants, built
    once); text is never a formula."""
    c = text_cell(ws, value) if isinstance(value, str) else WriteOnlyCell(ws, value=value)
    if font is not None:
        c.font = font
    if fill is not None:
        c.fill = fill
    if align is not None:
        c.alignment = align
    if fmt and not isinstance(value, str):
        c.number_format = fmt
    return c


def merge(ws: Any, row: int, first: int, last: int) -> None:
    """Merge the cells of `row` from column `first` to `last` (1-based)."""
    if last > first:
        ws.merged_cells.add(f"{get_column_letter(first)}{row}:{get_column_letter(last)}{row}")


def first_row(intro: Sequence[str]) -> int:
    """The sheet row of the first data row of a table sheet with this intro."""
    return len(intro) + 2


def sheet_head(ws: Any, cols: Sequence[Col], n_rows: int, intro: Sequence[str], page: Page | None = None) -> int:
    """A table sheet's intro and header row, widths, frozen panes, filter (for `n_rows` data rows) and
    print setup (intro and header repeated on every page); returns the row number of its first data
    row. `cols` are laid out as given: fit them first (`fit_columns`). An intro line longer than the
    table is wide is wrapped across it."""
    widths = [c.width for c in cols]
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    header_row = len(intro) + 1
    print_setup(ws, page or Page(), widths, (1, header_row))
    ws.freeze_panes = f"A{header_row + 1}"
    last = get_column_letter(len(cols))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(n_rows, 1)}"
    total = sum(widths) + (len(widths) - 1) * PAD_PX / PX_PER_UNIT
    for r, line in enumerate(intro, start=1):
        lines = text_lines(line, total, bold=True)
        if lines > 1:
            ws.row_dimensions[r].height = row_height(lines)
            merge(ws, r, 1, len(cols))
        ws.append([styled(ws, line, font=BOLD, align=WRAP if lines > 1 else None)])
    lines = max(text_lines(c.header, c.width, bold=True) for c in cols)
    if lines > 1:
        ws.row_dimensions[header_row].height = row_height(lines)
    ws.append([styled(ws, col.header, font=HEADER_FONT, fill=HEADER_FILL, align=WRAP) for col in cols])
    return first_row(intro)
