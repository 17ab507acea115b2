"""table_sheet renders data rows as sheet XML with polars: what a reader gets back must be what
openpyxl's own cell writer would have given (values, types, formats, fills), whatever the text."""

from __future__ import annotations

import math

import polars as pl
from openpyxl import load_workbook
from openpyxl.styles import PatternFill

from sedet.report.sheet_xml import new_workbook, save_deterministic, table_sheet
from sedet.report.xlsx import PERCENT, Col


def _write(tmp_path, frame, cols, **kw):
    wb = new_workbook()
    table_sheet(wb, "T", cols, frame, intro=["Intro line"], **kw)
    path = tmp_path / "t.xlsx"
    save_deterministic(wb, path)
    return load_workbook(path)["T"]


def test_values_types_and_escaping(tmp_path):
    frame = pl.DataFrame({
        "text": ["=SUM(A1)", "a < b & c > d", "  padded  ", "bell\x07he\ufffere", "@x", ""],
        "n": [1, 2, None, 4, 5, 6],
        "x": [0.25, math.nan, math.inf, None, -0.5, 1e-5],
        "flag": [True, False, None, True, False, True],
        "shown": ["12", "<10", "n/a", "0.5", None, "-3"],
    })
    cols = [Col("text", "Text"), Col("n", "N", fmt="#,##0"), Col("x", "X", fmt=PERCENT), Col("flag", "Flag"),
            Col("shown", "Shown", fmt="0.0")]
    ws = _write(tmp_path, frame, cols)
    assert ws["A1"].value == "Intro line"
    assert [c.value for c in ws[2]] == ["Text", "N", "X", "Flag", "Shown"]
    rows = list(ws.iter_rows(min_row=3, max_row=8))
    # text is text, even when it starts like a formula; XML specials survive; control characters go
    assert [r[0].value for r in rows] == ["=SUM(A1)", "a < b & c > d", "  padded  ", "bellhere", "@x", None]
    assert all(r[0].data_type == "s" for r in rows[:5])
    # integers and floats are numbers with the column's format; NaN and infinity leave the cell empty
    assert [r[1].value for r in rows] == [1, 2, None, 4, 5, 6]
    assert rows[0][1].number_format == "#,##0" and rows[0][1].data_type == "n"
    assert [r[2].value for r in rows] == [0.25, None, None, None, -0.5, 1e-5]
    assert rows[0][2].number_format == PERCENT
    assert [r[3].value for r in rows] == ["yes", "no", None, "yes", "no", "yes"]
    # a text that reads as a number, in a formatted column, is a number; other text stays text
    assert [r[4].value for r in rows] == [12, "<10", "n/a", 0.5, None, -3]
    assert rows[0][4].data_type == "n" and rows[0][4].number_format == "0.0"
    assert rows[1][4].data_type == "s"


def test_row_formats_and_fills(tmp_path):
    frame = pl.DataFrame({
        "name": ["a", "b", "c"],
        "value": [0.5, 3.0, 0.25],
        "value_format": ["0.0%", "0", "0.0%"],
        "category": ["good", "bad", "unknown"],
        "tier": ["", "", ""],
    })
    palette = {"good": PatternFill("solid", fgColor="C6EFCE"), "bad": PatternFill("solid", fgColor="FFC7CE")}
    cols = [Col("name", "Name", painted=True), Col("value", "Value", fmt_by="value_format", painted=True),
            Col("tier", "Tier", painted=True)]
    ws = _write(tmp_path, frame, cols, fill_by="category", palette=palette)
    a, b, c = (list(ws.iter_rows(min_row=r, max_row=r))[0] for r in (3, 4, 5))
    assert [x.number_format for x in (a[1], b[1], c[1])] == ["0.0%", "0", "0.0%"]
    assert a[0].fill.fgColor.rgb.endswith("C6EFCE") and a[1].fill.fgColor.rgb.endswith("C6EFCE")
    assert b[0].fill.fgColor.rgb.endswith("FFC7CE")
    assert c[0].fill.fill_type is None  # a key not in the palette: no fill
    # an empty text is an empty cell, which keeps the row's fill (and no cell at all when unfilled)
    assert a[2].value is None and a[2].fill.fgColor.rgb.endswith("C6EFCE")
    assert c[2].value is None and c[2].fill.fill_type is None


