"""From measure rows to points, percentages, ranks and categories (docs/methods.md section 10).

All of it is polars over lazy frames: a loop over the profile's factors builds expressions (a
state has a handful of factors), never a loop over districts.

1. `score_factors`: each factor selects its measure rows for every LEA, keeps the rows whose
   status is usable, combines their values, and maps them to points with the first matching
   rule. An LEA with no usable row gets `n/a` and the factor leaves its points possible.
2. `percentages`: earned / possible per group; groups weighted (a group with no applicable
   factor dropped and the weights renormalised, or replaced by another group's percentage);
   without groups, earned / possible over every factor.
3. `categorize`: the profile's method (percentile rank, cut points, or alignment with an
   accountability level), then conditions (force, or escalate to a more serious category),
   then case-by-case overrides, then the support tier.

Percentages are rounded to 9 decimals before ranking, so LEAs whose percentages are equal in
arithmetic tie even when floating point differs in the last bit.
"""

from __future__ import annotations

import polars as pl

from sedet.determine.params import Condition, Determination, Factor, Group, PointRule
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
    """One row per LEA and factor: value, numerator, denominator, points, possible, status, note."""
    rows = measures.filter(pl.col("district_id").is_not_null() & (pl.col("school_year") == year))
    parts = [_score_factor(rows, leas, order, f) for order, f in enumerate(factors)]
    return pl.concat(parts) if parts else pl.LazyFrame()


def _score_factor(rows: pl.LazyFrame, leas: pl.LazyFrame, order: int, f: Factor) -> pl.LazyFrame:
    usable = ~pl.col("status").is_in(f.not_applicable)
    vals = pl.col("value").filter(usable)
    combine = {"only": vals.first(), "min": vals.min(), "max": vals.max(), "mean": vals.mean(), "sum": vals.sum()}
    agg = _select(rows, f.measure, f.where).group_by("district_id").agg(
        pl.len().alias("n_rows"),
        usable.sum().alias("n_usable"),
        combine[f.combine].alias("value"),
        pl.col("numerator").filter(usable).first().alias("numerator"),
        pl.col("denominator").filter(usable).first().alias("denominator"),
        pl.col("flag").filter(usable).drop_nulls().unique().sort().alias("flags"),
        pl.col("status").filter(~usable).drop_nulls().unique().sort().alias("why_not"),
        pl.col("note").filter(usable).first().alias("measure_note"),
    )
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


def percentages(scores: pl.LazyFrame, groups: list[Group]) -> pl.LazyFrame:
    """Per LEA: points earned, possible, the percentage (a fraction), and each group's percentage."""
    total = scores.group_by("district_id").agg(
        pl.col("points").sum().alias("points_earned"),
        pl.col("possible").sum().alias("points_possible"),
    )
    if not groups:
        earned, possible = pl.col("points_earned"), pl.col("points_possible")
        return total.with_columns(
            pl.when(possible > 0).then(earned / possible).round(9).alias("percentage"),
            pl.lit(None, pl.String).alias("group_detail"),
        )
    by_group = scores.group_by("district_id", "group").agg(
        pl.col("points").sum().alias("earned"), pl.col("possible").sum().alias("possible")
    ).with_columns(
        pl.when(pl.col("possible") > 0).then(pl.col("earned") / pl.col("possible")).alias("pct")
    )
    wide = total.select("district_id")
    for g in groups:
        wide = wide.join(
            by_group.filter(pl.col("group") == g.id).select("district_id", pl.col("pct").alias(f"pct_{g.id}")),
            on="district_id", how="left",
        )
    wide = wide.with_columns([_effective(g) for g in groups])
    num = pl.sum_horizontal([pl.col(f"eff_{g.id}").fill_null(0) * g.weight for g in groups])
    den = pl.sum_horizontal([pl.when(pl.col(f"eff_{g.id}").is_not_null()).then(pl.lit(g.weight)).otherwise(0.0)
                             for g in groups])
    detail = pl.concat_str([_group_detail(g) for g in groups], separator="; ")
    weighted = wide.select("district_id", pl.when(den > 0).then(num / den).round(9).alias("percentage"),
                           detail.alias("group_detail"))
    return total.join(weighted, on="district_id", how="left")


def _effective(g: Group) -> pl.Expr:
    """A group's percentage as it counts: its own; with no applicable factor, dropped (null: its
    weight is renormalised away) or another group's (`when_empty = "use:<group>"`)."""
    own = pl.col(f"pct_{g.id}")
    if g.when_empty.startswith("use:"):
        return pl.coalesce(own, pl.col(f"pct_{g.when_empty.split(':', 1)[1]}")).alias(f"eff_{g.id}")
    return own.alias(f"eff_{g.id}")


def _group_detail(g: Group) -> pl.Expr:
    """'results (weight 0.5): 75.0%', with where a borrowed percentage comes from, or 'n/a, dropped'."""
    eff = pl.col(f"eff_{g.id}")
    borrowed = pl.lit("")
    if g.when_empty.startswith("use:"):
        source = g.when_empty.split(":", 1)[-1]
        borrowed = (pl.when(pl.col(f"pct_{g.id}").is_null())
                    .then(pl.lit(f" (no {g.id} factor applies: the {source} percentage)")).otherwise(pl.lit("")))
    shown = (100 * eff).round(1).cast(pl.String) + pl.lit("%") + borrowed
    return pl.lit(f"{g.id} (weight {g.weight:g}): ") + pl.when(eff.is_not_null()).then(shown).otherwise(
        pl.lit("n/a, dropped"))


