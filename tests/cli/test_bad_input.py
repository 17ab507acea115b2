"""Bad bundles: every problem names file, (sheet,) row, column, what was expected and what was found,
exits 1 (2 for usage errors), prints no traceback, and `determine` writes nothing."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import polars as pl

from .conftest import ASSESSMENT_HEADER, GOOD_ROW, csv_text

SUBJECT_EXPECTED = "one of ELA, MATH, SCI or a local code mapped in the profile's [codes.subject]"
RACE_EXPECTED = (
    "one of AM7, AS7, BL7, HI7, PI7, WH7, MU7 or a local code mapped in the profile's [codes.race_ethnicity]"
)
LEVEL_EXPECTED = (
    "a performance level of the profile's scale for that grade and assessment "
    "(3-8 REG: 1ON, 1OFF, 2ON, 2OFF, 3, 4; 3-8 ALT: 1, 2, 3, 4; HS REG/ALT: 1, 2, 3, 4)"
)
EVAL_HEADER = "school_year,district_id,student_id,consent_date,determination_date"


def problem(file, row, column, expected, found, sheet=None, table=None):
    return {
        "file": file,
        "row": row,
        "column": column,
        "expected": expected,
        "found": found,
        "sheet": sheet,
        "table": table,
    }


# ---------------------------------------------------------------------------------------------------
# Columns and tables


def test_missing_column(cli, rows):
    header = "school_year,district_id,subject,grade,iep,performance_level"
    b = cli.assessments("2012,00123,ELA,4,true,3", header=header)
    result = cli.determine_fails(b)
    line = next(r for r in rows(result.stderr) if r[0] == "assessments.csv")
    assert line[:3] == ["assessments.csv", "", "participated"]
    assert line[3] == "a column named 'participated' (required in table 'assessments')"
    assert "'subject'" in line[4] and "'performance_level'" in line[4]

    report = cli.problems(b)
    assert [(p["file"], p["row"], p["column"]) for p in report["problems"]] == [
        ("assessments.csv", None, "participated")
    ]


def test_missing_table_the_profile_needs(cli, rows):
    b = cli.bundle(districts_csv=csv_text("district_id,district_name", "00123,Albany"))
    result = cli.determine_fails(b)
    assert "no such table in the bundle" in result.stderr
    assert (
        "a table 'assessments' (assessments.csv, assessments.xlsx or assessments.parquet, or a sheet 'assessments')"
        in result.stderr
    )
    report = cli.problems(b)
    assert report["problems"] == [
        problem(
            "bundle",
            None,
            None,
            "a table 'assessments' (assessments.csv, assessments.xlsx or assessments.parquet, "
            "or a sheet 'assessments'), "
            "which the profile needs",
            "no such table in the bundle",
            table="assessments",
        )
    ]


def test_bundle_folder_that_does_not_exist(cli, tmp_path):
    result = cli.determine_fails(tmp_path / "nowhere", 2)
    assert "bundle" in result.stderr and "nowhere" in result.stderr and "does not exist" in result.stderr


def test_column_names_matched_case_insensitively(cli):
    header = "School Year,District ID,SUBJECT,Grade,IEP,Participated,Performance Level"
    b = cli.assessments(GOOD_ROW, header=header)
    report = cli.problems(b, code=0)
    assert report["valid"] is True and report["tables"] == {"assessments": 1}


def test_duplicate_column_differing_only_in_case(cli):
    b = cli.assessments("2012,00123,ELA,4,true,true,3,5", header=ASSESSMENT_HEADER + ",Grade")
    report = cli.problems(b)
    assert [(p["file"], p["row"], p["column"], p["expected"]) for p in report["problems"]] == [
        ("assessments.csv", 1, "Grade", "each column once")
    ]


def test_exactly_repeated_column_is_refused(cli):
    """BUG: polars renames a repeated header to `grade_duplicated_0`, so the 'each column once' check never
    sees it: the second `grade` (5) is silently ignored and the file validates."""
    b = cli.assessments("2012,00123,ELA,4,true,true,3,5", header=ASSESSMENT_HEADER + ",grade")
    report = cli.problems(b)  # expected exit 1
    assert [(p["file"], p["row"], p["column"], p["expected"]) for p in report["problems"]] == [
        ("assessments.csv", 1, "grade", "each column once")
    ]


# ---------------------------------------------------------------------------------------------------
# Values


def test_wrong_type_count(cli, rows):
    b = cli.assessments(GOOD_ROW + ",1", "2012,00123,ELA,4,true,true,3,x", header=ASSESSMENT_HEADER + ",count")
    result = cli.determine_fails(b)
    assert ["assessments.csv", "3", "count", "a whole number", "'x'"] in rows(result.stderr)
    assert cli.problems(b)["problems"] == [
        problem("assessments.csv", 3, "count", "a whole number", "'x'", table="assessments")
    ]


def test_wrong_type_grade(cli, rows):
    b = cli.assessments(GOOD_ROW, "2012,00123,ELA,three,true,true,3")
    result = cli.determine_fails(b)
    assert ["assessments.csv", "3", "grade", "a whole number", "'three'"] in rows(result.stderr)
    assert cli.problems(b)["problems"] == [
        problem("assessments.csv", 3, "grade", "a whole number", "'three'", table="assessments")
    ]


def test_wrong_type_bool(cli, rows):
    b = cli.assessments(GOOD_ROW, "2012,00123,ELA,4,maybe,true,3")
    result = cli.determine_fails(b)
    assert ["assessments.csv", "3", "iep", "true or false (also yes/no, y/n, 1/0)", "'maybe'"] in rows(result.stderr)


def test_required_value_empty(cli, rows):
    b = cli.assessments(GOOD_ROW, "2012,00123,ELA,4,true,,3")
    result = cli.determine_fails(b)
    assert ["assessments.csv", "3", "participated", "a value (the column is required)", "an empty cell"] in rows(
        result.stderr
    )


def test_blank_line_keeps_line_numbers(cli):
    b = cli.assessments(GOOD_ROW, "", "2012,00123,ELA,three,true,true,3")
    assert [(p["row"], p["column"]) for p in cli.problems(b)["problems"]] == [(4, "grade")]


def test_crlf_line_endings(cli):
    text = (ASSESSMENT_HEADER + "\r\n" + GOOD_ROW + "\r\n" + "2012,00123,ELA,three,true,true,3\r\n").encode()
    b = cli.bundle(assessments_csv=text)
    assert [(p["row"], p["column"], p["found"]) for p in cli.problems(b)["problems"]] == [(3, "grade", "'three'")]


def test_unknown_subject(cli, rows):
    b = cli.assessments(GOOD_ROW, "2012,00123,SCIENCE,4,true,true,3")
    result = cli.determine_fails(b)
    line = next(r for r in rows(result.stderr) if r[0] == "assessments.csv")
    assert line[:3] == ["assessments.csv", "3", "subject"] and line[4] == "'SCIENCE'"
    assert cli.problems(b)["problems"] == [
        problem("assessments.csv", 3, "subject", SUBJECT_EXPECTED, "'SCIENCE'", table="assessments")
    ]


def test_unknown_race_ethnicity_in_enrollment(cli, rows, tmp_path):
    enrollment = csv_text("school_year,district_id,race_ethnicity,iep", "2012,00123,WH7,true", "2012,00123,ZZ,false")
    b = cli.assessments(GOOD_ROW, enrollment_csv=enrollment)
    # nj-ffy2022 computes risk ratios by race/ethnicity: determine refuses and names the cell
    # (beside the tables that bundle lacks).
    result = cli("determine", b, "--profile", "nj-ffy2022", "--out", tmp_path / "nj", code=1)
    assert not (tmp_path / "nj").exists()
    line = next(r for r in rows(result.stderr) if r[0] == "enrollment.csv")
    assert line[:3] == ["enrollment.csv", "3", "race_ethnicity"] and line[4] == "'ZZ'"
    # validate checks every column, whatever the profile reads
    assert cli.problems(b)["problems"] == [
        problem("enrollment.csv", 3, "race_ethnicity", RACE_EXPECTED, "'ZZ'", table="enrollment")
    ]
    # ny-ffy2011 reads no race/ethnicity: its determination does not depend on the column, which is
    # neither read nor checked, and the manifest says so
    cli("determine", b, "--profile", "ny-ffy2011", "--out", tmp_path / "ny", code=0)
    inputs = {i["table"]: i for i in json.loads((tmp_path / "ny" / "manifest.json").read_text())["inputs"]}
    assert inputs["enrollment"]["columns_not_read"] == ["race_ethnicity", "iep"]
    assert inputs["enrollment"]["rows_read"] == 2
    assert inputs["assessments"]["columns_not_read"] == []


def test_performance_level_not_in_the_grade_scale(cli, rows):
    # 1ON is a level of the grades 3-8 scale, not of the high-school scale.
    b = cli.assessments("2012,00123,ELA,4,true,true,1ON", "2012,00123,ELA,11,true,true,1ON")
    result = cli.determine_fails(b)
    assert ["assessments.csv", "3", "performance_level", LEVEL_EXPECTED, "'1ON' for grade 11 REG"] in rows(
        result.stderr
    )
    assert cli.problems(b)["problems"] == [
        problem(
            "assessments.csv", 3, "performance_level", LEVEL_EXPECTED, "'1ON' for grade 11 REG", table="assessments"
        )
    ]


def test_negative_count(cli, rows):
    b = cli.assessments(GOOD_ROW + ",3", "2012,00123,ELA,4,true,true,3,-2", header=ASSESSMENT_HEADER + ",count")
    result = cli.determine_fails(b)
    assert ["assessments.csv", "3", "count", "a value of at least 0", "'-2'"] in rows(result.stderr)


def test_fractional_count(cli):
    b = cli.assessments("2012,00123,ELA,4,true,true,3,1.5", header=ASSESSMENT_HEADER + ",count")
    assert [(p["row"], p["column"], p["expected"], p["found"]) for p in cli.problems(b)["problems"]] == [
        (2, "count", "a whole number", "'1.5'")
    ]


def test_grade_out_of_range(cli):
    b = cli.assessments("2012,00123,ELA,2,true,true,3")
    assert [(p["row"], p["column"], p["expected"]) for p in cli.problems(b)["problems"]] == [
        (2, "grade", "a value of at least 3")
    ]


def test_numbers_too_large_for_the_narrow_columns_are_named_like_any_other(cli):
    # school_year and grade are parsed as 2-byte whole numbers (io.read.small_int_columns); a
    # value beyond 32767 is reported against the column's range, with the row, as any bad value.
    b = cli.assessments(GOOD_ROW, "40000,00123,ELA,4,true,true,3", "2012,00123,ELA,99999,true,true,3")
    assert [(p["row"], p["column"], p["expected"], p["found"]) for p in cli.problems(b)["problems"]] == [
        (3, "school_year", "a value of at most 2100", "'40000'"),
        (4, "grade", "a value of at most 12", "'99999'"),
    ]


def test_determination_date_before_consent_date(cli, rows):
    evaluations = csv_text(EVAL_HEADER, "2012,00123,s1,2012-01-10,2012-02-01", "2012,00123,s2,2012-01-10,2012-01-05")
    b = cli.assessments(GOOD_ROW, evaluations_csv=evaluations)
    result = cli.determine_fails(b)
    line = next(r for r in rows(result.stderr) if r[0] == "evaluations.csv")
    assert line == [
        "evaluations.csv",
        "3",
        "determination_date",
        "a determination date on or after the consent date",
        "'2012-01-05', before the consent date '2012-01-10'",
    ]


def test_date_that_does_not_parse(cli):
    evaluations = csv_text(EVAL_HEADER, "2012,00123,s1,2012-13-45,")
    b = cli.assessments(GOOD_ROW, evaluations_csv=evaluations)
    assert [(p["file"], p["row"], p["column"], p["found"]) for p in cli.problems(b)["problems"]] == [
        ("evaluations.csv", 2, "consent_date", "'2012-13-45'")
    ]


def test_duplicate_key(cli, rows):
    evaluations = csv_text(
        EVAL_HEADER,
        "2012,00123,s1,2012-01-10,2012-02-01",
        "2012,00123,s2,2012-01-10,",
        "2012,00123,s1,2012-01-12,2012-02-03",
    )
    b = cli.assessments(GOOD_ROW, evaluations_csv=evaluations)
    result = cli.determine_fails(b)
    assert [
        "evaluations.csv",
        "4",
        "student_id",
        "one row per school_year, district_id, student_id",
        "the same school_year, district_id, student_id as row 2",
    ] in rows(result.stderr)


def test_district_not_in_districts(cli, rows):
    b = cli.assessments(
        GOOD_ROW, "2012,00124,ELA,4,true,true,3", districts_csv=csv_text("district_id,district_name", "00123,Albany")
    )
    result = cli.determine_fails(b)
    assert [
        "assessments.csv",
        "3",
        "district_id",
        "a district_id listed in the districts table",
        "'00124', which is not listed",
    ] in rows(result.stderr)


def test_district_ids_compared_as_text(cli):
    # 123 is not 00123: identifiers are never read as numbers.
    b = cli.assessments("2012,123,ELA,4,true,true,3", districts_csv=csv_text("district_id", "00123"))
    assert [(p["row"], p["column"], p["found"]) for p in cli.problems(b)["problems"]] == [
        (2, "district_id", "'123', which is not listed")
    ]


# ---------------------------------------------------------------------------------------------------
# Files and encodings


def test_empty_file(cli, rows):
    b = cli.bundle(assessments_csv=b"")
    result = cli.determine_fails(b)
    assert ["assessments.csv", "", "", "a header row and data rows", "an empty file"] in rows(result.stderr)
    assert cli.problems(b)["problems"] == [
        problem("assessments.csv", None, None, "a header row and data rows", "an empty file", table="assessments")
    ]


def test_utf8_bom_header_loads(cli, tmp_path):
    b = cli.bundle(assessments_csv=("\ufeff" + csv_text(ASSESSMENT_HEADER, GOOD_ROW)).encode("utf-8"))
    assert cli.problems(b, code=0)["tables"] == {"assessments": 1}
    cli("determine", b, "--profile", "ny-ffy2011", "--out", tmp_path / "out", code=0)


def test_latin1_without_encoding_suggests_it(cli, rows):
    districts = csv_text("district_id,district_name", "00123,Peñasco").encode("latin-1")
    b = cli.assessments(GOOD_ROW, districts_csv=districts)
    result = cli.determine_fails(b)
    line = next(r for r in rows(result.stderr) if r[0] == "districts.csv")
    assert line[1] == "2"  # the line holding the byte
    assert line[3] == "text in UTF-8"
    assert "--encoding latin-1" in line[4]
    [p] = cli.problems(b)["problems"]
    assert (p["file"], p["row"]) == ("districts.csv", 2) and "--encoding latin-1" in p["found"]


def test_latin1_with_encoding(cli, tmp_path):
    districts = csv_text("district_id,district_name", "00123,Peñasco").encode("latin-1")
    b = cli.assessments(GOOD_ROW, districts_csv=districts)
    out = tmp_path / "out"
    cli("determine", b, "--profile", "ny-ffy2011", "--out", out, "--encoding", "latin-1", code=0)
    measures = pl.read_csv(out / "measures.csv", infer_schema=False)
    assert measures.filter(pl.col("district_id") == "00123").get_column("district_name").unique().to_list() == [
        "Peñasco"
    ]


def test_unknown_encoding(cli):
    b = cli.assessments(GOOD_ROW)
    result = cli.determine_fails(b, 2, "--encoding", "klingon")
    assert "unknown encoding 'klingon'" in result.stderr


def test_csv_row_with_too_many_fields_names_the_row(cli):
    """BUG: a ragged row gives polars' message without a row number (row None)."""
    b = cli.assessments(GOOD_ROW, "2012,00123,ELA,4,true,true,3,surplus")
    [p] = cli.problems(b)["problems"]
    assert (p["file"], p["row"]) == ("assessments.csv", 3)


