"""Significant disproportionality (34 CFR 300.647; NJ Factor 2) and Indicators 9 and 10.

Categories of analysis (the federal 14; a profile picks which it uses), each with its own
numerator, denominator population and age range (docs/methods.md section 4):

| category | numerator (students of group g ...) | denominator (students of g ...) |
| --- | --- | --- |
| `identification` | with an IEP | enrolled, ages `ages.identification` |
| `identification.ID` (`.SLD`, `.EMN`, `.SLI`, `.OHI`, `.AUT`) | with an IEP in that disability | enrolled, same |
| `placement.RC39LT` | with an IEP, inside regular class < 40% | with an IEP, ages `ages.placement` |
| `placement.SS_RF` | with an IEP, in a separate school or residential facility | with an IEP, same ages |
| `discipline.OSS_LE10` | with an IEP, out-of-school suspension/expulsion, 1-10 days | with an IEP, `ages.discipline` |
| `discipline.OSS_GT10` | ... of more than 10 days | same |
| `discipline.ISS_LE10`, `discipline.ISS_GT10` | in-school suspensions, 1-10 days / more than 10 | same |
| `discipline.TOTAL` | disciplinary removals of every type (`removals`): risk is removals per child | same |

Choices the sources leave open, as implemented:
- Rows with no `age` are counted (exports often leave age out; the age filter applies where an
  age is given). Enrollment is the denominator for every category; discipline supplies the
  numerators of the discipline categories.
- OSS includes expulsions; removals to an interim alternative setting (`IAES`) count only in
  `discipline.TOTAL`. The minimum cell of `discipline.TOTAL` applies to the number of removals.
- The comparison group must meet the same minimum n and cell as the group itself.

Rows returned (one per year in the multi-year window, LEA, group and category):
- `risk_ratio` or `alternate_risk_ratio` (which ratio it is), numerator/denominator = the
  group's counts, comparison_* = the comparison group's, value = the ratio, flag
  exceeds/not_exceeds, status ok/below_min_n/below_min_cell/comparison_below_min/no_data.
- `disproportionality` for the determined year: flag `identified` when the ratio exceeds the
  threshold in each of `consecutive_years` years with a computed value (value = the number of
  consecutive years, ending in the determined year, in which it exceeded; threshold = the years
  needed; status = this year's ratio status, so a group below the minimums this year is not
  scored); with the reasonable-progress test on, not identified when the ratio fell by at least the margin in
  each of the two prior years. A year the bundle does not hold makes the status `no_data`.
- Statewide (district_id null): `indicator_9` (identification, all disabilities) and
  `indicator_10` (the six specific categories): numerator = LEAs identified whose
  disproportionate representation was found to result from inappropriate identification (the
  `inappropriate_identification` compliance fact; without that table, every identified LEA
  counts, and the note says so), denominator = LEAs meeting the minimum n and cell for at least
  one group; `indicator_9_excluded` / `indicator_10_excluded`: LEAs excluded by the minimums.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from sedet.measures.common import (
    age_within,
    children_removed,
    counted_by_environment,
    counted_by_others,
    meets_minimums,
    only_where,
    plain,
    removals_given,
    sum_where,
    to_measure_rows,
    with_margins,
)
from sedet.measures.family import Family
from sedet.measures.ratios import exceeds, ratio_values, risk_ratios, rules_frame, with_sums
from sedet.model import EPS, NO_DATA, OK, RACE_ETHNICITY, Check, Inputs, MeasureInfo, NonNegInt, Strict, T

IDENTIFICATION_DISABILITIES = ("ID", "SLD", "EMN", "SLI", "OHI", "AUT")
CATEGORIES = (
    "identification",
    *(f"identification.{d}" for d in IDENTIFICATION_DISABILITIES),
    "placement.RC39LT",
    "placement.SS_RF",
    "discipline.OSS_LE10",
    "discipline.OSS_GT10",
    "discipline.ISS_LE10",
    "discipline.ISS_GT10",
    "discipline.TOTAL",
)
PLACEMENT_ENVIRONMENTS = {"placement.RC39LT": ("RC39LT",), "placement.SS_RF": ("SS", "RF")}
DISCIPLINE_SPLITS = {
    "discipline.OSS_LE10": ("OSS", False),
    "discipline.OSS_GT10": ("OSS", True),
    "discipline.ISS_LE10": ("ISS", False),
    "discipline.ISS_GT10": ("ISS", True),
}
AgeGroup = Literal["identification", "placement", "discipline"]
PER_CHILD = ("discipline.TOTAL",)  # categories whose risk is removals per child, not a share of children
Op = Literal[">=", ">"]


class Rule(Strict):
    """Per-category overrides of the section's minimums and threshold."""

    min_n: NonNegInt | None = Field(default=None, description="this category's minimum n", examples=[10])
    min_cell: NonNegInt | None = Field(default=None, description="this category's minimum cell", examples=[5])
    threshold: float | None = Field(default=None, description="this category's threshold", examples=[2.5])
    threshold_op: Op | None = Field(default=None, description="this category's comparison", examples=[">"])



