"""Worked examples: New York SPP/APR Indicator 3 (FFY 2011, school year 2011-12), students with IEPs.

The rule (docs/methods.md section 2; docs/reference/ny-ffy2011-apr-indicator3-method.txt; configs/ny-ffy2011.toml):

- Participation = participants / students with IEPs enrolled in the testing window (students not
  enrolled in the window are not counted). Minimum 40 enrolled; target 95%, met when rate >= 0.95.
- Proficiency = accountable students at level 3 or 4 / accountable students with a valid score
  (no performance level -> not in the denominator); for REG, for ALT, and both together.
  Minimum 30 (profile: proficiency_min_n, "DEFAULT TO CONFIRM").
- Performance index (PI) = 100 x sum(weight x students) / accountable students. Grades 3-8 REG:
  1ON=2, 1OFF=0, 2ON=2, 2OFF=1, 3=2, 4=2. Grades 3-8 ALT and high school: 1=0, 2=1, 3=2, 4=2;
  high-school cohort members without a score count in the denominator with weight 0. Minimum 30.
- Effective AMO (EAMO) = AMO - offset for n accountable students (30-34 -> 17, 35-39 -> 16, 40-44 -> 15,
  45-49 -> 14, 50-59 -> 13, 60-69 -> 12, 70-89 -> 11, 90-119 -> 10, 120-149 -> 9, 150-219 -> 8,
  220-279 -> 7, 280-399 -> 6, 400-589 -> 5, 590-979 -> 4, 980-1899 -> 3, 1900-5299 -> 2, 5300+ -> 1).
  Profile AMOs for 2011-12: ELA 3-8 148, MATH 3-8 158, ELA HS 189, MATH HS 187.
- Safe-harbor target = prior-year PI + 0.10 x (200 - prior PI), only when the prior-year group had
  at least 30 accountable students. The `targets` table, where it has a row, replaces both targets.
- AYP made: participation met (where >= 40 enrolled) and PI >= EAMO or >= safe-harbor target
  (where >= 30 accountable); below_min_n when neither minimum is met.
- Indicator 3A = districts that made AYP / districts meeting a minimum n, per subject and band, and
  overall (a district must make AYP in every subject and band it is accountable for).
  Indicators 3B and 3C are statewide sums over all districts, with no minimum n.

Every expected value below is worked out by hand from these rules; the arithmetic is beside it.
`count` stands for that many students, so one tuple is a block of identical students.
"""

from __future__ import annotations

import polars as pl
import pytest

from sedet.measures.assessment import assessment_measures
from sedet.profile import load_profile

YEAR = 2012  # school year 2011-12 (school_year is the spring year)
PRIOR = 2011
PARAMS = load_profile("ny-ffy2011").measures.assessment

ASSESSMENT_SCHEMA = {
    "school_year": pl.Int64,
    "district_id": pl.String,
    "subject": pl.String,
    "grade": pl.Int64,
    "iep": pl.Boolean,
    "assessment": pl.String,
    "enrolled_in_window": pl.Boolean,
    "participated": pl.Boolean,
    "performance_level": pl.String,
    "accountable": pl.Boolean,
    "count": pl.Int64,
}
TARGET_SCHEMA = {
    "school_year": pl.Int64,
    "district_id": pl.String,
    "subject": pl.String,
    "grade_band": pl.String,
    "effective_target": pl.Float64,
    "safe_harbor_target": pl.Float64,
}


# ---------------------------------------------------------------------------------------------------
# Helpers


def block(
    district: str,
    subject: str,
    grade: int,
    levels: dict[str | None, int],
    *,
    year: int = YEAR,
    iep: bool = True,
    assessment: str = "REG",
    enrolled: bool = True,
    participated: bool | None = None,
    accountable: bool | None = None,
) -> list[dict]:
    """Rows for one district/subject/grade: {performance level (None = no score): students}.

    Defaults follow the loader: a student with a level participated, one without did not;
    accountable defaults to participated.
    """
    out = []
    for level, count in levels.items():
        took = (level is not None) if participated is None else participated
        out.append(
            {
                "school_year": year,
                "district_id": district,
                "subject": subject,
                "grade": grade,
                "iep": iep,
                "assessment": assessment,
                "enrolled_in_window": enrolled,
                "participated": took,
                "performance_level": level,
                "accountable": took if accountable is None else accountable,
                "count": count,
            }
        )
    return out


def frame(*blocks: list[dict]) -> pl.LazyFrame:
    rows = [r for b in blocks for r in b]
    return pl.LazyFrame(rows, schema=ASSESSMENT_SCHEMA)


def targets_frame(*rows: tuple) -> pl.LazyFrame:
    """(school_year, district, subject, grade_band, effective_target, safe_harbor_target)."""
    return pl.LazyFrame(list(rows), schema=TARGET_SCHEMA, orient="row")


def run(*blocks: list[dict], params=PARAMS, targets: pl.LazyFrame | None = None, year: int = YEAR) -> pl.DataFrame:
    return assessment_measures(frame(*blocks), params, year, targets).collect()


