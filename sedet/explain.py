"""`sedet explain`: one district's measure rows, readable, with the counts behind each value."""

from __future__ import annotations

import polars as pl
from rich.console import Console

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
    return f"{_half_up(value, decimals)}"


def _half_up(x: float, decimals: int) -> str:
    from decimal import ROUND_HALF_UP, Decimal

    q = Decimal(1).scaleb(-decimals)
    return str(Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP))


def _count(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


MEASURE_ORDER = ["participation", "proficiency", "performance_index", "ayp"]


def render(console: Console, result: RunResult, district: str, rows: pl.DataFrame) -> None:
    """Print, for each measure, one line per row: qualifiers, numerator / denominator = value, target,
    verdict and status, and under it how the value came about. Readable at any terminal width."""
    name = result.district_names.get(district)
    dec = result.profile.meta.display_decimals
    console.print(f"District {district}" + (f" ({name})" if name else "") +
                  f", school year {result.year}, profile {result.profile.id}", markup=False)
    present = rows.get_column("measure").unique().to_list()
    ordered = [m for m in MEASURE_ORDER if m in present] + sorted(m for m in present if m not in MEASURE_ORDER)
    for measure in ordered:
        part = rows.filter(pl.col("measure") == measure)
        quals = [q for q in QUALIFIERS if part.get_column(q).null_count() < part.height]
        console.print()
        console.print(f"{measure}: {MEASURE_TITLES.get(measure, measure)}", style="bold", markup=False)
        notes = part.get_column("note").unique()
        shared_note = notes.len() == 1
        if shared_note and notes[0]:
            console.print(f"  {notes[0]}", markup=False, style="dim")
        for r in part.iter_rows(named=True):
            label = " ".join(str(r[q]) if r[q] is not None else f"all {q.replace('_', ' ')}s" for q in quals) or measure
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