# ---------------------------------------------------------------------------------------------------
# Excel and Parquet


def _workbook(path, sheets: dict[str, list[list]]):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, table in sheets.items():
        ws = wb.create_sheet(name)
        for r in table:
            ws.append(r)
    wb.save(path)
    return path


ASSESSMENT_COLUMNS = ASSESSMENT_HEADER.split(",")


def test_excel_bad_value_reports_sheet_and_excel_row(cli, tmp_path, rows):
    book = _workbook(
        tmp_path / "state.xlsx",
        {
            "districts": [["district_id", "district_name"], ["00123", "Albany"]],
            "assessments": [
                ASSESSMENT_COLUMNS,
                [2012, "00123", "ELA", 4, True, True, "3"],
                [None] * 7,  # a blank row keeps the numbering of the rows below
                [2012, "00123", "ELA", "three", True, True, "3"],
            ],
        },
    )
    result = cli.determine_fails(book)
    assert ["state.xlsx", "assessments", "4", "grade", "a whole number", "'three'"] in rows(result.stderr)
    assert cli.problems(book)["problems"] == [
        problem("state.xlsx", 4, "grade", "a whole number", "'three'", sheet="assessments", table="assessments")
    ]


def test_excel_bundle_valid(cli, tmp_path):
    book = _workbook(
        tmp_path / "state.xlsx",
        {
            "districts": [["district_id", "district_name"], ["00123", "Albany"]],
            "assessments": [
                ASSESSMENT_COLUMNS,
                [2012, "00123", "ELA", 4, True, True, 3],
                [2012, "00123", "MATH", 4.0, "TRUE", "Y", "2ON"],
            ],
        },
    )
    out = tmp_path / "out"
    cli("determine", book, "--profile", "ny-ffy2011", "--out", out, code=0)
    measures = pl.read_csv(out / "measures.csv", infer_schema=False)
    assert set(measures.get_column("district_id").drop_nulls()) == {"00123"}
    assert set(measures.get_column("district_name").drop_nulls()) == {"Albany"}