def row(
    df: pl.DataFrame,
    measure: str,
    district: str | None,
    subject: str | None = "ELA",
    band: str | None = "3-8",
    assessment: str | None = None,
) -> dict:
    """The single row for these keys (null-safe match); fails if there is not exactly one."""
    hit = df.filter(
        (pl.col("measure") == measure)
        & pl.col("district_id").eq_missing(pl.lit(district, pl.String))
        & pl.col("subject").eq_missing(pl.lit(subject, pl.String))
        & pl.col("grade_band").eq_missing(pl.lit(band, pl.String))
        & pl.col("assessment").eq_missing(pl.lit(assessment, pl.String))
    )
    assert hit.height == 1, f"expected one {measure} row for {district}/{subject}/{band}/{assessment}, got {hit.height}"
    return hit.row(0, named=True)


def all_2off(n: int) -> dict[str | None, int]:
    """n students at 2OFF (weight 1): PI = 100 x n / n = 100, whatever n is."""
    return {"2OFF": n}


# ---------------------------------------------------------------------------------------------------
# 1. Performance index


def test_case_1a_pi_grades_3_8_all_six_levels():
    """Case 1a: grades 3-8 ELA, 39 students spread over all six levels (grades 3 and 7 pooled)."""
    df = run(
        block("A", "ELA", 3, {"1ON": 5, "1OFF": 10, "2ON": 5}),
        block("A", "ELA", 7, {"2OFF": 9, "3": 8, "4": 2}),
    )
    r = row(df, "performance_index", "A")
    assert r["status"] == "ok"
    assert r["denominator"] == 39  # 5 + 10 + 5 + 9 + 8 + 2
    assert r["numerator"] == 49  # 2*5 + 0*10 + 2*5 + 1*9 + 2*8 + 2*2 = 10 + 0 + 10 + 9 + 16 + 4
    assert r["value"] == pytest.approx(4900 / 39)  # 49 / 39 * 100 = 125.64
    assert r["threshold"] == pytest.approx(132.0)  # ELA 3-8 AMO 148 - 16 (35-39 students)
    assert r["flag"] == "not_met"  # 125.64 < 132, and no prior year for safe harbor


def test_case_1b_pi_high_school_cohort_without_score_counts_with_weight_0():
    """Case 1b: HS ELA cohort of 40; 10 members have no score and count in the denominator at weight 0."""
    df = run(
        block("H", "ELA", 11, {"1": 4, "2": 10, "3": 12, "4": 4}),
        block("H", "ELA", 12, {None: 10}, accountable=True),  # cohort members, not tested
    )
    r = row(df, "performance_index", "H", band="HS")
    assert r["status"] == "ok"
    assert r["denominator"] == 40  # 4 + 10 + 12 + 4 + 10 cohort members
    assert r["numerator"] == 42  # 0*4 + 1*10 + 2*12 + 2*4 + 0*10
    assert r["value"] == pytest.approx(105.0)  # 42 / 40 * 100 = 105 (not 42/30*100 = 140)
    assert r["threshold"] == pytest.approx(174.0)  # ELA HS AMO 189 - 15 (40-44 students)
    assert r["flag"] == "not_met"


def test_case_1c_pi_grades_3_8_pools_regular_and_alternate():
    """Case 1c: grades 3-8 MATH group of 30, 25 on REG (six levels) and 5 on ALT (four levels)."""
    df = run(
        block("A", "MATH", 5, {"3": 10, "2OFF": 10, "1OFF": 5}),
        block("A", "MATH", 5, {"2": 3, "3": 2}, assessment="ALT"),
    )
    r = row(df, "performance_index", "A", subject="MATH")
    assert r["denominator"] == 30  # 25 REG + 5 ALT
    assert r["value"] == pytest.approx(3700 / 30)  # (2*10 + 1*10 + 0*5 + 1*3 + 2*2) / 30 * 100 = 37/30*100 = 123.33
    assert r["threshold"] == pytest.approx(141.0)  # MATH 3-8 AMO 158 - 17 (30-34 students)


# ---------------------------------------------------------------------------------------------------
# 2. Participation


def test_case_2a_39_enrolled_is_not_evaluated_for_participation():
    """Case 2a: a group of 39 enrolled is below the participation minimum of 40: no value, never 0."""
    df = run(block("A", "ELA", 4, {"3": 39}))
    r = row(df, "participation", "A")
    assert r["status"] == "below_min_n"  # 39 < 40
    assert r["value"] is None
    assert r["flag"] is None


def test_case_2b_38_of_40_is_exactly_95_percent_and_meets():
    """Case 2b: 38 participants of 40 enrolled = 0.95, which meets the 95% target (>=)."""
    df = run(block("A", "ELA", 4, {"3": 38, None: 2}))
    r = row(df, "participation", "A")
    assert r["status"] == "ok"
    assert (r["numerator"], r["denominator"]) == (38, 40)
    assert r["value"] == pytest.approx(0.95)  # 38 / 40
    assert r["threshold"] == pytest.approx(0.95)
    assert r["flag"] == "met"


def test_case_2c_37_of_40_does_not_meet():
    """Case 2c: 37 participants of 40 enrolled = 0.925 < 0.95."""
    df = run(block("A", "ELA", 4, {"3": 37, None: 3}))
    r = row(df, "participation", "A")
    assert r["value"] == pytest.approx(0.925)  # 37 / 40
    assert r["flag"] == "not_met"


