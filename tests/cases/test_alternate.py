"""Worked examples: alternate assessment participation (NJ Factor 6; ESSA 1% cap).

The rule (docs/methods.md section 3; docs/reference/nj-ffy2022-about-determinations.txt, Factor 6):
per LEA and subject, students who took the alternate assessment (DLM) / all students tested
(regular + alternate), all students, not only those with IEPs. Grades: ELA and MATH 3-8 and 11,
SCI 5, 8 and 11. The LEA's rate is the highest of the subjects' rates. ESSA: "no more than 1%",
so exactly 1% is within the cap.

Every expected value is worked out by hand; the arithmetic is beside it.
"""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from sedet.measures.alternate import AlternateParams, alternate_measures

YEAR = 2012
NJ = AlternateParams(grades={"ELA": [3, 4, 5, 6, 7, 8, 11], "MATH": [3, 4, 5, 6, 7, 8, 11], "SCI": [5, 8, 11]},
                     cap=0.01)
SCHEMA = {
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


def took(subject: str, grade: int, count: int, *, assessment: str = "REG", iep: bool = False,
           participated: bool = True, district: str = "A", year: int = YEAR) -> dict:
    return {"school_year": year, "district_id": district, "subject": subject, "grade": grade, "iep": iep,
            "assessment": assessment, "enrolled_in_window": True, "participated": participated,
            "performance_level": None, "accountable": participated, "count": count}


def run(*rows: dict, params: AlternateParams = NJ) -> pl.DataFrame:
    return alternate_measures(pl.LazyFrame(list(rows), schema=SCHEMA), params, YEAR).collect()


def row(df: pl.DataFrame, subject: str | None, district: str = "A") -> dict:
    hit = df.filter(
        (pl.col("measure") == "alternate_rate")
        & (pl.col("district_id") == district)
        & pl.col("subject").eq_missing(pl.lit(subject, pl.String))
    )
    assert hit.height == 1, f"expected one alternate_rate row for {district}/{subject}, got {hit.height}"
    return hit.row(0, named=True)


def test_case_1_exactly_one_percent_is_within_the_cap():
    """Case 1: ELA, 3 DLM takers of 300 tested (297 regular + 3 alternate): 1.00%, within the cap."""
    df = run(took("ELA", 4, 297), took("ELA", 4, 3, assessment="ALT", iep=True))
    r = row(df, "ELA")
    assert (r["numerator"], r["denominator"]) == (3, 300)
    assert r["value"] == pytest.approx(0.01)  # 3 / 300
    assert r["threshold"] == 0.01
    assert r["flag"] == "within_cap"  # 1% is "no more than 1%"


def test_case_2_one_student_more_is_above_the_cap():
    """Case 2: 4 DLM takers of 300: 1.33% > 1%."""
    r = row(run(took("ELA", 4, 296), took("ELA", 4, 4, assessment="ALT")), "ELA")
    assert r["value"] == pytest.approx(4 / 300)  # 0.0133
    assert r["flag"] == "above_cap"


def test_case_3_an_ela_grade_10_alternate_taker_is_not_counted():
    """Case 3: ELA grade 10 is not a listed grade: its DLM taker and regular testers are left out."""
    df = run(
        took("ELA", 8, 199), took("ELA", 8, 1, assessment="ALT"),
        took("ELA", 10, 50), took("ELA", 10, 1, assessment="ALT"),  # not counted
    )
    r = row(df, "ELA")
    assert (r["numerator"], r["denominator"]) == (1, 200)  # grade 8 only: 1 / (199 + 1)
    assert r["value"] == pytest.approx(0.005)


def test_case_4_science_counts_grades_5_8_11_only():
    """Case 4: SCI in grade 4 is not listed (NJ tests science in 5, 8 and 11)."""
    df = run(took("SCI", 4, 10, assessment="ALT"), took("SCI", 5, 98), took("SCI", 5, 2, assessment="ALT"))
    r = row(df, "SCI")
    assert (r["numerator"], r["denominator"]) == (2, 100)  # grade 5: 2 / (98 + 2)


def test_case_5_the_lea_rate_is_the_highest_subject():
    """Case 5: ELA 2/400 = 0.5%, MATH 6/400 = 1.5%, SCI 1/150 = 0.67%: the LEA rate is MATH's 1.5%."""
    df = run(
        took("ELA", 3, 398), took("ELA", 3, 2, assessment="ALT"),
        took("MATH", 3, 394), took("MATH", 3, 6, assessment="ALT"),
        took("SCI", 5, 149), took("SCI", 5, 1, assessment="ALT"),
    )
    r = row(df, None)
    assert (r["numerator"], r["denominator"]) == (6, 400)  # MATH's counts
    assert r["value"] == pytest.approx(0.015)  # 6 / 400
    assert r["flag"] == "above_cap"
    assert r["note"].startswith("highest subject rate: MATH")
    assert row(df, "ELA")["flag"] == "within_cap"  # 0.5%


def test_case_6_all_students_count_not_only_iep_and_non_participants_do_not():
    """Case 6: regular testers without IEPs are in the denominator; students who did not test are not."""
    df = run(
        took("MATH", 6, 90, iep=False), took("MATH", 6, 9, iep=True),
        took("MATH", 6, 1, assessment="ALT", iep=True),
        took("MATH", 6, 30, participated=False),  # enrolled, not tested: out
        took("MATH", 6, 2, assessment="ALT", participated=False),  # registered for DLM, not tested: out
    )
    r = row(df, "MATH")
    assert (r["numerator"], r["denominator"]) == (1, 100)  # 1 / (90 + 9 + 1)


def test_case_7_a_subject_without_testers_is_no_data_and_ignored_for_the_highest():
    """Case 7: only ELA data: MATH and SCI have no rate; the LEA rate is ELA's."""
    df = run(took("ELA", 5, 99), took("ELA", 5, 1, assessment="ALT"))
    assert row(df, "SCI")["status"] == "no_data"
    assert row(df, "SCI")["value"] is None
    r = row(df, None)
    assert r["value"] == pytest.approx(0.01)  # 1 / 100
    assert r["flag"] == "within_cap"


def test_case_8_a_tie_goes_to_the_first_subject():
    """Case 8: ELA 1/100 and SCI 2/200 are both exactly 1%: the LEA row shows ELA, within the cap."""
    df = run(
        took("ELA", 5, 99), took("ELA", 5, 1, assessment="ALT"),
        took("SCI", 5, 198), took("SCI", 5, 2, assessment="ALT"),
    )
    r = row(df, None)
    assert (r["numerator"], r["denominator"]) == (1, 100)
    assert r["flag"] == "within_cap"


def test_case_9_districts_are_separate():
    """Case 9: B's DLM takers do not count for A."""
    df = run(
        took("ELA", 3, 100, district="A"),
        took("ELA", 3, 95, district="B"), took("ELA", 3, 5, assessment="ALT", district="B"),
    )
    assert row(df, None, "A")["value"] == 0.0  # 0 / 100
    assert row(df, None, "B")["value"] == pytest.approx(0.05)  # 5 / 100


@pytest.mark.parametrize(
    "change",
    [{"grades": {"ELA": [2]}}, {"grades": {"ELA": []}}, {"grades": {"HIST": [5]}}, {"cap": 2}, {"grades": {}}],
)
def test_case_10_bad_parameters_are_refused(change):
    with pytest.raises(ValidationError):
        AlternateParams.model_validate({"grades": {"ELA": [3]}, "cap": 0.01, **change})


def test_case_11_cap_written_as_a_whole_number_in_toml():
    """Case 11: a cap of 0 or 1 written as an int is read as a float."""
    assert AlternateParams.model_validate({"grades": {"ELA": [3]}, "cap": 1}).cap == 1.0
