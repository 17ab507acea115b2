"""Worked examples: significant disproportionality (NJ Factor 2; 34 CFR 300.647) and Indicators 9 and 10.

The rule (docs/methods.md section 4; docs/reference/nj-ffy2022-about-determinations.txt, Factor 2;
configs/nj-ffy2022.toml, [measures.disproportionality]):

- risk(g) = students of group g with the outcome / students of g in the denominator population;
  comparison risk = the same for all other groups of the LEA combined;
  risk ratio = risk(g) / comparison risk.
- Alternate risk ratio: when the LEA's comparison group fails the minimum n or cell, divide by
  the risk of all other groups statewide (statewide total minus group g statewide, summed over
  every LEA). If that comparison fails too, or its risk is 0: no value (never infinity).
- Not computed when g fails: minimum n on the denominator (NJ: "at least 30 students in the
  racial/ethnic group"), minimum cell on the numerator (NJ: "at least 10 children with IEPs in
  the racial/ethnic group"). "Meets a minimum" means >=.
- Exceeds when ratio >= 3.0 (NJ: "a risk ratio of 3.0 or higher"); the operator is a parameter.
  Thresholds are tested on exact values: 0.15 / 0.05 is 2.9999999999999996 in floating point but
  3 in arithmetic, and must exceed.
- Identified when the ratio exceeds in each of 3 consecutive years (NJ: "for three consecutive
  years"); a year without a computed value never counts. Optional reasonable progress
  (34 CFR 300.647(d)(2)): not identified when the ratio fell by at least the margin in each of
  the two prior years. A year the bundle does not hold: status no_data, no flag.
- Populations: identification (all, and ID/SLD/EMN/SLI/OHI/AUT), ages 3-21, denominator all
  enrolled students of g; placement (RC39LT; SS and RF), ages 6-21, denominator students of g
  with IEPs; discipline (OSS/ISS of 10 days or fewer, more than 10; TOTAL removals per child),
  ages 3-21, denominator students of g with IEPs.
- Indicators 9 (identification, all) and 10 (specific categories): LEAs identified whose
  disproportionate representation resulted from inappropriate identification / LEAs meeting the
  minimum n and cell for at least one group; LEAs excluded by the minimums reported apart.

Every expected value below is worked out by hand; the arithmetic is beside it. `count` stands
for that many students, so one row is a block of identical students.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sedet.measures.disproportionality import disproportionality_measures
from sedet.profile import load_profile

from .frames import COMPLIANCE_SCHEMA, DISCIPLINE_SCHEMA, ENROLLMENT_SCHEMA

YEAR = 2023  # FFY 2022 = school year 2022-23 (school_year is the spring year)
NJ = load_profile("nj-ffy2022").measures.disproportionality
NJ1 = NJ.model_copy(update={"consecutive_years": 1})  # one year: the ratio cases need no history


RATIO_MEASURES = ("risk_ratio", "alternate_risk_ratio")


# ---------------------------------------------------------------------------------------------------
# Helpers


def pupils(
    district: str, race: str, n: int, *, iep: bool, disability: str | None = None,
    environment: str | None = None, age: int | None = 10, year: int = YEAR,
) -> dict:
    """One enrollment row: n identical students."""
    return {
        "school_year": year, "district_id": district, "race_ethnicity": race, "iep": iep,
        "disability": disability, "environment": environment, "low_income": None, "age": age,
        "grade": None, "count": n,
    }


def group(
    district: str, race: str, enrolled: int, ieps: int | dict[str, int], *, year: int = YEAR, age: int = 10
) -> list[dict]:
    """`enrolled` students of `race`, `ieps` of them with IEPs (a number, or {disability: students})."""
    by_dis = {"SLD": ieps} if isinstance(ieps, int) else ieps
    with_iep = sum(by_dis.values())
    rows = [pupils(district, race, k, iep=True, disability=d, age=age, year=year) for d, k in by_dis.items() if k]
    if enrolled - with_iep:
        rows.append(pupils(district, race, enrolled - with_iep, iep=False, age=age, year=year))
    return rows


def removed(district: str, race: str, n: int, days: float, *, kind: str = "OSS", removals: int = 1,
            iep: bool = True, age: int | None = 10, year: int = YEAR) -> dict:
    """One discipline row: n students with `removals` removals of `kind`, `days` days in all."""
    return {
        "school_year": year, "district_id": district, "race_ethnicity": race, "iep": iep,
        "removal_type": kind, "days_removed": float(days), "removals": removals, "age": age, "count": n,
    }


def flat(*parts: dict | list[dict]) -> list[dict]:
    return [r for p in parts for r in (p if isinstance(p, list) else [p])]


def run(enrollment: list, discipline: list | None = None, *, params=NJ1, year: int = YEAR,
        years_in_bundle: list[int] | None = None, compliance: list[tuple] | None = None) -> pl.DataFrame:
    enr = pl.LazyFrame(flat(*enrollment), schema=ENROLLMENT_SCHEMA)
    dis = None if discipline is None else pl.LazyFrame(flat(*discipline), schema=DISCIPLINE_SCHEMA)
    comp = None if compliance is None else pl.LazyFrame(compliance, schema=COMPLIANCE_SCHEMA, orient="row")
    years = years_in_bundle if years_in_bundle is not None else params.window(year)
    return disproportionality_measures(enr, dis, params, year, years, comp).collect()


def ratio(df: pl.DataFrame, district: str, race: str, category: str = "identification", year: int = YEAR) -> dict:
    """The single risk-ratio row (risk_ratio or alternate_risk_ratio) for these keys."""
    hit = df.filter(
        pl.col("measure").is_in(RATIO_MEASURES) & (pl.col("school_year") == year)
        & (pl.col("district_id") == district) & (pl.col("race_ethnicity") == race) & (pl.col("category") == category)
    )
    assert hit.height == 1, f"expected one ratio row for {year}/{district}/{race}/{category}, got {hit.height}"
    return hit.row(0, named=True)


def determination(df: pl.DataFrame, district: str, race: str, category: str = "identification") -> dict:
    hit = df.filter(
        (pl.col("measure") == "disproportionality") & (pl.col("district_id") == district)
        & (pl.col("race_ethnicity") == race) & (pl.col("category") == category)
    )
    assert hit.height == 1, f"expected one disproportionality row for {district}/{race}/{category}, got {hit.height}"
    return hit.row(0, named=True)


def statewide(df: pl.DataFrame, measure: str) -> dict:
    hit = df.filter((pl.col("measure") == measure) & pl.col("district_id").is_null())
    assert hit.height == 1, f"expected one statewide {measure} row, got {hit.height}"
    return hit.row(0, named=True)


def three_years(district: str, bl7_ieps: list[int | None]) -> list[dict]:
    """2021-2023: WH7 1000 enrolled with 50 IEPs (risk 0.05); BL7 200 enrolled with k IEPs, so
    the BL7 ratio is k/200 / 0.05 = k/10. None: BL7 is 29 students with 20 IEPs (below min n)."""
    rows = []
    for year, k in zip((YEAR - 2, YEAR - 1, YEAR), bl7_ieps, strict=True):
        rows += group(district, "WH7", 1000, 50, year=year)
        rows += group(district, "BL7", 29, 20, year=year) if k is None else group(district, "BL7", 200, k, year=year)
    return rows


# ---------------------------------------------------------------------------------------------------
# 1. The risk ratio and the threshold


def test_case_1_ratio_of_exactly_3_exceeds_under_at_least_3():
    """Case 1: 18 of 120 against 44 of 880 is exactly 3.0 and exceeds under >= 3.0; the reverse is 1/3."""
    df = run([group("D1", "BL7", 120, 18), group("D1", "WH7", 880, 44)])
    r = ratio(df, "D1", "BL7")
    assert r["measure"] == "risk_ratio"
    assert (r["numerator"], r["denominator"]) == (18, 120)
    assert (r["comparison_numerator"], r["comparison_denominator"]) == (44, 880)
    assert r["comparison_value"] == pytest.approx(0.05)  # 44/880
    assert r["value"] == 3.0  # 18/120 ÷ 44/880 = 0.15 / 0.05 = 3.0 exactly (not 2.9999999999999996)
    assert r["threshold"] == 3.0
    assert r["status"] == "ok"
    assert r["flag"] == "exceeds"  # 3.0 >= 3.0
    w = ratio(df, "D1", "WH7")
    assert w["value"] == pytest.approx(1 / 3)  # 44/880 ÷ 18/120 = 0.05 / 0.15 = 1/3
    assert w["flag"] == "not_exceeds"


def test_case_2_ratio_of_exactly_3_does_not_exceed_under_more_than_3():
    """Case 2: the same 3.0 with the federal wording "exceeds" (op >) does not exceed."""
    df = run([group("D1", "BL7", 120, 18), group("D1", "WH7", 880, 44)],
             params=NJ1.model_copy(update={"threshold_op": ">"}))
    r = ratio(df, "D1", "BL7")
    assert r["value"] == 3.0  # 0.15 / 0.05
    assert r["flag"] == "not_exceeds"  # 3.0 > 3.0 is false


# ---------------------------------------------------------------------------------------------------
# 2. The comparison group: the statewide fallback and a comparison risk of 0


def test_case_3_comparison_group_of_8_falls_back_to_statewide():
    """Case 3: D1's other groups are 8 students (< 30): BL7 is compared with all other groups statewide."""
    df = run([
        group("D1", "BL7", 100, 24), group("D1", "WH7", 8, 2),
        group("D2", "BL7", 50, 10), group("D2", "WH7", 492, 48),
        group("D3", "HI7", 300, 30), group("D3", "WH7", 200, 20),
    ])
    r = ratio(df, "D1", "BL7")
    assert r["measure"] == "alternate_risk_ratio"
    assert r["status"] == "ok"
    # statewide: 100+8+50+492+300+200 = 1150 enrolled, 24+2+10+48+30+20 = 134 IEPs;
    # BL7 statewide 100+50 = 150 enrolled, 24+10 = 34 IEPs; all others 1150-150 = 1000, 134-34 = 100
    assert (r["comparison_numerator"], r["comparison_denominator"]) == (100, 1000)
    assert r["comparison_value"] == pytest.approx(0.1)  # 100/1000
    assert r["value"] == pytest.approx(2.4)  # 24/100 ÷ 100/1000 = 0.24 / 0.1 (LEA's 2/8 would give 0.96)
    assert r["flag"] == "not_exceeds"
    # D2's BL7 has a comparison of 492 students with 48 IEPs in its LEA: the plain risk ratio
    d2 = ratio(df, "D2", "BL7")
    assert d2["measure"] == "risk_ratio"
    assert d2["value"] == pytest.approx(2.05)  # 10/50 ÷ 48/492 = (10 x 492) / (50 x 48) = 4920 / 2400


