"""`sedet explain` starts with the answer (issue 18, item 4): the district, year and profile; the
category, points, rank and percentile; one line per factor with its value, points and why; then the
measure rows behind them, all or those of a factor (--factor) or measure (--measure).

The worked case is a hand-made bundle for `az-cut-points` (configs/az-cut-points.toml): five compliance
facts per LEA, each a factor worth 2 points; I11 and I13: 2 points at 0.95 or more, 1 at 0.75 or more,
else 0; COR the same, not applicable when empty; DT and DA: 2 points for yes, else 0. Categories by
the percentage of points possible: MR 80 or more, NA 50 or more, NI 20 or more, else NSI.

  0042 Alder: I11 0.80 -> 1; I13 0.96 -> 2; COR empty -> n/a (its 2 points leave the possible);
              DT yes -> 2; DA no -> 0.  5 of 8 = 62.5% -> NA
  0043 Birch: every rate 1.0, yes, yes -> 10 of 10 = 100% -> MR, overridden to NI
  0044 Cedar: 0.5, 0.5, 0.5, no, no -> 0 of 10 = 0% -> NSI
  Ranks by percentage: Birch 1, Alder 2, Cedar 3; percentile (strictly lower): the share of the 3 LEAs
  with a lower percentage: Alder 1/3 = 33.3, Birch 2/3 = 66.7.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sedet import cli as cli_module
from sedet.pipeline import run
from sedet.profile import load_profile
from sedet.words import lea_factor_words

from .conftest import GOOD_ROW, csv_text

PROFILE = "az-cut-points"
COMPLIANCE = csv_text(
    "school_year,district_id,timely_evaluation_rate,transition_rate,correction_rate,data_timely,data_accurate",
    "2023,0042,0.80,0.96,,yes,no",
    "2023,0043,1.0,1.0,1.0,yes,yes",
    "2023,0044,0.5,0.5,0.5,no,no",
)
DISTRICTS = csv_text("district_id,district_name", "0042,Alder", "0043,Birch", "0044,Cedar")
OVERRIDES = csv_text("district_id,category,reason", "0043,Needs Intervention,monitoring visit found uncorrected "
                     "noncompliance")
FACTORS = ["I11", "I13", "COR", "DT", "DA"]
# Alder's factors, counted by hand from the points tables (module docstring): id -> (value, points)
ALDER = {"I11": ("0.8", "1 of 2"), "I13": ("0.96", "2 of 2"), "COR": ("-", "not applicable"),
         "DT": ("yes", "2 of 2"), "DA": ("no", "0 of 2")}


@pytest.fixture
def bundle(cli) -> Path:
    return cli.bundle(compliance_csv=COMPLIANCE, districts_csv=DISTRICTS, overrides_csv=OVERRIDES)


def explain(cli, bundle: Path, district: str, *extra: str, code: int = 0):
    return cli("explain", bundle, district, "--profile", PROFILE, *extra, code=code)


def explain_json(cli, bundle: Path, district: str, *extra: str) -> dict:
    return json.loads(explain(cli, bundle, district, "--json", *extra).stdout)


def details(text: str) -> str:
    """The part after the answer."""
    assert "\nDetails: " in text
    return text.split("\nDetails: ", 1)[1]


# ---------------------------------------------------------------------------------------------------
# the answer first


def test_the_first_lines_give_the_category_points_and_rank(cli, bundle):
    lines = explain(cli, bundle, "0042").stdout.splitlines()
    assert lines[0] == "District 0042 (Alder), school year 2022-23"
    assert lines[1].startswith(f"Profile {PROFILE}: LEA determinations by four cut-point categories")
    head = "\n".join(lines[:8])
    assert "Determination: Needs Assistance" in head
    assert "Points: 5 of 8 possible = 62.5%" in head  # 1 + 2 + 2 + 0 of 4 x 2 (COR n/a)
    assert "Rank 2 of 3 LEAs with a percentage; percentile 33.3" in head


def test_an_override_shows_the_computed_category_and_why(cli, bundle):
    text = explain(cli, bundle, "0043", "--summary").stdout
    assert "Determination: Needs Intervention" in text
    assert "computed by the cut points method: Meets Requirements; placed by override" in text
    assert "monitoring visit found uncorrected noncompliance" in text
    assert "Points: 10 of 10 possible = 100.0%" in text
    assert "percentile 66.7" in text


def test_summary_prints_the_answer_only(cli, bundle):
    text = explain(cli, bundle, "0042", "--summary").stdout
    assert "Determination: Needs Assistance" in text
    assert "Details" not in text and "compliance_fact" not in text


def factor_cells(text: str) -> dict[str, tuple[str, str, str, str]]:
    """The factor table of the answer: per factor id, its first line and the value, points and why
    columns read down the lines of its row (a row's lines run until the next id at the margin)."""
    lines = text.splitlines()
    top = next(k for k, line in enumerate(lines) if line.startswith("factor "))
    header = lines[top]
    value_end, points_at, why_at = header.index("value") + len("value"), header.index("points"), header.index("why")
    rows: dict[str, list[str]] = {}
    for line in lines[top + 2:]:
        if not line.strip():
            break
        if not line.startswith(" "):
            rows[line.split()[0]] = []
        rows[list(rows)[-1]].append(line)
    return {fid: (block[0], block[0][:value_end].split()[-1],
                  " ".join(w for b in block for w in b[points_at:why_at].split()),
                  " ".join(w for b in block for w in b[why_at:].split())) for fid, block in rows.items()}


@pytest.mark.parametrize("width", [80, 100])
def test_every_factor_line_has_its_value_points_and_why(cli, bundle, monkeypatch, width):
    monkeypatch.setattr(cli_module.out, "_width", width)
    text = explain(cli, bundle, "0042", "--summary").stdout
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, f"lines wider than {width}: {too_long}"
    cells = factor_cells(text)
    assert list(cells) == FACTORS
    # the why is the words every report uses (sedet/words.py); value and points as counted by hand
    words = {w.id: w for w in lea_factor_words(run(bundle, load_profile(PROFILE)))["0042"]}
    for fid, (value, points) in ALDER.items():
        _, shown_value, shown_points, why = cells[fid]
        assert (shown_value, shown_points) == (value, points), fid
        assert why == " ".join(words[fid].reason.split()), fid
    # 0.80: short of 0.95, within the 0.75 band that gives 1 point
    assert cells["I11"][3] == "misses the target (0.95 or more); 0.75 or more earns 1"
    assert cells["COR"][3].startswith("not applicable")


# ---------------------------------------------------------------------------------------------------
# the details: --factor and --measure


def test_details_show_every_measure_row_by_default(cli, bundle):
    rows = explain_json(cli, bundle, "0042")["measures"]
    # one compliance_fact row per fact the profile declares (5), correction_rate among them though empty
    assert sorted(r["category"] for r in rows) == sorted(
        ["timely_evaluation_rate", "transition_rate", "correction_rate", "data_timely", "data_accurate"])
    assert {r["measure"] for r in rows} == {"compliance_fact"}


@pytest.mark.parametrize(("options", "facts"), [
    (["--factor", "I11"], ["timely_evaluation_rate"]),  # I11 reads compliance_fact where category = that fact
    (["--factor", "i11", "--factor", "DT"], ["data_timely", "timely_evaluation_rate"]),  # case does not matter
    (["--factor", "COR"], ["correction_rate"]),  # a factor that does not apply still shows its row
    (["--measure", "compliance_fact"],
     ["correction_rate", "data_accurate", "data_timely", "timely_evaluation_rate", "transition_rate"]),
    (["--factor", "DA", "--measure", "compliance_fact"],  # together: the rows of either
     ["correction_rate", "data_accurate", "data_timely", "timely_evaluation_rate", "transition_rate"]),
])
def test_factor_and_measure_choose_the_rows(cli, bundle, options, facts):
    rows = explain_json(cli, bundle, "0042", *options)["measures"]
    assert sorted(r["category"] for r in rows) == facts
    assert {r["district_id"] for r in rows} == {"0042"}


def test_factor_chooses_the_rows_in_the_text_too(cli, bundle):
    text = explain(cli, bundle, "0042", "--factor", "I11").stdout
    shown = details(text)
    assert shown.startswith("the measure rows behind the values (rows factor I11 reads: compliance_fact "
                            "(category timely_evaluation_rate), 2023)")
    assert "timely_evaluation_rate" in shown and "0.8" in shown
    for other in ("transition_rate", "correction_rate", "data_timely", "data_accurate"):
        assert other not in shown
    # the answer is whole: every factor is still in it
    assert list(factor_cells(text)) == FACTORS


def test_an_unknown_factor_is_a_usage_error_listing_the_factors(cli, bundle):
    result = explain(cli, bundle, "0042", "--factor", "F4", code=2)
    assert "error: unknown factor 'F4' in profile az-cut-points" in result.stderr
    assert "I11, I13, COR, DT, DA" in result.stderr
    assert result.stdout == ""


def test_an_unknown_measure_is_a_usage_error_listing_the_measures(cli, bundle):
    result = explain(cli, bundle, "0042", "--measure", "risk_ratio", code=2)
    assert "error: unknown measure 'risk_ratio' in profile az-cut-points" in result.stderr
    assert "compliance_fact" in result.stderr


def test_an_unknown_district_is_a_usage_error(cli, bundle):
    result = explain(cli, bundle, "0045", code=2)
    assert "district '0045' has no measure rows" in result.stderr
    assert "0042" in result.stderr


# ---------------------------------------------------------------------------------------------------
# --json


def test_json_carries_the_answer(cli, bundle):
    data = explain_json(cli, bundle, "0042", "--summary")
    assert data["district"] == {"id": "0042", "name": "Alder"}
    assert data["school_year"] == 2023
    assert data["profile"]["id"] == PROFILE
    det = data["determination"]
    assert {"category", "category_label", "computed_category", "placed_by", "reasons", "score", "points_earned",
            "points_possible", "percentage", "rank", "ranked_of", "percentile", "tier", "tier_text"} <= set(det)
    assert (det["category"], det["category_label"], det["computed_category"]) == ("NA", "Needs Assistance", "NA")
    assert (det["points_earned"], det["points_possible"], det["percentage"]) == (5, 8, 0.625)
    assert (det["rank"], det["ranked_of"]) == (2, 3)
    assert det["percentile"] == pytest.approx(100 / 3)
    assert det["placed_by"] == "method" and det["reasons"] == [] and det["score"] is None
    factors = {f["id"]: f for f in data["factors"]}
    assert list(factors) == FACTORS
    i11 = factors["I11"]
    assert {"id", "title", "value", "value_text", "state_text", "target", "points", "possible", "points_text",
            "status", "reason", "measure"} <= set(i11)
    assert (i11["value"], i11["value_text"], i11["points"], i11["possible"], i11["points_text"]) == (
        0.8, "0.8", 1, 2, "1 of 2")
    assert i11["status"] == "ok" and i11["measure"] == "compliance_fact"
    # the state's figure: the mean of the three LEAs' rates, (0.80 + 1.0 + 0.5) / 3 = 0.7667
    assert i11["state_text"] == "0.77"
    assert (factors["COR"]["points"], factors["COR"]["points_text"]) == (None, "not applicable")
    assert data["measures"] == []  # --summary


def test_json_of_an_override(cli, bundle):
    det = explain_json(cli, bundle, "0043")["determination"]
    assert (det["category"], det["computed_category"], det["placed_by"]) == ("NI", "MR", "override")
    assert det["reasons"] == ["override: monitoring visit found uncorrected noncompliance"]


# ---------------------------------------------------------------------------------------------------
# a profile without determinations


def test_a_profile_without_determinations_says_so_then_the_details(cli):
    b = cli.assessments(GOOD_ROW)
    text = cli("explain", b, "00123", "--profile", "ny-ffy2011", code=0).stdout
    answer, rest = text.split("\nDetails: ", 1)
    assert "This profile assigns no categories" in answer
    assert "participation" in rest
    data = json.loads(cli("explain", b, "00123", "--profile", "ny-ffy2011", "--json", code=0).stdout)
    assert data["determination"] is None and data["factors"] == []
    assert data["measures"] and {r["district_id"] for r in data["measures"]} == {"00123"}


def test_factor_with_a_profile_without_factors_is_a_usage_error(cli):
    b = cli.assessments(GOOD_ROW)
    result = cli("explain", b, "00123", "--profile", "ny-ffy2011", "--factor", "F1", code=2)
    assert "profile ny-ffy2011 has no factors" in result.stderr
    assert "--measure participation" in result.stderr
