"""Factors, ranking and categories: from measure rows to a determination per LEA (docs/methods.md
section 10), with what the reports show beside it (each factor's state figure, the distribution
over the categories)."""

from __future__ import annotations

from typing import Protocol

import polars as pl

from sedet.determine.engine import categorize, percentages, score_factors
from sedet.determine.params import Determination, Factor, Group
from sedet.errors import ProfileError
from sedet.model import CategoryInfo, Check, Determinations, Distribution, MethodInfo, T, found

DETERMINATION_COLUMNS = [
    "district_id", "district_name", "accountability_level", "points_earned", "points_possible", "percentage",
    "group_detail", "rank", "percentile", "base", "category", "category_label", "tier", "tier_text",
    "reasons", "status",
]


FACTOR_SCHEMA = {
    "district_id": pl.String, "factor_order": pl.Int32, "factor": pl.String, "factor_title": pl.String,
    "group": pl.String, "measure": pl.String, "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64,
    "flags": pl.String, "points": pl.Float64, "possible": pl.Float64, "status": pl.String, "note": pl.String,
}


class Scoring(Protocol):
    """The parts of a profile that score and categorise (sedet.profile.Profile)."""

    @property
    def determination(self) -> Determination | None: ...

    @property
    def factors(self) -> list[Factor]: ...

    @property
    def groups(self) -> list[Group]: ...


def tables_needed(det: Determination | None) -> tuple[str, ...]:
    """The tables a determination method cannot run without: the accountability levels of
    `districts` for a level alignment."""
    return ("districts",) if det is not None and det.method == "level_alignment" else ()


def override_check(det: Determination) -> Check:
    """An override must name a category of the profile (by label or short name, in any case)."""
    names = [c.label for c in det.categories] + [c.short for c in det.categories]
    return Check(
        "category",
        ~T("category").str.to_lowercase().is_in([n.lower() for n in names]),
        "a category of the profile (" + ", ".join(f"{c.label} / {c.short}" for c in det.categories) + ")",
        found("category"),
    )


def determine(scoring: Scoring, measures: pl.DataFrame, districts: pl.DataFrame | None,
              overrides: pl.DataFrame | None, year: int) -> Determinations | None:
    """Score the profile's factors and assign categories; None when the profile has no determination."""
    det = scoring.determination
    if det is None:
        return None
    leas = _leas(measures, districts)
    lf = measures.lazy()
    ovr = overrides.lazy() if overrides is not None else None
    if not scoring.factors:  # level alignment: the category comes from the accountability level
        scores = pl.DataFrame(schema=FACTOR_SCHEMA)
        per_lea = leas.lazy().with_columns(
            pl.lit(None, pl.Float64).alias("points_earned"), pl.lit(None, pl.Float64).alias("points_possible"),
            pl.lit(None, pl.Float64).alias("percentage"), pl.lit(None, pl.String).alias("group_detail"),
        )
        order = ["accountability_level", "district_id"]
    else:
        scores = _scores(lf, scoring.factors, leas, year)
        per_lea = percentages(scores.lazy(), list(scoring.groups)).join(leas.lazy(), on="district_id", how="left")
        order = ["rank", "district_id"]
    table = categorize(per_lea, det, lf, year, ovr).collect()
    table = table.with_columns(pl.col("level").alias("accountability_level")).select(DETERMINATION_COLUMNS)
    table = table.sort(order, nulls_last=True)
    return Determinations(table, scores, factor_state(scores), method_info(det), distribution(table, det))


def _leas(measures: pl.DataFrame, districts: pl.DataFrame | None) -> pl.DataFrame:
    """The LEAs to determine: the districts table, or else every district with measure rows."""
    if districts is not None:
        return districts.select("district_id", "district_name", pl.col("accountability_level").alias("level"))
    ids = measures.filter(pl.col("district_id").is_not_null()).select("district_id").unique()
    return ids.with_columns(pl.lit(None, pl.String).alias("district_name"), pl.lit(None, pl.Int64).alias("level"))


def _scores(measures: pl.LazyFrame, factors: list[Factor], leas: pl.DataFrame, year: int) -> pl.DataFrame:
    """One row per LEA and factor; refuses a factor that combines several rows as 'only'."""
    scores = score_factors(measures, list(factors), leas.lazy().select("district_id"), year).collect()
    ambiguous = scores.filter((pl.col("combine") == "only") & (pl.col("n_usable") > 1))
    if ambiguous.height:
        r = ambiguous.row(0, named=True)
        raise ProfileError(
            f"factor {r['factor']} reads {r['n_usable']} {r['measure']} rows for district {r['district_id']}, "
            "but combines them as 'only'",
            hint="narrow the rows with `where` (e.g. where = { subject = \"all\" }) or set combine = min/max/mean/sum",
        )
    return scores.drop("n_usable", "combine").sort("district_id", "factor_order")


def factor_state(factors: pl.DataFrame) -> pl.DataFrame:
    """Per factor, the state's figure to show beside each LEA's: the pooled rate over every LEA
    with a usable value (sum of numerators / sum of denominators), else the mean value, and how
    many LEAs the factor applied to and flagged (points below the maximum)."""
    ok = pl.col("status") == "ok"
    num, den = pl.col("numerator").filter(ok).sum(), pl.col("denominator").filter(ok).sum()
    return factors.group_by("factor").agg(
        pl.when(den > 0).then(num / den).otherwise(pl.col("value").filter(ok).mean()).alias("state_value"),
        ok.sum().alias("leas_applicable"),
        (ok & (pl.col("points") < pl.col("possible"))).sum().alias("leas_below_max"),
    )


def method_info(det: Determination) -> MethodInfo:
    """The method and its categories, as the reports show them."""
    cats = tuple(CategoryInfo(c.short, c.label, c.tier, c.tier_text, c.by_method, c.op, c.min_percentile,
                              c.min_percentage) for c in det.categories)
    return MethodInfo(det.method, det.percentile_definition, cats)


def distribution(table: pl.DataFrame, det: Determination) -> Distribution:
    """LEAs per category, per label shown instead (escalations), without a category, and by
    determination percentage in 10-point bins; the lowest percentage the method placed in each
    category (where the cut fell)."""
    labels = [c.label for c in det.categories]
    relabelled = table.filter(pl.col("category_label").is_not_null() & ~pl.col("category_label").is_in(labels))
    ranked = table.filter(pl.col("percentage").is_not_null())
    p100 = 100 * pl.col("percentage")
    bins = [(i * 10, (i + 1) * 10) for i in range(10)]
    histogram = tuple(
        (lo, hi, ranked.filter((p100 >= lo) & ((p100 < hi) if hi < 100 else (p100 <= hi))).height) for lo, hi in bins
    ) if ranked.height else ()
    lowest = {short: low for short, low in ranked.group_by("base").agg(pl.col("percentage").min()).iter_rows()
              if short is not None}
    return Distribution(
        per_category={c.short: table.filter(pl.col("category") == c.short).height for c in det.categories},
        relabelled=tuple(relabelled.group_by("category_label").len().sort("category_label").iter_rows()),
        undetermined=table.filter(pl.col("category").is_null()).height,
        ranked=ranked.height,
        histogram=histogram,
        lowest=lowest,
    )
