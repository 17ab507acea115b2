"""Hostile input (issue 17): every file an adversary can make ends in a clean run or a located problem
(exit 1): never a crash, never a silent guess. Each case is the one the adversarial review found,
on a copy of sample_data/ with one file changed; the expected message is what the rule says
(docs/design.md section 4)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"


@pytest.fixture
def bundle(tmp_path) -> Path:
    b = tmp_path / "bundle"
    shutil.copytree(SAMPLE, b, ignore=shutil.ignore_patterns("osep-states", "README.md"))
    return b


def edit(b: Path, table: str, fn) -> None:
    p = b / f"{table}.csv"
    p.write_bytes(fn(p.read_bytes()))


def validate(cli, b: Path, code: int):
    return cli("validate", b, "--profile", "nj-ffy2022", code=code)


def determine(cli, b: Path, out: Path, code: int):
    r = cli("determine", b, "--profile", "nj-ffy2022", "--out", out, "--quiet", code=code)
    if code:
        assert not out.exists(), "nothing is written while a problem stands"
    return r


def to_xlsx(b: Path, table: str) -> openpyxl.Workbook:
    """The table as a workbook (text cells stay text, even a name that starts with '=')."""
    df = pl.read_csv(b / f"{table}.csv", infer_schema=False)
    (b / f"{table}.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = table
    ws.append(df.columns)
    for row in df.iter_rows():
        ws.append(list(row))
    for r in ws.iter_rows():
        for c in r:
            if isinstance(c.value, str) and c.value.startswith("="):
                c.data_type = "s"
    return wb


@pytest.mark.parametrize(("bad", "shown"), [(b"\x00", "\\x00"), (b"\x1b[31m", "\\x1b[31m"), (b"\x0b", "\\x0b")])
def test_control_characters_in_a_name_are_named_and_never_echoed(cli, bundle, tmp_path, bad, shown):
    edit(bundle, "districts", lambda d: d.replace(b"Willowville", b"Willow" + bad + b"ville", 1))
    r = determine(cli, bundle, tmp_path / "out", 1)
    assert "districts.csv, row 2, column 'district_name': expected text without control characters" in r.output
    assert shown in r.output and bad not in r.output.encode()


def test_a_tab_in_a_district_id_is_a_problem(cli, bundle):
    edit(bundle, "districts", lambda d: d.replace(b"\n02880,", b"\n028\t80,", 1))
    r = validate(cli, bundle, 1)
    assert "column 'district_id': expected an identifier or code without control characters, tabs or line breaks" \
        in r.output


def test_text_longer_than_a_cell_holds(cli, bundle):
    edit(bundle, "districts", lambda d: d.replace(b"Willowville", b"W" * 40_000, 1))
    r = validate(cli, bundle, 1)
    # "Willowville School District" with its first word 40,000 characters long: 40,000 + 16
    assert "expected text of at most 32,767 characters, found 40016 characters" in r.output


def test_a_district_id_too_long_for_a_file_name(cli, bundle):
    long_id = b"L" * 65  # the limit is 64
    for table in ("districts", "enrollment"):
        edit(bundle, table, lambda d: d.replace(b"\n02880,", b"\n" + long_id + b",").replace(b",02880,", b"," +
                                                                                             long_id + b","))
    r = validate(cli, bundle, 1)
    assert "districts.csv, row 2, column 'district_id': expected an identifier or code of at most 64 characters" \
        in r.output


def test_a_count_beyond_the_maximum(cli, bundle):
    def f(d: bytes) -> bytes:
        lines = d.split(b"\n")
        lines[5] = lines[5].rsplit(b",", 1)[0] + b",9007199254740000"
        return b"\n".join(lines)

    edit(bundle, "enrollment", f)
    r = validate(cli, bundle, 1)
    assert "enrollment.csv, row 6, column 'count': expected a value of at most 10,000,000, found " \
        "'9007199254740000'" in r.output


def test_cr_only_line_ends_are_read(cli, bundle, tmp_path):
    """A file with classic Mac line ends (CR alone) holds the same table: the same results."""
    determine(cli, bundle, tmp_path / "lf", 0)
    edit(bundle, "districts", lambda d: d.replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    determine(cli, bundle, tmp_path / "cr", 0)
    lf, cr = (tmp_path / name / "determinations.csv" for name in ("lf", "cr"))
    assert lf.read_bytes() == cr.read_bytes()


def test_utf16_gets_the_encoding_hint(cli, bundle):
    edit(bundle, "districts", lambda d: d.decode("utf-8").encode("utf-16"))
    r = validate(cli, bundle, 1)
    assert "districts.csv: expected text in UTF-8, found a UTF-16 file" in r.output
    assert "--encoding utf-16" in r.output


@pytest.mark.parametrize("command", ["validate", "determine"])
def test_a_row_cut_short_is_a_problem(cli, bundle, tmp_path, command):
    """The last 2 fields of a 2023 evaluation row dropped: 7 fields in the header, 5 in the row."""
    lines = (bundle / "evaluations.csv").read_bytes().split(b"\n")
    at = max(i for i, line in enumerate(lines) if line.startswith(b"2023,"))
    lines[at] = b",".join(lines[at].split(b",")[:-2])
    (bundle / "evaluations.csv").write_bytes(b"\n".join(lines))
    args = ["--out", tmp_path / "out", "--quiet"] if command == "determine" else []
    r = cli(command, bundle, "--profile", "nj-ffy2022", *args, code=1)
    assert f"evaluations.csv, row {at + 1}: expected 7 fields, as in the header, found 5 fields" in r.output
    assert not (tmp_path / "out").exists()


def test_a_row_cut_short_in_a_file_with_quotes(cli, bundle):
    """A file with quoted fields (a comma inside a name) is read record by record."""
    def f(d: bytes) -> bytes:
        lines = d.split(b"\n")
        lines[2] = lines[2].replace(b",", b',"Quoted, Name",', 1).split(b",", 2)[0] + b',"Quoted, Name",2,true'
        lines[4] = b",".join(lines[4].split(b",")[:2])
        return b"\n".join(lines)

    edit(bundle, "districts", f)
    r = validate(cli, bundle, 1)
    assert "districts.csv, row 5: expected 4 fields, as in the header, found 2 fields" in r.output


def test_a_header_only_table_the_profile_needs(cli, bundle):
    edit(bundle, "enrollment", lambda d: d.split(b"\n")[0] + b"\n")
    r = validate(cli, bundle, 1)
    assert "enrollment.csv: expected rows of data (the profile needs this table), found a header row only" in r.output


def test_an_unclosed_quote_is_named_by_its_line(cli, bundle):
    def f(d: bytes) -> bytes:
        lines = d.split(b"\n")
        parts = lines[3].split(b",")
        parts[1] = b'"Open quote'
        lines[3] = b",".join(parts)
        return b"\n".join(lines)

    edit(bundle, "districts", f)
    r = validate(cli, bundle, 1)
    assert "districts.csv, row 4: expected a quoted field that ends with a quote" in r.output


def test_a_quoted_line_break_does_not_shift_the_row_named(cli, bundle):
    """Line 3 holds a name running over two lines; the bad level is on line 7 of the file."""
    def f(d: bytes) -> bytes:
        lines = d.split(b"\n")
        parts = lines[2].split(b",")
        parts[1] = b'"Multi\nLine"'
        lines[2] = b",".join(parts)
        parts = lines[5].split(b",")
        parts[2] = b"x9"
        lines[5] = b",".join(parts)
        return b"\n".join(lines)

    edit(bundle, "districts", f)
    r = validate(cli, bundle, 1)
    assert "districts.csv, row 7, column 'accountability_level': expected a whole number, found 'x9'" in r.output


def test_a_list_column_in_parquet(cli, bundle):
    t = pl.read_csv(bundle / "transition.csv", infer_schema=False)
    (bundle / "transition.csv").unlink()
    t.with_columns(pl.concat_list(pl.col("count"))).write_parquet(bundle / "transition.parquet")
    r = validate(cli, bundle, 1)
    assert "transition.parquet, column 'count': expected a column of single values" in r.output
    assert "List(String)" in r.output


def test_a_far_cell_in_a_workbook_is_refused_before_reading(cli, bundle):
    """A stray cell at XFD1048576: 1,048,576 x 16,384 cells the Excel reader would allocate (it
    aborted the process asking for 550 GB)."""
    wb = to_xlsx(bundle, "districts")
    wb.active["XFD1048576"] = "x"
    wb.save(bundle / "districts.xlsx")
    r = validate(cli, bundle, 1)
    assert "districts.xlsx, sheet 'districts': expected cells within 50,000,000 (rows x columns) of a table, " \
        "found a cell at XFD1048576: 1,048,576 rows x 16,384 columns" in r.output


def test_excel_error_cells_and_uncalculated_formulas(cli, bundle):
    """C3 holds #DIV/0! (a cached error, as Excel saves it); D4 a formula never calculated."""
    wb = to_xlsx(bundle, "compliance")
    wb.active["C3"] = "=1/0"
    wb.active["D4"] = "=C4*2"
    path = bundle / "compliance.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = parts[sheet].decode()
    start = xml.index('<c r="C3"')
    end = xml.index("</c>", start) + 4
    parts[sheet] = (xml[:start] + '<c r="C3" t="e"><f>1/0</f><v>#DIV/0!</v></c>' + xml[end:]).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    r = validate(cli, bundle, 1)
    assert "compliance.xlsx, sheet 'compliance', row 3, column 'findings': expected a value, found the Excel " \
        "error #DIV/0!" in r.output
    assert "compliance.xlsx, sheet 'compliance', row 4, column 'findings_corrected_on_time': expected a value (a " \
        "formula's result), found a formula that was never calculated" in r.output


def test_a_hidden_sheet_is_not_read(cli, bundle):
    """The first sheet of districts.xlsx is hidden and holds junk: the visible 'districts' is read."""
    wb = to_xlsx(bundle, "districts")
    old = wb.create_sheet("old", 0)
    old.append(["junk"])
    old.sheet_state = "hidden"
    wb.save(bundle / "districts.xlsx")
    validate(cli, bundle, 0)


def test_a_workbook_that_is_not_one(cli, bundle):
    (bundle / "districts.csv").unlink()
    (bundle / "districts.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    r = validate(cli, bundle, 1)
    assert "districts.xlsx" in r.output and "not an Excel workbook" in r.output
