"""Assessment participation and performance of students with IEPs (docs/methods.md section 2; NY Indicator 3).

District rows, per subject and grade band:
- `participation`: participants / students with IEPs enrolled in the testing window; flag met/not_met
  against the participation target; below_min_n under `participation_min_n`.
- `proficiency`: students at or above proficient / students with a valid score (all tested
  students, as APR 3C says, or only accountable ones: `proficiency_population`); for the regular
  assessment (`assessment` = REG), the alternate (ALT) and both (null).
- `performance_index`: multiplier x sum(weight of level x students) / accountable students;
  threshold = effective AMO; flag met_eamo / met_safe_harbor / not_met.
- `ayp`: the subgroup made AYP (value 1) or not (0): participation met where at least
  `participation_min_n` were enrolled, and performance met where at least `performance_min_n`
  were accountable; below_min_n when neither minimum is met.

Statewide rows (district_id null):
- `indicator_3a`: districts that made AYP / districts whose subgroup met a minimum n, per subject
  and grade band, and overall (subject and band null: a district counts as making AYP when it made
  AYP in every subject and band for which it was accountable).
- `indicator_3b`: statewide participation rate; `indicator_3c`: statewide proficiency rate
  (REG, ALT and both). No minimum n applies to the state.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from sedet.measures.common import (
    at_least,
    fmt_num,
    guarded,
    meets_minimums,
    plain,
    status_expr,
    sum_where,
    target_flag,
    to_measure_rows,
)
from sedet.measures.family import Family
from sedet.model import (
    BELOW_MIN_N,
    NO_DATA,
    OK,
    Check,
    Fraction,
    Inputs,
    MeasureInfo,
    NonNegInt,
    Strict,
    T,
    found,
)


class Scale(Strict):
    """Performance levels of one assessment in one grade band: PI weights and proficient levels."""

    grade_band: str
    assessments: list[Literal["REG", "ALT"]]
    weights: dict[str, float]
    proficient: list[str]

    @model_validator(mode="after")
    def _proficient_levels_exist(self) -> Scale:
        unknown = [p for p in self.proficient if p not in self.weights]
        if unknown:
            raise ValueError(f"proficient levels {unknown} are not among the weighted levels {list(self.weights)}")
        return self


class AssessmentParams(Strict):
    """docs/methods.md section 2: participation, proficiency, performance index, AYP (NY)."""

    subjects: list[Literal["ELA", "MATH", "SCI"]]
    grade_bands: dict[str, list[Annotated[int, Field(ge=3, le=12)]]]
    participation_min_n: NonNegInt
    participation_target: Fraction
    performance_min_n: NonNegInt | None = None
    proficiency_min_n: NonNegInt
    proficiency_population: Literal["all_tested", "accountable"] = Field(
        description="who counts in a proficiency rate: every student with a valid score (APR 3C), "
        "or only accountable (continuously enrolled) students"
    )
    scales: list[Scale]
    performance_index: bool = Field(
        True, description="compute the performance index and AYP (NY); false: participation and proficiency only, "
        "and the parameters below are not needed"
    )
    performance_index_multiplier: float | None = None
    amo: dict[str, dict[str, float]] | None = Field(
        None, description="annual measurable objective per subject and grade band"
    )
    eamo_offsets: list[tuple[NonNegInt, float]] | None = Field(
        None, description="[smallest group size, points below the AMO]: the effective AMO for a group of n"
    )
    safe_harbor: bool | None = None
    safe_harbor_fraction: Fraction | None = None
    use_targets_table: bool | None = None


    @field_validator("eamo_offsets", mode="before")
    @classmethod
    def _offsets(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [tuple(x) if isinstance(x, list) else x for x in v]
        return v

    @model_validator(mode="after")
    def _consistent(self) -> AssessmentParams:
        self._scales_cover_the_bands()
        seen: dict[int, str] = {}
        for band, grades in self.grade_bands.items():
            for g in grades:
                if g in seen:
                    raise ValueError(f"grade {g} is in two grade bands ({seen[g]!r} and {band!r})")
                seen[g] = band
        if self.performance_index:
            self._index_complete()
        return self

    def _index_complete(self) -> None:
        """The performance index needs its parameters: every one given, an AMO per subject and band."""
        absent = [name for name in PI_PARAMETERS if getattr(self, name) is None]
        if absent:
            raise ValueError(f"the performance index (performance_index = true) needs {', '.join(absent)}")
        amo = self.amo or {}
        missing = [(s, b) for s in self.subjects for b in self.grade_bands if b not in amo.get(s, {})]
        if missing:
            subject, band = missing[0]
            raise ValueError(f"amo: no value for subject {subject!r}, grade band {band!r}")
        sizes = [n for n, _ in self.eamo_offsets or []]
        if sizes != sorted(sizes) or len(set(sizes)) != len(sizes):
            raise ValueError("eamo_offsets: group sizes must increase")

    def _scales_cover_the_bands(self) -> None:
        """Every scale is of a grade band, and every band has one scale per assessment (REG, ALT)."""
        for s in self.scales:
            if s.grade_band not in self.grade_bands:
                raise ValueError(f"scale for grade band {s.grade_band!r}: not one of grade_bands "
                                 f"{list(self.grade_bands)}")
        for band in self.grade_bands:
            for a in ("REG", "ALT"):
                if sum(1 for s in self.scales if s.grade_band == band and a in s.assessments) != 1:
                    raise ValueError(f"grade band {band!r} needs exactly one scale for the {a} assessment")

    def scale_for(self, band: str, assessment: str) -> Scale:
        return next(s for s in self.scales if s.grade_band == band and assessment in s.assessments)

    def band_of_grade(self) -> dict[int, str]:
        return {g: band for band, grades in self.grade_bands.items() for g in grades}



GROUP = ["school_year", "district_id", "subject", "grade_band"]
PI_PARAMETERS = ("performance_min_n", "performance_index_multiplier", "amo", "eamo_offsets", "safe_harbor",
                 "safe_harbor_fraction", "use_targets_table")


def scale_table(params: AssessmentParams) -> pl.DataFrame:
    """One row per (grade band, assessment, level): its PI weight and whether it is proficient."""
    rows = []
    for s in params.scales:
        for a in s.assessments:
            for level, w in s.weights.items():
                rows.append((s.grade_band, a, level, float(w), level in s.proficient))
    return pl.DataFrame(
        rows,
        schema={"grade_band": pl.String, "assessment": pl.String, "performance_level": pl.String,
                "weight": pl.Float64, "proficient": pl.Boolean},
        orient="row",
    )


def counts(assessments: pl.LazyFrame, params: AssessmentParams, years: list[int]) -> pl.LazyFrame:
    """Sums per year, district, subject, grade band and assessment for students with IEPs."""
    band_of = params.band_of_grade()
    c = pl.col("count")
    # Proficiency counts every valid score (APR 3C) or only accountable students, as the profile says.
    in_prof = pl.col("performance_level").is_not_null()
    if params.proficiency_population == "accountable":
        in_prof = in_prof & pl.col("accountable")
    # the scale's codes in the table's own type (Categorical in memory, text when streamed)
    schema = assessments.collect_schema()
    scales = scale_table(params).lazy().with_columns(
        pl.col(c).cast(schema[c]) for c in ("assessment", "performance_level")
    )
    return plain(
        assessments.filter(
            pl.col("iep")
            & pl.col("school_year").is_in(years)
            & pl.col("subject").is_in(params.subjects)
            & pl.col("grade").is_in(list(band_of))
        )
        .with_columns(_band(pl.col("grade"), params).alias("grade_band"))
        .join(scales, on=["grade_band", "assessment", "performance_level"], how="left")
        .group_by([*GROUP, "assessment"])
        .agg(
            enrolled=sum_where(c, pl.col("enrolled_in_window")),
            participants=sum_where(c, pl.col("enrolled_in_window") & pl.col("participated")),
            accountable=sum_where(c, pl.col("accountable")),
            valid=sum_where(c, in_prof),
            proficient=sum_where(c, in_prof & pl.col("proficient").fill_null(False)),
            points=sum_where(c * pl.col("weight").fill_null(0.0), pl.col("accountable")),
        )
    )


def _band(grade: pl.Expr, params: AssessmentParams) -> pl.Expr:
    """The grade band of a grade, as a when/then chain (streams; a dictionary replace does not)."""
    expr: pl.Expr = pl.lit(None, pl.String)
    for band, grades in params.grade_bands.items():
        expr = pl.when(grade.is_in(grades)).then(pl.lit(band)).otherwise(expr)
    return expr


def _eamo_offset(n: pl.Expr, offsets: list[tuple[int, float]]) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, pl.Float64)
    for size, offset in offsets:  # increasing sizes: the last bound passed wins
        expr = pl.when(n >= size).then(pl.lit(float(offset))).otherwise(expr)
    return expr


def _amo(subject: pl.Expr, band: pl.Expr, amo: dict[str, dict[str, float]]) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, pl.Float64)
    for s, bands in amo.items():
        for b, v in bands.items():
            expr = pl.when((subject == s) & (band == b)).then(pl.lit(float(v))).otherwise(expr)
    return expr


def assessment_measures(
    assessments: pl.LazyFrame,
    params: AssessmentParams,
    year: int,
    targets: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """All assessment measure rows for `year` (the prior year feeds safe harbor)."""
    years = [year - 1, year] if params.performance_index else [year]
    per_assessment = counts(assessments, params, years).cache()
    by_group = per_assessment.group_by(GROUP).agg(
        pl.col("enrolled", "participants", "accountable", "valid", "proficient", "points").sum()
    )
    part_status = status_expr(pl.col("enrolled"), params.participation_min_n)
    current = by_group.filter(pl.col("school_year") == year).with_columns(
        part_status.alias("part_status"),
        (pl.col("participants") / pl.col("enrolled")).alias("part_rate"),
    ).with_columns(
        target_flag(pl.col("part_rate"), params.participation_target, pl.col("part_status") == OK).alias("part_flag"),
    )
    participation = current.select(
        *GROUP,
        pl.lit("participation").alias("measure"),
        pl.col("participants").alias("numerator"),
        pl.col("enrolled").alias("denominator"),
        guarded(pl.col("part_rate"), pl.col("part_status")).alias("value"),
        pl.lit(params.participation_target).alias("threshold"),
        pl.col("part_status").alias("status"),
        pl.col("part_flag").alias("flag"),
        pl.lit(f"participants / IEP students enrolled in the testing window; minimum n {params.participation_min_n}")
        .alias("note"),
    )
    this_year = per_assessment.filter(pl.col("school_year") == year)
    proficiency = _proficiency(this_year, params)
    if not params.performance_index:
        district_rows = pl.concat([to_measure_rows(x) for x in (participation, proficiency)])
        return pl.concat([district_rows, state_indicators(this_year, None)])
    performance, ayp = _performance_and_ayp(by_group, current, params, year, targets)
    district_rows = pl.concat([to_measure_rows(x) for x in (participation, proficiency, performance, ayp)])
    return pl.concat([district_rows, state_indicators(this_year, ayp)])


def _performance_and_ayp(
    by_group: pl.LazyFrame,
    current: pl.LazyFrame,
    params: AssessmentParams,
    year: int,
    targets: pl.LazyFrame | None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The performance index against its effective or safe-harbor target, and AYP (NY)."""
    mult, min_n = params.performance_index_multiplier, params.performance_min_n
    assert mult is not None and min_n is not None and params.amo is not None and params.eamo_offsets is not None
    assert params.safe_harbor_fraction is not None

    # Performance index of the prior year, where it met the minimum, for safe harbor.
    prior = by_group.filter(
        (pl.col("school_year") == year - 1) & meets_minimums(pl.col("accountable"), min_n)
    ).select(
        pl.col("district_id"), pl.col("subject"), pl.col("grade_band"),
        (mult * pl.col("points") / pl.col("accountable")).alias("prior_pi"),
    )
    current = current.join(prior, on=["district_id", "subject", "grade_band"], how="left")
    if targets is not None and params.use_targets_table:
        t = targets.filter(pl.col("school_year") == year).select(
            "district_id", "subject", "grade_band",
            pl.col("effective_target").alias("table_target"),
            pl.col("safe_harbor_target").alias("table_safe_harbor"),
        )
        current = current.join(t, on=["district_id", "subject", "grade_band"], how="left")
    else:
        current = current.with_columns(
            pl.lit(None, pl.Float64).alias("table_target"), pl.lit(None, pl.Float64).alias("table_safe_harbor")
        )

    n_perf = pl.col("accountable")
    perf_status = status_expr(n_perf, min_n)
    pi = mult * pl.col("points") / pl.col("accountable")
    amo = _amo(pl.col("subject"), pl.col("grade_band"), params.amo)
    offset = _eamo_offset(n_perf, params.eamo_offsets)
    pi_max = mult * max(w for s in params.scales for w in s.weights.values())  # NY: 100 x 2 = 200
    computed_sh = pl.col("prior_pi") + params.safe_harbor_fraction * (pi_max - pl.col("prior_pi"))
    g = (
        current.with_columns(
            perf_status.alias("perf_status"),
            pi.alias("pi"),
            pl.coalesce(pl.col("table_target"), amo - offset).alias("eamo"),
            pl.when(pl.col("table_target").is_not_null()).then(pl.lit("targets table"))
            .otherwise(pl.lit("AMO ") + amo.cast(pl.Int64).cast(pl.String)
                       + pl.lit(" - ") + offset.cast(pl.Int64).cast(pl.String)
                       + pl.lit(" for ") + n_perf.cast(pl.Int64).cast(pl.String) + pl.lit(" accountable students"))
            .alias("eamo_source"),
            (pl.coalesce(pl.col("table_safe_harbor"), computed_sh) if params.safe_harbor else pl.lit(None, pl.Float64))
            .alias("sh_target"),
        )
        .with_columns(
            pl.when(pl.col("perf_status") != OK).then(None)
            .when(at_least(pl.col("pi"), pl.col("eamo"))).then(pl.lit("met_eamo"))
            .when(pl.col("sh_target").is_not_null() & at_least(pl.col("pi"), pl.col("sh_target")))
            .then(pl.lit("met_safe_harbor"))
            .otherwise(pl.lit("not_met"))
            .alias("perf_flag"),
        )
        .cache()
    )
    performance = g.select(
        *GROUP,
        pl.lit("performance_index").alias("measure"),
        pl.col("points").alias("numerator"),
        pl.col("accountable").alias("denominator"),
        guarded(pl.col("pi"), pl.col("perf_status")).alias("value"),
        pl.col("eamo").alias("threshold"),
        pl.col("perf_status").alias("status"),
        pl.col("perf_flag").alias("flag"),
        pl.concat_str(
            pl.lit(f"{mult:g} x weighted points / accountable students; minimum n {min_n}; "
                   "effective target: "),
            pl.col("eamo_source").fill_null(pl.lit(f"none below {min_n} accountable students")),
            pl.when(pl.col("sh_target").is_not_null())
            .then(pl.lit("; safe harbor target ") + fmt_num(pl.col("sh_target"))
                  + pl.when(pl.col("table_safe_harbor").is_not_null()).then(pl.lit(" (targets table)"))
                  .otherwise(pl.lit(" from prior PI ") + fmt_num(pl.col("prior_pi"))))
            .otherwise(pl.lit("; no safe harbor (no prior-year PI meeting the minimum)")),
        ).alias("note"),
    )
    ayp_applies = (pl.col("part_status") == OK) | (pl.col("perf_status") == OK)
    made = (pl.col("part_flag").fill_null("met").eq("met")
            & pl.col("perf_flag").fill_null("met").is_in(["met_eamo", "met_safe_harbor", "met"]))
    ayp = g.select(
        *GROUP,
        pl.lit("ayp").alias("measure"),
        pl.when(ayp_applies).then(made.cast(pl.Float64)).alias("value"),
        pl.when(ayp_applies).then(pl.lit(OK))
        .when((pl.col("enrolled") == 0) & (pl.col("accountable") == 0)).then(pl.lit(NO_DATA))
        .otherwise(pl.lit(BELOW_MIN_N)).alias("status"),
        pl.when(ayp_applies).then(pl.when(made).then(pl.lit("made")).otherwise(pl.lit("not_made"))).alias("flag"),
        pl.concat_str(
            pl.lit("participation "),
            pl.col("part_flag").fill_null(pl.lit(f"not applicable (n < {params.participation_min_n})")),
            pl.lit("; performance "),
            pl.col("perf_flag").fill_null(pl.lit(f"not applicable (n < {min_n})")),
        ).alias("note"),
    )
    return performance, ayp


