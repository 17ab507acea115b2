"""Published state methods written as profiles alone (configs/), each run through the CLI on a small
bundle made here, with every expected value worked out by hand in the comments.

(a) Arizona: four cut-point categories (Meets 80-100%, Needs Assistance 50-79%, Needs
    Intervention 20-49%, Needs Substantial Intervention < 20%), LEAs exactly on 80, 50 and 20.
(b) Points 1-5 x weights, plus points for improvement over the prior year, Meets >= 70%, Needs
    Assistance >= 60%, Needs Intervention below; Needs Assistance a third consecutive year becomes
    Needs Intervention, Needs Intervention a third consecutive year Needs Substantial Intervention.
(c) OSEP's results-driven accountability matrix for states: results and compliance percentages,
    their mean the RDA percentage (Alabama 2018, Hawaii 2019).
(d) A weighted composite on the state's 0-4 scale, strict cut points at 1/2/3, and a yes/no
    minimum goal that forces the lowest category.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from sedet.cli import app

ROOT = Path(__file__).resolve().parents[2]


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def determine(bundle: Path, profile: str, out: Path, *flags: str) -> dict[str, dict]:
    """determinations.csv of a CLI run, by district."""
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", profile, "--out", str(out), "--quiet",
                                      *flags])
    assert result.exit_code == 0, result.output
    with (out / "determinations.csv").open(encoding="utf-8") as f:
        return {r["district_id"]: r for r in csv.DictReader(f)}


# ---------------------------------------------------------------------------------------------------
# (d) The 0-4 composite: 0.6 x component A + 0.4 x component B, strict cut points 3 / 2 / 1


COMPOSITE = [
    # district, component_a, component_b, met_minimum_performance_goal
    ("MISSING_B", "3.5", "", "yes"),
    ("AT_TWO", "2.0", "2.0", "yes"),
    ("ABOVE_TWO", "2.5", "1.5", "yes"),
    ("LOW", "0.5", "1.0", "yes"),
    ("GOAL_NOT_MET", "", "", "no"),
    ("HIGH_NO_GOAL", "3.8", "3.9", "false"),
]


def test_case_d_composite_on_the_states_own_scale(tmp_path):
    """MISSING_B: B missing -> only A applies: 0.6 x 3.5 / 0.6 = 3.5 > 3 -> MR.
    AT_TWO: 0.6 x 2.0 + 0.4 x 2.0 = 2.0 (in floating point 2.0000000000000004), and 2.0 is not > 2:
      NI, not NA.
    ABOVE_TWO: 0.6 x 2.5 + 0.4 x 1.5 = 1.5 + 0.6 = 2.1 > 2 -> NA.
    LOW: 0.6 x 0.5 + 0.4 x 1.0 = 0.3 + 0.4 = 0.7, not > 1 -> NSI by the method.
    GOAL_NOT_MET: no component, so no score and no category from the method; the minimum-goal
      condition forces NSI.
    HIGH_NO_GOAL: 0.6 x 3.8 + 0.4 x 3.9 = 2.28 + 1.56 = 3.84 -> MR by the method, forced to NSI.
    """
    bundle = tmp_path / "bundle"
    write_csv(bundle / "compliance.csv", [
        {"school_year": 2023, "district_id": d, "component_a": a, "component_b": b,
         "met_minimum_performance_goal": goal} for d, a, b, goal in COMPOSITE])
    t = determine(bundle, "composite-0-4", tmp_path / "out")
    assert set(t) == {d for d, *_ in COMPOSITE}
    assert (float(t["MISSING_B"]["score"]), t["MISSING_B"]["category"]) == (3.5, "MR")
    assert (t["AT_TWO"]["score"], t["AT_TWO"]["category"]) == ("2.0", "NI")
    assert (float(t["ABOVE_TWO"]["score"]), t["ABOVE_TWO"]["category"]) == (pytest.approx(2.1), "NA")
    assert (float(t["LOW"]["score"]), t["LOW"]["category"]) == (pytest.approx(0.7), "NSI")
    assert t["LOW"]["placed_by"] == "method"
    assert t["GOAL_NOT_MET"]["score"] == ""
    assert (t["GOAL_NOT_MET"]["category"], t["GOAL_NOT_MET"]["placed_by"]) == ("NSI", "condition minimum-goal")
    assert t["GOAL_NOT_MET"]["status"] == "determined"
    assert (float(t["HIGH_NO_GOAL"]["score"]), t["HIGH_NO_GOAL"]["base"]) == (pytest.approx(3.84), "MR")
    assert t["HIGH_NO_GOAL"]["category"] == "NSI"
    assert "minimum performance goal was not met" in t["HIGH_NO_GOAL"]["reasons"]
    # the percentage of points possible stays available: score / 4
    assert float(t["ABOVE_TWO"]["percentage"]) == pytest.approx(2.1 / 4)


def test_case_d_an_empty_goal_is_an_error_not_a_no(tmp_path):
    """The goal may not be missing (no `may_be_missing`): an empty cell is named, not read as 'no'."""
    bundle = tmp_path / "bundle"
    write_csv(bundle / "compliance.csv", [
        {"school_year": 2023, "district_id": "X", "component_a": "1", "component_b": "1",
         "met_minimum_performance_goal": ""}])
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", "composite-0-4", "--out",
                                      str(tmp_path / "out"), "--quiet"])
    assert result.exit_code != 0
    assert "compliance.csv, row 2, column 'met_minimum_performance_goal'" in result.output
    assert "expected a value" in result.output
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------
# (a) Arizona: Meets >= 80%, Needs Assistance >= 50%, Needs Intervention >= 20%, else NSI


ARIZONA = [
    # district, timely_evaluation_rate, transition_rate, correction_rate, data_timely, data_accurate
    ("AT_80", "1.0", "0.95", "1.0", "yes", "no"),
    ("AT_50", "0.80", "0.75", "0.94", "yes", "no"),
    ("AT_20", "0.5", "0.5", "0.5", "yes", "no"),
    ("NO_FINDING", "1.0", "0.96", "", "no", "yes"),
    ("BELOW_20", "0.8", "0.2", "", "no", "no"),
]


def test_case_a_arizona_four_cut_point_categories(tmp_path):
    """Each element is worth 2 points (>= 95% 2, >= 75% 1, else 0; yes 2, no 0).

    AT_80: 2 + 2 (0.95 is >= 95%) + 2 + 2 + 0 = 8 of 10 = 80% -> MR (80 is in 80-100).
    AT_50: 1 + 1 (0.75 is >= 75%) + 1 (0.94 < 95%) + 2 + 0 = 5 of 10 = 50% -> NA (50 is in 50-79).
    AT_20: 0 + 0 + 0 + 2 + 0 = 2 of 10 = 20% -> NI (20 is in 20-49).
    NO_FINDING: no finding, so correction does not apply: 2 + 2 + 0 + 2 = 6 of 8 = 75% -> NA.
    BELOW_20: 1 + 0 + 0 + 0 = 1 of 8 = 12.5% -> NSI.
    """
    bundle = tmp_path / "bundle"
    write_csv(bundle / "compliance.csv", [
        {"school_year": 2022, "district_id": d, "timely_evaluation_rate": a, "transition_rate": b,
         "correction_rate": c, "data_timely": dt, "data_accurate": da} for d, a, b, c, dt, da in ARIZONA])
    t = determine(bundle, "az-cut-points", tmp_path / "out")
    expected = {"AT_80": (8, 10, 0.8, "MR"), "AT_50": (5, 10, 0.5, "NA"), "AT_20": (2, 10, 0.2, "NI"),
                "NO_FINDING": (6, 8, 0.75, "NA"), "BELOW_20": (1, 8, 0.125, "NSI")}
    for d, (earned, possible, pct, cat) in expected.items():
        r = t[d]
        assert (float(r["points_earned"]), float(r["points_possible"])) == (earned, possible), d
        assert float(r["percentage"]) == pytest.approx(pct), d
        assert (r["category"], r["placed_by"]) == (cat, "method"), d
    assert "score" not in t["AT_80"]  # no score of its own: the percentage is the determination's figure


# ---------------------------------------------------------------------------------------------------
# (c) OSEP's RDA matrix for states, on the shipped bundle sample_data/osep-states


@pytest.mark.parametrize(("year", "state", "results", "compliance", "rda"), [
    # Alabama 2018: results 15 / 24 = 0.625, compliance 19 / 20 = 0.95; RDA (0.625 + 0.95) / 2 = 0.7875
    (2018, "AL", "62.5%", "95.0%", 0.7875),
    # Hawaii 2019: results 10 / 24 = 0.41667, compliance 18 / 20 = 0.9; RDA (0.41667 + 0.9) / 2 = 0.65833
    (2019, "HI", "41.7%", "90.0%", (10 / 24 + 0.9) / 2),
])
def test_case_c_osep_state_matrix(tmp_path, year, state, results, compliance, rda):
    """Both are Needs Assistance: at least 60% and below 80%. Points: 15 + 19 = 34 of 44 (AL);
    10 + 18 = 28 of 44 (HI)."""
    t = determine(ROOT / "sample_data" / "osep-states", "osep-state-rda", tmp_path / "out", "--year", str(year))
    assert list(t) == [state]
    r = t[state]
    assert float(r["percentage"]) == pytest.approx(rda, abs=1e-9)
    assert r["group_detail"] == f"results (weight 0.5): {results}; compliance (weight 0.5): {compliance}"
    assert (float(r["points_earned"]), float(r["points_possible"])) == ((34.0, 44.0) if state == "AL" else (28.0, 44.0))
    assert (r["category"], r["category_label"]) == ("NA", "Needs Assistance")


# ---------------------------------------------------------------------------------------------------
# (b) Points 1-5 x weights + improvement, 70 / 60 cut points, third-year escalation


# district: (graduation 2019, graduation 2020, proficiency 2020, timely evaluation 2020)
POINTS = {
    "MEETS": ("0.85", "0.92", "0.45", "1.0"),
    "NA_THIRD": ("0.75", "0.75", "0.25", "0.95"),
    "NA_SECOND": ("0.75", "0.75", "0.25", "0.95"),
    "NI_THIRD": ("0.60", "0.55", "0.15", "0.85"),
    "NA_AFTER_NI": ("0.75", "0.75", "0.25", "0.95"),
    "AT_60": ("0.70", "0.70", "0.20", "0.90"),
    "NO_PRIOR": (None, "0.92", "", "1.0"),
}
# Official categories of earlier years (labels or short names, as a state's file may hold either).
HISTORY = [
    ("MEETS", 2018, "NA"), ("MEETS", 2019, "Needs Assistance"),
    ("NA_THIRD", 2018, "Needs Assistance"), ("NA_THIRD", 2019, "NA"),
    ("NA_SECOND", 2018, "MR"), ("NA_SECOND", 2019, "NA"),
    ("NI_THIRD", 2018, "NI"), ("NI_THIRD", 2019, "Needs Intervention"),
    ("NA_AFTER_NI", 2018, "NI"), ("NA_AFTER_NI", 2019, "NA"),
    ("AT_60", 2017, "NA"), ("AT_60", 2019, "NA"),  # 2018 missing: no run of three years
]


def points_bundle(folder: Path, history: list[tuple[str, int, str]] = HISTORY) -> Path:
    rows = []
    for d, (g19, g20, prof, i11) in POINTS.items():
        if g19 is not None:
            rows.append({"school_year": 2019, "district_id": d, "graduation_rate": g19, "proficiency_rate": prof,
                         "timely_evaluation_rate": i11})
        rows.append({"school_year": 2020, "district_id": d, "graduation_rate": g20, "proficiency_rate": prof,
                     "timely_evaluation_rate": i11})
    write_csv(folder / "compliance.csv", rows)
    write_csv(folder / "history.csv", [{"district_id": d, "school_year": y, "category": c} for d, y, c in history])
    return folder


def test_case_b_points_weights_improvement_and_escalation(tmp_path):
    """Points possible: 5 x (2 + 1 + 1 + 1) = 25 (GRAD weighs 2); without PROF and IMP: 5 x 3 = 15.

    MEETS: GRAD 0.92 -> 5 x 2 = 10; PROF 0.45 -> 5; I11 1.0 -> 5; IMP 0.92 - 0.85 = 0.07 > 0.05 -> 5:
      25 / 25 = 100% -> MR. History NA, NA, but MR this year: no run.
    NA_THIRD: GRAD 0.75 -> 3 x 2 = 6; PROF 0.25 -> 3; I11 0.95 -> 4; IMP 0.75 - 0.75 = 0 (no decline)
      -> 3: 16 / 25 = 64% -> NA; NA in 2018 and 2019 too -> third year -> NI.
    NA_SECOND: the same 64% -> NA; history MR, NA: two years only -> stays NA.
    NI_THIRD: GRAD 0.55 -> 1 x 2 = 2; PROF 0.15 -> 2; I11 0.85 -> 2; IMP 0.55 - 0.60 = -0.05 -> 1:
      7 / 25 = 28% -> NI; NI in 2018 and 2019 -> NSI.
    NA_AFTER_NI: 64% -> NA; 2018 NI, 2019 NA: NA or worse three years -> NI; the NI rule then sees
      2019 NA (not NI or worse) -> stays NI.
    AT_60: GRAD 0.70 -> 3 x 2 = 6; PROF 0.20 -> 3; I11 0.90 -> 3; IMP 0 -> 3: 15 / 25 = 60% -> NA
      (exactly on the cut); history 2017 and 2019 but not 2018: no run of three -> stays NA.
    NO_PRIOR: no 2019 row (IMP n/a) and no proficiency (PROF n/a): GRAD 10 + I11 5 = 15 / 15 = 100%.
    """
    t = determine(points_bundle(tmp_path / "bundle"), "points-improvement-escalation", tmp_path / "out")
    expected = {
        "MEETS": (25, 25, 1.0, "MR", "MR", "method"),
        "NA_THIRD": (16, 25, 0.64, "NA", "NI", "condition NA-third-year"),
        "NA_SECOND": (16, 25, 0.64, "NA", "NA", "method"),
        "NI_THIRD": (7, 25, 0.28, "NI", "NSI", "condition NI-third-year"),
        "NA_AFTER_NI": (16, 25, 0.64, "NA", "NI", "condition NA-third-year"),
        "AT_60": (15, 25, 0.6, "NA", "NA", "method"),
        "NO_PRIOR": (15, 15, 1.0, "MR", "MR", "method"),
    }
    for d, (earned, possible, pct, base, cat, placed) in expected.items():
        r = t[d]
        assert (float(r["points_earned"]), float(r["points_possible"])) == (earned, possible), d
        assert float(r["percentage"]) == pytest.approx(pct), d
        assert (r["base"], r["category"], r["placed_by"]) == (base, cat, placed), d


def test_case_b_diff_of_runs_with_and_without_history(tmp_path):
    """`sedet diff` on runs that used history: with only MEETS's history no LEA escalates; with the
    whole history, NA_THIRD (NA -> NI), NI_THIRD (NI -> NSI) and NA_AFTER_NI (NA -> NI) are worse."""
    short = points_bundle(tmp_path / "short", history=HISTORY[:2])
    before = determine(short, "points-improvement-escalation", tmp_path / "old")
    assert {d: r["category"] for d, r in before.items() if r["placed_by"] != "method"} == {}
    determine(points_bundle(tmp_path / "history"), "points-improvement-escalation", tmp_path / "new")
    r = CliRunner().invoke(app, ["diff", str(tmp_path / "old"), str(tmp_path / "new"), "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert got["summary"]["worse"] == 3 and got["summary"]["better"] == 0
    assert sorted(c["district_id"] for c in got["changes"]) == ["NA_AFTER_NI", "NA_THIRD", "NI_THIRD"]


def test_case_b_history_is_required_by_a_profile_that_escalates(tmp_path):
    """Without history.csv the escalation could not be told from no escalation: the run stops."""
    bundle = points_bundle(tmp_path / "bundle")
    (bundle / "history.csv").unlink()
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", "points-improvement-escalation",
                                      "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code != 0
    assert "expected a table 'history'" in result.output


def test_case_b_history_names_a_category_of_the_profile(tmp_path):
    bundle = points_bundle(tmp_path / "bundle")
    write_csv(bundle / "history.csv", [{"district_id": "MEETS", "school_year": 2019, "category": "Level 3"}])
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", "points-improvement-escalation",
                                      "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code != 0
    assert "history.csv, row 2, column 'category'" in result.output
    assert "'Level 3'" in result.output


def test_case_d_reports_follow_the_profile(tmp_path):
    """The workbook of the composite: no Flags sheet (no measure with a verdict); the Determinations
    sheet shows the Overall score with 2 decimals; the Summary counts every LEA by how it was placed
    (4 by the method, 2 by the minimum-goal condition: 6 in all) and says that the one LEA with no
    score (GOAL_NOT_MET) is not in the distribution; the cut lines are on the score's scale.
    `explain` shows the score."""
    bundle = tmp_path / "bundle"
    write_csv(bundle / "compliance.csv", [
        {"school_year": 2023, "district_id": d, "component_a": a, "component_b": b,
         "met_minimum_performance_goal": goal} for d, a, b, goal in COMPOSITE])
    determine(bundle, "composite-0-4", tmp_path / "out")
    wb = openpyxl.load_workbook(tmp_path / "out" / "determinations.xlsx")
    assert "Flags" not in wb.sheetnames
    det = wb["Determinations"]
    header = [c.value for c in next(r for r in det.iter_rows() if "District ID" in [c.value for c in r])]
    assert "Overall score" in header and "Placed by" in header
    col = header.index("Overall score")
    scores = [r[col] for r in det.iter_rows() if r[col].value is not None and r[col].data_type == "n"]
    assert scores and all(c.number_format == "0.00" for c in scores)
    summary = {r[0].value: r[1].value for r in wb["Summary"].iter_rows() if r[0].value is not None}
    assert summary["By the method"] == 4
    assert summary["By condition minimum-goal"] == 2
    assert summary["Every LEA"] == 6
    assert "Not in this chart: 1 LEA(s) with no Overall score" in " ".join(map(str, summary))
    assert "Meets Requirements: Overall score > 3 (on a scale of 0-4)" in summary
    # tenths of the 0-4 scale: LOW 0.7; AT_TWO 2.0 and ABOVE_TWO 2.1; MISSING_B 3.5; HIGH_NO_GOAL 3.84
    bins = {k: v for k, v in summary.items() if isinstance(k, str) and k[:1].isdigit() and "-" in k}
    assert bins == {"0.00-0.40": 0, "0.40-0.80": 1, "0.80-1.20": 0, "1.20-1.60": 0, "1.60-2.00": 0,
                    "2.00-2.40": 2, "2.40-2.80": 0, "2.80-3.20": 0, "3.20-3.60": 1, "3.60-4.00": 1}
    result = CliRunner().invoke(app, ["explain", str(bundle), "AT_TWO", "--profile", "composite-0-4"])
    assert result.exit_code == 0, result.output
    assert "Overall score: 2.00" in result.output


@pytest.mark.parametrize(("typo", "message"), [
    ('fact = "met_minimum_performance_goal"', "reads the compliance fact 'met_minimum_goal'"),
    ('measure = "compliance_fact"', "reads measure 'compliance_facts'"),
])
def test_a_misspelt_fact_or_measure_is_refused_not_read_as_missing(tmp_path, typo, message):
    """`is_false` on a fact that is not declared would never hold (and `is_missing` always): the
    run stops and names it."""
    text = (ROOT / "configs" / "composite-0-4.toml").read_text(encoding="utf-8")
    wrong = {'fact = "met_minimum_performance_goal"': 'fact = "met_minimum_goal"',
             'measure = "compliance_fact"': 'measure = "compliance_facts"'}[typo]
    assert typo in text
    (tmp_path / "p.toml").write_text(text.replace(typo, wrong, 1), encoding="utf-8")
    bundle = tmp_path / "bundle"
    write_csv(bundle / "compliance.csv", [
        {"school_year": 2023, "district_id": "X", "component_a": "1", "component_b": "1",
         "met_minimum_performance_goal": "yes"}])
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", str(tmp_path / "p.toml"), "--out",
                                      str(tmp_path / "out"), "--quiet"])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "out").exists()


OHIO_LIKE = """
[profile]
id = "ohio-like"
title = "a category forced by a fact: a date and a status code"
state = "OH"
ffy = 2023
source = "Ohio 2023-24: an LEA that did not complete its prior monitoring cycle is automatically Needs Intervention"

