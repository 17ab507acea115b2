"""Plain language for what the reports and letters show: status and flag codes in words, a factor's
target from its points table, and why an LEA earned the points it did.

One place, so that the letter, the district workbook and `sedet explain` say the same thing the
same way (docs/methods.md section 12).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl

from sedet.determine.params import Factor, PointRule
from sedet.model import EPS, MeasureInfo, RunResult, Shown

# why a measure row, or a factor, has no usable value (model.STATUSES without "ok")
STATUS_WORDS: Mapping[str, str] = {
    "below_min_n": "too few students to compute",
    "below_min_cell": "too few students in a group to compute",
    "no_data": "no data reported",
    "comparison_below_min": "too few students in the comparison group to compute",
}

# the measures' own verdicts (their `flag` column)
FLAG_WORDS: Mapping[str, str] = {
    "met": "met",
    "not_met": "not met",
    "met_eamo": "met the annual target",
    "met_safe_harbor": "met by safe harbor",
    "made": "made",
    "not_made": "not made",
    "above_cap": "above the 1% cap",
    "within_cap": "within the 1% cap",
    "identified": "identified",
    "not_identified": "not identified",
    "not_identified_reasonable_progress": "not identified (reasonable progress)",
    "exceeds": "exceeds the threshold",
    "not_exceeds": "does not exceed the threshold",
    "significant_discrepancy": "significant discrepancy",
    "no_discrepancy": "no significant discrepancy",
    "discrepancy_only": "significant discrepancy (policies not found to contribute)",
    "policies_contributed": "significant discrepancy with policies contributing",
    "all_corrected": "all corrected",
    "uncorrected": "not all corrected",
    "yes": "yes",
    "no": "no",
}


def status_words(code: str | None) -> str:
    """A row status in words ("below_min_n" -> "too few students to compute"); "" for ok or none."""
    if not code or code == "ok":
        return ""
    return STATUS_WORDS.get(code, code.replace("_", " "))


def flag_words(code: str | None) -> str:
    """A flag in words; a flag no family declares (a fact's own code or date) as written, with spaces
    for underscores."""
    if not code:
        return ""
    return FLAG_WORDS.get(code, code.replace("_", " "))


def flags_words(flags: str | Iterable[str] | None) -> str:
    """A list of flags (or the factor table's "a, b" text) in words, joined with "; "."""
    if not flags:
        return ""
    items = flags.split(", ") if isinstance(flags, str) else list(flags)
    return "; ".join(flag_words(f) for f in items if f)


def value_text(value: float | None, shown_as: Shown = "number", decimals: int = 1) -> str:
    """A value as a reader sees it: a rate as a percentage, a count whole, made/not made in words."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if shown_as == "rate":
        return f"{value * 100:.{decimals}f}%"
    if shown_as in ("count",):
        return f"{value:,.0f}"
    if shown_as == "made":
        return "made" if value >= 1 else "not made"
    text = f"{value:,.{max(decimals, 2)}f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def points_text(points: float | None) -> str:
    """Points without a needless ".0" ("2", "1.5"); "" for none."""
    if points is None:
        return ""
    return f"{points:g}"


def _rule_test(rule: PointRule, shown: Shown, decimals: int) -> str:
    def v(x: float) -> str:
        return value_text(x, shown, decimals)

    if rule.at_least is not None:
        return "100%" if shown == "rate" and rule.at_least == 1 else f"{v(rule.at_least)} or more"
    if rule.above is not None:
        return f"more than {v(rule.above)}"
    if rule.at_most is not None:
        return "none" if rule.at_most == 0 and shown in ("number", "count") else f"{v(rule.at_most)} or less"
    if rule.below is not None:
        return f"less than {v(rule.below)}"
    if rule.flag is not None:
        return flag_words(rule.flag)
    if rule.no_flag is not None:
        return f"not {flag_words(rule.no_flag)}"
    return "otherwise"


def target_text(factor: Factor, info: MeasureInfo | None = None, decimals: int = 1, yes_no: bool = False) -> str:
    """What earns the factor's full points, in words ("95.0% or more", "not identified", "yes").
    `yes_no`: the factor reads a yes/no fact (value 1 = yes).

    A value factor (score = "value") has no target: its points are its value, up to its maximum."""
    shown: Shown = info.shown_as if info is not None else "number"
    if factor.target:
        return factor.target
    if factor.score == "value":
        return f"points = value, up to {points_text(factor.possible)}"
    top = factor.possible
    full = [r for r in factor.points if r.points == top]
    if not full:
        return ""
    rule = full[0]
    if rule.otherwise:
        # full points unless an earlier rule takes some away: the target is to avoid those rules
        lower = [r for r in factor.points if not r.otherwise and r.points < top]
        flagged = [flag_words(r.flag) for r in lower if r.flag is not None]
        said = (["not " + flagged[0]] if len(flagged) == 1 else ["neither " + " nor ".join(flagged)]) \
            if flagged else []
        return "; ".join(said + [_avoid(r, shown, decimals) for r in lower if r.flag is None])
    if yes_no and rule.at_least == 1:
        return "yes"
    return _rule_test(rule, shown, decimals)


def _avoid(rule: PointRule, shown: Shown, decimals: int) -> str:
    """The opposite of a rule that takes points away ("at most 1.0%" -> "more than" is avoided)."""
    def v(x: float) -> str:
        return value_text(x, shown, decimals)

    if rule.at_least is not None:
        return f"less than {v(rule.at_least)}"
    if rule.above is not None:
        return f"{v(rule.above)} or less"
    if rule.at_most is not None:
        return f"more than {v(rule.at_most)}"
    if rule.below is not None:
        return f"{v(rule.below)} or more"
    if rule.no_flag is not None:
        return flag_words(rule.no_flag)
    return ""


def scale_text(factor: Factor, info: MeasureInfo | None = None, decimals: int = 1) -> str:
    """The whole points table in words: "2 points at 95.0% or more; 1 at 75.0% or more; else 0"."""
    shown: Shown = info.shown_as if info is not None else "number"
    if factor.score == "value":
        return f"the value is the points, from 0 to {points_text(factor.possible)}"
    parts = []
    for k, r in enumerate(factor.points):
        unit = " points" if k == 0 else ""
        if r.otherwise:
            parts.append(f"else {points_text(r.points)}{unit}")
        else:
            parts.append(f"{points_text(r.points)}{unit} when {_rule_test(r, shown, decimals)}")
    return "; ".join(parts)


@dataclass(frozen=True)
class FactorWords:
    """One factor of one LEA, in words: what a letter's table row, a workbook's page 1 and explain show."""

    id: str
    title: str
    value: str  # the LEA's value ("83.3%", "yes", "identified"), or "" when not applicable
    state: str  # the state's figure beside it
    target: str  # what earns full points
    points: str  # "1 of 2", or "not applicable"
    reason: str  # why, in a sentence without codes


def reason_text(row: Mapping, factor: Factor | None, info: MeasureInfo | None = None, decimals: int = 1,
                yes_no: bool = False) -> str:
    """Why an LEA's factor earned what it did. `row`: the factor row (status, note, flags, points,
    possible, value)."""
    if row.get("status") != "ok":
        why = [status_words(c) for c in _why_codes(row.get("note"))]
        said = "; ".join(dict.fromkeys(w for w in why if w))
        return "not applicable (" + (said or "no usable data") + "): the factor does not count"
    points, possible = row.get("points"), row.get("possible")
    if factor is None or factor.score == "value":
        return "its value is its points"
    target = target_text(factor, info, decimals, yes_no)
    said = f" ({target})" if target else ""
    if points is not None and possible is not None and points >= possible:
        return f"meets the target{said}"
    flags = flags_words(row.get("flags"))
    if not factor.uses_value and flags and not yes_no:
        return flags
    shown: Shown = info.shown_as if info is not None else "number"
    rule = matched_rule(factor, row.get("value"))
    if points and rule is not None and not rule.otherwise:  # partial points: the band that gave them
        return f"misses the target{said}; {_rule_test(rule, shown, decimals)} earns {points_text(points)}"
    return f"does not meet the target{said}"


def matched_rule(factor: Factor, value: float | None) -> PointRule | None:
    """The first rule of the points table whose value test the value meets (flag rules are skipped:
    the factor's flags decide those); None without a value."""
    if value is None:
        return None
    for r in factor.points:  # compared as the scoring compares (determine/engine.py, within EPS)
        if r.otherwise or (r.at_least is not None and value >= r.at_least - EPS) \
                or (r.above is not None and value > r.above + EPS) \
                or (r.at_most is not None and value <= r.at_most + EPS) \
                or (r.below is not None and value < r.below - EPS):
            return r
    return None


def _flag_factor(factor: Factor | None) -> bool:
    return factor is not None and not factor.uses_value


def _why_codes(note: str | None) -> list[str]:
    """The status codes a not-applicable factor's note lists ("n/a: below_min_n, no_data")."""
    if not note:
        return []
    text = note.split(":", 1)[1] if note.startswith("n/a") and ":" in note else note
    return [c.strip() for c in text.split(",") if c.strip()]


def factor_words(row: Mapping, factor: Factor | None, info: MeasureInfo | None = None,
                 decimals: int = 1, yes_no: bool = False) -> FactorWords:
    """A factor row of one LEA (joined with the state's figure: state_value, leas_below_max,
    leas_applicable) in words. `yes_no`: the factor reads a yes/no fact."""
    shown: Shown = info.shown_as if info is not None else "number"
    ok = row.get("status") == "ok"
    value = ""
    if ok:
        v = row.get("value")
        if row.get("value_token"):
            value = row["value_token"]
        elif yes_no or v is None:
            value = flags_words(row.get("flags"))
        else:
            value = value_text(v, shown, decimals)
    state_value, applicable = row.get("state_value"), row.get("leas_applicable")
    if state_value is not None and not yes_no:
        state = value_text(state_value, shown, decimals)
    elif not applicable:
        state = "applies to no LEA"
    else:
        state = f"{row.get('leas_below_max')} of {applicable} LEAs below full points"
    points = f"{points_text(row.get('points'))} of {points_text(row.get('possible'))}" if ok else "not applicable"
    return FactorWords(
        id=str(row.get("factor", "")),
        title=str(row.get("factor_title") or ""),
        value=value,
        state=state,
        target=target_text(factor, info, decimals, yes_no) if factor is not None else "",
        points=points,
        reason=reason_text(row, factor, info, decimals, yes_no),
    )


def lea_factor_words(result: RunResult, factors: pl.DataFrame | None = None) -> dict[str, list[FactorWords]]:
    """Every LEA's factors in words, in the profile's order: {district_id: [FactorWords]}.
    `factors`: the factor rows to lay out (a public release's suppressed ones); by default the run's."""
    dets = result.determinations
    if dets is None:
        return {}
    rows = _published(factors if factors is not None else dets.factors).join(dets.factor_state, on="factor",
                                                                             how="left")
    decimals = result.profile.display_decimals
    yes_no = yes_no_factors(dets.factors)  # from the run's own flags: a withheld flag changes no factor's kind
    out: dict[str, list[FactorWords]] = {}
    for r in rows.sort("district_id", "factor_order").iter_rows(named=True):
        f = dets.factor_defs.get(r["factor"])
        info = result.measure_info.get(r["measure"] or "")
        out.setdefault(r["district_id"], []).append(factor_words(r, f, info, decimals, r["factor"] in yes_no))
    return out


def _published(factors: pl.DataFrame) -> pl.DataFrame:
    """A public release's factor table holds its values as published text: a number ("0.833"), or a
    token that stands for a value withheld or coded ("*", "≥95%"). Numbers are read back as numbers
    (and worded as such); a token goes to `value_token`, and is shown as published."""
    if factors.schema.get("value") != pl.String:
        return factors
    number = pl.col("value").cast(pl.Float64, strict=False)
    return factors.with_columns(
        pl.when(number.is_null()).then(pl.col("value")).alias("value_token"), number.alias("value"))


def yes_no_factors(factors: pl.DataFrame) -> set[str]:
    """The factors that read a yes/no fact: every flag they carry is "yes" or "no" (a yes/no fact's
    row carries its answer as its flag, measures/compliance.py)."""
    per = factors.filter(pl.col("measure") == "compliance_fact").group_by("factor").agg(
        pl.col("flags").drop_nulls().is_in(["yes", "no"]).all().alias("yn"),
        pl.col("flags").drop_nulls().len().alias("n"))
    return {f for f, yn, n in per.iter_rows() if yn and n}


# ---------------------------------------------------------------------------------------------------
# The years before (pipeline.past_years): what the district workbook, the letter and `sedet trend` show


@dataclass(frozen=True)
class TrendRow:
    id: str
    title: str
    values: list[str]  # as a reader sees them, one per year ("" where the factor did not apply)
    points: list[float | None]
    numbers: list[float | None]  # the values, for a chart
    possible: float | None


@dataclass(frozen=True)
class Trend:
    years: list[int]
    categories: list[str]  # the category label each year ("" where none)
    percentages: list[float | None]
    factors: list[TrendRow]


def lea_trends(result: RunResult, with_values: bool = True) -> dict[str, Trend]:
    """Every LEA's categories and factor values over the school years the run placed (this one and the
    earlier ones the bundle holds, oldest first); `with_values` False: the categories only (a public
    release, whose earlier years' counts are not checked for small cells)."""
    dets = result.determinations
    if dets is None or result.past is None or result.past_factors is None or result.past.height == 0:
        return {}
    years = sorted({*result.past.get_column("school_year").to_list(), result.year})
    now = dets.table.select("district_id", pl.lit(result.year, pl.Int64).alias("school_year"), "category_label",
                            "percentage")
    cats = pl.concat([result.past.select(now.columns), now], how="vertical_relaxed")
    facs = pl.concat([result.past_factors.select("district_id", "school_year", "factor", "value", "points",
                                                 "possible"),
                      dets.factors.select("district_id", pl.lit(result.year, pl.Int64).alias("school_year"), "factor",
                                          "value", "points", "possible")], how="vertical_relaxed")
    decimals = result.profile.display_decimals
    order = {fid: i for i, fid in enumerate(dets.factor_defs)}
    # one row per LEA (and factor) with a list per field, a place per year: built by polars, not per LEA
    grid = pl.DataFrame({"school_year": years}, schema={"school_year": pl.Int64})
    per_lea = cats.select("district_id").unique().join(grid, how="cross").join(
        cats, on=["district_id", "school_year"], how="left").sort("district_id", "school_year") \
        .group_by("district_id", maintain_order=True).agg(pl.col("category_label").fill_null(""), "percentage")
    factors: dict[str, list[TrendRow]] = {}
    if with_values:
        keys = facs.select("district_id", "factor").unique().join(grid, how="cross")
        lists = keys.join(facs, on=["district_id", "factor", "school_year"], how="left") \
            .with_columns(pl.col("factor").replace_strict(order, default=len(order)).alias("order")) \
            .sort("district_id", "order", "school_year") \
            .group_by("district_id", "factor", maintain_order=True) \
            .agg("value", "points", pl.col("possible").filter(pl.col("possible") > 0).last())
        for district, fid, vals, pts, possible in lists.iter_rows():
            f = dets.factor_defs.get(fid)
            if f is None:
                continue
            shown = (result.measure_info.get(f.measure) or MeasureInfo(f.measure, f.measure)).shown_as
            # a factor scored on flags has points and no value; one that did not apply has neither
            texts = [value_text(v, shown, decimals) if v is not None else ("\u2014" if p is not None else "n/a")
                     for v, p in zip(vals, pts, strict=True)]
            factors.setdefault(district, []).append(TrendRow(fid, f.title, texts, pts, vals, possible))
    out: dict[str, Trend] = {}
    for district, labels, pcts in per_lea.iter_rows():
        out[str(district)] = Trend(years, labels, pcts, factors.get(district, []))
    return out