def test_case_4_statewide_comparison_also_below_minimum_gives_no_value():
    """Case 4: one LEA only: its 8 other students are also the statewide comparison, which fails too."""
    df = run([group("D1", "BL7", 100, 24), group("D1", "WH7", 8, 2)])
    r = ratio(df, "D1", "BL7")
    assert r["value"] is None  # statewide others = 8 students < 30: no value, never a ratio against 2/8
    assert r["status"] == "comparison_below_min"  # the group itself meets 100 >= 30 and 24 >= 10
    assert r["flag"] is None


def test_case_5_comparison_group_without_ieps_gives_no_value():
    """Case 5: min_cell 0 so the LEA comparison (200 students, 0 with IEPs) passes; its risk is 0: no value."""
    params = NJ1.model_copy(update={"min_cell": 0})
    df = run([group("D1", "BL7", 100, 20), group("D1", "WH7", 200, 0)], params=params)
    r = ratio(df, "D1", "BL7")
    assert r["measure"] == "risk_ratio"  # 200 >= 30 and 0 >= 0: the LEA comparison is used
    assert r["comparison_numerator"] == 0
    assert r["value"] is None  # 20/100 ÷ 0/200 = 0.2 / 0: no value, never infinity
    assert r["status"] == "no_data"
    assert r["flag"] is None
    # and WH7's own risk is 0/200 = 0 against 20/100: a ratio of exactly 0, computed
    w = ratio(df, "D1", "WH7")
    assert w["value"] == 0.0  # 0/200 ÷ 20/100 = 0 / 0.2
    assert w["status"] == "ok"


