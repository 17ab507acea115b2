"""Disclosure audit of `--public` (issue 17, point 5): no withheld cell can be worked back from what is
published, and no withheld rate can be shown to be exactly 0% or 100%.

The audit (sedet/report/audit.py) bounds every withheld cell with linear programs over every published
number; these tests check it on handcrafted bundles worked by hand, on sample_data/ with the four
profiles, and that it is not vacuous: put back one thing the old release published and it names the leak.

The 4-LEA bundle (the tiny profile of conftest.py: timeline 60 days, T1 = timeline, T2 = transition,
2 points at >= 95%, 1 at >= 75%, 0 below). Consent 2011-09-01 for every child; on time = determined
2011-10-01 (30 days). Late children: 2011-11-05 is 30 + 31 + 4 = 65 days (5 late, band 1-10),
2011-11-15 is 75 days (15 late, band 11-30), 2011-12-01 is 30 + 31 + 30 = 91 days (31 late, band 31+),
no determination with the 60th day (2011-10-31) inside the period: late, band not_determined.

    LEA   children  on time  late  rate      T1 points   late children's bands
    001       5        5       0   100%      2 (>= 95%)  -
    002      12       11       1   91.7%     1           1-10
    003      16       15       1   93.75%    1           31+
    004      18       16       2   88.9%     1           11-30, not_determined
    state    51       47       4   92.2%                 one in each band

Transition: 10 youth in each LEA, all IEPs complete (groups of 10: nothing withheld, 2 points each).

What the release withholds (suppress.py rules 1, 3, 3c-3e), by hand:
- 001: a group of 5 < 10: primary.
- LEAs and the state (family b): 001 alone withheld -> the smallest other group, 002 (12). 001 is at
  100%: the withheld groups must hold 40 students (rule 3d: twice the 20 in which a rate just under
  100% reaches 95%): 5 + 12 = 17 -> 003 (16): 33 -> 004 (18): 51. Every LEA's timeline row is withheld.
  Could the withheld LEAs give 001 a late child while keeping their points? 002, 003, 004 must keep
  one late child each (1 point: under 95%, so at least one late); 004 has 2: it can give one. Yes: the
  state's 47 of 51 stays.
- Days late: the state's late children are 51 - 47 = 4 (published anyway): the statewide rows show the
  denominator 4; 4 < 10 children, so their numerators are withheld. Every LEA's rows are withheld
  whole, status included (its timeline row is; a status "no_data" would say nobody was late).
- The T1 factor rows repeat the timeline rows: counts, value and flags withheld; points shown.

What the old release published, and the audit recovers when it is put back (tests below):
- the statewide days-late denominator withheld: 51 - 47 = 4 from Indicator 11's shown counts;
- 001's days-late rows shown (0 of 0, no_data): 001 had no late child, so 100%;
- "primary" on 001's row: a group under 10 with 2 points (>= 95%): late <= 0.05 x 9 = 0.45 < 1 child;
- only 001 and 002 withheld (003 and 004 shown): late 4 - 1 - 2 = 1 for 001 and 002 together, and 002
  has at least one (1 point): 001 has none, 100%;
- the flag "met" on 001's row (target 100%): 100%.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from sedet.model import EPS, MEASURE_COLUMNS, MEASURE_SCHEMA, ReportingParams
from sedet.pipeline import run
from sedet.profile import load_profile
from sedet.report import audit
from sedet.report.suppress import suppress_measures
from sedet.report.writer import _tables

from .conftest import run_determine, write_bundle

T = "*"
ON_TIME, DAYS_5, DAYS_15, DAYS_31 = "2011-10-01", "2011-11-05", "2011-11-15", "2011-12-01"


def four_lea_tables() -> tuple[str, str]:
    ev = ["school_year,district_id,student_id,consent_date,determination_date"]
    children = {"001": [ON_TIME] * 5, "002": [ON_TIME] * 11 + [DAYS_5], "003": [ON_TIME] * 15 + [DAYS_31],
                "004": [ON_TIME] * 16 + [DAYS_15, ""]}
    for d, dates in children.items():
        ev += [f"2012,{d},FOUR{d}{i:03d},2011-09-01,{date}" for i, date in enumerate(dates)]
    tr = ["school_year,district_id,student_id,age,postsecondary_goals,transition_services,annual_goals"]
    tr += [f"2012,{d},FOURT{d}{i:03d},16,true,true,true" for d in children for i in range(10)]
    return "\n".join(ev) + "\n", "\n".join(tr) + "\n"


@pytest.fixture(scope="session")
def four_bundle(tmp_path_factory) -> Path:
    ev, tr = four_lea_tables()
    return write_bundle(tmp_path_factory.mktemp("four") / "bundle", evaluations=ev, transition=tr, overrides=None)


@pytest.fixture(scope="session")
def four(four_bundle, tiny_profile):
    """(run result, public measures, public factors) of the 4-LEA bundle, as the writer lays them out."""
    result = run(four_bundle, load_profile(str(tiny_profile)))
    measures, factors = _tables(result, True)
    return result, measures, factors


def row(df: pl.DataFrame, district: str | None, measure: str, category: str | None = None) -> dict:
    cond = pl.col("district_id").eq_missing(pl.lit(district, pl.String)) & (pl.col("measure") == measure)
    cond = cond & pl.col("category").eq_missing(pl.lit(category, pl.String))
    found = df.filter(cond)
    assert found.height == 1, (district, measure, category)
    return found.row(0, named=True)


def cells(r: dict) -> tuple:
    return r["numerator"], r["denominator"], r["value"]


BANDS = ["1-10", "11-30", "31+", "not_determined"]


# ---------------------------------------------------------------------------------------------------
# The 4-LEA bundle, worked by hand (module docstring)


def test_the_four_lea_release_withholds_what_was_worked_by_hand(four):
    _, m, f = four
    for d in ("001", "002", "003", "004"):
        r = row(m, d, "timeline")
        assert cells(r) == (T, T, T) and r["flag"] == T and r["suppressed"] == "withheld", d
        for band in BANDS:
            b = row(m, d, "timeline_days_late", band)
            assert (*cells(b), b["status"]) == (T, T, T, T), (d, band)
    state = row(m, None, "indicator_11")
    assert cells(state) == ("47", "51", str(47 / 51)) and state["suppressed"] is None
    for band in BANDS:  # the denominator is 51 - 47 = 4, public anyway; 4 children: numerators withheld
        assert cells(row(m, None, "timeline_days_late", band)) == (T, "4", T), band
    t1 = f.filter(pl.col("factor") == "T1").sort("district_id")
    assert t1.get_column("numerator").to_list() == [T] * 4 and t1.get_column("flags").to_list() == [T] * 4
    assert t1.get_column("points").to_list() == [2.0, 1.0, 1.0, 1.0]  # points are published
    # transition: groups of 10, nothing withheld
    assert [cells(row(m, d, "transition")) for d in ("001", "004")] == [("10", "10", "1.0")] * 2


def test_the_four_lea_release_passes_the_audit(four):
    result, m, f = four
    found = audit.audit_release(result, m, f)
    assert found.recoverable == [] and found.revealed == []
    # every withheld number cell was looked at: 4 timeline rows x 3, 16 LEA days-late rows x 3 (the
    # status too, not a number), 4 statewide days-late numerators and values, 4 factor rows x 3: 80;
    # checked: all but the 4 values of LEA days-late rows of LEAs with no late child (001's: no value)
    assert found.cells_suppressed == 4 * 3 + 16 * 3 + 4 * 2 + 4 * 3
    assert found.cells_checked == found.cells_suppressed - 4
    assert found.entry()["passed"] is True


def test_the_manifest_records_the_audit(four_bundle, tiny_profile, tmp_path):
    out = run_determine(four_bundle, tiny_profile, tmp_path / "out", "--per-district", "--public")
    entry = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["public_release"]["disclosure_audit"]
    assert entry["passed"] is True and entry["recoverable"] == 0 and entry["rates_revealed_0_or_100"] == 0
    assert entry["cells_suppressed"] == 80 and entry["cells_checked"] == 76
    assert entry["solver"].startswith("scipy ") and entry["solver"].endswith("linprog (HiGHS)")


def test_without_scipy_the_manifest_says_the_audit_did_not_run(four, monkeypatch):
    def no_scipy():
        raise ImportError("No module named 'scipy'")

    monkeypatch.setattr(audit, "_scipy", no_scipy)
    result, m, f = four
    assert audit.manifest_entry(result, m, f).startswith("not run: scipy not installed")


# ---------------------------------------------------------------------------------------------------
# The audit is not vacuous: what the old release published is found


def set_cells(df: pl.DataFrame, cond: pl.Expr, **values: str | None) -> pl.DataFrame:
    return df.with_columns([pl.when(cond).then(pl.lit(v, pl.String)).otherwise(pl.col(c)).alias(c)
                            for c, v in values.items()])


def lea(d: str, measure: str) -> pl.Expr:
    return (pl.col("district_id") == d) & (pl.col("measure") == measure)


def leaks(four, m: pl.DataFrame | None = None, f: pl.DataFrame | None = None) -> list[audit.Finding]:
    result, m0, f0 = four
    found = audit.audit_release(result, m if m is not None else m0, f if f is not None else f0)
    return found.recoverable + found.revealed


def test_a_statewide_late_count_is_recovered_from_indicator_11(four):
    # The old rule withheld the statewide days-late rows (a group of 4 < 10) whole: 51 - 47 = 4.
    _, m, _ = four
    m = set_cells(m, pl.col("district_id").is_null() & (pl.col("measure") == "timeline_days_late"), denominator=T)
    found = [x for x in leaks(four, m) if x.column == "denominator"]
    assert len(found) == 4  # one per band row, each the late children of the state
    assert all((x.district_id, x.measure, x.low, x.high, x.true) == (None, "timeline_days_late", 4, 4, 4)
               for x in found), found


def test_days_late_rows_showing_nobody_late_reveal_100_percent(four):
    # 001's days-late rows as the old release showed them: 0 of 0, no_data -> late children = 0.
    _, m, _ = four
    m = set_cells(m, lea("001", "timeline_days_late"), numerator="0", denominator="0", value=None, status="no_data",
                  suppressed=None)
    found = leaks(four, m)
    assert {(x.table, x.district_id, x.measure, x.kind) for x in found} == {
        ("measures", "001", "timeline", "100%"), ("factors", "001", "timeline", "100%")}
    assert all(x.high == 0 for x in found)  # late children: at most 0


def test_the_primary_label_with_the_points_reveals_100_percent(four):
    # "primary": 1-9 children; 2 points: >= 95%: late <= 0.05 x 9 = 0.45, less than one child. So 001's
    # rate is 100%, and its days-late rows (numerators and their denominator, the late children) are 0.
    _, m, _ = four
    m = set_cells(m, lea("001", "timeline"), suppressed="primary")
    found = leaks(four, m)
    assert {(x.table, x.district_id, x.measure, x.kind) for x in found} == {
        ("measures", "001", "timeline", "100%"), ("factors", "001", "timeline", "100%"),
        ("measures", "001", "timeline_days_late", "count")}
    assert len(found) == 2 + 4 * 2  # the rate twice; 4 days-late rows x (numerator, denominator)
    assert all(math.isclose(x.high, 0.05 * 9, abs_tol=1e-6) for x in found)


def test_two_withheld_leas_are_not_enough(four):
    # 003 (15 of 16) and 004 (16 of 18) shown: 001 and 002 hold 51 - 16 - 18 = 17 children and
    # 47 - 15 - 16 = 16 on time: 1 late between them; 002 has 1 point (under 95%): at least one late.
    result, m, f = four
    for d, (n, den) in {"003": (15, 16), "004": (16, 18)}.items():
        m = set_cells(m, lea(d, "timeline"), numerator=str(n), denominator=str(den), value=str(n / den),
                      flag="not_met", suppressed=None)
        f = set_cells(f, (pl.col("district_id") == d) & (pl.col("factor") == "T1"), numerator=str(n),
                      denominator=str(den), value=str(n / den), flags="not_met", suppressed=None)
    found = leaks(four, m, f)
    assert ("measures", "001", "timeline", "100%") in {(x.table, x.district_id, x.measure, x.kind) for x in found}


def test_the_met_flag_reveals_100_percent(four):
    # Indicator 11's target is 100%: "met" says 47/51-style arithmetic is not even needed.
    _, m, _ = four
    m = set_cells(m, lea("001", "timeline"), flag="met")
    found = leaks(four, m)
    assert ("measures", "001", "timeline", "100%") in {(x.table, x.district_id, x.measure, x.kind) for x in found}


# ---------------------------------------------------------------------------------------------------
# sample_data/ with the four profiles


@pytest.mark.parametrize("profile", ["nj-ffy2022", "osep-rda", "ny-ffy2011", "ma-2012"])
def test_sample_data_passes_the_audit(profile):
    # The per-district workbooks lay out the same public tables, plus each factor's state figure, which
    # the audit always counts as published: this is the audit of a run with and without --per-district.
    result = run(Path(__file__).resolve().parents[2] / "sample_data", load_profile(profile))
    m, f = _tables(result, True)
    found = audit.audit_release(result, m, f)
    assert found.recoverable == [] and found.revealed == [], [str(x) for x in found.recoverable + found.revealed][:5]
    assert found.cells_checked > 0 and found.relations > 0


# ---------------------------------------------------------------------------------------------------
# The new suppression rules on small tables, by hand


def mrow(measure: str, district: str | None, num: float, den: float | None, *, status: str = "ok",
         flag: str | None = None, category: str | None = None, threshold: float | None = None) -> dict:
    r = dict.fromkeys(MEASURE_COLUMNS)
    value = num / den if den else (num if den is None else None)
    r.update(school_year=2012, district_id=district, measure=measure, numerator=num, denominator=den, value=value,
             status=status, flag=flag, category=category, threshold=threshold, note="x")
    return r


def suppress(*rows: dict) -> pl.DataFrame:
    from sedet.measures.registry import measure_infos

    return suppress_measures(pl.DataFrame(list(rows), schema=MEASURE_SCHEMA), ReportingParams(), measure_infos())


def bands(district: str | None, late: int, counts: list[int]) -> list[dict]:
    return [mrow("timeline_days_late", district, n, late, category=b, status="ok" if late else "no_data")
            for b, n in zip(BANDS, counts, strict=True)]


def test_days_late_rows_of_a_shown_lea_show_the_late_count_and_withhold_the_bands():
    # A: 10 of 12 on time (shown): 12 - 10 = 2 late is public, so the days-late rows show 2; 2 < 10
    # children: which band each is in is withheld. B: 40 of 40, no late child: 0 of 0 rows shown.
    public = suppress(mrow("timeline", "A", 10, 12), *bands("A", 2, [1, 0, 1, 0]),
                      mrow("timeline", "B", 40, 40), *bands("B", 0, [0, 0, 0, 0]))
    for b in BANDS:
        assert cells(row(public, "A", "timeline_days_late", b)) == (T, "2", T), b
        assert cells(row(public, "B", "timeline_days_late", b)) == ("0", "0", None), b


def test_days_late_rows_of_a_withheld_lea_are_withheld_whole():
    # A: 5 of 5 (primary); B: 40 of 40 is the only other LEA: withheld with it (family b: state 45/45).
    # A's days-late rows are 0 of 0 (no_data): shown, they would say A had no late child. Withheld:
    # numerator, denominator, value (not computed: the token all the same) and status.
    public = suppress(mrow("timeline", "A", 5, 5), *bands("A", 0, [0, 0, 0, 0]),
                      mrow("timeline", "B", 40, 40), *bands("B", 0, [0, 0, 0, 0]),
                      mrow("indicator_11", None, 45, 45), *bands(None, 0, [0, 0, 0, 0]))
    for b in BANDS:
        r = row(public, "A", "timeline_days_late", b)
        assert (*cells(r), r["status"]) == (T, T, T, T), b


def test_a_withheld_row_withholds_its_flag_but_not_a_verdict():
    # timeline A 6 of 6 against the 100% target: "met" would say 100% -> withheld. alternate_rate (a
    # verdict measure: above or within the 1% cap) of a group of 8 keeps its flag.
    public = suppress(mrow("timeline", "A", 6, 6, flag="met", threshold=1.0),
                      mrow("alternate_rate", "A", 1, 8, flag="above_cap", threshold=0.01))
    assert row(public, "A", "timeline")["flag"] == T
    assert row(public, "A", "alternate_rate")["flag"] == "above_cap"


def test_a_total_of_zero_does_not_pin_its_withheld_parts():
    # Proficiency in LEA A: REG 0 of 8 (primary), ALT 0 of 40, all 0 of 48. REG alone withheld ->
    # ALT's row goes too (family a). Then REG + ALT = 0 of 48 would still say both are 0%; no part has a
    # proficient student to lend, so the total's numerator (and value) is withheld; its 48 stays.
    q = {"subject": "ELA", "grade_band": "3-8"}
    rows = [{**mrow("proficiency", "A", 0, 8), **q, "assessment": "REG"},
            {**mrow("proficiency", "A", 0, 40), **q, "assessment": "ALT"},
            {**mrow("proficiency", "A", 0, 48), **q}]
    public = suppress(*rows)
    got = {r["assessment"]: cells(r) for r in public.iter_rows(named=True)}
    assert got == {"REG": (T, T, T), "ALT": (T, T, T), None: (T, "48", T)}


def test_the_points_tables_as_intervals(tiny_profile):
    # T1 of the tiny profile: >= 95%: 2 points, >= 75%: 1, else 0 (with the engine's 1e-9 tolerance).
    spans = audit.point_intervals(load_profile(str(tiny_profile)).parameters())
    assert spans["T1"] == {2.0: (0.95 - EPS, math.inf), 1.0: (0.75 - EPS, 0.95 - EPS), 0.0: (-math.inf, 0.75 - EPS)}