class DisproportionalityParams(Strict):
    categories: list[Literal[CATEGORIES]]  # type: ignore[valid-type]
    min_n: NonNegInt = Field(description="minimum students in the group (denominator)")
    min_cell: NonNegInt = Field(description="minimum students with the outcome in the group (numerator)")
    threshold: float
    threshold_op: Op
    per_category: dict[str, Rule] = Field(
        default_factory=dict, description="a category's own minimums or threshold, where they differ",
        examples=[{"discipline.TOTAL": {"min_n": 10}}])
    consecutive_years: int
    reasonable_progress: bool
    reasonable_progress_margin: float
    ages: dict[AgeGroup, tuple[NonNegInt, NonNegInt]]
    more_than_days: float = Field(description="'more than 10 days': the split of the suspension categories")


    @field_validator("ages", mode="before")
    @classmethod
    def _ages(cls, v):
        return {k: tuple(x) if isinstance(x, list) else x for k, x in v.items()} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _check(self) -> DisproportionalityParams:
        unknown = [c for c in self.per_category if c not in self.categories]
        if unknown:
            raise ValueError(f"per_category names {unknown}, which are not among the categories {self.categories}")
        families = {c.split(".")[0] for c in self.categories}
        missing = sorted(families - set(self.ages))
        if missing:
            raise ValueError(f"ages: no age range for {missing}")
        if self.consecutive_years < 1:
            raise ValueError("consecutive_years must be at least 1")
        if self.reasonable_progress and self.consecutive_years < 3:
            raise ValueError("the reasonable-progress test needs the two prior years: consecutive_years of at least 3")
        return self

    def rule(self, category: str) -> tuple[int, int, float, str]:
        r = self.per_category.get(category, Rule())
        return (
            self.min_n if r.min_n is None else r.min_n,
            self.min_cell if r.min_cell is None else r.min_cell,
            self.threshold if r.threshold is None else r.threshold,
            self.threshold_op if r.threshold_op is None else r.threshold_op,
        )

    def window(self, year: int) -> list[int]:
        return list(range(year - self.consecutive_years + 1, year + 1))


