"""How the workbooks print (issue 18, items 2, 3 and 7): every sheet of determinations.xlsx,
districts/<id>.xlsx and changes.xlsx on US Letter, one page wide, nothing under 8 pt, header rows
repeated and tall enough for their text, a footer naming the run with "Page x of y", each chart on one
page; indicators in their natural order; the category chart in the categories' colours; page 1 of a
district workbook in words; a profile without determinations says so.

No renderer is installed (LibreOffice is not), so what a printer does is computed here from the
settings the workbook carries, by the rules spreadsheets print by:

- a column `w` units wide is 7.5w + 5 pixels at 96 dpi (a unit is one digit of Calibri 11: 7 px in
  Excel, 7.43 px in LibreOffice, which sets Calibri in Carlito; the wider, rounded up);
- fit to width prints a sheet at (printable width / used width), at most 1: US Letter is 8.5 x 11
  in, less the side margins the sheet sets; the used width covers the columns and any chart;
- text of size s prints at s x that scale (the default font is 11 pt);
- rows are 15 pt unless the sheet sets a height; a page holds (page height - top and bottom margins)
  / scale points of rows, the repeated title rows included on every page after the first; a manual
  break starts a new page.

Worked example (the figures are this suite's own, not read from sedet): five columns of 20 units are
5 x (7.5 x 20 + 5) = 775 px; a landscape page at 0.5 in margins is (11 - 1) x 96 = 960 px: scale 1,
11 pt. Ten columns of 20 units are 1,550 px: scale 960 / 1,550 = 0.619, 11 pt prints at 6.8 pt: too
small. 8 pt needs a scale of 8 / 11 = 0.727: at most 960 / 0.727 = 1,320 px of columns.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter
from typer.testing import CliRunner

from sedet.cli import app
from sedet.report.labels import indicator_key

from .conftest import load, run_determine, write_bundle

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

LETTER = (8.5, 11.0)  # inches, portrait
DEFAULT_WIDTH = 8.43  # a column the sheet gives no width
DEFAULT_PT = 11.0
MIN_PT = 8.0
EMU_PER_PX = 9525  # 914,400 EMU an inch / 96 px an inch


# ---------------------------------------------------------------------------------------------------
# What a printer does with a sheet, from its settings


def col_widths(ws) -> list[float]:
    """The width of every column up to the last one used (a <col> element may cover several)."""
    n = ws.max_column
    widths = [DEFAULT_WIDTH] * n
    for letter, dim in ws.column_dimensions.items():
        first = dim.min or column_index_from_string(letter)
        for i in range(first, min(dim.max or first, n) + 1):
            if dim.width:
                widths[i - 1] = dim.width
    return widths


def used_px(ws, px_per_unit: float = 7.5) -> float:
    """The width a sheet prints: its columns, or further where a chart reaches."""
    px = [w * px_per_unit + 5 for w in col_widths(ws)]
    used = sum(px)
    for chart in ws._charts:
        anchor = chart.anchor
        left = sum(px[:anchor._from.col]) + anchor._from.colOff / EMU_PER_PX
        used = max(used, left + anchor.ext.width / EMU_PER_PX)
    return used


def landscape(ws) -> bool:
    return ws.page_setup.orientation == "landscape"


def printable_px(ws) -> float:
    width = LETTER[1] if landscape(ws) else LETTER[0]
    return (width - ws.page_margins.left - ws.page_margins.right) * 96


def scale(ws, px_per_unit: float = 7.5) -> float:
    return min(1.0, printable_px(ws) / used_px(ws, px_per_unit))


def smallest_font(ws) -> float:
    sizes = [c.font.sz or DEFAULT_PT for row in ws.iter_rows() for c in row if c.value is not None]
    return min(sizes, default=DEFAULT_PT)


def row_pt(ws, r: int) -> float:
    dim = ws.row_dimensions.get(r)
    return dim.height if dim is not None and dim.height else 15.0


def title_rows(ws) -> tuple[int, int]:
    m = re.fullmatch(r"\$(\d+):\$(\d+)", ws.print_title_rows or "")
    assert m, f"{ws.title}: no print title rows ({ws.print_title_rows!r})"
    return int(m.group(1)), int(m.group(2))


def pages_of_rows(ws, last: int, px_per_unit: float = 7.5) -> dict[int, int]:
    """The printed page of each row up to `last`, with a column unit `px_per_unit` pixels wide."""
    s = scale(ws, px_per_unit)
    room = ((LETTER[0] if landscape(ws) else LETTER[1]) - ws.page_margins.top - ws.page_margins.bottom) * 72 / s
    first, end = title_rows(ws)
    titles = sum(row_pt(ws, r) for r in range(first, end + 1))
    breaks = {b.id for b in ws.row_breaks.brk}
    page, used, out = 1, 0.0, {}
    for r in range(1, last + 1):
        h = row_pt(ws, r)
        if used + h > room and used > titles:
            page, used = page + 1, titles
        used += h
        out[r] = page
        if r in breaks:
            page, used = page + 1, titles
    return out


def lines_needed(text: str, width: float, bold: bool = False) -> int:
    """Lines a text needs wrapped in a column `width` units wide, at one character a unit, 0.85 in
    bold (a conservative reading: Calibri's letters are narrower than its digits, but a bold header
    word such as "Numerator" takes more than its 9 digits: LibreOffice broke it in a column of 10)."""
    room, n, used = max(1, int(width * (0.85 if bold else 1))), 1, 0
    for word in str(text).split():
        if used and used + 1 + len(word) <= room:
            used += 1 + len(word)
        else:
            n += (1 if used else 0) + (len(word) - 1) // room
            used = len(word) - (len(word) - 1) // room * room
    return n


def footer(ws) -> str:
    f = ws.oddFooter
    return " ".join(p.text or "" for p in (f.left, f.center, f.right))


def assert_prints(ws, *, profile: str, run_type: str, year: int) -> None:
    """Every promise of a printed sheet (module docstring)."""
    where = ws.title
    assert ws.page_setup.paperSize in ("1", 1), where  # US Letter
    assert ws.sheet_properties.pageSetUpPr.fitToPage, where
    assert (int(ws.page_setup.fitToWidth), int(ws.page_setup.fitToHeight)) == (1, 0), where
    # landscape exactly where the sheet is wider than a portrait page (7.5 in = 720 px)
    portrait_px = (LETTER[0] - ws.page_margins.left - ws.page_margins.right) * 96
    assert landscape(ws) == (used_px(ws) > portrait_px), (where, used_px(ws), ws.page_setup.orientation)
    smallest = scale(ws) * smallest_font(ws)
    assert smallest >= MIN_PT, f"{where}: prints at {smallest:.1f} pt (scale {scale(ws):.2f})"
    # the footer: the run, and page x of y
    text = footer(ws)
    for part in (profile, run_type, f"{year - 1}-{str(year)[-2:]}", "&P", "&N"):
        assert part in text, (where, part, text)
    # the header rows repeat on every page, and are as tall as their wrapped text
    first, last = title_rows(ws)
    assert first == 1 and last >= 1, where
    widths = col_widths(ws)
    for r in range(first, last + 1):
        for c in ws[r]:
            if isinstance(c.value, str) and c.alignment.wrap_text and not _merged(ws, c.coordinate):
                width = widths[c.column - 1]
                need = lines_needed(c.value, width, bool(c.font.b)) * 15
                assert row_pt(ws, r) >= need, (where, c.coordinate, c.value, row_pt(ws, r), need)
                if c.font.b:  # a header word is never broken ("Numera" / "tor")
                    longest = max(c.value.split(), key=len)
                    assert len(longest) <= int(width * 0.85), (where, c.coordinate, longest, width)
    # each chart on one page, whether a column unit prints 7 px wide (Excel) or 7.5 (more than
    # LibreOffice's 7.43): the rows a page holds differ, and so do the breaks
    for chart in ws._charts:
        top = chart.anchor._from.row + 1
        bottom_pt = chart.anchor.ext.height / 12700  # EMU to points
        rows, covered = top, row_pt(ws, top)
        while covered < bottom_pt:
            rows += 1
            covered += row_pt(ws, rows)
        for px_per_unit in (7.0, 7.25, 7.5):
            pages = pages_of_rows(ws, rows, px_per_unit)
            assert pages[top] == pages[rows], f"{where}: a chart from row {top} to {rows} crosses a page break"


def _merged(ws, coordinate: str) -> bool:
    return any(coordinate in r for r in ws.merged_cells.ranges)


def assert_workbook_prints(path: Path, **run) -> None:
    wb = load(path)
    for ws in wb.worksheets:
        assert_prints(ws, **run)


# ---------------------------------------------------------------------------------------------------
# The printer model itself, on hand-made sheets


def test_the_print_model_on_a_hand_made_sheet(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for i in range(1, 11):
        ws.column_dimensions[get_column_letter(i)].width = 20
        ws.cell(row=1, column=i, value="x")
    ws.page_setup.orientation = "landscape"
    ws.page_margins.left = ws.page_margins.right = 0.5
    # 10 x (7.5 x 20 + 5) = 1,550 px on 960 px: 0.619, so 11 pt prints at 6.8 pt
    assert used_px(ws) == 1550
    assert scale(ws) == pytest.approx(960 / 1550)
    assert scale(ws) * 11 == pytest.approx(6.81, abs=0.01)
    # "Points possible" in a column 9 units wide: "Points" / "possible"; in bold, 7 characters a line:
    # "Points" / "possibl" / "e"
    assert lines_needed("Points possible", 9) == 2
    assert lines_needed("Points possible", 9, bold=True) == 3
    assert lines_needed("Points possible", 15) == 1
    assert lines_needed("abcdefghijklmnopqrstuvwxyz", 10) == 3  # a long word is broken: 10 + 10 + 6


# ---------------------------------------------------------------------------------------------------
# Runs


@pytest.fixture(scope="module")
def nj_run(tmp_path_factory) -> Path:
    return run_determine(SAMPLE, "nj-ffy2022", tmp_path_factory.mktemp("nj") / "out", "--per-district")


@pytest.fixture(scope="module")
def ny_run(tmp_path_factory) -> Path:
    return run_determine(SAMPLE, "ny-ffy2011", tmp_path_factory.mktemp("ny") / "out")


def run_of(folder: Path) -> dict:
    """The profile, run type and school year of a run, from its manifest."""
    doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {"profile": doc["profile"]["id"], "run_type": doc["profile"]["run_type"], "year": doc["school_year"]}


@pytest.mark.parametrize("which", ["nj_run", "small_run", "public_run", "ny_run"])
def test_every_sheet_of_every_workbook_prints(request, which):
    run = request.getfixturevalue(which)
    paths = [run / "determinations.xlsx", *sorted((run / "districts").glob("*.xlsx"))]
    for path in paths:
        assert_workbook_prints(path, **run_of(run))


def test_the_statewide_workbook_of_300_leas_prints(tmp_path):
    """A state of 300 LEAs: long tables, wide Flags and measure sheets."""
    bundle = tmp_path / "bundle"
    r = CliRunner().invoke(app, ["sample", str(bundle), "--districts", "300", "--students", "30000", "--years", "3",
                                 "--seed", "5"])
    assert r.exit_code == 0, r.output
    out = run_determine(bundle, "nj-ffy2022", tmp_path / "out")
    assert_workbook_prints(out / "determinations.xlsx", **run_of(out))


def test_the_changes_workbook_prints(tmp_path, small_run, tiny_profile):
    new = run_determine(write_bundle(tmp_path / "bundle", overrides=None), tiny_profile, tmp_path / "new")
    xlsx = tmp_path / "changes.xlsx"
    r = CliRunner().invoke(app, ["diff", str(small_run), str(new), "--out", str(xlsx)])
    assert r.exit_code == 0, r.output
    assert_workbook_prints(xlsx, **run_of(new))
    ws = load(xlsx)["Changes"]
    # "Old percentage" in a column of 11: two lines, so the header row is two lines tall (30 pt)
    assert ws.row_dimensions[1].height >= 30


def test_points_earned_and_possible_headers_get_two_lines(small_run):
    """The issue: both printed as "Points", the second word over the first data row."""
    ws = load(small_run / "determinations.xlsx")["Determinations"]
    h = next(r[0].row for r in ws.iter_rows(min_col=1, max_col=1) if r[0].value == "Rank")
    headers = {c.value: c for c in ws[h]}
    for name in ("Points earned", "Points possible"):
        c = headers[name]
        assert c.alignment.wrap_text
        width = col_widths(ws)[c.column - 1]
        assert width < len(name), "the test needs a column narrower than its header"
    assert row_pt(ws, h) >= 30


# ---------------------------------------------------------------------------------------------------
# Natural order of indicators


def test_indicators_in_natural_order():
    names = ["indicator_10", "indicator_4b", "indicator_9", "indicator_3", "indicator_4a", "indicator_13",
             "indicator_11", "indicator_10_excluded", "timeline_pending"]
    titles = {"timeline_pending": "Indicator 11: evaluations pending"}
    got = sorted(names, key=lambda n: indicator_key(n, titles.get(n, "")))
    assert got == ["indicator_3", "indicator_4a", "indicator_4b", "indicator_9", "indicator_10",
                   "indicator_10_excluded", "indicator_11", "timeline_pending", "indicator_13"]
    # titles alone: 3A, 3B, 3C; a measure naming no indicator goes last
    assert sorted(["x", "Indicator 3C: c", "Indicator 3A: a", "Indicator 3B: b"],
                  key=lambda t: indicator_key("", t)) == ["Indicator 3A: a", "Indicator 3B: b", "Indicator 3C: c", "x"]


def _indicator_titles(ws) -> list[str]:
    rows = [r[0].value for r in ws.iter_rows(min_col=1, max_col=1)]
    at = rows.index("Indicator")
    out = []
    for v in rows[at + 1:]:
        if not v:
            break
        out.append(v)
    return out


@pytest.mark.parametrize("which", ["nj_run", "ny_run"])
def test_the_summary_lists_indicators_in_natural_order(request, which):
    titles = _indicator_titles(load(request.getfixturevalue(which) / "determinations.xlsx")["Summary"])
    numbers = []
    for t in titles:
        m = re.match(r"Indicator (\d+)([A-Z]?)", t)
        if m:
            numbers.append((int(m.group(1)), m.group(2)))
    assert len(numbers) >= 2, titles
    assert numbers == sorted(numbers), numbers


# ---------------------------------------------------------------------------------------------------
# The category chart: one colour per category, the table's


def test_category_chart_bars_take_the_category_fills(small_run):
    ws = load(small_run / "determinations.xlsx")["Summary"]
    chart = next(c for c in ws._charts if c.series[0].dPt)
    labels = ["Meets", "Needs Support", "Needs Improvement"]  # the tiny profile's categories, best first
    fills = {}
    for r in ws.iter_rows(min_col=1, max_col=1):
        c = r[0]
        if c.value in labels and c.value not in fills and c.fill.fill_type == "solid":
            fills[c.value] = c.fill.fgColor.rgb[-6:]
    assert set(fills) == set(labels)
    bars = {p.idx: p.spPr.solidFill.srgbClr for p in chart.series[0].dPt}
    assert bars == {i: fills[label] for i, label in enumerate(labels)}
    assert len(set(bars.values())) == 3


# ---------------------------------------------------------------------------------------------------
# Page 1 of a district workbook, in words

CODES = ("below_min_n", "below_min_cell", "no_data", "comparison_below_min", "not_met", "above_cap", "within_cap",
         "not_identified", "significant_discrepancy", "no_discrepancy", "met_safe_harbor", "not_made")


def page_one(path: Path) -> list[list]:
    ws = load(path)["Determination"]
    return [[c.value for c in r] for r in ws.iter_rows()]


def factor_table(rows: list[list]) -> dict[str, dict[str, str]]:
    at = next(k for k, r in enumerate(rows) if r[0] == "Factor")
    head = rows[at]
    assert head[:6] == ["Factor", "District", "State", "Target", "Points", "Why"]
    return {r[0].split(":")[0]: dict(zip(head, r, strict=False)) for r in rows[at + 1:] if r[0]}


def pairs(rows: list[list]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        if isinstance(r[0], str) and r[1] is not None:
            out.setdefault(r[0], []).append(r[1])
    return out


def test_page_one_factors_in_words(small_run):
    # 003: T1 1 of 2 on time = 50.0% < 75% -> 0 of 2; the state 7/9 = 77.8%; full points at 95.0% or more
    t = factor_table(page_one(small_run / "districts" / "003.xlsx"))
    assert t["T1"]["District"] == "50.0%"
    assert t["T1"]["State"] == "77.8%"
    assert t["T1"]["Target"] == "95.0% or more"
    assert t["T1"]["Points"] == "0 of 2"
    assert "does not meet the target" in t["T1"]["Why"]
    # 002: T1 3 of 4 = 75.0% -> 1 of 2; T2 2 of 2 = 100% -> 2 of 2, the state 5/6 = 83.3%
    t = factor_table(page_one(small_run / "districts" / "002.xlsx"))
    assert (t["T1"]["District"], t["T1"]["Points"]) == ("75.0%", "1 of 2")
    assert (t["T2"]["District"], t["T2"]["State"], t["T2"]["Points"]) == ("100.0%", "83.3%", "2 of 2")
    assert "meets the target" in t["T2"]["Why"]
    # 004: no youth aged 16+: T2 does not apply
    t = factor_table(page_one(small_run / "districts" / "004.xlsx"))
    assert "not applicable" in t["T2"]["Points"]
    assert "no data reported" in t["T2"]["Why"]


def test_page_one_summary_in_words(small_run):
    # 002: 3 of 4 points = 75.0%, rank 3 of 4
    p = pairs(page_one(small_run / "districts" / "002.xlsx"))
    assert p["Determination"] == ["Needs Support"]
    assert p["Points"] == ["3 of 4 points possible"]
    assert p["Determination percentage"] == ["75.0%"]
    assert p["Rank"][0].startswith("3 of 4 LEAs")
    assert p["Support tier"] == ["Tier 2"] and p["What the tier means"] == ["A memo with required actions"]


def test_page_one_shows_the_category_the_method_computed_beside_an_override(small_run):
    # 004: 2 of 2 points = 100% >= 80%: Meets by the cut, overridden to Needs Support ("=cmd")
    p = pairs(page_one(small_run / "districts" / "004.xlsx"))
    assert p["Determination"] == ["Needs Support"]
    computed = p["Category the method computed"][0]
    assert computed.startswith("Meets") and "override" in computed
    assert any("=cmd" in r for r in p["Condition or override"])
    # 001 was placed by the method: nothing to say
    assert "Category the method computed" not in pairs(page_one(small_run / "districts" / "001.xlsx"))


def test_page_one_says_too_few_students_and_shows_no_code(nj_run):
    """Some LEA of the sample has a factor not applicable for too few students (its factors.parquet
    says which); its page 1 says so in words. No page 1 shows a code or a code run into a number."""
    f = pl.read_parquet(nj_run / "factors.parquet")
    na = f.filter((pl.col("status") == "n/a") & pl.col("note").str.contains("below_min_n")).row(0, named=True)
    t = factor_table(page_one(nj_run / "districts" / f"{na['district_id']}.xlsx"))
    assert "too few students to compute" in t[na["factor"]]["Why"]
    assert t[na["factor"]]["Points"] == "not applicable"
    for path in sorted((nj_run / "districts").glob("*.xlsx")):
        rows = page_one(path)
        for r in rows:
            if r[0] == "Condition or override":  # a reason is the office's own text
                continue
            for v in r:
                if isinstance(v, str):
                    assert not any(code in v for code in CODES), (path.name, v)
                    assert not re.search(r"\d[a-z]+_", v), (path.name, v)  # "2.0not_met"


def test_page_one_of_a_condition_names_what_the_method_computed(tmp_path):
    """composite-0-4: 0.6 x 3.8 + 0.4 x 3.9 = 3.84 > 3 -> Meets Requirements by the method; the
    minimum performance goal was not met, so the condition forces Needs Substantial Intervention."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "compliance.csv").write_text(
        "school_year,district_id,component_a,component_b,met_minimum_performance_goal\n"
        "2023,HIGH,3.8,3.9,no\n2023,OK,3.8,3.9,yes\n", encoding="utf-8")
    out = run_determine(bundle, "composite-0-4", tmp_path / "out", "--per-district")
    p = pairs(page_one(out / "districts" / "HIGH.xlsx"))
    assert p["Determination"] == ["Needs Substantial Intervention"]
    computed = p["Category the method computed"][0]
    assert computed.startswith("Meets Requirements") and "condition" in computed
    score = next(v for k, v in p.items() if "3.84" in v[0])
    assert "scale of 0 to 4" in score[0]
    assert_workbook_prints(out / "districts" / "HIGH.xlsx", **run_of(out))


def test_the_measures_sheet_says_statuses_in_words(nj_run):
    path = next(iter(sorted((nj_run / "districts").glob("*.xlsx"))))
    ws = load(path)["Measures"]
    h = next(r[0].row for r in ws.iter_rows(min_col=1, max_col=1) if r[0].value == "Measure")
    cols = {c.value: c.column - 1 for c in ws[h]}
    for r in ws.iter_rows(min_row=h + 1):
        for name in ("Status", "Result"):
            v = r[cols[name]].value
            assert v is None or not any(code in v for code in CODES), v


# ---------------------------------------------------------------------------------------------------
# A profile without determinations


def test_a_profile_without_determinations_says_so(ny_run):
    wb = load(ny_run / "determinations.xlsx")
    assert wb.sheetnames[0] == "Summary" and "Determinations" not in wb.sheetnames
    ws = wb["Summary"]
    top = " ".join(str(r[0].value) for r in ws.iter_rows(max_row=8, max_col=1) if r[0].value)
    assert "computes indicators only" in top and "assigns no categories" in top
    titles = _indicator_titles(ws)
    assert any(t.startswith("Indicator 3") for t in titles), titles
