"""The statewide workbook, determinations.xlsx: what a state data office sends out and keeps.

Sheets: Summary (counts per category with a chart, the distribution of determination
percentages with the cut lines, statewide indicators), Determinations (ranked, a fill colour per
category), one sheet per factor, Flags, a sheet per assessment measure, and Method (parameters
with sources, input fingerprints, tool version, run type). Nothing here computes a figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from openpyxl.chart import BarChart, Reference

from sedet import __version__
from sedet.pipeline import RunResult
from sedet.report.labels import MEASURE_TITLES, QUALIFIER_COLS, SHEET_ORDER, value_format, value_formats
from sedet.report.xlsx import (
    BOLD,
    DECIMAL,
    INTEGER,
    PERCENT,
    TITLE_FONT,
    Col,
    CountedSheet,
    category_fills,
    cell,
    filled,
    landscape,
    new_workbook,
    save_deterministic,
    table_sheet,
    text_cell,
)


def _used_qualifiers(df: pl.DataFrame) -> list[str]:
    return [q for q in QUALIFIER_COLS if df.get_column(q).null_count() < df.height]


FLAG_VERDICTS = ["identified", "significant_discrepancy", "policies_contributed", "discrepancy_only", "above_cap", "exceeds",
                 "not_identified_reasonable_progress"]
FLAG_MEASURES = ["disproportionality", "discipline_rate", "indicator_4b", "alternate_rate", "low_income_identification",
                 "low_income_separation", "race_separation"]


@dataclass
class Extracts:
    """What the workbook shows of the measure table, taken in one query (`extracts`)."""

    state: pl.DataFrame  # the statewide rows
    n_districts: int
    status_counts: pl.DataFrame  # measure, status, len
    flags: pl.DataFrame
    sheets: dict[str, pl.DataFrame]  # the rows of each measure with a sheet of its own


def extracts(result: RunResult, m: pl.DataFrame) -> Extracts:
    """Every selection the workbook makes from the measure table, in one collect_all: each reads only
    the columns it needs, and none has to wait for polars' threads while the flat files are written
    (the writer takes these first)."""
    lazy = m.lazy()
    districts = lazy.filter(pl.col("district_id").is_not_null())
    present = set(m.get_column("measure").unique().to_list())
    sheets = [x for x in SHEET_ORDER if x in present]
    state, n_districts, counts, flags, *rows = pl.collect_all([
        lazy.filter(pl.col("district_id").is_null()).select(
            "measure", "subject", "grade_band", "assessment", "category", "numerator", "denominator", "value"),
        districts.select(pl.col("district_id").n_unique()),
        districts.group_by("measure", "status").len().sort("measure", "status"),
        districts.filter((pl.col("school_year") == result.year) & pl.col("measure").is_in(FLAG_MEASURES)
                         & pl.col("flag").is_in(FLAG_VERDICTS))
        .sort("district_id", "measure", "category", "race_ethnicity", nulls_last=True),
        *[districts.filter(pl.col("measure") == x) for x in sheets],
    ])
    return Extracts(state, n_districts.item(), counts, flags, dict(zip(sheets, rows, strict=True)))


def write_statewide(result: RunResult, m: pl.DataFrame, path: Path, *, factors: pl.DataFrame | None = None,
                    public: bool = False, taken: Extracts | None = None) -> None:
    """`m` and `factors` are the tables to lay out (suppressed for a public release); `taken`: the
    extracts of `m`, if already taken."""
    taken = taken or extracts(result, m)
    wb = new_workbook()
    _summary_sheet(wb, result, taken, public)
    if result.determinations is not None:
        _determinations_sheet(wb, result)
        _factor_sheets(wb, result, factors if factors is not None else result.determinations.factors)
    _flags_sheet(wb, result, taken.flags)
    for measure, rows in taken.sheets.items():
        _measure_sheet(wb, measure, rows)
    _method_sheet(wb, result)
    save_deterministic(wb, path)


def _determinations_sheet(wb, result: RunResult) -> None:
    t = result.determinations.table
    cols = [
        Col("rank", "Rank", 7, INTEGER),
        Col("district_id", "District ID", 12),
        Col("district_name", "District", 32),
        *([Col("accountability_level", "Level", 7, INTEGER)] if t.get_column("accountability_level").null_count() < t.height else []),
        Col("points_earned", "Points earned", 10, DECIMAL),
        Col("points_possible", "Points possible", 10, DECIMAL),
        Col("percentage", "Percentage", 11, PERCENT),
        Col("percentile", "Percentile", 10, DECIMAL),
        Col("category_label", "Determination", 28, painted=True),
        Col("tier", "Tier", 9, painted=True),
        Col("reasons", "Conditions and overrides", 50),
        *([Col("group_detail", "Groups", 40)] if t.get_column("group_detail").null_count() < t.height else []),
        Col("status", "Status", 22),
    ]
    det = result.profile.model.determination
    palette = category_fills([c.short for c in det.categories])
    table_sheet(wb, "Determinations", cols, t,
                intro=[f"Determinations, school year {result.year}: ranked by percentage ({det.method.replace('_', ' ')})"],
                fill_by="category", palette=palette)


def _factor_sheets(wb, result: RunResult, factors: pl.DataFrame) -> None:
    f = factors.with_columns(
        pl.col("district_id").replace_strict(result.district_names, default=None, return_dtype=pl.String).alias("district_name")
    )
    for factor in f.get_column("factor").unique(maintain_order=True).to_list():
        rows = f.filter(pl.col("factor") == factor)
        title = rows.get_column("factor_title")[0]
        measure = rows.get_column("measure")[0]
        cols = [
            Col("district_id", "District ID", 12),
            Col("district_name", "District", 32),
            Col("value", "Value", 10, value_format(measure)),
            Col("numerator", "Numerator", 11, INTEGER),
            Col("denominator", "Denominator", 11, INTEGER),
            Col("flags", "Flags", 22),
            Col("points", "Points", 8, DECIMAL),
            Col("possible", "Possible", 8, DECIMAL),
            Col("status", "Status", 8),
            Col("note", "How it was computed, or why n/a", 80),
        ]
        table_sheet(wb, f"{factor}", cols, rows,
                    intro=[f"{factor}: {title} (measure: {measure})"])


def _measure_sheet(wb, measure: str, rows: pl.DataFrame) -> None:
    quals = _used_qualifiers(rows)
    fmt = value_format(measure)
    count_fmt = DECIMAL if measure == "performance_index" else INTEGER
    cols = [
        Col("district_id", "District ID", 12),
        Col("district_name", "District", 32),
        *[Col(q, q.replace("_", " ").capitalize(), 11) for q in quals],
        Col("numerator", "Numerator", 12, count_fmt),
        Col("denominator", "Denominator", 12, INTEGER),
        Col("value", "Value", 10, fmt),
        Col("threshold", "Target", 10, fmt),
        Col("status", "Status", 13),
        Col("flag", "Result", 15),
        Col("note", "How it was computed", 80),
    ]
    title = MEASURE_TITLES.get(measure, measure)
    table_sheet(wb, measure, cols, rows, intro=[title])


def _summary_sheet(wb, result: RunResult, taken: Extracts, public: bool = False) -> None:
    ws = CountedSheet(wb.create_sheet("Summary"))
    ws.column_dimensions["A"].width = 70
    for col in "BCDEFGH":
        ws.column_dimensions[col].width = 13
    landscape(ws)
    p = result.profile
    ws.append([text_cell(ws, p.meta.title, TITLE_FONT)])
    ws.append([text_cell(ws, f"School year {result.year - 1}-{str(result.year)[-2:]} (school_year {result.year}); "
                             f"run type: {p.meta.run_type}; profile {p.id}; sedet {__version__}")])
    if public:
        rp = p.model.reporting
        ws.append([text_cell(ws, f"Public release: counts and rates of groups under {rp.min_n} students are shown as "
                                 f"'{rp.token}', with complementary suppression" + ("; rates of groups of "
                                 f"{rp.coding_min_n}-{rp.coding_max_n} are top/bottom coded" if rp.top_bottom_coding else ""))])
    ws.append([])
    state = taken.state
    if state.height:
        ws.append([text_cell(ws, "Statewide indicators", BOLD)])
        head = ["Indicator", "Subject", "Grade band", "Assessment", "Category", "Numerator", "Denominator", "Value"]
        ws.append([text_cell(ws, h, BOLD) for h in head])
        for r in state.iter_rows(named=True):
            ws.append([
                text_cell(ws, MEASURE_TITLES.get(r["measure"], r["measure"])),
                cell(ws, r["subject"] or ""),
                cell(ws, r["grade_band"] or ""),
                cell(ws, r["assessment"] or ("all" if r["measure"] == "indicator_3c" else "")),
                cell(ws, r["category"] or ""),
                cell(ws, r["numerator"], INTEGER),
                cell(ws, r["denominator"], INTEGER),
                cell(ws, r["value"], value_format(r["measure"])),
            ])
        ws.append([])
    if result.determinations is not None:
        _category_summary(ws, result)
    ws.append([text_cell(ws, "Measure rows by status", BOLD)])
    ws.append([text_cell(ws, "Districts with measure rows"), cell(ws, taken.n_districts, INTEGER)])
    for measure, status, n in taken.status_counts.iter_rows():
        ws.append([text_cell(ws, f"{MEASURE_TITLES.get(measure, measure)}: {status}"), cell(ws, n, INTEGER)])
    ws.append([])
    ws.append([text_cell(ws, "Rows read per table", BOLD)])
    for name, t in result.bundle.tables.items():
        ws.append([text_cell(ws, f"{name} ({t.source.label}{', sheet ' + t.source.sheet if t.source.sheet else ''})"),
                   cell(ws, t.rows_read, INTEGER)])


def _category_summary(ws, result: RunResult) -> None:
    """Counts of LEAs per category with a bar chart, and the distribution of percentages with the cuts."""
    t = result.determinations.table
    det = result.profile.model.determination
    palette = category_fills([c.short for c in det.categories])
    ws.append([text_cell(ws, "Determinations", BOLD)])
    ws.append([text_cell(ws, h, BOLD) for h in ("Category", "LEAs", "Tier")])
    first = _rows_so_far(ws) + 1
    for c in det.categories:
        n = t.filter(pl.col("category") == c.short).height
        ws.append([filled(ws, c.label, palette[c.short]), cell(ws, n, INTEGER), cell(ws, c.tier or "")])
    last = _rows_so_far(ws)
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = "LEAs per category"
    chart.legend = None
    chart.y_axis.title = "LEAs"
    chart.add_data(Reference(ws, min_col=2, min_row=first - 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.height, chart.width = 6, 14
    ws.add_chart(chart, f"E{first - 1}")
    labelled = t.filter(pl.col("category_label").is_not_null() & ~pl.col("category_label").is_in([c.label for c in det.categories]))
    for label, n in labelled.group_by("category_label").len().sort("category_label").iter_rows():
        ws.append([text_cell(ws, f"of which shown as {label}"), cell(ws, n, INTEGER)])
    undetermined = t.filter(pl.col("category").is_null()).height
    if undetermined:
        ws.append([text_cell(ws, "Not determined"), cell(ws, undetermined, INTEGER)])
    for _ in range(max(0, 12 - (last - first + 1))):  # room for the chart
        ws.append([])
    pct = t.filter(pl.col("percentage").is_not_null())
    if pct.height:
        ws.append([text_cell(ws, "Distribution of determination percentages", BOLD)])
        ws.append([text_cell(ws, h, BOLD) for h in ("Percentage", "LEAs")])
        first = _rows_so_far(ws) + 1
        bins = [(i * 10, (i + 1) * 10) for i in range(10)]
        p100 = (100 * pl.col("percentage"))
        for lo, hi in bins:
            inside = (p100 >= lo) & ((p100 < hi) if hi < 100 else (p100 <= hi))
            ws.append([text_cell(ws, f"{lo}-{hi}%" if hi < 100 else f"{lo}-100%"), cell(ws, pct.filter(inside).height, INTEGER)])
        last = _rows_so_far(ws)
        hist = BarChart()
        hist.type = "col"
        hist.title = "LEAs by determination percentage"
        hist.legend = None
        hist.gapWidth = 10
        hist.add_data(Reference(ws, min_col=2, min_row=first - 1, max_row=last), titles_from_data=True)
        hist.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        hist.height, hist.width = 7, 16
        ws.add_chart(hist, f"E{first - 1}")
        for _ in range(5):  # room for the chart
            ws.append([])
        ws.append([text_cell(ws, "Cut lines", BOLD)])
        for line in _cut_lines(t, det):
            ws.append([text_cell(ws, line)])
        ws.append([])


def _cut_lines(t: pl.DataFrame, det) -> list[str]:
    """The cuts in words: fixed bounds, or for a percentile method the percentages where they fell."""
    lines = []
    if det.method == "cut_points":
        for c in det.method_categories():
            if c.min_percentage is not None:
                lines.append(f"{c.label}: percentage {c.op} {c.min_percentage:g}%")
    elif det.method == "percentile":
        for c in det.method_categories():
            if c.min_percentile is None:
                continue
            inside = t.filter(pl.col("base") == c.short)
            low = inside.get_column("percentage").min() if inside.height else None
            at = f"; the lowest percentage placed there is {100 * low:.1f}%" if low is not None else ""
            lines.append(f"{c.label}: percentile {c.op} {c.min_percentile:g} ({det.percentile_definition.replace('_', ' ')}){at}")
    else:
        lines.append("categories follow the accountability level (no percentage cut)")
    return lines


def _rows_so_far(ws: CountedSheet) -> int:
    return ws.rows


def _flags_sheet(wb, result: RunResult, rows: pl.DataFrame) -> None:
    """Every LEA-level verdict a reader must not miss: identified disproportionality, significant
    discrepancy, contributing policies, alternate assessment above the cap, secondary analysis.
    `rows`: the measure rows with those verdicts (Extracts.flags)."""
    cols = [
        Col("district_id", "District ID", 12),
        Col("district_name", "District", 30),
        Col("measure", "Measure", 22),
        Col("subject", "Subject", 8),
        Col("category", "Category", 20),
        Col("race_ethnicity", "Group", 8),
        Col("numerator", "Numerator", 11, INTEGER),
        Col("denominator", "Denominator", 11, INTEGER),
        Col("value", "Value", 10, fmt_by="value_format"),
        Col("flag", "Verdict", 24),
        Col("note", "How it was computed", 90),
    ]
    rows = rows.with_columns(value_formats(rows))
    table_sheet(wb, "Flags", cols, rows,
                intro=[f"Flags, school year {result.year}: identified disproportionality, significant discrepancy, "
                       f"alternate assessment above the cap, secondary analysis ({rows.height} rows)"])


def _method_sheet(wb, result: RunResult) -> None:
    p = result.profile
    cols = [Col("path", "Parameter", 48), Col("value", "Value", 40), Col("source", "Source", 100)]
    rows = [(path, _show(v), src) for path, v, src in p.parameters()]
    rows += [
        ("run.school_year", str(result.year), "--year, or the latest year in the bundle"),
        ("run.years_in_bundle", ", ".join(map(str, result.years)), "bundle"),
        ("run.sedet_version", __version__, "sedet"),
        ("run.type", p.meta.run_type, "profile (provisional, preliminary or official)"),
        ("run.profile_file", p.path.name, f"sha256 {p.sha256}"),
    ]
    rows += [(f"input.{name}", sha, "SHA-256 of the file as read") for name, sha in result.bundle.files.items()]
    frame = pl.DataFrame(rows, schema=[c.key for c in cols], orient="row")
    table_sheet(wb, "Method", cols, frame, intro=["Method: profile parameters with their sources, and input fingerprints"])


def _show(v) -> str:
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