def category_counts(
    enrollment: pl.LazyFrame, discipline: pl.LazyFrame | None, params: DisproportionalityParams, years: list[int]
) -> pl.LazyFrame:
    """KEYS + num + den for every chosen category. Enrollment is read twice: every row once, for
    the identification denominator and the (year, LEA) pairs; the rows of children with IEPs once,
    summed by disability and environment, from which every other count is taken (small)."""
    cats = params.categories
    c = pl.col("count")
    enr = with_margins(enrollment).filter(pl.col("school_year").is_in(years))
    keys = ["school_year", "district_id", "race_ethnicity"]
    ident = [x for x in cats if x.startswith("identification")]
    place = [x for x in cats if x.startswith("placement")]
    disc = [x for x in cats if x.startswith("discipline")]
    by_group: dict[AgeGroup, list[str]] = {"identification": ident, "placement": place, "discipline": disc}
    fams = [f for f, on in by_group.items() if on]
    # a margin row (counts_in) counts only in the families of its margin: placement reads the margin by
    # environment, every other family the rest
    everyone = plain(enr.filter(counted_by_others()).group_by(keys).agg(
        (sum_where(c, age_within(params.ages["identification"])) if ident else pl.len()).alias("den.identification")
    ))
    # children with IEPs, by disability and environment, counted within each family's ages
    iep = plain(
        enr.filter(pl.col("iep"))
        .group_by(*keys, "disability", "environment", "counts_in")
        .agg(*[sum_where(c, age_within(params.ages[f])).alias(f) for f in fams])
    )
    others, by_env = counted_by_others(), counted_by_environment()
    aggs = [sum_where(pl.col(f), by_env if f == "placement" else others).alias(f"den.{f}")
            for f in fams if f != "identification"]
    aggs += [sum_where(pl.col(x), others).alias("identification") for x in ident if x == "identification"]
    aggs += [sum_where(pl.col("identification"), others & (pl.col("disability") == x.split(".")[1])).alias(x)
             for x in ident if x != "identification"]
    aggs += [sum_where(pl.col("placement"), by_env & pl.col("environment").is_in(list(PLACEMENT_ENVIRONMENTS[x])))
             .alias(x) for x in place]
    wide = everyone
    if aggs:
        wide = wide.join(iep.group_by(keys).agg(aggs), on=keys, how="left").with_columns(pl.exclude(keys).fill_null(0))
    families: list[tuple[str, list[str]]] = []  # (denominator column, categories)
    if ident:
        families.append(("den.identification", ident))
    if place:
        families.append(("den.placement", place))
    if disc:
        ages = params.ages["discipline"]
        disc_aggs = []
        days = pl.col("days_removed")
        for x in disc:
            if x == "discipline.TOTAL":
                disc_aggs.append(sum_where(pl.col("removals") * c, removals_given()).alias(x))
            else:
                kind, over = DISCIPLINE_SPLITS[x]
                within = days > params.more_than_days if over else (days > 0) & (days <= params.more_than_days)
                disc_aggs.append(sum_where(c, (pl.col("removal_type") == kind) & within & children_removed()).alias(x))
        if discipline is not None:
            num = plain(
                with_margins(discipline).filter(pl.col("school_year").is_in(years) & pl.col("iep") & age_within(ages))
                .group_by(keys)
                .agg(disc_aggs)
            )
            wide = wide.join(num, on=keys, how="left").with_columns(pl.col(disc).fill_null(0))
        else:
            wide = wide.with_columns([pl.lit(None, pl.Int64).alias(x) for x in disc])
        families.append(("den.discipline", disc))
    wide = wide.cache()  # read once per family
    parts = [
        wide.select(*keys, pl.col(den).alias("den"), *on)
        .unpivot(index=[*keys, "den"], on=on, variable_name="category", value_name="num")
        for den, on in families
    ]
    if not parts:
        return pl.LazyFrame(schema={"school_year": pl.Int64, "district_id": pl.String, "race_ethnicity": pl.String,
                                    "category": pl.String, "num": pl.Int64, "den": pl.Int64})
    counts = [pl.col("num").cast(pl.Int64), pl.col("den").cast(pl.Int64)]
    long = pl.concat([p.select(*keys, "category", *counts) for p in parts])
    # Every LEA gets a row for each of the 7 groups and each category, even a group it does not enrol
    # (status no_data), so a missing row never hides a group.
    frame = (
        wide.select("school_year", "district_id").unique()
        .join(pl.LazyFrame({"race_ethnicity": list(RACE_ETHNICITY)}), how="cross")
        .join(pl.LazyFrame({"category": list(cats)}), how="cross")
    )
    return frame.join(long, on=[*keys, "category"], how="left").with_columns(pl.col("num", "den").fill_null(0))


