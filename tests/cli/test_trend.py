"""The years before: determinations.csv's prior year, `sedet trend`, and what the district workbook and the
letter show. An earlier year is placed by the profile on that year's rows, so it must equal a plain run of
that year; an official category in `history` is shown instead, with its source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from clirunner import invoke  # tests/clirunner.py

from sedet.pipeline import run
from sedet.profile import load_profile
from sedet.report.letters import letter_data
from sedet.words import lea_factor_words, lea_trends

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"  # school years 2021-2023
PROFILE = "nj-ffy2022"


def cli(*args, code: int | None = 0):
    return invoke(*args, code=code)


def dets(folder: Path) -> pl.DataFrame:
    return pl.read_csv(folder / "determinations.csv", infer_schema_length=0)


@pytest.fixture(scope="module")
def years(tmp_path_factory) -> dict[int, pl.DataFrame]:
    """determinations.csv of plain runs of 2022 and 2023."""
    base = tmp_path_factory.mktemp("years")
    out = {}
    for y in (2022, 2023):
        cli("determine", SAMPLE, "--profile", PROFILE, "--year", y, "--out", base / str(y), "-q")
        out[y] = dets(base / str(y))
    return out


def test_prior_year_is_the_plain_run_of_that_year(years):
    """The prior year as a plain run of 2022 places it, except where that run applies an override:
    overrides are this year's case-by-case decisions (sample_data overrides one LEA), not last year's."""
    now, before = years[2023], years[2022]
    both = now.join(before.select("district_id", "category", "percentage", "placed_by"), on="district_id",
                    suffix="_then")
    assert both.height == now.height == 30
    assert (both.get_column("prior_percentage") == both.get_column("percentage_then")).all()
    by_method = both.filter(pl.col("placed_by_then") != "override")
    assert by_method.height == 29
    assert (by_method.get_column("prior_category") == by_method.get_column("category_then")).all()
    assert set(now.get_column("prior_source")) == {"computed"}
    assert set(before.get_column("prior_source")) == {"computed"}  # 2022 has 2021 before it


def test_history_gives_the_official_prior_year(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(SAMPLE, bundle)
    ids = sorted(pl.read_csv(SAMPLE / "districts.csv", infer_schema_length=0).get_column("district_id"))[:2]
    (bundle / "history.csv").write_text(
        "school_year,district_id,category,percentage\n"
        f"2022,{ids[0]},NA,0.5\n"  # the short name
        f"2022,{ids[1]},Needs Intervention,\n",  # the label, no percentage
        encoding="utf-8")
    cli("determine", bundle, "--profile", PROFILE, "--out", tmp_path / "out", "-q")
    d = dets(tmp_path / "out")
    rows = {r["district_id"]: r for r in d.iter_rows(named=True)}
    assert (rows[ids[0]]["prior_category"], rows[ids[0]]["prior_category_label"], rows[ids[0]]["prior_percentage"],
            rows[ids[0]]["prior_source"]) == ("NA", "Needs Assistance", "0.5", "history")
    assert (rows[ids[1]]["prior_category"], rows[ids[1]]["prior_percentage"], rows[ids[1]]["prior_source"]) == (
        "NI", None, "history")
    others = d.filter(~pl.col("district_id").is_in(ids))
    assert set(others.get_column("prior_source")) == {"computed"}


def test_trend_command_shows_each_year_as_placed_then(tmp_path, years):
    district = years[2023].get_column("district_id")[0]
    r = cli("trend", SAMPLE, district, "--profile", PROFILE, "--json")
    doc = json.loads(r.stdout)
    assert doc["years"] == [2021, 2022, 2023]
    for y in (2022, 2023):
        row = years[y].filter(pl.col("district_id") == district).row(0, named=True)
        assert doc["categories"][doc["years"].index(y)] == row["category_label"]
    f3 = next(f for f in doc["factors"] if f["id"] == "F3")
    assert len(f3["values"]) == 3 and f3["possible"] == 2.0
    text = cli("trend", SAMPLE, district, "--profile", PROFILE).stdout
    assert "2020-21" in text and "2022-23" in text and "F3:" in text


def test_trend_refuses_what_it_cannot_show(tmp_path):
    cli("trend", SAMPLE, "99999", "--profile", PROFILE, code=2)
    cli("trend", SAMPLE, "02880", "--profile", "idea618-placement", code=2)
    cli("trend", SAMPLE, "02880", "--profile", PROFILE, "--year", 2021, code=2)  # nothing before 2021


def test_workbook_and_letter_show_the_years(tmp_path):
    out = tmp_path / "out"
    cli("determine", SAMPLE, "--profile", PROFILE, "--out", out, "-q", "--per-district")
    d = dets(out)
    district = d.get_column("district_id")[0]
    book = openpyxl.load_workbook(out / "districts" / f"{district}.xlsx")
    assert "Over the years" in book.sheetnames
    ws = book["Over the years"]
    assert [c.value for c in ws[2]][1:] == ["2020-21", "2021-22", "2022-23"]
    assert len(ws._charts) == 1
    first = [str(c.value) for c in book["Determination"]["A"] if c.value]
    assert "Last year" in first
    result = run(SAMPLE, load_profile(PROFILE), past=4)
    trend = lea_trends(result)[district]
    row = result.determinations.table.filter(pl.col("district_id") == district).row(0, named=True)
    data = letter_data(result, row, lea_factor_words(result)[district], trend)
    assert data["trend"]["years"] == ["2020-21", "2021-22", "2022-23"]
    f3 = next(f for f in data["trend"]["factors"] if f["title"].startswith("F3"))
    r3 = next(r for r in trend.factors if r.id == "F3")
    assert f3["spark"] == [p / 2.0 if p is not None else None for p in r3.points]  # points over 2 possible
    assert lea_trends(result, with_values=False)[district].factors == []  # a public release: categories only
