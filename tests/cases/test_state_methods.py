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
from pathlib import Path

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
