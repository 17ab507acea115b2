"""Shared material for the report tests: a tiny profile, bundles written by hand, and workbook readers.

"Tinystate" (invented for these tests) scores two compliance factors with OSEP's compliance scoring
(>= 95% -> 2 points, >= 75% -> 1, else 0), no groups (the percentage is points earned / possible):

- T1 timely initial evaluation (60 days from consent), T2 secondary transition (youth aged 16+, three
  components);
- categories by cut points: >= 80% "Meets" (Tier 1), >= 50% "Needs Support" (Tier 2), else "Needs
  Improvement" (Tier 3); overrides applied.

The district names are formula-like text on purpose (=, +, -, @), and the one override reason is "=cmd".
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

import openpyxl
import pytest
from typer.testing import CliRunner

from sedet.cli import app

TINY_PROFILE = """\
[profile]
id = "tiny-2012"
title = "Tinystate determinations, 2011-12"
state = "TS"
ffy = 2011
source = "tests/report: an invented state"
display_decimals = 1
run_type = "preliminary"

[measures.timeline]
source = "Tinystate: the federal 60-day timeline"
timeline_days = 60
reporting_period_start = "07-01"
exceptions = ["301D1", "301D2", "309C"]
state_exceptions = { value = {}, source = "Tinystate lists no state exception" }
state_exceptions_count_as = "excluded"
late_bands = [[1, 10], [11, 30], [31]]
target = 1.0

[measures.transition]
source = "Tinystate: Indicator 13"
min_age = 16
components = ["postsecondary_goals", "transition_services", "annual_goals"]
target = 1.0

[[factors]]
id = "T1"
title = "Timely initial evaluation"
measure = "timeline"
points = [{ at_least = 0.95, points = 2 }, { at_least = 0.75, points = 1 }, { otherwise = 0 }]
source = "Tinystate: OSEP compliance scoring"

[[factors]]
id = "T2"
title = "Secondary transition"
measure = "transition"
points = [{ at_least = 0.95, points = 2 }, { at_least = 0.75, points = 1 }, { otherwise = 0 }]
source = "Tinystate: OSEP compliance scoring"