def test_case_5b_comparison_without_ieps_under_nj_minimums_gives_no_value():
    """Case 5b: NJ minimums: the LEA comparison (0 IEPs < 10) fails, and so does the statewide one (same LEA)."""
    df = run([group("D1", "BL7", 100, 20), group("D1", "WH7", 200, 0)])
    r = ratio(df, "D1", "BL7")
    assert r["value"] is None  # statewide others: 200 students, 0 with IEPs < 10
    assert r["flag"] is None


# ---------------------------------------------------------------------------------------------------
# 3. Minimum n and cell for the group


def test_case_6_group_of_29_is_not_computed_and_30_is():
    """Case 6: a group of 29 students is below the minimum n of 30; a group of 30 is computed."""
    df = run([
        group("D1", "BL7", 29, 12), group("D1", "WH7", 500, 50),
        group("D2", "BL7", 30, 12), group("D2", "WH7", 500, 50),
    ])
    r29 = ratio(df, "D1", "BL7")
    assert r29["status"] == "below_min_n"  # 29 < 30
    assert r29["value"] is None  # not computed, never 0 (it would be 12/29 ÷ 0.1 = 4.14)
    assert r29["flag"] is None
    r30 = ratio(df, "D2", "BL7")
    assert r30["status"] == "ok"  # 30 >= 30
    assert r30["value"] == pytest.approx(4.0)  # 12/30 ÷ 50/500 = 0.4 / 0.1
    assert r30["flag"] == "exceeds"


def test_case_7_group_with_9_ieps_is_below_min_cell_and_10_is_computed():
    """Case 7: a group with 9 students with IEPs is below the minimum cell of 10; 10 is computed."""
    df = run([
        group("D1", "BL7", 100, 9), group("D1", "WH7", 500, 50),
        group("D2", "BL7", 100, 10), group("D2", "WH7", 500, 50),
    ])
    r9 = ratio(df, "D1", "BL7")
    assert r9["status"] == "below_min_cell"  # 9 < 10
    assert r9["value"] is None
    r10 = ratio(df, "D2", "BL7")
    assert r10["status"] == "ok"  # 10 >= 10
    assert r10["value"] == pytest.approx(1.0)  # 10/100 ÷ 50/500 = 0.1 / 0.1


def test_case_8_group_not_enrolled_has_a_row_with_no_value():
    """Case 8: every LEA has a row for each of the 7 groups; a group with no students is no_data."""
    df = run([group("D1", "BL7", 100, 20), group("D1", "WH7", 500, 50)])
    r = ratio(df, "D1", "AM7")
    assert r["denominator"] == 0
    assert r["status"] == "no_data"  # 0 students: nothing to divide by
    assert r["value"] is None
    groups = df.filter(pl.col("measure").is_in(RATIO_MEASURES) & (pl.col("category") == "identification"))
    assert groups.height == 7  # AM7 AS7 BL7 HI7 PI7 WH7 MU7


