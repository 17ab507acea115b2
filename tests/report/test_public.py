"""Public release (`--public`), student identifiers, and byte-identical output (issue 6, items 3 and 6).

The public bundle (conftest.public_tables), transition rows of youth aged 16 (min_n = 10, token "*"):

    LEA   youth  complete  T2 points   rule
    001     5       5       2 (100%)   primary: a group of 5 < 10 is withheld (numerator, denominator, value)
    002    12      11       1 (91.7%)  complementary: see below
    003    20      20       2 (100%)   complementary since issue 17: see below
    004     0       -       n/a        shown (no youth: no_data, nothing to protect)
    state  37      36                  indicator_13: counts withheld since issue 17, value 36/37 shown

Without a second cell, 001 is recovered from the statewide total: 37 - 12 - 20 - 0 = 5 youth, and
36 - 11 - 20 = 5 complete. Family (b) of suppress.py (the LEA rows and the statewide row) has exactly
one withheld member, so one more is withheld: the shown LEA with the smallest group of at least one
student, 002 (12 < 20).

Issue 17: 001 is at 100% and its points (2, rate >= 95%) are published. With 001 and 002 withheld,
the state's 36 of 37 still say that one IEP is incomplete statewide; 002's 1 point says its rate is
under 95%, so that IEP is 002's and 001 (like every other LEA) is at 100%. Rule 3d of suppress.py:
the withheld groups hold 5 + 12 = 17 < 40 students (twice the 20 a rate just under 100% needs to reach
95%), so 003 (20) is withheld too (17 + 20 = 37, no other LEA with youth); no withheld LEA can give 001
an incomplete IEP (002 must keep its one: its points), so the statewide row's counts are withheld as
well; its value 36/37 stays (a rate of 37 youth, neither 0% nor 100%). The per-component rows
(transition_component) are the same groups and follow the same rules. The suppressed column says
"withheld" for all of them: "primary" would tell a reader which group is under 10.
Timeline: 15-18 children per LEA, all on time: nothing is small, nothing is withheld.
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from pathlib import Path

import polars as pl
import pytest

from .conftest import SMALL_STUDENT_IDS, load, rows_by, run_determine, zip_members

TOKEN = "*"


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _transition_rows(rows: list[dict], measure: str = "transition") -> dict[str, dict]:
    return {r["district_id"]: r for r in rows if r["measure"] == measure and r["district_id"]}


def test_small_group_shows_the_token_in_measures_csv(public_run):
    rows = _read_csv(public_run / "measures.csv")
    t = _transition_rows(rows)
    assert (t["001"]["numerator"], t["001"]["denominator"], t["001"]["value"]) == (TOKEN, TOKEN, TOKEN)
    assert t["001"]["suppressed"] == "withheld"
    for r in rows:
        if r["measure"] == "transition_component" and r["district_id"] == "001":
            assert (r["numerator"], r["denominator"], r["value"]) == (TOKEN, TOKEN, TOKEN), r["category"]
    # no note text in a public file (notes quote counts)
    assert all(r["note"] == "" for r in rows)


def test_small_group_shows_the_token_in_parquet(public_run):
    m = pl.read_parquet(public_run / "measures.parquet")
    for c in ("numerator", "denominator", "value"):
        assert m.schema[c] == pl.String, c
    r = m.filter((pl.col("district_id") == "001") & (pl.col("measure") == "transition")).row(0, named=True)
    assert (r["numerator"], r["denominator"], r["value"]) == (TOKEN, TOKEN, TOKEN)
    f = pl.read_parquet(public_run / "factors.parquet")
    r = f.filter((pl.col("district_id") == "001") & (pl.col("factor") == "T2")).row(0, named=True)
    assert (r["numerator"], r["denominator"], r["value"]) == (TOKEN, TOKEN, TOKEN)
    assert r["points"] == 2  # points are not student counts: shown


def test_small_group_shows_the_token_in_the_workbooks(public_run):
    ws = load(public_run / "determinations.xlsx")["T2"]
    cols, rows = rows_by(ws, "District ID", "District ID")
    for d in ("001", "002"):
        for h in ("Value", "Numerator", "Denominator"):
            c = rows[d][cols[h]]
            assert (c.value, c.data_type) == (TOKEN, "s"), (d, h)
    assert rows["003"][cols["Denominator"]].value == TOKEN  # withheld since issue 17 (module docstring)
    t1_cols, t1_rows = rows_by(load(public_run / "determinations.xlsx")["T1"], "District ID", "District ID")
    c = t1_rows["003"][t1_cols["Denominator"]]  # 17 children on time of 17: nothing withheld
    assert (c.value, c.data_type) == (17, "n")  # shown, and a number again in the workbook
    ws = load(public_run / "districts" / "001.xlsx")["Measures"]
    cols, rows = rows_by(ws, "Measure", "Measure")
    row = next(r for title, r in rows.items() if title.startswith("Secondary transition"))
    assert (row[cols["Numerator"]].value, row[cols["Denominator"]].value, row[cols["Value"]].value) == (
        TOKEN, TOKEN, TOKEN)
    ws = load(public_run / "districts" / "001.xlsx")["Determination"]
    t2 = next(r for r in ws.iter_rows() if isinstance(r[0].value, str) and r[0].value.startswith("T2:"))
    assert t2[1].value == TOKEN


def test_complementary_suppression_withholds_a_second_lea(public_run):
    rows = _read_csv(public_run / "measures.csv")
    t = _transition_rows(rows)
    for d in ("002", "003"):  # 002: the second LEA; 003: rule 3d (module docstring)
        assert (t[d]["numerator"], t[d]["denominator"], t[d]["value"]) == (TOKEN, TOKEN, TOKEN), d
        assert t[d]["suppressed"] == "withheld" and t[d]["flag"] == TOKEN, d
    assert (t["004"]["numerator"], t["004"]["denominator"]) == ("0", "0")
    state = next(r for r in rows if r["measure"] == "indicator_13")
    # counts withheld, the rate kept: 36 / 37 = 0.972972... (module docstring)
    assert (state["numerator"], state["denominator"], state["value"]) == (TOKEN, TOKEN, str(36 / 37))
    comp = _transition_rows([r for r in rows if r["category"] == "transition_services"], "transition_component")
    assert comp["002"]["denominator"] == TOKEN and comp["002"]["suppressed"] == "withheld"
    assert comp["003"]["denominator"] == TOKEN
    # the factor table does not publish the cell the measure table withholds; the points stay
    f = pl.read_parquet(public_run / "factors.parquet")
    r = f.filter((pl.col("district_id") == "002") & (pl.col("factor") == "T2")).row(0, named=True)
    assert (r["numerator"], r["denominator"], r["value"], r["flags"]) == (TOKEN, TOKEN, TOKEN, TOKEN)
    assert r["points"] == 1
    # nothing of the timeline (groups of 15-18, nobody late) is withheld
    timeline = [r for r in rows if r["measure"] == "timeline" and r["district_id"]]
    assert sorted(r["denominator"] for r in timeline) == ["15", "16", "17", "18"]


def test_public_manifest_says_what_was_applied(public_run):
    doc = json.loads((public_run / "manifest.json").read_text(encoding="utf-8"))
    pr = doc["public_release"]
    assert pr["applied"] is True
    assert pr["parameters"]["min_n"] == 10 and pr["parameters"]["token"] == TOKEN
    # 001, 002, 003: transition + 3 components each (12 rows); the statewide indicator_13 and its 3
    # components (4 rows): 16 rows withheld, none coded (coding is off)
    assert pr["measures"]["rows_by_reason"]["withheld"] == 16
    assert pr["measures"]["rows_by_reason"]["coded"] == 0
    # the disclosure audit ran (scipy is a test dependency) and found nothing to recover
    audit = pr["disclosure_audit"]
    assert audit["passed"] is True and audit["recoverable"] == 0 and audit["rates_revealed_0_or_100"] == 0
    assert audit["solver"].startswith("scipy ") and audit["cells_checked"] > 0


# ---------------------------------------------------------------------------------------------------
# Student identifiers never appear in any output


def _all_bytes(out: Path):
    """Every file's bytes; an xlsx's members uncompressed; a parquet file's cells as text."""
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        yield str(path.relative_to(out)), data
        if path.suffix == ".xlsx":
            for name, member in zip_members(path).items():
                yield f"{path.name}:{name}", member
        if path.suffix == ".parquet":
            df = pl.read_parquet(path)
            buf = io.StringIO()
            df.with_columns(pl.all().cast(pl.String)).write_csv(buf)
            yield f"{path.name} (cells)", buf.getvalue().encode()


