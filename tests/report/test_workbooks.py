"""Cell-level checks of the workbooks `sedet determine` writes (issue 6, items 1, 2, 4 and 6).

The small run (conftest.EXPECTED) is worked by hand; every expected cell is beside its arithmetic there.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re

import pytest
from openpyxl.utils import get_column_letter

from sedet import __version__

from .conftest import (
    EXPECTED,
    NAMES,
    OVERRIDE_REASON,
    STATE_T1,
    STATE_T2,
    TIER_TEXT,
    all_cells,
    label_rows,
    load,
    rel_target,
    rels_of,
    resolve,
    rows_by,
    run_determine,
    sheet_part,
    table,
    write_bundle,
    zip_members,
)

FORMULA_START = ("=", "+", "-", "@")


# ---------------------------------------------------------------------------------------------------
# The statewide workbook


def test_statewide_sheets_in_order(small_run):
    # The tiny profile computes the timeline and transition measures only: none has a verdict for the
    # Flags sheet, so the workbook has none (a sheet headed "identified disproportionality" would
    # name what the profile never computed).
    wb = load(small_run / "determinations.xlsx")
    assert wb.sheetnames == ["Summary", "Determinations", "T1", "T2", "Method"]


def test_determinations_sheet_frozen_filtered_and_ranked(small_run):
    ws = load(small_run / "determinations.xlsx")["Determinations"]
    h, cols, rows = table(ws, "Rank")
    assert ws.freeze_panes == f"A{h + 1}"  # the header row stays in view
    last = get_column_letter(len(cols))
    assert ws.auto_filter.ref == f"A{h}:{last}{h + len(EXPECTED)}"  # the filter covers header and 4 LEAs
    got = {r[cols["District ID"]].value: r for r in rows}
    assert set(got) == set(EXPECTED)
    ranks = [r[cols["Rank"]].value for r in rows]
    assert ranks == sorted(ranks), "ranked: best first"
    for d, (rank, earned, possible, pct, percentile, label, tier) in EXPECTED.items():
        r = got[d]
        assert r[cols["Rank"]].value == rank, d
        assert r[cols["District"]].value == NAMES[d], d
        assert r[cols["Points earned"]].value == earned, d
        assert r[cols["Points possible"]].value == possible, d
        assert r[cols["Percentage"]].value == pytest.approx(pct), d
        assert r[cols["Percentile"]].value == pytest.approx(percentile), d
        assert r[cols["Determination"]].value == label, d
        assert r[cols["Tier"]].value == tier, d
    assert OVERRIDE_REASON in got["004"][cols["Conditions and overrides"]].value


def test_determinations_sheet_formats_and_fills(small_run):
    ws = load(small_run / "determinations.xlsx")["Determinations"]
    _, cols, rows = table(ws, "Rank")
    got = {r[cols["District ID"]].value: r for r in rows}
    for d in EXPECTED:
        fmt = got[d][cols["Percentage"]].number_format
        assert "%" in fmt and fmt.startswith("0"), (d, fmt)  # a percent format, e.g. 0.0%
    fills = {}
    for d, (*_, label, _tier) in EXPECTED.items():
        c = got[d][cols["Determination"]]
        assert c.fill.fill_type == "solid", d
        fills.setdefault(label, set()).add(c.fill.fgColor.rgb)
    assert all(len(v) == 1 for v in fills.values()), fills  # one colour per category
    assert fills["Meets"] != fills["Needs Support"] != fills["Needs Improvement"] != fills["Meets"]
    # widths that fit: the district-name column is wider than the rank column
    assert ws.column_dimensions["C"].width > ws.column_dimensions["A"].width


def test_factor_sheet_values_and_na_reason(small_run):
    wb = load(small_run / "determinations.xlsx")
    ws = wb["T1"]
    h, cols, rows = table(ws, "District ID")
    assert ws.freeze_panes == f"A{h + 1}"
    assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith(f"A{h}:")
    t1 = {r[cols["District ID"]].value: r for r in rows}
    # 002: 3 of 4 on time = 75% -> 1 point of 2
    r = t1["002"]
    assert (r[cols["Numerator"]].value, r[cols["Denominator"]].value) == (3, 4)
    assert r[cols["Value"]].value == pytest.approx(0.75)
    assert "%" in r[cols["Value"]].number_format
    assert (r[cols["Points"]].value, r[cols["Possible"]].value) == (1, 2)
    assert r[cols["District"]].value == NAMES["002"]
    # 004 has no youth aged 16+: T2 does not apply, and the sheet says why.
    cols2, t2 = rows_by(wb["T2"], "District ID", "District ID")
    r = t2["004"]
    assert r[cols2["Status"]].value == "n/a"
    note = r[cols2["How it was computed, or why n/a"]].value
    assert note and "n/a" in note and "no_data" in note
    assert r[cols2["Value"]].value is None and r[cols2["Points"]].value is None
    # 003: 1 of 2 complete = 50% -> 0 points of 2
    r = t2["003"]
    assert (r[cols2["Numerator"]].value, r[cols2["Denominator"]].value, r[cols2["Value"]].value) == (1, 2, 0.5)
    assert (r[cols2["Points"]].value, r[cols2["Possible"]].value, r[cols2["Status"]].value) == (0, 2, "ok")


def test_method_sheet_parameters_fingerprints_version_run_type(small_run, small_bundle, tiny_profile):
    ws = load(small_run / "determinations.xlsx")["Method"]
    cols, rows = rows_by(ws, "Parameter", "Parameter")
    value, source = cols["Value"], cols["Source"]
    assert rows["measures.timeline.timeline_days"][value].value == "60"
    assert rows["measures.timeline.timeline_days"][source].value == "Tinystate: the federal 60-day timeline"
    assert rows["measures.timeline.state_exceptions"][source].value == "Tinystate lists no state exception"
    assert rows["run.sedet_version"][value].value == __version__
    assert rows["run.type"][value].value == "preliminary"
    files = sorted(p.name for p in small_bundle.iterdir())
    assert files == ["districts.csv", "evaluations.csv", "overrides.csv", "transition.csv"]
    for name in files:
        sha = hashlib.sha256((small_bundle / name).read_bytes()).hexdigest()
        assert rows[f"input.{name}"][value].value == sha, name
    profile_sha = hashlib.sha256(tiny_profile.read_bytes()).hexdigest()
    assert profile_sha in rows["run.profile_file"][source].value


def test_summary_counts_per_category(small_run):
    ws = load(small_run / "determinations.xlsx")["Summary"]
    rows = label_rows(ws)
    # Meets 1 (001), Needs Support 2 (002, and 004 by override), Needs Improvement 1 (003)
    assert rows["Meets"][1].value == 1
    assert rows["Needs Support"][1].value == 2
    assert rows["Needs Improvement"][1].value == 1
    assert (rows["Meets"][2].value, rows["Needs Support"][2].value, rows["Needs Improvement"][2].value) == (
        "Tier 1", "Tier 2", "Tier 3")
    # the run type is on the sheet, and the cut lines
    assert any("run type: preliminary" in k for k in rows)
    assert "Meets: percentage >= 80%" in rows
    assert "Needs Support: percentage >= 50%" in rows
    # distribution of percentages: 003 0% -> 0-10%; 002 75% -> 70-80%; 001 and 004 100% -> 90-100%
    bins = {k: r[1].value for k, r in rows.items() if re.fullmatch(r"\d+-\d+%", k)}
    assert len(bins) == 10 and sum(bins.values()) == 4
    assert (bins["0-10%"], bins["70-80%"], bins["90-100%"]) == (1, 1, 2)


def test_summary_sheet_has_a_chart(small_run):
    members = zip_members(small_run / "determinations.xlsx")
    assert "xl/charts/chart1.xml" in members
    part = sheet_part(members, "Summary")
    sheet_xml = members[part].decode()
    m = re.search(r'<drawing\b[^>]*\br:id="([^"]+)"', sheet_xml)
    assert m, "the Summary sheet references no drawing"
    drawing = resolve(part, rel_target(members[rels_of(part)].decode(), m.group(1)))
    assert drawing in members
    drawing_rels = members[rels_of(drawing)].decode()
    charts = {resolve(drawing, t) for t in re.findall(r'Target="([^"]+)"', drawing_rels)}
    assert "xl/charts/chart1.xml" in charts
    assert b"barChart" in members["xl/charts/chart1.xml"]


# ---------------------------------------------------------------------------------------------------
# Flags (NJ profile, one LEA above the 1% alternate-assessment cap)

NJ_TABLES = {
    "enrollment.csv": "school_year,district_id,race_ethnicity,iep,age,count\n"
                      "2012,00123,WH7,true,10,40\n2012,00123,WH7,false,10,200\n"
                      "2012,00456,WH7,true,10,40\n2012,00456,WH7,false,10,200\n",
    "discipline.csv": "school_year,district_id,race_ethnicity,iep,days_removed\n",
    # 00123: 5 of 100 tested in ELA grade 4 took the alternate assessment = 5% > 1% cap; 00456: 0 of 100.
    "assessments.csv": "school_year,district_id,subject,grade,iep,assessment,participated,performance_level,count\n"
                       "2012,00123,ELA,4,true,REG,true,3,95\n2012,00123,ELA,4,true,ALT,true,3,5\n"
                       "2012,00456,ELA,4,true,REG,true,3,100\n",
    "transition.csv": "school_year,district_id,student_id,age,postsecondary_goals,transition_services,annual_goals,"
                      "student_invited,agency_invited\n"
                      "2012,00123,T1,16,true,true,true,true,true\n2012,00456,T2,16,true,true,true,true,true\n",
    "compliance.csv": "school_year,district_id,findings,findings_corrected_on_time,data_timely,data_accurate,"
                      "data_accuracy_rate,grant_on_time,grant_revisions,significant_noncompliance,"
                      "policies_contributed,inappropriate_identification\n"
                      "2012,00123,2,2,true,true,0.98,true,0,false,false,false\n"
                      "2012,00456,2,2,true,true,0.98,true,0,false,false,false\n",
    "evaluations.csv": "school_year,district_id,student_id,consent_date,determination_date,exception\n"
                       "2012,00123,S1,2011-09-01,2011-10-15,\n2012,00456,S2,2011-09-01,2011-10-15,\n",
}


@pytest.fixture(scope="module")
def nj_flags_run(tmp_path_factory):
    bundle = tmp_path_factory.mktemp("nj") / "bundle"
    bundle.mkdir()
    for name, text in NJ_TABLES.items():
        (bundle / name).write_text(text, encoding="utf-8")
    return run_determine(bundle, "nj-ffy2022", tmp_path_factory.mktemp("nj_out") / "out")


def _alternate_flag_rows(run):
    ws = load(run / "determinations.xlsx")["Flags"]
    _, cols, rows = table(ws, "District ID")
    return ws, cols, [r for r in rows if r[cols["Measure"]].value == "alternate_rate"]


def test_flags_sheet_lists_the_lea_above_the_cap(nj_flags_run):
    ws, cols, rows = _alternate_flag_rows(nj_flags_run)
    h = next(r[0].row for r in ws.iter_rows(min_col=1, max_col=1) if r[0].value == "District ID")
    assert ws.freeze_panes == f"A{h + 1}"
    assert rows, "no alternate_rate row on the Flags sheet"
    assert {r[cols["District ID"]].value for r in rows} == {"00123"}  # 00456 (0%) is within the cap
    for r in rows:
        assert r[cols["Verdict"]].value == "above_cap"
        assert (r[cols["Numerator"]].value, r[cols["Denominator"]].value) == (5, 100)
        assert r[cols["Value"]].value == pytest.approx(0.05)


def test_flags_sheet_shows_a_rate_as_a_percent(nj_flags_run):
    """0.05 is a rate (5%): with the sheet's "0.0" format it reads "0.1"; the factor sheet F6 shows 5.0%."""
    _, cols, rows = _alternate_flag_rows(nj_flags_run)
    for r in rows:
        assert "%" in r[cols["Value"]].number_format, r[cols["Value"]].number_format