# ---------------------------------------------------------------------------------------------------
# 4. Three consecutive years


def nine() -> pl.DataFrame:
    return run(
        [three_years("D1", [32, 29, 31]), three_years("D2", [30, 31, 32]), three_years("D3", [32, None, 32])],
        params=NJ,
    )


def test_case_9_three_consecutive_years():
    """Case 9: 3.2, 2.9, 3.1 is not identified; 3.0, 3.1, 3.2 is; a year not computed breaks the run."""
    df = nine()
    assert ratio(df, "D1", "BL7", year=YEAR - 1)["value"] == pytest.approx(2.9)  # 29/200 ÷ 50/1000 = 0.145 / 0.05
    assert ratio(df, "D2", "BL7", year=YEAR - 2)["value"] == 3.0  # 30/200 ÷ 50/1000 = 0.15 / 0.05, exactly
    assert ratio(df, "D3", "BL7", year=YEAR - 1)["status"] == "below_min_n"  # 29 < 30
    d1 = determination(df, "D1", "BL7")
    assert d1["status"] == "ok"
    assert d1["flag"] == "not_identified"  # 2022: 2.9 < 3.0
    assert d1["threshold"] == 3.0  # years needed
    d2 = determination(df, "D2", "BL7")
    assert d2["status"] == "ok"
    assert d2["flag"] == "identified"  # 3.0 >= 3, 3.1 >= 3, 3.2 >= 3
    d3 = determination(df, "D3", "BL7")
    assert d3["flag"] == "not_identified"  # 2022 not computed: it neither meets nor fails, and the rule needs 3
    assert determination(df, "D2", "WH7")["flag"] == "not_identified"  # WH7: 0.05 / 0.15 = 0.33 in 2021


def test_case_9b_value_is_the_run_of_years_exceeding():
    """Case 9b: the determination's value is the number of consecutive years, ending in 2023, that exceed."""
    df = nine()
    assert determination(df, "D1", "BL7")["value"] == 1.0  # 3.2, 2.9, 3.1: only 2023
    assert determination(df, "D2", "BL7")["value"] == 3.0  # 3.0, 3.1, 3.2: 2021, 2022 and 2023
    assert determination(df, "D3", "BL7")["value"] == 1.0  # 3.2, not computed, 3.2: only 2023
    assert determination(df, "D2", "WH7")["value"] == 0.0  # WH7 never exceeds


def test_case_10_year_missing_from_the_bundle_is_not_determined():
    """Case 10: the bundle holds 2022 and 2023 only: the three-year rule cannot be applied."""
    rows = [r for r in three_years("D2", [30, 31, 32]) if r["school_year"] != YEAR - 2]
    df = run([rows], params=NJ, years_in_bundle=[YEAR - 1, YEAR])
    d = determination(df, "D2", "BL7")
    assert d["status"] == "no_data"  # 2021 not in the bundle
    assert d["flag"] is None  # neither identified nor not identified
    assert ratio(df, "D2", "BL7")["value"] == pytest.approx(3.2)  # 32/200 ÷ 0.05: the year itself is computed


# ---------------------------------------------------------------------------------------------------
# 5. Reasonable progress (34 CFR 300.647(d)(2))


def test_case_11_reasonable_progress():
    """Case 11: margin 0.1: 3.6, 3.4, 3.2 fell 0.2 each year (not identified); 3.6, 3.6, 3.2 did not."""
    params = NJ.model_copy(update={"reasonable_progress": True, "reasonable_progress_margin": 0.1})
    df = run([three_years("D1", [36, 34, 32]), three_years("D2", [36, 36, 32])], params=params)
    d1 = determination(df, "D1", "BL7")
    assert d1["flag"] == "not_identified_reasonable_progress"  # 3.6 - 3.4 = 0.2 >= 0.1; 3.4 - 3.2 = 0.2 >= 0.1
    d2 = determination(df, "D2", "BL7")
    assert d2["flag"] == "identified"  # 3.6 - 3.6 = 0 < 0.1 in 2022: no progress that year


def test_case_11b_reasonable_progress_off_identifies_the_falling_ratio():
    """Case 11b: the same falling ratios 3.6, 3.4, 3.2 without the test (NJ): identified."""
    df = run([three_years("D1", [36, 34, 32])], params=NJ)
    assert determination(df, "D1", "BL7")["flag"] == "identified"  # all three >= 3.0


def test_case_11c_a_fall_of_exactly_the_margin_is_reasonable_progress():
    """Case 11c: margin 0.2 and falls of exactly 0.2 (3.6, 3.4, 3.2): 'fell by at least the margin'."""
    params = NJ.model_copy(update={"reasonable_progress": True, "reasonable_progress_margin": 0.2})
    df = run([three_years("D1", [36, 34, 32])], params=params)
    # 36/200 ÷ 0.05 = 3.6, 34/200 ÷ 0.05 = 3.4, 32/200 ÷ 0.05 = 3.2: falls of 0.2 and 0.2, each >= 0.2
    # (in floating point 3.6 - 3.4 = 0.19999999999999973: the test must hold on exact values)
    assert determination(df, "D1", "BL7")["flag"] == "not_identified_reasonable_progress"