def _percentile(definition: str) -> pl.Expr:
    p = pl.col("percentage")
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
    out = per_lea.with_columns(
        _percentile(det.percentile_definition).alias("percentile"),
        pl.col("percentage").rank(method="min", descending=True).cast(pl.Int64).alias("rank"),
    )
    if det.method == "level_alignment":
        expr = pl.col("level").replace_strict({c.level: c.short for c in cats}, default=None, return_dtype=pl.String)
        return out.with_columns(expr.alias("base"))
    if det.method == "percentile":
        value, bounds = pl.col("percentile"), [(c, c.min_percentile) for c in cats[:-1]]
    else:
        value, bounds = 100 * pl.col("percentage"), [(c, c.min_percentage) for c in cats]
    chain: pl.Expr = pl.lit(cats[-1].short)
    for c, bound in reversed(bounds):
        if bound is not None:
            chain = pl.when(_passes(value, bound, c.op)).then(pl.lit(c.short)).otherwise(chain)
    return out.with_columns(pl.when(pl.col("percentage").is_not_null()).then(chain).alias("base"))


def _condition_holds(measures: pl.LazyFrame, cond: Condition, year: int) -> pl.LazyFrame:
    rows = measures.filter(pl.col("district_id").is_not_null() & (pl.col("school_year") == year))
    if cond.flag is not None:
        test = pl.col("flag") == cond.flag
    else:
        assert cond.value_at_least is not None  # Condition allows exactly one of the two
        test = pl.col("value") >= cond.value_at_least - EPS
    selected = _select(rows, cond.measure, cond.where)
    return selected.group_by("district_id").agg(test.fill_null(False).any().alias("holds"))


def categorize(
    per_lea: pl.LazyFrame,
    det: Determination,
    measures: pl.LazyFrame,
    year: int,
    overrides: pl.LazyFrame | None,
) -> pl.LazyFrame:
    """Category, display label, tier and the reasons for every LEA."""
    out = base_category(per_lea, det).with_columns(
        pl.col("base").alias("category"), pl.lit(None, pl.String).alias("category_label"),
        pl.lit([], pl.List(pl.String)).alias("reasons"),
    )
    for cond in det.conditions:
        out = _apply_condition(out, cond, det, measures, year)
    if overrides is not None and det.overrides:
        out = _apply_overrides(out, det, overrides)
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias("ov_cat"), pl.lit(None, pl.String).alias("ov_reason"))
    return _labelled(out, det)


def _apply_condition(out: pl.LazyFrame, cond: Condition, det: Determination, measures: pl.LazyFrame,
                     year: int) -> pl.LazyFrame:
    """One condition: force or escalate the category of the LEAs for which it holds, or only give
    the reason (flag)."""
    severity = {c.short: i for i, c in enumerate(det.categories)}
    holds = _condition_holds(measures, cond, year)
    out = out.join(holds, on="district_id", how="left").with_columns(pl.col("holds").fill_null(False))
    applies = pl.col("holds") & pl.col("category").is_not_null()
    if cond.levels is not None:
        applies = applies & pl.col("level").is_in(cond.levels).fill_null(False)
    new: pl.Expr = pl.lit(cond.to)
    if cond.action == "force":
        changed = applies & (pl.col("category") != cond.to)
    elif cond.action == "escalate":
        current = pl.col("category").replace_strict(severity, default=None, return_dtype=pl.Int64)
        changed = applies & (current < severity[cond.to or ""])
    else:
        changed = pl.lit(False)
        new = pl.col("category")
    return out.with_columns(
        pl.when(changed).then(new).otherwise(pl.col("category")).alias("category"),
        pl.when(changed).then(_condition_label(cond)).otherwise(pl.col("category_label")).alias("category_label"),
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
        label = label + pl.col("level").cast(pl.String).fill_null("?") + pl.lit(rest)
    return label


def _apply_overrides(out: pl.LazyFrame, det: Determination, overrides: pl.LazyFrame) -> pl.LazyFrame:
    """Case-by-case decisions from the overrides table replace the category; the reason is kept."""
    by_label = {c.label.lower(): c.short for c in det.categories} | {c.short.lower(): c.short for c in det.categories}
    ov = overrides.select(
        "district_id",
        pl.col("category").str.to_lowercase().replace_strict(by_label, default=None, return_dtype=pl.String)
        .alias("ov_cat"),
        pl.col("reason").alias("ov_reason"),
    )
    overridden = pl.col("ov_cat").is_not_null()
    return out.join(ov, on="district_id", how="left").with_columns(
        pl.coalesce(pl.col("ov_cat"), pl.col("category")).alias("category"),
        pl.when(overridden).then(pl.lit(None, pl.String)).otherwise(pl.col("category_label")).alias("category_label"),
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