@pytest.mark.parametrize(
    ("participants", "enrolled"),
    [(57, 60), (95, 100), (133, 140), (171, 180), (247, 260), (931, 980)],  # each is exactly 19/20
)
def test_case_2d_exactly_95_percent_meets_at_any_size(participants, enrolled):
    """Case 2d: every rate that is exactly 0.95 in arithmetic meets the target (no float miss)."""
    df = run(block("A", "MATH", 6, {"4": participants, None: enrolled - participants}))
    r = row(df, "participation", "A", subject="MATH")
    assert r["value"] == pytest.approx(0.95)  # participants / enrolled = 19/20
    assert r["flag"] == "met"


def test_case_2e_students_not_enrolled_in_window_are_not_in_the_denominator():
    """Case 2e: 38 of 40 enrolled in the window, plus 5 students with IEPs not enrolled in the window."""
    df = run(
        block("A", "ELA", 5, {"3": 38, None: 2}),
        block("A", "ELA", 5, {None: 5}, enrolled=False),
    )
    r = row(df, "participation", "A")
    assert r["denominator"] == 40  # the 5 outside the window are left out
    assert r["value"] == pytest.approx(0.95)  # 38 / 40 (not 38 / 45 = 0.844)
    assert r["flag"] == "met"


def test_case_2f_nothing_to_divide_by_is_no_data():
    """Case 2f: only students outside the window and not accountable: 0 enrolled, 0 accountable."""
    df = run(block("Z", "ELA", 5, {None: 5}, enrolled=False))
    part = row(df, "participation", "Z")
    assert part["status"] == "no_data"  # 0 / 0: no value, never infinity or 0
    assert part["value"] is None
    perf = row(df, "performance_index", "Z")
    assert perf["status"] == "no_data"
    assert perf["value"] is None


# ---------------------------------------------------------------------------------------------------
# 3. Performance minimum n


def test_case_3a_29_accountable_is_not_evaluated_for_performance():
    """Case 3a: 29 accountable students: PI below the minimum of 30, no value and no flag."""
    df = run(block("A", "ELA", 8, {"3": 29}))
    r = row(df, "performance_index", "A")
    assert r["status"] == "below_min_n"  # 29 < 30
    assert r["value"] is None
    assert r["flag"] is None


def test_case_3b_30_accountable_is_computed():
    """Case 3b: 30 accountable students: PI computed and compared with the EAMO."""
    df = run(block("A", "ELA", 8, {"3": 15, "2OFF": 15}))
    r = row(df, "performance_index", "A")
    assert r["status"] == "ok"
    assert r["value"] == pytest.approx(150.0)  # (2*15 + 1*15) / 30 * 100 = 45/30*100 = 150
    assert r["threshold"] == pytest.approx(131.0)  # 148 - 17 (30-34 students)
    assert r["flag"] == "met_eamo"  # 150 >= 131


# ---------------------------------------------------------------------------------------------------
# 4. Effective AMO


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (30, 131), (34, 131),  # 148 - 17
        (35, 132), (39, 132),  # 148 - 16
        (40, 133), (44, 133),  # 148 - 15
        (45, 134), (49, 134),  # 148 - 14
        (50, 135), (59, 135),  # 148 - 13
        (60, 136), (69, 136),  # 148 - 12
        (70, 137), (89, 137),  # 148 - 11
        (90, 138), (119, 138),  # 148 - 10
        (120, 139), (149, 139),  # 148 - 9
        (150, 140), (219, 140),  # 148 - 8
        (220, 141), (279, 141),  # 148 - 7
        (280, 142), (399, 142),  # 148 - 6
        (400, 143), (589, 143),  # 148 - 5
        (590, 144), (979, 144),  # 148 - 4
        (980, 145), (1899, 145),  # 148 - 3
        (1900, 146), (5299, 146),  # 148 - 2
        (5300, 147), (20000, 147),  # 148 - 1
    ],
)
def test_case_4a_effective_amo_ela_3_8_by_group_size(n, expected):
    """Case 4a: the EAMO for ELA 3-8 is AMO 148 minus the offset for the group's size (both ends of each row)."""
    df = run(block("A", "ELA", 6, all_2off(n)))
    r = row(df, "performance_index", "A")
    assert r["value"] == pytest.approx(100.0)  # n*1 / n * 100
    assert r["threshold"] == pytest.approx(expected)
    assert r["flag"] == "not_met"  # 100 < every EAMO here


@pytest.mark.parametrize(
    ("subject", "grade", "band", "n", "expected"),
    [
        ("MATH", 4, "3-8", 35, 142),  # MATH 3-8 AMO 158 - 16
        ("ELA", 10, "HS", 5300, 188),  # ELA HS AMO 189 - 1
        ("MATH", 9, "HS", 30, 170),  # MATH HS AMO 187 - 17
    ],
)
def test_case_4b_effective_amo_other_subjects_and_bands(subject, grade, band, n, expected):
    """Case 4b: the AMO is the subject's and band's own."""
    df = run(block("A", subject, grade, {"2": n} if band == "HS" else all_2off(n)))
    r = row(df, "performance_index", "A", subject=subject, band=band)
    assert r["threshold"] == pytest.approx(expected)