# ---------------------------------------------------------------------------------------------------
# Per-district workbooks


def test_one_workbook_per_lea_named_by_district_id(small_run):
    files = sorted(p.name for p in (small_run / "districts").iterdir())
    assert files == ["001.xlsx", "002.xlsx", "003.xlsx", "004.xlsx"]  # leading zeros kept
    assert load(small_run / "districts" / "001.xlsx").sheetnames == ["Determination", "Measures"]


@pytest.mark.parametrize("district", sorted(EXPECTED))
def test_district_workbook_category_tier_and_factors(small_run, district):
    """Page 1 reads like the letter: words with their units (tests/report/test_print.py has more)."""
    _rank, earned, possible, pct, _percentile, label, tier = EXPECTED[district]
    wb = load(small_run / "districts" / f"{district}.xlsx")
    ws = wb["Determination"]
    rows = label_rows(ws)
    assert rows["Determination"][1].value == label
    assert rows["Determination"][1].fill.fill_type == "solid"
    assert rows["Support tier"][1].value == tier
    assert rows["What the tier means"][1].value == TIER_TEXT[tier]
    assert rows["Points"][1].value == f"{earned} of {possible} points possible"
    assert rows["Determination percentage"][1].value == f"{pct:.1%}"
    head = next(r for r in ws.iter_rows() if r[0].value == "Factor")
    cols = {c.value: c.column - 1 for c in head if c.value}
    assert list(cols) == ["Factor", "District", "State", "Target", "Points", "Why"]
    factors = {r[0].value.split(":")[0]: r for r in ws.iter_rows(min_row=head[0].row + 1) if r[0].value}
    assert set(factors) == {"T1", "T2"}
    assert factors["T1"][cols["State"]].value == f"{STATE_T1:.1%}"  # 7/9 = 77.8%
    assert factors["T2"][cols["State"]].value == f"{STATE_T2:.1%}"  # 5/6 = 83.3%
    lea_t1 = {"001": 1.0, "002": 0.75, "003": 0.5, "004": 1.0}[district]
    assert factors["T1"][cols["District"]].value == f"{lea_t1:.1%}"
    if district == "004":
        assert factors["T2"][cols["Points"]].value == "not applicable"
        assert "no data reported" in factors["T2"][cols["Why"]].value
    else:
        lea_t2 = {"001": 1.0, "002": 1.0, "003": 0.5}[district]
        assert factors["T2"][cols["District"]].value == f"{lea_t2:.1%}"


