"""Worked examples: timely initial evaluation (SPP/APR Indicator 11; NJ Factor 3).

The rule (docs/methods.md section 6; docs/reference/nj-ffy2022-about-determinations.txt, Factor 3;
34 CFR 300.301(c)-(e), 300.309(c)):

- a = children whose parental consent to evaluate was received in the reporting period (July 1 of
  the year before school_year to June 30 of school_year), minus children with a lawful exception;
  b = those whose eligibility was determined within the timeline. Percent = b / a. Target 100%.
- The timeline is in calendar days from consent: 60 federal, 90 in New Jersey. Day N itself is on
  time: determination - consent <= N.
- A child with no determination is late (in a, not in b) when the timeline ran out by the end of the
  period (consent + N <= June 30), and pending (in neither) when it had not (consent + N >= July 1).
- Exception codes (301D1, 301D2, 309C, and the state's own) remove the child from a and b.
- Days late = determination - consent - N, reported in bands 1-10, 11-30, 31+; late children without
  a determination are reported as `not_determined`.

Every expected value is worked out by hand; the arithmetic is beside it. School year 2012 = 2011-12.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from pydantic import ValidationError

from sedet.measures.timeline import TimelineParams, row_checks, timeline_measures

YEAR = 2012
NJ = TimelineParams(timeline_days=90, exceptions=["301D1", "301D2", "309C"])
FEDERAL = TimelineParams(timeline_days=60, exceptions=["301D1", "301D2", "309C"])

SCHEMA = {
    "school_year": pl.Int64,
    "district_id": pl.String,
    "student_id": pl.String,
    "consent_date": pl.Date,
    "determination_date": pl.Date,
    "exception": pl.String,
    "count": pl.Int64,
}
SEPT_1 = dt.date(2011, 9, 1)


def child(days: int | None, *, district: str = "A", consent: dt.date = SEPT_1, exception: str | None = None,
          count: int = 1, year: int = YEAR) -> dict:
    """One row: consent on `consent`, eligibility determined `days` days later (None: no determination)."""
    return {
        "school_year": year,
        "district_id": district,
        "student_id": None,
        "consent_date": consent,
        "determination_date": None if days is None else consent + dt.timedelta(days=days),
        "exception": exception,
        "count": count,
    }


def run(*rows: dict, params: TimelineParams = NJ, year: int = YEAR) -> pl.DataFrame:
    return timeline_measures(pl.LazyFrame(list(rows), schema=SCHEMA), params, year).collect()


def row(df: pl.DataFrame, measure: str, district: str | None = "A", category: str | None = None) -> dict:
    hit = df.filter(
        (pl.col("measure") == measure)
        & pl.col("district_id").eq_missing(pl.lit(district, pl.String))
        & pl.col("category").eq_missing(pl.lit(category, pl.String))
    )
    assert hit.height == 1, f"expected one {measure} row for {district}/{category}, got {hit.height}"
    return hit.row(0, named=True)


# ---------------------------------------------------------------------------------------------------
# 1. The percent


def test_case_1a_nine_of_eleven_after_one_exception_is_81_8_percent():
    """Case 1a: 12 consents; 1 removed by an exception; 9 determined on time, 2 late: 9 / 11."""
    df = run(
        *[child(30) for _ in range(9)],  # 30 days <= 90: on time
        child(100), child(150),  # 100 and 150 days > 90: late
        child(200, exception="301D1"),  # parent did not produce the child: out of a and b
    )
    r = row(df, "timeline")
    assert r["denominator"] == 11  # a = 12 consents - 1 exception
    assert r["numerator"] == 9  # b
    assert r["value"] == pytest.approx(9 / 11)  # 0.8181... = 81.8%
    assert round(r["value"] * 100, 1) == 81.8
    assert r["threshold"] == 1.0
    assert r["flag"] == "not_met"  # 81.8% < 100%
    assert r["status"] == "ok"


def test_case_1b_all_on_time_meets_the_target():
    """Case 1b: 3 of 3 on time is exactly 100%: met."""
    r = row(run(child(10), child(45), child(90)), "timeline")
    assert (r["numerator"], r["denominator"]) == (3, 3)
    assert r["value"] == 1.0  # 3 / 3
    assert r["flag"] == "met"


# ---------------------------------------------------------------------------------------------------
# 2. Day N itself is on time


def test_case_2a_day_90_is_on_time_under_nj_and_late_under_federal_60():
    """Case 2a: a determination 90 days after consent: on time under NJ (90 <= 90), 30 days late under 60."""
    nj = run(child(90), params=NJ)
    assert row(nj, "timeline")["value"] == 1.0  # 1 / 1
    fed = run(child(90), params=FEDERAL)
    assert row(fed, "timeline")["value"] == 0.0  # 0 / 1
    assert row(fed, "timeline_days_late", category="11-30")["numerator"] == 1  # 90 - 60 = 30 days late


def test_case_2b_day_60_on_time_day_61_late_in_band_1_10_under_federal():
    """Case 2b: under 60 days, day 60 is on time and day 61 is 1 day late (band 1-10)."""
    df = run(child(60), child(61), params=FEDERAL)
    r = row(df, "timeline")
    assert (r["numerator"], r["denominator"]) == (1, 2)  # day 60 on time; day 61 late
    band = row(df, "timeline_days_late", category="1-10")
    assert band["numerator"] == 1  # 61 - 60 = 1 day late
    assert band["denominator"] == 1  # one late child
    assert band["value"] == 1.0  # 1 / 1
    assert row(df, "timeline_days_late", category="11-30")["numerator"] == 0


def test_case_2c_days_late_distribution_over_the_bands():
    """Case 2c (NJ 90): late by 5, 10, 11, 30, 31 days, and one without a determination: 6 late children."""
    df = run(
        child(95), child(100),  # 5 and 10 days late: 1-10
        child(101), child(120),  # 11 and 30 days late: 11-30
        child(121),  # 31 days late: 31+
        child(None),  # consent Sept 1, 2011: timeline ran out Nov 30, 2011, no determination
        child(20),  # on time: not in the distribution
    )
    expected = {"1-10": 2, "11-30": 2, "31+": 1, "not_determined": 1}
    for category, n in expected.items():
        r = row(df, "timeline_days_late", category=category)
        assert r["numerator"] == n
        assert r["denominator"] == 6  # 2 + 2 + 1 + 1 late children
        assert r["value"] == pytest.approx(n / 6)
    assert row(df, "timeline")["denominator"] == 7  # 6 late + 1 on time


def test_case_2d_no_late_child_gives_no_distribution():
    """Case 2d: nobody late: the band shares have nothing to divide by (no_data, never 0 / 0)."""
    r = row(run(child(10)), "timeline_days_late", category="1-10")
    assert r["status"] == "no_data"
    assert r["value"] is None
    assert r["denominator"] == 0


# ---------------------------------------------------------------------------------------------------
# 3. No determination: late or pending


def test_case_3a_no_determination_timeline_ran_out_by_june_30_is_late():
    """Case 3a (NJ 90): consent April 1, 2012; the 90th day is June 30, 2012 (29 + 31 + 30 days): late."""
    df = run(child(None, consent=dt.date(2012, 4, 1)))
    r = row(df, "timeline")
    assert (r["numerator"], r["denominator"]) == (0, 1)  # in a, not in b
    assert r["flag"] == "not_met"
    assert row(df, "timeline_days_late", category="not_determined")["numerator"] == 1
    assert row(df, "timeline_pending")["numerator"] == 0


def test_case_3b_no_determination_timeline_not_run_out_is_pending():
    """Case 3b (NJ 90): consent April 2, 2012; the 90th day is July 1, 2012, after the period: pending."""
    df = run(child(None, consent=dt.date(2012, 4, 2)), child(40))
    r = row(df, "timeline")
    assert (r["numerator"], r["denominator"]) == (1, 1)  # the pending child is in neither a nor b
    p = row(df, "timeline_pending")
    assert p["numerator"] == 1
    assert p["value"] == 1


def test_case_3c_only_pending_children_is_no_data():
    """Case 3c: every consent still pending: a = 0, no percent and no flag."""
    r = row(run(child(None, consent=dt.date(2012, 6, 1))), "timeline")  # June 1 + 90 = Aug 30: pending
    assert r["denominator"] == 0
    assert r["status"] == "no_data"
    assert r["value"] is None
    assert r["flag"] is None


def test_case_3d_determination_after_the_period_is_judged_on_its_dates():
    """Case 3d: consent May 15, 2012, determined Aug 1, 2012 (78 days): on time, even after June 30."""
    r = row(run(child(78, consent=dt.date(2012, 5, 15))), "timeline")  # 16 + 30 + 31 + 1 = 78 days
    assert (r["numerator"], r["denominator"]) == (1, 1)


# ---------------------------------------------------------------------------------------------------
# 4. Exceptions


def test_case_4a_exceptions_leave_a_and_b_and_are_counted_per_code():
    """Case 4a: two 301D1, one 309C, one 301D2 (determined on time: still removed); 2 others on time."""
    df = run(
        child(150, exception="301D1"), child(None, exception="301D1"),
        child(120, exception="309C"), child(10, exception="301D2"),
        child(5), child(6),
    )
    r = row(df, "timeline")
    assert (r["numerator"], r["denominator"]) == (2, 2)  # 6 consents - 4 exceptions
    assert row(df, "timeline_exceptions", category="301D1")["numerator"] == 2
    assert row(df, "timeline_exceptions", category="301D2")["numerator"] == 1
    assert row(df, "timeline_exceptions", category="309C")["numerator"] == 1
    assert row(df, "timeline_exceptions", category=None)["numerator"] == 4  # 2 + 1 + 1
    assert row(df, "timeline_pending")["numerator"] == 0  # the undetermined 301D1 child is an exception


def test_case_4b_state_exception_removes_and_unaccepted_code_does_not():
    """Case 4b: the profile accepts 301D1 and a state code STORM; a 309C row is not a lawful delay here."""
    params = TimelineParams(timeline_days=60, exceptions=["301D1"], state_exceptions={"STORM": "school closed"})
    df = run(child(100, exception="STORM"), child(100, exception="309C"), child(30), params=params)
    r = row(df, "timeline")
    assert (r["numerator"], r["denominator"]) == (1, 2)  # STORM removed; 309C child counts as late
    assert row(df, "timeline_exceptions", category="STORM")["numerator"] == 1
    assert row(df, "timeline_exceptions", category=None)["numerator"] == 1
    assert df.filter((pl.col("measure") == "timeline_exceptions") & (pl.col("category") == "309C")).height == 0


# ---------------------------------------------------------------------------------------------------
# 5. Counts, districts, years, the state


def test_case_5a_counts_weigh_rows_and_state_sums_districts():
    """Case 5a: aggregated rows. A: 40 on time, 10 late; B: 25 on time, 5 pending, 3 exceptions."""
    df = run(
        child(30, district="A", count=40), child(95, district="A", count=10),
        child(10, district="B", count=25), child(None, district="B", consent=dt.date(2012, 6, 20), count=5),
        child(10, district="B", exception="301D2", count=3),
    )
    a = row(df, "timeline", "A")
    assert a["value"] == pytest.approx(40 / 50)  # 40 / (40 + 10)
    b = row(df, "timeline", "B")
    assert (b["numerator"], b["denominator"]) == (25, 25)  # 33 consents - 5 pending - 3 exceptions
    state = row(df, "indicator_11", None)
    assert (state["numerator"], state["denominator"]) == (65, 75)  # 40 + 25, 50 + 25
    assert state["value"] == pytest.approx(65 / 75)  # 86.7%
    assert state["flag"] == "not_met"
    assert row(df, "timeline_pending", None)["numerator"] == 5
    assert row(df, "timeline_exceptions", None, "301D2")["numerator"] == 3
    assert row(df, "timeline_days_late", None, "1-10")["numerator"] == 10  # A's 10 children, 5 days late
    assert df.filter(pl.col("measure") == "timeline").height == 2  # the state row is indicator_11


def test_case_5b_other_years_are_ignored():
    """Case 5b: a 2011 row (consent Sept 2010) is not part of the 2012 figures."""
    df = run(child(200, consent=dt.date(2010, 9, 1), year=2011), child(10))
    r = row(df, "timeline")
    assert (r["numerator"], r["denominator"]) == (1, 1)
    assert set(df.get_column("school_year").to_list()) == {2012}


def test_case_5c_a_period_starting_september_1():
    """Case 5c: period Sept 1, 2011 - Aug 31, 2012 under 60 days. Consent July 1, 2012 + 60 = Aug 30: late."""
    params = TimelineParams(timeline_days=60, exceptions=[], reporting_period_start="09-01")
    df = run(child(None, consent=dt.date(2012, 7, 1)), child(None, consent=dt.date(2012, 7, 3)), params=params)
    # July 1 + 60 = Aug 30 <= Aug 31: late; July 3 + 60 = Sept 1 > Aug 31: pending
    r = row(df, "timeline")
    assert (r["numerator"], r["denominator"]) == (0, 1)
    assert row(df, "timeline_pending")["numerator"] == 1


# ---------------------------------------------------------------------------------------------------
# 6. Input errors the loader adds (row_checks)


def _typed_frame(rows: list[tuple]) -> pl.DataFrame:
    """(school_year, consent_date as read, consent_date typed, student_id, count) as the loader holds them."""
    return pl.DataFrame(
        rows,
        schema={
            "__typed_school_year": pl.Int64,
            "consent_date": pl.String,
            "__typed_consent_date": pl.Date,
            "__typed_student_id": pl.String,
            "__typed_count": pl.Int64,
        },
        orient="row",
    ).with_columns(  # the text as read: the same values, as text
        pl.col("__typed_student_id").alias("student_id"),
        pl.col("__typed_count").cast(pl.String).alias("count"),
    )


def _bad(checks, frame: pl.DataFrame, column: str) -> list[str | None]:
    """The `found` text of rows each check on `column` flags (None for rows no check flags)."""
    out: list[str | None] = [None] * frame.height
    for chk in (c for c in checks if c.column == column):
        res = frame.select(chk.bad.fill_null(False).alias("bad"), chk.found.alias("found"))
        for i, (bad, found) in enumerate(res.iter_rows()):
            if bad:
                out[i] = found
    return out


def test_case_6a_consent_after_the_reporting_period_is_an_input_error():
    """Case 6a: school_year 2012 runs July 1, 2011 - June 30, 2012; July 5, 2012 is after it."""
    frame = _typed_frame([
        (2012, "2012-07-05", dt.date(2012, 7, 5), "S1", 1),  # after June 30, 2012: error
        (2012, "2012-06-30", dt.date(2012, 6, 30), "S2", 1),  # last day: fine
        (2012, "2011-07-01", dt.date(2011, 7, 1), "S3", 1),  # first day: fine
        (2012, "2011-06-30", dt.date(2011, 6, 30), "S4", 1),  # before July 1, 2011: error
        (2012, "41095", dt.date(2012, 7, 5), "S5", 1),  # Excel serial 41095 = 2012-07-05: error, both shown
    ])
    checks = row_checks(NJ)
    found = _bad(checks, frame, "consent_date")
    assert found[0] == "'2012-07-05', after 2012-06-30, the last day of the 2012 reporting period"
    assert found[1] is None and found[2] is None
    assert found[3] == "'2011-06-30', before 2011-07-01, the first day of the 2012 reporting period"
    assert found[4] == "'41095' (2012-07-05), after 2012-06-30, the last day of the 2012 reporting period"
    after = next(c for c in checks if c.column == "consent_date" and "not after" in c.expected)
    assert "07-01 of the year before to 06-30 of school_year" in after.expected


def test_case_6b_a_student_row_stands_for_one_child():
    """Case 6b: a row with a student_id and count 3 is an error; a row without student_id may count 3."""
    frame = _typed_frame([
        (2012, "2011-09-01", dt.date(2011, 9, 1), "S1", 3),  # error
        (2012, "2011-09-01", dt.date(2011, 9, 1), None, 3),  # aggregated: fine
        (2012, "2011-09-01", dt.date(2011, 9, 1), "S2", 1),  # fine
    ])
    assert _bad(row_checks(NJ), frame, "count") == ["a count of 3", None, None]


# ---------------------------------------------------------------------------------------------------
# 7. Parameters


def test_case_7a_parameters_read_from_toml_shapes():
    """Case 7a: TOML has no null, so the open band is written [31]; ints are accepted for target."""
    p = TimelineParams.model_validate(
        {"timeline_days": 90, "exceptions": ["301D1"], "late_bands": [[1, 10], [11, 30], [31]], "target": 1}
    )
    assert p.late_bands == [(1, 10), (11, 30), (31, None)]
    assert p.target == 1.0
    assert p.band_labels() == ["1-10", "11-30", "31+"]
    assert p.period(2012) == (dt.date(2011, 7, 1), dt.date(2012, 6, 30))


@pytest.mark.parametrize(
    "change",
    [
        {"late_bands": [[1, 10], [12, 30], [31]]},  # gap: 11 days late has no band
        {"late_bands": [[1, 10], [11, 30]]},  # 31+ days late has no band
        {"late_bands": [[2, 10], [11]]},  # 1 day late has no band
        {"reporting_period_start": "02-29"},
        {"reporting_period_start": "7-1"},
        {"exceptions": ["301D3"]},
        {"state_exceptions": {"storm": "lower case never matches the loader's capitals"}},
        {"state_exceptions": {"309C": "a federal code"}},
        {"timeline_days": 0},
    ],
)
def test_case_7b_bad_parameters_are_refused(change):
    """Case 7b: a profile that cannot be applied as written is refused."""
    with pytest.raises(ValidationError):
        TimelineParams.model_validate({"timeline_days": 90, "exceptions": ["301D1"], **change})