def _proficiency(per_assessment: pl.LazyFrame, params: AssessmentParams) -> pl.LazyFrame:
    both = per_assessment.group_by(GROUP).agg(pl.col("valid", "proficient").sum()).with_columns(
        pl.lit(None, pl.String).alias("assessment")
    )
    cols = [*GROUP, "assessment", "valid", "proficient"]
    rows = pl.concat([per_assessment.select(cols), both.select(cols)])
    status = status_expr(pl.col("valid"), params.proficiency_min_n)
    return rows.select(
        *GROUP,
        "assessment",
        pl.lit("proficiency").alias("measure"),
        pl.col("proficient").alias("numerator"),
        pl.col("valid").alias("denominator"),
        guarded(pl.col("proficient") / pl.col("valid"), status).alias("value"),
        status.alias("status"),
        pl.lit(("accountable students" if params.proficiency_population == "accountable" else "students")
               + f" at or above proficient / with a valid score; minimum n {params.proficiency_min_n}").alias("note"),
    )


def state_indicators(per_assessment: pl.LazyFrame, ayp: pl.LazyFrame | None) -> pl.LazyFrame:
    """Indicators 3A (where AYP is computed), 3B and 3C for the state (district_id null)."""
    keys = ["school_year", "subject", "grade_band"]
    statewide = pl.lit(None, pl.String).alias("district_id")
    rows = [_indicator_3b(per_assessment, keys), _indicator_3c(per_assessment, keys)]
    if ayp is not None:
        rows.insert(0, _indicator_3a(ayp, keys))
    return pl.concat([to_measure_rows(x.with_columns(statewide)) for x in rows])


