"""Public release (`--public`): small-cell suppression of the files sedet writes (docs/methods.md section 11).

IDEA 618(b)(1): public data must not identify a child. Suppression happens only here, at output:
every computation upstream uses the full data. The parameters are `sedet.model.ReportingParams`;
what each measure's rows are (additive, counts of students, ...) its family declares (model.MeasureInfo).

Public functions:

- `suppress_measures(df, params, infos)`: the measure table for public release;
- `suppress_factors(factors, params, *, measures=None, infos)`: the per-LEA factor table;
- `public_manifest(manifest, params, *, measures=None, factors=None)`: the manifest with what was applied;
- `band_labels(params)`: the texts of top- and bottom-coded values.

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
6. Kept as they are: flag (a verdict against a target; the state must report each LEA's
   performance against the targets to the public, 34 CFR 300.602(b)(1)(i)(A)), status, threshold
   and the qualifiers. Withheld: the `note` text on every row (notes quote counts of other rows:
   a timeline note quotes the exception and pending counts, an alternate ratio note the LEA's
   comparison group, disproportionality the ratios of three years, and free text cannot be
   suppressed cell by cell).
7. Number formatting (the six cells become text): counts (numerator, denominator and the comparison
   counts) as whole numbers ("120") when whole, else the shortest text that reads back as the same
   float; value and comparison_value at full precision, the shortest text that reads back as the
   same float ("0.4" , "0.3333333333333333"). Rounding is for display and is the writer's. A
   number that was null (not computed) stays null, suppressed or not: the status says why.
8. The `suppressed` column: "primary" (the row's own or comparison group is small), "complementary"
   (withheld to protect another cell), "coded" (value shown as a band), "comparison" (only the
   comparison counts withheld), null (nothing withheld). Rows are never dropped or reordered; other
   columns (district_name, ...) pass through.

Residual risks this module does not close (for the README): counts repeated across measures with
different roles (participation's numerator is often proficiency's denominator) are not linked;
an LEA whose students (in a category's population) all belong to one racial/ethnic group has no
second group to withhold, so its implicit total is that group; bounds (a withheld cell lies
between 0 and the shown total) and the interval a coded numerator lies in are not audited; the
flag of a coded row against a 100% target says whether the rate is 100%.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass

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

    @classmethod
    def of(cls, infos: Mapping[str, MeasureInfo]) -> Families:
        return cls(
            {m.name: m.statewide for m in infos.values() if m.statewide},
            {m.name: m.ratio_family for m in infos.values() if m.ratio_family},
            [m.name for m in infos.values() if not m.additive],
            [m.name for m in infos.values() if not m.counts_students],
        )


PRIMARY = "primary"
COMPLEMENTARY = "complementary"
CODED = "coded"
COMPARISON = "comparison"
REASONS = [PRIMARY, COMPLEMENTARY, CODED, COMPARISON]

_NULL = "\x00"  # stands for null inside a family key
_SEP = "\x1f"


# ---------------------------------------------------------------------------------------------------
# Public functions


def band_labels(params: ReportingParams) -> tuple[str, str]:
    """The texts of a top- and a bottom-coded value: ("≥95%", "≤5%") by default."""
    return f"≥{_percent(params.top)}%", f"≤{_percent(params.bottom)}%"


def suppress_measures(df: pl.DataFrame, params: ReportingParams, infos: Mapping[str, MeasureInfo]) -> pl.DataFrame:
    """The measure table for public release: the six number cells as text or the token, plus `suppressed`.

    Same rows in the same order; other columns pass through; `note` is withheld (null).
    """
    check_token(params.token)
    plan = _plan(_numbers(df), params, Families.of(infos), measure_rules=True)
    return _render(df, plan, params, comparison=True)


def suppress_factors(factors: pl.DataFrame, params: ReportingParams, *, measures: pl.DataFrame | None = None,
                     infos: Mapping[str, MeasureInfo]) -> pl.DataFrame:
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
        mplan = _plan(_numbers(measures), params, families, measure_rules=True)
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
    return _render(factors, plan, params, comparison=False)


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
    return {
        "rows": public.height,
        "rows_by_reason": {r: int((reasons == r).sum()) for r in REASONS},
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


def _plan(base: pl.DataFrame, params: ReportingParams, families: Families, *, measure_rules: bool) -> pl.DataFrame:
    """Flags per row: primary, coded, hide_den (all withheld), comp_num (numerator and value withheld)."""
    min_n = params.min_n
    num, den, val = pl.col("numerator"), pl.col("denominator"), pl.col("value")
    cden = pl.col("comparison_denominator")
    student = ~pl.col("measure").is_in(families.not_students).fill_null(False)
    size = pl.when(student).then(pl.coalesce(den, num))
    small = (size > 0) & (size < min_n)
    small_cmp = (cden > 0) & (cden < min_n)
    primary = student & (small.fill_null(False) | small_cmp.fill_null(False))
    is_rate = (
        val.is_not_null() & num.is_not_null() & (den > 0)
        & ((val - num / den).abs() <= EPS) & (val >= -EPS) & (val <= 1 + EPS)
    ).fill_null(False)
    band = (val >= params.top - EPS) | (val <= params.bottom + EPS)
    coded = (
        student & ~primary & is_rate & (den >= params.coding_min_n) & (den <= params.coding_max_n) & band
    ).fill_null(False) if params.top_bottom_coding else pl.lit(False)
    plan = base.with_columns(
        size.alias("_size"),
        primary.alias("primary"),
        coded.alias("coded"),
    ).with_columns(
        pl.col("primary").alias("hide_den"),
        pl.lit(False).alias("comp_num"),
    )
    members = _families(plan, families) if measure_rules else None
    if members is None or members.height == 0:
        return plan
    links = _links(plan)
    plan = _protect(plan, members, links, min_n, layer="den")
    plan = _protect(plan, members, links, min_n, layer="num")
    return plan


def _key(*parts: pl.Expr) -> pl.Expr:
    return pl.concat_str([p.cast(pl.String).fill_null(_NULL) for p in parts], separator=_SEP)


def _families(plan: pl.DataFrame, families: Families) -> pl.DataFrame:
    """Membership of every additive family: fam (key), _rid, is_total, implicit (the total is not a row)."""
    rows = plan.filter(pl.col("_size").is_not_null())
    year, district, measure = pl.col("school_year"), pl.col("district_id"), pl.col("measure")
    frames = []
    # (a) parts and total along one qualifier
    additive = rows.filter(~measure.is_in(families.not_additive))
    for d in QUALIFIERS:
        others = [pl.col(q) for q in QUALIFIERS if q != d]
        frames.append(additive.select(
            _key(pl.lit("a:" + d), year, district, measure, *others).alias("fam"),
            "_rid",
            pl.col(d).is_null().alias("is_total"),
            pl.lit(False).alias("implicit"),
            pl.lit("a:" + d).alias("grp"),
        ))
    # (b) LEAs and the statewide row
    state = measure.replace(families.statewide)
    frames.append(rows.select(
        _key(pl.lit("b"), year, state, *[pl.col(q) for q in QUALIFIERS]).alias("fam"),
        "_rid",
        district.is_null().alias("is_total"),
        pl.lit(False).alias("implicit"),
        pl.lit("b").alias("grp"),
    ))
    # (c) the racial/ethnic groups of a comparison measure in one LEA; the total is implicit
    ratio = rows.filter(
        pl.col("comparison_denominator").is_not_null() & pl.col("race_ethnicity").is_not_null() & district.is_not_null()
    )
    frames.append(ratio.select(
        _key(pl.lit("c"), year, district, measure.replace(families.ratio_family),
             *[pl.col(q) for q in QUALIFIERS if q != "race_ethnicity"]).alias("fam"),
        "_rid",
        pl.lit(False).alias("is_total"),
        pl.lit(True).alias("implicit"),
        pl.lit("c").alias("grp"),
    ))
    members = pl.concat(frames)
    n_total = pl.col("is_total").sum().over("fam")
    n_parts = (~pl.col("is_total")).sum().over("fam")
    return members.filter(
        (pl.col("implicit") & (n_parts >= 1)) | (~pl.col("implicit") & (n_total == 1) & (n_parts >= 1))
    )


def _links(plan: pl.DataFrame) -> pl.DataFrame:
    """Rows that publish the same student group twice: link_den (same denominator), link_num (and numerator)."""
    cells = [pl.col(c) for c in ["school_year", "district_id", *QUALIFIERS]]
    return plan.filter(pl.col("_size") > 0).select(
        "_rid",
        _key(*cells, pl.col("_size")).alias("link_den"),
        _key(*cells, pl.col("_size"), pl.col("numerator")).alias("link_num"),
    )


def _protect(plan: pl.DataFrame, families: pl.DataFrame, links: pl.DataFrame, min_n: int, *, layer: str
             ) -> pl.DataFrame:
    """Complementary suppression on one layer (denominators, then numerators) until nothing changes.

    A round visits the family groups in a fixed order (a: one qualifier at a time, b, c); every row is in
    at most one family of a group, so the choices made within a group do not interact, and each group
    sees the choices of the groups before it.
    """
    target = "hide_den" if layer == "den" else "comp_num"
    link = "link_den" if layer == "den" else "link_num"
    groups = [g for g in [*("a:" + q for q in QUALIFIERS), "b", "c"] if g in set(families.get_column("grp"))]
    by_group = {g: families.filter(pl.col("grp") == g) for g in groups}
    links = links.select("_rid", link)
    plan = _propagate_links(plan, links, layer=layer)
    while True:
        before = int(plan.get_column(target).sum())
        for g in groups:
            plan = _protect_group(plan, by_group[g], links, min_n, layer=layer)
        if int(plan.get_column(target).sum()) == before:
            return plan


def _hidden(layer: str) -> pl.Expr:
    if layer == "den":
        return pl.col("hide_den")
    return pl.col("hide_den") | pl.col("coded") | pl.col("comp_num")


def _protect_group(plan: pl.DataFrame, members: pl.DataFrame, links: pl.DataFrame, min_n: int, *, layer: str
                   ) -> pl.DataFrame:
    """One pass over the families of one group: each exposed family withholds one more member."""
    target = "hide_den" if layer == "den" else "comp_num"
    state = plan.select("_rid", "_ord", "_size", "numerator", _hidden(layer).alias("h"))
    m = members.join(state, on="_rid")
    h = pl.col("h") & (pl.col("_size") > 0)
    part_h = h & ~pl.col("is_total")
    total_shown = pl.col("implicit") | (pl.col("is_total") & ~pl.col("h")).any().over("fam")
    exposed = h.sum().over("fam") == 1
    if layer == "den":
        hidden_sum = pl.when(part_h).then(pl.col("_size")).otherwise(0.0).sum().over("fam")
        exposed = exposed | (total_shown & (part_h.sum().over("fam") >= 2) & (hidden_sum < min_n))
    candidate = ~pl.col("h") & (pl.col("_size") > 0)
    if layer == "num":
        candidate = candidate & pl.col("numerator").is_not_null()
    chosen = (
        m.filter(exposed.fill_null(False))
        .filter(candidate.fill_null(False))
        .sort(["fam", "is_total", "_size", "_ord"])
        .group_by("fam", maintain_order=True)
        .first()
        .get_column("_rid")
    )
    if chosen.len() == 0:
        return plan
    plan = plan.with_columns((pl.col(target) | pl.col("_rid").is_in(chosen.implode())).alias(target))
    return _propagate_links(plan, links, layer=layer)


def _propagate_links(plan: pl.DataFrame, links: pl.DataFrame, *, layer: str) -> pl.DataFrame:
    """The same student group published twice (see `_links`) is withheld in both."""
    target = "hide_den" if layer == "den" else "comp_num"
    link = links.columns[1]
    linked = (
        plan.select("_rid", _hidden(layer).alias("h")).join(links, on="_rid")
        .filter(pl.col("h").any().over(link) & ~pl.col("h"))
        .get_column("_rid")
    )
    if linked.len() == 0:
        return plan
    return plan.with_columns((pl.col(target) | pl.col("_rid").is_in(linked.implode())).alias(target))


# ---------------------------------------------------------------------------------------------------
# Rendering: numbers as text, the token where withheld


def _render(df: pl.DataFrame, plan: pl.DataFrame, params: ReportingParams, *, comparison: bool) -> pl.DataFrame:
    hide_den = plan.get_column("hide_den")
    hide_num = hide_den | plan.get_column("coded") | plan.get_column("comp_num")
    coded = plan.get_column("coded") & ~hide_den
    comp_num = plan.get_column("comp_num") & ~hide_den
    primary = plan.get_column("primary")
    value = plan.get_column("value")
    flags = pl.DataFrame({"_hd": hide_den, "_hn": hide_num, "_cd": coded, "_top": (value >= params.top - EPS)})
    present = set(df.columns)
    exprs = _rendered_numbers(present, params)
    has_cmp = pl.lit(False)
    if comparison:
        cmp_exprs, has_cmp = _rendered_comparison(present, params)
        exprs += cmp_exprs
    if "note" in present:
        exprs.append(pl.lit(None, pl.String).alias("note"))
    reason = (
        pl.when(pl.col("_primary")).then(pl.lit(PRIMARY))
        .when(pl.col("_hd") | pl.col("_cn")).then(pl.lit(COMPLEMENTARY))
        .when(pl.col("_cd")).then(pl.lit(CODED))
        .when(has_cmp).then(pl.lit(COMPARISON))
        .otherwise(pl.lit(None, pl.String))
    )
    out = pl.concat(
        [df, flags.with_columns(pl.Series("_primary", primary), pl.Series("_cn", comp_num))], how="horizontal"
    )
    out = out.with_columns(*exprs, reason.alias("suppressed"))
    return out.drop(flags.columns, "_primary", "_cn")


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
            pl.when(pl.col("value").is_null()).then(None)
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
        exprs.append(_withheld("comparison_value", "_hn", token, _value_text("comparison_value"))
                     .alias("comparison_value"))
    return exprs, has_cmp


def _percent(x: float) -> str:
    p = round(x * 100, 6)
    return str(int(p)) if math.isclose(p, round(p)) else f"{p:g}"
