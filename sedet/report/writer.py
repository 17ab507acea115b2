"""The files of a determination run: workbook, flat measure files and manifest.

Nothing here computes a figure: it lays out what the stages produced.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from sedet import __version__
from sedet.measures.common import MEASURE_COLUMNS
from sedet.pipeline import RunResult
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

# How each measure's value is shown.
RATE_MEASURES = {"participation", "proficiency", "indicator_3a", "indicator_3b", "indicator_3c",
                 "indicator_9", "indicator_10", "indicator_4a", "indicator_4b", "timeline", "indicator_11",
                 "transition", "indicator_13", "alternate_rate", "correction", "timeline_days_late"}
MEASURE_TITLES = {
    "participation": "Participation rate of students with IEPs",
    "proficiency": "Proficiency rate of students with IEPs",
    "performance_index": "Performance index (PI) of students with IEPs",
    "ayp": "Adequate yearly progress of the students-with-disabilities subgroup",
    "indicator_3a": "Indicator 3A: percent of districts meeting AYP (of those meeting the minimum n)",
    "indicator_3b": "Indicator 3B: statewide participation rate",
    "indicator_3c": "Indicator 3C: statewide proficiency rate",
    "risk_ratio": "Risk ratio of each racial/ethnic group against the other groups (34 CFR 300.647)",
    "alternate_risk_ratio": "Alternate risk ratio: against the other groups statewide",
    "disproportionality": "Significant disproportionality: the ratio exceeds the threshold in consecutive years",
    "indicator_9": "Indicator 9: percent of LEAs with disproportionate representation from inappropriate identification",
    "indicator_10": "Indicator 10: the same, in specific disability categories",
    "indicator_9_excluded": "Indicator 9: LEAs excluded by the minimum n or cell",
    "indicator_10_excluded": "Indicator 10: LEAs excluded by the minimum n or cell",
    "discipline_rate": "Suspension/expulsion of more than 10 days: rate of students with IEPs against the comparison",
    "indicator_4b": "Indicator 4B: discrepancy by race/ethnicity with contributing policies",
    "indicator_4a": "Indicator 4A: percent of LEAs with a significant discrepancy",
    "indicator_4a_excluded": "Indicator 4A: LEAs excluded by the minimum n or cell",
    "indicator_4b_excluded": "Indicator 4B: LEAs excluded by the minimum n or cell",
}
SHEET_ORDER = ["participation", "proficiency", "performance_index", "ayp"]
QUALIFIER_COLS = ["subject", "grade_band", "assessment", "race_ethnicity", "disability", "category"]
FORMULA_START = ("=", "+", "-", "@")


def value_format(measure: str) -> str:
    if measure in RATE_MEASURES:
        return PERCENT
    if measure == "ayp":
        return "0"
    return DECIMAL


def csv_safe(df: pl.DataFrame) -> pl.DataFrame:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe (OWASP CSV injection)."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.String:
            c = pl.col(name)
            exprs.append(pl.when(c.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + c).otherwise(c).alias(name))
    return df.with_columns(exprs) if exprs else df


def _used_qualifiers(df: pl.DataFrame) -> list[str]:
    return [q for q in QUALIFIER_COLS if df.get_column(q).null_count() < df.height]


def write_outputs(result: RunResult, out: Path, run_options: dict) -> list[Path]:
    """Write every output file into `out` (a fresh temporary folder); return the paths written."""
    m = result.measures
    written: list[Path] = []
    with_names = m.with_columns(
        pl.col("district_id").replace_strict(result.district_names, default=None, return_dtype=pl.String).alias("district_name")
    ).select(["school_year", "district_id", "district_name", *MEASURE_COLUMNS[2:]])

    parquet = out / "measures.parquet"
    with_names.write_parquet(parquet, statistics=False, compression="zstd")
    written.append(parquet)
    csv = out / "measures.csv"
    csv_safe(with_names).write_csv(csv)
    written.append(csv)

    if result.determinations is not None:
        det_csv = out / "determinations.csv"
        csv_safe(result.determinations.table).write_csv(det_csv)
        written.append(det_csv)
        factors = out / "factors.parquet"
        result.determinations.factors.write_parquet(factors, statistics=False, compression="zstd")
        written.append(factors)

    xlsx = out / "determinations.xlsx"
    _workbook(result, with_names, xlsx)
    written.append(xlsx)

    manifest = out / "manifest.json"
    manifest.write_text(json.dumps(_manifest(result, run_options, written), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    written.append(manifest)
    return written


def _workbook(result: RunResult, m: pl.DataFrame, path: Path) -> None:
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


def _manifest(result: RunResult, run_options: dict, written: list[Path]) -> dict:
    p = result.profile
    return {
        "tool": "sedet",
        "version": __version__,
        "profile": {"id": p.id, "file": p.path.name, "sha256": p.sha256, "run_type": p.meta.run_type},
        "school_year": result.year,
        "years_in_bundle": result.years,
        "run": run_options,
        "inputs": [
            {
                "table": t.name,
                "file": t.source.label,
                "sheet": t.source.sheet,
                "sha256": result.bundle.files[t.source.label],
                "rows_read": t.rows_read,
                "rows_rejected": 0,
                "columns_ignored": t.columns_ignored,
            }
            for t in result.bundle.tables.values()
        ],
        "measure_rows": result.measures.height,
        "outputs": [{"file": f.name, "sha256": _sha(f)} for f in written],
    }


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
