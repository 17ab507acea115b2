"""Worked example: a new state's method written as a profile alone, with no new code.

The rule (docs/methods.md section 10; sedet/determine/params.py: "A new state method is a new profile,
not new code"): factors name the measure rows they read and map them to points with cut points;
groups weight factors; a category method turns the percentage into a category.

"Examplestate" (invented for this test) scores two compliance factors with OSEP's compliance scoring
(>= 95% -> 2 points, >= 75% -> 1, else 0):

- Evaluation timeline (Indicator 11, 60 days from consent, 34 CFR 300.301(c)(1)), group
  "evaluation", weight 60%;
- Secondary transition (Indicator 13, youth aged 16 and above), group "transition", weight 40%.

A group with no applicable factor is dropped and the other weight renormalised. Categories, in the
state's own words, by cut points: >= 75% "Meets", >= 50% "Needs Support", else "Needs Improvement".

The same profile runs through `determine(...)` on hand-made measure rows, and through the CLI on a
tiny bundle (evaluations.csv, transition.csv). Every expected value is worked out by hand; the
arithmetic is beside it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sedet.cli import app
from sedet.determine import determine
from sedet.measures.common import to_measure_rows
from sedet.model import QUALIFIERS
from sedet.profile import load_profile

YEAR = 2012  # school year 2011-12

EXAMPLESTATE = """\
[profile]
id = "examplestate-2012"
title = "Examplestate special education determinations, 2011-12"
state = "EX"
ffy = 2011
source = "tests/cases/test_new_state_profile.py: an invented state, written as a profile alone"
display_decimals = 1
run_type = "official"

[measures.timeline]
source = "Examplestate: the federal 60-day timeline, 34 CFR 300.301(c)(1); exceptions 300.301(d), 300.309(c)"
timeline_days = 60
reporting_period_start = "07-01"
exceptions = ["301D1", "301D2", "309C"]
state_exceptions = { value = {}, source = "Examplestate lists no state exception" }
state_exceptions_count_as = "excluded"
late_bands = [[1, 10], [11, 30], [31]]
target = 1.0

[measures.transition]
source = "Examplestate: Indicator 13, IEPs of youth aged 16 and above with every component"
min_age = 16
components = ["postsecondary_goals", "transition_services", "annual_goals"]
target = 1.0

[[groups]]
id = "evaluation"
title = "Timely evaluation"
weight = 0.6
source = "Examplestate: evaluation 60%"

[[groups]]
id = "transition"
title = "Secondary transition"
weight = 0.4
source = "Examplestate: transition 40%"

[[factors]]
id = "EX1"
title = "Timely initial evaluation (Indicator 11)"
group = "evaluation"
measure = "timeline"
points = [{ at_least = 0.95, points = 2 }, { at_least = 0.75, points = 1 }, { otherwise = 0 }]
source = "Examplestate: OSEP compliance scoring"

[[factors]]
id = "EX2"
title = "Secondary transition (Indicator 13)"
group = "transition"
measure = "transition"
points = [{ at_least = 0.95, points = 2 }, { at_least = 0.75, points = 1 }, { otherwise = 0 }]
source = "Examplestate: OSEP compliance scoring"

