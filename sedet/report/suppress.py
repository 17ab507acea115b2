"""Public release (`--public`): small-cell suppression of the files sedet writes (docs/methods.md section 11).

IDEA 618(b)(1): public data must not identify a child. Suppression happens only here, at output:
every computation upstream uses the full data. The parameters are `sedet.model.ReportingParams`;
what each measure's rows are (additive, counts of students, ...) its family declares (model.MeasureInfo).

Public functions:

- `suppress_measures(df, params, infos, *, detail=False, scoring=None)`: the measure table for public release;
- `suppress_factors(factors, params, *, measures=None, infos, detail=False, scoring=None)`: the per-LEA
  factor table;
- `scoring_of(factors, parameters)`: what the published factor points say of each LEA's values (rule 3c);
- `public_manifest(manifest, params, *, measures=None, factors=None)`: the manifest with what was applied;
- `band_labels(params)`: the texts of top- and bottom-coded values.

sedet/report/audit.py checks the result: it bounds every withheld cell with linear programs over every
published number (issue 17); the rules 3c-3e and the `withheld` reason (rule 8) came out of that audit.

The rules, and every choice where docs/methods.md section 11 leaves one open:

1. Primary suppression. A row's *group* is its denominator (the students the rate is of); for a bare
   count (a numerator without a denominator, e.g. `timeline_exceptions`, `timeline_pending`) it is
   the count itself. A group of 1 to `min_n - 1` students is suppressed: numerator, denominator and
   value (and the comparison cells) show the token. A group of 0 is shown: no child is in it, and
   its status already says `no_data`. A row whose *comparison group* (comparison_denominator) has 1
   to `min_n - 1` students is suppressed the same way: the other group of a two-group comparison
   (low income / not low income) is the LEA total minus the row's own counts.
   A small numerator in a group of at least `min_n` (3 of 300 proficient) is shown: the rule names the
   group, NCES practice suppresses by group size, and rates near 0% or 100% are what the optional
   top/bottom coding is for.
2. Comparison counts (comparison_numerator, comparison_denominator) are always withheld (the token;
   `suppressed` = "comparison" when nothing else applies). For a risk ratio they are "all other
   groups of the LEA", i.e. the LEA total minus the group, so they hand out the LEA total and, on a
   suppressed row, the row's own counts; for the alternate ratio they add up to the statewide totals
   per group. The comparison value (a rate) is shown, except on rows whose numerator is withheld.
3. Complementary suppression, so that no withheld cell is the only unknown of an additive family
   (one linear equation: the total = the sum of its parts). The families:
   (a) parts and total along one qualifier: rows equal in school_year, district_id, measure and every
       qualifier but one, the total having that qualifier null (proficiency REG + ALT = all;
       discipline_rate per race + overall; timeline_exceptions per code + any). Not for measures
       declared not additive (alternate_rate: the LEA row is the highest subject, not a sum; it
       repeats that subject's counts, so the primary rule hides both alike);
   (b) the LEA rows and the statewide row (district_id null) of the same measure and qualifiers,
       the statewide row being named by the measure's `statewide` where it differs (participation ->
       indicator_3b, proficiency -> indicator_3c, timeline -> indicator_11, transition -> indicator_13);
   (c) the racial/ethnic groups of a comparison measure (risk_ratio, alternate_risk_ratio,
       race_separation, ...: rows with comparison counts and a race) in one LEA, year, measure
       family (`ratio_family`: risk_ratio and alternate_risk_ratio share one) and category. Their
       total is not a row but is treated as published: two shown groups' comparison values solve
       for it, and LEA enrollment is public anyway.
   A family needs protecting when exactly one member (parts and explicit total; members of size 0
   do not count) is withheld, or when two or more parts are withheld, the total is shown, and the
   withheld parts add up to fewer than `min_n` students (their sum would be a small group of its
   own). Then one more member is suppressed: the shown part with a group of at least one student
   and the smallest denominator (ties: the canonical sort order, i.e. district_id then measure then
   qualifiers), else the total (with additive counts that only happens when the data do not add
   up). Members of size 0 would protect nothing (their status says `no_data`), so they are never
   chosen. A pass visits the families in a fixed order (a, one qualifier at a time; b; c), each
   seeing the choices before it, and passes repeat until nothing changes; the result is
   deterministic and does not depend on the order of the input rows. The same student group
   published under two measures (same year, LEA, qualifiers and denominator, e.g. proficiency and
   performance_index) is treated as one cell: withheld in one, withheld in both.
   Denominators are protected first (a complementary cell of this kind withholds numerator,
   denominator, value and comparison value); numerators next, with the same family rule, for the
   numerators hidden by top/bottom coding: a coded row's numerator would otherwise be the total's
   numerator minus the others'. A complementary cell of that second kind withholds numerator, value
   and comparison value and keeps its denominator.
   Two more families (issue 17):
   (d) one racial/ethnic group of a ratio family across the LEAs of a year and category where some
       LEA's ratio compares with the other groups statewide (alternate_risk_ratio): each such row's
       comparison value is (every group statewide - this group statewide) / (the same for the
       denominators), so the comparison values of the groups solve for every group's statewide
       total, which is then implicit (as in c);
   (e) the days-late rows of one LEA (rule 3e): their numerators add up to their denominator (the
       late children), an implicit total.
   The same population under two categories of a ratio (identification.* share the enrolled group,
   placement.* and discipline.* the group with IEPs) is one denominator: withheld in one category,
   withheld in all (like the same group under two measures).
3c. No withheld count pinned at 0 and no withheld share pinned at 100% by a sum (issue 17: a total of
   0 says every part is 0; a statewide 47 of 51 with every other late child accounted for says the
   withheld LEA had none). In each family, the withheld members must be able to give one of them a
   counted student (numerator) while each keeps what the release says of it: its *capacity* is its
   numerator minus what it must keep; likewise for the students not counted (denominator - numerator)
   where a withheld share is at 100%. What a row must keep: a row scored by factor points (`scoring`:
   the interval of values its points stand for, from the profile's points tables, `scoring_of`) keeps
   lo x denominator counted and (1 - hi) x denominator not counted, and at least one of each when lo > 0
   (hi < 1): 1 point for "75% to 95%" means at least one late child; an unscored share keeps one of
   each it has (a band or flag elsewhere may say it is above 0% or under 100%); other rows keep
   nothing. A family whose withheld members' capacities add up to less than one withholds one more:
   a shown member with a capacity of at least one (smallest group first), else the total. On the
   numerator layer that withholds the member's numerator, value and comparison value.
3d. Rows at 0% or 100% on the denominator layer (a withheld share at 0% or 100%, e.g. 5 of 5 children
   evaluated on time with 2 points: >= 95%):
   - the withheld members of its family must hold at least `2 x ceil(1 / min(1 - top, bottom))`
     students (40 for 95% and 5%): a rate just under 100% can reach `top` only in a group of
     1 / (1 - top) = 20, so with fewer students a published ">= 95%" (points, a band) would mean 100%;
     one more member (smallest group first) until they do;
   - where the row is scored by points, the capacities of rule 3c are counted on the members withheld
     whole (a member that gives a late child gives students too);
   - when only the total is left to withhold for such a row, its counts are withheld and its value is
     kept when it is neither 0% nor 100% (a rate of a large group; the counts are what would pin the
     withheld rows);
   - a group whose count is 0 statewide (family d with withheld members all at 0 and no member with a
     count to give): the comparison values of that year and category's statewide-compared ratio rows
     are withheld (they say the group is 0 statewide, hence in every LEA).
3e. Days-late rows (`BANDS`: timeline_days_late of the LEA's timeline row, or of the statewide
   indicator_11 row): their denominator is the parent's denominator minus its numerator. Where the
   parent withholds a count, every cell of the days-late rows is withheld, the status too ("no_data"
   would say nobody was late) and the value even when it was not computed; where the parent is shown,
   their denominator is public anyway and is shown, and their numerators are withheld when the late
   children are 1 to min_n - 1 (a primary rule of their own; families b and e then protect them).
4. Top/bottom coding (params.top_bottom_coding): a row whose value is its rate (value =
   numerator / denominator, within 1e-9, in [0, 1]) with coding_min_n <= denominator <=
   coding_max_n, shows "≥95%" when value >= top and "≤5%" when value <= bottom (labels from the
   parameters; both bounds inclusive, with the 1e-9 tolerance of docs/methods.md section 1). Its numerator and
   comparison value are withheld (numerator / denominator would give the value back); its
   denominator is shown. Rows whose value is not a rate (risk ratios, the performance index) are
   not coded.
5. Not student counts, never suppressed: measures declared `counts_students=False` (the statewide
   indicators that count LEAs: 3A, 4A, 4B, 9, 10 and their `_excluded` rows; `correction`, which
   counts findings of noncompliance, as compliance_fact's `findings` does). Rows without numerator and denominator
   (ayp, disproportionality, compliance_fact) have nothing to suppress.
6. Kept as they are: status (but rule 3e), threshold and the qualifiers; the flag of a row whose
   numerator is shown, and on every row the flags of measures that declare verdicts
   (MeasureInfo.verdicts: identified disproportionality, significant discrepancy, above the 1% cap,
   ...; the state must report each LEA's performance against the targets, 34 CFR
   300.602(b)(1)(i)(A)). Withheld (issue 17): the flag of a row whose numerator is withheld (coded rows
   too), in the measure table and in a factor row's `flags`: "met" against Indicator 11's 100% target
   says the rate is 100%. Factor points are shown (the determination is their sum, published in
   determinations.csv). Withheld: the `note` text on every row (notes quote counts of other rows:
   a timeline note quotes the exception and pending counts, an alternate ratio note the LEA's
   comparison group, disproportionality the ratios of three years, and free text cannot be
   suppressed cell by cell).
7. Number formatting (the six cells become text): counts (numerator, denominator and the comparison
   counts) as whole numbers ("120") when whole, else the shortest text that reads back as the same
   float; value and comparison_value at full precision, the shortest text that reads back as the
   same float ("0.4" , "0.3333333333333333"). Rounding is for display and is the writer's. A
   number that was null (not computed) stays null, suppressed or not: the status says why.
8. The `suppressed` column: "withheld" (the row's counts are withheld: its own or comparison group is
   small, or it protects another cell; which of the two is not said, since "primary" would tell a
   reader that the group is under min_n: issue 17), "coded" (value shown as a band), "comparison"
   (only the comparison cells withheld), null (nothing withheld). `detail=True` says "primary" and
   "complementary" instead of "withheld" (for the state's own review and the tests; never in a
   public file). Rows are never dropped or reordered; other columns (district_name, ...) pass through.

Residual risks this module does not close (for the README): counts repeated across measures with
different roles (participation's numerator is often proficiency's denominator) are not linked;
an LEA whose students (in a category's population) all belong to one racial/ethnic group has no
second group to withhold, so its implicit total is that group; rule 3d assumes that no points cut lies
between `top` and 100% (a profile that gives full points only at exactly 100% publishes 100% with its
points, whatever is withheld); the rules are heuristics: audit.py says whether they sufficed for a
release, and the manifest records its verdict.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from sedet.model import EPS, QUALIFIERS, SORT_KEY, MeasureInfo, ReportingParams, check_token

COMPARISON_COUNT_COLUMNS = ["comparison_numerator", "comparison_denominator"]
NUMBER_COLUMNS = ["numerator", "denominator", "value", "comparison_numerator", "comparison_denominator",
                  "comparison_value"]


@dataclass(frozen=True)
class Families:
    """What the rules need to know of the measures, from their declarations (model.MeasureInfo)."""

    statewide: dict[str, str]  # the statewide row of an LEA measure, where its name differs (family (b))
    ratio_family: dict[str, str]  # comparison measures whose groups in one LEA add up to one total (c)
    not_additive: list[str]  # measures whose qualifier-null row is not the sum of its parts (no family (a))
    not_students: list[str]  # measures whose counts are not counts of students: never suppressed
    verdicts: list[str]  # measures whose flags are verdicts the state publishes (rule 6)

    @classmethod
    def of(cls, infos: Mapping[str, MeasureInfo]) -> Families:
        return cls(
            {m.name: m.statewide for m in infos.values() if m.statewide},
            {m.name: m.ratio_family for m in infos.values() if m.ratio_family},
            [m.name for m in infos.values() if not m.additive],
            [m.name for m in infos.values() if not m.counts_students],
            [m.name for m in infos.values() if m.verdicts],
        )


WITHHELD = "withheld"
PRIMARY = "primary"
COMPLEMENTARY = "complementary"
CODED = "coded"
COMPARISON = "comparison"
REASONS = [WITHHELD, CODED, COMPARISON]  # what a public table says (rule 8)
DETAIL_REASONS = [PRIMARY, COMPLEMENTARY]  # what `detail=True` says instead of WITHHELD

# Rows that split the late children of a parent row (its denominator minus its numerator): the days-late rows
# of Indicator 11 (the LEA's timeline row; the statewide indicator_11 row). Rule 3e.
BANDS = {"timeline_days_late": ("timeline", "indicator_11")}

_NULL = "\x00"  # stands for null inside a family key
_SEP = "\x1f"


# ---------------------------------------------------------------------------------------------------
# Public functions


def band_labels(params: ReportingParams) -> tuple[str, str]:
    """The texts of a top- and a bottom-coded value: ("≥95%", "≤5%") by default."""
    return f"≥{_percent(params.top)}%", f"≤{_percent(params.bottom)}%"


def suppress_measures(df: pl.DataFrame, params: ReportingParams, infos: Mapping[str, MeasureInfo], *,
                      detail: bool = False, scoring: pl.DataFrame | None = None) -> pl.DataFrame:
    """The measure table for public release: the six number cells as text or the token, plus `suppressed`.

    Same rows in the same order; other columns pass through; `note` is withheld (null). `detail`: the
    `suppressed` column tells "primary" from "complementary" (for the state's own review and the tests;
    never in a public file: rule 8). `scoring`: what the published factor points say of each LEA's value
    (`scoring_of`; rule 3c).
    """
    check_token(params.token)
    families = Families.of(infos)
    plan = _plan(_numbers(df), params, families, measure_rules=True, scoring=scoring)
    return _render(df, plan, params, comparison=True, verdicts=families.verdicts, detail=detail)


def suppress_factors(factors: pl.DataFrame, params: ReportingParams, *, measures: pl.DataFrame | None = None,
                     infos: Mapping[str, MeasureInfo], detail: bool = False,
                     scoring: pl.DataFrame | None = None) -> pl.DataFrame:
    """The factor table for public release: numerator, denominator and value as text or the token.

    The primary rule and top/bottom coding as for measure rows; points and possible are not student
    counts and stay. Given `measures` (the full, unsuppressed measure table of the same run), a factor
    row that repeats a measure row (same district_id, measure, numerator and denominator) is withheld
    as that measure row is, so that the factor table does not publish a complementary cell: all its
    cells when the measure row's denominator is withheld, its numerator and value (unless the factor row
    is coded itself) when only the measure row's numerator is (coded or complementary).
    """
    check_token(params.token)
    families = Families.of(infos)
    plan = _plan(_numbers(factors), params, families, measure_rules=False)
    if measures is not None and factors.height:
        mplan = _plan(_numbers(measures), params, families, measure_rules=True, scoring=scoring)
        key = ["district_id", "measure", "numerator", "denominator"]
        linked = (
            mplan.filter(pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null())
            .group_by(key)
            .agg(pl.col("hide_den").any().alias("m_den"), (pl.col("comp_num") | pl.col("coded")).any().alias("m_num"))
            .filter(pl.col("m_den") | pl.col("m_num"))
        )
        plan = (
            plan.join(linked, on=key, how="left")
            .with_columns(
                (pl.col("hide_den") | pl.col("m_den").fill_null(False)).alias("hide_den"),
                (pl.col("comp_num") | (pl.col("m_num").fill_null(False) & ~pl.col("coded"))).alias("comp_num"),
            )
            .drop("m_den", "m_num")
            .sort("_rid")
        )
    return _render(factors, plan, params, comparison=False, verdicts=families.verdicts, detail=detail)


def public_manifest(manifest: dict, params: ReportingParams, *, measures: pl.DataFrame | None = None,
                    factors: pl.DataFrame | None = None) -> dict:
    """The run manifest with a `public_release` section: the rule, its parameters, and what was withheld.

    `measures` and `factors` are the public tables (the results of `suppress_measures` and
    `suppress_factors`); the counts of withheld cells are taken from them. Nothing is removed: the
    manifest holds hashes, file names, row counts of whole input files and run options, no student-level
    content. The input is not modified.
    """
    out = copy.deepcopy(manifest)
    top, bottom = band_labels(params)
    section: dict = {
        "applied": True,
        "rule": "docs/methods.md section 11 (IDEA 618(b)(1)): suppress counts and rates of groups under min_n, "
                "complementary suppression along totals, optional top/bottom coding; suppression at output only",
        "parameters": params.model_dump(mode="json"),
        "band_labels": {"top": top, "bottom": bottom},
        "always_withheld": ["note", *COMPARISON_COUNT_COLUMNS],
    }
    if measures is not None:
        section["measures"] = suppression_counts(measures, params)
    if factors is not None:
        section["factors"] = suppression_counts(factors, params)
    out["public_release"] = section
    return out


def suppression_counts(public: pl.DataFrame, params: ReportingParams) -> dict:
    """Rows by reason and cells withheld (showing the token) per column, of a public table."""
    cols = [c for c in NUMBER_COLUMNS if c in public.columns]
    reasons = public.get_column("suppressed")
    cells = {c: int((public.get_column(c) == params.token).sum()) for c in cols}
    top, bottom = band_labels(params)
    coded = int(public.get_column("value").is_in([top, bottom]).sum()) if "value" in public.columns else 0
    by_reason = {r: int((reasons == r).sum()) for r in [*REASONS, *DETAIL_REASONS]}
    return {
        "rows": public.height,
        "rows_by_reason": {r: n for r, n in by_reason.items() if r in REASONS or n},
        "cells_withheld": cells,
        "cells_withheld_total": sum(cells.values()),
        "values_coded": coded,
    }


# ---------------------------------------------------------------------------------------------------
# The plan: which cells are withheld (numbers stay numbers here)


def _numbers(df: pl.DataFrame) -> pl.DataFrame:
    """The columns the plan needs, numbers as Float64, with the row id and the canonical order."""
    names = df.columns
    cols = [
        (pl.col(c) if c in names else pl.lit(None)).cast(dtype).alias(c)
        for c, dtype in [("school_year", pl.Int64), ("district_id", pl.String), ("measure", pl.String),
                         *[(q, pl.String) for q in QUALIFIERS],
                         *[(c, pl.Float64) for c in NUMBER_COLUMNS]]
    ]
    out = df.select(cols).with_row_index("_rid")
    order = out.sort(SORT_KEY, nulls_last=False, maintain_order=True).select("_rid").with_row_index("_ord")
    return out.join(order, on="_rid").sort("_rid")


def _plan(base: pl.DataFrame, params: ReportingParams, families: Families, *, measure_rules: bool,
          scoring: pl.DataFrame | None = None) -> pl.DataFrame:
    """Flags per row: primary, coded, hide_den (all withheld), comp_num (numerator and value withheld),
    hide_all (also the status, and a value that was not computed: days-late rows of a withheld LEA)."""
    min_n = params.min_n
    num, den, val = pl.col("numerator"), pl.col("denominator"), pl.col("value")
    cden = pl.col("comparison_denominator")
    student = ~pl.col("measure").is_in(families.not_students).fill_null(False)
    band_row = pl.col("measure").is_in(list(BANDS)).fill_null(False)
    size = pl.when(student).then(pl.coalesce(den, num))
    small = (size > 0) & (size < min_n)
    small_cmp = (cden > 0) & (cden < min_n)
    primary = student & ~band_row & (small.fill_null(False) | small_cmp.fill_null(False))
    is_rate = (
        val.is_not_null() & num.is_not_null() & (den > 0)
        & ((val - num / den).abs() <= EPS) & (val >= -EPS) & (val <= 1 + EPS)
    ).fill_null(False)
    band = (val >= params.top - EPS) | (val <= params.bottom + EPS)
    coded = (
        student & ~primary & ~band_row & is_rate & (den >= params.coding_min_n) & (den <= params.coding_max_n)
        & band
    ).fill_null(False) if params.top_bottom_coding else pl.lit(False)
    plan = base.with_columns(
        size.alias("_size"),
        primary.alias("primary"),
        coded.alias("coded"),
        is_rate.alias("_rate"),
        band_row.alias("_band"),
    ).with_columns(
        pl.col("primary").alias("hide_den"),
        pl.lit(False).alias("comp_num"),
        pl.lit(False).alias("hide_all"),
        pl.lit(False).alias("hide_cv"),
        pl.lit(False).alias("keep_value"),
    )
    plan = _capacities(plan, scoring)
    members = _families(plan, families) if measure_rules else None
    if members is None or members.height == 0:
        return plan
    links = _links(plan)
    rule = _Rule(min_n, _mass(params))
    plan = _protect(plan, members, links, rule, layer="den")
    plan = _protect(plan, members, links, rule, layer="num")
    plan = _statewide_zeros(plan, members, families)
    while plan.get_column("_band").any():
        before = int(plan.get_column("comp_num").sum()) + int(plan.get_column("hide_den").sum())
        plan = _protect(_bands(plan, min_n), members, links, rule, layer="num")
        if int(plan.get_column("comp_num").sum()) + int(plan.get_column("hide_den").sum()) == before:
            break
    return plan


def _capacities(plan: pl.DataFrame, scoring: pl.DataFrame | None) -> pl.DataFrame:
    """What each row could give to a withheld row at 0% or 100% and still be what the release says it is:
    `_capn` students counted, `_capl` not counted. A row scored by points (`scoring`: the interval of values
    its points stand for) keeps at least lo x denominator counted and (1 - hi) x denominator not counted,
    and at least one of each where lo > 0 (hi < 1); an unscored share keeps one of each it has (a
    flag or band may say it is above 0% or below 100%); other rows keep nothing (rule 3c)."""
    key = ["district_id", "measure", "numerator", "denominator"]
    if scoring is not None and scoring.height:
        tiers = scoring.select(*key, pl.col("lo").alias("_lo"), pl.col("hi").alias("_hi")).unique(subset=key,
                                                                                                 keep="none")
        plan = plan.join(tiers, on=key, how="left", nulls_equal=False).sort("_rid")
    else:
        plan = plan.with_columns(pl.lit(None, pl.Float64).alias("_lo"), pl.lit(None, pl.Float64).alias("_hi"))
    num, size, rate = pl.col("numerator"), pl.col("_size"), pl.col("_rate")
    lo, hi = pl.col("_lo"), pl.col("_hi")
    scored = rate & lo.is_not_null()
    keep_num = (
        pl.when(scored).then(pl.max_horizontal((lo * size - 1e-9).ceil(), pl.when(lo > EPS).then(1.0).otherwise(0.0)))
        .when(rate).then(pl.min_horizontal(num, pl.lit(1.0))).otherwise(0.0)
    )
    keep_late = (
        pl.when(scored).then(pl.max_horizontal(((1 - hi) * size - 1e-9).ceil(),
                                               pl.when(hi < 1 - EPS).then(1.0).otherwise(0.0)))
        .when(rate).then(pl.min_horizontal(size - num, pl.lit(1.0))).otherwise(0.0)
    )
    return plan.with_columns(
        scored.fill_null(False).alias("_scored"),
        (num - keep_num).fill_null(0.0).alias("_capn"),
        pl.when(rate).then(size - num - keep_late).otherwise(0.0).fill_null(0.0).alias("_capl"),
    ).drop("_lo", "_hi")


def scoring_of(factors: pl.DataFrame, parameters: Iterable[tuple[str, Any, str]]) -> pl.DataFrame:
    """What the published points of each factor row say of its value: district_id, measure, numerator,
    denominator (of the measure row it repeats), lo, hi (the values those points stand for; the profile's
    points tables, `parameters` as ProfileInfo.parameters holds them). Factors scored on flags, on the value
    itself or on a change from the prior year are left out."""
    from sedet.report.audit import point_intervals

    spans = point_intervals(parameters)
    rows = [
        (r["district_id"], r["measure"], r["numerator"], r["denominator"], *spans[r["factor"]][r["points"]])
        for r in factors.iter_rows(named=True)
        if r["factor"] in spans and r["status"] == "ok" and r["points"] in spans[r["factor"]]
        and r["numerator"] is not None and r["denominator"] is not None
    ]
    schema = {"district_id": pl.String, "measure": pl.String, "numerator": pl.Float64, "denominator": pl.Float64,
              "lo": pl.Float64, "hi": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


@dataclass(frozen=True)
class _Rule:
    min_n: int
    mass: float  # the students a family's withheld rows must hold when one of them is at 0% or 100% (rule 3d)


def _mass(params: ReportingParams) -> float:
    """Twice the smallest group in which a rate just under 100% (over 0%) can reach the top (bottom) band:
    1 / (1 - top) and 1 / bottom children, 20 for 95% and 5% (rule 3d)."""
    gap = min(1.0 - params.top, params.bottom)
    return 2.0 * math.ceil(1.0 / gap - EPS) if gap > EPS else math.inf


def _key(*parts: pl.Expr) -> pl.Expr:
    return pl.concat_str([p.cast(pl.String).fill_null(_NULL) for p in parts], separator=_SEP)


def _family_frame(rows: pl.DataFrame, grp: str, key: pl.Expr, is_total: pl.Expr, implicit: bool) -> pl.DataFrame:
    return rows.select(
        key.alias("fam"),
        "_rid",
        is_total.alias("is_total"),
        pl.lit(implicit).alias("implicit"),
        pl.lit(grp).alias("grp"),
    )


def _families(plan: pl.DataFrame, families: Families) -> pl.DataFrame:
    """Membership of every additive family: fam (key), _rid, is_total, implicit (the total is not a row)."""
    rows = plan.filter(pl.col("_size").is_not_null())
    year, district, measure = pl.col("school_year"), pl.col("district_id"), pl.col("measure")
    frames = []
    # (a) parts and total along one qualifier
    additive = rows.filter(~measure.is_in(families.not_additive))
    for d in QUALIFIERS:
        others = [pl.col(q) for q in QUALIFIERS if q != d]
        frames.append(_family_frame(additive, "a:" + d, _key(pl.lit("a:" + d), year, district, measure, *others),
                                    pl.col(d).is_null(), False))
    # (b) LEAs and the statewide row
    state = measure.replace(families.statewide)
    frames.append(_family_frame(rows, "b", _key(pl.lit("b"), year, state, *[pl.col(q) for q in QUALIFIERS]),
                                district.is_null(), False))
    # (c) the racial/ethnic groups of a comparison measure in one LEA; the total is implicit
    ratio = rows.filter(
        pl.col("comparison_denominator").is_not_null() & pl.col("race_ethnicity").is_not_null() & district.is_not_null()
    )
    others = [pl.col(q) for q in QUALIFIERS if q != "race_ethnicity"]
    ratio_family = measure.replace(families.ratio_family)
    frames.append(_family_frame(ratio, "c", _key(pl.lit("c"), year, district, ratio_family, *others),
                                pl.lit(False), True))
    # (d) one racial/ethnic group of a ratio family across the LEAs, where some LEA's ratio compares with
    # the other groups statewide: the statewide total of each group is then implicit
    statewide = ratio.filter(measure.is_in(list(families.ratio_family))).with_columns(
        _key(year, ratio_family, *others).alias("_cat"))
    compared = statewide.filter(measure != ratio_family).get_column("_cat").unique()
    frames.append(_family_frame(statewide.filter(pl.col("_cat").is_in(compared.implode())), "d",
                                _key(pl.lit("d"), year, ratio_family, pl.col("race_ethnicity"), *others),
                                pl.lit(False), True))
    # (e) the days-late rows of one LEA: their numerators add up to their denominator
    frames.append(_family_frame(rows.filter(pl.col("_band")), "e", _key(pl.lit("e"), year, district, measure),
                                pl.lit(False), True))
    members = pl.concat(frames)
    n_total = pl.col("is_total").sum().over("fam")
    n_parts = (~pl.col("is_total")).sum().over("fam")
    return members.filter(
        (pl.col("implicit") & (n_parts >= 1)) | (~pl.col("implicit") & (n_total == 1) & (n_parts >= 1))
    ).with_columns(pl.col("fam").rank("dense").cast(pl.UInt32))  # a number: grouping on it is cheaper


def _links(plan: pl.DataFrame) -> pl.DataFrame:
    """Rows that publish the same student group twice: link_den (same denominator), link_num (and numerator),
    link_pop (ratio rows of one population: the categories identification.*, placement.*, discipline.* of a
    group count the same students, so one denominator)."""
    cells = [pl.col(c) for c in ["school_year", "district_id", *QUALIFIERS]]
    population = [pl.col(c) for c in ["school_year", "district_id", *QUALIFIERS] if c != "category"]
    ratio = pl.col("comparison_denominator").is_not_null() & pl.col("category").is_not_null()
    return plan.filter(pl.col("_size") > 0).select(
        "_rid",
        _key(*cells, pl.col("_size")).alias("link_den"),
        _key(*cells, pl.col("_size"), pl.col("numerator")).alias("link_num"),
        pl.when(ratio).then(_key(*population, pl.col("category").str.split(".").list.first(), pl.col("_size")))
        .otherwise(pl.col("_rid").cast(pl.String)).alias("link_pop"),
    )


def _protect(plan: pl.DataFrame, families: pl.DataFrame, links: pl.DataFrame, rule: _Rule, *, layer: str
             ) -> pl.DataFrame:
    """Complementary suppression on one layer (denominators, then numerators) until nothing changes.

    A round visits the family groups in a fixed order (a: one qualifier at a time, b, c, d, e); every row is
    in at most one family of a group, so the choices made within a group do not interact, and each group
    sees the choices of the groups before it.
    """
    target = "hide_den" if layer == "den" else "comp_num"
    names = [*("a:" + q for q in QUALIFIERS), "b", "c", "d", "e"]
    present = set(families.get_column("grp").unique().to_list())
    groups = [g for g in names if g in present]
    static = plan.select("_rid", "_ord", "_size", "numerator", "_rate", "_scored", "_capn", "_capl")
    by_group = {g: families.filter(pl.col("grp") == g).join(static, on="_rid") for g in groups}
    kinds = ["link_den", "link_pop"] if layer == "den" else ["link_num"]
    plan = _propagate_links(plan, links, kinds, layer=layer)
    while True:
        before = int(plan.get_column(target).sum())
        for g in groups:
            plan = _protect_group(plan, by_group[g], links, kinds, rule, layer=layer)
        if int(plan.get_column(target).sum()) == before:
            return plan


def _hidden(layer: str) -> pl.Expr:
    if layer == "den":
        return pl.col("hide_den")
    return pl.col("hide_den") | pl.col("coded") | pl.col("comp_num")


def _exposure(layer: str, rule: _Rule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """When a family needs one more withheld member, which shown members may be it, and whether only a
    withheld row at 0% or 100% asks for it (rule 3)."""
    h = pl.col("h") & (pl.col("_size") > 0)
    part_h = h & ~pl.col("is_total")
    total_shown = pl.col("implicit") | (pl.col("is_total") & ~pl.col("h")).any().over("fam")
    num, size, rate = pl.col("numerator"), pl.col("_size"), pl.col("_rate")
    base = ~pl.col("h") & (size > 0)
    one = h.sum().over("fam") == 1
    # no withheld member pinned at 0 (or, for a share, at 100%): the withheld members together must be able
    # to give it one counted (not counted) student while each keeps what its points say (rule 3c)
    zero = (h & (num == 0)).any().over("fam") & (pl.when(h).then(pl.col("_capn")).otherwise(0.0).sum().over("fam") < 1)
    full = (h & rate & (size == num)).any().over("fam") & (
        pl.when(h & rate).then(pl.col("_capl")).otherwise(0.0).sum().over("fam") < 1)
    if layer == "den":
        hidden_sum = pl.when(part_h).then(size).otherwise(0.0).sum().over("fam")
        small = total_shown & (part_h.sum().over("fam") >= 2) & (hidden_sum < rule.min_n)
        extreme = (h & rate & ((num == 0) | (num == size))).any().over("fam")
        heavy = extreme & (pl.when(h).then(size).otherwise(0.0).sum().over("fam") < rule.mass)
        # a share scored by points: the members that give must be withheld whole (rule 3d)
        scored = (h & pl.col("_scored") & ((num == 0) | (num == size))).any().over("fam")
        zero, full = zero & scored, full & scored
    else:
        heavy = small = pl.lit(False)
    gives = (zero & (pl.col("_capn") >= 1)) | (full & rate & (pl.col("_capl") >= 1))
    candidate = base & num.is_not_null() & (one | small | heavy | gives | ((zero | full) & pl.col("is_total")))
    return one | small | heavy | zero | full, candidate, (heavy | zero | full) & ~one & ~small


def _protect_group(plan: pl.DataFrame, members: pl.DataFrame, links: pl.DataFrame, kinds: list[str], rule: _Rule,
                   *, layer: str) -> pl.DataFrame:
    """One pass over the families of one group: each exposed family withholds one more member."""
    target = "hide_den" if layer == "den" else "comp_num"
    hidden = plan.select(_hidden(layer)).to_series()  # plan rows are in _rid order (0, 1, ...)
    m = members.with_columns(hidden.gather(members.get_column("_rid")).alias("h"))
    m = m.filter((pl.col("h") & (pl.col("_size") > 0)).any().over("fam"))  # families with nothing withheld: safe
    if m.height == 0:
        return plan
    exposed, candidate, extreme = _exposure(layer, rule)
    picked = (
        m.with_columns(exposed.fill_null(False).alias("_exposed"), candidate.fill_null(False).alias("_candidate"),
                       extreme.fill_null(False).alias("_extreme"))
        .filter(pl.col("_exposed") & pl.col("_candidate"))
        .sort(["fam", "is_total", "_size", "_ord"])
        .group_by("fam", maintain_order=True)
        .first()
    )
    if picked.height == 0:
        return plan
    chosen = picked.get_column("_rid")
    plan = plan.with_columns((pl.col(target) | pl.col("_rid").is_in(chosen.implode())).alias(target))
    if layer == "den":
        # a total withheld only for a row at 0% or 100%: its value is a rate of a large group and may stay
        # (its counts hidden, the shares of the withheld rows can move); rule 3d
        keep = picked.filter(pl.col("is_total") & pl.col("_extreme")).get_column("_rid")
        inside = (pl.col("value") > EPS) & (pl.col("value") < 1 - EPS)  # a total at 0% or 100% says it of all
        plan = plan.with_columns((pl.col("keep_value") | (pl.col("_rid").is_in(keep.implode()) & inside)
                                  .fill_null(False)).alias("keep_value"))
    return _propagate_links(plan, links, kinds, layer=layer)


def _propagate_links(plan: pl.DataFrame, links: pl.DataFrame, kinds: list[str], *, layer: str) -> pl.DataFrame:
    """The same student group published twice (see `_links`) is withheld in both."""
    target = "hide_den" if layer == "den" else "comp_num"
    for link in kinds:
        linked = (
            plan.select("_rid", _hidden(layer).alias("h")).join(links.select("_rid", link), on="_rid")
            .filter(pl.col("h").any().over(link) & ~pl.col("h"))
            .get_column("_rid")
        )
        if linked.len():
            plan = plan.with_columns((pl.col(target) | pl.col("_rid").is_in(linked.implode())).alias(target))
    return plan


def _statewide_zeros(plan: pl.DataFrame, members: pl.DataFrame, families: Families) -> pl.DataFrame:
    """A group whose count is 0 statewide (family (d) with withheld members, all 0, and no member with a
    count to withhold): the comparison values of the statewide-compared ratio rows of that year and
    category say so (each is every other group statewide), and then every LEA's count of that group is 0.
    Those comparison values are withheld (rule 3d)."""
    d = members.filter(pl.col("grp") == "d").join(
        plan.select("_rid", "numerator", "_size", _hidden("num").alias("h")), on="_rid")
    h = pl.col("h") & (pl.col("_size") > 0)
    stuck = d.filter(
        (h & (pl.col("numerator") == 0)).any().over("fam")
        & (pl.when(h).then(pl.col("numerator")).otherwise(0.0).sum().over("fam") < 1)
        & ~(~pl.col("h") & (pl.col("numerator") >= 1)).any().over("fam")
    ).get_column("_rid")
    if stuck.len() == 0:
        return plan
    family = pl.col("measure").replace(families.ratio_family)
    cat = _key(pl.col("school_year"), family, *[pl.col(q) for q in QUALIFIERS if q != "race_ethnicity"])
    keys = plan.filter(pl.col("_rid").is_in(stuck.implode())).select(cat.alias("_cat")).get_column("_cat").unique()
    statewide = (pl.col("measure") != family) & pl.col("measure").is_in(list(families.ratio_family))
    return plan.with_columns((pl.col("hide_cv") | (statewide & cat.is_in(keys.implode()))).alias("hide_cv"))


def _bands(plan: pl.DataFrame, min_n: int) -> pl.DataFrame:
    """Days-late rows (rule 3e): every cell, the status and the value too, where the LEA's timeline row
    withholds a count (their denominator is its denominator minus its numerator, and a status no_data would
    say that nobody was late); the numerators where the late children are 1 to min_n - 1 (the denominator
    is the shown denominator minus the shown numerator of the timeline row: public anyway)."""
    parents = []
    for measure, (lea, state) in BANDS.items():
        parents.append(
            plan.filter(pl.col("measure").is_in([lea, state]))
            .select("school_year", "district_id", pl.lit(measure).alias("measure"),
                    (pl.col("hide_den") | pl.col("coded") | pl.col("comp_num")).alias("_parent_hidden"))
        )
    joined = plan.join(pl.concat(parents), on=["school_year", "district_id", "measure"], how="left", nulls_equal=True)
    parent_hidden = pl.col("_band") & pl.col("_parent_hidden").fill_null(False)
    small = pl.col("_band") & ~parent_hidden & (pl.col("_size") > 0) & (pl.col("_size") < min_n)
    return joined.with_columns(
        (pl.col("hide_den") | parent_hidden).alias("hide_den"),
        (pl.col("hide_all") | parent_hidden).alias("hide_all"),
        (pl.col("primary") | small).alias("primary"),
        (pl.col("comp_num") | small).alias("comp_num"),
    ).drop("_parent_hidden").sort("_rid")


# ---------------------------------------------------------------------------------------------------
# Rendering: numbers as text, the token where withheld


def _render(df: pl.DataFrame, plan: pl.DataFrame, params: ReportingParams, *, comparison: bool,
            verdicts: list[str], detail: bool) -> pl.DataFrame:
    hide_den = plan.get_column("hide_den")
    hide_num = hide_den | plan.get_column("coded") | plan.get_column("comp_num")
    coded = plan.get_column("coded") & ~hide_den
    comp_num = plan.get_column("comp_num") & ~hide_den
    primary = plan.get_column("primary")
    value = plan.get_column("value")
    flags = pl.DataFrame({"_hd": hide_den, "_hn": hide_num, "_cd": coded, "_top": (value >= params.top - EPS),
                          "_all": plan.get_column("hide_all"), "_cv": hide_num | plan.get_column("hide_cv"),
                          "_kv": plan.get_column("keep_value") & ~plan.get_column("comp_num")})
    present = set(df.columns)
    exprs = _rendered_numbers(present, params)
    has_cmp = pl.lit(False)
    if comparison:
        cmp_exprs, has_cmp = _rendered_comparison(present, params)
        exprs += cmp_exprs
    exprs += _rendered_verdicts(present, params, verdicts)
    if "note" in present:
        exprs.append(pl.lit(None, pl.String).alias("note"))
    reason = (
        pl.when(pl.col("_primary")).then(pl.lit(PRIMARY if detail else WITHHELD))
        .when(pl.col("_hd") | pl.col("_cn")).then(pl.lit(COMPLEMENTARY if detail else WITHHELD))
        .when(pl.col("_cd")).then(pl.lit(CODED))
        .when(has_cmp).then(pl.lit(COMPARISON))
        .otherwise(pl.lit(None, pl.String))
    )
    out = pl.concat(
        [df, flags.with_columns(pl.Series("_primary", primary), pl.Series("_cn", comp_num))], how="horizontal"
    )
    out = out.with_columns(*exprs, reason.alias("suppressed"))
    return out.drop(flags.columns, "_primary", "_cn")


def _rendered_verdicts(present: set[str], params: ReportingParams, verdicts: list[str]) -> list[pl.Expr]:
    """A row whose numerator is withheld withholds its flag too (`flag`, or a factor row's `flags`), unless
    its measure declares verdicts (rule 6); a days-late row of a withheld LEA withholds its status (rule 3e)."""
    token = pl.lit(params.token)
    own = ~pl.col("measure").is_in(verdicts).fill_null(False) if "measure" in present else pl.lit(True)
    exprs = [
        pl.when(pl.col(c).is_not_null() & pl.col("_hn") & own).then(token).otherwise(pl.col(c)).alias(c)
        for c in ("flag", "flags") if c in present
    ]
    if "status" in present:
        exprs.append(pl.when(pl.col("_all")).then(token).otherwise(pl.col("status")).alias("status"))
    return exprs


def _withheld(col: str, hide: str, token: pl.Expr, shown: pl.Expr) -> pl.Expr:
    """Empty where empty, the token where `hide` holds, else `shown`."""
    c = pl.col(col)
    return pl.when(c.is_null()).then(None).when(pl.col(hide)).then(token).otherwise(shown)


def _count_text(col: str) -> pl.Expr:
    c = pl.col(col).cast(pl.Float64)
    whole = c.is_finite() & (c == c.round(0)) & (c.abs() < 2**53)
    return pl.when(whole).then(c.cast(pl.Int64).cast(pl.String)).otherwise(c.cast(pl.String))


def _value_text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Float64).cast(pl.String)


def _rendered_numbers(present: set[str], params: ReportingParams) -> list[pl.Expr]:
    """numerator, denominator and value as text, or the token, or a band (rules 4 and 7)."""
    token = pl.lit(params.token)
    top, bottom = band_labels(params)
    exprs: list[pl.Expr] = []
    if "numerator" in present:
        exprs.append(_withheld("numerator", "_hn", token, _count_text("numerator")).alias("numerator"))
    if "denominator" in present:
        exprs.append(_withheld("denominator", "_hd", token, _count_text("denominator")).alias("denominator"))
    if "value" in present:
        exprs.append(
            pl.when(pl.col("_all")).then(token)
            .when(pl.col("value").is_null()).then(None)
            .when(pl.col("_kv")).then(_value_text("value"))
            .when(pl.col("_cd")).then(pl.when(pl.col("_top")).then(pl.lit(top)).otherwise(pl.lit(bottom)))
            .when(pl.col("_hn")).then(token)
            .otherwise(_value_text("value")).alias("value")
        )
    return exprs


def _rendered_comparison(present: set[str], params: ReportingParams) -> tuple[list[pl.Expr], pl.Expr]:
    """The comparison counts always withheld, the comparison value as the numerator is (rule 2); and
    whether a row has comparison counts."""
    token = pl.lit(params.token)
    exprs: list[pl.Expr] = []
    has_cmp: pl.Expr = pl.lit(False)
    for c in COMPARISON_COUNT_COLUMNS:
        if c in present:
            exprs.append(pl.when(pl.col(c).is_null()).then(None).otherwise(token).alias(c))
            has_cmp = has_cmp | pl.col(c).is_not_null()
    if "comparison_value" in present:
        exprs.append(_withheld("comparison_value", "_cv", token, _value_text("comparison_value"))
                     .alias("comparison_value"))
    return exprs, has_cmp


def _percent(x: float) -> str:
    p = round(x * 100, 6)
    return str(int(p)) if math.isclose(p, round(p)) else f"{p:g}"
