"""Worked examples: secondary transition (SPP/APR Indicator 13; NJ Factor 5).

The rule (docs/methods.md section 7; docs/reference/nj-ffy2022-about-determinations.txt, Factor 5):
percent = IEPs of youth aged 16 and above that include **every** required component / IEPs of
youth aged 16 and above reviewed. NJ's five components: measurable postsecondary goals, transition
services, annual IEP goals related to transition needs, the student invited, a participating agency
invited (where appropriate). Target 100%. A blank component counts as missing.

Every expected value is worked out by hand; the arithmetic is beside it.
"""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from sedet.measures.transition import NJ_TRANSITION_COMPONENTS, TransitionParams, transition_measures

YEAR = 2012
NJ = TransitionParams(min_age=16, components=list(NJ_TRANSITION_COMPONENTS), target=1.0)
ALL = dict.fromkeys(NJ_TRANSITION_COMPONENTS, True)
SCHEMA = {
    "school_year": pl.Int64,
    "district_id": pl.String,
    "student_id": pl.String,
    "age": pl.Int64,
    **dict.fromkeys(NJ_TRANSITION_COMPONENTS, pl.Boolean),
    "count": pl.Int64,
}


def iep(age: int, *, district: str = "A", count: int = 1, year: int = YEAR, **components: bool | None) -> dict:
    """One reviewed IEP (or `count` identical ones): every component present unless given."""
    return {"school_year": year, "district_id": district, "student_id": None, "age": age,
            **ALL, **components, "count": count}


def run(*rows: dict, params: TransitionParams = NJ) -> pl.DataFrame:
    return transition_measures(pl.LazyFrame(list(rows), schema=SCHEMA), params, YEAR).collect()


def row(df: pl.DataFrame, measure: str, district: str | None = "A", category: str | None = None) -> dict:
    hit = df.filter(
        (pl.col("measure") == measure)
        & pl.col("district_id").eq_missing(pl.lit(district, pl.String))
        & pl.col("category").eq_missing(pl.lit(category, pl.String))
    )
    assert hit.height == 1, f"expected one {measure} row for {district}/{category}, got {hit.height}"
    return hit.row(0, named=True)


def test_case_1_an_iep_missing_one_of_five_components_fails():
    """Case 1: 4 IEPs, one without annual goals related to transition: 3 / 4 = 75%."""
    df = run(iep(16), iep(17), iep(18), iep(19, annual_goals=False))
    r = row(df, "transition")
    assert (r["numerator"], r["denominator"]) == (3, 4)
    assert r["value"] == pytest.approx(0.75)  # 3 / 4
    assert r["threshold"] == 1.0
    assert r["flag"] == "not_met"  # 75% < 100%
    goals = row(df, "transition_component", category="annual_goals")
    assert (goals["numerator"], goals["denominator"]) == (3, 4)
    assert row(df, "transition_component", category="student_invited")["value"] == 1.0  # 4 / 4


def test_case_2_a_youth_of_15_is_not_counted():
    """Case 2: a 15-year-old's incomplete IEP is not reviewed for Indicator 13; 16 is counted."""
    df = run(iep(15, postsecondary_goals=False), iep(16))
    r = row(df, "transition")
    assert (r["numerator"], r["denominator"]) == (1, 1)  # only the 16-year-old
    assert r["value"] == 1.0
    assert r["flag"] == "met"


def test_case_3_a_blank_component_counts_as_missing():
    """Case 3: agency_invited left blank on one of two IEPs: 1 / 2."""
    df = run(iep(17, agency_invited=None), iep(17))
    r = row(df, "transition")
    assert r["value"] == pytest.approx(0.5)  # 1 / 2
    assert row(df, "transition_component", category="agency_invited")["numerator"] == 1


def test_case_4_only_younger_youth_is_no_data():
    """Case 4: a district whose reviewed IEPs are all of 14- and 15-year-olds: nothing to divide by."""
    r = row(run(iep(14), iep(15)), "transition")
    assert r["denominator"] == 0
    assert r["status"] == "no_data"
    assert r["value"] is None
    assert r["flag"] is None


def test_case_5_counts_districts_and_the_state():
    """Case 5: A has 20 complete and 5 incomplete IEPs; B has 10 complete. State: 30 / 35."""
    df = run(
        iep(16, district="A", count=20), iep(18, district="A", count=5, transition_services=False),
        iep(17, district="B", count=10),
        iep(16, district="B", count=3, year=2011, student_invited=False),  # another year: ignored
    )
    assert row(df, "transition", "A")["value"] == pytest.approx(20 / 25)  # 0.8
    b = row(df, "transition", "B")
    assert (b["numerator"], b["denominator"]) == (10, 10)
    state = row(df, "indicator_13", None)
    assert (state["numerator"], state["denominator"]) == (30, 35)  # 20 + 10, 25 + 10
    assert state["value"] == pytest.approx(30 / 35)  # 85.7%
    services = row(df, "transition_component", None, "transition_services")
    assert (services["numerator"], services["denominator"]) == (30, 35)  # A's 5 lack it


def test_case_6_a_profile_with_other_components_and_age():
    """Case 6: a profile requiring only two components, from age 14: the other columns do not matter."""
    params = TransitionParams(min_age=14, components=["postsecondary_goals", "annual_goals"], target=1.0)
    df = run(iep(14, student_invited=False), iep(15, annual_goals=False), params=params)
    r = row(df, "transition")
    assert (r["numerator"], r["denominator"]) == (1, 2)  # the 14-year-old passes both; the 15-year-old fails
    assert df.filter(pl.col("measure") == "transition_component").height == 4  # 2 components x (A + state)


@pytest.mark.parametrize(
    "change",
    [
        {"components": []},
        {"components": ["annual_goals", "annual_goals"]},
        {"components": ["Annual Goals"]},
        {"components": ["age"]},
        {"target": 1.5},
        {"min_age": -1},
    ],
)
def test_case_7_bad_parameters_are_refused(change):
    with pytest.raises(ValidationError):
        TransitionParams.model_validate({"min_age": 16, "components": ["annual_goals"], "target": 1, **change})
