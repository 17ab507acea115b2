"""From measure rows to points, percentages, ranks and categories (docs/methods.md section 10).

All of it is polars over lazy frames: a loop over the profile's factors and conditions builds
expressions (a state has a handful), never a loop over districts.

1. `score_factors`: each factor selects its measure rows for every LEA (of the year determined,
   or this year's value minus the prior year's for an improvement factor), keeps the rows whose
   status is usable, combines their values, and maps them to points with the first matching
   rule. An LEA with no usable row gets `n/a` and the factor leaves its points possible.
2. `percentages`: weighted earned / weighted possible per group; groups weighted (a group with no
   applicable factor dropped and the weights renormalised, or replaced by another group's
   percentage); without groups, over every factor. With the profile's own score, the same with
   the weights of the applicable factors in place of the points possible: a weighted mean on the
   factors' own scale.
3. `categorize`: the profile's method (percentile rank, cut points on the percentage or the
   score, or alignment with an accountability level), then the conditions in order (any test on
   measure rows or facts, or consecutive years of the history table; force, escalate or only
   flag; every LEA, placed or not), then case-by-case overrides, then the support tier, with
   what placed the category (`placed_by`).

Percentages and scores are rounded to 9 decimals before ranking and cutting, so LEAs equal in
arithmetic tie, and a value equal to a cut point in arithmetic is on it, even when floating point
differs in the last bit (0.6 x 2.0 + 0.4 x 2.0 = 2.0000000000000004).
"""

from __future__ import annotations

import datetime

import polars as pl

from sedet.determine.params import Condition, Determination, Factor, Group, PointRule, Score
from sedet.model import EPS

NA = "n/a"


def _select(rows: pl.LazyFrame, measure: str, where: dict[str, str]) -> pl.LazyFrame:
    out = rows.filter(pl.col("measure") == measure)
    for col, want in where.items():
        if want == "*":
            continue
        out = out.filter(pl.col(col).is_null() if want == "all" else pl.col(col) == want)
    return out


def _rule_test(r: PointRule) -> pl.Expr:
    """Whether one rule of a points table matches an LEA's combined `value` and list of `flags`."""
    v = pl.col("value")
    if r.otherwise:
        return pl.lit(True)
    if r.at_least is not None:
        return v >= r.at_least - EPS
    if r.above is not None:
        return v > r.above + EPS
    if r.at_most is not None:
        return v <= r.at_most + EPS
    if r.below is not None:
        return v < r.below - EPS
    if r.flag is not None:
        return pl.col("flags").list.contains(r.flag)
    return ~pl.col("flags").list.contains(r.no_flag)


def _rule_expr(factor: Factor) -> pl.Expr:
    """Points for an LEA: the first rule of the factor's points table that matches."""
    expr: pl.Expr = pl.lit(None, pl.Float64)
    for r in reversed(factor.points):  # build the chain from the last rule, so the first rule wins
        expr = pl.when(_rule_test(r).fill_null(False)).then(pl.lit(r.points)).otherwise(expr)
    return expr


def score_factors(measures: pl.LazyFrame, factors: list[Factor], leas: pl.LazyFrame, year: int) -> pl.LazyFrame:
    """One row per LEA and factor: value, numerator, denominator, points, possible, status, note.
    `measures` holds the rows of `year`, and of the year before when a factor scores a change."""
    rows = measures.filter(pl.col("district_id").is_not_null())
    parts = [_score_factor(rows, leas, order, f, year) for order, f in enumerate(factors)]
    return pl.concat(parts) if parts else pl.LazyFrame()


def _combined(rows: pl.LazyFrame, f: Factor, year: int) -> pl.LazyFrame:
    """Per LEA, the factor's rows of one year: how many, how many usable, the combined value, the
    counts behind it, the flags, why the rows are not usable, the note."""
    usable = ~pl.col("status").is_in(f.not_applicable)
    vals = pl.col("value").filter(usable)
    combine = {"only": vals.first(), "min": vals.min(), "max": vals.max(), "mean": vals.mean(), "sum": vals.sum()}
    return _select(rows.filter(pl.col("school_year") == year), f.measure, f.where).group_by("district_id").agg(
        pl.len().alias("n_rows"),
        usable.sum().alias("n_usable"),
        combine[f.combine].alias("value"),
        pl.col("numerator").filter(usable).first().alias("numerator"),
        pl.col("denominator").filter(usable).first().alias("denominator"),
        pl.col("flag").filter(usable).drop_nulls().unique().sort().alias("flags"),
        pl.col("status").filter(~usable).drop_nulls().unique().sort().alias("why_not"),
        pl.col("note").filter(usable).first().alias("measure_note"),
    )