def test_district_ids_that_differ_only_in_unsafe_characters_get_one_file_each(tmp_path, tiny_profile):
    """"A/1" and "A_1" are two LEAs: two workbooks, each about its own LEA (ids are free text)."""
    ev = ("school_year,district_id,student_id,consent_date,determination_date\n"
          "2012,A/1,S1,2011-09-01,2011-10-01\n2012,A_1,S2,2011-09-01,2011-12-01\n")
    tr = ("school_year,district_id,student_id,age,postsecondary_goals,transition_services,annual_goals\n"
          "2012,A/1,T1,16,true,true,true\n2012,A_1,T2,16,true,false,true\n")
    bundle = write_bundle(tmp_path / "bundle", evaluations=ev, transition=tr, overrides=None)
    (bundle / "districts.csv").unlink()
    out = run_determine(bundle, tiny_profile, tmp_path / "out", "--per-district")
    files = sorted((out / "districts").glob("*.xlsx"))
    about = sorted(re.search(r"\(district (.+?)\)", load(p)["Determination"]["A2"].value).group(1) for p in files)
    assert about == ["A/1", "A_1"], [p.name for p in files]
    outputs = [o["file"] for o in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]]
    assert len(outputs) == len(set(outputs)), outputs


def test_district_workbook_shows_the_override_reason(small_run):
    ws = load(small_run / "districts" / "004.xlsx")["Determination"]
    reasons = [r[1] for r in ws.iter_rows() if r[0].value == "Condition or override"]
    assert reasons, "no override row for the overridden LEA"
    assert any(OVERRIDE_REASON in (c.value or "") and c.data_type == "s" for c in reasons)
    ws = load(small_run / "districts" / "001.xlsx")["Determination"]
    assert not [r for r in ws.iter_rows() if r[0].value == "Condition or override"]


