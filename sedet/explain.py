"""`sedet explain`: one district's measure rows, readable, with the counts behind each value."""

from __future__ import annotations

import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from sedet.measures.common import QUALIFIERS
from sedet.pipeline import RunResult
from sedet.report.writer import MEASURE_TITLES, RATE_MEASURES


def show_value(measure: str, value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "-"
    if measure in RATE_MEASURES:
        return f"{_half_up(value * 100, decimals)}%"
    if measure == "ayp":
        return "made" if value == 1 else "not made"
    if measure == "disproportionality":
        return f"{value:.0f} yr"
    return f"{_half_up(value, decimals)}"


def _half_up(x: float, decimals: int) -> str:
    from decimal import ROUND_HALF_UP, Decimal

    q = Decimal(1).scaleb(-decimals)
    return str(Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP))


def _count(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


MEASURE_ORDER = ["participation", "proficiency", "performance_index", "ayp", "risk_ratio", "disproportionality",
                 "discipline_rate", "indicator_4b"]
RATIO_MEASURES = ("risk_ratio", "alternate_risk_ratio")
ALL_WORDS = {"subject": "all subjects", "grade_band": "all grades", "assessment": "all assessments",
             "race_ethnicity": "all groups", "disability": "all disabilities", "category": "all categories"}


def _pct(num: float | None, den: float | None) -> str:
    if num is None or den is None or den == 0:
        return "-"
    return f"{_half_up(100 * num / den, 1)}%"


def _per_child(num: float | None, den: float | None) -> str:
    if num is None or den is None or den == 0:
        return "-"
    return f"{_half_up(num / den, 2)}/child"


def render_ratios(console: Console, rows: pl.DataFrame, year: int) -> None:
    """Risk ratios as one compact table per category: every group's counts, risks and ratio."""
    rows = rows.filter(pl.col("school_year") == year)
    for category in rows.get_column("category").unique().sort().to_list():
        part = rows.filter(pl.col("category") == category).sort("race_ethnicity")
        t = Table(title=f"{category}: risk ratios, {year}", title_justify="left", box=box.SIMPLE, pad_edge=False)
        for name, just in (("group", "left"), ("outcome/group", "right"), ("risk", "right"),
                           ("comparison", "right"), ("comp. risk", "right"), ("ratio", "right"),
                           ("compared with", "left"), ("result", "left")):
            t.add_column(name, justify=just, no_wrap=True)
        risk = _per_child if category == "discipline.TOTAL" else _pct
        for r in part.iter_rows(named=True):
            ratio = "-" if r["value"] is None else _half_up(r["value"], 2)
            t.add_row(
                r["race_ethnicity"] or "",
                f"{_count(r['numerator'])}/{_count(r['denominator'])}",
                risk(r["numerator"], r["denominator"]),
                f"{_count(r['comparison_numerator'])}/{_count(r['comparison_denominator'])}",
                risk(r["comparison_numerator"], r["comparison_denominator"]),
                ratio,
                "state" if r["measure"] == "alternate_risk_ratio" else "LEA",
                r["flag"] or r["status"],
            )
        console.print(t)


def render(console: Console, result: RunResult, district: str, rows: pl.DataFrame) -> None:
    """Print, for each measure, one line per row: qualifiers, numerator / denominator = value, target,
    verdict and status, and under it how the value came about. Readable at any terminal width."""
    name = result.district_names.get(district)
    dec = result.profile.meta.display_decimals
    console.print(f"District {district}" + (f" ({name})" if name else "") +
                  f", school year {result.year}, profile {result.profile.id}", markup=False)
    present = rows.get_column("measure").unique().to_list()
    ordered = [m for m in MEASURE_ORDER if m in present] + sorted(m for m in present if m not in MEASURE_ORDER)
    ratio_rows = rows.filter(pl.col("measure").is_in(RATIO_MEASURES))
    for measure in ordered:
        if measure in RATIO_MEASURES:
            if measure == "risk_ratio" or "risk_ratio" not in present:
                console.print()
                console.print(f"risk ratios: {MEASURE_TITLES['risk_ratio']}", style="bold", markup=False)
                render_ratios(console, ratio_rows, result.year)
            continue
        part = rows.filter(pl.col("measure") == measure)
        quals = [q for q in QUALIFIERS if part.get_column(q).null_count() < part.height]
        console.print()
        console.print(f"{measure}: {MEASURE_TITLES.get(measure, measure)}", style="bold", markup=False)
        notes = part.get_column("note").unique()
        shared_note = notes.len() == 1
        if shared_note and notes[0]:
            console.print(f"  {notes[0]}", markup=False, style="dim")
        for r in part.iter_rows(named=True):
            label = " ".join(str(r[q]) if r[q] is not None else ALL_WORDS.get(q, "all") for q in quals) or measure
            value = show_value(measure, r["value"], dec)
            if r["numerator"] is not None and r["denominator"] is not None:
                figure = f"{_count(r['numerator'])} / {_count(r['denominator'])} = {value}"
            else:
                figure = value
            target = "" if r["threshold"] is None else f"  target {show_value(measure, r['threshold'], dec)}"
            verdict = f"  {r['flag']}" if r["flag"] else ""
            console.print(f"  {label:<26} {figure}{target}{verdict}  [{r['status']}]", markup=False, highlight=False)
            if r["note"] and not shared_note:
                console.print(f"  {'':<26} {r['note']}", markup=False, style="dim")
