"""`sedet explain`: one district's determination, answer first, then the measure rows behind it.

The answer: the district, school year and profile; the category (and the category the method
computed, when a condition or override changed it, with why), the score, points, rank and
percentile; one line per factor with its value, points and why (the words of sedet/words.py, as
the letter and the district workbook say them). Then the details: the measure rows with the counts
behind each value, all of them or those a factor reads (--factor) or of a measure (--measure).

It lays out the run (model.RunResult) and the district's rows as the pipeline gives them
(pipeline.with_risks): it computes nothing."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl
from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from sedet.model import QUALIFIERS, MeasureInfo, RunResult, measure_info, school_year_text
from sedet.words import FactorWords, lea_factor_words, points_text, value_text


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
ANSWER_WIDTH = 120  # the answer is no wider than this, however wide the console
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


def render(console: Console, result: RunResult, rows: pl.DataFrame, selected: str = "") -> None:
    """The details: for each measure, one line per row: qualifiers, numerator / denominator = value,
    target, verdict and status, and under it how the value came about. `selected`: which rows these
    are, when --factor or --measure chose them."""
    dec = result.profile.display_decimals
    infos = result.measure_info
    console.print()
    console.print("Details: the measure rows behind the values" + (f" ({selected})" if selected else ""),
                  style="bold", markup=False)
    if rows.height == 0:
        console.print("  no measure rows", markup=False)
        return
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
        _measure_section(console, rows.filter(pl.col("measure") == measure), info, dec)


def _measure_section(console: Console, part: pl.DataFrame, info: MeasureInfo, dec: int) -> None:
    measure = info.name
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


# ---------------------------------------------------------------------------------------------------
# Which rows the details show (--factor, --measure)


def known_factors(result: RunResult) -> list[str]:
    """The profile's factors, in its order."""
    return list(result.determinations.factor_defs) if result.determinations is not None else []


def known_measures(result: RunResult) -> list[str]:
    """The measures the run wrote, in the order the details show them."""
    present = set(result.measures.get_column("measure").unique().to_list())
    return [m for m in result.measure_info if m in present] + sorted(present - set(result.measure_info))


def choose(asked: Iterable[str], known: list[str]) -> tuple[list[str], list[str]]:
    """The names asked for, spelt as the profile spells them (case does not matter), and those unknown."""
    by_fold = {k.casefold(): k for k in known}
    names = [by_fold.get(a.casefold(), a) for a in asked]
    return list(dict.fromkeys(n for n in names if n in known)), [n for n in names if n not in known]


def unknown_choice(result: RunResult, factors: list[str], measures: list[str]) -> tuple[str, str] | None:
    """What is wrong with --factor and --measure, as (message, hint) for a usage error; None if nothing."""
    _, bad_factors = choose(factors, known_factors(result))
    if bad_factors:
        known = known_factors(result)
        if not known:
            return (f"--factor {bad_factors[0]}: profile {result.profile.id} has no factors (it assigns no "
                    "categories)", "use --measure to choose rows, e.g. --measure " + known_measures(result)[0])
        return (f"unknown factor {', '.join(map(repr, bad_factors))} in profile {result.profile.id}",
                "the profile's factors: " + ", ".join(known))
    _, bad_measures = choose(measures, known_measures(result))
    if bad_measures:
        return (f"unknown measure {', '.join(map(repr, bad_measures))} in profile {result.profile.id}",
                "the measures of this run: " + ", ".join(known_measures(result)))
    return None


def _factor_reads(result: RunResult, factor: Any) -> pl.Expr:
    """The rows a factor (determine.params.Factor) reads: its measure, its `where` ('all': the qualifier
    is empty, '*': any value), the school year determined (as determine/engine.py selects them)."""
    reads = (pl.col("measure") == factor.measure) & (pl.col("school_year") == result.year)
    for col, want in factor.where.items():
        if want != "*":
            reads &= pl.col(col).is_null() if want == "all" else pl.col(col) == want
    return reads


def select_rows(result: RunResult, rows: pl.DataFrame, factors: list[str], measures: list[str]) -> pl.DataFrame:
    """The rows the factors read and the rows of the measures (all rows when neither is given), in
    their order. Names are checked first (unknown_choice)."""
    if not factors and not measures:
        return rows
    defs = result.determinations.factor_defs if result.determinations is not None else {}
    keep = pl.col("measure").is_in(choose(measures, known_measures(result))[0])
    for f in choose(factors, known_factors(result))[0]:
        keep |= _factor_reads(result, defs[f])
    return rows.filter(keep)