# ---------------------------------------------------------------------------------------------------
# 6. Populations and ages of each category


def test_case_12_identification_counts_all_enrolled_ages_3_to_21():
    """Case 12: identification's denominator is every enrolled student of the group aged 3-21; a 2-year-old is out."""
    df = run([
        group("D1", "BL7", 100, {"SLD": 12, "OHI": 8}),
        pupils("D1", "BL7", 20, iep=True, disability="SLD", age=2),  # outside 3-21
        group("D1", "WH7", 400, {"SLD": 10, "OHI": 30}),
    ])
    r = ratio(df, "D1", "BL7")
    assert (r["numerator"], r["denominator"]) == (20, 100)  # 12 + 8 with IEPs of 100 aged 10; not 40 of 120
    assert r["value"] == pytest.approx(2.0)  # 20/100 ÷ 40/400 = 0.2 / 0.1 (with the 2-year-olds: 40/120 ÷ 0.1 = 3.33)
    assert r["flag"] == "not_exceeds"
    sld = ratio(df, "D1", "BL7", "identification.SLD")
    assert (sld["numerator"], sld["denominator"]) == (12, 100)
    assert sld["value"] == pytest.approx(4.8)  # 12/100 ÷ 10/400 = 0.12 / 0.025
    assert sld["flag"] == "exceeds"


def test_case_13_placement_counts_students_with_ieps_ages_6_to_21():
    """Case 13: placement's denominator is the group's students with IEPs aged 6-21; a 5-year-old is out."""
    df = run([
        pupils("D1", "BL7", 20, iep=True, environment="RC39LT", age=8),
        pupils("D1", "BL7", 10, iep=True, environment="SS", age=8),
        pupils("D1", "BL7", 10, iep=True, environment="RC80", age=8),
        pupils("D1", "BL7", 10, iep=True, environment="RC39LT", age=5),  # outside 6-21
        pupils("D1", "BL7", 500, iep=False, age=8),  # no IEP: not in a placement denominator
        pupils("D1", "WH7", 10, iep=True, environment="RC39LT"),
        pupils("D1", "WH7", 5, iep=True, environment="SS"),
        pupils("D1", "WH7", 5, iep=True, environment="RF"),
        pupils("D1", "WH7", 80, iep=True, environment="RC80"),
        pupils("D1", "WH7", 900, iep=False),
    ])
    rc = ratio(df, "D1", "BL7", "placement.RC39LT")
    assert (rc["numerator"], rc["denominator"]) == (20, 40)  # 20 + 10 + 10 aged 8; not 30/50, not of 540
    assert (rc["comparison_numerator"], rc["comparison_denominator"]) == (10, 100)  # WH7 with IEPs
    assert rc["value"] == pytest.approx(5.0)  # 20/40 ÷ 10/100 = 0.5 / 0.1 (with the 5-year-olds: 0.6 / 0.1 = 6.0)
    ss = ratio(df, "D1", "BL7", "placement.SS_RF")
    assert ss["comparison_numerator"] == 10  # WH7: 5 SS + 5 RF
    assert ss["value"] == pytest.approx(2.5)  # 10/40 ÷ 10/100 = 0.25 / 0.1


def test_case_14_discipline_categories_split_at_10_days_and_total_is_per_child():
    """Case 14: OSS of exactly 10 days is '10 days or fewer', 10.5 is 'more than 10'; TOTAL is removals per child."""
    enrollment = [
        pupils("D1", "BL7", 40, iep=True), pupils("D1", "BL7", 160, iep=False),
        pupils("D1", "WH7", 200, iep=True), pupils("D1", "WH7", 800, iep=False),
    ]
    discipline = [
        removed("D1", "BL7", 12, 10.0, removals=2),  # OSS exactly 10 days: LE10
        removed("D1", "BL7", 10, 10.5, removals=3),  # OSS 10.5 days: GT10
        removed("D1", "BL7", 6, 4.0, kind="ISS"),
        removed("D1", "WH7", 20, 5.0),
        removed("D1", "WH7", 10, 12.0),
        removed("D1", "WH7", 20, 45.0, kind="IAES"),  # only in TOTAL
        removed("D1", "WH7", 50, 12.0, iep=False),  # no IEP: in no discipline category
    ]
    df = run([enrollment], [discipline])
    le = ratio(df, "D1", "BL7", "discipline.OSS_LE10")
    assert (le["numerator"], le["denominator"]) == (12, 40)
    assert le["value"] == 3.0  # 12/40 ÷ 20/200 = 0.3 / 0.1 = 3.0, exactly
    assert le["flag"] == "exceeds"
    gt = ratio(df, "D1", "BL7", "discipline.OSS_GT10")
    assert (gt["numerator"], gt["comparison_numerator"]) == (10, 10)  # 10.5 days; WH7 12 days (IAES not OSS)
    assert gt["value"] == pytest.approx(5.0)  # 10/40 ÷ 10/200 = 0.25 / 0.05
    iss = ratio(df, "D1", "BL7", "discipline.ISS_LE10")
    assert iss["numerator"] == 6
    assert iss["status"] == "below_min_cell"  # 6 < 10
    total = ratio(df, "D1", "BL7", "discipline.TOTAL")
    assert (total["numerator"], total["denominator"]) == (60, 40)  # 12x2 + 10x3 + 6x1 = 60 removals
    assert total["comparison_numerator"] == 50  # WH7: 20 + 10 + 20 IAES = 50 removals, among 200
    assert total["value"] == pytest.approx(6.0)  # 60/40 ÷ 50/200 = 1.5 / 0.25
    assert ratio(df, "D1", "WH7", "discipline.OSS_LE10")["value"] == pytest.approx(1 / 3)  # 0.1 / 0.3