def disproportionality_measures(
    enrollment: pl.LazyFrame,
    discipline: pl.LazyFrame | None,
    params: DisproportionalityParams,
    year: int,
    years_in_bundle: list[int],
    compliance: pl.LazyFrame | None = None,
    counts: pl.LazyFrame | None = None,
    values: pl.LazyFrame | None = None,
    years: pl.LazyFrame | None = None,
    ratio_rows: bool = True,
) -> pl.LazyFrame:
    """`counts`: category_counts of these tables and parameters; `values`: the ratio_values of those
    counts under these minimums; `years`: their ratio_years; each when already computed (a sweep).
    `ratio_rows`: with the rows of each group's ratio (risk_ratio, alternate_risk_ratio); a sweep's
    scenario that keeps none of them leaves them out (0.07 -> 0.03 s a scenario on the 3M bundle)."""
    window = params.window(year)
    if counts is None:
        counts = category_counts(enrollment, discipline, params, window)
    counts = counts.cache()  # read by four aggregations
    rules = rules_frame(list(params.categories), params.rule)
    if values is None:
        values = ratio_values(counts, rules.select("category", "min_n", "min_cell"))
    values = values.cache()
    if years is None:
        years = ratio_years(values, window, year)
    identified = _identified(years, rules, params, year, years_in_bundle).cache()
    indicators = _indicators_9_10(identified, values.filter(pl.col("school_year") == year), compliance, year)
    parts = [to_measure_rows(identified), indicators]
    if ratio_rows:
        parts.insert(0, to_measure_rows(risk_ratios(counts, rules, per_child_categories=PER_CHILD, values=values)))
    return pl.concat(parts)


KEYS = ["district_id", "race_ethnicity", "category"]


def ratio_years(values: pl.LazyFrame, window: list[int], year: int) -> pl.LazyFrame:
    """Per LEA, group and category: the ratio of each year of the window (v0, v1, ...; null where it
    was not computed) and the status of this year's: what the threshold does not change."""
    return values.group_by(KEYS).agg(
        *[only_where(pl.col("value"), pl.col("school_year") == y).alias(f"v{i}") for i, y in enumerate(window)],
        only_where(pl.col("status"), pl.col("school_year") == year).alias("status_now"),
    )


def _identified(years: pl.LazyFrame, rules: pl.LazyFrame, params: DisproportionalityParams, year: int,
                years_in_bundle: list[int]) -> pl.LazyFrame:
    """`years`: ratio_years; `rules`: each category's threshold and comparison."""
    k = params.consecutive_years
    window = params.window(year)
    missing = [y for y in window if y not in years_in_bundle]
    keys = KEYS
    wide = years.join(rules.select("category", "threshold", "op"), on="category", how="left")
    # whether each year's ratio exceeds the threshold (null where it was not computed)
    exceed = [exceeds(pl.col(f"v{i}"), pl.col("threshold"), pl.col("op")) for i in range(k)]
    # consecutive years ending in `year` in which the ratio was computed and exceeded
    run = pl.lit(0)
    for i in reversed(range(k)):  # the longest run (from the oldest year) is tested first
        run = pl.when(pl.all_horizontal(exceed[i:]).fill_null(False)).then(pl.lit(k - i)).otherwise(run)
    all_exceed = pl.all_horizontal(exceed).fill_null(False)
    if params.reasonable_progress:
        m = params.reasonable_progress_margin
        v = [pl.col(f"v{i}") for i in range(k)]
        progress = ((v[k - 3] - v[k - 2]) >= m - EPS) & ((v[k - 2] - v[k - 1]) >= m - EPS)
        progress = progress.fill_null(False)
    else:
        progress = pl.lit(False)
    history = pl.concat_str(
        [pl.lit(f"{y}: ") + pl.col(f"v{i}").round(2).cast(pl.String).fill_null(pl.lit("not computed"))
         for i, y in enumerate(window)],
        separator="; ",
    )
    flag = (
        pl.when(all_exceed & ~progress).then(pl.lit("identified"))
        .when(all_exceed & progress).then(pl.lit("not_identified_reasonable_progress"))
        .otherwise(pl.lit("not_identified"))
    )
    # The row's status: no_data when a year is missing from the bundle; else the status of this
    # year's ratio, so an LEA whose groups all fall below the minimums is n/a for scoring.
    status = pl.lit(NO_DATA) if missing else pl.col("status_now").fill_null(NO_DATA)
    missing_note = (f"; not determined: school year(s) {', '.join(map(str, missing))} not in the bundle"
                    if missing else "")
    rule = (f"identified when the ratio exceeds the threshold in each of {k} consecutive years"
            + ("; not identified after reasonable progress in each of the two prior years"
               if params.reasonable_progress else ""))
    return wide.select(
        pl.lit(year, pl.Int64).alias("school_year"),
        *keys,
        pl.lit("disproportionality").alias("measure"),
        run.cast(pl.Float64).alias("value"),
        pl.lit(float(k)).alias("threshold"),  # years needed
        status.alias("status"),
        (pl.lit(None, pl.String) if missing else flag).alias("flag"),
        (pl.lit(rule + ": ") + history + pl.lit(missing_note)).alias("note"),
    )