def _change_from_prior(agg: pl.LazyFrame, rows: pl.LazyFrame, f: Factor, year: int) -> pl.LazyFrame:
    """A factor scored on improvement: its value becomes this year's minus the prior year's (null, so
    not applicable, when the prior year has no usable value); the note says both."""
    prior = _combined(rows, f, year - 1).select(
        "district_id", pl.when(pl.col("n_usable") > 0).then(pl.col("value")).alias("prior"))
    joined = agg.join(prior, on="district_id", how="left")
    now, before = pl.col("value"), pl.col("prior")
    note = (pl.lit(f"change from {year - 1}: ") + before.round(4).cast(pl.String) + pl.lit(" to ")
            + now.round(4).cast(pl.String))
    return joined.with_columns(
        (now - before).alias("value"),
        pl.when(before.is_null()).then(pl.lit(0, pl.UInt32)).otherwise(pl.col("n_usable")).alias("n_usable"),
        pl.when(before.is_null()).then(pl.col("why_not").list.concat(pl.lit([f"no usable value in {year - 1}"])))
        .otherwise(pl.col("why_not")).alias("why_not"),
        note.alias("measure_note"),
        pl.lit(None, pl.Float64).alias("numerator"), pl.lit(None, pl.Float64).alias("denominator"),
    ).drop("prior")


def _score_factor(rows: pl.LazyFrame, leas: pl.LazyFrame, order: int, f: Factor, year: int) -> pl.LazyFrame:
    agg = _combined(rows, f, year)
    if f.value_of == "change_from_prior_year":
        agg = _change_from_prior(agg, rows, f, year)
    scored = leas.join(agg, on="district_id", how="left").with_columns(
        pl.col("n_rows").fill_null(0), pl.col("n_usable").fill_null(0),
        pl.col("flags").fill_null(pl.lit([], pl.List(pl.String))),
    )
    applicable = pl.col("n_usable") > 0
    # The counts behind a value are shown where the factor reads one row; a factor that reads
    # flags over many rows (e.g. every group and category) shows its flags instead.
    one_row = pl.lit(f.uses_value) & (pl.col("n_usable") == 1)
    points = _rule_expr(f) if f.score == "points" else pl.col("value").clip(0, f.possible)
    why = (
        pl.when(pl.col("n_rows") == 0).then(pl.lit(f"n/a: no {f.measure} rows for this LEA"))
        .otherwise(pl.lit("n/a: ") + pl.col("why_not").list.join(", "))
    )
    return scored.select(
        "district_id",
        pl.lit(order).alias("factor_order"),
        pl.lit(f.id).alias("factor"),
        pl.lit(f.title).alias("factor_title"),
        pl.lit(f.group).cast(pl.String).alias("group"),
        pl.lit(f.measure).alias("measure"),
        pl.when(applicable & pl.lit(f.uses_value)).then(pl.col("value")).alias("value"),
        pl.when(applicable & one_row).then(pl.col("numerator")).alias("numerator"),
        pl.when(applicable & one_row).then(pl.col("denominator")).alias("denominator"),
        pl.when(applicable).then(pl.col("flags").list.join(", ")).alias("flags"),
        pl.when(applicable).then(points).alias("points"),
        pl.when(applicable).then(pl.lit(f.possible)).otherwise(pl.lit(0.0)).alias("possible"),
        pl.when(applicable).then(pl.lit("ok")).otherwise(pl.lit(NA)).alias("status"),
        pl.when(applicable).then(pl.col("measure_note")).otherwise(why).alias("note"),
        pl.col("n_usable"),
        pl.lit(f.combine if f.uses_value else "flags").alias("combine"),
    )