def test_case_4c_pi_equal_to_the_effective_target_meets_it():
    """Case 4c: 100 accountable, PI exactly 138 = EAMO 148 - 10: met_eamo; and AYP made."""
    df = run(block("A", "ELA", 3, {"2OFF": 62, "3": 38}))
    r = row(df, "performance_index", "A")
    assert r["value"] == pytest.approx(138.0)  # (1*62 + 2*38) / 100 * 100 = 138
    assert r["threshold"] == pytest.approx(138.0)  # 148 - 10 (90-119 students)
    assert r["flag"] == "met_eamo"
    assert row(df, "ayp", "A")["flag"] == "made"  # participation 100/100, PI met


def test_case_4d_pi_one_point_below_the_effective_target_does_not_meet_it():
    """Case 4d: 100 accountable, PI 137 < EAMO 138, no prior year: not met, AYP not made."""
    df = run(block("A", "ELA", 3, {"2OFF": 63, "3": 37}))
    r = row(df, "performance_index", "A")
    assert r["value"] == pytest.approx(137.0)  # (1*63 + 2*37) / 100 * 100 = 137
    assert r["flag"] == "not_met"
    a = row(df, "ayp", "A")
    assert (a["value"], a["flag"]) == (0, "not_made")


def test_case_4e_pi_equal_to_the_effective_target_at_150():
    """Case 4e: 150 accountable, PI exactly 140 = EAMO 148 - 8: met_eamo."""
    df = run(block("A", "ELA", 4, {"3": 60, "2OFF": 90}))
    r = row(df, "performance_index", "A")
    assert r["value"] == pytest.approx(140.0)  # (2*60 + 1*90) / 150 * 100 = 210/150*100 = 140
    assert r["threshold"] == pytest.approx(140.0)  # 148 - 8 (150-219 students)
    assert r["flag"] == "met_eamo"


# ---------------------------------------------------------------------------------------------------
# 5. Safe harbor


PRIOR_PI_120 = {"3": 18, "1OFF": 12}  # 30 students: (2*18 + 0*12) / 30 * 100 = 36/30*100 = 120


def test_case_5a_safe_harbor_from_a_prior_pi_of_120():
    """Case 5a: prior PI 120 (group of exactly 30) -> target 120 + 0.10 x (200 - 120) = 128;
    PI 128 < EAMO 138 makes AYP."""
    df = run(
        block("S", "ELA", 5, PRIOR_PI_120, year=PRIOR),
        block("S", "ELA", 5, {"3": 64, "1OFF": 36}),  # 100 students: 2*64 / 100 * 100 = 128
    )
    r = row(df, "performance_index", "S")
    assert r["value"] == pytest.approx(128.0)
    assert r["threshold"] == pytest.approx(138.0)  # EAMO 148 - 10 (90-119 students); 128 < 138
    assert r["flag"] == "met_safe_harbor"  # 128 >= 128
    a = row(df, "ayp", "S")
    assert a["status"] == "ok"
    assert a["value"] == 1  # participation 100/100 met, performance met by safe harbor
    assert a["flag"] == "made"


def test_case_5b_one_point_below_the_safe_harbor_target():
    """Case 5b: same prior PI 120 (target 128); current PI 127: neither target, AYP not made."""
    df = run(
        block("T", "ELA", 5, PRIOR_PI_120, year=PRIOR),
        block("T", "ELA", 5, {"3": 63, "2OFF": 1, "1OFF": 36}),  # (2*63 + 1*1) / 100 * 100 = 127
    )
    r = row(df, "performance_index", "T")
    assert r["value"] == pytest.approx(127.0)
    assert r["flag"] == "not_met"  # 127 < 138 and 127 < 128
    a = row(df, "ayp", "T")
    assert (a["value"], a["flag"]) == (0, "not_made")


def test_case_5c_safe_harbor_target_hit_exactly_from_prior_130():
    """Case 5c: prior PI 130 -> target 130 + 0.10 x (200 - 130) = 137; PI 137 meets it
    (0.1 x 70 is inexact in floats)."""
    df = run(
        block("V", "ELA", 6, {"3": 30, "2OFF": 70}, year=PRIOR),  # (2*30 + 1*70) / 100 * 100 = 130
        block("V", "ELA", 6, {"3": 37, "2OFF": 63}),  # (2*37 + 1*63) / 100 * 100 = 137
    )
    r = row(df, "performance_index", "V")
    assert r["value"] == pytest.approx(137.0)  # < EAMO 138
    assert r["flag"] == "met_safe_harbor"  # 137 >= 137


def test_case_5c2_safe_harbor_target_exact_in_arithmetic_not_in_floats():
    """Case 5c2: prior PI 20/3 -> target 20/3 + (200 - 20/3)/10 = 20/3 + 58/3 = 26 exactly; PI 26 meets it.

    Computed naively in floating point the target comes out a hair above 26, so this checks the
    rule (docs/methods.md section 1) that a threshold test must hold on exact values.
    """
    df = run(
        block("W", "ELA", 8, {"2OFF": 2, "1OFF": 28}, year=PRIOR),  # (1*2 + 0*28) / 30 * 100 = 20/3 = 6.67
        block("W", "ELA", 8, {"2OFF": 13, "1OFF": 37}),  # (1*13 + 0*37) / 50 * 100 = 26
    )
    r = row(df, "performance_index", "W")
    assert r["value"] == pytest.approx(26.0)
    assert r["threshold"] == pytest.approx(135.0)  # 148 - 13 (50-59 students)
    assert r["flag"] == "met_safe_harbor"  # 26 >= 26