def _indicators_9_10(identified: pl.LazyFrame, current: pl.LazyFrame, compliance: pl.LazyFrame | None,
                     year: int) -> pl.LazyFrame:
    """Indicators 9 and 10 for the state: percent of LEAs identified for inappropriate identification."""
    fam = pl.when(pl.col("category") == "identification").then(pl.lit("indicator_9")).otherwise(pl.lit("indicator_10"))
    ident = identified.filter(pl.col("category").str.starts_with("identification")).with_columns(fam.alias("indicator"))
    cur = current.filter(pl.col("category").str.starts_with("identification")).with_columns(fam.alias("indicator"))
    group_meets = meets_minimums(pl.col("den"), pl.col("min_n"), pl.col("num"), pl.col("min_cell"))
    met_min = cur.group_by("indicator", "district_id").agg(group_meets.any().alias("meets"))
    flagged = ident.group_by("indicator", "district_id").agg((pl.col("flag") == "identified").any().alias("identified"))
    per_lea = met_min.join(flagged, on=["indicator", "district_id"], how="left")
    if compliance is not None and "inappropriate_identification" in compliance.collect_schema().names():
        facts = compliance.filter(pl.col("school_year") == year).select("district_id", "inappropriate_identification")
        per_lea = per_lea.join(facts, on="district_id", how="left")
        note = ("LEAs with disproportionate representation found to result from inappropriate identification / "
                "LEAs meeting the minimum n and cell")
        inappropriate = pl.col("inappropriate_identification").fill_null(False)
    else:
        note = ("LEAs with disproportionate representation / LEAs meeting the minimum n and cell "
                "(no inappropriate_identification fact in the bundle: every identified LEA is counted)")
        inappropriate = pl.lit(True)
    per_lea = per_lea.with_columns((pl.col("identified").fill_null(False) & inappropriate).alias("counted"))
    summary = per_lea.group_by("indicator").agg(
        sum_where(pl.col("counted"), pl.col("meets")).cast(pl.Float64).alias("numerator"),
        pl.col("meets").sum().cast(pl.Float64).alias("denominator"),
        (~pl.col("meets")).sum().cast(pl.Float64).alias("excluded"),
        pl.col("identified").fill_null(False).sum().cast(pl.Float64).alias("identified"),
    )
    main = summary.select(
        pl.lit(year, pl.Int64).alias("school_year"),
        pl.col("indicator").alias("measure"),
        "numerator", "denominator",
        pl.when(pl.col("denominator") > 0).then(pl.col("numerator") / pl.col("denominator")).alias("value"),
        pl.when(pl.col("denominator") > 0).then(pl.lit(OK)).otherwise(pl.lit(NO_DATA)).alias("status"),
        (pl.lit(note + "; LEAs identified before review: ") + pl.col("identified").cast(pl.Int64).cast(pl.String))
        .alias("note"),
    )
    excluded = summary.select(
        pl.lit(year, pl.Int64).alias("school_year"),
        (pl.col("indicator") + "_excluded").alias("measure"),
        pl.col("excluded").alias("numerator"),
        (pl.col("denominator") + pl.col("excluded")).alias("denominator"),
        pl.lit(OK).alias("status"),
        pl.lit("LEAs excluded from the calculation: no group met the minimum n and cell").alias("note"),
    )
    return pl.concat([to_measure_rows(main), to_measure_rows(excluded)])


def counts_key(params: DisproportionalityParams, year: int) -> tuple:
    """What category_counts depends on: not the minimums, threshold or consecutive-years rule."""
    return ("disproportionality.counts", tuple(params.categories), tuple(sorted(params.ages.items())),
            params.more_than_days, tuple(params.window(year)))


