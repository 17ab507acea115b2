"""`sedet diff OLD NEW` through the CLI (issue 6, item 5); the comparison itself is in tests/cases/test_diff.py.

OLD is the hand-worked small run (004 overridden to Needs Support); NEW is the same bundle without the
overrides table, so 004 stays at its cut-point category, Meets (2 of 2 points = 100% >= 80%). No other
LEA changes. The factors did not move (the override is not a factor): "none" moved.
"""

from __future__ import annotations

import json

import openpyxl
from typer.testing import CliRunner

from sedet.cli import app

from .conftest import run_determine, write_bundle


def test_diff_cli_workbook_and_json(tmp_path, small_run, tiny_profile):
    new = run_determine(write_bundle(tmp_path / "bundle", overrides=None), tiny_profile, tmp_path / "new")
    xlsx = tmp_path / "x.xlsx"
    r = CliRunner().invoke(app, ["diff", str(small_run), str(new), "--out", str(xlsx)])
    assert r.exit_code == 0, r.output
    assert "004" in r.stdout
    wb = openpyxl.load_workbook(xlsx)
    cells = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert "004" in cells
    r = CliRunner().invoke(app, ["diff", str(small_run), str(new), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    changes = {c["district_id"]: c for c in doc["changes"]}
    assert set(changes) == {"004"}
    c = changes["004"]
    assert (c["old_category"], c["new_category"]) == ("NS", "M")
    assert (c["old_category_label"], c["new_category_label"]) == ("Needs Support", "Meets")
    assert c["change"] in ("better", "changed")  # "changed" when the profile cannot be loaded by its id
    assert c["district_name"] == "@SUM(A1)"  # the CSV's apostrophe is removed on reading