def test_case_5d_prior_group_below_30_gives_no_safe_harbor():
    """Case 5d: prior group of 29 (PI 100, which would give 110) does not count: PI 128 < EAMO 138 is not met."""
    df = run(
        block("U", "ELA", 5, {"2OFF": 29}, year=PRIOR),  # 29 < 30: no prior PI
        block("U", "ELA", 5, {"3": 64, "1OFF": 36}),  # PI 128
    )
    r = row(df, "performance_index", "U")
    assert r["value"] == pytest.approx(128.0)
    assert r["flag"] == "not_met"
    assert row(df, "ayp", "U")["flag"] == "not_made"


def test_case_5e_prior_year_rows_feed_safe_harbor_only():
    """Case 5e: the prior year gives no measure rows of its own."""
    df = run(
        block("S", "ELA", 5, PRIOR_PI_120, year=PRIOR),
        block("S", "ELA", 5, {"3": 64, "1OFF": 36}),
    )
    assert set(df["school_year"].to_list()) == {YEAR}


def test_case_5f_safe_harbor_switched_off_in_the_profile():
    """Case 5f: with safe_harbor = false, Case 5a's PI 128 < EAMO 138 is simply not met."""
    params = PARAMS.model_copy(update={"safe_harbor": False})
    df = run(
        block("S", "ELA", 5, PRIOR_PI_120, year=PRIOR),
        block("S", "ELA", 5, {"3": 64, "1OFF": 36}),
        params=params,
    )
    assert row(df, "performance_index", "S")["flag"] == "not_met"


# ---------------------------------------------------------------------------------------------------
# 6. Targets table


PI_122 = {"3": 30, "2OFF": 1, "1OFF": 19}  # 50 students: (2*30 + 1*1 + 0*19) / 50 * 100 = 61/50*100 = 122


def _targets_case_blocks() -> list[list[dict]]:
    return [
        block("A", "ELA", 7, PI_122),
        block("B", "ELA", 7, PRIOR_PI_120, year=PRIOR),  # computed safe harbor would be 128
        block("B", "ELA", 7, PI_122),
        block("C", "ELA", 7, PI_122),
        block("D", "ELA", 7, PI_122),
        block("E", "ELA", 7, {"2OFF": 30}, year=PRIOR),  # prior PI 100: computed safe harbor 110
        block("E", "ELA", 7, PI_122),
    ]


TARGETS = targets_frame(
    (YEAR, "A", "ELA", "3-8", 120.0, None),
    (YEAR, "B", "ELA", "3-8", 130.0, 121.0),
    (PRIOR, "C", "ELA", "3-8", 100.0, 100.0),  # another year: not used for 2012
    (YEAR, "E", "ELA", "3-8", 130.0, 125.0),
)


def test_case_6a_targets_table_replaces_the_effective_target():
    """Case 6a: table EAMO 120 replaces the computed 148 - 13 = 135; PI 122 meets it."""
    df = run(*_targets_case_blocks(), targets=TARGETS)
    r = row(df, "performance_index", "A")
    assert r["value"] == pytest.approx(122.0)
    assert r["threshold"] == pytest.approx(120.0)
    assert r["flag"] == "met_eamo"  # 122 >= 120 (with the computed 135 it would not be)


def test_case_6b_targets_table_replaces_the_safe_harbor_target_downwards():
    """Case 6b: table safe harbor 121 replaces the computed 120 + 0.1 x 80 = 128; PI 122 meets it."""
    df = run(*_targets_case_blocks(), targets=TARGETS)
    r = row(df, "performance_index", "B")
    assert r["threshold"] == pytest.approx(130.0)
    assert r["flag"] == "met_safe_harbor"  # 122 < 130, 122 >= 121


def test_case_6c_targets_table_replaces_the_safe_harbor_target_upwards():
    """Case 6c: table safe harbor 125 replaces the computed 100 + 0.1 x 100 = 110; PI 122 meets neither."""
    df = run(*_targets_case_blocks(), targets=TARGETS)
    r = row(df, "performance_index", "E")
    assert r["flag"] == "not_met"  # 122 < 130 and 122 < 125 (the computed 110 would have been met)


def test_case_6d_no_table_row_for_this_year_uses_the_computed_target():
    """Case 6d: C has a table row for 2011 only, D none: both get 148 - 13 = 135 (50 students)."""
    df = run(*_targets_case_blocks(), targets=TARGETS)
    for district in ("C", "D"):
        r = row(df, "performance_index", district)
        assert r["threshold"] == pytest.approx(135.0)
        assert r["flag"] == "not_met"  # 122 < 135


