"""The workbook of `sedet sweep` (docs/design.md section 9): Scenarios (one row per scenario), Changes
(the LEAs each scenario changes against the profile as written), Charts (one per varied parameter,
the others at their values as written) and, when two or more parameters are varied, a Heat map of
the LEAs identified over the first two. The same bytes for the same sweep."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter

from sedet.report.sheet_xml import new_workbook, save_deterministic, table_sheet
from sedet.report.xlsx import (
    BOLD,
    INTEGER,
    LINE_PT,
    Col,
    CountedSheet,
    Page,
    Pager,
    cell,
    print_setup,
    styled,
    text_cell,
)

CHART_CM = (15, 8)
CHART_ROWS = 18  # rows a chart of CHART_CM covers, and one more
CHART_COLUMNS = 8  # the columns (of width 9) a chart of CHART_CM spans
HEADER_PT = 45.0  # a header row of up to three wrapped lines
WRAP = Alignment(wrap_text=True, vertical="top")
HEAT = ("FFFFFF", "F8696B")  # from no LEA to the most LEAs of the map


def write_sweep_workbook(path: Path, *, title: str, keys: Sequence[str], table: pl.DataFrame,
                         change: pl.DataFrame, charts: Sequence[tuple[str, pl.DataFrame]],
                         heat: tuple[str, str, pl.DataFrame] | None, series: Sequence[str],
                         intro: Sequence[str]) -> None:
    book = new_workbook(Page(title))
    counts = [c for c in table.columns if c not in ("scenario", "as_written", "which LEAs change", *keys)]
    cols = [Col("scenario", "Scenario", 9, "0"), Col("as_written", "As written", 9),
            *[Col(k, k.removeprefix("measures."), 14, wrap=True) for k in keys],
            *[Col(c, c, 12, INTEGER, wrap=False) for c in counts],
            Col("which LEAs change", "Which LEAs change", 40, wrap=True)]
    table_sheet(book, "Scenarios", cols, table.with_columns(
        pl.when(pl.col("as_written")).then(pl.lit("yes")).otherwise(pl.lit("")).alias("as_written")),
        intro=list(intro))
    table_sheet(book, "Changes", [
        Col("scenario", "Scenario", 9, "0"), Col("values", "Values", 30, wrap=True),
        Col("district_id", "District ID", 10), Col("district_name", "District", 24, wrap=True),
        Col("category_as_written", "Category as written", 18, wrap=True),
        Col("category_in_scenario", "Category in the scenario", 18, wrap=True),
        Col("found_now", "Identified now", 34, wrap=True),
        Col("found_no_longer", "No longer identified", 34, wrap=True),
    ], change, intro=["The LEAs each scenario changes against the profile as written: a finding added or gone, "
                      "or another category."])
    _charts(book, charts, series)
    if heat is not None:
        _heat_map(book, *heat)
    save_deterministic(book, path)


def _charts(book, charts: Sequence[tuple[str, pl.DataFrame]], series: Sequence[str]) -> None:
    """Per varied parameter, its values against the LEAs of each series, as a small table with its line
    chart beside it, kept on one printed page."""
    ws = CountedSheet(book.create_sheet("Charts"))
    widths = [14, *[11] * len(series), *[9] * CHART_COLUMNS]
    for i, w in enumerate(widths, 1):  # a write-only sheet takes its widths before its rows
        ws.column_dimensions[get_column_letter(i)].width = w
    print_setup(ws, book.page, widths)
    ws.pager = Pager(ws.sheet, widths)
    ws.append([text_cell(ws, "Each chart varies one parameter; the others are at their values as written")])
    ws.append([text_cell(ws, "(or, when the sweep leaves those out, at their first value).")])
    for key, rows in charts:
        ws.append([])
        ws.pager.keep_together(max(rows.height + 2, CHART_ROWS) * LINE_PT + HEADER_PT)
        ws.append([styled(ws, key.removeprefix("measures."), font=BOLD, align=WRAP),
                   *[styled(ws, s, font=BOLD, align=WRAP) for s in series]], height=HEADER_PT)
        first = ws.rows + 1
        for r in rows.iter_rows(named=True):
            ws.append([cell(ws, r[key]), *[cell(ws, r[s], INTEGER) for s in series]])
        last = ws.rows
        chart = LineChart()
        chart.title = f"LEAs by {key.split('.')[-1]}"
        chart.y_axis.title = "LEAs"
        chart.x_axis.title = key
        chart.width, chart.height = CHART_CM
        if chart.legend is not None:
            chart.legend.position = "b"
        chart.add_data(Reference(ws.sheet, min_col=2, max_col=1 + len(series), min_row=first - 1, max_row=last),
                       titles_from_data=True)
        chart.set_categories(Reference(ws.sheet, min_col=1, min_row=first, max_row=last))
        for line in chart.series:
            line.smooth = False
        ws.add_chart(chart, f"{get_column_letter(len(series) + 2)}{first - 1}")
        for _ in range(max(0, first - 1 + CHART_ROWS - ws.rows)):
            ws.append([])


def _heat_map(book, row_key: str, col_key: str, grid: pl.DataFrame) -> None:
    """LEAs identified (any finding) for each pair of values: rows the first parameter, columns the
    second, each cell shaded from white (fewest) to red (most)."""
    ws = CountedSheet(book.create_sheet("Heat map"))
    columns = [c for c in grid.columns if c != row_key]
    widths = [18, *[9] * len(columns)]
    for i, w in enumerate(widths, 1):  # a write-only sheet takes its widths before its rows
        ws.column_dimensions[get_column_letter(i)].width = w
    print_setup(ws, book.page, widths)
    for line in (f"LEAs identified (any finding) by {row_key.split('.')[-1]} (down)",
                 f"and {col_key.split('.')[-1]} (across); any other varied parameter",
                 "at its value as written (or its first value)."):
        ws.append([text_cell(ws, line)])
    ws.append([text_cell(ws, f"{row_key.split('.')[-1]} \\ {col_key.split('.')[-1]}", BOLD),
               *[text_cell(ws, c, BOLD) for c in columns]])
    values = [v for c in columns for v in grid.get_column(c).to_list() if v is not None]
    lo, hi = (float(min(values)), float(max(values))) if values else (0.0, 0.0)
    for r in grid.iter_rows(named=True):
        ws.append([cell(ws, r[row_key]), *[styled(ws, r[c], fill=_shade(r[c], lo, hi), fmt=INTEGER)
                                            if r[c] is not None else None for c in columns]])


_FILLS: dict[str, PatternFill] = {}


def _shade(v: float, lo: float, hi: float) -> PatternFill:
    t = 0.0 if hi == lo else (v - lo) / (hi - lo)
    a, b = (tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) for h in HEAT)
    rgb = "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(a, b, strict=True))
    return _FILLS.setdefault(rgb, PatternFill("solid", fgColor=rgb))
