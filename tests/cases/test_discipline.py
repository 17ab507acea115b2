"""Worked examples: significant discrepancy in suspension and expulsion (Indicators 4A and 4B; NJ Factor 1).

The rule (docs/methods.md section 5; docs/reference/nj-ffy2022-about-determinations.txt, Factor 1;
34 CFR 300.170(a); configs/nj-ffy2022.toml, [measures.discipline]):

- Rate = students with IEPs whose out-of-school suspensions and expulsions add up to MORE than
  10 days in the year / students with IEPs (ages 3-21, from enrollment). A student removed for
  exactly 10 days is not counted; with removal_types = ["OSS"], in-school suspensions are not.
- 4A: the LEA overall. 4B: per racial/ethnic group, and only a discrepancy where the LEA's
  policies, procedures or practices contributed (the compliance fact `policies_contributed`).
- The comparison is a profile choice (34 CFR 300.170(a)):
  `rate_ratio_nondisabled` = LEA IEP rate / LEA non-IEP rate (NJ: "compared to rates for
  nondisabled children within the LEA"; profile threshold >= 3.0);
  `rate_ratio_state` = LEA IEP rate / state IEP rate (IN: >= 2.0);
  `rate_difference_state` = LEA IEP rate - state IEP rate, in percentage points (ND: >= 5.0).
- Minimum n on the students with IEPs (NJ profile 30), minimum cell on the students removed more
  than 10 days (NJ profile 10); "meets" means >=; below a minimum: not computed ('n/a' on the NJ
  page). A comparison rate of 0 for a ratio: no value, never infinity. Thresholds hold on exact
  values (18/120 / 44/880 is 3, not 2.9999999999999996).
- Statewide: indicator_4a = LEAs with a significant discrepancy / LEAs meeting the minimums;
  indicator_4b = LEAs with a discrepancy by race and policies that contributed / LEAs meeting the
  minimums for at least one group; the LEAs excluded by the minimums are reported apart.

Every expected value below is worked out by hand; the arithmetic is beside it. `count` stands
for that many students, so one row is a block of identical students.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sedet.measures.discipline import discipline_measures
from sedet.profile import load_profile

from .frames import COMPLIANCE_SCHEMA, DISCIPLINE_SCHEMA, ENROLLMENT_SCHEMA

YEAR = 2023  # FFY 2022 = school year 2022-23 (school_year is the spring year)
NJ = load_profile("nj-ffy2022").measures.discipline
STATE_RATIO = NJ.model_copy(update={"comparison": "rate_ratio_state", "threshold": 2.0})  # IN: >= 2.0
STATE_DIFF = NJ.model_copy(update={"comparison": "rate_difference_state", "threshold": 5.0})  # ND: >= 5.0 points


# ---------------------------------------------------------------------------------------------------
# Helpers


def pupils(district: str, race: str, n: int, *, iep: bool = True, age: int | None = 10, year: int = YEAR) -> dict:
    """One enrollment row: n identical students."""
    return {
        "school_year": year, "district_id": district, "race_ethnicity": race, "iep": iep, "disability": None,
        "environment": None, "low_income": None, "age": age, "grade": None, "count": n,
    }


def removed(district: str, race: str, n: int, days: float, *, kind: str = "OSS", iep: bool = True,
            age: int | None = 10, year: int = YEAR) -> dict:
    """One discipline row: n students whose removals of `kind` add up to `days` days."""
    return {
        "school_year": year, "district_id": district, "race_ethnicity": race, "iep": iep,
        "removal_type": kind, "days_removed": float(days), "removals": 1, "age": age, "count": n,
    }


def lea(district: str, race: str, ieps: int, over_10: int, *, non_iep: int = 0, non_iep_over_10: int = 0) -> list[dict]:
    """A group: `ieps` students with IEPs, `over_10` of them out (OSS) 15 days; likewise without IEPs."""
    enr = [pupils(district, race, ieps)] + ([pupils(district, race, non_iep, iep=False)] if non_iep else [])
    dis = [removed(district, race, over_10, 15.0)] if over_10 else []
    if non_iep_over_10:
        dis.append(removed(district, race, non_iep_over_10, 15.0, iep=False))
    return enr + dis


def run(*parts: list[dict] | dict, params=NJ, compliance: list[tuple] | None = None) -> pl.DataFrame:
    """Enrollment and discipline rows mixed (told apart by their keys)."""
    rows = [r for p in parts for r in (p if isinstance(p, list) else [p])]
    enr = pl.LazyFrame([r for r in rows if "environment" in r], schema=ENROLLMENT_SCHEMA)
    dis = pl.LazyFrame([r for r in rows if "removal_type" in r], schema=DISCIPLINE_SCHEMA)
    comp = None if compliance is None else pl.LazyFrame(compliance, schema=COMPLIANCE_SCHEMA, orient="row")
    return discipline_measures(enr, dis, params, YEAR, comp).collect()


def row(df: pl.DataFrame, measure: str, district: str | None, race: str | None = None) -> dict:
    """The single row for these keys (null-safe match)."""
    hit = df.filter(
        (pl.col("measure") == measure)
        & pl.col("district_id").eq_missing(pl.lit(district, pl.String))
        & pl.col("race_ethnicity").eq_missing(pl.lit(race, pl.String))
    )
    assert hit.height == 1, f"expected one {measure} row for {district}/{race}, got {hit.height}"
    return hit.row(0, named=True)


def rate(df: pl.DataFrame, district: str, race: str | None = None) -> dict:
    """The 4A row (race None) or the 4B row of a group."""
    return row(df, "discipline_rate", district, race)


# ---------------------------------------------------------------------------------------------------
# 1. What counts as "more than 10 days"


def test_case_1_rate_ratio_against_nondisabled_and_what_is_counted():
    """Case 1: 12 of 200 with IEPs against 6 of 600 without is 6.0; 10 days exactly, and ISS, are not counted."""
    df = run(
        pupils("D1", "WH7", 200), pupils("D1", "WH7", 600, iep=False),
        removed("D1", "WH7", 12, 15.0),
        removed("D1", "WH7", 30, 10.0),  # OSS of exactly 10 days: not "more than 10"
        removed("D1", "WH7", 40, 20.0, kind="ISS"),  # in-school: not a removal type counted by NJ
        removed("D1", "WH7", 6, 11.0, iep=False),
    )
    r = rate(df, "D1")
    assert r["status"] == "ok"
    assert (r["numerator"], r["denominator"]) == (12, 200)  # not 12 + 30 (10 days), not + 40 (ISS)
    assert (r["comparison_numerator"], r["comparison_denominator"]) == (6, 600)
    assert r["comparison_value"] == pytest.approx(0.01)  # 6/600
    assert r["value"] == pytest.approx(6.0)  # 12/200 ÷ 6/600 = 0.06 / 0.01
    assert r["threshold"] == 3.0
    assert r["flag"] == "significant_discrepancy"  # 6.0 >= 3.0


def test_case_1b_iss_counts_when_the_profile_counts_it():
    """Case 1b: the same LEA with removal_types OSS and ISS: the 40 students in ISS 20 days now count."""
    df = run(
        pupils("D1", "WH7", 200), pupils("D1", "WH7", 600, iep=False),
        removed("D1", "WH7", 12, 15.0),
        removed("D1", "WH7", 30, 10.0),
        removed("D1", "WH7", 40, 20.0, kind="ISS"),
        removed("D1", "WH7", 6, 11.0, iep=False),
        params=NJ.model_copy(update={"removal_types": ["OSS", "ISS"]}),
    )
    r = rate(df, "D1")
    assert r["numerator"] == 52  # 12 OSS + 40 ISS (the 30 at exactly 10 days still not)
    assert r["value"] == pytest.approx(26.0)  # 52/200 ÷ 6/600 = 0.26 / 0.01


def test_case_1c_ages_3_to_21():
    """Case 1c: students with IEPs aged 22 are outside ages 3-21: neither in the rate nor in its denominator."""
    df = run(
        pupils("D1", "WH7", 200), pupils("D1", "WH7", 600, iep=False),
        pupils("D1", "WH7", 50, age=22),
        removed("D1", "WH7", 12, 15.0),
        removed("D1", "WH7", 10, 15.0, age=22),
        removed("D1", "WH7", 6, 11.0, iep=False),
    )
    r = rate(df, "D1")
    assert (r["numerator"], r["denominator"]) == (12, 200)  # not 22/250
    assert r["value"] == pytest.approx(6.0)  # 0.06 / 0.01


# ---------------------------------------------------------------------------------------------------
# 2. The threshold and the minimums


def test_case_2_ratio_of_exactly_3():
    """Case 2: 18 of 120 against 44 of 880 is exactly 3.0: a discrepancy under >= 3.0, none under > 3.0."""
    data = lea("D1", "WH7", 120, 18, non_iep=880, non_iep_over_10=44)
    r = rate(run(data), "D1")
    assert r["value"] == 3.0  # 18/120 ÷ 44/880 = 0.15 / 0.05 = 3.0 exactly (not 2.9999999999999996)
    assert r["flag"] == "significant_discrepancy"  # 3.0 >= 3.0
    r = rate(run(data, params=NJ.model_copy(update={"threshold_op": ">"})), "D1")
    assert r["flag"] == "no_discrepancy"  # 3.0 > 3.0 is false


def test_case_3_minimum_n_and_cell():
    """Case 3: 29 students with IEPs is below n 30, 30 is computed; 9 removed is below cell 10, 10 is computed."""
    df = run(
        lea("D1", "WH7", 29, 10, non_iep=500, non_iep_over_10=5),
        lea("D2", "WH7", 30, 12, non_iep=500, non_iep_over_10=5),
        lea("D3", "WH7", 100, 9, non_iep=500, non_iep_over_10=5),
        lea("D4", "WH7", 100, 10, non_iep=500, non_iep_over_10=5),
    )
    assert rate(df, "D1")["status"] == "below_min_n"  # 29 < 30
    assert rate(df, "D1")["value"] is None  # not computed: never 0
    assert rate(df, "D1")["flag"] is None
    assert rate(df, "D2")["status"] == "ok"  # 30 >= 30
    assert rate(df, "D2")["value"] == pytest.approx(40.0)  # 12/30 ÷ 5/500 = 0.4 / 0.01
    assert rate(df, "D3")["status"] == "below_min_cell"  # 9 < 10
    assert rate(df, "D3")["value"] is None
    assert rate(df, "D4")["status"] == "ok"  # 10 >= 10
    assert rate(df, "D4")["value"] == pytest.approx(10.0)  # 10/100 ÷ 5/500 = 0.1 / 0.01


def test_case_4_no_nondisabled_removals_gives_no_value():
    """Case 4: no student without an IEP was removed more than 10 days: the ratio has no value (never infinity)."""
    df = run(lea("D1", "WH7", 100, 20, non_iep=500, non_iep_over_10=0))
    r = rate(df, "D1")
    assert r["comparison_numerator"] == 0
    assert r["value"] is None  # 20/100 ÷ 0/500 = 0.2 / 0
    assert r["status"] == "no_data"
    assert r["flag"] is None


def test_case_4b_an_lea_meeting_the_minimums_without_a_comparison_is_not_excluded_by_them():
    """Case 4b: D1 meets n and cell but has no comparison rate; D2 is below n. Only D2 is excluded by the minimums.

    Federal measurement (Indicators 4A/4B): denominator = districts that meet the State-established
    n and/or cell size; the docstring: "LEAs meeting the minimums" and "LEAs excluded by the minimums".
    """
    df = run(
        lea("D1", "BL7", 100, 20), pupils("D1", "WH7", 500, iep=False),  # 100 >= 30, 20 >= 10; 0 of 500 removed
        lea("D2", "BL7", 29, 10, non_iep=500, non_iep_over_10=5),  # 29 < 30
        compliance=[(YEAR, "D1", False, True), (YEAR, "D2", False, True)],
    )
    assert rate(df, "D1")["value"] is None  # 20/100 ÷ 0/500: no value
    a = row(df, "indicator_4a", None)
    assert (a["numerator"], a["denominator"]) == (0, 1)  # D1 meets the minimums, has no discrepancy value
    assert row(df, "indicator_4a_excluded", None)["numerator"] == 1  # D2 only
    b = row(df, "indicator_4b", None)
    assert (b["numerator"], b["denominator"]) == (0, 1)  # D1's BL7 group meets 100 >= 30 and 20 >= 10
    assert row(df, "indicator_4b_excluded", None)["numerator"] == 1  # D2 only


# ---------------------------------------------------------------------------------------------------
# 3. Comparisons with the state


STATE_LEAS = [
    lea("D1", "WH7", 200, 30, non_iep=1000, non_iep_over_10=10),  # 30/200 = 15%; the non-IEP rate plays no part
    lea("D2", "WH7", 100, 12),  # 12%
    lea("D3", "WH7", 700, 18),  # 2.57%
]


def test_case_5_rate_ratio_against_the_state():
    """Case 5: rate_ratio_state (IN, >= 2.0): the state IEP rate is 60/1000 = 6%, over the three LEAs."""
    df = run(*STATE_LEAS, params=STATE_RATIO)
    d1 = rate(df, "D1")
    # state: (30 + 12 + 18) / (200 + 100 + 700) = 60 / 1000 (students without IEPs not included)
    assert (d1["comparison_numerator"], d1["comparison_denominator"]) == (60, 1000)
    assert d1["comparison_value"] == pytest.approx(0.06)
    assert d1["value"] == pytest.approx(2.5)  # 30/200 ÷ 60/1000 = 0.15 / 0.06
    assert d1["flag"] == "significant_discrepancy"
    d2 = rate(df, "D2")
    assert d2["value"] == pytest.approx(2.0)  # 12/100 ÷ 0.06 = 0.12 / 0.06
    assert d2["flag"] == "significant_discrepancy"  # 2.0 >= 2.0
    d3 = rate(df, "D3")
    assert d3["value"] == pytest.approx(3 / 7)  # 18/700 ÷ 60/1000 = 18000 / 42000 = 0.4286
    assert d3["flag"] == "no_discrepancy"
    a = row(df, "indicator_4a", None)
    assert (a["numerator"], a["denominator"]) == (2, 3)  # D1, D2 of 3 meeting the minimums
    assert a["value"] == pytest.approx(2 / 3)


def test_case_6_rate_difference_against_the_state_in_points():
    """Case 6: rate_difference_state (ND, >= 5.0 points): LEA rate - state rate, in percentage points."""
    df = run(
        lea("D1", "WH7", 200, 30),  # 15%
        lea("D2", "WH7", 100, 11),  # 11%
        lea("D3", "WH7", 700, 19),  # 2.71%
        params=STATE_DIFF,
    )
    # state: (30 + 11 + 19) / (200 + 100 + 700) = 60 / 1000 = 6%
    d1 = rate(df, "D1")
    assert d1["comparison_value"] == pytest.approx(0.06)
    assert d1["value"] == pytest.approx(9.0)  # 15% - 6% = 9.0 points (not 0.09)
    assert d1["flag"] == "significant_discrepancy"
    d2 = rate(df, "D2")
    assert d2["value"] == pytest.approx(5.0)  # 11% - 6% = 5.0 points
    assert d2["flag"] == "significant_discrepancy"  # 5.0 >= 5.0, on the exact value
    d3 = rate(df, "D3")
    assert d3["value"] == pytest.approx(-23 / 7)  # 100 x (19/700 - 42/700) = -2300/700 = -3.29 points
    assert d3["flag"] == "no_discrepancy"


# ---------------------------------------------------------------------------------------------------
# 4. Indicator 4B and the statewide counts


FIVE_LEAS = [
    # D1 and D2: BL7 20/100 = 0.2, WH7 2/100; without IEPs 20/1000 = 0.02
    lea("D1", "BL7", 100, 20), lea("D1", "WH7", 100, 2, non_iep=1000, non_iep_over_10=20),
    lea("D2", "BL7", 100, 20), lea("D2", "WH7", 100, 2, non_iep=1000, non_iep_over_10=20),
    # D3: HI7 12/50 = 0.24, WH7 0/50; without IEPs 60/500 = 0.12
    lea("D3", "HI7", 50, 12), lea("D3", "WH7", 50, 0, non_iep=500, non_iep_over_10=60),
    # D4: BL7 15/20, WH7 0/20 (both groups < 30, the LEA 40 >= 30); without IEPs 3/300 = 0.01
    lea("D4", "BL7", 20, 15), lea("D4", "WH7", 20, 0, non_iep=300, non_iep_over_10=3),
    # D5: 29 students with IEPs in all
    lea("D5", "WH7", 29, 10, non_iep=300, non_iep_over_10=3),
]
COMPLIANCE = [
    (YEAR, "D1", False, True),
    (YEAR, "D2", False, False),
    (YEAR, "D3", False, True),
    (YEAR, "D4", False, True),
    (YEAR, "D5", False, True),
]


def test_case_7_indicator_4a_per_lea_and_statewide():
    """Case 7: 4A over five LEAs: three with a discrepancy, one without, one below the minimum n."""
    df = run(*FIVE_LEAS, compliance=COMPLIANCE)
    assert rate(df, "D1")["value"] == pytest.approx(5.5)  # (20 + 2)/200 ÷ 20/1000 = 0.11 / 0.02
    assert rate(df, "D2")["flag"] == "significant_discrepancy"  # 5.5 as D1
    assert rate(df, "D3")["value"] == pytest.approx(1.0)  # 12/100 ÷ 60/500 = 0.12 / 0.12
    assert rate(df, "D3")["flag"] == "no_discrepancy"
    assert rate(df, "D4")["value"] == pytest.approx(37.5)  # 15/40 ÷ 3/300 = 0.375 / 0.01
    assert rate(df, "D5")["status"] == "below_min_n"  # 29 < 30
    a = row(df, "indicator_4a", None)
    assert a["numerator"] == 3  # D1, D2, D4
    assert a["denominator"] == 4  # D1-D4 meet n 30 and cell 10; D5 does not
    assert a["value"] == pytest.approx(0.75)  # 3/4
    ex = row(df, "indicator_4a_excluded", None)
    assert (ex["numerator"], ex["denominator"]) == (1, 5)  # D5, of 5 LEAs


def test_case_8_indicator_4b_needs_a_discrepancy_by_race_and_policies_that_contributed():
    """Case 8: 4B: D1 (policies contributed) counts; D2 (they did not) and D3 (no discrepancy) do not."""
    df = run(*FIVE_LEAS, compliance=COMPLIANCE)
    d1 = rate(df, "D1", "BL7")
    assert d1["comparison_value"] == pytest.approx(0.02)  # the LEA's students without IEPs, all groups: 20/1000
    assert d1["value"] == pytest.approx(10.0)  # 20/100 ÷ 20/1000 = 0.2 / 0.02
    assert row(df, "indicator_4b", "D1", "BL7")["flag"] == "policies_contributed"
    assert row(df, "indicator_4b", "D1", "BL7")["value"] == 1.0
    assert row(df, "indicator_4b", "D1", "WH7")["status"] == "below_min_cell"  # 2 < 10
    assert row(df, "indicator_4b", "D1", "WH7")["flag"] is None
    assert row(df, "indicator_4b", "D2", "BL7")["flag"] == "discrepancy_only"  # 10.0, policies did not contribute
    assert row(df, "indicator_4b", "D2", "BL7")["value"] == 0.0
    assert rate(df, "D3", "HI7")["value"] == pytest.approx(2.0)  # 12/50 ÷ 60/500 = 0.24 / 0.12
    assert row(df, "indicator_4b", "D3", "HI7")["flag"] == "no_discrepancy"  # 2.0 < 3.0: policies are moot
    assert row(df, "indicator_4b", "D4", "BL7")["status"] == "below_min_n"  # 20 < 30, though 4A counted D4
    b = row(df, "indicator_4b", None)
    assert b["numerator"] == 1  # D1
    assert b["denominator"] == 3  # D1 (BL7), D2 (BL7), D3 (HI7) meet the minimums for a group
    assert b["value"] == pytest.approx(1 / 3)
    ex = row(df, "indicator_4b_excluded", None)
    assert (ex["numerator"], ex["denominator"]) == (2, 5)  # D4 (groups of 20), D5 (29), of 5 LEAs


def test_case_9_indicator_4b_without_the_compliance_fact():
    """Case 9: no policies_contributed fact: a discrepancy by race is never counted for 4B."""
    df = run(*FIVE_LEAS)
    assert row(df, "indicator_4b", "D1", "BL7")["flag"] == "discrepancy_only"  # 10.0 >= 3.0, no finding
    assert row(df, "indicator_4b", None)["numerator"] == 0
    assert row(df, "indicator_4b", None)["denominator"] == 3  # D1, D2, D3
    assert row(df, "indicator_4a", None)["numerator"] == 3  # 4A needs no finding: D1, D2, D4


# ---------------------------------------------------------------------------------------------------
# 5. Properties


PROP_LEAS = ["D1", "D2", "D3"]
PROP_RACES = ["BL7", "WH7"]


@st.composite
def bundles(draw) -> list[dict]:
    """Consistent bundles: per group, students with and without IEPs, and at most one OSS row per student."""
    rows = []
    for d in PROP_LEAS:
        for race in PROP_RACES:
            ieps, non = draw(st.integers(1, 40)), draw(st.integers(1, 80))
            rows += [pupils(d, race, ieps), pupils(d, race, non, iep=False)]
            over = draw(st.integers(0, ieps))
            under = draw(st.integers(0, ieps - over))
            non_over = draw(st.integers(0, non))
            rows += [removed(d, race, n, days, iep=iep)
                     for n, days, iep in ((over, 15.0, True), (under, 4.0, True), (non_over, 12.0, False)) if n]
    return rows


def prop_params(comparison: str):
    return NJ.model_copy(update={"comparison": comparison, "min_n": 0, "min_cell": 0})


COMPARISONS = st.sampled_from(["rate_ratio_nondisabled", "rate_ratio_state", "rate_difference_state"])


def rate_rows(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("measure") == "discipline_rate").sort("district_id", "race_ethnicity", nulls_last=False)


@settings(max_examples=50, deadline=None)
@given(rows=bundles(), k=st.integers(1, 50), comparison=COMPARISONS)
def test_property_scaling_every_count_leaves_every_value_unchanged(rows, k, comparison):
    """Property: multiplying every count by k changes no rate ratio or difference, and no status."""
    params = prop_params(comparison)
    base = rate_rows(run(rows, params=params))
    big = rate_rows(run([{**r, "count": r["count"] * k} for r in rows], params=params))
    assert base["status"].to_list() == big["status"].to_list()  # minimums of 0: scaling cannot change a status
    for a, b in zip(base["value"].to_list(), big["value"].to_list(), strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert b == pytest.approx(a, rel=1e-9, abs=1e-9)
    assert big["denominator"].to_list() == [k * x for x in base["denominator"].to_list()]


@settings(max_examples=50, deadline=None)
@given(rows=bundles(), comparison=COMPARISONS)
def test_property_rates_are_shares(rows, comparison):
    """Property: every rate (the LEA's or group's, and the comparison's) is in [0, 1]."""
    df = rate_rows(run(rows, params=prop_params(comparison)))
    assert df.height == 3 * (1 + 7)  # 3 LEAs: 4A and the 7 groups of 4B
    for r in df.iter_rows(named=True):
        if r["denominator"] > 0:
            assert 0 <= r["numerator"] / r["denominator"] <= 1, r
        if r["comparison_value"] is not None:
            assert 0 <= r["comparison_value"] <= 1, r


def test_rows_of_removals_only_are_not_students_removed():
    """A row that gives only a number of removals (counts_in REMOVALS, e.g. EDFacts FS143) is no
    student: 12 students out 15 days (a row of children, CHILDREN) of 200 is the rate, whatever the
    row of 25 removals says of days; an unmarked row counts as ever. 12/200 against 6/600 = 6.0."""
    enr = pl.LazyFrame([pupils("D1", "WH7", 200), pupils("D1", "WH7", 600, iep=False)], schema=ENROLLMENT_SCHEMA)
    rows = [removed("D1", "WH7", 12, 15.0) | {"counts_in": "CHILDREN"},
            removed("D1", "WH7", 1, 15.0) | {"removals": 25, "counts_in": "REMOVALS"},
            removed("D1", "WH7", 6, 11.0, iep=False) | {"counts_in": None}]
    dis = pl.LazyFrame(rows, schema=DISCIPLINE_SCHEMA | {"counts_in": pl.String})
    r = rate(discipline_measures(enr, dis, NJ, YEAR).collect(), "D1")
    assert (r["numerator"], r["denominator"]) == (12, 200)  # not 13: the row of removals is no student
    assert (r["comparison_numerator"], r["comparison_denominator"]) == (6, 600)
    assert r["value"] == pytest.approx(6.0)