def test_case_6e_targets_table_ignored_when_the_profile_says_so():
    """Case 6e: use_targets_table = false: A is back to the computed EAMO 135 and does not meet it."""
    params = PARAMS.model_copy(update={"use_targets_table": False})
    df = run(*_targets_case_blocks(), targets=TARGETS, params=params)
    r = row(df, "performance_index", "A")
    assert r["threshold"] == pytest.approx(135.0)
    assert r["flag"] == "not_met"


# ---------------------------------------------------------------------------------------------------
# 7. Proficiency


def _proficiency_blocks() -> list[list[dict]]:
    return [
        # District A, grade 6 ELA.
        # REG: 40 valid, 15 proficient
        block("A", "ELA", 6, {"1ON": 5, "1OFF": 5, "2ON": 5, "2OFF": 10, "3": 12, "4": 3}),
        block("A", "ELA", 6, {None: 4}, accountable=True),  # accountable, no score: not in the denominator
        block("A", "ELA", 6, {"4": 6}, accountable=False),  # scored but not accountable: left out
        block("A", "ELA", 6, {"1": 5, "2": 10, "3": 10, "4": 5}, assessment="ALT"),  # ALT: 30 valid, 15 proficient
        # District B, grade 8 ELA: ALT group of 29.
        block("B", "ELA", 8, {"3": 10, "2OFF": 20}),  # REG: 30 valid, 10 proficient
        block("B", "ELA", 8, {"3": 29}, assessment="ALT"),  # ALT: 29 valid, 29 proficient
        # District H, high-school ELA cohort (Case 1b).
        block("H", "ELA", 11, {"1": 4, "2": 10, "3": 12, "4": 4}),
        block("H", "ELA", 12, {None: 10}, accountable=True),
    ]


def test_case_7a_proficiency_regular_assessment():
    """Case 7a: REG proficient = levels 3 and 4 among every student with a valid score.

    NY APR Measurement C: the proficiency rate "includes both children with IEPs enrolled for a
    full academic year and those not enrolled for a full academic year", so the 6 scored students
    who are not accountable (not continuously enrolled) count here, though not in the PI.
    """
    df = run(*_proficiency_blocks())
    r = row(df, "proficiency", "A", assessment="REG")
    # 12 + 3 + 6 proficient of 5+5+5+10+12+3 + 6 scored (not the 4 unscored)
    assert (r["numerator"], r["denominator"]) == (21, 46)
    assert r["value"] == pytest.approx(21 / 46)  # 0.4565


def test_case_7a2_proficiency_of_accountable_students_only():
    """Case 7a2: with proficiency_population = "accountable" (docs/methods.md section 2's reading),
    the 6 scored students who are not accountable are left out."""
    params = PARAMS.model_copy(update={"proficiency_population": "accountable"})
    df = run(*_proficiency_blocks(), params=params)
    r = row(df, "proficiency", "A", assessment="REG")
    assert (r["numerator"], r["denominator"]) == (15, 40)  # 12 + 3 of 5+5+5+10+12+3
    assert r["value"] == pytest.approx(0.375)  # 15 / 40


def test_case_7b_proficiency_alternate_assessment():
    """Case 7b: ALT proficient = levels 3 and 4."""
    df = run(*_proficiency_blocks())
    r = row(df, "proficiency", "A", assessment="ALT")
    assert (r["numerator"], r["denominator"]) == (15, 30)  # 10 + 5 of 5+10+10+5
    assert r["value"] == pytest.approx(0.5)  # 15 / 30


def test_case_7c_proficiency_both_assessments():
    """Case 7c: both assessments (assessment null) pool numerators and denominators."""
    df = run(*_proficiency_blocks())
    r = row(df, "proficiency", "A", assessment=None)
    assert (r["numerator"], r["denominator"]) == (36, 76)  # 21 + 15, 46 + 30
    assert r["value"] == pytest.approx(36 / 76)  # 0.4737


def test_case_7d_alternate_group_of_29_is_below_the_minimum_but_pools_into_both():
    """Case 7d: B's ALT group of 29 valid scores is withheld; REG and both are computed."""
    df = run(*_proficiency_blocks())
    alt = row(df, "proficiency", "B", assessment="ALT")
    assert alt["status"] == "below_min_n"  # 29 < 30
    assert alt["value"] is None
    reg = row(df, "proficiency", "B", assessment="REG")
    assert reg["value"] == pytest.approx(1 / 3)  # 10 / 30
    both = row(df, "proficiency", "B", assessment=None)
    assert both["value"] == pytest.approx(39 / 59)  # (10 + 29) / (30 + 29) = 0.661


def test_case_7e_high_school_cohort_without_score_not_in_proficiency_denominator():
    """Case 7e: the 10 unscored HS cohort members count for the PI (Case 1b) but not for proficiency."""
    df = run(*_proficiency_blocks())
    r = row(df, "proficiency", "H", band="HS", assessment=None)
    assert (r["numerator"], r["denominator"]) == (16, 30)  # 12 + 4 of 4+10+12+4
    assert r["value"] == pytest.approx(16 / 30)  # 0.5333


# ---------------------------------------------------------------------------------------------------
# 8. AYP