def _indicator_3a(ayp: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    determined = ayp.filter(pl.col("status") == OK)
    per_band = determined.group_by(keys).agg(
        numerator=(pl.col("value") == 1).sum().cast(pl.Float64),
        denominator=pl.len().cast(pl.Float64),
    )
    overall = (
        determined.group_by(["school_year", "district_id"])
        .agg(made=(pl.col("value") == 1).all())
        .group_by("school_year")
        .agg(numerator=pl.col("made").sum().cast(pl.Float64), denominator=pl.len().cast(pl.Float64))
        .with_columns(pl.lit(None, pl.String).alias("subject"), pl.lit(None, pl.String).alias("grade_band"))
    )
    return pl.concat([per_band, overall.select(per_band.collect_schema().names())]).select(
        *keys,
        pl.lit("indicator_3a").alias("measure"),
        "numerator",
        "denominator",
        (pl.col("numerator") / pl.col("denominator")).alias("value"),
        pl.lit(OK).alias("status"),
        pl.when(pl.col("subject").is_null())
        .then(pl.lit("districts that made AYP in every subject and band they were accountable for / districts "
                     "meeting a minimum n"))
        .otherwise(pl.lit("districts whose IEP subgroup made AYP / districts whose IEP subgroup met a minimum n"))
        .alias("note"),
    )


def _sums(per_assessment: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    return per_assessment.group_by([*keys, "assessment"]).agg(
        pl.col("enrolled", "participants", "valid", "proficient").sum()
    )


def _indicator_3b(per_assessment: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    return _sums(per_assessment, keys).group_by(keys).agg(pl.col("participants", "enrolled").sum()).select(
        *keys,
        pl.lit("indicator_3b").alias("measure"),
        pl.col("participants").alias("numerator"),
        pl.col("enrolled").alias("denominator"),
        pl.when(pl.col("enrolled") > 0).then(pl.col("participants") / pl.col("enrolled")).alias("value"),
        pl.when(pl.col("enrolled") > 0).then(pl.lit(OK)).otherwise(pl.lit("no_data")).alias("status"),
        pl.lit("statewide: IEP students tested / IEP students enrolled in the testing window").alias("note"),
    )


def _indicator_3c(per_assessment: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    sums = _sums(per_assessment, keys)
    both = sums.group_by(keys).agg(pl.col("valid", "proficient").sum()).with_columns(
        pl.lit(None, pl.String).alias("assessment")
    )
    cols = [*keys, "assessment", "valid", "proficient"]
    return pl.concat([sums.select(cols), both.select(cols)]).select(
        *keys,
        "assessment",
        pl.lit("indicator_3c").alias("measure"),
        pl.col("proficient").alias("numerator"),
        pl.col("valid").alias("denominator"),
        pl.when(pl.col("valid") > 0).then(pl.col("proficient") / pl.col("valid")).alias("value"),
        pl.when(pl.col("valid") > 0).then(pl.lit(OK)).otherwise(pl.lit("no_data")).alias("status"),
        pl.lit("statewide: IEP students at or above proficient / IEP students with a valid score").alias("note"),
    )


def level_check(params: AssessmentParams) -> Check:
    """A performance level must be one of the scale of its grade band and assessment (a grade outside
    every band: one of any scale)."""
    band_of = params.band_of_grade()
    valid_key = [f"{grade}|{a}|{level}" for grade, band in band_of.items() for a in ("REG", "ALT")
                 for level in params.scale_for(band, a).weights]
    all_levels = sorted({lv for s in params.scales for lv in s.weights})
    key = T("grade").cast(pl.String) + pl.lit("|") + T("assessment") + pl.lit("|") + T("performance_level")
    in_band = T("grade").is_in(list(band_of))
    bad = T("performance_level").is_not_null() & pl.when(in_band).then(~key.is_in(valid_key)).otherwise(
        ~T("performance_level").is_in(all_levels)
    )
    scales = "; ".join(f"{s.grade_band} {'/'.join(s.assessments)}: {', '.join(s.weights)}" for s in params.scales)
    return Check(
        "performance_level",
        bad,
        f"a performance level of the profile's scale for that grade and assessment ({scales})",
        found("performance_level") + pl.lit(" for grade ") + T("grade").cast(pl.String) + pl.lit(" ") + T("assessment"),
        ["__typed_grade", "__typed_assessment", "__typed_performance_level"],
    )


def compute(inputs: Inputs, params: AssessmentParams) -> pl.LazyFrame:
    return assessment_measures(inputs.table("assessments"), params, inputs.year, inputs.optional("targets"))


FAMILY = Family(
    name="assessment",
    params=AssessmentParams,
    compute=compute,
    tables=lambda p: ("assessments",),
    reads={"assessments": ("school_year", "district_id", "subject", "grade", "iep", "assessment", "enrolled_in_window",
                           "participated", "performance_level", "accountable", "count")},
    code_lists=lambda p: {"performance_level": tuple(sorted({lv for s in p.scales for lv in s.weights}))},
    row_checks=lambda p: {"assessments": [level_check(p)]},
    measures=(
        MeasureInfo("participation", "Participation rate of students with IEPs", "rate", own_sheet=True,
                    statewide="indicator_3b"),
        MeasureInfo("proficiency", "Proficiency rate of students with IEPs", "rate", own_sheet=True,
                    statewide="indicator_3c"),
        MeasureInfo("performance_index", "Performance index (PI) of students with IEPs", numerator="number",
                    own_sheet=True),
        MeasureInfo("ayp", "Adequate yearly progress of the students-with-disabilities subgroup", "made",
                    own_sheet=True),
        MeasureInfo("indicator_3a", "Indicator 3A: percent of districts meeting AYP (of those meeting the minimum n)",
                    "rate", counts_students=False),
        MeasureInfo("indicator_3b", "Indicator 3B: statewide participation rate", "rate"),
        MeasureInfo("indicator_3c", "Indicator 3C: statewide proficiency rate", "rate",
                    blank_qualifiers={"assessment": "all"}),
    ),
)