[determination]
source = "Tinystate: cut points 80 and 50"
method = "cut_points"
overrides = true
categories = [
  { label = "Meets", short = "M", min_percentage = 80, tier = "Tier 1", tier_text = "Guidance only" },
  { label = "Needs Support", short = "NS", min_percentage = 50, tier = "Tier 2", \
tier_text = "A memo with required actions" },
  { label = "Needs Improvement", short = "NIMP", tier = "Tier 3", tier_text = "Direct work with the state" },
]
"""

# Formula-like names: each must reach every workbook as text, and every CSV with an apostrophe before it.
NAMES = {
    "001": '=HYPERLINK("http://x")',
    "002": "+1",
    "003": "-2",
    "004": "@SUM(A1)",
}
OVERRIDE_REASON = "=cmd"

DISTRICTS_CSV = "district_id,district_name\n" + "".join(
    f'{d},"{n.replace(chr(34), chr(34) * 2)}"\n' for d, n in NAMES.items()
)
OVERRIDES_CSV = f"district_id,category,reason\n004,Needs Support,{OVERRIDE_REASON}\n"

# The small run, worked by hand. Timeline: on time at 60 days or fewer.
#   2011-09-01 -> 2011-10-01: 30 days (on time); 2011-10-03 -> 2011-11-15: 28 + 15 = 43 (on time);
#   2011-09-01 -> 2011-12-01: 30 + 31 + 30 = 91 days (late).
EVALUATIONS = """\
school_year,district_id,student_id,consent_date,determination_date
2012,001,EVQ90001,2011-09-01,2011-10-01
2012,001,EVQ90002,2011-10-03,2011-11-15
2012,002,EVQ90003,2011-09-01,2011-10-01
2012,002,EVQ90004,2011-09-01,2011-10-01
2012,002,EVQ90005,2011-10-03,2011-11-15
2012,002,EVQ90006,2011-09-01,2011-12-01
2012,003,EVQ90007,2011-09-01,2011-10-01
2012,003,EVQ90008,2011-09-01,2011-12-01
2012,004,EVQ90009,2011-10-03,2011-11-15
"""
# Transition: an IEP counts when every component is present; a youth under 16 is not reviewed.
TRANSITION = """\
school_year,district_id,student_id,age,postsecondary_goals,transition_services,annual_goals
2012,001,TRQ90001,16,true,true,true
2012,001,TRQ90002,17,true,true,true
2012,002,TRQ90003,16,true,true,true
2012,002,TRQ90004,18,true,true,true
2012,003,TRQ90005,16,true,true,true
2012,003,TRQ90006,17,true,false,true
2012,004,TRQ90007,15,false,false,false
"""
SMALL_STUDENT_IDS = [f"EVQ9000{i}" for i in range(1, 10)] + [f"TRQ9000{i}" for i in range(1, 8)]

# Per LEA (by hand):
#   001: T1 2/2 = 100% -> 2 of 2; T2 2/2 = 100% -> 2 of 2; 4/4 = 100%               -> Meets (rank 1)
#   002: T1 3/4 = 75% -> 1 of 2;  T2 2/2 = 100% -> 2 of 2; 3/4 = 75%                -> Needs Support (rank 3)
#   003: T1 1/2 = 50% -> 0 of 2;  T2 1/2 = 50% -> 0 of 2;  0/4 = 0%                 -> Needs Improvement (rank 4)
#   004: T1 1/1 = 100% -> 2 of 2; T2 n/a (no youth aged 16+: no_data, out of possible); 2/2 = 100%
#        -> Meets by the cut, overridden to Needs Support ("=cmd")                  (rank 1, tied with 001)
# Percentile (strictly lower, of 4): 001 and 004: 2 lower -> 50; 002: 1 -> 25; 003: 0 -> 0.
# Per category: Meets 1 (001), Needs Support 2 (002, 004), Needs Improvement 1 (003).
# State values (pooled over LEAs with a value): T1 (2+3+1+1)/(2+4+2+1) = 7/9; T2 (2+2+1)/(2+2+2) = 5/6.
EXPECTED = {
    # district: (rank, points earned, points possible, percentage, percentile, category label, tier)
    "001": (1, 4, 4, 1.0, 50, "Meets", "Tier 1"),
    "004": (1, 2, 2, 1.0, 50, "Needs Support", "Tier 2"),
    "002": (3, 3, 4, 0.75, 25, "Needs Support", "Tier 2"),
    "003": (4, 0, 4, 0.0, 0, "Needs Improvement", "Tier 3"),
}
TIER_TEXT = {"Tier 1": "Guidance only", "Tier 2": "A memo with required actions",
             "Tier 3": "Direct work with the state"}
STATE_T1 = 7 / 9
STATE_T2 = 5 / 6


def public_tables() -> tuple[str, str, list[str]]:
    """A bundle for --public, written row by row so that every student has an identifier.

    Timeline: every child on time (consent 2011-09-01, determination 2011-10-01, 30 days), 15, 16, 17
    and 18 children in 001-004: no group under 10, nobody late, nothing to suppress.
    Transition (youth aged 16): 001: 5 youth, all complete; 002: 12 youth, 11 complete (one without
    transition services); 003: 20 youth, all complete; 004: one youth aged 15 (no_data).
    """
    ids: list[str] = []
    ev = ["school_year,district_id,student_id,consent_date,determination_date"]
    for d, n in (("001", 15), ("002", 16), ("003", 17), ("004", 18)):
        for i in range(n):
            sid = f"PUBEV{d}{i:03d}"
            ids.append(sid)
            ev.append(f"2012,{d},{sid},2011-09-01,2011-10-01")
    tr = ["school_year,district_id,student_id,age,postsecondary_goals,transition_services,annual_goals"]
    for d, n, incomplete in (("001", 5, 0), ("002", 12, 1), ("003", 20, 0)):
        for i in range(n):
            sid = f"PUBTR{d}{i:03d}"
            ids.append(sid)
            services = "false" if i < incomplete else "true"
            tr.append(f"2012,{d},{sid},16,true,{services},true")
    ids.append("PUBTR004000")
    tr.append("2012,004,PUBTR004000,15,false,false,false")
    return "\n".join(ev) + "\n", "\n".join(tr) + "\n", ids


def write_bundle(folder: Path, *, evaluations: str = EVALUATIONS, transition: str = TRANSITION,
                 overrides: str | None = OVERRIDES_CSV) -> Path:
    folder.mkdir(parents=True)
    (folder / "evaluations.csv").write_text(evaluations, encoding="utf-8")
    (folder / "transition.csv").write_text(transition, encoding="utf-8")
    (folder / "districts.csv").write_text(DISTRICTS_CSV, encoding="utf-8")
    if overrides is not None:
        (folder / "overrides.csv").write_text(overrides, encoding="utf-8")
    return folder


def run_determine(bundle: Path, profile: str | Path, out: Path, *flags: str) -> Path:
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", str(profile), "--out", str(out),
                                      "--quiet", *flags])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def tiny_profile(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "tiny.toml"
    path.write_text(TINY_PROFILE, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("small") / "bundle")


@pytest.fixture(scope="session")
def small_run(tmp_path_factory, tiny_profile, small_bundle) -> Path:
    """The hand-worked run (EXPECTED), with --per-district."""
    return run_determine(small_bundle, tiny_profile, tmp_path_factory.mktemp("small_out") / "out", "--per-district")


@pytest.fixture(scope="session")
def public_bundle(tmp_path_factory) -> tuple[Path, list[str]]:
    ev, tr, ids = public_tables()
    return write_bundle(tmp_path_factory.mktemp("public") / "bundle", evaluations=ev, transition=tr), ids


@pytest.fixture(scope="session")
def public_run(tmp_path_factory, tiny_profile, public_bundle) -> Path:
    bundle, _ = public_bundle
    return run_determine(bundle, tiny_profile, tmp_path_factory.mktemp("public_out") / "out",
                         "--per-district", "--public")


# ---------------------------------------------------------------------------------------------------
# Reading workbooks


def load(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def header_row(ws, first: str) -> int:
    """The row whose column A holds `first` (the header of a table sheet)."""
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value == first:
            return row[0].row
    raise AssertionError(f"{ws.title}: no row starts with {first!r}")


def table(ws, first: str) -> tuple[int, dict[str, int], list[tuple]]:
    """(header row, column index by header, data rows as tuples of cells) of a table sheet."""
    h = header_row(ws, first)
    cols = {c.value: c.column - 1 for c in ws[h] if c.value is not None}
    rows = [r for r in ws.iter_rows(min_row=h + 1) if any(c.value is not None for c in r)]
    return h, cols, rows


def rows_by(ws, first: str, key: str) -> tuple[dict[str, int], dict[str, tuple]]:
    _, cols, rows = table(ws, first)
    return cols, {r[cols[key]].value: r for r in rows}


def label_rows(ws) -> dict[str, tuple]:
    """Rows of a label/value sheet by the text in column A (first occurrence)."""
    out: dict[str, tuple] = {}
    for r in ws.iter_rows():
        if isinstance(r[0].value, str):
            out.setdefault(r[0].value, r)
    return out


def all_cells(wb):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    yield ws.title, c


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def sheet_part(members: dict[str, bytes], sheet: str) -> str:
    """The zip path of a sheet, from xl/workbook.xml and its relationships."""
    wb = members["xl/workbook.xml"].decode()
    m = re.search(r'<sheet [^>]*name="' + re.escape(sheet) + r'"[^>]*r:id="([^"]+)"', wb)
    assert m, f"sheet {sheet!r} not in xl/workbook.xml"
    return resolve("xl/workbook.xml", rel_target(members["xl/_rels/workbook.xml.rels"].decode(), m.group(1)))


def rel_target(rels: str, rid: str) -> str:
    for m in re.finditer(r"<Relationship [^>]*>", rels):
        tag = m.group(0)
        if f'Id="{rid}"' in tag:
            return re.search(r'Target="([^"]+)"', tag).group(1)
    raise AssertionError(f"relationship {rid} not found")


def resolve(base: str, target: str) -> str:
    """A relationship target relative to the part `base`, as a zip path."""
    if target.startswith("/"):
        return target[1:]
    parts: list[str] = []
    for p in (PurePosixPath(base).parent / target).parts:
        if p == "..":
            parts.pop()
        else:
            parts.append(p)
    return "/".join(parts)


def rels_of(part: str) -> str:
    p = PurePosixPath(part)
    return str(p.parent / "_rels" / (p.name + ".rels"))
