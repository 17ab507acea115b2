"""Factors, ranking and categories: from measure rows to a determination per LEA (docs/methods.md
section 10), with what the reports show beside it (each factor's state figure, the distribution
over the categories)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import polars as pl

from sedet.determine.engine import categorize, percentages, score_factors
from sedet.determine.params import Determination, Factor, Group
from sedet.errors import ProfileError
from sedet.model import CategoryInfo, Check, Determinations, Distribution, MethodInfo, ScoreInfo, T, found

DETERMINATION_COLUMNS = [
    "district_id", "district_name", "accountability_level", "points_earned", "points_possible", "percentage",
    "group_detail", "rank", "percentile", "base", "category", "category_label", "tier", "tier_text",
    "reasons", "status", "placed_by",
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
    `districts` for a level alignment, the earlier determinations of `history` for a condition on
    consecutive years."""
    if det is None:
        return ()
    need = ("districts",) if det.method == "level_alignment" else ()
    return need + (("history",) if any(c.consecutive is not None for c in det.conditions) else ())


def needs_prior_year(scoring: Scoring) -> bool:
    """Whether a factor scores a change from the prior year (the pipeline then computes that year's
    measure rows too)."""
    return any(f.value_of == "change_from_prior_year" for f in scoring.factors)


def measures_read(scoring: Scoring) -> set[str] | None:
    """The measures a determination reads (its factors' and conditions'); None: any (a condition that
    names no measure, fact or run of years)."""
    det = scoring.determination
    if det is None:
        return set()
    read = {f.measure for f in scoring.factors}
    for c in det.conditions:
        if c.measure is not None:
            read.add(c.measure)
        elif c.fact is not None:
            read.add("compliance_fact")
        elif c.consecutive is None:
            return None
    return read


def override_check(det: Determination) -> Check:
    """An override (or a history row) must name a category of the profile (by label or short name,
    in any case)."""
    names = [c.label for c in det.categories] + [c.short for c in det.categories]
    return Check(
        "category",
        ~T("category").str.to_lowercase().is_in([n.lower() for n in names]),
        "a category of the profile (" + ", ".join(f"{c.label} / {c.short}" for c in det.categories) + ")",
        found("category"),
    )


def determination_columns(det: Determination) -> list[str]:
    """The columns of the determinations table: with the profile's own score after the percentage."""
    if det.score is None:
        return DETERMINATION_COLUMNS
    at = DETERMINATION_COLUMNS.index("percentage") + 1
    return [*DETERMINATION_COLUMNS[:at], "score", *DETERMINATION_COLUMNS[at:]]


def determine(scoring: Scoring, measures: pl.DataFrame, districts: pl.DataFrame | None,
              overrides: pl.DataFrame | None, year: int, *, history: pl.DataFrame | None = None,
              prior: pl.DataFrame | None = None, reuse: Mapping[str, pl.DataFrame] | None = None
              ) -> Determinations | None:
    """Score the profile's factors and assign categories; None when the profile has no determination.
    `history`: earlier official determinations (district_id, school_year, category); `prior`: the
    measure rows of the year before, for factors that score a change; `reuse`: the scores of factors
    already scored on the same rows (a sweep's scenario keeps those its parameters leave alone)."""
    det = scoring.determination
    if det is None:
        return None
    leas = _leas(measures, districts, year)
    lf = measures.lazy() if prior is None else pl.concat([measures.lazy(), prior.lazy()])
    ovr = overrides.lazy() if overrides is not None else None
    if not scoring.factors:  # level alignment: the category comes from the accountability level
        scores = pl.DataFrame(schema=FACTOR_SCHEMA)
        per_lea = leas.lazy().with_columns(
            pl.lit(None, pl.Float64).alias("points_earned"), pl.lit(None, pl.Float64).alias("points_possible"),
            pl.lit(None, pl.Float64).alias("percentage"), pl.lit(None, pl.Float64).alias("score"),
            pl.lit(None, pl.String).alias("group_detail"),
        )
        order = ["accountability_level", "district_id"]
    else:
        scores = _scores(lf, scoring.factors, leas, year, reuse or {})
        per_lea = percentages(scores.lazy(), list(scoring.groups), list(scoring.factors), det.score) \
            .join(leas.lazy(), on="district_id", how="left")
        order = ["rank", "district_id"]
    hist = history.lazy() if history is not None else None
    table = categorize(per_lea, det, lf, year, ovr, hist).collect()
    table = table.with_columns(pl.col("level").alias("accountability_level")).select(determination_columns(det))
    table = table.sort(order, nulls_last=True)
    return Determinations(table, scores, factor_state(scores), method_info(det), distribution(table, det),
                          factor_defs={f.id: f for f in scoring.factors})