def compute(inputs: Inputs, params: DisproportionalityParams) -> pl.LazyFrame:
    enrollment, discipline = inputs.table("enrollment"), inputs.optional("discipline")
    key = counts_key(params, inputs.year)
    counts = inputs.shared(key, lambda: with_sums(category_counts(enrollment, discipline, params,
                                                                  params.window(inputs.year))))
    values = years = None  # a plain run builds them in its one query, from the same cached counts
    if inputs.memo is not None:
        # a sweep: the ratio values under the minimums and their years, which the threshold does not
        # change, kept for the next scenario (the sweep runs those that differ only in a threshold one
        # after the other, and keeps only the latest)
        minimums = tuple((c, *params.rule(c)[:2]) for c in params.categories)
        values = inputs.shared(("disproportionality.ratio_values", key, minimums), lambda: ratio_values(
            counts, rules_frame(list(params.categories), params.rule).select("category", "min_n", "min_cell")),
            latest=True)
        years = inputs.shared(("disproportionality.ratio_years", key, minimums),
                              lambda: ratio_years(values, params.window(inputs.year), inputs.year), latest=True)
    return disproportionality_measures(enrollment, discipline, params, inputs.year, inputs.years_of("enrollment"),
                                       inputs.optional("compliance"), counts=counts, values=values, years=years,
                                       ratio_rows=inputs.wants("risk_ratio") or inputs.wants("alternate_risk_ratio"))


TOTAL_NEEDS_REMOVALS = Check(
    "counts_in",
    (T("counts_in") == "CHILDREN") & ~(T("counts_in") == "REMOVALS").fill_null(False).any().over(T("school_year")),
    "the school year's rows of removals (counts_in REMOVALS, e.g. from EDFacts FS143) beside its rows of "
    "children removed (counts_in CHILDREN): the profile counts total removals (discipline.TOTAL); without "
    "them, remove that category from the profile",
    pl.lit("no row of removals in school year ") + T("school_year").cast(pl.String),
)


def row_checks(params: DisproportionalityParams) -> dict[str, list[Check]]:
    """Total removals count the rows that give removals: a year whose rows say they count children
    only (their removals given elsewhere) and that has no such rows would count none."""
    return {"discipline": [TOTAL_NEEDS_REMOVALS]} if "discipline.TOTAL" in params.categories else {}


def tables(params: DisproportionalityParams) -> tuple[str, ...]:
    """Enrollment, and discipline when a discipline category is analysed."""
    discipline = any(c.startswith("discipline") for c in params.categories)
    return ("enrollment", "discipline") if discipline else ("enrollment",)


FAMILY = Family(
    name="disproportionality",
    params=DisproportionalityParams,
    compute=compute,
    tables=tables,
    reads={"enrollment": ("school_year", "district_id", "race_ethnicity", "iep", "disability", "environment", "age",
                          "counts_in", "count")},
    row_checks=row_checks,
    measures=(
        # the groups of an LEA share one total whichever ratio each has (against the LEA, or statewide)
        MeasureInfo("risk_ratio", "Risk ratio of each racial/ethnic group against the other groups (34 CFR 300.647)",
                    ratio_family="risk_ratio", per_child_categories=PER_CHILD),
        MeasureInfo("alternate_risk_ratio", "Alternate risk ratio: against the other groups statewide",
                    ratio_family="risk_ratio", per_child_categories=PER_CHILD),
        MeasureInfo("disproportionality",
                    "Significant disproportionality: the ratio exceeds the threshold in consecutive years", "years",
                    verdicts=("identified", "not_identified_reasonable_progress")),
        MeasureInfo("indicator_9", "Indicator 9: percent of LEAs with disproportionate representation from "
                    "inappropriate identification", "rate", counts_students=False),
        MeasureInfo("indicator_10", "Indicator 10: the same, in specific disability categories", "rate",
                    counts_students=False),
        MeasureInfo("indicator_9_excluded", "Indicator 9: LEAs excluded by the minimum n or cell", "count",
                    counts_students=False),
        MeasureInfo("indicator_10_excluded", "Indicator 10: LEAs excluded by the minimum n or cell", "count",
                    counts_students=False),
    ),
)