# ---------------------------------------------------------------------------------------------------
# 7. Indicators 9 and 10


IND_PARAMS = NJ.model_copy(update={"categories": ["identification", "identification.SLD"], "consecutive_years": 1})


def indicator_lea_rows() -> list[list[dict]]:
    return [
        # D1: identification BL7 30/100 ÷ 40/400 = 0.3 / 0.1 = 3.0 (identified);
        #     SLD BL7 10/100 ÷ 20/400 = 0.1 / 0.05 = 2.0 (not); WH7 0.05 / 0.1 = 0.5 (not)
        group("D1", "BL7", 100, {"SLD": 10, "OHI": 20}), group("D1", "WH7", 400, {"SLD": 20, "OHI": 20}),
        # D2: identification BL7 40/100 ÷ 40/400 = 0.4 / 0.1 = 4.0; SLD BL7 20/100 ÷ 20/400 = 0.2 / 0.05 = 4.0
        group("D2", "BL7", 100, {"SLD": 20, "OHI": 20}), group("D2", "WH7", 400, {"SLD": 20, "OHI": 20}),
        # D3: 20 and 25 students, both < 30: no group meets the minimums
        group("D3", "BL7", 20, {"SLD": 10}), group("D3", "WH7", 25, {"SLD": 10}),
    ]


def test_case_15_indicators_9_and_10_count_inappropriate_identification():
    """Case 15: D1 identified (inappropriate identification true), D2 identified (false), D3 excluded."""
    compliance = [(YEAR, "D1", True, False), (YEAR, "D2", False, False), (YEAR, "D3", False, False)]
    df = run(indicator_lea_rows(), params=IND_PARAMS, compliance=compliance)
    assert determination(df, "D1", "BL7")["flag"] == "identified"  # 3.0 >= 3.0, one year needed
    assert determination(df, "D1", "BL7", "identification.SLD")["flag"] == "not_identified"  # 2.0
    assert determination(df, "D2", "BL7", "identification.SLD")["flag"] == "identified"  # 4.0
    i9 = statewide(df, "indicator_9")
    assert i9["numerator"] == 1  # D1 (identified, inappropriate); D2 identified but not inappropriate
    assert i9["denominator"] == 2  # D1 and D2 meet n 30 and cell 10 for a group; D3 does not
    assert i9["value"] == pytest.approx(0.5)  # 1/2
    i10 = statewide(df, "indicator_10")
    assert i10["numerator"] == 0  # D1 not identified for SLD; D2 identified, not inappropriate
    assert i10["denominator"] == 2  # D1, D2
    assert i10["value"] == 0.0  # 0/2: computed, a real 0
    for measure in ("indicator_9_excluded", "indicator_10_excluded"):
        ex = statewide(df, measure)
        assert ex["numerator"] == 1  # D3
        assert ex["denominator"] == 3  # of the 3 LEAs


def test_case_16_indicators_without_the_compliance_fact_count_every_identified_lea():
    """Case 16: no compliance table: every identified LEA counts (as the note says)."""
    df = run(indicator_lea_rows(), params=IND_PARAMS)
    assert statewide(df, "indicator_9")["numerator"] == 2  # D1 and D2
    assert statewide(df, "indicator_9")["value"] == pytest.approx(1.0)  # 2/2
    assert statewide(df, "indicator_10")["numerator"] == 1  # D2 (SLD 4.0)
    assert statewide(df, "indicator_10")["value"] == pytest.approx(0.5)  # 1/2


def margin(district: str, race: str, n: int, counts_in: str, *, disability: str | None = None,
           environment: str | None = None) -> dict:
    """One row of a federal margin (docs/design.md section 4): n children with IEPs by disability, or
    by environment, with no age (EDFacts FS002 gives neither margin by age)."""
    return pupils(district, race, n, iep=True, disability=disability, environment=environment, age=None) | {
        "counts_in": counts_in}