def _leas(measures: pl.DataFrame, districts: pl.DataFrame | None, year: int) -> pl.DataFrame:
    """The LEAs to determine: the districts table, or else every district with measure rows."""
    if districts is not None:
        return districts.select("district_id", "district_name", pl.col("accountability_level").alias("level"))
    ids = measures.filter(pl.col("district_id").is_not_null() & (pl.col("school_year") == year)) \
        .select("district_id").unique()
    return ids.with_columns(pl.lit(None, pl.String).alias("district_name"), pl.lit(None, pl.Int64).alias("level"))


def _scores(measures: pl.LazyFrame, factors: list[Factor], leas: pl.DataFrame, year: int,
            reuse: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per LEA and factor; refuses a factor that combines several rows as 'only'. The factors
    in `reuse` keep the rows given there."""
    todo = [(i, f) for i, f in enumerate(factors) if f.id not in reuse]
    parts = [reuse[f.id] for f in factors if f.id in reuse]
    if todo:
        scores = score_factors(measures, [f for _, f in todo], leas.lazy().select("district_id"), year).collect()
        ambiguous = scores.filter((pl.col("combine") == "only") & (pl.col("n_usable") > 1))
        if ambiguous.height:
            r = ambiguous.row(0, named=True)
            raise ProfileError(
                f"factor {r['factor']} reads {r['n_usable']} {r['measure']} rows for district {r['district_id']}, "
                "but combines them as 'only'",
                hint="narrow the rows with `where` (e.g. where = { subject = \"all\" }) or set combine = "
                     "min/max/mean/sum",
            )
        # score_factors numbers the factors it is given from 0: each keeps its place in the profile
        place = pl.col("factor_order").replace_strict(list(range(len(todo))), [i for i, _ in todo],
                                                      return_dtype=scores.schema["factor_order"])
        parts.append(scores.drop("n_usable", "combine").with_columns(place))
    return pl.concat(parts).sort("district_id", "factor_order")


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
                              c.min_percentage, c.min_score) for c in det.categories)
    sc = det.score
    score = ScoreInfo(sc.name, sc.scale_min, sc.scale_max, sc.decimals) if sc is not None else None
    return MethodInfo(det.method, det.percentile_definition, cats, score)


def distribution(table: pl.DataFrame, det: Determination) -> Distribution:
    """LEAs per category, per label shown instead (escalations), without a category, and by
    determination percentage in 10-point bins; the lowest percentage the method placed in each
    category (where the cut fell)."""
    labels = [c.label for c in det.categories]
    relabelled = table.filter(pl.col("category_label").is_not_null() & ~pl.col("category_label").is_in(labels))
    basis = "score" if det.score is not None else "percentage"
    ranked = table.filter(pl.col(basis).is_not_null())
    bins: list[tuple[float, float]]
    if det.score is None:
        value, bins = 100 * pl.col("percentage"), [(i * 10, (i + 1) * 10) for i in range(10)]
    else:
        lo_, step = det.score.scale_min, (det.score.scale_max - det.score.scale_min) / 10
        # edges rounded as the scores are (3 x 0.4 is 1.2000000000000002 in floating point)
        value, bins = pl.col("score"), [(round(lo_ + i * step, 9), round(lo_ + (i + 1) * step, 9)) for i in range(10)]
    last = bins[-1][1]
    histogram = tuple(
        (lo, hi, ranked.filter((value >= lo) & ((value < hi) if hi < last else (value <= hi))).height)
        for lo, hi in bins
    ) if ranked.height else ()
    lowest = {short: low for short, low in ranked.group_by("base").agg(pl.col(basis).min()).iter_rows()
              if short is not None}
    placed = table.group_by(pl.col("placed_by").fill_null("not determined")).len().sort("placed_by")
    return Distribution(
        per_category={c.short: table.filter(pl.col("category") == c.short).height for c in det.categories},
        relabelled=tuple(relabelled.group_by("category_label").len().sort("category_label").iter_rows()),
        undetermined=table.filter(pl.col("category").is_null()).height,
        ranked=ranked.height,
        histogram=histogram,
        lowest=lowest,
        placed=tuple(placed.iter_rows()),
    )
