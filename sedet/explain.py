"""`sedet explain`: one district's measure rows, readable, with the counts behind each value.

It lays out the run (model.RunResult) and the district's rows as the pipeline gives them
(pipeline.with_risks): it computes nothing."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table

from sedet.model import QUALIFIERS, MeasureInfo, MethodInfo, RunResult, measure_info


def show_value(info: MeasureInfo, value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "-"
    if info.shown_as == "rate":
        return f"{_half_up(value * 100, decimals)}%"
    if info.shown_as == "made":
        return "made" if value == 1 else "not made"
    if info.shown_as == "years":
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


RATIO_COLUMNS: list[tuple[str, JustifyMethod]] = [
    ("group", "left"), ("outcome/group", "right"), ("risk", "right"), ("comparison", "right"),
    ("comp. risk", "right"), ("ratio", "right"), ("compared with", "left"), ("result", "left"),
]
FACTOR_COLUMNS: list[tuple[str, JustifyMethod]] = [
    ("factor", "left"), ("measure", "left"), ("value", "right"), ("flags", "left"), ("points", "right"),
    ("possible", "right"), ("why", "left"),
]
ALL_WORDS = {"subject": "all subjects", "grade_band": "all grades", "assessment": "all assessments",
             "race_ethnicity": "all groups", "disability": "all disabilities", "category": "all categories"}


def _risk(risk: float | None, unit: str) -> str:
    if risk is None:
        return "-"
    return f"{_half_up(risk, 2)}/child" if unit == "per_child" else f"{_half_up(risk, 1)}%"


def render_ratios(console: Console, rows: pl.DataFrame, year: int) -> None:
    """Risk ratios as one compact table per category: every group's counts, risks and ratio. The
    measure named after its ratio family compares within the LEA, the others statewide."""
    rows = rows.filter(pl.col("school_year") == year)
    for category in rows.get_column("category").unique().sort().to_list():
        part = rows.filter(pl.col("category") == category).sort("race_ethnicity")
        t = Table(title=f"{category}: risk ratios, {year}", title_justify="left", box=box.SIMPLE, pad_edge=False)
        for name, just in RATIO_COLUMNS:
            t.add_column(name, justify=just, no_wrap=True)
        for r in part.iter_rows(named=True):
            t.add_row(
                r["race_ethnicity"] or "",
                f"{_count(r['numerator'])}/{_count(r['denominator'])}",
                _risk(r["risk"], r["risk_unit"]),
                f"{_count(r['comparison_numerator'])}/{_count(r['comparison_denominator'])}",
                _risk(r["comparison_risk"], r["risk_unit"]),
                "-" if r["value"] is None else _half_up(r["value"], 2),
                "LEA" if r["measure"] == r["ratio_family"] else "state",
                r["flag"] or r["status"],
            )
        console.print(t)


def render(console: Console, result: RunResult, district: str, rows: pl.DataFrame) -> None:
    """Print, for each measure, one line per row: qualifiers, numerator / denominator = value, target,
    verdict and status, and under it how the value came about. Readable at any terminal width."""
    name = result.district_names.get(district)
    dec = result.profile.display_decimals
    infos = result.measure_info
    console.print(f"District {district}" + (f" ({name})" if name else "") +
                  f", school year {result.year}, profile {result.profile.id}", markup=False)
    present = set(rows.get_column("measure").unique().to_list())
    ordered = [m for m in infos if m in present] + sorted(m for m in present if m not in infos)
    shown: set[str] = set()
    for measure in ordered:
        info = measure_info(measure, infos)
        if info.ratio_family is not None:
            if info.ratio_family not in shown:
                shown.add(info.ratio_family)
                _ratio_section(console, rows, infos, info.ratio_family, result.year)
            continue
        part = rows.filter(pl.col("measure") == measure)
        quals = [q for q in QUALIFIERS if part.get_column(q).null_count() < part.height]
        console.print()
        console.print(f"{measure}: {info.title}", style="bold", markup=False)
        notes = part.get_column("note").unique()
        shared_note = notes.len() == 1
        if shared_note and notes[0]:
            console.print(f"  {notes[0]}", markup=False, style="dim")
        for r in part.iter_rows(named=True):
            label = " ".join(str(r[q]) if r[q] is not None else ALL_WORDS.get(q, "all") for q in quals) or measure
            value = show_value(info, r["value"], dec)
            if r["numerator"] is not None and r["denominator"] is not None:
                figure = f"{_count(r['numerator'])} / {_count(r['denominator'])} = {value}"
            else:
                figure = value
            target = "" if r["threshold"] is None else f"  target {show_value(info, r['threshold'], dec)}"
            verdict = f"  {r['flag']}" if r["flag"] else ""
            console.print(f"  {label:<26} {figure}{target}{verdict}  [{r['status']}]", markup=False, highlight=False)
            if r["note"] and not shared_note:
                console.print(f"  {'':<26} {r['note']}", markup=False, style="dim")


def _ratio_section(console: Console, rows: pl.DataFrame, infos: Mapping[str, MeasureInfo], family: str,
                   year: int) -> None:
    members = {m.name: family for m in infos.values() if m.ratio_family == family}
    console.print()
    console.print(f"risk ratios: {measure_info(family, infos).title}", style="bold", markup=False)
    part = rows.filter(pl.col("measure").is_in(list(members)))
    render_ratios(console, part.with_columns(pl.lit(family).alias("ratio_family")), year)


def render_determination(console: Console, result: RunResult, district: str) -> None:
    """The whole chain for one LEA: factor, value, points; groups; percentage, rank, percentile;
    the method's category; conditions and overrides; the final category and tier."""
    d = result.determinations
    if d is None:
        return
    dec = result.profile.display_decimals
    f = d.factors.filter(pl.col("district_id") == district)
    row = d.table.filter(pl.col("district_id") == district)
    console.print()
    console.print("determination: how the measures become a category", style="bold", markup=False)
    t = Table(box=box.SIMPLE, pad_edge=False)
    for name, just in FACTOR_COLUMNS:
        t.add_column(name, justify=just, no_wrap=name != "why", overflow="fold")
    for r in f.iter_rows(named=True):
        t.add_row(
            f"{r['factor']} {r['factor_title']}",
            r["measure"],
            show_value(measure_info(r["measure"], result.measure_info), r["value"], dec),
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
    _totals(console, r, d.method, d.distribution.ranked, dec)
    method = d.method
    if method.method == "level_alignment":
        console.print(f"  accountability level {r['accountability_level']}", markup=False)
    base = method.label_of(r["base"]) if r["base"] else "none"
    console.print(f"  the {method.method.replace('_', ' ')} method gives: {base}", markup=False)
    if r["reasons"]:
        for reason in r["reasons"].split("; "):
            console.print(f"  then {reason}", markup=False)
    if r["placed_by"] not in (None, "method"):
        console.print(f"  placed by {r['placed_by']}", markup=False)
    final = r["category_label"] or r["status"]
    tier = f"; {r['tier']}: {r['tier_text']}" if r["tier"] else ""
    console.print(f"  determination: {final}{tier}", style="bold", markup=False)


def _totals(console: Console, r: dict, method: MethodInfo, n: int, dec: int) -> None:
    """Points and percentage, the profile's own score, the groups, the rank and percentile."""
    pct = "-" if r["percentage"] is None else f"{_half_up(100 * r['percentage'], dec)}%"
    console.print(f"  points: {_count(r['points_earned'])} of {_count(r['points_possible'])} possible = {pct}",
                  markup=False)
    sc = method.score
    if sc is not None:
        shown = "-" if r["score"] is None else sc.text(r["score"])
        console.print(f"  {sc.name}: {shown} (weighted mean of the points, scale {sc.scale_min:g}-{sc.scale_max:g})",
                      markup=False)
    if r["group_detail"]:
        console.print(f"  groups: {r['group_detail']}", markup=False)
    if r["rank"] is not None:
        basis = sc.name if sc is not None else "a percentage"
        console.print(f"  rank {r['rank']} of {n} LEAs with {basis}; percentile {_half_up(r['percentile'], 1)} "
                      f"({method.percentile_definition.replace('_', ' ')})", markup=False)