[measures.compliance]
source = "facts of the test"
facts = [
  { name = "score", type = "number", min = 0, max = 100 },
  { name = "monitoring_cycle", type = "code", values = ["complete", "incomplete"] },
  { name = "plan_submitted_on", type = "date", may_be_missing = true },
]

[[factors]]
id = "S"
title = "score"
measure = "compliance_fact"
where = { category = "score" }
score = "value"
max_points = 100

[determination]
method = "cut_points"
categories = [
  { label = "Meets Requirements", short = "MR", min_percentage = 80 },
  { label = "Needs Assistance", short = "NA", min_percentage = 60 },
  { label = "Needs Intervention", short = "NI" },
]

[[determination.conditions]]
id = "cycle"
reason = "did not complete its prior monitoring cycle"
fact = "monitoring_cycle"
test = "=="
value = "Incomplete"
action = "force"
to = "NI"

[[determination.conditions]]
id = "late-plan"
reason = "corrective plan submitted after June 30, 2024, or not at all"
fact = "plan_submitted_on"
test = ">"
value = 2024-06-30
action = "escalate"
to = "NA"

[[determination.conditions]]
id = "no-plan"
reason = "no corrective plan on file"
fact = "plan_submitted_on"
test = "is_missing"
action = "flag"
"""


def test_code_and_date_facts_from_the_file(tmp_path):
    """Read from compliance.csv: codes in any case, dates in the loader's spellings.
    A: 90 -> MR; cycle complete; plan 2024-06-30 (not after) -> MR.
    B: 90 -> MR; plan 07/15/2024 (after June 30) -> escalated to NA.
    C: 90 -> MR; cycle INCOMPLETE -> forced NI; no plan -> the reason is shown, the category stays NI.
    """
    (tmp_path / "p.toml").write_text(OHIO_LIKE, encoding="utf-8")
    bundle = tmp_path / "bundle"
    write_csv(bundle / "compliance.csv", [
        {"school_year": 2024, "district_id": "A", "score": 90, "monitoring_cycle": "complete",
         "plan_submitted_on": "2024-06-30"},
        {"school_year": 2024, "district_id": "B", "score": 90, "monitoring_cycle": "Complete",
         "plan_submitted_on": "07/15/2024"},
        {"school_year": 2024, "district_id": "C", "score": 90, "monitoring_cycle": "INCOMPLETE",
         "plan_submitted_on": ""},
    ])
    t = determine(bundle, str(tmp_path / "p.toml"), tmp_path / "out")
    assert {d: r["category"] for d, r in t.items()} == {"A": "MR", "B": "NA", "C": "NI"}
    assert t["C"]["reasons"] == ("cycle: did not complete its prior monitoring cycle; "
                                 "no-plan: no corrective plan on file")
    m = pl.read_parquet(tmp_path / "out" / "measures.parquet").filter(pl.col("category") == "plan_submitted_on")
    assert sorted(m.get_column("flag").to_list(), key=str) == ["2024-06-30", "2024-07-15", None]
    bad = bundle / "compliance.csv"
    bad.write_text(bad.read_text(encoding="utf-8").replace("INCOMPLETE", "pending"), encoding="utf-8")
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", str(tmp_path / "p.toml"), "--out",
                                      str(tmp_path / "out2"), "--quiet"])
    assert result.exit_code != 0
    assert "column 'monitoring_cycle': expected one of COMPLETE, INCOMPLETE, found 'pending'" in result.output
