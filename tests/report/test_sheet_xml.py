"""What report/sheet_xml.py relies on in openpyxl, beyond its public API, checked against the
installed openpyxl: if a release changes any of it, these tests fail before a workbook goes wrong
(pyproject.toml pins the versions they passed on).

1. openpyxl's workbook writer writes into the archive it is given, and a saved write-only worksheet
   holds one `</sheetData>`, after the rows appended through openpyxl, numbered from 1: rendered rows
   numbered after them go just before it.
2. In a fresh workbook, cell styles are numbered 1, 2, ... in the order of first use, and the same
   style asked for again gets the same number (StyleRegistry hands out numbers on that promise).
3. A table rendered by the fast path reads back exactly as the same table written cell by cell
   through openpyxl's public API: values, types, number formats and fills.
"""

from __future__ import annotations

import io
import re
import zipfile

import polars as pl
from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill
from openpyxl.writer.excel import ExcelWriter

from sedet.report.sheet_xml import new_workbook, save_deterministic, sheet_parts, style_id, table_sheet
from sedet.report.xlsx import PERCENT, Col, text_cell

GREEN = PatternFill("solid", fgColor="C6EFCE")
RED = PatternFill("solid", fgColor="FFC7CE")


def test_a_saved_sheet_has_one_sheetdata_end_after_the_appended_rows():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("T")
    ws.append(["intro"])
    ws.append(["a", "b"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        ExcelWriter(wb, archive).save()
    with zipfile.ZipFile(buf) as z:
        part = sheet_parts(z)["T"]
        xml = z.read(part).decode()
    assert xml.count("</sheetData>") == 1
    assert re.findall(r'<row r="(\d+)"', xml) == ["1", "2"]
    assert xml.rindex('<row r="2"') < xml.index("</sheetData>")


def test_styles_are_numbered_in_the_order_of_first_use():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("T")
    got = [style_id(ws, "0.0%", None), style_id(ws, "", GREEN), style_id(ws, "0.0%", RED), style_id(ws, "0.0%", None)]
    assert got == [1, 2, 3, 1]
    # with an alignment (the cells of a table with wrapped columns): a style of its own, in the same order
    got = [style_id(ws, "", None, "wrap"), style_id(ws, "0.0%", None, "top"), style_id(ws, "", None, "wrap")]
    assert got == [4, 5, 4]


def test_sheet_parts_follow_the_workbooks_relationships(tmp_path):
    book = new_workbook()
    for title in ("Summary", "F1 & F2", "Säulen", "x" * 31):
        table_sheet(book, title, [Col("n", "N")], pl.DataFrame({"n": [1]}))
    path = tmp_path / "t.xlsx"
    save_deterministic(book, path)
    with zipfile.ZipFile(path) as z:
        parts = sheet_parts(z)
        assert set(parts) == {"Summary", "F1 & F2", "Säulen", "x" * 31}
        assert all('<row r="2"' in z.read(p).decode() for p in parts.values())  # each got its rendered row


def test_the_fast_path_reads_back_as_openpyxls_own_cells(tmp_path):
    frame = pl.DataFrame({
        "name": ["=SUM(A1)", "a < b & c", "+1", "plain", "@x"],
        "n": [1, 20, None, 400, 5],
        "rate": [0.25, 0.5, None, 1.0, 0.0125],
        "flag": [True, False, None, True, False],
        "category": ["good", "bad", "good", "other", "bad"],
    })
    cols = [Col("name", "Name"), Col("n", "N", fmt="#,##0"), Col("rate", "Rate", fmt=PERCENT, painted=True),
            Col("flag", "Flag", painted=True)]
    palette = {"good": GREEN, "bad": RED}

    fast = new_workbook()
    table_sheet(fast, "T", cols, frame, intro=["Intro"], fill_by="category", palette=palette)
    save_deterministic(fast, tmp_path / "fast.xlsx")

    plain = Workbook()  # openpyxl's ordinary workbook, cell by cell, public API only
    ws = plain.active
    ws.title = "T"
    ws.append(["Intro"])
    ws.append([c.header for c in cols])
    for r, row in enumerate(frame.iter_rows(named=True), start=3):
        for j, col in enumerate(cols, start=1):
            value = row[col.key]
            if isinstance(value, bool):
                value = "yes" if value else "no"
            if value is None:
                continue
            cell = ws.cell(row=r, column=j, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            if col.fmt and not isinstance(value, str):
                cell.number_format = col.fmt
            if col.painted and row["category"] in palette:
                cell.fill = palette[row["category"]]
    plain.save(tmp_path / "plain.xlsx")

    def cells(path):
        sheet = load_workbook(path)["T"]
        return [[(c.value, c.data_type, c.number_format if c.value is not None else None,
                  c.fill.fgColor.rgb if c.fill and c.fill.fill_type else None)
                 for c in row] for row in sheet.iter_rows(min_row=3, max_row=7, max_col=len(cols))]

    assert cells(tmp_path / "fast.xlsx") == cells(tmp_path / "plain.xlsx")


def test_a_text_cell_is_text_whatever_it_starts_with(tmp_path):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("T")
    ws.append([text_cell(ws, "=1+1"), text_cell(ws, "\tx")])
    wb.save(tmp_path / "t.xlsx")
    row = next(load_workbook(tmp_path / "t.xlsx")["T"].iter_rows())
    assert [(c.value, c.data_type) for c in row] == [("=1+1", "s"), ("\tx", "s")]