def test_same_bytes_twice(tmp_path):
    frame = pl.DataFrame({"a": ["x", "y"], "b": [1.5, 2.5]})
    paths = []
    for k in range(2):
        wb = new_workbook()
        table_sheet(wb, "T", [Col("a", "A"), Col("b", "B", fmt="0.0")], frame)
        paths.append(tmp_path / f"{k}.xlsx")
        save_deterministic(wb, paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_more_rows_than_a_sheet_holds_continue_on_further_sheets(tmp_path, monkeypatch):
    import sedet.report.sheet_xml as X

    monkeypatch.setattr(X, "EXCEL_MAX_ROWS", 6)  # a sheet of 6 rows: intro 1, part line 1, header 1, data 3
    frame = pl.DataFrame({"n": list(range(1, 8))})  # 7 rows: parts of 3, 3 and 1
    wb = new_workbook()
    table_sheet(wb, "Risk ratios by group and category", [Col("n", "N")], frame, intro=["Intro"])
    path = tmp_path / "t.xlsx"
    save_deterministic(wb, path)
    book = load_workbook(path)
    # 33 characters: cut to 31, and to 27 before " (2)"
    assert book.sheetnames == [
        "Risk ratios by group and catego", "Risk ratios by group and ca (2)", "Risk ratios by group and ca (3)"
    ]
    got = []
    for ws in book.worksheets:
        rows = [[c.value for c in r] for r in ws.iter_rows()]
        assert rows[0] == ["Intro"] and rows[2] == ["N"]
        assert rows[1][0].startswith("Part ") and "of 7 (" in rows[1][0]
        got += [r[0] for r in rows[3:]]
        assert len(rows) <= 6
    assert got == [1, 2, 3, 4, 5, 6, 7]
    assert book.worksheets[1]["A2"].value.startswith("Part 2 of 3: rows 4-6 of 7")


def test_wrapped_columns_wrap_and_their_rows_are_tall_enough(tmp_path):
    """A wrapped column of 20 units holds 20 characters a line (xlsx.CHARS_PER_UNIT); the row height
    is estimated from the text's length: ceil(characters / (20 - 2)) lines of 15 pt.
    Row 3: 10 characters: one line, no height set. Row 4: 80 characters: ceil(80 / 18) = 5 lines = 75 pt.
    The other cells of a table with a wrapped column sit at the top of their rows."""
    frame = pl.DataFrame({"name": ["a", "b"], "note": ["x" * 10, " ".join(["abcdefghi"] * 8)[:80]],
                          "n": [1, 2]})
    cols = [Col("name", "Name"), Col("note", "Note", 20, wrap=True), Col("n", "N", fmt="0")]
    ws = _write(tmp_path, frame, cols)
    assert len(frame["note"][1]) == 79  # 8 words of 9 and 7 spaces
    assert ws.row_dimensions[3].height is None
    assert ws.row_dimensions[4].height == 75  # ceil(79 / 18) = 5 lines
    assert ws["B4"].alignment.wrap_text and ws["B4"].alignment.vertical == "top"
    assert ws["A4"].alignment.vertical == "top" and not ws["A4"].alignment.wrap_text
    assert ws["C4"].alignment.vertical == "top" and ws["C4"].number_format == "0"


def test_columns_are_fitted_to_print_at_8_pt_or_more(tmp_path):
    """Twelve wrapped columns of 20 units: 12 x (7.5 x 20 + 5) = 1,860 px, which on a landscape page
    (960 px) would print 11 pt text at 960 / 1,860 x 11 = 5.7 pt. The wrapped columns are narrowed
    until the sheet prints at 8.1 pt or more: 960 x 11 / 8.1 = 1,303 px, so each at most
    (1,303 / 12 - 5) / 7.5 = 13.8 units. A column keeps the width its header's longest word needs in
    bold: "Denominator", 11 characters at 0.85 a unit, 13 units."""
    from sedet.report.xlsx import columns_px, fit_columns

    cols = [Col(f"c{i}", f"C{i}", 20, wrap=True) for i in range(12)]
    fitted = fit_columns(cols)
    assert columns_px([c.width for c in fitted]) <= 1303
    assert all(c.width <= 14 for c in fitted)
    assert fit_columns([Col("d", "Denominator", 8)])[0].width == 13  # ceil(11 / 0.85)
