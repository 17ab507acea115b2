"""The statewide workbook, determinations.xlsx: what a state data office sends out and keeps.

Sheets: Summary (counts per category with a chart in the categories' colours, the distribution of
determination percentages with the cut lines, statewide indicators in their natural order; for a
profile without determinations, a note saying so), Determinations (ranked, a fill colour per
category), one sheet per factor, Flags, a sheet per assessment measure, and Method (parameters
with sources, input fingerprints, tool version, run type). Nothing here computes a figure.

Every sheet prints on US Letter, one page wide at 8 pt or more, its header rows repeated and the run
in the footer (report/xlsx.py); each chart of the Summary on one page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.marker import DataPoint
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.line import LineProperties
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from sedet import __version__
from sedet.model import QUALIFIERS, Distribution, MeasureInfo, MethodInfo, RunResult, measure_info, school_year_text
from sedet.report.labels import indicator_key, numerator_format, score_format, title, value_format, value_formats
from sedet.report.sheet_xml import Book, new_workbook, save_deterministic, table_sheet
from sedet.report.xlsx import (
    BOLD,
    DECIMAL,
    INTEGER,
    LINE_PT,
    PAD_PX,
    PERCENT,
    PT_PER_CM,
    PX_PER_UNIT,
    TITLE_FONT,
    TITLE_PT,
    TOP,
    WRAP,
    Col,
    CountedSheet,
    Page,
    Pager,
    category_fills,
    cell,
    filled,
    merge,
    print_setup,
    row_height,
    run_footer,
    styled,
    text_cell,
    text_lines,
)
from sedet.words import status_words


def _used_qualifiers(df: pl.DataFrame) -> list[str]:
    return [q for q in QUALIFIERS if df.get_column(q).null_count() < df.height]


def _flagged(infos: dict[str, MeasureInfo] | None) -> pl.Expr:
    """LEA rows whose flag is one of their measure's verdicts (MeasureInfo.verdicts)."""
    tests = [(pl.col("measure") == m.name) & pl.col("flag").is_in(list(m.verdicts))
             for m in (infos or {}).values() if m.verdicts]
    return pl.any_horizontal(tests) if tests else pl.lit(False)


@dataclass
class Extracts:
    """What the workbook shows of the measure table, taken in one query (`extracts`)."""

    state: pl.DataFrame  # the statewide rows
    flags: pl.DataFrame
    sheets: dict[str, pl.DataFrame]  # the rows of each measure with a sheet of its own
    verdicts: list[str]  # the titles of the measures computed that have verdicts (the Flags sheet's)


def extracts(result: RunResult, m: pl.DataFrame) -> Extracts:
    """Every selection the workbook makes from the measure table, in one collect_all: each reads only
    the columns it needs, and none has to wait for polars' threads while the flat files are written
    (the writer takes these first)."""
    lazy = m.lazy()
    districts = lazy.filter(pl.col("district_id").is_not_null())
    present = set(m.get_column("measure").unique().to_list())
    sheets = [x.name for x in result.measure_info.values() if x.own_sheet and x.name in present]
    state, flags, *rows = pl.collect_all([
        lazy.filter(pl.col("district_id").is_null()).select(
            "measure", "subject", "grade_band", "assessment", "category", "numerator", "denominator", "value"),
        districts.filter((pl.col("school_year") == result.year) & _flagged(dict(result.measure_info)))
        .sort("district_id", "measure", "category", "race_ethnicity", nulls_last=True, maintain_order=True),
        *[districts.filter(pl.col("measure") == x) for x in sheets],
    ])
    verdicts = [x.title for x in result.measure_info.values() if x.verdicts and x.name in present]
    return Extracts(state, flags, dict(zip(sheets, rows, strict=True)), verdicts)


