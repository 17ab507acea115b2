"""Input errors of the compliance measures (issue: compliance measures, item 6), through the CLI.

Each bundle is tiny and made by hand; the profile is nj-ffy2022 (90-day timeline, the federal
exceptions 301D1, 301D2 and 309C, NJ's five transition components, the declared compliance facts).
"""

from __future__ import annotations

from .conftest import csv_text

ENROLL = csv_text(
    "school_year,district_id,race_ethnicity,iep,age,count",
    "2012,00123,WH7,true,10,40",
    "2012,00123,WH7,false,10,200",
)
DISCIPLINE = csv_text("school_year,district_id,race_ethnicity,iep,days_removed")
ASSESS = csv_text(
    "school_year,district_id,subject,grade,iep,assessment,participated,performance_level,count",
    "2012,00123,ELA,4,true,REG,true,3,10",
)
TRANSITION_HEADER = (
    "school_year,district_id,student_id,age,postsecondary_goals,transition_services,annual_goals,"
    "student_invited,agency_invited"
)
TRANSITION = csv_text(TRANSITION_HEADER, "2012,00123,T1,16,true,true,true,true,true")
COMPLIANCE_HEADER = (
    "school_year,district_id,findings,findings_corrected_on_time,data_timely,data_accurate,data_accuracy_rate,"
    "grant_on_time,grant_revisions,significant_noncompliance,policies_contributed,inappropriate_identification"
)
COMPLIANCE = csv_text(COMPLIANCE_HEADER, "2012,00123,2,2,true,true,0.98,true,0,false,false,false")
EVAL_HEADER = "school_year,district_id,student_id,consent_date,determination_date,exception"


def nj_bundle(cli, evaluations: str, **replace: str):
    tables = {
        "enrollment_csv": ENROLL,
        "discipline_csv": DISCIPLINE,
        "assessments_csv": ASSESS,
        "transition_csv": TRANSITION,
        "compliance_csv": COMPLIANCE,
        "evaluations_csv": evaluations,
    }
    tables.update(replace)
    return cli.bundle(**tables)


def validate(cli, bundle, code):
    return cli("validate", bundle, "--profile", "nj-ffy2022", code=code)


def test_a_valid_nj_bundle_passes(cli):
    b = nj_bundle(cli, csv_text(EVAL_HEADER, "2012,00123,S1,2011-09-01,2011-10-15,"))
    validate(cli, b, 0)


def test_consent_after_the_reporting_period_is_an_input_error(cli, rows):
    # school_year 2012 = July 1 2011 - June 30 2012: a consent on 2012-07-05 is in the future of it.
    b = nj_bundle(cli, csv_text(EVAL_HEADER, "2012,00123,S1,2012-07-05,,"))
    r = validate(cli, b, 1)
    line = next(x for x in rows(r.stderr) if x[0] == "evaluations.csv")
    assert line[1:3] == ["2", "consent_date"]
    assert "2012-07-05" in line[4] and "2012-06-30" in line[4]


def test_consent_before_the_reporting_period_is_an_input_error(cli, rows):
    b = nj_bundle(cli, csv_text(EVAL_HEADER, "2012,00123,S1,2011-06-30,2011-08-01,"))
    r = validate(cli, b, 1)
    line = next(x for x in rows(r.stderr) if x[0] == "evaluations.csv")
    assert line[1:3] == ["2", "consent_date"]
    assert "2011-06-30" in line[4]


def test_an_unknown_exception_code_is_an_input_error(cli, rows):
    b = nj_bundle(cli, csv_text(EVAL_HEADER, "2012,00123,S1,2011-09-01,2012-01-15,PARENT_LATE"))
    r = validate(cli, b, 1)
    line = next(x for x in rows(r.stderr) if x[0] == "evaluations.csv")
    assert line[1:3] == ["2", "exception"]
    assert "301D1" in line[3] and line[4] == "'PARENT_LATE'"


def test_a_federal_exception_code_is_accepted(cli):
    b = nj_bundle(cli, csv_text(EVAL_HEADER, "2012,00123,S1,2011-09-01,2012-01-15,301D1"))
    validate(cli, b, 0)


def test_a_missing_transition_component_column_is_an_input_error(cli, rows):
    header = TRANSITION_HEADER.replace(",agency_invited", "")
    b = nj_bundle(cli, csv_text(EVAL_HEADER), transition_csv=csv_text(header, "2012,00123,T1,16,true,true,true,true"))
    r = validate(cli, b, 1)
    line = next(x for x in rows(r.stderr) if x[0] == "transition.csv")
    assert line[2] == "agency_invited"
    assert "required" in line[3]


def test_a_missing_compliance_fact_is_an_input_error(cli, rows):
    header = COMPLIANCE_HEADER.replace(",grant_revisions", "")
    b = nj_bundle(cli, csv_text(EVAL_HEADER),
                  compliance_csv=csv_text(header, "2012,00123,2,2,true,true,0.98,true,false,false,false"))
    r = validate(cli, b, 1)
    line = next(x for x in rows(r.stderr) if x[0] == "compliance.csv")
    assert line[2] == "grant_revisions"


def test_more_findings_corrected_than_findings_is_an_input_error(cli, rows):
    b = nj_bundle(cli, csv_text(EVAL_HEADER),
                  compliance_csv=csv_text(COMPLIANCE_HEADER, "2012,00123,2,3,true,true,0.98,true,0,false,false,false"))
    r = validate(cli, b, 1)
    line = next(x for x in rows(r.stderr) if x[0] == "compliance.csv")
    assert line[1:3] == ["2", "findings_corrected_on_time"]


def test_determine_writes_the_compliance_measures(cli, tmp_path):
    # 2 consents: one determined on day 90 (on time under NJ's 90 days), one on day 91 (late).
    ev = csv_text(EVAL_HEADER, "2012,00123,S1,2011-09-01,2011-11-30,", "2012,00123,S2,2011-09-01,2011-12-01,")
    b = nj_bundle(cli, ev)
    out = tmp_path / "out"
    cli("determine", b, "--profile", "nj-ffy2022", "--out", out, code=0)
    import polars as pl

    m = pl.read_parquet(out / "measures.parquet")
    t = m.filter((pl.col("measure") == "timeline") & (pl.col("district_id") == "00123")).row(0, named=True)
    # 2011-09-01 + 90 days = 2011-11-30: on time; 2011-12-01 is day 91: late. b/a = 1/2.
    assert (t["numerator"], t["denominator"], t["value"]) == (1, 2, 0.5)
    tr = m.filter((pl.col("measure") == "transition") & (pl.col("district_id") == "00123")).row(0, named=True)
    assert (tr["numerator"], tr["denominator"]) == (1, 1)  # one youth of 16 with all five components
