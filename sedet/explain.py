"""`sedet explain`: one district's measure rows, readable, with the counts behind each value."""

from __future__ import annotations

import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from sedet.measures.common import QUALIFIERS
from sedet.pipeline import RunResult
from sedet.report.labels import MEASURE_TITLES, RATE_MEASURES


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


def render_determination(console: Console, result: RunResult, district: str) -> None:
    """The whole chain for one LEA: factor, value, points; groups; percentage, rank, percentile;
    the method's category; conditions and overrides; the final category and tier."""
    d = result.determinations
    if d is None:
        return
    dec = result.profile.meta.display_decimals
    f = d.factors.filter(pl.col("district_id") == district)
    row = d.table.filter(pl.col("district_id") == district)
    console.print()
    console.print("determination: how the measures become a category", style="bold", markup=False)
    t = Table(box=box.SIMPLE, pad_edge=False)
    for name, just in (("factor", "left"), ("measure", "left"), ("value", "right"), ("flags", "left"),
                       ("points", "right"), ("possible", "right"), ("why", "left")):
        t.add_column(name, justify=just, no_wrap=name != "why", overflow="fold")
    for r in f.iter_rows(named=True):
        t.add_row(
            f"{r['factor']} {r['factor_title']}",
            r["measure"],
            show_value(r["measure"], r["value"], dec) if r["value"] is not None else "-",
            r["flags"] or "",
            "n/a" if r["points"] is None else _half_up(r["points"], 1),
            _half_up(r["possible"], 1),
            "" if r["status"] == "ok" else (r["note"] or ""),
        )
    console.print(t)
    if row.height == 0:
        console.print("  this district is not in the determinations (not in the districts table)", markup=False)
        return
    r = row.row(0, named=True)
    n = d.table.filter(pl.col("percentage").is_not_null()).height
    pct = "-" if r["percentage"] is None else f"{_half_up(100 * r['percentage'], dec)}%"
    console.print(f"  points: {_count(r['points_earned'])} of {_count(r['points_possible'])} possible = {pct}", markup=False)
    if r["group_detail"]:
        console.print(f"  groups: {r['group_detail']}", markup=False)
    det = result.profile.model.determination
    if r["rank"] is not None:
        console.print(f"  rank {r['rank']} of {n} LEAs with a percentage; percentile {_half_up(r['percentile'], 1)} "
                      f"({det.percentile_definition.replace('_', ' ')})", markup=False)
    if det.method == "level_alignment":
        console.print(f"  accountability level {r['accountability_level']}", markup=False)
    base = det.by_short(r["base"]).label if r["base"] else "none"
    console.print(f"  the {det.method.replace('_', ' ')} method gives: {base}", markup=False)
    if r["reasons"]:
        for reason in r["reasons"].split("; "):
            console.print(f"  then {reason}", markup=False)
    final = r["category_label"] or r["status"]
    tier = f"; {r['tier']}: {r['tier_text']}" if r["tier"] else ""
    console.print(f"  determination: {final}{tier}", style="bold", markup=False)