def write_statewide(result: RunResult, m: pl.DataFrame, path: Path, *, factors: pl.DataFrame | None = None,
                    public: bool = False, taken: Extracts | None = None) -> None:
    """`m` and `factors` are the tables to lay out (suppressed for a public release); `taken`: the
    extracts of `m`, if already taken."""
    taken = taken or extracts(result, m)
    p = result.profile
    book = new_workbook(Page(run_footer(p.id, p.run_type, result.year)))
    _summary_sheet(book, result, taken, public)
    if result.determinations is not None:
        _determinations_sheet(book, result)
        _factor_sheets(book, result, factors if factors is not None else result.determinations.factors)
    if taken.verdicts:
        _flags_sheet(book, result, taken.flags, taken.verdicts)
    for measure, rows in taken.sheets.items():
        _measure_sheet(book, measure_info(measure, result.measure_info), rows)
    _method_sheet(book, result)
    save_deterministic(book, path)


def _determinations_sheet(book: Book, result: RunResult) -> None:
    assert result.determinations is not None
    t = result.determinations.table
    method = result.determinations.method
    score = method.score
    shown = [c for c in ("accountability_level", "group_detail") if t.get_column(c).null_count() < t.height]
    cols = [
        Col("rank", "Rank", 6, INTEGER),
        Col("district_id", "District ID", 10),
        Col("district_name", "District", 22, wrap=True),
        *([Col("accountability_level", "Level", 7, INTEGER)] if "accountability_level" in shown else []),
        Col("points_earned", "Points earned", 8, DECIMAL),
        Col("points_possible", "Points possible", 9, DECIMAL),
        Col("percentage", "Percentage", 11, PERCENT),
        *([Col("score", score.name, 11, score_format(score))] if score is not None else []),
        Col("percentile", "Percentile", 10, DECIMAL),
        Col("category_label", "Determination", 18, painted=True, wrap=True),
        Col("tier", "Tier", 8, painted=True),
        Col("placed_by", "Placed by", 12, wrap=True),
        Col("reasons", "Conditions and overrides", 30, wrap=True),
        *([Col("group_detail", "Groups", 26, wrap=True)] if "group_detail" in shown else []),
        Col("status", "Status", 12, wrap=True),
    ]
    ranked_by = score.name if score is not None else "percentage"
    intro = f"Determinations, school year {result.year}: ranked by {ranked_by} ({method.method.replace('_', ' ')})"
    table_sheet(book, "Determinations", cols, t, intro=[intro], fill_by="category",
                palette=category_fills(method.shorts))


def _factor_sheets(book: Book, result: RunResult, factors: pl.DataFrame) -> None:
    names = dict(result.district_names)
    f = factors.with_columns(
        pl.col("district_id").replace_strict(names, default=None, return_dtype=pl.String).alias("district_name")
    )
    for factor in f.get_column("factor").unique(maintain_order=True).to_list():
        rows = f.filter(pl.col("factor") == factor)
        factor_title = rows.get_column("factor_title")[0]
        measure = rows.get_column("measure")[0]
        cols = [
            Col("district_id", "District ID", 10),
            Col("district_name", "District", 26, wrap=True),
            Col("value", "Value", 10, value_format(measure_info(measure, result.measure_info))),
            Col("numerator", "Numerator", 11, INTEGER),
            Col("denominator", "Denominator", 12, INTEGER),
            Col("flags", "Flags", 16, wrap=True),
            Col("points", "Points", 8, DECIMAL),
            Col("possible", "Possible", 9, DECIMAL),
            Col("status", "Status", 8),
            Col("note", "How it was computed, or why n/a", 50, wrap=True),
        ]
        table_sheet(book, f"{factor}", cols, rows, intro=[f"{factor}: {factor_title} (measure: {measure})"])


def _measure_sheet(book: Book, info: MeasureInfo, rows: pl.DataFrame) -> None:
    quals = _used_qualifiers(rows)
    fmt = value_format(info)
    cols = [
        Col("district_id", "District ID", 10),
        Col("district_name", "District", 26, wrap=True),
        *[Col(q, q.replace("_", " ").capitalize(), 10, wrap=True) for q in quals],
        Col("numerator", "Numerator", 10, numerator_format(info)),
        Col("denominator", "Denominator", 11, INTEGER),
        Col("value", "Value", 9, fmt),
        Col("threshold", "Target", 9, fmt),
        Col("status", "Status", 12, wrap=True),
        Col("flag", "Result", 13, wrap=True),
        Col("note", "How it was computed", 50, wrap=True),
    ]
    table_sheet(book, info.name, cols, rows, intro=[info.title])