def test_folder_with_one_workbook_is_a_bundle(cli, tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    _workbook(folder / "export.xlsx", {"assessments": [ASSESSMENT_COLUMNS, [2012, "00123", "ELA", 4, True, True, "3"]]})
    assert cli.problems(folder, code=0)["tables"] == {"assessments": 1}


def test_excel_serial_dates_accepted(cli, tmp_path):
    book = _workbook(
        tmp_path / "state.xlsx",
        {
            "assessments": [ASSESSMENT_COLUMNS, [2012, "00123", "ELA", 4, True, True, "3"]],
            "evaluations": [
                EVAL_HEADER.split(","),
                [2012, "00123", "s1", 40909, 40950],
                [2012, "00123", "s2", dt.date(2012, 1, 3), dt.datetime(2012, 2, 1)],
                [2012, "00123", "s3", "2012-01-04", None],
            ],
        },
    )
    assert cli.problems(book, code=0)["tables"] == {"assessments": 1, "evaluations": 3}


def test_excel_serial_dates_read_as_dates(cli, tmp_path):
    # 40909 is 2012-01-01 and 40900 is 2011-12-23: the check compares the dates they stand for.
    book = _workbook(
        tmp_path / "state.xlsx",
        {
            "assessments": [ASSESSMENT_COLUMNS, [2012, "00123", "ELA", 4, True, True, "3"]],
            "evaluations": [EVAL_HEADER.split(","), [2012, "00123", "s1", 40909, 40900]],
        },
    )
    assert cli.problems(book)["problems"] == [
        problem(
            "state.xlsx",
            2,
            "determination_date",
            "a determination date on or after the consent date",
            "'2011-12-23', before the consent date '2012-01-01'",
            sheet="evaluations",
            table="evaluations",
        )
    ]


def _assessments_frame(**override) -> pl.DataFrame:
    data = {
        "school_year": [2012, 2012],
        "district_id": ["00123", "00123"],
        "subject": ["ELA", "MATH"],
        "grade": [4, 5],
        "iep": [True, True],
        "participated": [True, False],
        "performance_level": ["3", None],
    }
    data.update(override)
    return pl.DataFrame(data)


def test_parquet_table_accepted(cli, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    _assessments_frame().write_parquet(b / "assessments.parquet")
    assert cli.problems(b, code=0)["tables"] == {"assessments": 2}
    out = tmp_path / "out"
    cli("determine", b, "--profile", "ny-ffy2011", "--out", out, code=0)
    assert (out / "measures.parquet").is_file()


def test_parquet_bad_value_reports_record_number(cli, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    _assessments_frame(grade=["4", "three"]).write_parquet(b / "assessments.parquet")
    assert cli.problems(b)["problems"] == [
        problem("assessments.parquet", 2, "grade", "a whole number", "'three'", table="assessments")
    ]


# ---------------------------------------------------------------------------------------------------
# Reporting: JSON, --limit, all-or-nothing


def _many_problems(cli):
    return cli.assessments(
        GOOD_ROW,
        "2012,00123,SCIENCE,4,true,true,3",
        "2012,00123,ELA,three,true,true,3",
        "2012,00123,ELA,4,maybe,true,3",
        "2012,00123,ELA,11,true,true,1ON",
    )


def test_validate_json_lists_the_same_problems(cli, rows):
    b = _many_problems(cli)
    human = cli("validate", b, "--profile", "ny-ffy2011", code=1)
    report = cli.problems(b)
    assert report["valid"] is False and report["total"] == 4 and report["truncated"] is False
    found = [(p["file"], p["row"], p["column"]) for p in report["problems"]]
    assert found == [
        ("assessments.csv", 3, "subject"),
        ("assessments.csv", 4, "grade"),
        ("assessments.csv", 5, "iep"),
        ("assessments.csv", 6, "performance_level"),
    ]
    table = [(r[0], int(r[1]), r[2]) for r in rows(human.stderr)]
    assert table == found
    assert "4 problems in the input" in human.stderr


def test_validate_limit(cli, rows):
    b = _many_problems(cli)
    report = cli.problems(b, "--limit", "2")
    assert len(report["problems"]) == 2
    assert report["truncated"] is True and report["total"] == 4
    human = cli("validate", b, "--profile", "ny-ffy2011", "--limit", "2", code=1)
    assert len(rows(human.stderr)) == 2
    assert "stopped after 2 of 4 problems (--limit)" in human.stderr


def test_validate_valid_bundle(cli, rows):
    b = cli.assessments(GOOD_ROW, header=ASSESSMENT_HEADER)
    result = cli("validate", b, "--profile", "ny-ffy2011", code=0)
    assert ["assessments", "assessments.csv", "1", ""] in rows(result.stdout)
    assert cli.problems(b, code=0) == {
        "valid": True,
        "problems": [],
        "total": 0,
        "truncated": False,
        "tables": {"assessments": 1},
    }


def test_failed_determine_leaves_existing_out_unchanged(cli, tmp_path):
    # --out holds last month's run (a folder sedet did not write is refused: tests/cli/test_faults.py)
    out = tmp_path / "out"
    cli("determine", cli.assessments(GOOD_ROW, name="good"), "--profile", "ny-ffy2011", "--out", out, code=0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    b = cli.assessments(GOOD_ROW, "2012,00123,SCIENCE,4,true,true,3")
    cli("determine", b, "--profile", "ny-ffy2011", "--out", out, code=1)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "good", "out"]


def test_problem_text_is_printed_verbatim_not_as_markup(cli):
    """BUG: print_problems hands the cells to Rich as markup. Found text like '[/b]' crashes the CLI with
    rich.errors.MarkupError (a traceback, exit 1); '[bold]SCI' is shown as 'SCI'; and the expected text
    loses "[codes.subject]"."""
    b = cli.assessments(GOOD_ROW, "2012,00123,[/b],4,true,true,3")
    result = cli("validate", b, "--profile", "ny-ffy2011", code=1)
    assert "'[/b]'" in result.stderr
    assert "[codes.subject]" in result.stderr


def test_problem_table_readable_in_a_log(cli, monkeypatch):
    """BUG (usability): outside a terminal (cron, a log file) Rich draws the problem table 80 columns wide
    and folds cells, so a column name comes out as 'performance_lev' / 'el' and cannot be searched for."""
    from sedet import cli as cli_module

    monkeypatch.setattr(cli_module.err, "_width", 80)  # what Rich uses without a terminal
    b = cli.assessments(GOOD_ROW, "2012,00123,ELA,11,true,true,1ON")
    result = cli("validate", b, "--profile", "ny-ffy2011", code=1)
    assert "performance_level" in result.stderr
    assert "'1ON' for grade 11 REG" in result.stderr


def test_limit_keeps_the_first_problems_in_table_order_whatever_the_file_sizes(cli):
    """Large files are checked first (for speed); the problems reported under --limit are still the
    first ones in table order: enrollment before assessments, even with the larger assessments file."""
    enrollment = "school_year,district_id,race_ethnicity,iep,count\n" + "2012,00123,XX,false,1\n" * 3
    bad_assessments = "\n".join(["2012,00123,ELA,4,maybe,true,3"] * 50)
    b = cli.bundle(
        assessments_csv=ASSESSMENT_HEADER + "\n" + bad_assessments + "\n",
        enrollment_csv=enrollment,
    )
    assert (b / "assessments.csv").stat().st_size > (b / "enrollment.csv").stat().st_size
    report = cli.problems(b, "--limit", "3")
    assert report["total"] == 53 and report["truncated"] is True
    assert [(p["file"], p["row"], p["column"]) for p in report["problems"]] == [
        ("enrollment.csv", 2, "race_ethnicity"),
        ("enrollment.csv", 3, "race_ethnicity"),
        ("enrollment.csv", 4, "race_ethnicity"),
    ]