[determination]
source = "Examplestate: cut points 75 and 50"
method = "cut_points"
categories = [
  { label = "Meets", short = "M", min_percentage = 75 },
  { label = "Needs Support", short = "NS", min_percentage = 50 },
  { label = "Needs Improvement", short = "NIMP" },
]
"""


@pytest.fixture
def profile_path(tmp_path: Path) -> Path:
    path = tmp_path / "examplestate.toml"
    path.write_text(EXAMPLESTATE, encoding="utf-8")
    return path


def m(district: str, measure: str, value: float | None, status: str = "ok") -> dict:
    """One district measure row: (district, measure, value, status); the qualifiers are empty."""
    return {"school_year": YEAR, "district_id": district, "measure": measure, **dict.fromkeys(QUALIFIERS),
            "value": value, "status": status}


def measures(*rows: dict) -> pl.DataFrame:
    schema = {"school_year": pl.Int64, "district_id": pl.String, "measure": pl.String,
              **dict.fromkeys(QUALIFIERS, pl.String), "value": pl.Float64, "status": pl.String}
    return to_measure_rows(pl.LazyFrame(list(rows), schema=schema)).collect()


# LEA: (timeline, transition) -> group percentages -> weighted percentage -> category
#   E1: 1.0 -> 2/2 = 100%; 0.96 -> 2/2 = 100%: 0.6 x 1 + 0.4 x 1 = 100%          -> Meets
#   E2: 0.95 -> 2/2 = 100%; 0.80 -> 1/2 = 50%: 0.6 x 1 + 0.4 x 0.5 = 80%          -> Meets
#   E3: 0.80 -> 1/2 = 50%; 1.0 -> 2/2 = 100%: 0.6 x 0.5 + 0.4 x 1 = 70%           -> Needs Support
#   E4: 0.80 -> 1/2 = 50%; 0.50 -> 0/2 = 0%: 0.6 x 0.5 + 0.4 x 0 = 30%            -> Needs Improvement
#   E5: 0.90 -> 1/2 = 50%; transition no_data -> dropped: 0.6 x 0.5 / 0.6 = 50%   -> Needs Support
EXPECTED = {
    "E1": (1.0, "M", "Meets"),
    "E2": (0.8, "M", "Meets"),
    "E3": (0.7, "NS", "Needs Support"),
    "E4": (0.3, "NIMP", "Needs Improvement"),
    "E5": (0.5, "NS", "Needs Support"),
}


def test_case_1_examplestate_through_determine(profile_path):
    """Case 1: five LEAs through `determine(...)`: percentages and categories as in EXPECTED."""
    prof = load_profile(str(profile_path))
    rows = measures(
        m("E1", "timeline", 1.0), m("E1", "transition", 0.96),
        m("E2", "timeline", 0.95), m("E2", "transition", 0.80),
        m("E3", "timeline", 0.80), m("E3", "transition", 1.0),
        m("E4", "timeline", 0.80), m("E4", "transition", 0.50),
        m("E5", "timeline", 0.90), m("E5", "transition", None, "no_data"),
    )
    result = determine(prof.model, rows, None, None, YEAR)
    assert result is not None
    t = {r["district_id"]: r for r in result.table.iter_rows(named=True)}
    assert set(t) == set(EXPECTED)
    for d, (pct, short, label) in EXPECTED.items():
        assert t[d]["percentage"] == pytest.approx(pct), d
        assert (t[d]["category"], t[d]["category_label"]) == (short, label), d
    # Ranks by percentage, highest first: E1 100%, E2 80%, E3 70%, E5 50%, E4 30%.
    assert [t[d]["rank"] for d in ("E1", "E2", "E3", "E5", "E4")] == [1, 2, 3, 4, 5]
    assert "transition (weight 0.4): n/a, dropped" in t["E5"]["group_detail"]


# The bundle. Timeline: consent -> determination in calendar days, on time at 60 or fewer.
#   2011-09-01 -> 2011-10-01: 30 days (on time); 2011-10-03 -> 2011-11-15: 31 + 12 = 43 (on time);
#   2011-09-01 -> 2011-12-01: 30 + 31 + 30 = 91 days (late).
EVALUATIONS = """\
school_year,district_id,student_id,consent_date,determination_date
2012,001,s1,2011-09-01,2011-10-01
2012,001,s2,2011-10-03,2011-11-15
2012,002,s3,2011-09-01,2011-10-01
2012,002,s4,2011-09-01,2011-10-01
2012,002,s5,2011-10-03,2011-11-15
2012,002,s6,2011-09-01,2011-12-01
2012,003,s7,2011-09-01,2011-10-01
2012,003,s8,2011-09-01,2011-12-01
2012,004,s9,2011-10-03,2011-11-15
"""
# Transition: an IEP counts when every component is present; a youth under 16 is not reviewed.
TRANSITION = """\
school_year,district_id,student_id,age,postsecondary_goals,transition_services,annual_goals
2012,001,t1,16,true,true,true
2012,001,t2,17,true,true,true
2012,002,t3,16,true,true,true
2012,002,t4,18,true,true,true
2012,003,t5,16,true,true,true
2012,003,t6,17,true,false,true
2012,004,t7,15,false,false,false
"""
# 001: timeline 2/2 = 100% -> 2/2; transition 2/2 = 100% -> 2/2: 0.6 x 1 + 0.4 x 1 = 100%   -> Meets
# 002: timeline 3/4 = 75% -> 1/2; transition 2/2 = 100% -> 2/2: 0.6 x 0.5 + 0.4 x 1 = 70%  -> Needs Support
# 003: timeline 1/2 = 50% -> 0/2; transition 1/2 = 50% -> 0/2: 0%                           -> Needs Improvement
# 004: timeline 1/1 = 100% -> 2/2; transition: no IEP of a youth 16+ (no_data), dropped:
#      0.6 x 1 / 0.6 = 100%                                                                 -> Meets
CLI_EXPECTED = {
    "001": (1.0, "M", "Meets"),
    "002": (0.7, "NS", "Needs Support"),
    "003": (0.0, "NIMP", "Needs Improvement"),
    "004": (1.0, "M", "Meets"),
}


def write_bundle(folder: Path, **extra: str) -> Path:
    folder.mkdir()
    (folder / "evaluations.csv").write_text(EVALUATIONS, encoding="utf-8")
    (folder / "transition.csv").write_text(TRANSITION, encoding="utf-8")
    for name, text in extra.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def run_cli(bundle: Path, profile_path: Path, out: Path) -> pl.DataFrame:
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", str(profile_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return pl.read_csv(out / "determinations.csv", schema_overrides={"district_id": pl.String})


def check_cli_determinations(det: pl.DataFrame) -> None:
    t = {r["district_id"]: r for r in det.iter_rows(named=True)}
    assert set(t) == set(CLI_EXPECTED)
    for d, (pct, short, label) in CLI_EXPECTED.items():
        assert t[d]["percentage"] == pytest.approx(pct), d
        assert (t[d]["category"], t[d]["category_label"]) == (short, label), d
    assert (t["002"]["points_earned"], t["002"]["points_possible"]) == (3, 4)  # 1 + 2 of 2 + 2
    assert (t["004"]["points_earned"], t["004"]["points_possible"]) == (2, 2)  # transition n/a, out of possible


def test_case_2_examplestate_through_the_cli(tmp_path, profile_path):
    """Case 2: `sedet determine` on a bundle of evaluations.csv and transition.csv (CLI_EXPECTED).

    The profile needs only these two tables, so the school year (2012) comes from them.
    """
    bundle = write_bundle(tmp_path / "bundle")
    check_cli_determinations(run_cli(bundle, profile_path, tmp_path / "out"))


def test_case_3_examplestate_cli_with_an_unused_enrollment_table(tmp_path, profile_path):
    """Case 3: the same bundle plus an enrollment table the profile does not read: same results.

    This isolates the scoring from how the CLI picks the school year: enrollment holds 2012 too.
    """
    enrollment = "school_year,district_id,race_ethnicity,iep\n2012,001,WH7,true\n"
    bundle = write_bundle(tmp_path / "bundle", enrollment=enrollment)
    check_cli_determinations(run_cli(bundle, profile_path, tmp_path / "out"))


def test_case_4_a_bare_empty_table_takes_its_tables_source(tmp_path):
    """Case 4: `state_exceptions = {}` written bare takes the source of [measures.timeline].

    sedet/profile.py: "A parameter is written either as a bare value, taking the `source` of the
    table it sits in ... or as `{ value = ..., source = "..." }`". An empty table is a bare value
    (no state exception), so the profile loads and the parameter shows its table's source.
    """
    text = EXAMPLESTATE.replace(
        'state_exceptions = { value = {}, source = "Examplestate lists no state exception" }', "state_exceptions = {}"
    )
    assert "state_exceptions = {}\n" in text
    path = tmp_path / "examplestate-bare.toml"
    path.write_text(text, encoding="utf-8")
    prof = load_profile(str(path))
    assert prof.measures.timeline is not None
    assert prof.measures.timeline.state_exceptions == {}
    assert prof.sources["measures.timeline.state_exceptions"].startswith("Examplestate: the federal 60-day timeline")