# The Summary: labels and indicator titles in column A, figures in B-H; charts from column D, within
# the columns' width, so that they print inside the page.
SUMMARY_WIDTHS = (56, 13, 13, 13, 13, 13, 13, 13)
CHART_COLUMN = 4
CHART_CM = 10  # the charts' width: CHART_COLUMN's left edge + this is within SUMMARY_WIDTHS
SUMMARY_TITLE_ROWS = (1, 2)


def _summary_sheet(book: Book, result: RunResult, taken: Extracts, public: bool = False) -> None:
    ws = CountedSheet(book.create_sheet("Summary"))
    for i, width in enumerate(SUMMARY_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    print_setup(ws.sheet, book.page, SUMMARY_WIDTHS, SUMMARY_TITLE_ROWS)
    ws.pager = Pager(ws.sheet, SUMMARY_WIDTHS, title_pt=TITLE_PT + LINE_PT)
    p = result.profile
    # the title across every column, so that the sheet always prints as wide as they are (the scale the
    # pager counted with), whichever of them its tables use
    merge(ws, 1, 1, len(SUMMARY_WIDTHS))
    ws.append([text_cell(ws, p.title, TITLE_FONT)], height=TITLE_PT)
    ws.append([text_cell(ws, f"School year {school_year_text(result.year)} (school_year {result.year}); "
                             f"run type: {p.run_type}; profile {p.id}; sedet {__version__}")])
    if public:
        rp = p.reporting
        coding = (f"; rates of groups of {rp.coding_min_n}-{rp.coding_max_n} are top/bottom coded"
                  if rp.top_bottom_coding else "")
        _note(ws, f"Public release: counts and rates of groups under {rp.min_n} students are shown "
                  f"as '{rp.token}', with complementary suppression{coding}")
    if result.determinations is None:
        _note(ws, f"This profile ({p.id}) computes indicators only and assigns no categories: it makes no "
                  "determinations, so this workbook has no Determinations or factor sheets. The statewide "
                  "indicators are below; each district's rows are on the measure sheets.", BOLD)
    ws.append([])
    if taken.state.height:
        _statewide_indicators(ws, result, taken.state)
    if result.determinations is not None:
        _category_summary(ws, result)
    ws.append([text_cell(ws, "Measure rows by status", BOLD)])
    _line(ws, "Districts with measure rows", cell(ws, result.n_districts, INTEGER))
    for measure, status, n in result.status_counts.iter_rows():
        _line(ws, f"{title(measure, result.measure_info)}: {status_words(status) or 'computed'}", cell(ws, n, INTEGER))
    ws.append([])
    ws.append([text_cell(ws, "Rows read per table", BOLD)])
    for t in result.inputs:
        _line(ws, f"{t.table} ({t.file}{', sheet ' + t.sheet if t.sheet else ''})", cell(ws, t.rows_read, INTEGER))


def _note(ws: CountedSheet, text: str, font=None) -> None:
    """A line of text across the Summary's columns, wrapped when longer than they are wide."""
    total = sum(SUMMARY_WIDTHS) + (len(SUMMARY_WIDTHS) - 1) * PAD_PX / PX_PER_UNIT
    lines = text_lines(text, total, bold=font is not None)
    if lines > 1:
        merge(ws, ws.rows + 1, 1, len(SUMMARY_WIDTHS))
    ws.append([styled(ws, text, font=font, align=WRAP if lines > 1 else None)], height=row_height(lines))


def _line(ws: CountedSheet, label: str, *values) -> None:
    """A label in column A (wrapped when longer than it is wide) and its values in B, C, ..."""
    lines = text_lines(label, SUMMARY_WIDTHS[0])
    ws.append([styled(ws, label, align=WRAP if lines > 1 else None), *values], height=row_height(lines))


def _statewide_indicators(ws: CountedSheet, result: RunResult, state: pl.DataFrame) -> None:
    """The statewide rows, in the natural order of their indicators (3, 4A, 4B, 9, 10, ...)."""
    ws.append([text_cell(ws, "Statewide indicators", BOLD)])
    head = ["Indicator", "Subject", "Grade band", "Assessment", "Category", "Numerator", "Denominator", "Value"]
    ws.append([styled(ws, h, font=BOLD, align=WRAP) for h in head],
              height=row_height(max(text_lines(h, w, bold=True) for h, w in zip(head, SUMMARY_WIDTHS, strict=True))))
    infos = result.measure_info
    rows = sorted(state.iter_rows(named=True),
                  key=lambda r: indicator_key(r["measure"], measure_info(r["measure"], infos).title))
    for r in rows:
        info = measure_info(r["measure"], infos)
        blank = info.blank_qualifiers
        # qualifier codes read as words ("agency_invited" -> "agency invited")
        quals = [(r[q] or blank.get(q, "")).replace("_", " ") for q in ("subject", "grade_band", "assessment",
                                                                       "category")]
        lines = max(text_lines(info.title, SUMMARY_WIDTHS[0]),
                    *(text_lines(str(q), w) for q, w in zip(quals, SUMMARY_WIDTHS[1:5], strict=True)))
        ws.append([
            styled(ws, info.title, align=WRAP),
            *[styled(ws, q, align=WRAP) if q else None for q in quals],
            _top(ws, r["numerator"], INTEGER),  # beside the first line of a wrapped title, not below it
            _top(ws, r["denominator"], INTEGER),
            _top(ws, r["value"], value_format(info)),
        ], height=row_height(lines))
    ws.append([])


TOP_RIGHT = Alignment(horizontal="right", vertical="top")


def _top(ws: CountedSheet, value: object, fmt: str) -> object:
    """A number cell aligned to the top of its row (a public release's token too)."""
    c = cell(ws, value, fmt)
    if c is None:
        return None
    if not isinstance(c, Cell):  # a token of a public release: right, where the numbers are
        return styled(ws, c, align=TOP_RIGHT, fmt=fmt)
    c.alignment = TOP
    return c


def _chart_rows(height_cm: float) -> int:
    """The rows a chart this tall covers."""
    return math.ceil(height_cm * PT_PER_CM / LINE_PT)


def _category_summary(ws: CountedSheet, result: RunResult) -> None:
    """Counts of LEAs per category with a bar chart, and the distribution of percentages with the cuts."""
    assert result.determinations is not None
    method, spread = result.determinations.method, result.determinations.distribution
    palette = category_fills(method.shorts)
    table_rows = 2 + len(method.categories) + len(spread.relabelled) + bool(spread.undetermined)
    chart_rows = 1 + _chart_rows(CATEGORY_CHART_CM[1])
    _keep_together(ws, max(table_rows, chart_rows))
    ws.append([text_cell(ws, "Determinations", BOLD)])
    ws.append([text_cell(ws, h, BOLD) for h in ("Category", "LEAs", "Tier")])
    first = ws.rows + 1
    for c in method.categories:
        ws.append([filled(ws, c.label, palette[c.short]), cell(ws, spread.per_category[c.short], INTEGER),
                   cell(ws, c.tier or "")])
    last = ws.rows
    chart = _bar_chart("LEAs per category", ws, first, last, horizontal=True)
    _paint(chart, [palette[c.short].fgColor.rgb[-6:] for c in method.categories])
    ws.add_chart(chart, f"{get_column_letter(CHART_COLUMN)}{first - 1}")
    for label, n in spread.relabelled:
        ws.append([text_cell(ws, f"of which shown as {label}"), cell(ws, n, INTEGER)])
    if spread.undetermined:
        ws.append([text_cell(ws, "Not determined"), cell(ws, spread.undetermined, INTEGER)])
    _room_for_chart(ws, first - 1, CATEGORY_CHART_CM[1])
    _placement(ws, spread)
    if spread.ranked:
        _percentage_histogram(ws, result)


def _keep_together(ws: CountedSheet, rows: int) -> None:
    """A new page before the next `rows` rows, unless they fit on this one."""
    if ws.pager is not None:
        ws.pager.keep_together(rows * LINE_PT)


def _room_for_chart(ws: CountedSheet, anchor: int, height_cm: float) -> None:
    """Empty rows until the chart anchored at row `anchor` ends, and one more."""
    for _ in range(anchor + _chart_rows(height_cm) + 1 - ws.rows):
        ws.append([])


def _paint(chart: BarChart, colours: list[str]) -> None:
    """One colour per bar (the categories' table fills), with a grey outline so pale bars show."""
    series = chart.series[0]
    for i, colour in enumerate(colours):
        fill = GraphicalProperties(solidFill=colour, ln=LineProperties(solidFill="7F7F7F"))
        series.dPt.append(DataPoint(idx=i, spPr=fill))


def _placement(ws: CountedSheet, spread: Distribution) -> None:
    """How every LEA's category was placed: by the method, a condition (by its id), an override, or
    not at all; the counts add up to every LEA of the determinations table."""
    words = {"method": "By the method", "override": "By an override (case-by-case decision)",
             "not determined": "Not determined"}
    ws.append([text_cell(ws, "How each category was placed", BOLD)])
    for placed, n in spread.placed:
        shown = words.get(placed) or f"By {placed}"
        _line(ws, shown, cell(ws, n, INTEGER))
    ws.append([text_cell(ws, "Every LEA"), cell(ws, sum(n for _, n in spread.placed), INTEGER)])
    ws.append([])


def _percentage_histogram(ws: CountedSheet, result: RunResult) -> None:
    assert result.determinations is not None
    method, spread = result.determinations.method, result.determinations.distribution
    score = method.score
    what = score.name if score is not None else "determination percentage"
    _keep_together(ws, max(2 + len(spread.histogram), 1 + _chart_rows(HISTOGRAM_CM[1])))
    ws.append([text_cell(ws, f"Distribution of {what}s" if score is None else f"Distribution of {what}", BOLD)])
    ws.append([text_cell(ws, h, BOLD) for h in (("Percentage" if score is None else score.name), "LEAs")])
    first = ws.rows + 1
    for lo, hi, n in spread.histogram:
        if score is None:
            label = f"{lo}-{hi}%" if hi < 100 else f"{lo}-100%"
        else:
            label = f"{score.text(lo)}-{score.text(hi)}"
        ws.append([text_cell(ws, label), cell(ws, n, INTEGER)])
    ws.add_chart(_bar_chart(f"LEAs by {what}", ws, first, ws.rows, horizontal=False),
                 f"{get_column_letter(CHART_COLUMN)}{first - 1}")
    _room_for_chart(ws, first - 1, HISTOGRAM_CM[1])
    unplaced = sum(n for _, n in spread.placed) - spread.ranked
    if unplaced:
        _note(ws, f"Not in this chart: {unplaced} LEA(s) with no {what} (placed by a condition or an override, "
                  "or not determined; see above)")
    ws.append([text_cell(ws, "Cut lines", BOLD)])
    for line in _cut_lines(method, spread):
        _note(ws, line)
    ws.append([])


CATEGORY_CHART_CM = (CHART_CM, 6)  # width, height
HISTOGRAM_CM = (CHART_CM, 7)


def _bar_chart(chart_title: str, ws: CountedSheet, first: int, last: int, *, horizontal: bool) -> BarChart:
    """A bar chart of the counts in column B (header in the row above `first`) by the labels in A."""
    chart = BarChart()
    if horizontal:
        chart.type = "bar"
        chart.style = 10
        chart.y_axis.title = "LEAs"
        chart.width, chart.height = CATEGORY_CHART_CM
    else:
        chart.type = "col"
        chart.gapWidth = 10
        chart.width, chart.height = HISTOGRAM_CM
    chart.title = chart_title
    chart.legend = None
    chart.add_data(Reference(ws.sheet, min_col=2, min_row=first - 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws.sheet, min_col=1, min_row=first, max_row=last))
    return chart


def _cut_lines(method: MethodInfo, spread: Distribution) -> list[str]:
    """The cuts in words: fixed bounds, or for a percentile method the percentages where they fell."""
    lines = []
    used = [c for c in method.categories if c.by_method]
    if method.method == "cut_points" and method.score is not None:
        sc = method.score
        lines += [f"{c.label}: {sc.name} {c.op} {c.min_score:g} (on a scale of {sc.scale_min:g}-{sc.scale_max:g})"
                  for c in used if c.min_score is not None]
    elif method.method == "cut_points":
        lines += [f"{c.label}: percentage {c.op} {c.min_percentage:g}%" for c in used if c.min_percentage is not None]
    elif method.method == "percentile":
        definition = method.percentile_definition.replace("_", " ")
        for c in used:
            if c.min_percentile is None:
                continue
            low = spread.lowest.get(c.short)
            if method.score is not None:
                at = f"; the lowest {method.score.name} placed there is {method.score.text(low)}" if low is not None \
                    else ""
            else:
                at = f"; the lowest percentage placed there is {100 * low:.1f}%" if low is not None else ""
            lines.append(f"{c.label}: percentile {c.op} {c.min_percentile:g} ({definition}){at}")
    else:
        lines.append("categories follow the accountability level (no percentage cut)")
    return lines


def _flags_sheet(book: Book, result: RunResult, rows: pl.DataFrame, verdicts: list[str]) -> None:
    """Every LEA-level verdict a reader must not miss, of the measures the profile computes that
    have verdicts (MeasureInfo.verdicts: identified disproportionality, significant discrepancy,
    alternate assessment above the cap, secondary analysis, ...). `rows`: the measure rows with
    those verdicts (Extracts.flags); `verdicts`: the titles of those measures."""
    cols = [
        Col("district_id", "District ID", 10),
        Col("district_name", "District", 20, wrap=True),
        Col("measure", "Measure", 18, wrap=True),
        Col("subject", "Subject", 8),
        Col("category", "Category", 14, wrap=True),
        Col("race_ethnicity", "Group", 7),
        Col("numerator", "Numerator", 10, INTEGER),
        Col("denominator", "Denominator", 11, INTEGER),
        Col("value", "Value", 9, fmt_by="value_format"),
        Col("flag", "Verdict", 14, wrap=True),
        Col("note", "How it was computed", 40, wrap=True),
    ]
    rows = rows.with_columns(value_formats(rows, result.measure_info))
    table_sheet(book, "Flags", cols, rows,
                intro=[f"Flags, school year {result.year}: {'; '.join(verdicts)} ({rows.height} rows)"])


def _method_sheet(book: Book, result: RunResult) -> None:
    p = result.profile
    cols = [Col("path", "Parameter", 44, wrap=True), Col("value", "Value", 40, wrap=True),
            Col("source", "Source", 80, wrap=True)]
    rows = [(path, _show(v), src) for path, v, src in p.parameters]
    rows += [
        ("run.school_year", str(result.year), "--year, or the latest year in the bundle"),
        ("run.years_in_bundle", ", ".join(map(str, result.years)), "bundle"),
        ("run.sedet_version", __version__, "sedet"),
        ("run.type", p.run_type, "profile (provisional, preliminary or official)"),
        ("run.profile_file", p.file, f"sha256 {p.sha256}"),
    ]
    rows += [(f"input.{name}", sha, "SHA-256 of the file as read") for name, sha in result.fingerprints.items()]
    frame = pl.DataFrame(rows, schema=[c.key for c in cols], orient="row")
    table_sheet(book, "Method", cols, frame,
                intro=["Method: profile parameters with their sources, and input fingerprints"])


def _show(v: object) -> str:
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False)
    return str(v)