def _ayp_blocks() -> list[list[dict]]:
    return [
        block("P", "ELA", 4, {"4": 47, None: 3}),  # 47/50 = 0.94 tested; PI 200
        block("N", "ELA", 4, {"4": 29, None: 10}),  # 39 enrolled, 29 accountable: neither minimum
        block("Q", "ELA", 4, {"4": 39}),  # 39 enrolled (participation n/a); 39 accountable, PI 200
        block("Q2", "ELA", 4, {"1OFF": 39}),  # 39 enrolled (participation n/a); PI 0
        block("R", "ELA", 4, {"4": 29}),  # 40 enrolled, 40 tested, only 29 accountable
        block("R", "ELA", 4, {"4": 11}, accountable=False),
        block("F", "ELA", 4, {"1OFF": 40}),  # 40/40 tested; PI 0
    ]


def test_case_8a_participation_not_met_fails_ayp_even_with_top_pi():
    """Case 8a: 47 of 50 tested = 0.94 < 0.95; PI 200 >= 148 - 14 = 134 does not rescue it."""
    df = run(*_ayp_blocks())
    assert row(df, "participation", "P")["flag"] == "not_met"  # 47 / 50 = 0.94
    assert row(df, "performance_index", "P")["flag"] == "met_eamo"  # 2*47/47*100 = 200 >= 134
    a = row(df, "ayp", "P")
    assert (a["status"], a["value"], a["flag"]) == ("ok", 0, "not_made")


def test_case_8b_neither_minimum_met_is_below_min_n():
    """Case 8b: 39 enrolled (< 40) and 29 accountable (< 30): AYP is not determined."""
    df = run(*_ayp_blocks())
    a = row(df, "ayp", "N")
    assert a["status"] == "below_min_n"
    assert a["value"] is None
    assert a["flag"] is None


def test_case_8c_only_performance_applies():
    """Case 8c: 39 enrolled, so participation does not apply; PI 200 >= 148 - 16 = 132: made. PI 0: not made."""
    df = run(*_ayp_blocks())
    assert row(df, "participation", "Q")["value"] is None
    a = row(df, "ayp", "Q")
    assert (a["status"], a["value"], a["flag"]) == ("ok", 1, "made")
    a2 = row(df, "ayp", "Q2")
    assert (a2["status"], a2["value"], a2["flag"]) == ("ok", 0, "not_made")  # 0 < 132, no prior


def test_case_8d_only_participation_applies():
    """Case 8d: 40 of 40 tested (met) but only 29 accountable: performance does not apply: made."""
    df = run(*_ayp_blocks())
    assert row(df, "participation", "R")["flag"] == "met"  # 40 / 40 = 1.0
    assert row(df, "performance_index", "R")["status"] == "below_min_n"  # 29 < 30
    a = row(df, "ayp", "R")
    assert (a["status"], a["value"], a["flag"]) == ("ok", 1, "made")


def test_case_8e_participation_met_but_performance_not():
    """Case 8e: 40 of 40 tested, PI 0 < 148 - 15 = 133: not made."""
    df = run(*_ayp_blocks())
    assert row(df, "performance_index", "F")["flag"] == "not_met"
    a = row(df, "ayp", "F")
    assert (a["value"], a["flag"]) == (0, "not_made")


# ---------------------------------------------------------------------------------------------------
# 9. Indicators 3A, 3B, 3C


MADE = {"4": 40}  # 40/40 tested, PI 200: made AYP
NOT_MADE = {"1OFF": 40}  # 40/40 tested, PI 0 < 133: not made
SMALL = {"4": 20}  # 20 enrolled, 20 accountable: below both minimums


def _indicator_3a_blocks() -> list[list[dict]]:
    return [
        block("A", "ELA", 3, MADE),
        block("A", "MATH", 3, MADE),
        block("B", "ELA", 3, NOT_MADE),
        block("B", "MATH", 3, MADE),
        block("C", "ELA", 3, SMALL),
        block("C", "MATH", 3, SMALL),
        block("D", "MATH", 3, MADE),  # D has no ELA rows: accountable for MATH 3-8 only
    ]


def test_case_9a_indicator_3a_per_subject_and_band():
    """Case 9a: ELA 3-8: A made, B not, C below both minimums -> 1/2; MATH 3-8: A, B, D made, C out -> 3/3."""
    df = run(*_indicator_3a_blocks())
    ela = row(df, "indicator_3a", None, subject="ELA", band="3-8")
    assert (ela["numerator"], ela["denominator"]) == (1, 2)
    assert ela["value"] == pytest.approx(0.5)  # 1 / 2
    math = row(df, "indicator_3a", None, subject="MATH", band="3-8")
    assert (math["numerator"], math["denominator"]) == (3, 3)
    assert math["value"] == pytest.approx(1.0)  # 3 / 3


def test_case_9b_indicator_3a_overall_needs_ayp_in_every_accountable_subject_and_band():
    """Case 9b: overall: A made both, B failed ELA, D made its only one, C not counted -> 2/3."""
    df = run(*_indicator_3a_blocks())
    r = row(df, "indicator_3a", None, subject=None, band=None)
    assert (r["numerator"], r["denominator"]) == (2, 3)  # A and D of A, B, D
    assert r["value"] == pytest.approx(2 / 3)  # 0.667


