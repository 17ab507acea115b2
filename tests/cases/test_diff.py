"""Worked examples: comparing two determination runs (`sedet.report.diff`).

The rule (sedet/report/diff.py):
- An LEA is listed when its category differs between the runs, or when it is in one run only
  ("new", "gone"); an LEA whose category stayed is not listed, whatever its percentage did.
- "worse" / "better" follow the order of the profile's categories, best first
  (nj-ffy2022: MR, NA, NI, NSI); when the profile cannot be loaded the change is "changed".
- For the listed LEAs in both runs, every factor whose points or status differ is shown as
  "F3 2 -> 0" ("n/a" for a factor that did not apply, "none" for a factor missing from one run).
- The CSV writer puts an apostrophe before text starting with = + - @; reading it back removes it.

The run folders are written by hand (determinations.csv, factors.parquet, manifest.json), so every
expected value below is read off the rows of the test.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from rich.console import Console

from sedet.errors import UsageError
from sedet.profile import category_order
from sedet.report.diff import diff_runs, print_diff, write_diff_workbook

PROFILE = "nj-ffy2022"  # categories MR, NA, NI, NSI (configs/nj-ffy2022.toml)
LABELS = {"MR": "Meets Requirements", "NA": "Needs Assistance", "NI": "Needs Intervention",
          "NSI": "Needs Substantial Intervention"}
DET_COLUMNS = ["district_id", "district_name", "accountability_level", "points_earned", "points_possible",
               "percentage", "group_detail", "rank", "percentile", "base", "category", "category_label", "tier",
               "tier_text", "reasons", "status"]
FACTOR_SCHEMA = {
    "district_id": pl.String, "factor_order": pl.Int32, "factor": pl.String, "factor_title": pl.String,
    "group": pl.String, "measure": pl.String, "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64,
    "flags": pl.String, "points": pl.Float64, "possible": pl.Float64, "status": pl.String, "note": pl.String,
}
TITLES = {"F3": "Child Find: timely initial evaluation", "F6": "Alternate assessment participation",
          "F10": "A factor added to the profile"}
ORDER = {"F3": 0, "F6": 1, "F10": 2}


def det(district: str, category: str, percentage: float, name: str | None = None) -> dict:
    return {"district_id": district, "district_name": name or f"District {district}", "accountability_level": "1",
            "points_earned": "", "points_possible": "", "percentage": str(percentage), "group_detail": "",
            "rank": "", "percentile": "", "base": category, "category": category,
            "category_label": LABELS[category], "tier": "", "tier_text": "", "reasons": "", "status": "determined"}


def fac(district: str, factor: str, points: float | None, value: float | None = None) -> dict:
    """A factor row; points None means the factor did not apply (status 'n/a')."""
    return {"district_id": district, "factor_order": ORDER[factor], "factor": factor, "factor_title": TITLES[factor],
            "group": None, "measure": "m", "value": value, "numerator": None, "denominator": None, "flags": None,
            "points": points, "possible": 0.0 if points is None else 2.0,
            "status": "n/a" if points is None else "ok", "note": None}


def write_run(folder: Path, dets: list[dict], factors: list[dict], profile: str = PROFILE, year: int = 2012) -> Path:
    """A run folder as `sedet determine --out` writes it (the three files diff reads)."""
    folder.mkdir(parents=True)
    pl.DataFrame(dets, schema=dict.fromkeys(DET_COLUMNS, pl.String)).write_csv(folder / "determinations.csv")
    pl.DataFrame(factors, schema=FACTOR_SCHEMA).write_parquet(folder / "factors.parquet")
    manifest = {"tool": "sedet", "profile": {"id": profile, "file": f"{profile}.toml"}, "school_year": year,
                "run": {"year": year}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    """Old and new runs of five LEAs.

    00123: MR 90% -> NA 50%; F3 2 -> 0, F6 stays 1              -> worse, "F3 2 -> 0"
    00456: MR 85% -> MR 80%; F3 stays 2, F6 1 -> 0 (same category) -> not listed
    00789: NA 55% -> MR 82%; F3 stays 1, F6 n/a -> 1              -> better, "F6 n/a -> 1"
    00999: only in the old run                                    -> gone
    01000: only in the new run                                    -> new
    """
    old = write_run(tmp_path / "old", [
        det("00123", "MR", 0.9), det("00456", "MR", 0.85), det("00789", "NA", 0.55), det("00999", "MR", 0.7),
    ], [
        fac("00123", "F3", 2.0, 1.0), fac("00123", "F6", 1.0, 0.02),
        fac("00456", "F3", 2.0, 1.0), fac("00456", "F6", 1.0, 0.02),
        fac("00789", "F3", 1.0, 0.9), fac("00789", "F6", None),
        fac("00999", "F3", 2.0, 1.0),
    ], year=2011)
    new = write_run(tmp_path / "new", [
        det("00123", "NA", 0.5), det("00456", "MR", 0.8), det("00789", "MR", 0.82), det("01000", "MR", 0.95),
    ], [
        fac("00123", "F3", 0.0, 0.6), fac("00123", "F6", 1.0, 0.02),
        fac("00456", "F3", 2.0, 1.0), fac("00456", "F6", 0.0, 0.05),
        fac("00789", "F3", 1.0, 0.9), fac("00789", "F6", 1.0, 0.015),
        fac("01000", "F3", 2.0, 1.0),
    ], year=2012)
    return old, new


def change_of(result, district: str) -> dict:
    hit = result.changes.filter(pl.col("district_id") == district)
    assert hit.height == 1, f"expected one change row for {district}, got {hit.height}"
    return hit.row(0, named=True)


# ---- what is listed -------------------------------------------------------------------------------


def test_case_1_mr_to_na_with_f3_2_to_0_is_worse(runs):
    """00123: MR -> NA is one step more serious in nj-ffy2022; only F3 moved (2 -> 0), F6 stayed 1."""
    r = change_of(diff_runs(*runs, category_order), "00123")
    assert r["change"] == "worse"
    assert r["old_category_label"] == "Meets Requirements"
    assert r["new_category_label"] == "Needs Assistance"
    assert r["old_percentage"] == pytest.approx(0.9)
    assert r["new_percentage"] == pytest.approx(0.5)
    assert r["factors_moved"] == "F3 2 -> 0"
    assert r["district_name"] == "District 00123"


def test_case_2_unchanged_category_is_not_listed_even_when_a_factor_moved(runs):
    """00456 stayed MR (85% -> 80%, F6 1 -> 0): not a change of determination."""
    result = diff_runs(*runs, category_order)
    assert "00456" not in result.changes.get_column("district_id").to_list()
    assert "00456" not in result.factor_changes.get_column("district_id").to_list()


def test_case_3_na_to_mr_with_a_factor_that_now_applies_is_better(runs):
    """00789: NA -> MR; F6 did not apply before (n/a) and scores 1 now; F3 stayed 1."""
    r = change_of(diff_runs(*runs, category_order), "00789")
    assert r["change"] == "better"
    assert r["factors_moved"] == "F6 n/a -> 1"


def test_case_4_new_and_gone_leas(runs):
    """01000 is only in the new run, 00999 only in the old; neither has a factor comparison."""
    result = diff_runs(*runs, category_order)
    new, gone = change_of(result, "01000"), change_of(result, "00999")
    assert (new["change"], new["old_category_label"], new["new_category_label"]) == ("new", None, "Meets Requirements")
    assert (gone["change"], gone["old_category_label"], gone["new_category_label"]) == (
        "gone", "Meets Requirements", None
    )
    assert new["factors_moved"] is None and gone["factors_moved"] is None


def test_case_5_order_of_rows_and_summary(runs):
    """Listed worse first, then better, new, gone; 3 LEAs are in both runs (00123, 00456, 00789)."""
    result = diff_runs(*runs, category_order)
    assert result.changes.get_column("district_id").to_list() == ["00123", "00789", "01000", "00999"]
    assert result.summary == {"compared": 3, "changed": 2, "worse": 1, "better": 1, "unranked": 0, "new": 1, "gone": 1}
    assert result.warnings == []
    assert result.ranked


def test_case_6_factor_changes_long_table(runs):
    """One row per moved factor of a listed LEA: 00123 F3 and 00789 F6 (00456's F6 is not: not listed)."""
    fc = diff_runs(*runs, category_order).factor_changes
    assert fc.select("district_id", "factor", "old_points", "new_points", "old_value", "new_value",
                     "old_status", "new_status").rows() == [
        ("00123", "F3", 2.0, 0.0, 1.0, 0.6, "ok", "ok"),
        ("00789", "F6", None, 1.0, None, 0.015, "n/a", "ok"),
    ]
    assert fc.get_column("factor_title").to_list() == [TITLES["F3"], TITLES["F6"]]


def test_case_7_several_factors_in_profile_order_and_a_factor_in_one_run_only(tmp_path):
    """F3 2 -> 0, F6 0.5 -> n/a and F10 (only in the new profile) none -> 2, in factor order."""
    old = write_run(tmp_path / "old", [det("A", "MR", 0.9)], [fac("A", "F3", 2.0), fac("A", "F6", 0.5)])
    new = write_run(tmp_path / "new", [det("A", "NI", 0.4)],
                    [fac("A", "F10", 2.0), fac("A", "F6", None), fac("A", "F3", 0.0)])
    r = change_of(diff_runs(old, new, category_order), "A")
    assert r["change"] == "worse"  # MR (0) -> NI (2)
    assert r["factors_moved"] == "F3 2 -> 0; F6 0.5 -> n/a; F10 none -> 2"


def test_case_8_a_change_with_no_factor_moving(tmp_path):
    """Percentile method: an LEA can drop because others rose; nothing of its own moved."""
    old = write_run(tmp_path / "old", [det("A", "MR", 0.7)], [fac("A", "F3", 1.0)])
    new = write_run(tmp_path / "new", [det("A", "NA", 0.7)], [fac("A", "F3", 1.0)])
    r = change_of(diff_runs(old, new, category_order), "A")
    assert r["change"] == "worse"
    assert r["factors_moved"] is None


def test_case_9_identical_runs_have_no_changes(runs):
    old, _ = runs
    result = diff_runs(old, old, category_order)
    assert result.changes.height == 0 and result.factor_changes.height == 0
    assert result.summary == {"compared": 4, "changed": 0, "worse": 0, "better": 0, "unranked": 0, "new": 0, "gone": 0}


# ---- reading the files back -----------------------------------------------------------------------


def test_case_10_ids_keep_zeros_and_formula_apostrophe_is_removed(tmp_path):
    """The writer wrote '=Cmd SD as "'=Cmd SD" (formula safety): read back as "=Cmd SD".
    "'Twas SD" has an apostrophe before a letter: not the writer's, kept as it is."""
    old = write_run(tmp_path / "old",
                    [det("00007", "MR", 0.9, name="'=Cmd SD"), det("00008", "MR", 0.9, name="'Twas SD")], [])
    new = write_run(tmp_path / "new",
                    [det("00007", "NA", 0.5, name="'=Cmd SD"), det("00008", "NA", 0.5, name="'Twas SD")], [])
    result = diff_runs(old, new, category_order)
    assert result.changes.select("district_id", "district_name").rows() == [("00007", "=Cmd SD"), ("00008", "'Twas SD")]


def test_case_11_unknown_profile_gives_changed_and_a_warning(tmp_path):
    """The category order comes from the profile; without it MR -> NA is only "changed"."""
    old = write_run(tmp_path / "old", [det("A", "MR", 0.9)], [], profile="no-such-profile")
    new = write_run(tmp_path / "new", [det("A", "NA", 0.5)], [], profile="no-such-profile")
    result = diff_runs(old, new, category_order)
    assert change_of(result, "A")["change"] == "changed"
    assert result.summary["changed"] == 1 and result.summary["unranked"] == 1
    assert not result.ranked
    assert any("no-such-profile" in w for w in result.warnings)


def test_case_12_different_profiles_are_allowed_with_a_warning(tmp_path):
    """osep-rda and nj-ffy2022 both order MR, NA, NI, NSI: MR -> NA is still "worse"."""
    old = write_run(tmp_path / "old", [det("A", "MR", 0.9)], [], profile="osep-rda")
    new = write_run(tmp_path / "new", [det("A", "NA", 0.5)], [], profile=PROFILE)
    result = diff_runs(old, new, category_order)
    assert change_of(result, "A")["change"] == "worse"
    assert any("different profiles" in w and "osep-rda" in w and PROFILE in w for w in result.warnings)


# ---- errors ---------------------------------------------------------------------------------------


def test_case_13_missing_folder_is_a_clear_error(runs, tmp_path):
    old, _ = runs
    missing = tmp_path / "nowhere"
    with pytest.raises(UsageError) as e:
        diff_runs(old, missing, category_order)
    assert str(missing) in e.value.message and "no such folder" in e.value.message


def test_case_14_run_without_determinations_is_not_a_sedet_run(runs, tmp_path):
    """A run of a profile without [determination] writes measures but no determinations.csv."""
    _, new = runs
    measures_only = tmp_path / "measures_only"
    measures_only.mkdir()
    pl.DataFrame({"district_id": ["A"], "measure": ["m"], "value": [1.0]}).write_parquet(
        measures_only / "measures.parquet"
    )
    (measures_only / "manifest.json").write_text(json.dumps({"profile": {"id": "ny-ffy2011"}}), encoding="utf-8")
    with pytest.raises(UsageError) as e:
        diff_runs(measures_only, new, category_order)
    assert str(measures_only / "determinations.csv") in e.value.message
    assert "not a sedet determination run" in e.value.message


def test_case_15_a_file_instead_of_a_folder(runs, tmp_path):
    _, new = runs
    f = tmp_path / "run.xlsx"
    f.write_bytes(b"not a folder")
    with pytest.raises(UsageError, match="not a folder"):
        diff_runs(f, new, category_order)


# ---- showing it -----------------------------------------------------------------------------------


def test_case_16_printed_table_and_summary(runs):
    console = Console(width=200, record=True, color_system=None)
    print_diff(console, diff_runs(*runs, category_order))
    text = console.export_text()
    lines = text.splitlines()
    row = next(line for line in lines if "00123" in line)
    assert "Meets Requirements (90.0%)" in row and "Needs Assistance (50.0%)" in row
    assert "worse" in row and "F3 2 -> 0" in row
    assert not any("00456" in line for line in lines)
    assert "3 LEAs compared: 2 changed category (1 worse, 1 better); 1 new, 1 gone" in text
    assert max(len(line.rstrip()) for line in lines) <= 200


def test_case_17_json_is_plain_data(runs):
    data = json.loads(json.dumps(diff_runs(*runs, category_order).as_dict()))
    assert data["summary"]["worse"] == 1
    assert data["changes"][0]["district_id"] == "00123"
    assert data["changes"][0]["factors_moved"] == "F3 2 -> 0"
    assert (data["old"]["school_year"], data["new"]["school_year"]) == (2011, 2012)


def test_case_18_workbook_sheets_format_and_same_bytes(runs, tmp_path):
    old, new = runs
    # A formula-looking name must be stored as text, not run as a formula.
    (new / "determinations.csv").write_text(
        (new / "determinations.csv").read_text(encoding="utf-8").replace("District 00123", "'=HYPERLINK(1)"),
        encoding="utf-8")
    result = diff_runs(old, new, category_order)
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_diff_workbook(result, a)
    write_diff_workbook(result, b)
    assert a.read_bytes() == b.read_bytes()

    wb = openpyxl.load_workbook(a)
    assert wb.sheetnames == ["Changes", "Factor changes", "Summary"]
    ws = wb["Changes"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:I5"  # header + 4 listed LEAs
    assert [c.value for c in ws[1]] == ["District ID", "District", "Old determination", "New determination",
                                        "Old percentage", "New percentage", "Change", "Factors that moved", "Why"]
    first = [c for c in ws[2]]
    assert first[0].value == "00123"
    assert first[1].value == "=HYPERLINK(1)" and first[1].data_type == "s"
    assert first[4].value == pytest.approx(0.9) and first[4].number_format == "0.0%"
    assert first[7].value == "F3 2 -> 0"
    assert wb["Factor changes"].freeze_panes == "A2"
    assert wb["Factor changes"].max_row == 3  # header + 00123 F3 + 00789 F6
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Worse"] == 1 and summary["New (in the new run only)"] == 1
    assert summary["LEAs compared (in both runs)"] == 3


# ---- end to end on the sample bundle --------------------------------------------------------------


SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def test_case_19_sample_data_last_two_years(tmp_path):
    """Two real runs, of the sample's last two years (whichever they are); the listed LEAs are exactly
    those whose category differs in the two CSVs (read with the csv module, not with diff's code), and
    each worse/better follows MR < NA < NI < NSI."""
    from typer.testing import CliRunner

    from sedet.cli import app

    runner = CliRunner()
    with (SAMPLE / "compliance.csv").open(encoding="utf-8", newline="") as f:
        years = sorted({int(r["school_year"]) for r in csv.DictReader(f)})
    before, after = years[-2:]
    for year, name in ((before, "old"), (after, "new")):
        res = runner.invoke(app, ["determine", str(SAMPLE), "-p", PROFILE, "--year", str(year),
                                  "-o", str(tmp_path / name), "-q"])
        assert res.exit_code == 0, res.output

    def categories(folder: Path) -> dict[str, str]:
        with open(folder / "determinations.csv", encoding="utf-8", newline="") as f:
            return {r["district_id"]: r["category"] for r in csv.DictReader(f)}

    old, new = categories(tmp_path / "old"), categories(tmp_path / "new")
    differ = {d for d in old.keys() & new.keys() if old[d] != new[d]}
    assert differ, "the sample years should differ for some LEA, or this test checks nothing"
    result = diff_runs(tmp_path / "old", tmp_path / "new", category_order)
    listed = result.changes.filter(pl.col("change").is_in(["worse", "better", "changed"]))
    assert set(listed.get_column("district_id").to_list()) == differ
    assert result.summary["compared"] == len(old.keys() & new.keys())
    assert result.summary["new"] == len(new.keys() - old.keys())
    assert result.summary["gone"] == len(old.keys() - new.keys())
    rank = {s: i for i, s in enumerate(["MR", "NA", "NI", "NSI"])}
    for r in listed.iter_rows(named=True):
        expected = "worse" if rank[new[r["district_id"]]] > rank[old[r["district_id"]]] else "better"
        assert r["change"] == expected, r
    assert result.warnings == []


def test_a_change_no_factor_explains_is_put_down_to_the_other_leas(tmp_path):
    """00123 keeps every factor and its 40% percentage, yet goes from NA to MR: in a percentile method
    its rank among the others moved (5th of 10 LEAs, percentile 4.0 -> 4th of 10, percentile 6.0,
    because an LEA above it fell below it). The diff says so, with rank and percentile before and
    after, in text, JSON and the workbook. 00456 changes category with a factor that moved."""
    def ranked(d: dict, rank: str, percentile: str) -> dict:
        return {**d, "rank": rank, "percentile": percentile}

    old = write_run(tmp_path / "old", [ranked(det("00123", "NA", 0.4), "5", "4.0"),
                                       ranked(det("00456", "MR", 0.9), "1", "90.0")],
                    [fac("00123", "F3", 1.0, 0.9), fac("00456", "F3", 2.0, 1.0)])
    new = write_run(tmp_path / "new", [ranked(det("00123", "MR", 0.4), "4", "6.0"),
                                       ranked(det("00456", "NA", 0.2), "9", "2.0")],
                    [fac("00123", "F3", 1.0, 0.9), fac("00456", "F3", 0.0, 0.5)])
    result = diff_runs(old, new, category_order)
    moved = change_of(result, "00123")
    assert (moved["change"], moved["factors_moved"]) == ("better", None)
    assert (moved["old_rank"], moved["new_rank"], moved["old_percentile"], moved["new_percentile"]) == (5, 4, 4.0, 6.0)
    assert moved["why"].startswith("no factor of this LEA changed: it moved because other LEAs moved")
    assert change_of(result, "00456")["why"] == "its factors moved"
    data = json.loads(result.to_json())
    row = next(c for c in data["changes"] if c["district_id"] == "00123")
    assert (row["old_rank"], row["new_percentile"]) == (5, 6.0) and "other LEAs moved" in row["why"]
    console = Console(width=250, record=True)
    print_diff(console, result)
    text = console.export_text()
    # the old and new columns wrap at 40 characters
    assert "Needs Assistance (40.0%, rank 5," in text and "Meets Requirements (40.0%, rank 4," in text
    assert "percentile 4)" in text and "percentile 6)" in text
    assert "moved because other LEAs moved" in text
    write_diff_workbook(result, tmp_path / "c.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "c.xlsx")["Changes"]
    header = [c.value for c in ws[1]]
    assert {"Old rank", "New rank", "Old percentile", "New percentile", "Why"} <= set(header)
