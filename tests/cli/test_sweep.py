"""`sedet sweep`: scenarios of a profile's parameters. The small bundle's counts are chosen so that
every scenario's result can be worked out by hand (34 CFR 300.647 risk ratio: the group's risk over
the risk of the other groups of the LEA):

- LEA A: BL7 30 of 100 with IEPs (0.30), WH7 100 of 1000 (0.10): ratio 3.0, identified at a threshold
  of 3.0 (>=), not at 3.25.
- LEA B: BL7 10 of 25 (0.40), WH7 100 of 1000 (0.10): ratio 4.0, identified while the minimum n is 20
  and out of the calculation at 30 (25 students < 30).
- LEA C: BL7 20 of 200, WH7 50 of 500: ratio 1.0, never identified.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from clirunner import invoke  # tests/clirunner.py

ROOT = Path(__file__).resolve().parents[2]
PROFILE = """
[profile]
id = "sweep-case"
title = "identification only"
state = "US"
ffy = 2022
source = "tests/cli/test_sweep.py"
display_decimals = 2
run_type = "provisional"

[measures.disproportionality]
source = "34 CFR 300.647(b)"
categories = ["identification"]
min_n = 20
min_cell = 5
threshold = 3.0
threshold_op = ">="
consecutive_years = 1
reasonable_progress = false
reasonable_progress_margin = 0.0
ages = { identification = [3, 21], placement = [6, 21], discipline = [3, 21] }
more_than_days = 10.0
"""


def cli(*args, code: int | None = 0):
    return invoke(*args, code=code)


@pytest.fixture()
def case(tmp_path) -> tuple[Path, Path]:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    rows = [("A", "BL7", True, 30), ("A", "BL7", False, 70), ("A", "WH7", True, 100), ("A", "WH7", False, 900),
            ("B", "BL7", True, 10), ("B", "BL7", False, 15), ("B", "WH7", True, 100), ("B", "WH7", False, 900),
            ("C", "BL7", True, 20), ("C", "BL7", False, 180), ("C", "WH7", True, 50), ("C", "WH7", False, 450)]
    lines = ["school_year,district_id,race_ethnicity,iep,count"]
    lines += [f"2023,{d},{r},{str(i).lower()},{n}" for d, r, i, n in rows]
    (bundle / "enrollment.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    profile = tmp_path / "sweep-case.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    return bundle, profile


def test_hand_worked_scenarios(case, tmp_path):
    bundle, profile = case
    out = tmp_path / "out"
    r = cli("sweep", bundle, "--profile", profile, "--vary", "measures.disproportionality.threshold=3.0,3.25",
            "--vary", "measures.disproportionality.min_n=20:30:10", "--out", out, "--json")
    doc = json.loads(r.stdout)
    got = {(s["values"]["measures.disproportionality.threshold"], s["values"]["measures.disproportionality.min_n"]):
           (s["identified"]["disproportionality identification"], s["as_written"]) for s in doc["scenarios"]}
    assert got == {(3.0, 20): (2, True), (3.0, 30): (1, False), (3.25, 20): (1, False), (3.25, 30): (0, False)}
    changes = pl.read_csv(out / "changes.csv")
    # against the profile as written (3.0, 20): at 3.25 A is no longer identified, at n 30 B drops out
    by = {(row["scenario"], row["district_id"]): row["found_no_longer"] for row in changes.iter_rows(named=True)}
    assert by == {(2, "B"): "disproportionality identification BL7", (3, "A"): "disproportionality identification BL7",
                  (4, "A"): "disproportionality identification BL7", (4, "B"): "disproportionality identification BL7"}
    book = openpyxl.load_workbook(out / "sweep.xlsx")
    assert book.sheetnames == ["Scenarios", "Changes", "Charts", "Heat map"]
    assert len(book["Charts"]._charts) == 2  # one per varied parameter
    heat = [[c.value for c in row] for row in book["Heat map"].iter_rows(min_row=4, max_row=6)]
    assert heat == [["threshold \\ min_n", "20", "30"], [3.0, 2, 1], [3.25, 1, 0]]


def test_the_row_as_written_equals_a_plain_determine(tmp_path):
    """nj-ffy2022 on sample_data: the scenario with the profile's own values counts what determine writes."""
    sample = ROOT / "sample_data"
    out, det = tmp_path / "sweep", tmp_path / "det"
    r = cli("sweep", sample, "--profile", "nj-ffy2022", "--vary", "measures.disproportionality.threshold=2.5,3.0",
            "--out", out, "--json")
    cli("determine", sample, "--profile", "nj-ffy2022", "--out", det, "-q")
    written = next(s for s in json.loads(r.stdout)["scenarios"] if s["as_written"])
    assert written["values"] == {"measures.disproportionality.threshold": 3.0}
    dets = pl.read_csv(det / "determinations.csv", infer_schema_length=0)
    assert written["categories"] == {label: dets.filter(pl.col("category_label") == label).height
                                     for label in written["categories"]}
    m = pl.read_csv(det / "measures.csv", infer_schema_length=0).filter(
        (pl.col("measure") == "disproportionality") & (pl.col("flag") == "identified")
        & (pl.col("school_year") == "2023"))
    for category in m.get_column("category").unique().to_list():
        leas = m.filter(pl.col("category") == category).get_column("district_id").n_unique()
        assert written["identified"][f"disproportionality {category}"] == leas
    assert written["changed"] == []


@pytest.mark.parametrize("vary,said", [
    ("measures.disproportionality.treshold=2:3:0.5", "not a parameter"),
    ("measures.disproportionality.min_n=-5,10", "scenario 1"),
    ("measures.disproportionality.threshold=4:2:0.5", "FROM:TO:STEP"),
    ("measures.disproportionality.threshold", "KEY=VALUES"),
    ("profile.ffy=2020,2021", "does not change what is computed"),
    ("measures.disproportionality.reasonable_progress=true", "a number or a list"),
    ("measures.disproportionality.threshold=1.2.3:4:1", "a range FROM:TO:STEP of numbers"),
    ("measures.disproportionality.threshold=NaN,3", "not a finite number"),
    ("measures.disproportionality.threshold=0:1000:0.01", "at most 10,000"),
])
def test_bad_vary_is_refused_before_any_work(case, tmp_path, vary, said):
    bundle, profile = case
    (bundle / "enrollment.csv").write_text("not,a,bundle\n", encoding="utf-8")  # never read
    r = cli("sweep", bundle, "--profile", profile, "--vary", vary, "--out", tmp_path / "o", code=2)
    assert said in r.output
    assert not (tmp_path / "o").exists()


def test_same_sweep_same_bytes(case, tmp_path):
    bundle, profile = case
    for name in ("one", "two"):
        cli("sweep", bundle, "--profile", profile, "--vary", "measures.disproportionality.threshold=2.5:3.5:0.25",
            "--out", tmp_path / name, "-q")
    for f in ("sweep.xlsx", "sweep.csv", "changes.csv", "sweep.json", "manifest.json"):
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f