# ---------------------------------------------------------------------------------------------------
# Formula injection


def _workbooks(run):
    return [run / "determinations.xlsx", *sorted((run / "districts").glob("*.xlsx"))]


@pytest.mark.parametrize("which", ["small_run", "public_run"])
def test_no_cell_of_any_workbook_is_a_formula(request, which):
    run = request.getfixturevalue(which)
    for path in _workbooks(run):
        for name, data in zip_members(path).items():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(rb"<f[ >]", data), f"{path.name} {name}: a formula element"
        for sheet, c in all_cells(load(path)):
            if isinstance(c.value, str) and c.value.startswith(FORMULA_START):
                assert c.data_type == "s", (path.name, sheet, c.coordinate, c.value)


def test_formula_like_names_are_stored_as_text_unchanged(small_run):
    wb = load(small_run / "determinations.xlsx")
    for sheet in ("Determinations", "T1", "T2"):
        cols, rows = rows_by(wb[sheet], "Rank" if sheet == "Determinations" else "District ID", "District ID")
        for d, name in NAMES.items():
            c = rows[d][cols["District"]]
            assert (c.value, c.data_type) == (name, "s"), (sheet, d)
    for d, name in NAMES.items():
        ws = load(small_run / "districts" / f"{d}.xlsx")["Determination"]
        c = ws["A2"]
        assert c.value.startswith(f"{name} (district {d})") and c.data_type == "s", (d, c.value)