def selection_text(result: RunResult, factors: list[str], measures: list[str]) -> str:
    """Which rows the details show, in words ("rows factor F2 reads: disproportionality, ...")."""
    defs = result.determinations.factor_defs if result.determinations is not None else {}
    said = []
    for f in choose(factors, known_factors(result))[0]:
        where = ", ".join(f"{c} {_where_words(v)}" for c, v in defs[f].where.items())
        said.append(f"rows factor {f} reads: {defs[f].measure}" + (f" ({where})" if where else "")
                    + f", {result.year}")
    said += [f"rows of {m}" for m in choose(measures, known_measures(result))[0]]
    return "; ".join(said)


def _where_words(want: str) -> str:
    return {"*": "any", "all": "empty (all)"}.get(want, want)


# ---------------------------------------------------------------------------------------------------
# The answer: what the district got, and from which factors


def determination_of(result: RunResult, district: str) -> dict | None:
    """The district's determination as --json gives it; None without determinations or without a row."""
    d = result.determinations
    if d is None:
        return None
    rows = d.table.filter(pl.col("district_id") == district)
    if rows.height == 0:
        return None
    r = rows.row(0, named=True)
    base = r["base"]
    return {
        "category": r["category"],
        "category_label": r["category_label"],
        "status": r["status"],
        "computed_category": base,
        "computed_category_label": d.method.label_of(base) if base else None,
        "method": d.method.method,
        "placed_by": r["placed_by"],
        "reasons": r["reasons"].split("; ") if r["reasons"] else [],
        "score": r.get("score"),
        "score_name": d.method.score.name if d.method.score is not None else None,
        "points_earned": r["points_earned"],
        "points_possible": r["points_possible"],
        "percentage": r["percentage"],
        "rank": r["rank"],
        "ranked_of": d.distribution.ranked,
        "percentile": r["percentile"],
        "percentile_definition": d.method.percentile_definition,
        "accountability_level": r["accountability_level"],
        "groups": r["group_detail"],
        "tier": r["tier"],
        "tier_text": r["tier_text"],
    }


def factors_of(result: RunResult, district: str) -> list[dict]:
    """The district's factors as --json gives them: the numbers of the factor rows, and their words."""
    d = result.determinations
    if d is None:
        return []
    words = {w.id: w for w in lea_factor_words(result).get(district, [])}
    out = []
    for r in d.factors.filter(pl.col("district_id") == district).sort("factor_order").iter_rows(named=True):
        w = words.get(r["factor"]) or FactorWords(r["factor"], r["factor_title"] or "", "", "", "", "", "")
        f = d.factor_defs.get(r["factor"])
        out.append({
            "id": w.id, "title": w.title, "value": r["value"], "value_text": w.value, "state_text": w.state,
            "target": w.target, "points": r["points"], "possible": r["possible"], "points_text": w.points,
            "status": r["status"], "reason": w.reason, "measure": r["measure"],
            "where": dict(f.where) if f is not None else {},
        })
    return out


def explain_json(result: RunResult, district: str, rows: pl.DataFrame) -> dict:
    """Everything `explain --json` prints: the answer and the (chosen) measure rows."""
    return {
        "district": {"id": district, "name": result.district_names.get(district)},
        "school_year": result.year,
        "profile": {"id": result.profile.id, "title": result.profile.title},
        "determination": determination_of(result, district),
        "factors": factors_of(result, district),
        "measures": rows.to_dicts(),
    }


def render_answer(console: Console, result: RunResult, district: str) -> None:
    """The answer, first: who, which year and method; the category, the score, points, rank and
    percentile; then one line per factor. Fits the console's width (long text wraps)."""
    name = result.district_names.get(district)
    say = _sayer(console)
    say(f"District {district}" + (f" ({name})" if name else "") + f", school year {school_year_text(result.year)}",
        style="bold")
    say(f"Profile {result.profile.id}: {result.profile.title}")
    if result.determinations is None:
        console.print()
        say("This profile assigns no categories: it computes the measures only.")
        return
    det = determination_of(result, district)
    if det is None:
        say("This district is not in the determinations (it is not in the districts table).")
        return
    console.print()
    _category(say, det, result.profile.display_decimals, result)
    factors = factors_of(result, district)
    if factors:
        console.print()
        console.print(_factor_table(factors, console.width))