def percentages(scores: pl.LazyFrame, groups: list[Group], factors: list[Factor],
                score: Score | None = None) -> pl.LazyFrame:
    """Per LEA: points earned and possible (each factor's times its weight), the percentage (a
    fraction), with the profile's own score (`score`) the weighted mean of the points, and each
    group's figure (`group_detail`)."""
    weight = pl.col("factor").replace_strict({f.id: f.weighted for f in factors}, default=1.0,
                                             return_dtype=pl.Float64)
    scores = scores.with_columns(
        (pl.col("points") * weight).alias("w_earned"),
        (pl.col("possible") * weight).alias("w_possible"),
        pl.when(pl.col("status") == "ok").then(weight).otherwise(0.0).alias("w_weight"),
    )
    total = scores.group_by("district_id").agg(
        pl.col("w_earned").sum().alias("points_earned"),
        pl.col("w_possible").sum().alias("points_possible"),
    )
    out = total.join(_ratio(scores, groups, "w_possible", "percentage", None), on="district_id", how="left")
    if score is not None:
        out = out.join(_ratio(scores, groups, "w_weight", "score", score), on="district_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("score"), pl.lit(None, pl.String).alias("detail_score"))
    shown = "detail_score" if score is not None else "detail_percentage"
    return out.with_columns(pl.col(shown).alias("group_detail")).drop("detail_percentage", "detail_score")


def _ratio(scores: pl.LazyFrame, groups: list[Group], den: str, name: str,
           score: Score | None) -> pl.LazyFrame:
    """district_id and `name` = earned / `den` (over every factor, or per group and the groups
    weighted), rounded to 9 decimals, with the groups' figures in words (`detail_<name>`)."""
    if not groups:
        ratio = scores.group_by("district_id").agg(
            pl.col("w_earned").sum().alias("e"), pl.col(den).sum().alias("d"),
        ).select("district_id", pl.when(pl.col("d") > 0).then(pl.col("e") / pl.col("d")).round(9).alias(name),
                 pl.lit(None, pl.String).alias(f"detail_{name}"))
        return ratio
    by_group = scores.group_by("district_id", "group").agg(
        pl.col("w_earned").sum().alias("earned"), pl.col(den).sum().alias("possible")
    ).with_columns(
        pl.when(pl.col("possible") > 0).then(pl.col("earned") / pl.col("possible")).alias("pct")
    )
    wide = scores.select("district_id").unique()
    for g in groups:
        wide = wide.join(
            by_group.filter(pl.col("group") == g.id).select("district_id", pl.col("pct").alias(f"pct_{g.id}")),
            on="district_id", how="left",
        )
    wide = wide.with_columns([_effective(g) for g in groups])
    num = pl.sum_horizontal([pl.col(f"eff_{g.id}").fill_null(0) * g.weight for g in groups])
    weights = pl.sum_horizontal([pl.when(pl.col(f"eff_{g.id}").is_not_null()).then(pl.lit(g.weight)).otherwise(0.0)
                                 for g in groups])
    detail = pl.concat_str([_group_detail(g, score) for g in groups], separator="; ")
    return wide.select("district_id", pl.when(weights > 0).then(num / weights).round(9).alias(name),
                       detail.alias(f"detail_{name}"))


def fixed(value: pl.Expr, decimals: int) -> pl.Expr:
    """A number as text with exactly `decimals` decimals (2.5 -> '2.50'), half away from zero."""
    scale = 10 ** decimals
    scaled = (value.abs() * scale).round(0).cast(pl.Int64)
    sign = pl.when((value < 0) & (scaled > 0)).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = sign + (scaled // scale).cast(pl.String)
    if decimals == 0:
        return whole
    return whole + pl.lit(".") + (scaled % scale).cast(pl.String).str.zfill(decimals)


def _effective(g: Group) -> pl.Expr:
    """A group's figure as it counts: its own; with no applicable factor, dropped (null: its weight
    is renormalised away) or another group's (`when_empty = "use:<group>"`)."""
    own = pl.col(f"pct_{g.id}")
    if g.when_empty.startswith("use:"):
        return pl.coalesce(own, pl.col(f"pct_{g.when_empty.split(':', 1)[1]}")).alias(f"eff_{g.id}")
    return own.alias(f"eff_{g.id}")


def _group_detail(g: Group, score: Score | None) -> pl.Expr:
    """'results (weight 0.5): 75.0%' (or on the profile's score scale, '2.50'), with where a borrowed
    figure comes from, or 'n/a, dropped'."""
    eff = pl.col(f"eff_{g.id}")
    borrowed = pl.lit("")
    what = "percentage" if score is None else "score"
    if g.when_empty.startswith("use:"):
        source = g.when_empty.split(":", 1)[-1]
        borrowed = (pl.when(pl.col(f"pct_{g.id}").is_null())
                    .then(pl.lit(f" (no {g.id} factor applies: the {source} {what})")).otherwise(pl.lit("")))
    if score is None:
        shown = (100 * eff).round(1).cast(pl.String) + pl.lit("%") + borrowed
    else:
        shown = fixed(eff, score.decimals) + borrowed
    return pl.lit(f"{g.id} (weight {g.weight:g}): ") + pl.when(eff.is_not_null()).then(shown).otherwise(
        pl.lit("n/a, dropped"))


def _percentile(definition: str, basis: str) -> pl.Expr:
    p = pl.col(basis)
    n = p.count()
    lower = p.rank(method="min") - 1
    at_or_below = p.rank(method="max")
    equal = at_or_below - lower
    if definition == "strictly_lower":
        share = lower
    elif definition == "at_or_below":
        share = at_or_below
    else:
        share = lower + 0.5 * equal
    # rounded like the percentages: polars may compute 100 x share / n as 100 x (share / n), and a
    # 1,000-LEA run once wrote 37.800000000000004 where the run before wrote 37.8
    return pl.when(p.is_not_null()).then((100.0 * share / n).round(9))


def _passes(value: pl.Expr, bound: float, op: str) -> pl.Expr:
    """value >= bound or value > bound, up to EPS."""
    return value >= bound - EPS if op == ">=" else value > bound + EPS


def base_category(per_lea: pl.LazyFrame, det: Determination) -> pl.LazyFrame:
    """The category the method gives, before conditions and overrides (column `base`)."""
    cats = det.method_categories()
    basis = "score" if det.score is not None else "percentage"  # what LEAs are ranked and cut on
    out = per_lea.with_columns(
        _percentile(det.percentile_definition, basis).alias("percentile"),
        pl.col(basis).rank(method="min", descending=True).cast(pl.Int64).alias("rank"),
    )
    if det.method == "level_alignment":
        expr = pl.col("level").replace_strict({c.level: c.short for c in cats}, default=None, return_dtype=pl.String)
        return out.with_columns(expr.alias("base"))
    if det.method == "percentile":
        value, bounds = pl.col("percentile"), [(c, c.min_percentile) for c in cats[:-1]]
    elif det.score is not None:
        value, bounds = pl.col("score"), [(c, c.min_score) for c in cats]
    else:
        value, bounds = 100 * pl.col("percentage"), [(c, c.min_percentage) for c in cats]
    chain: pl.Expr = pl.lit(cats[-1].short)
    for c, bound in reversed(bounds):
        if bound is not None:
            chain = pl.when(_passes(value, bound, c.op)).then(pl.lit(c.short)).otherwise(chain)
    return out.with_columns(pl.when(pl.col(basis).is_not_null()).then(chain).alias("base"))


def _row_test(cond: Condition) -> pl.Expr:
    """Whether one selected measure row passes the condition's test (null: the row has no value to
    test; flags are read on every row, values only on rows whose status is ok)."""
    test, value = cond.effective()
    v, flag, usable = pl.col("value"), pl.col("flag"), pl.col("status") == "ok"
    if test == "has_flag":
        return flag == value
    if test == "lacks_flag":
        return (flag != value) | flag.is_null()
    if test in ("is_true", "is_false"):
        return pl.when(usable).then(v == (1.0 if test == "is_true" else 0.0))
    if isinstance(value, datetime.date):  # a date fact: its date is the flag, as YYYY-MM-DD
        lhs: pl.Expr = pl.when(usable).then(flag.str.to_date("%Y-%m-%d", strict=False))
        rhs: pl.Expr = pl.lit(value)
        exact = {"==": lhs == rhs, "!=": lhs != rhs}
    elif isinstance(value, str):  # a code fact or a flag, compared without regard to case
        lhs, rhs = pl.when(usable).then(flag.str.to_lowercase()), pl.lit(value.lower())
        exact = {"==": lhs == rhs, "!=": lhs != rhs}
    else:
        assert value is not None  # Condition refuses a comparison without a value
        lhs, bound = pl.when(usable).then(v), float(value)
        exact = {"==": (lhs - bound).abs() <= EPS, "!=": (lhs - bound).abs() > EPS}
        rhs = pl.lit(bound)
    if isinstance(value, float | int):  # up to EPS, as every comparison of a value with a bound
        lo, hi = rhs - EPS, rhs + EPS
    else:
        lo = hi = rhs
    ordered = {">=": lhs >= lo, ">": lhs > hi, "<=": lhs <= hi, "<": lhs < lo}
    return (exact | ordered)[str(test)]


def _condition_holds(measures: pl.LazyFrame, cond: Condition, year: int) -> pl.LazyFrame:
    """district_id, holds: for every LEA with a selected row (an LEA with none: only is_missing holds)."""
    rows = measures.filter(pl.col("district_id").is_not_null() & (pl.col("school_year") == year))
    measure, where = cond.selection()
    selected = _select(rows, measure, where)
    test, _ = cond.effective()
    if test == "is_missing":
        has_value = (pl.col("status") == "ok") & (pl.col("value").is_not_null() | pl.col("flag").is_not_null())
        return selected.group_by("district_id").agg((~has_value.any()).alias("holds"))
    passes = _row_test(cond)
    if cond.over == "all":
        holds = passes.is_not_null().any() & passes.drop_nulls().all()
    else:
        holds = passes.fill_null(False).any()
    return selected.group_by("district_id").agg(holds.alias("holds"))


def _run_holds(out: pl.LazyFrame, cond: Condition, det: Determination, history: pl.LazyFrame | None,
               year: int) -> pl.LazyFrame:
    """district_id, holds for a `consecutive` condition: this year's category so far, and the history
    table's category in each of the years before, are the condition's category (or worse)."""
    run = cond.consecutive
    assert run is not None
    severity = {c.short: i for i, c in enumerate(det.categories)}
    need = severity[run.category]

    def counts(sev: pl.Expr) -> pl.Expr:
        return (sev >= need) if run.or_worse else (sev == need)

    now = out.select("district_id", counts(_severity(pl.col("category"), severity)).fill_null(False).alias("now"))
    earlier = list(range(year - run.years + 1, year))
    if history is None:
        return now.select("district_id", pl.lit(False).alias("holds"))
    by_name = _category_names(det)
    past = history.filter(pl.col("school_year").is_in(earlier)).select(
        "district_id", counts(_severity(_short_of(pl.col("category"), by_name), severity)).alias("same"),
    ).group_by("district_id").agg(pl.col("same").fill_null(False).sum().alias("years_same"))
    return now.join(past, on="district_id", how="left").select(
        "district_id", (pl.col("now") & (pl.col("years_same").fill_null(0) == len(earlier))).alias("holds"),
    )


def _severity(category: pl.Expr, severity: dict[str, int]) -> pl.Expr:
    return category.replace_strict(severity, default=None, return_dtype=pl.Int64)


def _category_names(det: Determination) -> dict[str, str]:
    """Every way a category may be written in an input table (label or short name, any case) -> short."""
    return {c.label.lower(): c.short for c in det.categories} | {c.short.lower(): c.short for c in det.categories}


def _short_of(written: pl.Expr, by_name: dict[str, str]) -> pl.Expr:
    return written.str.to_lowercase().replace_strict(by_name, default=None, return_dtype=pl.String)


def categorize(
    per_lea: pl.LazyFrame,
    det: Determination,
    measures: pl.LazyFrame,
    year: int,
    overrides: pl.LazyFrame | None,
    history: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Category, display label, tier, the reasons and how the category was placed, for every LEA."""
    out = base_category(per_lea, det).with_columns(
        pl.col("base").alias("category"), pl.lit(None, pl.String).alias("category_label"),
        pl.lit([], pl.List(pl.String)).alias("reasons"),
        pl.when(pl.col("base").is_not_null()).then(pl.lit("method")).alias("placed_by"),
    )
    for cond in det.conditions:
        out = _apply_condition(out, cond, det, measures, year, history)
    if overrides is not None and det.overrides:
        out = _apply_overrides(out, det, overrides)
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias("ov_cat"), pl.lit(None, pl.String).alias("ov_reason"))
    return _labelled(out, det)


def _apply_condition(out: pl.LazyFrame, cond: Condition, det: Determination, measures: pl.LazyFrame,
                     year: int, history: pl.LazyFrame | None) -> pl.LazyFrame:
    """One condition: force or escalate the category of the LEAs for which it holds (those the method
    could not place too), or only give the reason (flag)."""
    severity = {c.short: i for i, c in enumerate(det.categories)}
    if cond.consecutive is not None:
        holds = _run_holds(out, cond, det, history, year)
    else:
        holds = _condition_holds(measures, cond, year)
    # an LEA with no selected row at all: only "is missing" can hold
    missing = cond.effective()[0] == "is_missing"
    out = out.join(holds, on="district_id", how="left").with_columns(pl.col("holds").fill_null(missing))
    applies = pl.col("holds")
    if cond.levels is not None:
        applies = applies & pl.col("level").is_in(cond.levels).fill_null(False)
    new: pl.Expr = pl.lit(cond.to)
    if cond.action == "force":
        changed = applies & pl.col("category").ne_missing(pl.lit(cond.to))
    elif cond.action == "escalate":
        current = _severity(pl.col("category"), severity).fill_null(-1)  # no category: any is more serious
        changed = applies & (current < severity[cond.to or ""])
    else:
        changed = pl.lit(False)
        new = pl.col("category")
    return out.with_columns(
        pl.when(changed).then(new).otherwise(pl.col("category")).alias("category"),
        pl.when(changed).then(_condition_label(cond)).otherwise(pl.col("category_label")).alias("category_label"),
        pl.when(changed).then(pl.lit(f"condition {cond.id}")).otherwise(pl.col("placed_by")).alias("placed_by"),
        pl.when(applies).then(pl.col("reasons").list.concat(pl.lit([f"{cond.id}: {cond.reason}"])))
        .otherwise(pl.col("reasons")).alias("reasons"),
    ).drop("holds")


def _condition_label(cond: Condition) -> pl.Expr:
    """How a category a condition gave is shown: its `label` template ("Level {level}-{to}") filled in,
    or null (the category's own label)."""
    if not (cond.label and cond.to):
        return pl.lit(None, pl.String)
    parts = cond.label.replace("{to}", cond.to).split("{level}")
    label = pl.lit(parts[0])
    for rest in parts[1:]:
        label = label + pl.col("level").cast(pl.String) + pl.lit(rest)
    return label  # null where it names the level and the LEA has none: the category's own label


def _apply_overrides(out: pl.LazyFrame, det: Determination, overrides: pl.LazyFrame) -> pl.LazyFrame:
    """Case-by-case decisions from the overrides table replace the category; the reason is kept."""
    ov = overrides.select(
        "district_id",
        _short_of(pl.col("category"), _category_names(det)).alias("ov_cat"),
        pl.col("reason").alias("ov_reason"),
    )
    overridden = pl.col("ov_cat").is_not_null()
    return out.join(ov, on="district_id", how="left").with_columns(
        pl.coalesce(pl.col("ov_cat"), pl.col("category")).alias("category"),
        pl.when(overridden).then(pl.lit(None, pl.String)).otherwise(pl.col("category_label")).alias("category_label"),
        pl.when(overridden).then(pl.lit("override")).otherwise(pl.col("placed_by")).alias("placed_by"),
        pl.when(overridden)
        .then(pl.col("reasons").list.concat(pl.concat_list(pl.lit("override: ") + pl.col("ov_reason"))))
        .otherwise(pl.col("reasons")).alias("reasons"),
    )


def _labelled(out: pl.LazyFrame, det: Determination) -> pl.LazyFrame:
    """The label shown, the support tier and its text, the reasons as text, and the status."""
    labels = {c.short: c.label for c in det.categories}
    tiers = {c.short: c.tier for c in det.categories if c.tier}
    tier_text = {c.short: c.tier_text for c in det.categories if c.tier_text}
    category = pl.col("category")
    why_not = "no accountability level" if det.method == "level_alignment" else "no applicable factor"
    return out.with_columns(
        pl.coalesce(pl.col("category_label"), category.replace_strict(labels, default=None, return_dtype=pl.String))
        .alias("category_label"),
        category.replace_strict(tiers, default=None, return_dtype=pl.String).alias("tier"),
        category.replace_strict(tier_text, default=None, return_dtype=pl.String).alias("tier_text"),
        pl.col("reasons").list.join("; ").alias("reasons"),
        pl.when(category.is_null()).then(pl.lit(f"not determined: {why_not}")).otherwise(pl.lit("determined"))
        .alias("status"),
    )
