"""Factors, ranking and categories: from measure rows to a determination per LEA."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from sedet.determine.engine import categorize, percentages, score_factors
from sedet.errors import ProfileError

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


@dataclass
class Determinations:
    factors: pl.DataFrame  # one row per LEA and factor
    table: pl.DataFrame  # one row per LEA: DETERMINATION_COLUMNS


def determine(profile, measures: pl.DataFrame, districts: pl.DataFrame | None, overrides: pl.DataFrame | None,
              year: int) -> Determinations | None:
    """Score the profile's factors and assign categories; None when the profile has no determination."""
    model = profile.model
    det = model.determination
    if det is None:
        return None
    if districts is not None:
        leas = districts.select("district_id", "district_name", pl.col("accountability_level").alias("level"))
    else:
        ids = measures.filter(pl.col("district_id").is_not_null()).select("district_id").unique()
        leas = ids.with_columns(pl.lit(None, pl.String).alias("district_name"), pl.lit(None, pl.Int64).alias("level"))
    lf = measures.lazy()
    if not model.factors:  # level alignment: the category comes from the accountability level
        scores = pl.DataFrame(schema=FACTOR_SCHEMA)
        per_lea = leas.lazy().with_columns(
            pl.lit(None, pl.Float64).alias("points_earned"), pl.lit(None, pl.Float64).alias("points_possible"),
            pl.lit(None, pl.Float64).alias("percentage"), pl.lit(None, pl.String).alias("group_detail"),
        )
        table = categorize(per_lea, det, lf, year, overrides.lazy() if overrides is not None else None).collect()
        table = table.with_columns(pl.col("level").alias("accountability_level")).select(DETERMINATION_COLUMNS)
        return Determinations(scores, table.sort(["accountability_level", "district_id"], nulls_last=True))
    scores = score_factors(lf, list(model.factors), leas.lazy().select("district_id"), year).collect()
    ambiguous = scores.filter((pl.col("combine") == "only") & (pl.col("n_usable") > 1))
    if ambiguous.height:
        r = ambiguous.row(0, named=True)
        raise ProfileError(
            f"factor {r['factor']} reads {r['n_usable']} {r['measure']} rows for district {r['district_id']}, "
            "but combines them as 'only'",
            hint="narrow the rows with `where` (e.g. where = { subject = \"all\" }) or set combine = min/max/mean/sum",
        )
    scores = scores.drop("n_usable", "combine").sort("district_id", "factor_order")
    per_lea = percentages(scores.lazy(), list(model.groups)).join(leas.lazy(), on="district_id", how="left")
    table = categorize(per_lea, det, lf, year, overrides.lazy() if overrides is not None else None).collect()
    table = table.with_columns(pl.col("level").alias("accountability_level")).select(DETERMINATION_COLUMNS)
    table = table.sort(["rank", "district_id"], nulls_last=True)
    return Determinations(scores, table)
