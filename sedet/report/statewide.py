"""The statewide workbook, determinations.xlsx: what a state data office sends out and keeps.

Sheets: Summary (counts per category with a chart, the distribution of determination
percentages with the cut lines, statewide indicators), Determinations (ranked, a fill colour per
category), one sheet per factor, Flags, a sheet per assessment measure, and Method (parameters
with sources, input fingerprints, tool version, run type). Nothing here computes a figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from sedet import __version__
from sedet.pipeline import RunResult
from sedet.report.labels import MEASURE_TITLES, QUALIFIER_COLS, SHEET_ORDER, value_format
from sedet.report.xlsx import (
    BOLD,
    DECIMAL,
    INTEGER,
    PERCENT,
    TITLE_FONT,
    Col,
    cell,
    new_workbook,
    save_deterministic,
    table_sheet,
    text_cell,
)


def _used_qualifiers(df: pl.DataFrame) -> list[str]:
    return [q for q in QUALIFIER_COLS if df.get_column(q).null_count() < df.height]


def write_statewide(result: RunResult, m: pl.DataFrame, path: Path) -> None:
    wb = new_workbook()
    _summary_sheet(wb, result, m)
    if result.determinations is not None:
        _determinations_sheet(wb, result)
        _factor_sheets(wb, result)
    for measure in [x for x in SHEET_ORDER if x in set(m.get_column("measure").unique().to_list())]:
        rows = m.filter((pl.col("measure") == measure) & pl.col("district_id").is_not_null())
        _measure_sheet(wb, measure, rows)
    _method_sheet(wb, result)
    save_deterministic(wb, path)


def _determinations_sheet(wb, result: RunResult) -> None:
    t = result.determinations.table
    cols = [
        Col("rank", "Rank", 7, INTEGER),
        Col("district_id", "District ID", 12),
        Col("district_name", "District", 32),
        Col("accountability_level", "Level", 7, INTEGER),
        Col("points_earned", "Points earned", 10, DECIMAL),
        Col("points_possible", "Points possible", 10, DECIMAL),
        Col("percentage", "Percentage", 11, PERCENT),
        Col("percentile", "Percentile", 10, DECIMAL),
        Col("category_label", "Determination", 28),
        Col("tier", "Tier", 9),
        Col("reasons", "Conditions and overrides", 50),
        Col("group_detail", "Groups", 40),
        Col("status", "Status", 22),
    ]
    table_sheet(wb, "Determinations", cols, t.select([c.key for c in cols]).iter_rows(), t.height,
                intro=[f"Determinations, school year {result.year}: ranked by percentage"])


def _factor_sheets(wb, result: RunResult) -> None:
    f = result.determinations.factors.with_columns(
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
        table_sheet(wb, f"{factor}", cols, rows.select([c.key for c in cols]).iter_rows(), rows.height,
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
    keys = [c.key for c in cols]
    title = MEASURE_TITLES.get(measure, measure)
    table_sheet(wb, measure, cols, rows.select(keys).iter_rows(), rows.height, intro=[title])


def _summary_sheet(wb, result: RunResult, m: pl.DataFrame) -> None:
    ws = wb.create_sheet("Summary")
    ws.column_dimensions["A"].width = 62
    for col in "BCDEF":
        ws.column_dimensions[col].width = 14
    p = result.profile
    ws.append([text_cell(ws, p.meta.title, TITLE_FONT)])
    ws.append([text_cell(ws, f"School year {result.year - 1}-{str(result.year)[-2:]} (school_year {result.year}); "
                             f"run type: {p.meta.run_type}; profile {p.id}; sedet {__version__}")])
    ws.append([])
    state = m.filter(pl.col("district_id").is_null())
    if state.height:
        ws.append([text_cell(ws, "Statewide indicators", BOLD)])
        head = ["Indicator", "Subject", "Grade band", "Assessment", "Numerator", "Denominator", "Value"]
        ws.append([text_cell(ws, h, BOLD) for h in head])
        for r in state.iter_rows(named=True):
            ws.append([
                text_cell(ws, MEASURE_TITLES.get(r["measure"], r["measure"])),
                cell(ws, r["subject"] or "all"),
                cell(ws, r["grade_band"] or "all"),
                cell(ws, r["assessment"] or ("all" if r["measure"] == "indicator_3c" else "")),
                cell(ws, r["numerator"], INTEGER),
                cell(ws, r["denominator"], INTEGER),
                cell(ws, r["value"], value_format(r["measure"])),
            ])
        ws.append([])
    if result.determinations is not None:
        t = result.determinations.table
        ws.append([text_cell(ws, "Determinations", BOLD)])
        ws.append([text_cell(ws, h, BOLD) for h in ("Category", "LEAs", "Tier")])
        cats = result.profile.model.determination.categories
        for c in cats:
            n = t.filter(pl.col("category") == c.short).height
            ws.append([text_cell(ws, c.label), cell(ws, n, INTEGER), cell(ws, c.tier or "")])
        labelled = t.filter(pl.col("category_label").is_not_null() & ~pl.col("category_label").is_in([c.label for c in cats]))
        for label, n in labelled.group_by("category_label").len().sort("category_label").iter_rows():
            ws.append([text_cell(ws, f"of which shown as {label}"), cell(ws, n, INTEGER)])
        undetermined = t.filter(pl.col("category").is_null()).height
        if undetermined:
            ws.append([text_cell(ws, "Not determined"), cell(ws, undetermined, INTEGER)])
        ws.append([])
    districts = m.filter(pl.col("district_id").is_not_null())
    ws.append([text_cell(ws, "Districts", BOLD)])
    ws.append([text_cell(ws, "Districts with measure rows"), cell(ws, districts.get_column("district_id").n_unique(), INTEGER)])
    counts = districts.group_by("measure", "status").len().sort("measure", "status")
    for measure, status, n in counts.iter_rows():
        ws.append([text_cell(ws, f"{MEASURE_TITLES.get(measure, measure)}: {status}"), cell(ws, n, INTEGER)])
    ws.append([])
    ws.append([text_cell(ws, "Rows read per table", BOLD)])
    for name, t in result.bundle.tables.items():
        ws.append([text_cell(ws, f"{name} ({t.source.label}{', sheet ' + t.source.sheet if t.source.sheet else ''})"),
                   cell(ws, t.rows_read, INTEGER)])


def _method_sheet(wb, result: RunResult) -> None:
    p = result.profile
    cols = [Col("path", "Parameter", 48), Col("value", "Value", 40), Col("source", "Source", 100)]
    rows = [(path, _show(v), src) for path, v, src in p.parameters()]
    rows += [
        ("run.school_year", str(result.year), "--year, or the latest year in the bundle"),
        ("run.years_in_bundle", ", ".join(map(str, result.years)), "bundle"),
        ("run.sedet_version", __version__, "sedet"),
        ("run.profile_file", p.path.name, f"sha256 {p.sha256}"),
    ]
    rows += [(f"input.{name}", sha, "SHA-256 of the file as read") for name, sha in result.bundle.files.items()]
    table_sheet(wb, "Method", cols, rows, len(rows), intro=["Method: profile parameters with their sources, and input fingerprints"])


def _show(v) -> str:
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


