"""`sedet import edfacts`: a state's LEA-level EDFacts files into a bundle. Every file here is written
by hand, record by record, with the layouts of imports/edfacts_layouts.py (positions from the CEDS
Generate metadata, docs/reference/edfacts-layouts.md); every expected value is worked out beside it.

The example, LEA 0001, school year 2020-21:
- FS002 set A (race x sex x disability): BL7 SLD 20 M + 10 F, ID 10 M (40); WH7 SLD 50 M + 30 F, ID 20 F
  (100). Set C (race x environment): BL7 RC39 20, RC80 20 (40); WH7 RC39 10, RC80 90 (100).
  Subtotals: race (BL7 40, WH7 100), sex (M 80, F 60), total 140.
- FS089 set B (race x early-childhood environment x disability): BL7 DD 5, WH7 DD 10.
- FS052 set A (grade x race x sex): BL7 KG M 100 + 03 F 105 = 205; WH7 KG F 500 + 05 M 510 = 1010.
- FS006 set B (method x length x race): BL7 OSS more than 10 days 4, OSS 1-10 days 6; WH7 OSS 1-10 days 9.
- FS143 (total removals, not children) set B (race): BL7 15, WH7 12; set A (disability): SLD 20, ID 7;
  total 27.

So, with IEPs by disability: BL7 30 SLD + 10 ID + 5 DD = 45, WH7 80 + 20 + 10 = 110; without IEPs:
BL7 205 - 45 = 160, WH7 1010 - 110 = 900.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from clirunner import invoke  # tests/clirunner.py

from sedet.imports.edfacts_layouts import FILES, format_header, format_record

PROFILE = "edfacts-disproportionality"
LEA = "0001"


cli = invoke


def record(code: str, n: int, *, lea: str = LEA, total: bool = False, **cats: str) -> dict:
    """One record's fields by name: the LEA, its categories (by sedet's name for them), the count."""
    spec = FILES[code]
    values = {"FIPSStateCode": "34", "StateAgencyNumber": "01", "StateLEAIDNumber": lea, "TableTypeAbbrv": spec.table,
              "TotalIndicator": "Y" if total else "N", "Amount": str(n)}
    for cat, value in cats.items():
        values[spec.categories[cat].name] = value
    return values


def write(path: Path, code: str, records: list[dict], *, period: str = "2020-2021", delimiter: str | None = None,
          compact: bool = False, said: int | None = None) -> Path:
    """A file as a state submits it: the header record, then the records numbered from 1."""
    spec = FILES[code]
    lines = [format_header(len(records) if said is None else said, period, path.name, delimiter)]
    for i, values in enumerate(records, 1):
        values = {"FileRecordNumber": str(i)} | values
        if compact:  # a delimited file without the fillers
            lines.append(delimiter.join(values.get(f.name, "") for f in spec.fields if not f.filler))  # type: ignore
        else:
            lines.append(format_record(spec, values, delimiter))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return path


def fs002(lea: str = LEA) -> list[dict]:
    r = lambda n, **c: record("FS002", n, lea=lea, **c)  # noqa: E731
    t = lambda n, **c: record("FS002", n, lea=lea, total=True, **c)  # noqa: E731
    return [
        r(20, race="BL7", sex="M", disability="SLD"), r(10, race="BL7", sex="F", disability="SLD"),
        r(10, race="BL7", sex="M", disability="ID"),
        r(50, race="WH7", sex="M", disability="SLD"), r(30, race="WH7", sex="F", disability="SLD"),
        r(20, race="WH7", sex="F", disability="ID"),
        r(20, race="BL7", environment="RC39"), r(20, race="BL7", environment="RC80"),
        r(10, race="WH7", environment="RC39"), r(90, race="WH7", environment="RC80"),
        # set D (sex x disability x environment): read, neither kept nor checked
        r(140, sex="M", disability="SLD", environment="RC80"),
        t(40, race="BL7"), t(100, race="WH7"), t(80, sex="M"), t(60, sex="F"), t(140),
    ]


def fs089(lea: str = LEA) -> list[dict]:
    return [record("FS089", 5, lea=lea, race="BL7", ec_environment="REC10YSVCS", disability="DD"),
            record("FS089", 10, lea=lea, race="WH7", ec_environment="SC", disability="DD"),
            record("FS089", 15, lea=lea, total=True)]


def fs052(lea: str = LEA) -> list[dict]:
    r = lambda n, **c: record("FS052", n, lea=lea, **c)  # noqa: E731
    return [r(100, grade="KG", race="BL7", sex="M"), r(105, grade="03", race="BL7", sex="F"),
            r(500, grade="KG", race="WH7", sex="F"), r(510, grade="05", race="WH7", sex="M"),
            record("FS052", 1215, lea=lea, total=True)]


def fs006(lea: str = LEA) -> list[dict]:
    r = lambda n, **c: record("FS006", n, lea=lea, **c)  # noqa: E731
    return [r(4, discipline_method="OUTOFSCHOOL", removal_length="GREATER10", race="BL7"),
            r(6, discipline_method="OUTOFSCHOOL", removal_length="LTOREQ10", race="BL7"),
            r(9, discipline_method="OUTOFSCHOOL", removal_length="LTOREQ10", race="WH7"),
            record("FS006", 19, lea=lea, total=True)]


def fs143(lea: str = LEA) -> list[dict]:
    return [record("FS143", 15, lea=lea, race="BL7"), record("FS143", 12, lea=lea, race="WH7"),
            record("FS143", 20, lea=lea, disability="SLD"), record("FS143", 7, lea=lea, disability="ID"),
            record("FS143", 27, lea=lea, total=True)]


def files(folder: Path, *, delimiter: str | None = None, compact: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ext = "txt" if delimiter is None else "csv"
    return [write(folder / f"{code}.{ext}", code, recs, delimiter=delimiter, compact=compact)
            for code, recs in (("FS002", fs002()), ("FS089", fs089()), ("FS052", fs052()), ("FS006", fs006()),
                               ("FS143", fs143()))]


def table(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{name}.csv", schema_overrides={"district_id": pl.String})


def test_fixed_width_files_into_a_bundle(tmp_path):
    out = tmp_path / "bundle"
    cli("import", "edfacts", *files(tmp_path / "in"), "--out", out, code=0)
    enr = table(out, "enrollment")
    by = {(r["counts_in"], r["iep"], r["race_ethnicity"], r["disability"], r["environment"]): r["count"]
          for r in enr.iter_rows(named=True)}
    assert by == {
        ("DISABILITY", True, "BL7", "SLD", None): 30, ("DISABILITY", True, "BL7", "ID", None): 10,
        ("DISABILITY", True, "BL7", "DD", None): 5,
        ("DISABILITY", True, "WH7", "SLD", None): 80, ("DISABILITY", True, "WH7", "ID", None): 20,
        ("DISABILITY", True, "WH7", "DD", None): 10,
        ("ENVIRONMENT", True, "BL7", None, "RC39LT"): 20, ("ENVIRONMENT", True, "BL7", None, "RC80"): 20,
        ("ENVIRONMENT", True, "WH7", None, "RC39LT"): 10, ("ENVIRONMENT", True, "WH7", None, "RC80"): 90,
        (None, False, "BL7", None, None): 160, (None, False, "WH7", None, None): 900,  # 205 - 45, 1010 - 110
    }
    assert set(enr.get_column("school_year")) == {2021}  # 2020-21
    dis = table(out, "discipline")
    rows = dis.select("counts_in", "race_ethnicity", "removal_type", "days_removed", "removals", "count").iter_rows()
    assert sorted(rows, key=str) == sorted([
        ("CHILDREN", "BL7", "OSS", 10.0, 1, 6), ("CHILDREN", "BL7", "OSS", 11.0, 1, 4),
        ("CHILDREN", "WH7", "OSS", 10.0, 1, 9),
        ("REMOVALS", "BL7", None, None, 15, 1), ("REMOVALS", "WH7", None, None, 12, 1)], key=str)
    assert table(out, "districts").get_column("district_id").to_list() == [LEA]
    manifest = json.loads((out / "manifest.json").read_text())
    fs002_src = next(s for s in manifest["sources"] if s["file_spec"] == "FS002")
    assert fs002_src["records"] == 16
    assert fs002_src["children_imported"] == {"enrollment.disability": 140, "enrollment.environment": 140}
    assert fs002_src["subtotals_checked"] == 5  # race x2, sex x2, total
    assert fs002_src["records_of_other_sets"] == 1  # the set D record


def test_import_then_determine_gives_the_hand_worked_ratios(tmp_path):
    out = tmp_path / "bundle"
    cli("import", "edfacts", *files(tmp_path / "in"), "--out", out, code=0)
    res = tmp_path / "res"
    cli("determine", out, "--profile", PROFILE, "--out", res, code=0)
    m = pl.read_csv(res / "measures.csv", schema_overrides={"district_id": pl.String}, infer_schema_length=0)

    def value(race: str, category: str) -> float:
        hit = m.filter((pl.col("measure") == "risk_ratio") & (pl.col("race_ethnicity") == race)
                       & (pl.col("category") == category))
        assert hit.height == 1, (race, category)
        return float(hit.item(0, "value"))

    # identification: 45/205 against 110/1010 = 45 * 1010 / (205 * 110) = 45450 / 22550
    assert value("BL7", "identification") == pytest.approx(45450 / 22550, abs=1e-4)
    assert value("BL7", "placement.RC39LT") == pytest.approx(5.0)  # 20/40 against 10/100
    # OSS 1-10 days: 6/45 against 9/110 = 6 * 110 / (45 * 9) = 660 / 405; below the minimum cell (6 < 10)
    le10 = m.filter(pl.col("measure").str.ends_with("risk_ratio") & (pl.col("race_ethnicity") == "BL7")
                    & (pl.col("category") == "discipline.OSS_LE10"))
    assert le10.item(0, "status") == "below_min_cell"
    assert (float(le10.item(0, "numerator")), float(le10.item(0, "denominator"))) == (6, 45)
    # total removals (FS143), per child: 15/45 against 12/110 = 15 * 110 / (45 * 12) = 1650 / 540, above
    # 3.0; both cells (15, 12 removals) meet the minimum of 10, both groups (45, 110) the n of 30
    assert value("BL7", "discipline.TOTAL") == pytest.approx(1650 / 540, abs=1e-4)
    found = m.filter((pl.col("measure") == "disproportionality") & (pl.col("category") == "discipline.TOTAL")
                     & (pl.col("race_ethnicity") == "BL7"))
    assert found.item(0, "flag") == "identified"


def test_import_then_determine_equals_a_hand_built_bundle(tmp_path):
    out = tmp_path / "bundle"
    cli("import", "edfacts", *files(tmp_path / "in"), "--out", out, code=0)
    hand = tmp_path / "hand"
    hand.mkdir()
    (hand / "enrollment.csv").write_text(
        "school_year,district_id,race_ethnicity,iep,DISABILITY,ENVIRONMENT,counts_in,count\n"
        "2021,0001,BL7,true,SLD,,DISABILITY,30\n2021,0001,BL7,true,ID,,DISABILITY,10\n"
        "2021,0001,BL7,true,DD,,DISABILITY,5\n2021,0001,WH7,true,SLD,,DISABILITY,80\n"
        "2021,0001,WH7,true,ID,,DISABILITY,20\n2021,0001,WH7,true,DD,,DISABILITY,10\n"
        "2021,0001,BL7,true,,RC39LT,ENVIRONMENT,20\n2021,0001,BL7,true,,RC80,ENVIRONMENT,20\n"
        "2021,0001,WH7,true,,RC39LT,ENVIRONMENT,10\n2021,0001,WH7,true,,RC80,ENVIRONMENT,90\n"
        "2021,0001,BL7,false,,,,160\n2021,0001,WH7,false,,,,900\n", encoding="utf-8")
    (hand / "discipline.csv").write_text(
        "school_year,district_id,race_ethnicity,iep,removal_type,days_removed,removals,counts_in,count\n"
        "2021,0001,BL7,true,OSS,11,,children,4\n2021,0001,BL7,true,OSS,10,,children,6\n"
        "2021,0001,WH7,true,OSS,10,,children,9\n"
        "2021,0001,BL7,true,,,15,removals,\n2021,0001,WH7,true,,,12,removals,\n", encoding="utf-8")
    (hand / "districts.csv").write_text("district_id\n0001\n", encoding="utf-8")
    for src, res in ((out, tmp_path / "r1"), (hand, tmp_path / "r2")):
        cli("determine", src, "--profile", PROFILE, "--out", res, code=0)
    assert (tmp_path / "r1" / "measures.csv").read_bytes() == (tmp_path / "r2" / "measures.csv").read_bytes()


@pytest.mark.parametrize("delimiter,compact", [(",", False), (",", True), ("\t", False)])
def test_delimited_files_give_the_same_bundle(tmp_path, delimiter, compact):
    fixed, other = tmp_path / "fixed", tmp_path / "other"
    cli("import", "edfacts", *files(tmp_path / "a"), "--out", fixed, code=0)
    cli("import", "edfacts", *files(tmp_path / "b", delimiter=delimiter, compact=compact), "--out", other, code=0)
    for name in ("enrollment.csv", "discipline.csv", "districts.csv"):
        assert (fixed / name).read_bytes() == (other / name).read_bytes(), name
    forms = {s["form"] for s in json.loads((other / "manifest.json").read_text())["sources"]}
    assert forms == {"comma-separated" if delimiter == "," else "tab-separated"}


def test_two_school_years_and_a_layout_year(tmp_path):
    """FS002's layout is known for 2020-21 to 2022-23 (the same positions, S_A and S_B); FS052's for
    2020-21 only: a 2022-23 membership file is refused, and read with --layout-year 2020-21."""
    a = write(tmp_path / "fs002_2021.txt", "FS002", fs002(), period="2020-2021")
    b = write(tmp_path / "fs002_2023.txt", "FS002", fs002(), period="2022-2023")
    out = tmp_path / "bundle"
    cli("import", "edfacts", a, b, "--out", out, code=0)
    assert sorted(set(table(out, "enrollment").get_column("school_year"))) == [2021, 2023]
    m = write(tmp_path / "fs052_2023.txt", "FS052", fs052(), period="2022-2023")
    refused = cli("import", "edfacts", b, m, "--out", tmp_path / "x", code=1)
    assert "FS052 layout sedet knows (2020-21)" in refused.output
    assert "2022-23" in refused.output
    assert not (tmp_path / "x").exists()


def test_layout_year_option_reads_a_later_file(tmp_path):
    b = write(tmp_path / "fs002.txt", "FS002", fs002(), period="2022-2023")
    e = write(tmp_path / "fs089.txt", "FS089", fs089(), period="2022-2023")
    m = write(tmp_path / "fs052.txt", "FS052", fs052(), period="2022-2023")
    out = tmp_path / "bundle"
    cli("import", "edfacts", b, e, m, "--out", out, "--layout-year", "2020-21", code=0)
    assert set(table(out, "enrollment").get_column("school_year")) == {2023}
    layouts = {s["file_spec"]: s["layout_year"] for s in json.loads((out / "manifest.json").read_text())["sources"]}
    assert layouts == {"FS002": 2023, "FS089": 2021, "FS052": 2021}  # FS002's own 2022-23 layout is known


def problems(tmp_path, *paths, code=1) -> str:
    out = tmp_path / "never"
    r = cli("import", "edfacts", *paths, "--out", out, code=code)
    assert not out.exists()  # nothing written
    return r.output


def test_a_record_cut_short_is_located(tmp_path):
    path = write(tmp_path / "fs002.txt", "FS002", fs002())
    lines = path.read_bytes().split(b"\r\n")
    lines[3] = lines[3][:300]  # the third record
    path.write_bytes(b"\r\n".join(lines))
    said = problems(tmp_path, path)
    assert "fs002.txt" in said and "4" in said and "504 characters" in said and "300 characters" in said


@pytest.mark.parametrize("quoted", [False, True])
def test_a_delimited_record_with_a_field_too_few_is_located(tmp_path, quoted):
    recs = fs002()
    if quoted:  # a quoted explanation: the csv module reads the file
        recs[0]["Explanation"] = '"see, the note"'
    path = write(tmp_path / "fs002.csv", "FS002", recs, delimiter=",")
    lines = path.read_bytes().split(b"\r\n")
    lines[5] = lines[5].rsplit(b",", 1)[0]  # record 5 (line 6) loses its last field
    path.write_bytes(b"\r\n".join(lines))
    said = problems(tmp_path, path)
    assert "fs002.csv, row 6" in said and "fields, as in the first record" in said


def test_an_unknown_code_a_missing_race_and_a_bad_count_are_located(tmp_path):
    recs = fs002()
    recs[0]["RaceEthnicityID"] = "ZZ7"
    recs[1]["RaceEthnicityID"] = "MISSING"
    recs[2]["Amount"] = "12a"
    said = problems(tmp_path, write(tmp_path / "fs002.txt", "FS002", recs))
    assert "'ZZ7'" in said and "'MISSING'" in said and "'12a'" in said
    assert "RaceEthnicityID" in said and "Amount" in said


def test_a_subtotal_that_does_not_add_up_is_located(tmp_path):
    recs = fs002()
    recs[-5]["Amount"] = "41"  # race subtotal BL7: its set A records sum to 40
    said = problems(tmp_path, write(tmp_path / "fs002.txt", "FS002", recs))
    assert "set A" in said or "set CSA" in said
    assert "40" in said and "41" in said and "13" in said  # line 13: record 12 after the header


def test_sets_a_and_c_must_hold_the_same_children(tmp_path):
    recs = [r for r in fs002() if r["TotalIndicator"] == "N"]
    recs[6]["Amount"] = "25"  # BL7 RC39: set C now holds 145 children against 140 in set A
    said = problems(tmp_path, write(tmp_path / "fs002.txt", "FS002", recs))
    assert "as many children in set CSC" in said and "140" in said and "145" in said


def test_membership_below_the_children_with_ieps_is_a_problem(tmp_path):
    m = fs052()
    m[0]["Amount"], m[1]["Amount"], m[-1]["Amount"] = "20", "20", "1050"  # BL7: 40 members, 45 with IEPs
    paths = [write(tmp_path / "fs002.txt", "FS002", fs002()), write(tmp_path / "fs089.txt", "FS089", fs089()),
             write(tmp_path / "fs052.txt", "FS052", m)]
    said = problems(tmp_path, *paths)
    assert "BL7" in said and "45" in said and "40 members" in said


def test_membership_needs_both_child_counts(tmp_path):
    paths = [write(tmp_path / "fs002.txt", "FS002", fs002()), write(tmp_path / "fs052.txt", "FS052", fs052())]
    assert "no FS089" in problems(tmp_path, *paths)


def test_header_and_file_problems(tmp_path):
    wrong_count = write(tmp_path / "cut.txt", "FS002", fs002(), said=20)
    assert "TotalRecords" in problems(tmp_path, wrong_count) and "cut short" in problems(tmp_path, wrong_count)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert "an empty file" in problems(tmp_path, empty)
    header_only = tmp_path / "header.txt"
    header_only.write_text(format_header(0, "2020-2021") + "\r\n")
    assert "header only" in problems(tmp_path, header_only)
    fs088 = record("FS002", 1, race="BL7") | {"TableTypeAbbrv": "CHWDSBDSPACT"}
    other = write(tmp_path / "fs088.txt", "FS002", [fs088])
    said = problems(tmp_path, other)
    assert "'CHWDSBDSPACT'" in said and "IDEADISAB (FS002)" in said
    no_year = write(tmp_path / "noyear.txt", "FS002", fs002(), period="")
    assert "--year" in problems(tmp_path, no_year)
    out = tmp_path / "given"
    cli("import", "edfacts", no_year, "--year", "2020-21", "--out", out, code=0)
    cli("import", "edfacts", no_year, "--year", "2020", "--out", tmp_path / "bad", code=2)


def test_a_duplicate_record_and_a_second_file_of_a_year(tmp_path):
    recs = fs002()
    said = problems(tmp_path, write(tmp_path / "dup.txt", "FS002", [*recs, recs[0]]))
    assert "a second record of LEA '0001'" in said
    a = write(tmp_path / "a.txt", "FS002", fs002())
    b = write(tmp_path / "b.txt", "FS002", fs002())
    assert "one FS002 file per school year" in problems(tmp_path, a, b)


def test_same_files_same_bytes(tmp_path):
    paths = files(tmp_path / "in")
    one, two = tmp_path / "one", tmp_path / "two"
    cli("import", "edfacts", *paths, "--out", one, code=0)
    cli("import", "edfacts", *paths, "--out", two, code=0)
    for name in ("enrollment.csv", "discipline.csv", "districts.csv", "manifest.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_margin_rows_are_checked_when_a_bundle_is_read(tmp_path):
    """A margin row is one of children with IEPs; a row of the margin by environment has one."""
    b = tmp_path / "b"
    b.mkdir()
    (b / "enrollment.csv").write_text(
        "school_year,district_id,race_ethnicity,iep,disability,environment,counts_in,count\n"
        "2021,0001,BL7,false,SLD,,disability,30\n"  # line 2: a margin of children without IEPs
        "2021,0001,BL7,true,,,environment,20\n"  # line 3: by environment, with none
        "2021,0001,WH7,true,,RC80,elsewhere,20\n", encoding="utf-8")  # line 4: an unknown margin
    (b / "districts.csv").write_text("district_id\n0001\n", encoding="utf-8")
    (b / "discipline.csv").write_text("school_year,district_id,race_ethnicity,iep,days_removed\n", encoding="utf-8")
    r = cli("validate", b, "--profile", PROFILE, "--json", code=1)
    found = {(p["row"], p["column"]) for p in json.loads(r.stdout)["problems"]}
    assert found == {(2, "counts_in"), (3, "environment"), (4, "counts_in")}


# ---------------------------------------------------------------------------------------------------
# Assessment participation: FS185 (math) and FS188 (reading/language arts), school year 2022-23.
#
# FS185, LEA 0001. Grades 3-8 table: set C (students with disabilities x grade x status), grade 03:
# REGPARTWOACC 30, REGPARTWACC 10, ALTPARTALTACH 4, NPART 3, MEDEXEMPT 2. Subtotal 1 (every student,
# grade x status): REGPARTWOACC 400, REGPARTWACC 20, ALTPARTALTACH 5, NPART 6, MEDEXEMPT 2; set A
# (major race x grade x status) adds up to it: MB 100 + MW 300; MB 5 + MW 15; MB 2 + MW 3; MB 6; MW 2.
# High-school table, grade 11: set C PHSRGASMIWOACC 20, ALTPARTALTACH 1, NPART 4; subtotal 1 200, 1, 9;
# set A MW 200, 1, 9.
# FS188, grade 05: set C REGPARTWOACC 10, ALTPARTALTACH 2; subtotal 1 100, 2; set A MB 100, 2.
#
# So, math: with IEPs, grade 3, 40 regular + 4 alternate participants, 3 not participating, 2 exempt;
# grade 11, 20 + 1, 4 not. Without IEPs (subtotal 1 - set C): grade 3, 420 - 40 = 380 regular, 5 - 4 = 1
# alternate, 6 - 3 = 3 not; grade 11, 180 regular, 5 not. The LEA's alternate rate in math: (5 + 1)
# alternate / (425 + 201) tested = 6/626 (0.96%, within the 1% cap); in ELA 2/102 (1.96%, above): the
# highest, ELA.

PERIOD_23 = "2022-2023"


def part(code: str, n: int, table: str, *, total: bool = False, **cats: str) -> dict:
    return record(code, n, total=total, **cats) | {"TableTypeAbbrv": table}


def fs185() -> list[dict]:
    lg, hs = "STUPARTMATHLG", "STUPARTMATHHS"
    c = lambda n, s, g="03", t=lg: part("FS185", n, t, grade_assessed=g, disability_status="WDIS",  # noqa: E731
                                        participation=s)
    a = lambda n, s, race, g="03", t=lg: part("FS185", n, t, grade_assessed=g, major_race=race,  # noqa: E731
                                              participation=s)
    st = lambda n, s, g="03", t=lg: part("FS185", n, t, total=True, grade_assessed=g, participation=s)  # noqa: E731
    return [
        c(30, "REGPARTWOACC"), c(10, "REGPARTWACC"), c(4, "ALTPARTALTACH"), c(3, "NPART"), c(2, "MEDEXEMPT"),
        a(100, "REGPARTWOACC", "MB"), a(300, "REGPARTWOACC", "MW"), a(5, "REGPARTWACC", "MB"),
        a(15, "REGPARTWACC", "MW"), a(2, "ALTPARTALTACH", "MB"), a(3, "ALTPARTALTACH", "MW"), a(6, "NPART", "MB"),
        a(2, "MEDEXEMPT", "MW"),
        st(400, "REGPARTWOACC"), st(20, "REGPARTWACC"), st(5, "ALTPARTALTACH"), st(6, "NPART"), st(2, "MEDEXEMPT"),
        c(20, "PHSRGASMIWOACC", "11", hs), c(1, "ALTPARTALTACH", "11", hs), c(4, "NPART", "11", hs),
        a(200, "PHSRGASMIWOACC", "MW", "11", hs), a(1, "ALTPARTALTACH", "MW", "11", hs), a(9, "NPART", "MW", "11", hs),
        st(200, "PHSRGASMIWOACC", "11", hs), st(1, "ALTPARTALTACH", "11", hs), st(9, "NPART", "11", hs),
    ]


def fs188() -> list[dict]:
    lg = "STUPARTRLALG"
    return [
        part("FS188", 10, lg, grade_assessed="05", disability_status="WDIS", participation="REGPARTWOACC"),
        part("FS188", 2, lg, grade_assessed="05", disability_status="WDIS", participation="ALTPARTALTACH"),
        part("FS188", 100, lg, grade_assessed="05", major_race="MB", participation="REGPARTWOACC"),
        part("FS188", 2, lg, grade_assessed="05", major_race="MB", participation="ALTPARTALTACH"),
        part("FS188", 100, lg, total=True, grade_assessed="05", participation="REGPARTWOACC"),
        part("FS188", 2, lg, total=True, grade_assessed="05", participation="ALTPARTALTACH"),
    ]


def participation_files(folder: Path, *, delimiter: str | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ext = "txt" if delimiter is None else "csv"
    return [write(folder / f"FS185.{ext}", "FS185", fs185(), period=PERIOD_23, delimiter=delimiter),
            write(folder / f"FS188.{ext}", "FS188", fs188(), period=PERIOD_23, delimiter=delimiter)]


def assessment_rows(folder: Path) -> dict[tuple, int]:
    t = table(folder, "assessments")
    keys = ("subject", "grade", "iep", "assessment", "enrolled_in_window", "participated")
    return {tuple(r[k] for k in keys): r["count"] for r in t.iter_rows(named=True)}


def test_participation_files_into_assessment_rows(tmp_path):
    out = tmp_path / "bundle"
    cli("import", "edfacts", *participation_files(tmp_path / "in"), "--out", out, code=0)
    assert set(table(out, "assessments").get_column("school_year")) == {2023}
    assert assessment_rows(out) == {
        ("MATH", 3, True, "REG", True, True): 40, ("MATH", 3, True, "ALT", True, True): 4,
        ("MATH", 3, True, None, True, False): 3,  # NPART
        ("MATH", 3, True, None, False, False): 2,  # MEDEXEMPT: not among the students enrolled, by default
        ("MATH", 3, False, "REG", True, True): 380, ("MATH", 3, False, "ALT", True, True): 1,
        ("MATH", 3, False, None, True, False): 3,
        ("MATH", 11, True, "REG", True, True): 20, ("MATH", 11, True, "ALT", True, True): 1,
        ("MATH", 11, True, None, True, False): 4,
        ("MATH", 11, False, "REG", True, True): 180, ("MATH", 11, False, None, True, False): 5,
        ("ELA", 5, True, "REG", True, True): 10, ("ELA", 5, True, "ALT", True, True): 2,
        ("ELA", 5, False, "REG", True, True): 90,
    }
    src = {s["file_spec"]: s for s in json.loads((out / "manifest.json").read_text())["sources"]}
    # subtotal 1: 400 + 20 + 5 + 6 + 2 = 433 (grade 3) + 200 + 1 + 9 = 210 (grade 11); set C: 49 + 25
    assert src["FS185"]["children_imported"] == {"assessments.all": 643, "assessments.iep": 74}
    assert src["FS185"]["subtotals_checked"] == 8  # each subtotal 1 record, against set A
    assert src["FS188"]["records_of_other_sets"] == 0
    # the same files, medical exemptions counted among the students enrolled
    enrolled = tmp_path / "enrolled"
    cli("import", "edfacts", *participation_files(tmp_path / "in"), "--out", enrolled, "--medical-exemptions",
        "enrolled", code=0)
    assert assessment_rows(enrolled)[("MATH", 3, True, None, True, False)] == 5  # 3 NPART + 2 MEDEXEMPT
    cli("import", "edfacts", *participation_files(tmp_path / "in"), "--out", tmp_path / "x", "--medical-exemptions",
        "sometimes", code=2)


def test_participation_then_determine_gives_the_hand_worked_alternate_rates(tmp_path):
    out = tmp_path / "bundle"
    cli("import", "edfacts", *participation_files(tmp_path / "in", delimiter=","), "--out", out, code=0)
    res = tmp_path / "res"
    cli("determine", out, "--profile", "edfacts-alternate", "--out", res, code=0)
    m = pl.read_csv(res / "measures.csv", schema_overrides={"district_id": pl.String}, infer_schema_length=0) \
        .filter(pl.col("measure") == "alternate_rate")
    got = {r["subject"]: (float(r["numerator"]), float(r["denominator"]), r["flag"]) for r in m.iter_rows(named=True)}
    assert got == {"MATH": (6, 626, "within_cap"), "ELA": (2, 102, "above_cap"), None: (2, 102, "above_cap")}


def test_participation_problems_are_located(tmp_path):
    recs = fs185()
    recs[13]["Amount"] = "401"  # subtotal 1, grade 03 REGPARTWOACC: set A adds up to 400
    said = problems(tmp_path, write(tmp_path / "sub.txt", "FS185", recs, period=PERIOD_23))
    assert "sub.txt, row 15" in said and "400" in said and "401" in said
    recs = fs185()
    recs[18]["Amount"] = "250"  # set C, grade 11 PHSRGASMIWOACC: more students than subtotal 1's 200
    said = problems(tmp_path, write(tmp_path / "over.txt", "FS185", recs, period=PERIOD_23))
    assert "over.txt" in said and "grade 11" in said and "250" in said and "subtotal 1" in said
    recs = fs185()
    recs[0]["GradeLevelID"] = "HS"  # a high-school test without a grade: sedet cannot place it
    recs[1]["TestingStatusID"] = "PARTELP"
    recs[2]["TableTypeAbbrv"] = "STUPARTRLALG"  # an RLA table in the math file
    said = problems(tmp_path, write(tmp_path / "codes.txt", "FS185", recs, period=PERIOD_23))
    assert "'HS'" in said and "GradeLevelID" in said and "'PARTELP'" in said and "TestingStatusID" in said
    assert "'STUPARTRLALG'" in said and "STUPARTMATHLG or STUPARTMATHHS" in said
    two = write(tmp_path / "old.txt", "FS185", fs185(), period="2020-2021")
    assert "FS185 layout sedet knows (2022-23, 2023-24)" in problems(tmp_path, two)


def test_total_removals_need_their_rows(tmp_path):
    """FS006 gives children removed, not removals: without FS143 total removals cannot be counted, and
    a profile that analyses them says so; a row of removals only needs no days, every other row does."""
    paths = [write(tmp_path / f"{code}.txt", code, recs) for code, recs in
             (("FS002", fs002()), ("FS089", fs089()), ("FS052", fs052()), ("FS006", fs006()))]
    out = tmp_path / "bundle"
    cli("import", "edfacts", *paths, "--out", out, code=0)
    r = cli("determine", out, "--profile", PROFILE, "--out", tmp_path / "res", code=1)
    assert "discipline.csv" in r.output and "counts_in" in r.output and "FS143" in r.output
    assert "no row of removals in school year 2021" in r.output
    assert not (tmp_path / "res").exists()
    b = tmp_path / "b"
    b.mkdir()
    (b / "discipline.csv").write_text(
        "school_year,district_id,race_ethnicity,iep,removal_type,days_removed,removals,counts_in,count\n"
        "2021,0001,BL7,true,OSS,,,children,4\n"  # line 2: children removed, without their days
        "2021,0001,BL7,true,,,15,removals,\n", encoding="utf-8")  # line 3: removals only, no days needed
    (b / "enrollment.csv").write_text("school_year,district_id,race_ethnicity,iep,count\n2021,0001,BL7,true,45\n",
                                      encoding="utf-8")
    r = cli("validate", b, "--profile", PROFILE, "--json", code=1)
    found = {(p["row"], p["column"]) for p in json.loads(r.stdout)["problems"]}
    assert found == {(2, "days_removed")}


def test_a_carriage_return_inside_a_delimited_record_is_located(tmp_path):
    """A stray CR inside a record of a file the csv module reads (it has a quoted field) is refused by
    that module: a problem naming the line, not a crash."""
    recs = fs143()
    recs[0]["Explanation"] = '"see, the note"'
    path = write(tmp_path / "fs143.csv", "FS143", recs, delimiter=",")
    lines = path.read_bytes().split(b"\r\n")
    lines[2] = lines[2].replace(b",", b",\r", 1)  # record 2 (line 3)
    path.write_bytes(b"\r\n".join(lines))
    said = problems(tmp_path, path)
    assert "fs143.csv, row 3" in said and "1 fields" in said


# ---------------------------------------------------------------------------------------------------
# Achievement: FS175 (math) and FS178 (reading/language arts), school year 2022-23, with the
# participation files above. A record counts participants with a valid score, proficient or not.
#
# FS175, grade 03: set C (with disabilities) REGASSWOACC proficient 8, not 20; REGASSWACC 2, 7;
# ALTASSALTACH 3, 1. Subtotal 1 (every student): REGASSWOACC 200, 190; REGASSWACC 5, 14; ALTASSALTACH 3, 2;
# set A (MB + MW) adds up to it. Grade 11 (high-school table): set C HSREGASMTIWOACC 5, 14; ALTASSALTACH
# not 1; subtotal 1 and set A (MW) 100, 95; 1.
# FS178, grade 05: set C REGASSWOACC 4, 6; ALTASSALTACH proficient 1; subtotal 1 and set A (MB) 60, 40; 1.
#
# So, with IEPs, math grade 3: regular 10 proficient + 27 not = 37 of the 40 participants (3 without a
# score); alternate 3 + 1 = all 4. Without IEPs: regular (205 - 10) 195 + (204 - 27) 177 = 372 of 380
# (8 without); alternate 0 + 1 of 1. Grade 11 with IEPs: 5 + 14 of 20 (1 without), alternate 0 + 1 of 1;
# without: 95 + 81 of 180 (4 without). ELA grade 5 with IEPs: 4 + 6 of 10, alternate 1 of 2 (1 without);
# without: 56 + 34 of 90.

def achieve(code: str, n: int, table: str, admin: str, prof: str, *, total: bool = False, **cats: str) -> dict:
    return part(code, n, table, total=total, assessment_administered=admin, proficiency=prof, **cats)


def fs175() -> list[dict]:
    lg, hs = "STUDPERFMLG", "STUDPERFMHS"
    recs = []
    for n_c, (n_mb, n_mw), n_st, admin, prof, g, t in (
        (8, (50, 150), 200, "REGASSWOACC", "PROFICIENT", "03", lg),
        (20, (40, 150), 190, "REGASSWOACC", "NOTPROFICIENT", "03", lg),
        (2, (0, 5), 5, "REGASSWACC", "PROFICIENT", "03", lg),
        (7, (4, 10), 14, "REGASSWACC", "NOTPROFICIENT", "03", lg),
        (3, (1, 2), 3, "ALTASSALTACH", "PROFICIENT", "03", lg),
        (1, (0, 2), 2, "ALTASSALTACH", "NOTPROFICIENT", "03", lg),
        (5, (0, 100), 100, "HSREGASMTIWOACC", "PROFICIENT", "11", hs),
        (14, (0, 95), 95, "HSREGASMTIWOACC", "NOTPROFICIENT", "11", hs),
        (1, (0, 1), 1, "ALTASSALTACH", "NOTPROFICIENT", "11", hs),
    ):
        recs.append(achieve("FS175", n_c, t, admin, prof, grade_assessed=g, disability_status="WDIS"))
        recs += [achieve("FS175", n, t, admin, prof, grade_assessed=g, major_race=race)
                 for n, race in ((n_mb, "MB"), (n_mw, "MW")) if n]
        recs.append(achieve("FS175", n_st, t, admin, prof, total=True, grade_assessed=g))
    return recs


def fs178() -> list[dict]:
    lg = "STUDPERFRLALG"
    recs = []
    for n_c, n_all, admin, prof in ((4, 60, "REGASSWOACC", "PROFICIENT"), (6, 40, "REGASSWOACC", "NOTPROFICIENT"),
                                    (1, 1, "ALTASSALTACH", "PROFICIENT")):
        recs += [achieve("FS178", n_c, lg, admin, prof, grade_assessed="05", disability_status="WDIS"),
                 achieve("FS178", n_all, lg, admin, prof, grade_assessed="05", major_race="MB"),
                 achieve("FS178", n_all, lg, admin, prof, total=True, grade_assessed="05")]
    return recs


def achievement_files(folder: Path, *, delimiter: str | None = None) -> list[Path]:
    ext = "txt" if delimiter is None else "csv"
    return [*participation_files(folder, delimiter=delimiter),
            write(folder / f"FS175.{ext}", "FS175", fs175(), period=PERIOD_23, delimiter=delimiter),
            write(folder / f"FS178.{ext}", "FS178", fs178(), period=PERIOD_23, delimiter=delimiter)]


def test_achievement_files_place_the_scores_among_the_participants(tmp_path):
    out = tmp_path / "bundle"
    cli("import", "edfacts", *achievement_files(tmp_path / "in"), "--out", out, code=0)
    t = table(out, "assessments")
    keys = ("subject", "grade", "iep", "assessment", "enrolled_in_window", "participated", "performance_level")
    got = {tuple(r[k] for k in keys): r["count"] for r in t.iter_rows(named=True)}
    P, N = "PROFICIENT", "NOTPROFICIENT"
    took = (True, True)
    assert got == {
        ("MATH", 3, True, "REG", *took, P): 10, ("MATH", 3, True, "REG", *took, N): 27,
        ("MATH", 3, True, "REG", *took, None): 3,
        ("MATH", 3, True, "ALT", *took, P): 3, ("MATH", 3, True, "ALT", *took, N): 1,
        ("MATH", 3, True, None, True, False, None): 3, ("MATH", 3, True, None, False, False, None): 2,
        ("MATH", 3, False, "REG", *took, P): 195, ("MATH", 3, False, "REG", *took, N): 177,
        ("MATH", 3, False, "REG", *took, None): 8, ("MATH", 3, False, "ALT", *took, N): 1,
        ("MATH", 3, False, None, True, False, None): 3,
        ("MATH", 11, True, "REG", *took, P): 5, ("MATH", 11, True, "REG", *took, N): 14,
        ("MATH", 11, True, "REG", *took, None): 1, ("MATH", 11, True, "ALT", *took, N): 1,
        ("MATH", 11, True, None, True, False, None): 4,
        ("MATH", 11, False, "REG", *took, P): 95, ("MATH", 11, False, "REG", *took, N): 81,
        ("MATH", 11, False, "REG", *took, None): 4, ("MATH", 11, False, None, True, False, None): 5,
        ("ELA", 5, True, "REG", *took, P): 4, ("ELA", 5, True, "REG", *took, N): 6,
        ("ELA", 5, True, "ALT", *took, P): 1, ("ELA", 5, True, "ALT", *took, None): 1,
        ("ELA", 5, False, "REG", *took, P): 56, ("ELA", 5, False, "REG", *took, N): 34,
    }
    src = {s["file_spec"]: s for s in json.loads((out / "manifest.json").read_text())["sources"]}
    # subtotal 1: 200 + 190 + 5 + 14 + 3 + 2 (grade 3) + 100 + 95 + 1 (grade 11); set C 41 + 20
    assert src["FS175"]["children_imported"] == {"achievement.all": 610, "achievement.iep": 61}
    assert src["FS175"]["subtotals_checked"] == 9
    # the participation rows are those of FS185/FS188 alone, the levels summed away
    alone = tmp_path / "alone"
    cli("import", "edfacts", *participation_files(tmp_path / "in"), "--out", alone, code=0)
    summed = t.group_by(*keys[:-1]).agg(pl.col("count").sum())
    assert {tuple(r[k] for k in keys[:-1]): r["count"] for r in summed.iter_rows(named=True)} == assessment_rows(alone)
    # the same files comma-separated give the same bundle
    csv_out = tmp_path / "csv"
    cli("import", "edfacts", *achievement_files(tmp_path / "csv-in", delimiter=","), "--out", csv_out, code=0)
    assert (csv_out / "assessments.csv").read_bytes() == (out / "assessments.csv").read_bytes()


def test_achievement_then_determine_gives_the_hand_worked_rates(tmp_path):
    out = tmp_path / "bundle"
    cli("import", "edfacts", *achievement_files(tmp_path / "in"), "--out", out, code=0)
    res = tmp_path / "res"
    r = cli("determine", out, "--profile", "edfacts-assessment", "--out", res, code=0)
    assert "no LEA has data" not in r.output
    m = pl.read_csv(res / "measures.csv", infer_schema_length=0)

    def rates(measure: str, district: str | None) -> dict:
        rows = m.filter((pl.col("measure") == measure)
                        & (pl.col("district_id").is_null() if district is None else pl.col("district_id") == district))
        return {(r["subject"], r["grade_band"], r.get("assessment")): (
            float(r["numerator"]), float(r["denominator"]), r["status"]) for r in rows.iter_rows(named=True)}

    # participation: with IEPs, enrolled = participants + not participating (medical exemptions out)
    taking = {("MATH", "3-8", None): (44, 47, "ok"), ("MATH", "HS", None): (21, 25, "ok"),
              ("ELA", "3-8", None): (12, 12, "ok")}
    assert rates("participation", "0001") == taking
    assert rates("indicator_3b", None) == taking  # one LEA: the state's rates are its own
    # proficiency: proficient / with a valid score, regular, alternate and both; minimum n 10 per LEA
    assert rates("proficiency", "0001") == {
        ("MATH", "3-8", "REG"): (10, 37, "ok"), ("MATH", "3-8", "ALT"): (3, 4, "below_min_n"),
        ("MATH", "3-8", None): (13, 41, "ok"),
        ("MATH", "HS", "REG"): (5, 19, "ok"), ("MATH", "HS", "ALT"): (0, 1, "below_min_n"),
        ("MATH", "HS", None): (5, 20, "ok"),
        ("ELA", "3-8", "REG"): (4, 10, "ok"), ("ELA", "3-8", "ALT"): (1, 1, "below_min_n"),
        ("ELA", "3-8", None): (5, 11, "ok"),
    }
    assert rates("indicator_3c", None)[("MATH", "3-8", "ALT")] == (3, 4, "ok")  # no minimum for the state
    assert m.filter(pl.col("measure").is_in(["performance_index", "ayp", "indicator_3a"])).height == 0


def test_achievement_problems_are_located(tmp_path):
    inputs = achievement_files(tmp_path / "in")
    recs = fs175()
    # grade 3 REGASSWOACC not proficient (records 5-8: set C, MB, MW, subtotal 1): set C 20 -> 25, and MW and
    # subtotal 1 5 more. With IEPs: 8 + 25 + 2 + 7 = 42 regular scores, above FS185's 40 participants
    recs[4]["Amount"], recs[6]["Amount"], recs[7]["Amount"] = "25", "155", "195"
    said = problems(tmp_path, *inputs[:2], write(tmp_path / "over.txt", "FS175", recs, period=PERIOD_23))
    assert "over.txt" in said and "grade 3" in said and "REG" in said and "42 with a score" in said and "(40)" in said
    # scores without the participation file of their subject and year
    said = problems(tmp_path, inputs[0], inputs[2], inputs[3])
    assert "FS178.txt" in said and "FS188 of 2022-23" in said
    said = problems(tmp_path, inputs[2])  # FS175 alone, no participation file at all
    assert "FS175.txt, row 2" in said and "FS185 of 2022-23" in said
    recs = fs175()
    recs[0]["AssessAdministeredID"] = "ALTASSGRADELVL"  # an alternate on grade-level standards: not a current code
    recs[1]["ProficiencyStatusID"] = "MISSING"
    recs[2]["TableTypeAbbrv"] = "STUDPERFRLALG"  # a reading table in the math file
    said = problems(tmp_path, *inputs[:2], write(tmp_path / "codes.txt", "FS175", recs, period=PERIOD_23))
    assert "'ALTASSGRADELVL'" in said and "AssessAdministeredID" in said
    assert "'MISSING'" in said and "ProficiencyStatusID" in said
    assert "'STUDPERFRLALG'" in said and "STUDPERFMLG or STUDPERFMHS" in said
    old = write(tmp_path / "old.txt", "FS175", fs175(), period="2020-2021")
    assert "FS175 layout sedet knows (2022-23, 2023-24)" in problems(tmp_path, old)


def test_participation_alone_warns_that_no_lea_has_a_proficiency_rate(tmp_path):
    """FS185/FS188 without FS175/FS178: participation is computed, and the run says that no LEA has a
    proficiency rate (every row no_data), on the terminal and in the manifest."""
    out = tmp_path / "bundle"
    cli("import", "edfacts", *participation_files(tmp_path / "in"), "--out", out, code=0)
    r = cli("determine", out, "--profile", "edfacts-assessment", "--out", tmp_path / "res", code=0)
    said = "no LEA has data for proficiency"
    assert said in r.output
    manifest = json.loads((tmp_path / "res" / "manifest.json").read_text())
    assert any(said in w for w in manifest["run"]["warnings"])
    m = pl.read_csv(tmp_path / "res" / "measures.csv", infer_schema_length=0)
    assert m.filter(pl.col("measure") == "participation").get_column("status").to_list() == ["ok"] * 3


@pytest.mark.parametrize("code", sorted(FILES))
def test_every_layout_covers_its_record_field_after_field(code):
    """Each field starts where the one before ends, from position 1 to the record's last character, as
    the specifications' start and length columns say (docs/reference/edfacts-layouts.md): a field
    typed at the wrong place would shift every field after it."""
    spec = FILES[code]
    ends = 0
    for f in spec.fields:
        assert f.start == ends + 1, f"{code} {f.name} starts at {f.start}, after {ends}"
        ends = f.start + f.length - 1
    assert ends == spec.record_length