def test_case_17_margins_count_each_child_once():
    """Case 17: children with IEPs given twice, once by disability and once by environment (EDFacts
    FS002 category sets A and C), count once in every category: identification reads the margin by
    disability, placement the margin by environment."""
    rows = [
        margin("D1", "BL7", 30, "DISABILITY", disability="SLD"), margin("D1", "BL7", 10, "DISABILITY", disability="ID"),
        margin("D1", "BL7", 20, "ENVIRONMENT", environment="RC39LT"),
        margin("D1", "BL7", 20, "ENVIRONMENT", environment="RC80"),
        pupils("D1", "BL7", 160, iep=False, age=None) | {"counts_in": None},
        margin("D1", "WH7", 80, "DISABILITY", disability="SLD"), margin("D1", "WH7", 20, "DISABILITY", disability="ID"),
        margin("D1", "WH7", 10, "ENVIRONMENT", environment="RC39LT"),
        margin("D1", "WH7", 90, "ENVIRONMENT", environment="RC80"),
        pupils("D1", "WH7", 900, iep=False, age=None) | {"counts_in": None},
    ]
    params = NJ1.model_copy(update={"categories": ["identification", "identification.ID", "placement.RC39LT"]})
    enr = pl.LazyFrame(rows, schema=ENROLLMENT_SCHEMA | {"counts_in": pl.String})
    df = disproportionality_measures(enr, None, params, YEAR, [YEAR]).collect()
    ident = ratio(df, "D1", "BL7")
    # 40 of 200 against 100 of 1000 (counted twice it would be 80 of 240 against 200 of 1100)
    assert (ident["numerator"], ident["denominator"]) == (40, 200)
    assert (ident["comparison_numerator"], ident["comparison_denominator"]) == (100, 1000)
    assert ident["value"] == pytest.approx(2.0)  # 0.2 / 0.1
    assert ratio(df, "D1", "BL7", "identification.ID")["value"] == pytest.approx(2.5)  # 10/200 ÷ 20/1000
    place = ratio(df, "D1", "BL7", "placement.RC39LT")
    assert (place["numerator"], place["denominator"]) == (20, 40)  # of the 40 by environment, not of 80
    assert place["value"] == pytest.approx(5.0)  # 20/40 ÷ 10/100



def test_case_18_children_removed_and_removals_count_apart():
    """Case 18: discipline given twice, as children removed (counts_in CHILDREN, EDFacts FS006) and as
    removals of every type (REMOVALS, FS143): each counts only where it belongs. OSS 1-10 days: 12 of
    45 against 11 of 110 = 12 x 110 / (45 x 11) = 1320/495 (counting WH7's row of 12 removals, dated
    5 days, as a child would give 12/110: 1320/540). Total removals: 15 per 45 against 12 per 110 =
    1650/540 (counting the children too would give 27/45 against 23/110)."""
    enr = flat(group("D1", "BL7", 100, 45), group("D1", "WH7", 1000, 110))
    dis = [removed("D1", "BL7", 12, 5.0) | {"counts_in": "CHILDREN"},
           removed("D1", "WH7", 11, 5.0) | {"counts_in": "CHILDREN"},
           removed("D1", "BL7", 1, 0.0, removals=15, age=None) | {"days_removed": None, "counts_in": "REMOVALS"},
           removed("D1", "WH7", 1, 5.0, removals=12, age=None) | {"counts_in": "REMOVALS"}]
    params = NJ1.model_copy(update={"categories": ["discipline.OSS_LE10", "discipline.TOTAL"]})
    df = disproportionality_measures(pl.LazyFrame(enr, schema=ENROLLMENT_SCHEMA),
                                     pl.LazyFrame(dis, schema=DISCIPLINE_SCHEMA | {"counts_in": pl.String}),
                                     params, YEAR, [YEAR]).collect()
    oss = ratio(df, "D1", "BL7", "discipline.OSS_LE10")
    assert (oss["numerator"], oss["comparison_numerator"]) == (12, 11)
    assert oss["value"] == pytest.approx(1320 / 495)
    total = ratio(df, "D1", "BL7", "discipline.TOTAL")
    assert (total["numerator"], total["comparison_numerator"]) == (15, 12)
    assert total["value"] == pytest.approx(1650 / 540)


# ---------------------------------------------------------------------------------------------------
# 8. Properties


PROP_PARAMS = NJ1.model_copy(update={
    "categories": ["identification", "identification.SLD", "placement.RC39LT", "placement.SS_RF",
                   "discipline.OSS_LE10", "discipline.OSS_GT10", "discipline.ISS_GT10", "discipline.TOTAL"],
    "min_n": 0,
    "min_cell": 0,
})
PROP_GROUPS = [("D1", "BL7"), ("D1", "WH7"), ("D1", "HI7"), ("D2", "BL7"), ("D2", "WH7")]


@st.composite
def bundles(draw) -> tuple[list[dict], list[dict]]:
    """Consistent small bundles: per group, students with IEPs by disability and environment, students
    without, and at most one OSS row and one ISS row per student with an IEP."""
    enr, dis = [], []
    for d, race in PROP_GROUPS:
        blocks = {(dsb, env): draw(st.integers(0, 12)) for dsb in ("SLD", "OHI") for env in ("RC39LT", "SS", "RC80")}
        for (dsb, env), n in blocks.items():
            if n:
                enr.append(pupils(d, race, n, iep=True, disability=dsb, environment=env))
        enr.append(pupils(d, race, draw(st.integers(1, 60)), iep=False))  # every LEA enrols someone
        ieps = sum(blocks.values())
        oss_le = draw(st.integers(0, ieps))
        oss_gt = draw(st.integers(0, ieps - oss_le))
        iss_gt = draw(st.integers(0, ieps))
        for n, days, kind in ((oss_le, 3.0, "OSS"), (oss_gt, 15.0, "OSS"), (iss_gt, 11.0, "ISS")):
            if n:
                dis.append(removed(d, race, n, days, kind=kind, removals=draw(st.integers(1, 4))))
    return enr, dis