@pytest.mark.parametrize("which", ["small_run", "public_run"])
def test_csv_outputs_prefix_formula_like_text_with_an_apostrophe(request, which):
    run = request.getfixturevalue(which)
    with open(run / "determinations.csv", newline="", encoding="utf-8") as f:
        det = {r["district_id"]: r for r in csv.DictReader(f)}
    for d, name in NAMES.items():
        assert det[d]["district_name"] == "'" + name, d
    assert OVERRIDE_REASON in det["004"]["reasons"]
    with open(run / "measures.csv", newline="", encoding="utf-8") as f:
        measures = list(csv.DictReader(f))
    for r in measures:
        if r["district_id"]:
            assert r["district_name"] == "'" + NAMES[r["district_id"]]
    for path in ("determinations.csv", "measures.csv"):
        with open(run / path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for field in row:
                    assert not field.startswith(FORMULA_START), (path, field)


# ---------------------------------------------------------------------------------------------------
# Sheet XML as a spreadsheet expects it (the data rows are rendered by sedet, not by openpyxl)


@pytest.mark.parametrize("which", ["small_run", "public_run"])
def test_sheet_xml_is_well_formed_and_in_order(request, which):
    """Every sheet part parses as XML; rows are numbered upwards; within a row the cell references
    carry that row's number and go left to right; every style index exists in styles.xml. A reader
    such as Excel repairs (or refuses) a sheet that breaks one of these."""
    from lxml import etree
    from openpyxl.utils import column_index_from_string

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    run = request.getfixturevalue(which)
    for path in _workbooks(run):
        members = zip_members(path)
        styles = etree.fromstring(members["xl/styles.xml"])
        n_styles = len(styles.findall("m:cellXfs/m:xf", ns))
        for name, data in members.items():
            if not name.startswith("xl/worksheets/sheet"):
                continue
            root = etree.fromstring(data)
            last_row = 0
            for row in root.iterfind("m:sheetData/m:row", ns):
                r = int(row.get("r"))
                assert r > last_row, (path.name, name, r)
                last_row = r
                last_col = 0
                for c in row.iterfind("m:c", ns):
                    m = re.fullmatch(r"([A-Z]+)(\d+)", c.get("r"))
                    assert m and int(m.group(2)) == r, (path.name, name, c.get("r"))
                    col = column_index_from_string(m.group(1))
                    assert col > last_col, (path.name, name, c.get("r"))
                    last_col = col
                    assert int(c.get("s", "0")) < n_styles, (path.name, name, c.get("r"), c.get("s"))
                    if c.get("t") == "n":
                        float(c.findtext("m:v", namespaces=ns))  # a number Excel can read


def test_district_workbooks_are_the_same_in_chunks_and_worker_processes(tmp_path, monkeypatch):
    """The Measures rows of the LEAs are rendered in chunks and the workbooks written by worker
    processes for many LEAs; the files must not depend on either."""
    from pathlib import Path

    import sedet.report.district as district

    sample = Path(__file__).resolve().parents[2] / "sample_data"
    one = run_determine(sample, "nj-ffy2022", tmp_path / "one", "--per-district")
    monkeypatch.setattr(district, "CHUNK", 7)  # 30 LEAs: chunks of 7, 7, 7, 7 and 2
    monkeypatch.setattr(district, "PARALLEL_FROM", 2)  # and two worker processes
    many = run_determine(sample, "nj-ffy2022", tmp_path / "many", "--per-district")
    names = sorted(p.name for p in (one / "districts").iterdir())
    assert len(names) == 30 and names == sorted(p.name for p in (many / "districts").iterdir())
    for name in names:
        assert (one / "districts" / name).read_bytes() == (many / "districts" / name).read_bytes(), name