@pytest.mark.parametrize("which", ["small_run", "public_run"])
def test_student_ids_never_appear_in_any_output(request, which, public_bundle):
    out = request.getfixturevalue(which)
    ids = SMALL_STUDENT_IDS if which == "small_run" else public_bundle[1]
    assert len(ids) > 10
    seen = 0
    for name, data in _all_bytes(out):
        seen += 1
        for sid in ids:
            assert sid.encode() not in data, f"{sid} in {name}"
    assert seen > 10  # the outputs, the xlsx members and the parquet cells were all looked at


def test_the_grep_would_find_an_id():
    """The search above is not vacuous: an id written into a deflated zip member is found once uncompressed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", "<t>PUBTR001000</t>" * 50)
    assert b"PUBTR001000" not in buf.getvalue()
    with zipfile.ZipFile(buf) as z:
        assert b"PUBTR001000" in z.read("xl/sharedStrings.xml")


# ---------------------------------------------------------------------------------------------------
# Same input, same bytes


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_two_runs_write_identical_bytes(tmp_path, tiny_profile, public_bundle):
    bundle, _ = public_bundle
    modes = {"per_district": ("--per-district",), "public": ("--per-district", "--public")}
    first = {k: _files(run_determine(bundle, tiny_profile, tmp_path / f"{k}1", *f)) for k, f in modes.items()}
    again = {k: _files(run_determine(bundle, tiny_profile, tmp_path / f"{k}2", *f)) for k, f in modes.items()}
    time.sleep(2.2)  # zip entry times have a 2-second resolution
    later = {k: _files(run_determine(bundle, tiny_profile, tmp_path / "later" / k, *f)) for k, f in modes.items()}
    for k in modes:
        names = sorted(first[k])
        assert "determinations.xlsx" in names and "districts/001.xlsx" in names and "manifest.json" in names
        for other in (again[k], later[k]):
            assert sorted(other) == names, k
            different = [n for n in names if first[k][n] != other[n]]
            assert not different, (k, different)
    assert first["public"]["measures.csv"] != first["per_district"]["measures.csv"]
