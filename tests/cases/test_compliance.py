"""Worked examples: LEA compliance facts (NJ Factors 7, 8, 9; MA compliance criteria).

The rule (docs/methods.md section 8; docs/reference/nj-ffy2022-about-determinations.txt, Factors 7-9):
- Factor 7: findings of noncompliance corrected within one year of notification / findings; any
  uncorrected finding flags the district. A district with no finding has nothing to correct (no rate).
- Every fact the profile declares is passed on as a number: bools as 1 (yes) / 0 (no), counts such
  as grant revisions as counts, rates as rates.
- A district with no compliance row for the year gets no rows.

Every expected value is worked out by hand; the arithmetic is beside it.
"""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from sedet.measures.compliance import ComplianceParams, compliance_measures

YEAR = 2012
FACTS = ["findings", "findings_corrected_on_time", "data_timely", "data_accuracy_rate", "grant_on_time",
         "grant_revisions"]
PARAMS = ComplianceParams(facts=FACTS)
SCHEMA = {
    "school_year": pl.Int64,
    "district_id": pl.String,
    "findings": pl.Int64,
    "findings_corrected_on_time": pl.Int64,
    "data_timely": pl.Boolean,
    "data_accuracy_rate": pl.Float64,
    "grant_on_time": pl.Boolean,
    "grant_revisions": pl.Int64,
}


def lea(district: str, findings: int, corrected: int, *, timely: bool = True, accuracy: float = 0.99,
        grant: bool = True, revisions: int = 0, year: int = YEAR) -> dict:
    return {"school_year": year, "district_id": district, "findings": findings,
            "findings_corrected_on_time": corrected, "data_timely": timely, "data_accuracy_rate": accuracy,
            "grant_on_time": grant, "grant_revisions": revisions}


def run(*rows: dict, params: ComplianceParams = PARAMS, schema: dict = SCHEMA) -> pl.DataFrame:
    return compliance_measures(pl.LazyFrame(list(rows), schema=schema), params, YEAR).collect()


def row(df: pl.DataFrame, measure: str, district: str = "A", category: str | None = None) -> dict:
    hit = df.filter(
        (pl.col("measure") == measure)
        & (pl.col("district_id") == district)
        & pl.col("category").eq_missing(pl.lit(category, pl.String))
    )
    assert hit.height == 1, f"expected one {measure} row for {district}/{category}, got {hit.height}"
    return hit.row(0, named=True)


def test_case_1_one_finding_of_four_uncorrected():
    """Case 1: 4 findings, 3 corrected within a year: 75%, uncorrected."""
    r = row(run(lea("A", 4, 3)), "correction")
    assert (r["numerator"], r["denominator"]) == (3, 4)
    assert r["value"] == pytest.approx(0.75)  # 3 / 4
    assert r["flag"] == "uncorrected"
    assert r["threshold"] == 1.0


def test_case_2_every_finding_corrected():
    """Case 2: 2 of 2 corrected: 100%, all_corrected."""
    r = row(run(lea("A", 2, 2)), "correction")
    assert r["value"] == 1.0  # 2 / 2
    assert r["flag"] == "all_corrected"


def test_case_3_no_finding_has_nothing_to_correct():
    """Case 3: no finding: no rate (never 0 / 0), no flag, status no_data."""
    r = row(run(lea("A", 0, 0)), "correction")
    assert r["status"] == "no_data"
    assert r["value"] is None
    assert r["flag"] is None


def test_case_4_facts_as_numbers_bools_as_one_and_zero():
    """Case 4: data late (0, no), accuracy 0.95, grant on time (1, yes), 3 revisions kept as 3."""
    df = run(lea("A", 0, 0, timely=False, accuracy=0.95, grant=True, revisions=3))
    timely = row(df, "compliance_fact", category="data_timely")
    assert (timely["value"], timely["flag"]) == (0.0, "no")
    grant = row(df, "compliance_fact", category="grant_on_time")
    assert (grant["value"], grant["flag"]) == (1.0, "yes")
    revisions = row(df, "compliance_fact", category="grant_revisions")
    assert (revisions["value"], revisions["flag"]) == (3.0, None)
    assert row(df, "compliance_fact", category="data_accuracy_rate")["value"] == pytest.approx(0.95)
    assert row(df, "compliance_fact", category="findings")["value"] == 0.0
    assert df.filter(pl.col("measure") == "compliance_fact").height == 6  # one per declared fact


def test_case_5_a_district_without_a_row_for_the_year_has_no_rows():
    """Case 5: B has a 2011 row only: nothing for B in 2012; A has its 1 + 6 rows."""
    df = run(lea("A", 1, 1), lea("B", 5, 0, year=2011))
    assert df.filter(pl.col("district_id") == "B").height == 0
    assert df.filter(pl.col("district_id") == "A").height == 7  # correction + 6 facts


def test_case_6_without_both_finding_columns_there_is_no_correction_row():
    """Case 6: a profile declaring only data facts: no correction measure."""
    params = ComplianceParams(facts=["data_timely"])
    schema = {"school_year": pl.Int64, "district_id": pl.String, "data_timely": pl.Boolean}
    df = run({"school_year": YEAR, "district_id": "A", "data_timely": True}, params=params, schema=schema)
    assert df.get_column("measure").to_list() == ["compliance_fact"]


def test_case_7_no_facts_declared_gives_no_rows():
    """Case 7: an empty fact list: an empty frame of measure rows."""
    df = run(lea("A", 1, 1), params=ComplianceParams(facts=[]))
    assert df.height == 0
    assert "measure" in df.columns


@pytest.mark.parametrize("facts", [["findings", "findings"], ["Data Timely"], ["district_id"]])
def test_case_8_bad_parameters_are_refused(facts):
    with pytest.raises(ValidationError):
        ComplianceParams(facts=facts)