def _statewide_blocks() -> list[list[dict]]:
    return [
        # X: 30 enrolled (below 40), 27 tested: 24 REG + 3 ALT.
        block("X", "ELA", 5, {"3": 8, "4": 2, "2OFF": 14, None: 3}),  # REG: 24 valid, 10 proficient
        block("X", "ELA", 5, {"3": 2, "1": 1}, assessment="ALT"),  # ALT: 3 valid, 2 proficient
        # Y: 50 enrolled, 48 tested: 45 REG + 3 ALT.
        block("Y", "ELA", 7, {"3": 20, "4": 5, "1OFF": 20, None: 2}),  # REG: 45 valid, 25 proficient
        block("Y", "ELA", 7, {"4": 1, "2": 2}, assessment="ALT"),  # ALT: 3 valid, 1 proficient
        # Not in the window (X) and without IEPs (Y): in no statewide figure.
        block("X", "ELA", 5, {None: 7}, enrolled=False),
        block("Y", "ELA", 7, {"1OFF": 500, None: 100}, iep=False),
    ]


def test_case_9c_indicator_3b_statewide_participation_ignores_the_minimum_n():
    """Case 9c: 3B ELA 3-8 = (27 + 48) / (30 + 50) = 75/80 = 0.9375, X included though its own rate is withheld."""
    df = run(*_statewide_blocks())
    assert row(df, "participation", "X")["status"] == "below_min_n"  # 30 < 40
    r = row(df, "indicator_3b", None)
    assert (r["numerator"], r["denominator"]) == (75, 80)
    assert r["value"] == pytest.approx(0.9375)


def test_case_9d_indicator_3c_statewide_proficiency_ignores_the_minimum_n():
    """Case 9d: 3C ELA 3-8 REG (10+25)/(24+45) = 35/69; ALT (2+1)/(3+3) = 1/2; both 38/75."""
    df = run(*_statewide_blocks())
    assert row(df, "proficiency", "X", assessment="REG")["status"] == "below_min_n"  # 24 < 30
    reg = row(df, "indicator_3c", None, assessment="REG")
    assert (reg["numerator"], reg["denominator"]) == (35, 69)
    assert reg["value"] == pytest.approx(35 / 69)  # 0.5072
    alt = row(df, "indicator_3c", None, assessment="ALT")
    assert (alt["numerator"], alt["denominator"]) == (3, 6)
    assert alt["value"] == pytest.approx(0.5)
    both = row(df, "indicator_3c", None, assessment=None)
    assert (both["numerator"], both["denominator"]) == (38, 75)  # 35 + 3, 69 + 6
    assert both["value"] == pytest.approx(38 / 75)  # 0.5067


# ---------------------------------------------------------------------------------------------------
# 10. Out of scope rows


def test_case_10a_students_without_ieps_are_ignored_everywhere():
    """Case 10a: 38/40 IEP students (all tested at level 3) plus 1500 non-IEP students change nothing."""
    df = run(
        block("A", "ELA", 4, {"3": 38, None: 2}),
        block("A", "ELA", 4, {"1OFF": 1000, None: 500}, iep=False),
        block("A", "ELA", 3, {"1OFF": 20}, year=PRIOR, iep=False),
        block("N", "MATH", 4, {"1OFF": 300}, iep=False),  # a district with no IEP students at all
    )
    part = row(df, "participation", "A")
    assert (part["numerator"], part["denominator"]) == (38, 40)  # 0.95, met
    assert part["flag"] == "met"
    perf = row(df, "performance_index", "A")
    assert perf["denominator"] == 38
    assert perf["value"] == pytest.approx(200.0)  # 2*38 / 38 * 100
    assert row(df, "proficiency", "A", assessment=None)["value"] == pytest.approx(1.0)  # 38 / 38
    assert row(df, "indicator_3b", None)["denominator"] == 40
    assert row(df, "indicator_3c", None, assessment=None)["denominator"] == 38
    assert "N" not in df["district_id"].to_list()
    assert df.filter(pl.col("subject") == "MATH").height == 0


def test_case_10b_science_is_not_a_ny_subject():
    """Case 10b: SCI rows are ignored: no SCI row anywhere, and ELA unchanged."""
    df = run(
        block("A", "ELA", 4, {"3": 38, None: 2}),
        block("A", "SCI", 4, {"1OFF": 50, None: 10}),
    )
    assert df.filter(pl.col("subject") == "SCI").height == 0
    assert row(df, "participation", "A")["denominator"] == 40


def test_case_10c_grades_outside_the_profile_bands_are_ignored():
    """Case 10c: with bands grades 4 and 8 / HS (the federal measurement), grade 3 rows are left out."""
    params = PARAMS.model_copy(update={"grade_bands": {"3-8": [4, 8], "HS": [9, 10, 11, 12]}})
    df = run(
        block("A", "ELA", 4, {"3": 40}),
        block("A", "ELA", 3, {"1OFF": 100}),
        params=params,
    )
    r = row(df, "performance_index", "A")
    assert r["denominator"] == 40  # grade 3's 100 students are not in the band
    assert r["value"] == pytest.approx(200.0)  # 2*40 / 40 * 100 (not 80/140*100 = 57.14)
    assert row(df, "participation", "A")["denominator"] == 40
