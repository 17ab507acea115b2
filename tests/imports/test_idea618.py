"""`sedet import idea618`: the public Section 618 child count files into a bundle. Expected values come
from the published 2016 file itself (its own totals, read with the csv module here) and from small files
written by hand."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from clirunner import invoke  # tests/clirunner.py

from sedet.imports.idea618 import RACES, read_file

DATA = Path(__file__).resolve().parents[1] / "data" / "idea618"
PROFILE = "idea618-placement"

RACE_HEADERS = ["American Indian or Alaska Native Age 6 to21", "Asian Age 6 to21",
                "Black or African American Age 6 to21", "Hispanic/Latino Age 6 to21",
                "Native Hawaiian or Other Pacific Islander Age 6 to21", "Two or more races Age 6 to21",
                "White Age 6 to21"]
HEADER = ["Year", "State Name", "SEA Education Environment", "SEA Disability Category", "Age 6", "Ages 6-21",
          *RACE_HEADERS]


cli = invoke


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """The U.S. Department of Education's 2016 state-level file, as published (kept gzipped)."""
    path = tmp_path_factory.mktemp("idea618") / "bchildcountandedenvironments2016.csv"
    with gzip.open(DATA / "bchildcountandedenvironments2016.csv.gz", "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def _row(state: str, env: str, races: list, disability: str = "All Disabilities") -> list:
    total = sum(r for r in races if isinstance(r, int)) if all(isinstance(r, int) for r in races) else "x"
    return ["2019", state, env, disability, "-", total, *races]


def write(path: Path, rows: list[list], preamble: int = 2) -> Path:
    """A hand-made file: `preamble` lines, the header, the rows, the legend."""
    lines = [["Extraction Date:", "7/1/2020"], ["Updated:", ""], ["Revised:", ""], ["Note:", "x"]][:preamble]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        legend = [[" -  Data not available"], ["x Data suppressed due to small cell size"]]
        w.writerows([*lines, HEADER, *rows, [], *legend])
    return path


def state_rows(state: str, rc80: list[int], rc39: list[int], ss: list[int]) -> list[list]:
    total = [a + b + c for a, b, c in zip(rc80, rc39, ss, strict=True)]
    return [
        _row(state, "Inside regular class 80% or more of the day", rc80),
        _row(state, "Inside regular class less than 40% of the day", rc39),
        _row(state, "Separate School, Age 6-21", ss),
        _row(state, "Inside regular class 80% or more of the day", [1, 1, 1, 1, 1, 1, 1], "Autism"),  # not imported
        _row(state, "Total, Age 6-21", total),
    ]


# ---------------------------------------------------------------------------------------------------
# the published 2016 file


def test_the_published_file_adds_up_to_its_own_totals(published):
    """Per state, the imported counts add up to the file's 'Total, Age 6-21' / 'All Disabilities' /
    'Ages 6-21' cell, read here with the csv module (Alabama: 79,196)."""
    d = read_file(published)
    assert d.problems == [] and d.school_year == 2017  # fall 2016: school year 2016-17
    with open(published, encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[3]
    total_at = header.index("Ages 6-21")
    file_totals = {r[1]: r[total_at] for r in rows[4:]
                   if len(r) > 3 and r[2] == "Total, Age 6-21" and r[3] == "All Disabilities"}
    assert file_totals["Alabama"] == "79196"
    imported = d.rows.group_by("district_id").agg(pl.col("count").sum())
    got = dict(imported.iter_rows())
    assert got["AL"] == 79196
    for code, name in d.states.items():
        assert got[code] == int(file_totals[name]), name
    # never counted twice: the national row, the totals and the per-disability rows are not imported
    assert d.rows.get_column("count").sum() == sum(int(file_totals[n]) for n in d.states.values())


def test_the_published_file_leaves_out_what_it_cannot_import_exactly(published):
    d = read_file(published)
    left = {e["state"]: e["cells"] for e in d.left_out}
    # Illinois: its 'less than 40%' row has race columns summing to 3,440 against 3,444 (line 4533)
    assert {"line": 4533, "column": "ages 6-21", "found": 3444, "why": "does not add up: its parts sum to 3440"} \
        in left["Illinois"]
    assert any(c["found"] == "*" for c in left["Wisconsin"])  # flagged for data quality
    assert any(c["found"] == "x" for c in left["Guam"])  # suppressed
    assert "IL" not in d.states and "AL" in d.states
    assert len(d.states) + len(left) == 60  # every state, territory and entity of the file, once


def test_import_then_determine_runs_placement_across_states(published, tmp_path):
    """Alabama, Black children: 2,455 of 29,727 inside a regular class less than 40% of the day, the
    other races 5,673 - 2,455 = 3,218 of 79,196 - 29,727 = 49,469: risk ratio
    (2455/29727)/(3218/49469) = 1.2695."""
    cli("import", "idea618", published, "--out", tmp_path / "b", "-q", code=0)
    cli("determine", tmp_path / "b", "--profile", PROFILE, "--out", tmp_path / "r", "-q", code=0)
    m = pl.read_parquet(tmp_path / "r" / "measures.parquet")
    al = m.filter((pl.col("district_id") == "AL") & (pl.col("measure") == "risk_ratio")
                  & (pl.col("category") == "placement.RC39LT") & (pl.col("race_ethnicity") == "BL7")).row(0, named=True)
    assert (al["numerator"], al["denominator"]) == (2455, 29727)
    assert (al["comparison_numerator"], al["comparison_denominator"]) == (3218, 49469)
    assert al["value"] == pytest.approx((2455 / 29727) / (3218 / 49469))


# ---------------------------------------------------------------------------------------------------
# hand-made files


def test_a_hand_made_file_gives_the_counts_written(tmp_path):
    f = write(tmp_path / "cc.csv", state_rows("Alabama", [10, 0, 40, 5, 0, 2, 50], [1, 0, 9, 0, 0, 0, 5],
                                              [0, 0, 3, 0, 0, 0, 2]), preamble=4)
    d = read_file(f)
    assert d.problems == [] and d.left_out == []
    got = {(r["environment"], r["race_ethnicity"]): r["count"] for r in d.rows.iter_rows(named=True)}
    assert got[("RC80", "BL7")] == 40 and got[("RC39LT", "BL7")] == 9 and got[("SS", "WH7")] == 2
    assert ("RC80", "AS7") not in got  # a count of 0 is no row
    assert d.rows.get_column("count").sum() == 107 + 15 + 5
    assert set(d.rows.get_column("iep")) == {True} and d.rows.get_column("disability").null_count() == d.rows.height


def test_a_state_whose_counts_do_not_add_up_is_left_out(tmp_path):
    rows = state_rows("Alabama", [10, 0, 40, 5, 0, 2, 50], [1, 0, 9, 0, 0, 0, 5], [0, 0, 3, 0, 0, 0, 2])
    rows[-1][6 + 2] += 1  # the total row says 53 Black children where the environments hold 52
    rows[-1][5] += 1
    rows += state_rows("Alaska", [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0])
    d = read_file(write(tmp_path / "cc.csv", rows))
    assert [e["state"] for e in d.left_out] == ["Alabama"]
    assert set(d.states) == {"AK"}


def test_a_suppressed_cell_leaves_its_state_out(tmp_path):
    rows = state_rows("Alaska", [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0])
    rows[1][6 + 5] = "x"
    rows[1][5] = "x"
    d = read_file(write(tmp_path / "cc.csv", rows))
    assert d.left_out[0]["state"] == "Alaska"
    assert {"line": 5, "column": "two or more races age 6 to 21", "found": "x", "why": "suppressed"} \
        in d.left_out[0]["cells"]
    assert d.states == {}


def test_malformed_records_are_located(tmp_path):
    rows = state_rows("Alaska", [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0])
    rows[0] = rows[0][:-2]  # a record cut short
    rows[1][6] = "five"  # not a count
    rows[2][2] = "Inside the moon"  # an environment the file does not have
    rows[3][7] = "-3"  # a negative count
    f = write(tmp_path / "cc.csv", rows)
    r = cli("import", "idea618", f, "--out", tmp_path / "b", code=1)
    assert "cc.csv, row 4: expected 13 fields, as in the header, found 11 fields" in r.output
    assert not (tmp_path / "b").exists()
    rows[0] = state_rows("Alaska", [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0])[0]
    d = read_file(write(tmp_path / "cc.csv", rows))
    found = {(p.row, p.column, p.found) for p in d.problems}
    assert (6, "environment", "'inside the moon'") in found
    assert (5, "american indian or alaska native age 6 to 21", "'five'") in found
    assert (7, "asian age 6 to 21", "'-3'") in found


def test_a_quote_left_open_is_located(tmp_path):
    """A quote that never closes runs into the lines after it until the field is longer than the csv
    module takes: a problem naming the line the record starts on, not an internal error."""
    rows = state_rows("Alaska", [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0])
    f = write(tmp_path / "cc.csv", rows)
    lines = f.read_text(encoding="utf-8").splitlines()  # 11 lines: 2 of preamble, header, 5 rows, 3 of legend
    lines.append('2019,"Alaska,Total')  # line 12: its quote never closes
    f.write_text("\n".join(lines + ["x" * 1000] * 200) + "\n", encoding="utf-8")
    r = cli("import", "idea618", f, "--out", tmp_path / "b", code=1)
    assert "cc.csv, row 12" in r.output and "quoted fields close on its line" in r.output
    assert not (tmp_path / "b").exists()


def test_a_file_of_another_layout_is_refused_with_what_was_expected(tmp_path):
    f = tmp_path / "other.csv"
    f.write_text("Year,State,Count\n2019,Alabama,5\n", encoding="utf-8")
    r = cli("import", "idea618", f, "--out", tmp_path / "b", code=1)
    assert "a header line starting 'Year,State Name'" in r.output
    g = tmp_path / "cols.csv"
    g.write_text("Year,State Name,SEA Education Environment,SEA Disability Category,Ages 6-21\n", encoding="utf-8")
    d = read_file(g)
    assert {p.column for p in d.problems} == {f"{n} age 6 to 21" for n in RACES}
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    assert [p.found for p in read_file(header_only).problems] == ["none (the header only)"]


def test_import_then_determine_equals_a_hand_built_bundle(tmp_path):
    """The same counts written by hand as an enrollment table give the same measure rows."""
    rc80, rc39, ss = [30, 2, 200, 40, 1, 10, 400], [3, 0, 60, 4, 0, 1, 20], [1, 0, 15, 1, 0, 0, 8]
    f = write(tmp_path / "cc.csv", state_rows("Alabama", rc80, rc39, ss) + state_rows("Alaska", ss, rc39, rc80))
    cli("import", "idea618", f, "--out", tmp_path / "imported", "-q", code=0)
    hand = tmp_path / "hand"
    hand.mkdir()
    lines = ["school_year,district_id,race_ethnicity,iep,environment,count"]
    codes = list(RACES.values())
    for state, envs in (("AL", (rc80, rc39, ss)), ("AK", (ss, rc39, rc80))):
        for env, counts in zip(("RC80", "RC39LT", "SS"), envs, strict=True):
            lines += [f"2020,{state},{codes[k]},true,{env},{n}" for k, n in enumerate(counts) if n]
    (hand / "enrollment.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (hand / "districts.csv").write_text("district_id,district_name\nAK,Alaska\nAL,Alabama\n", encoding="utf-8")
    for b in ("imported", "hand"):
        cli("determine", tmp_path / b, "--profile", PROFILE, "--out", tmp_path / f"r-{b}", "-q", code=0)
    a = pl.read_parquet(tmp_path / "r-imported" / "measures.parquet")
    b = pl.read_parquet(tmp_path / "r-hand" / "measures.parquet")
    assert a.height > 0 and a.equals(b)


def test_the_import_writes_all_or_nothing_and_the_same_bytes(tmp_path):
    f = write(tmp_path / "cc.csv", state_rows("Alaska", [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1],
                                              [0, 0, 0, 0, 0, 0, 0]))
    cli("import", "idea618", f, "--out", tmp_path / "b", "-q", code=0)
    first = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    cli("import", "idea618", f, "--out", tmp_path / "b", "-q", code=0)  # into its own earlier output
    assert {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()} == first
    manifest = json.loads(first["manifest.json"])
    assert manifest["sources"][0]["children_imported"] == 35 + 7
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine", encoding="utf-8")
    cli("import", "idea618", f, "--out", tmp_path / "other", code=3)  # a folder sedet did not write
    assert (tmp_path / "other" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_two_files_of_one_year_are_refused(tmp_path):
    rows = state_rows("Alaska", [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0])
    a, b = write(tmp_path / "a.csv", rows), write(tmp_path / "b.csv", rows)
    r = cli("import", "idea618", a, b, "--out", tmp_path / "out", code=1)
    assert "one file per school year" in r.output


def test_several_years_at_once(tmp_path):
    """Two files, fall 2018 and fall 2019: one bundle with school years 2019 and 2020; a state left out
    of one year stays in the other."""
    ok = state_rows("Alaska", [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0])
    withheld = [list(r) for r in ok]
    withheld[1][6 + 5], withheld[1][5] = "x", "x"
    alabama = state_rows("Alabama", [2, 2, 2, 2, 2, 2, 2], [1, 0, 1, 0, 1, 0, 1], [0, 0, 0, 0, 0, 0, 0])
    older = write(tmp_path / "a.csv", [["2018", *r[1:]] for r in withheld + alabama])
    newer = write(tmp_path / "b.csv", ok)
    cli("import", "idea618", older, newer, "--out", tmp_path / "b", "-q", code=0)
    enrollment = pl.read_csv(tmp_path / "b" / "enrollment.csv")
    per_year = dict(enrollment.group_by("school_year").agg(pl.col("district_id").unique().sort()).iter_rows())
    assert {y: list(ds) for y, ds in per_year.items()} == {2019: ["AL"], 2020: ["AK"]}
    assert enrollment.filter(pl.col("school_year") == 2019).get_column("count").sum() == 14 + 4
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert [(e["state"], e["school_year"]) for e in manifest["left_out"]] == [("Alaska", 2019)]
    assert [s["school_year"] for s in manifest["sources"]] == [2019, 2020]


def test_a_compressed_file_or_a_workbook_is_named_as_such(tmp_path):
    r = cli("import", "idea618", DATA / "bchildcountandedenvironments2016.csv.gz", "--out", tmp_path / "b", code=2)
    assert "gzip-compressed: decompress it first" in r.output
    book = tmp_path / "cc.xlsx"
    book.write_bytes(b"PK\x03\x04" + bytes(40))
    r = cli("import", "idea618", book, "--out", tmp_path / "b", code=2)
    assert "a zip file or a workbook" in r.output and not (tmp_path / "b").exists()