Say = Callable[..., None]  # say(text, style=None, indent=0): a paragraph, wrapped


def _sayer(console: Console) -> Say:
    def say(text: str, style: str | None = None, indent: int = 0) -> None:
        # wrapped at the console's width, continuation lines indented like the first
        lines = textwrap.wrap(text, width=max(min(console.width, ANSWER_WIDTH), 20), initial_indent=" " * indent,
                              subsequent_indent=" " * indent, break_on_hyphens=False) or [""]
        for line in lines:
            console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)

    return say


def _category(say: Say, det: dict, dec: int, result: RunResult) -> None:
    """The category and how it came about, the score, points, rank and percentile."""
    label = det["category_label"] or det["status"]
    say(f"Determination: {label}", style="bold")
    if det["tier"]:
        say(f"{det['tier']}: {det['tier_text']}", indent=2)
    if det["computed_category"] and det["computed_category"] != det["category"]:
        say(f"computed by the {det['method'].replace('_', ' ')} method: {det['computed_category_label']}; "
            f"placed by {det['placed_by']}", indent=2)
    for reason in det["reasons"]:
        say(f"why: {reason}", indent=2)
    if det["accountability_level"] is not None and det["method"] == "level_alignment":
        say(f"accountability level {det['accountability_level']}", indent=2)
    sc = result.determinations.method.score if result.determinations is not None else None
    if sc is not None:
        shown = "none" if det["score"] is None else sc.text(det["score"])
        say(f"{sc.name}: {shown} (scale {sc.scale_min:g}-{sc.scale_max:g})")
    if det["points_possible"] == 0:
        say("Points: none possible (no factor applies)")
    elif det["points_possible"] is not None:
        pct = value_text(det["percentage"], "rate", dec) or "none"
        say(f"Points: {points_text(det['points_earned'])} of {points_text(det['points_possible'])} possible "
            f"= {pct}")
    if det["groups"]:
        say(f"groups: {det['groups']}", indent=2)
    if det["rank"] is not None:
        basis = sc.name if sc is not None else "a percentage"
        say(f"Rank {det['rank']} of {det['ranked_of']} LEAs with {basis}; percentile "
            f"{_half_up(det['percentile'], 1)} ({det['percentile_definition'].replace('_', ' ')})")


def _factor_table(factors: list[dict], width: int) -> Table:
    """One row per factor: the factor (id and title), value, points, why. Every column wraps rather than
    being dropped: value and points take what they need (up to 16 and 10 characters), the factor two
    fifths of the rest (at least its longest id or word, up to 30) and the why the others, up to
    ANSWER_WIDTH in all."""
    heads = ("factor", "value", "points", "why")
    rows = [(f["id"], f["title"], f["value_text"] or "-", f["points_text"], f["reason"]) for f in factors]
    value = min(max(len(heads[1]), *(len(r[2]) for r in rows)), 16)
    points = min(max(len(heads[2]), *(len(r[3]) for r in rows)), 10)
    room = min(width, ANSWER_WIDTH) - value - points - 2 * (len(heads) - 1)  # two spaces between columns
    longest = max(len(_factor_cell(r[0], r[1], 1000)) for r in rows)
    factor = min(longest, max(min(max(_narrowest(r[0], r[1]) for r in rows), 30), room * 2 // 5))
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0), title="Factors",
              title_justify="left", title_style="bold")
    t.add_column(heads[0], width=factor, overflow="fold")
    t.add_column(heads[1], width=value, justify="right", overflow="fold")
    t.add_column(heads[2], width=points, overflow="fold")
    t.add_column(heads[3], width=max(room - factor, 12), overflow="fold")
    for r in rows:
        t.add_row(Text(_factor_cell(r[0], r[1], factor)), *(Text(c) for c in r[2:]))
    return t


def _factor_cell(id_: str, title: str, width: int) -> str:
    """The id, then the title wrapped under it: beside a short id, on the next line after a long one."""
    if not title or title == id_:
        return id_
    if len(id_) > 8:
        return id_ + "\n" + textwrap.fill(title, width, initial_indent="  ", subsequent_indent="  ")
    return textwrap.fill(f"{id_} {title}", width, subsequent_indent=" " * (len(id_) + 1))


def _narrowest(id_: str, title: str) -> int:
    """The narrowest the factor cell can be without breaking a word of its title."""
    word = max((len(w) for w in title.split()), default=0)
    return max(len(id_), word + 2) if len(id_) > 8 else len(id_) + 1 + word