def scaled(rows: list[dict], k: int) -> list[dict]:
    return [{**r, "count": r["count"] * k} for r in rows]


def ratio_rows(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("measure").is_in(RATIO_MEASURES)).sort("district_id", "race_ethnicity", "category")


@settings(max_examples=50, deadline=None)
@given(bundle=bundles(), k=st.integers(1, 50))
def test_property_scaling_every_count_leaves_every_ratio_unchanged(bundle, k):
    """Property: multiplying every count by k changes no ratio (k·a/k·b ÷ k·c/k·d = a/b ÷ c/d), no status."""
    enr, dis = bundle
    base = ratio_rows(run([enr], [dis], params=PROP_PARAMS))
    big = ratio_rows(run([scaled(enr, k)], [scaled(dis, k)], params=PROP_PARAMS))
    assert base["status"].to_list() == big["status"].to_list()  # minimums of 0: scaling cannot change a status
    assert base["measure"].to_list() == big["measure"].to_list()
    for a, b in zip(base["value"].to_list(), big["value"].to_list(), strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert b == pytest.approx(a, rel=1e-12)
    assert big["denominator"].to_list() == [k * x for x in base["denominator"].to_list()]


@settings(max_examples=50, deadline=None)
@given(bundle=bundles())
def test_property_risks_are_shares_except_total(bundle):
    """Property: for every category but TOTAL (removals per child), each risk is in [0, 1]."""
    enr, dis = bundle
    rows = ratio_rows(run([enr], [dis], params=PROP_PARAMS)).filter(pl.col("category") != "discipline.TOTAL")
    assert rows.height == 2 * 7 * 7  # 2 LEAs x 7 groups x 7 categories
    for r in rows.iter_rows(named=True):
        if r["denominator"] > 0:
            assert 0 <= r["numerator"] / r["denominator"] <= 1, r
        if r["comparison_value"] is not None:
            assert 0 <= r["comparison_value"] <= 1, r


# ---------------------------------------------------------------------------------------------------
# Counts per family: ages, students without an age, and profiles that choose only some families


def test_counts_per_family_with_ages_and_only_some_families():
    """Four rows in one LEA (ages: identification 3-21, placement 6-21):
    WH7 1 with an IEP (AUT, regular class 80%+, age 10); WH7 1 with an IEP (SLD, separate school, no
    age); BL7 1 without an IEP (age 10); BL7 1 with an IEP (AUT, regular class < 40%, age 30).
    By hand:
    - identification, WH7: enrolled in ages 2 (age 10, and no age: counted), with IEPs 2;
      BL7: enrolled in ages 1 (the 30-year-old is out), with IEPs 0.
    - identification.AUT, WH7: 1 of 2; BL7: 0 of 1.
    - placement.SS_RF, WH7: 1 (separate school) of 2 with IEPs in ages; BL7: 0 of 0 (age 30).
    - placement.RC39LT, WH7: 0 of 2 (BL7's RC39 child is 30, outside the ages)."""
    from sedet.measures.disproportionality import category_counts

    rows = [
        pupils("D1", "WH7", 1, iep=True, disability="AUT", environment="RC80", age=10),
        pupils("D1", "WH7", 1, iep=True, disability="SLD", environment="SS", age=None),
        pupils("D1", "BL7", 1, iep=False, age=10),
        pupils("D1", "BL7", 1, iep=True, disability="AUT", environment="RC39", age=30),
    ]
    enr = pl.LazyFrame(rows, schema=ENROLLMENT_SCHEMA)
    ages = {"identification": (3, 21), "placement": (6, 21)}
    for cats, expected in (
        (["identification"], {("WH7", "identification"): (2, 2), ("BL7", "identification"): (0, 1)}),
        (["placement.RC39LT"], {("WH7", "placement.RC39LT"): (0, 2), ("BL7", "placement.RC39LT"): (0, 0)}),
        (["identification.AUT", "placement.SS_RF"], {
            ("WH7", "identification.AUT"): (1, 2), ("BL7", "identification.AUT"): (0, 1),
            ("WH7", "placement.SS_RF"): (1, 2), ("BL7", "placement.SS_RF"): (0, 0),
        }),
    ):
        families = {c.split(".")[0] for c in cats}
        params = NJ.model_copy(update={"categories": cats, "ages": {f: a for f, a in ages.items() if f in families}})
        out = category_counts(enr, None, params, [YEAR]).collect()
        got = {(r["race_ethnicity"], r["category"]): (r["num"], r["den"])
               for r in out.filter(pl.col("race_ethnicity").is_in(["WH7", "BL7"])).iter_rows(named=True)}
        assert got == expected, cats
        # every one of the 7 groups has a row for every category, even a group with no students
        assert out.height == 7 * len(cats)
