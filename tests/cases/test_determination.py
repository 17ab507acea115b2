"""Worked examples: from measure rows to a determination category (docs/methods.md section 10).

The rules, and where they come from:

- **Points matrix** (docs/methods.md section 10; OSEP's compliance scoring, used as the NJ default in
  configs/nj-ffy2022.toml): each factor maps its measure to points by cut points (>= 95% -> 2,
  >= 75% -> 1, else 0); a lower-is-better factor uses `at_most`; a 0%-target factor scores by flag
  (`identified` in any row -> 0, else 2); a factor that does not apply to the LEA (every row below
  the minimum n) is left out of points possible and shown n/a; a `score = "value"` factor earns its
  value on its own scale (sedet/determine/params.py, `Factor.max_points`).
  Determination percentage = points earned / points possible.
- **Weighted groups** (docs/methods.md section 10, IN: results 50%, compliance 30%, data 20%): each group's
  percentage is its earned / possible; a group with no applicable factor is dropped and the other
  weights renormalised, or (`when_empty = "use:<group>"`) takes another group's percentage.
- **Percentile** (docs/reference/nj-ffy2022-about-determinations.txt, "Differentiated Supports for
  Local Determinations"): "LEAs are ordered by rank, and a percentile is calculated ... Meets
  Requirements - 6th percentile and above; Needs Assistance - 5th percentile and below; Needs
  Intervention / Needs Substantial Intervention - determined on a case-by-case basis". Percentile
  rank by default = 100 x share of LEAs with a strictly lower percentage (docs/methods.md section 10);
  tied LEAs share a percentile, a category and a rank (rank 1 = highest, "min" method).
- **Cut points** (docs/methods.md section 10): OSEP for states >= 80% MR, >= 60% NA, else NI; AZ for LEAs
  80-100 MR, 50-79 NA, 20-49 NI, < 20 NSI.
- **Level alignment** (docs/reference/ma-2012-alignment-of-levels-and-determinations.txt): levels
  1-5 -> MR, MRAR, NTA, NI, NSI; "a Level 1 district with significant compliance issues may be
  classified as Level 1-NSI"; a secondary analysis for "all districts classified into Levels 3, 4
  and 5" (shown, the category kept).
- **Overrides and tiers** (NJ page): NI and NSI are case by case (the overrides table); Meets
  Requirements -> Tier 1, Needs Assistance -> Tier 2, Needs Intervention or Substantial
  Intervention -> Tier 3.

Every expected value is worked out by hand; the arithmetic is beside it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sedet.determine import determine
from sedet.measures.common import to_measure_rows
from sedet.model import QUALIFIERS
from sedet.profile import load_profile

YEAR = 2012

PROFILE_HEADER = """\
[profile]
id = "test-determination"
title = "Hand-worked determination cases"
state = "NJ"
ffy = 2011
source = "tests/cases/test_determination.py: hand-written profile"
display_decimals = 1
run_type = "official"

[measures]
"""

# The OSEP compliance scoring NJ's profile uses as its default: >= 95% -> 2, >= 75% -> 1, else 0.
POINTS_95_75 = "[{ at_least = 0.95, points = 2 }, { at_least = 0.75, points = 1 }, { otherwise = 0 }]"

# One factor whose percentage is the measure's value on a 0-100 scale: value v -> v / 100.
SCORE_FACTOR = """
[[factors]]
id = "S"
title = "Determination score (0-100)"
measure = "score"
score = "value"
max_points = 100
source = "test: the percentage is given directly"
"""

NJ_CATEGORIES = """
categories = [
  { label = "Meets Requirements", short = "MR", min_percentile = 6, tier = "Tier 1" },
  { label = "Needs Assistance", short = "NA", tier = "Tier 2" },
  { label = "Needs Intervention", short = "NI", by_method = false, tier = "Tier 3" },
  { label = "Needs Substantial Intervention", short = "NSI", by_method = false, tier = "Tier 3" },
]
"""

OSEP_CATEGORIES = """
categories = [
  { label = "Meets Requirements", short = "MR", min_percentage = 80 },
  { label = "Needs Assistance", short = "NA", min_percentage = 60 },
  { label = "Needs Intervention", short = "NI" },
  { label = "Needs Substantial Intervention", short = "NSI", by_method = false },
]
"""


# ---------------------------------------------------------------------------------------------------
# Helpers: measure rows, districts, overrides and profiles written by hand


def m(district: str, measure: str, value: float | None = None, status: str = "ok", flag: str | None = None,
      **qualifiers: str) -> dict:
    """One district measure row: (district, measure, value, status, flag), qualifiers by name."""
    return {"school_year": YEAR, "district_id": district, "measure": measure, **dict.fromkeys(QUALIFIERS),
            **qualifiers, "value": value, "status": status, "flag": flag}


def measures(*rows: dict) -> pl.DataFrame:
    """Measure rows in MEASURE_SCHEMA; the columns not given are null."""
    schema = {"school_year": pl.Int64, "district_id": pl.String, "measure": pl.String,
              **dict.fromkeys(QUALIFIERS, pl.String), "value": pl.Float64, "status": pl.String, "flag": pl.String}
    return to_measure_rows(pl.LazyFrame(list(rows), schema=schema)).collect()


def districts(*rows: tuple[str, int | None]) -> pl.DataFrame:
    """(district_id, accountability_level) pairs; the name is 'District <id>'."""
    return pl.DataFrame(
        {"district_id": [d for d, _ in rows], "district_name": [f"District {d}" for d, _ in rows],
         "accountability_level": [lvl for _, lvl in rows]},
        schema={"district_id": pl.String, "district_name": pl.String, "accountability_level": pl.Int64},
    )


def overrides(*rows: tuple[str, str, str]) -> pl.DataFrame:
    """(district_id, category, reason) rows of the overrides table."""
    return pl.DataFrame(list(rows), schema={"district_id": pl.String, "category": pl.String, "reason": pl.String},
                        orient="row")


def profile(tmp_path: Path, body: str, name: str = "profile"):
    path = tmp_path / f"{name}.toml"
    path.write_text(PROFILE_HEADER + body, encoding="utf-8")
    return load_profile(str(path))


def run(prof, rows: pl.DataFrame, dists: pl.DataFrame | None = None, ovr: pl.DataFrame | None = None):
    if dists is None:
        ids = rows.get_column("district_id").unique().sort().to_list()
        dists = districts(*[(d, None) for d in ids])
    result = determine(prof.model, rows, dists, ovr, YEAR)
    assert result is not None
    return result


def by_lea(table: pl.DataFrame) -> dict[str, dict]:
    return {r["district_id"]: r for r in table.iter_rows(named=True)}


def factor(result, district: str, factor_id: str) -> dict:
    hit = result.factors.filter((pl.col("district_id") == district) & (pl.col("factor") == factor_id))
    assert hit.height == 1, f"expected one {factor_id} row for {district}, got {hit.height}"
    return hit.row(0, named=True)


# ---------------------------------------------------------------------------------------------------
# Points matrix

MATRIX = f"""
[[factors]]
id = "TL"
title = "Timely initial evaluation (Indicator 11)"
measure = "timeline"
points = {POINTS_95_75}
source = "OSEP compliance scoring"

[[factors]]
id = "ALT"
title = "Alternate assessment participation (lower is better)"
measure = "alternate_rate"
where = {{ subject = "all" }}
points = [{{ at_most = 0.01, points = 2 }}, {{ at_most = 0.02, points = 1 }}, {{ otherwise = 0 }}]
source = "NJ default: 2 points within the 1% cap, 1 up to twice it"

[[factors]]
id = "DISP"
title = "Significant disproportionality (0% target)"
measure = "disproportionality"
where = {{ race_ethnicity = "*", category = "*" }}
points = [{{ flag = "identified", points = 0 }}, {{ otherwise = 2 }}]
source = "OSEP scoring of a 0% target"

[[factors]]
id = "TR"
title = "Secondary transition (Indicator 13)"
measure = "transition"
points = {POINTS_95_75}
source = "OSEP compliance scoring"

[[factors]]
id = "ACH"
title = "Achievement index (0-4 scale)"
measure = "achievement"
score = "value"
max_points = 4
source = "test: a value on a 0-4 scale"

[determination]
source = "OSEP cut points"
method = "cut_points"
{OSEP_CATEGORIES}
"""


@pytest.fixture
def matrix(tmp_path):
    return profile(tmp_path, MATRIX, "matrix")


def test_case_1_points_matrix_adds_earned_over_possible(matrix):
    """Case 1: three LEAs across five factors (cut points, at_most, flag, n/a, value).

    A: TL 0.95 -> 2 (boundary earns the top band); ALT 0.01 -> 2 (at_most is inclusive); DISP three
       rows, none identified -> 2; TR both rows below_min_n -> n/a, out of possible; ACH 3.2 of 4.
       earned 2 + 2 + 2 + 3.2 = 9.2; possible 2 + 2 + 2 + 4 = 10; 9.2 / 10 = 92% -> MR.
    B: TL 0.9499 -> 1; ALT (LEA-wide row) 0.015 -> 1, its ELA row 0.03 is not read; DISP one of
       three rows identified -> 0; TR 0.75 -> 1; ACH 4.0 -> 4.
       earned 1 + 1 + 0 + 1 + 4 = 7; possible 2 + 2 + 2 + 2 + 4 = 12; 7 / 12 = 58.33% -> NI.
    C: TL 0.7499 -> 0; ALT 0.0201 -> 0; DISP no rows -> n/a; TR 1.0 -> 2; ACH 0.0 -> 0.
       earned 0 + 0 + 2 + 0 = 2; possible 2 + 2 + 2 + 4 = 10; 2 / 10 = 20% -> NI.
    """
    rows = measures(
        m("A", "timeline", 0.95),
        m("A", "alternate_rate", 0.01),
        m("A", "disproportionality", None, "ok", "not_identified", race_ethnicity="HI7", category="identification"),
        m("A", "disproportionality", None, "ok", "not_identified", race_ethnicity="BL7", category="identification"),
        m("A", "disproportionality", None, "ok", "not_identified", race_ethnicity="BL7", category="placement.RC39LT"),
        m("A", "transition", None, "below_min_n"),
        m("A", "transition", None, "below_min_n", category="other"),
        m("A", "achievement", 3.2),
        m("B", "timeline", 0.9499),
        m("B", "alternate_rate", 0.015),
        m("B", "alternate_rate", 0.03, subject="ELA"),
        m("B", "disproportionality", None, "ok", "not_identified", race_ethnicity="HI7", category="identification"),
        m("B", "disproportionality", None, "ok", "identified", race_ethnicity="BL7", category="identification.SLD"),
        m("B", "disproportionality", None, "ok", "not_identified", race_ethnicity="WH7", category="discipline.TOTAL"),
        m("B", "transition", 0.75),
        m("B", "achievement", 4.0),
        m("C", "timeline", 0.7499),
        m("C", "alternate_rate", 0.0201),
        m("C", "transition", 1.0),
        m("C", "achievement", 0.0),
    )
    result = run(matrix, rows)
    t = by_lea(result.table)

    points = {(r["district_id"], r["factor"]): r["points"] for r in result.factors.iter_rows(named=True)}
    assert points == {
        ("A", "TL"): 2, ("A", "ALT"): 2, ("A", "DISP"): 2, ("A", "TR"): None, ("A", "ACH"): pytest.approx(3.2),
        ("B", "TL"): 1, ("B", "ALT"): 1, ("B", "DISP"): 0, ("B", "TR"): 1, ("B", "ACH"): 4,
        ("C", "TL"): 0, ("C", "ALT"): 0, ("C", "DISP"): None, ("C", "TR"): 2, ("C", "ACH"): 0,
    }
    assert (t["A"]["points_earned"], t["A"]["points_possible"]) == (pytest.approx(9.2), 10)  # 2+2+2+3.2 of 2+2+2+4
    assert t["A"]["percentage"] == pytest.approx(0.92)  # 9.2 / 10
    assert t["A"]["category"] == "MR"  # 92% >= 80%
    assert (t["B"]["points_earned"], t["B"]["points_possible"]) == (7, 12)  # 1+1+0+1+4 of 2+2+2+2+4
    assert t["B"]["percentage"] == pytest.approx(7 / 12)  # 58.33%
    assert t["B"]["category"] == "NI"  # 58.33% < 60%
    assert (t["C"]["points_earned"], t["C"]["points_possible"]) == (2, 10)  # 0+0+2+0 of 2+2+2+4
    assert t["C"]["percentage"] == pytest.approx(0.2)  # 2 / 10
    assert t["C"]["category"] == "NI"  # 20% < 60%


def test_case_2_a_factor_whose_rows_are_all_below_min_n_is_shown_na(matrix):
    """Case 2: every transition row of A is below_min_n: n/a, no points, 0 possible, the reason shown.

    An LEA with no row at all for a factor (C, disproportionality) is n/a too, with its own reason.
    """
    rows = measures(
        m("A", "timeline", 1.0),
        m("A", "transition", None, "below_min_n"),
        m("A", "transition", None, "below_min_n", category="other"),
        m("A", "disproportionality", None, "ok", "not_identified", race_ethnicity="HI7", category="identification"),
        m("C", "timeline", 1.0),
    )
    result = run(matrix, rows)
    tr = factor(result, "A", "TR")
    assert tr["status"] == "n/a"
    assert tr["points"] is None
    assert tr["possible"] == 0  # left out of points possible
    assert "below_min_n" in tr["note"]
    disp = factor(result, "C", "DISP")
    assert (disp["status"], disp["possible"]) == ("n/a", 0)
    assert "no disproportionality rows" in disp["note"]
    # A: TL 2 + DISP 2 = 4 of 2 + 2 = 4 (TR, ALT and ACH n/a): 100%
    t = by_lea(result.table)
    assert (t["A"]["points_earned"], t["A"]["points_possible"], t["A"]["percentage"]) == (4, 4, 1.0)


def test_case_3_cut_point_boundaries_exactly(matrix):
    """Case 3: the timeline factor's bands at their edges (>= 95% -> 2, >= 75% -> 1, else 0).

    1.0 -> 2; 0.95 -> 2 (exactly the cut); 19/20 computed in floating point -> 2; 0.9499 -> 1;
    0.75 -> 1 (exactly the cut); 0.7499 -> 0; 0.0 -> 0.
    """
    cases = {"P100": (1.0, 2), "P95": (0.95, 2), "P19of20": (19 / 20, 2), "P9499": (0.9499, 1),
             "P75": (0.75, 1), "P7499": (0.7499, 0), "P0": (0.0, 0)}
    result = run(matrix, measures(*[m(d, "timeline", v) for d, (v, _) in cases.items()]))
    for d, (v, expected) in cases.items():
        assert factor(result, d, "TL")["points"] == expected, f"timeline {v}"


def test_case_4_lower_is_better_at_most_boundaries(matrix):
    """Case 4: alternate participation (at_most): <= 1% -> 2, <= 2% -> 1, else 0.

    0.0 -> 2; 0.01 -> 2 (exactly the cap); 0.0101 -> 1; 0.02 -> 1 (exactly twice it); 0.0201 -> 0.
    """
    cases = {"Q0": (0.0, 2), "Q100": (0.01, 2), "Q101": (0.0101, 1), "Q200": (0.02, 1), "Q201": (0.0201, 0)}
    result = run(matrix, measures(*[m(d, "alternate_rate", v) for d, (v, _) in cases.items()]))
    for d, (v, expected) in cases.items():
        assert factor(result, d, "ALT")["points"] == expected, f"alternate rate {v}"


def test_case_5_flag_factor_reads_every_row(matrix):
    """Case 5: `identified` in any one of many rows -> 0 of 2; in none -> 2 of 2; the flags are shown.

    A flag factor reads flags, not one value: its value, numerator and denominator stay empty.
    """
    rows = measures(
        *[m("CLEAN", "disproportionality", None, "ok", "not_identified", race_ethnicity=r, category="identification")
          for r in ("AM7", "AS7", "BL7", "HI7", "WH7")],
        *[m("ONE", "disproportionality", None, "ok", "not_identified", race_ethnicity=r, category="identification")
          for r in ("AM7", "AS7", "BL7", "HI7")],
        m("ONE", "disproportionality", None, "ok", "identified", race_ethnicity="WH7", category="discipline.OSS_GT10"),
    )
    result = run(matrix, rows)
    clean, one = factor(result, "CLEAN", "DISP"), factor(result, "ONE", "DISP")
    assert (clean["points"], clean["possible"]) == (2, 2)  # no row identified
    assert (one["points"], one["possible"]) == (0, 2)  # 1 of 5 rows identified
    assert one["flags"] == "identified, not_identified"
    assert (one["value"], one["numerator"], one["denominator"]) == (None, None, None)


def test_case_6_value_factor_earns_its_value(matrix):
    """Case 6: achievement 3.2 on a 0-4 scale earns 3.2 of 4 points: 3.2 / 4 = 80% -> MR."""
    result = run(matrix, measures(m("A", "achievement", 3.2)))
    ach = factor(result, "A", "ACH")
    assert ach["value"] == pytest.approx(3.2)
    assert (ach["points"], ach["possible"]) == (pytest.approx(3.2), 4)
    t = by_lea(result.table)
    assert t["A"]["percentage"] == pytest.approx(0.8)  # 3.2 / 4
    assert t["A"]["category"] == "MR"  # 80% >= 80%


# ---------------------------------------------------------------------------------------------------
# Percentile (NJ)

PERCENTILE = SCORE_FACTOR + f"""
[determination]
source = "NJ OSE, Differentiated Supports for Local Determinations"
method = "percentile"
percentile_definition = "strictly_lower"
{NJ_CATEGORIES}
"""

# 20 LEAs and their percentages (x 100), ranked by hand. Strictly lower = LEAs with a lower percentage.
#  LEA  pct   strictly lower  percentile = 100 x lower / 20   category  rank (1 = highest, ties "min")
NJ_SET = {
    "L01": (30.0, 0, 0.0, "NA", 20),
    "L02": (45.0, 1, 5.0, "NA", 17),  # three-way tie at the cut: each has 1 LEA (L01) below -> 5th
    "L03": (45.0, 1, 5.0, "NA", 17),
    "L04": (45.0, 1, 5.0, "NA", 17),
    "L05": (60.0, 4, 20.0, "MR", 16),  # L01-L04 below -> 4 / 20 = 20th
    "L06": (62.5, 5, 25.0, "MR", 15),
    "L07": (70.0, 6, 30.0, "MR", 13),
    "L08": (70.0, 6, 30.0, "MR", 13),
    "L09": (75.0, 8, 40.0, "MR", 12),
    "L10": (80.0, 9, 45.0, "MR", 9),
    "L11": (80.0, 9, 45.0, "MR", 9),
    "L12": (80.0, 9, 45.0, "MR", 9),
    "L13": (85.0, 12, 60.0, "MR", 8),
    "L14": (88.0, 13, 65.0, "MR", 7),
    "L15": (90.0, 14, 70.0, "MR", 6),
    "L16": (92.5, 15, 75.0, "MR", 5),
    "L17": (95.0, 16, 80.0, "MR", 3),
    "L18": (95.0, 16, 80.0, "MR", 3),
    "L19": (100.0, 18, 90.0, "MR", 1),  # two-way tie at the top: both rank 1
    "L20": (100.0, 18, 90.0, "MR", 1),
}


def test_case_7_nj_percentile_strictly_lower_with_ties_at_the_cut(tmp_path):
    """Case 7: 20 LEAs ranked by hand (table NJ_SET); MR at the 6th percentile and above, NA below.

    The three LEAs tied at 45% each have one LEA strictly below: 100 x 1 / 20 = 5 -> all three NA,
    though an ordinal ranking would have put two of them at 10 and 15. L21 has no applicable factor:
    not ranked, not counted in the 20, not determined.
    """
    prof = profile(tmp_path, PERCENTILE)
    rows = measures(*[m(d, "score", pct) for d, (pct, *_) in NJ_SET.items()], m("L21", "score", None, "below_min_n"))
    t = by_lea(run(prof, rows).table)
    for d, (pct, _lower, percentile, category, rank) in NJ_SET.items():
        r = t[d]
        assert r["percentage"] == pytest.approx(pct / 100), d
        assert r["percentile"] == pytest.approx(percentile), d
        assert r["category"] == category, d
        assert r["rank"] == rank, d
        assert r["tier"] == {"MR": "Tier 1", "NA": "Tier 2"}[category], d
    assert t["L02"]["category_label"] == "Needs Assistance"
    assert t["L05"]["category_label"] == "Meets Requirements"
    assert (t["L21"]["percentage"], t["L21"]["percentile"], t["L21"]["rank"], t["L21"]["category"]) == (None,) * 4
    assert t["L21"]["status"] == "not determined: no applicable factor"


def test_case_8_nj_method_never_gives_ni_or_nsi(tmp_path):
    """Case 8: NI and NSI are case by case (by_method = false): the lowest LEA is NA, never NI.

    3 LEAs at 0%, 10%, 100%: percentiles 0, 33.3, 66.7 (100 x 0/3, 1/3, 2/3) -> NA, MR, MR.
    """
    prof = profile(tmp_path, PERCENTILE)
    t = by_lea(run(prof, measures(m("Z0", "score", 0.0), m("Z10", "score", 10.0), m("Z100", "score", 100.0))).table)
    assert [t[d]["percentile"] for d in ("Z0", "Z10", "Z100")] == [0, pytest.approx(100 / 3), pytest.approx(200 / 3)]
    assert [t[d]["category"] for d in ("Z0", "Z10", "Z100")] == ["NA", "MR", "MR"]


# Five LEAs at 10, 20, 20, 30, 40%; MR at the 40th percentile and above.
#          strictly lower (lower/5)   at or below (lower+equal)/5   mid-rank (lower + equal/2)/5
# A 10%:   0/5 = 0   NA               1/5 = 20  NA                 0.5/5 = 10  NA
# B 20%:   1/5 = 20  NA               3/5 = 60  MR                 2/5   = 40  MR (>= 40)
# C 20%:   1/5 = 20  NA               3/5 = 60  MR                 2/5   = 40  MR
# D 30%:   3/5 = 60  MR               4/5 = 80  MR                 3.5/5 = 70  MR
# E 40%:   4/5 = 80  MR               5/5 = 100 MR                 4.5/5 = 90  MR
DEFINITIONS = {
    "strictly_lower": ([0, 20, 20, 60, 80], ["NA", "NA", "NA", "MR", "MR"]),
    "at_or_below": ([20, 60, 60, 80, 100], ["NA", "MR", "MR", "MR", "MR"]),
    "mid_rank": ([10, 40, 40, 70, 90], ["NA", "MR", "MR", "MR", "MR"]),
}


@pytest.mark.parametrize("definition", list(DEFINITIONS))
def test_case_9_percentile_definitions(tmp_path, definition):
    """Case 9: the three percentile definitions on five LEAs with a tie (table DEFINITIONS)."""
    body = SCORE_FACTOR + f"""
[determination]
source = "test"
method = "percentile"
percentile_definition = "{definition}"
categories = [{{ label = "Meets Requirements", short = "MR", min_percentile = 40 }},
              {{ label = "Needs Assistance", short = "NA" }}]
"""
    prof = profile(tmp_path, body)
    leas = {"A": 10.0, "B": 20.0, "C": 20.0, "D": 30.0, "E": 40.0}
    t = by_lea(run(prof, measures(*[m(d, "score", v) for d, v in leas.items()])).table)
    percentiles, categories = DEFINITIONS[definition]
    assert [t[d]["percentile"] for d in leas] == [pytest.approx(p) for p in percentiles]
    assert [t[d]["category"] for d in leas] == categories
    assert [t[d]["rank"] for d in leas] == [5, 3, 3, 2, 1]  # 40% first; the two at 20% share rank 3


# ---------------------------------------------------------------------------------------------------
# Cut points

CUT_OSEP = SCORE_FACTOR + f"""
[determination]
source = "docs/methods.md section 10: OSEP for states"
method = "cut_points"
{OSEP_CATEGORIES}
"""


def test_case_10_osep_cut_points_80_60(tmp_path):
    """Case 10: >= 80% MR, >= 60% NA, else NI; NSI is not given by the method.

    100 -> MR; 80 (exactly) -> MR; 79.99 -> NA; 60 (exactly) -> NA; 59.99 -> NI; 0 -> NI (not NSI).
    """
    prof = profile(tmp_path, CUT_OSEP)
    cases = {"C100": (100.0, "MR"), "C80": (80.0, "MR"), "C7999": (79.99, "NA"), "C60": (60.0, "NA"),
             "C5999": (59.99, "NI"), "C0": (0.0, "NI")}
    t = by_lea(run(prof, measures(*[m(d, "score", v) for d, (v, _) in cases.items()])).table)
    assert {d: t[d]["category"] for d in cases} == {d: c for d, (_, c) in cases.items()}
    assert t["C7999"]["category_label"] == "Needs Assistance"
    assert t["C80"]["percentile"] == pytest.approx(100 * 4 / 6)  # computed for every method; 4 of 6 below 80


def test_case_11_cut_points_reached_by_points_arithmetic(tmp_path):
    """Case 11: percentages from points, not typed in: 8 of 10 = 80% -> MR; 6 of 10 = 60% -> NA.

    Five factors of 2 points each (1.0 -> 2, else 0). EIGHT meets four: 2+2+2+2+0 = 8 / 10 = 80%.
    SIX meets three: 2+2+2+0+0 = 6 / 10 = 60%. FOUR meets two: 4 / 10 = 40% -> NI.
    """
    factors = "".join(f"""
[[factors]]
id = "F{i}"
title = "Factor {i}"
measure = "m{i}"
points = [{{ at_least = 1.0, points = 2 }}, {{ otherwise = 0 }}]
source = "test"
""" for i in range(1, 6))
    prof = profile(tmp_path, factors + f"""
[determination]
source = "OSEP"
method = "cut_points"
{OSEP_CATEGORIES}
""")
    met = {"EIGHT": 4, "SIX": 3, "FOUR": 2}
    rows = measures(*[m(d, f"m{i}", 1.0 if i <= k else 0.5) for d, k in met.items() for i in range(1, 6)])
    t = by_lea(run(prof, rows).table)
    assert (t["EIGHT"]["points_earned"], t["EIGHT"]["percentage"], t["EIGHT"]["category"]) == (8, 0.8, "MR")
    assert (t["SIX"]["points_earned"], t["SIX"]["percentage"], t["SIX"]["category"]) == (6, 0.6, "NA")
    assert (t["FOUR"]["points_earned"], t["FOUR"]["percentage"], t["FOUR"]["category"]) == (4, 0.4, "NI")


def test_case_12_az_four_categories_80_50_20(tmp_path):
    """Case 12: AZ: 80-100 MR, 50-79 NA, 20-49 NI, < 20 NSI.

    80 -> MR; 79.9 -> NA; 50 -> NA; 49.9 -> NI; 20 -> NI; 19.9 -> NSI; 0 -> NSI.
    """
    prof = profile(tmp_path, SCORE_FACTOR + """
[determination]
source = "docs/methods.md section 10: AZ for LEAs"
method = "cut_points"
categories = [
  { label = "Meets Requirements", short = "MR", min_percentage = 80 },
  { label = "Needs Assistance", short = "NA", min_percentage = 50 },
  { label = "Needs Intervention", short = "NI", min_percentage = 20 },
  { label = "Needs Substantial Intervention", short = "NSI" },
]
""")
    cases = {"A80": (80.0, "MR"), "A799": (79.9, "NA"), "A50": (50.0, "NA"), "A499": (49.9, "NI"),
             "A20": (20.0, "NI"), "A199": (19.9, "NSI"), "A0": (0.0, "NSI")}
    t = by_lea(run(prof, measures(*[m(d, "score", v) for d, (v, _) in cases.items()])).table)
    assert {d: t[d]["category"] for d in cases} == {d: c for d, (_, c) in cases.items()}
    assert t["A199"]["category_label"] == "Needs Substantial Intervention"


def test_case_13_strict_cut_point_op(tmp_path):
    """Case 13: `op = ">"`: MR above 80% only; 80 exactly -> NA, 80.01 -> MR."""
    prof = profile(tmp_path, SCORE_FACTOR + """
[determination]
source = "test"
method = "cut_points"
categories = [
  { label = "Meets Requirements", short = "MR", min_percentage = 80, op = ">" },
  { label = "Needs Assistance", short = "NA" },
]
""")
    t = by_lea(run(prof, measures(m("AT", "score", 80.0), m("ABOVE", "score", 80.01))).table)
    assert (t["AT"]["category"], t["ABOVE"]["category"]) == ("NA", "MR")


# ---------------------------------------------------------------------------------------------------
# Weighted groups

def groups_profile(tmp_path, results_when_empty: str):
    return profile(tmp_path, f"""
[[groups]]
id = "results"
weight = 0.5
when_empty = "{results_when_empty}"
source = "IN: results 50%"

[[groups]]
id = "compliance"
weight = 0.3
source = "IN: compliance 30%"

[[groups]]
id = "data"
weight = 0.2
source = "IN: data 20%"

[[factors]]
id = "R1"
title = "Results index (0-5)"
group = "results"
measure = "results_index"
score = "value"
max_points = 5
source = "test"

[[factors]]
id = "C11"
title = "Timely initial evaluation"
group = "compliance"
measure = "timeline"
points = {POINTS_95_75}
source = "OSEP compliance scoring"

[[factors]]
id = "C13"
title = "Secondary transition"
group = "compliance"
measure = "transition"
points = {POINTS_95_75}
source = "OSEP compliance scoring"

[[factors]]
id = "D1"
title = "Timely data"
group = "data"
measure = "compliance_fact"
where = {{ category = "data_timely" }}
points = [{{ at_least = 1, points = 2 }}, {{ otherwise = 0 }}]
source = "OSEP timely data"

[determination]
source = "OSEP"
method = "cut_points"
{OSEP_CATEGORIES}
""", name=f"groups-{results_when_empty.replace(':', '-')}")


GROUP_ROWS = [
    # W1: every group applies.
    m("W1", "results_index", 3.0), m("W1", "timeline", 0.80), m("W1", "transition", 1.0),
    m("W1", "compliance_fact", 1.0, category="data_timely"),
    # W2: no compliance factor applies (both no_data).
    m("W2", "results_index", 3.0), m("W2", "timeline", None, "no_data"), m("W2", "transition", None, "no_data"),
    m("W2", "compliance_fact", 1.0, category="data_timely"),
    # W3: no results factor applies.
    m("W3", "results_index", None, "below_min_n"), m("W3", "timeline", 0.80), m("W3", "transition", 1.0),
    m("W3", "compliance_fact", 0.0, category="data_timely"),
    # W4: nothing applies.
    m("W4", "results_index", None, "below_min_n"), m("W4", "timeline", None, "no_data"),
]


def test_case_14_weighted_groups_drop_an_empty_group_and_renormalise(tmp_path):
    """Case 14: results 50%, compliance 30%, data 20%; an empty group is dropped.

    W1: results 3/5 = 60%; compliance (1 + 2) / (2 + 2) = 75%; data 2/2 = 100%.
        0.5 x 0.6 + 0.3 x 0.75 + 0.2 x 1.0 = 0.3 + 0.225 + 0.2 = 0.725 -> NA.
        points earned 3 + 1 + 2 + 2 = 8 of 5 + 2 + 2 + 2 = 11 (shown, not the percentage).
    W2: results 60%, compliance n/a, data 100%:
        (0.5 x 0.6 + 0.2 x 1.0) / (0.5 + 0.2) = 0.5 / 0.7 = 0.714285714... -> NA.
    W3: results n/a, compliance 75%, data 0/2 = 0%:
        (0.3 x 0.75 + 0.2 x 0) / (0.3 + 0.2) = 0.225 / 0.5 = 45% -> NI.
    W4: no group applies: no percentage, not determined.
    """
    result = run(groups_profile(tmp_path, "drop"), measures(*GROUP_ROWS))
    t = by_lea(result.table)
    assert t["W1"]["percentage"] == pytest.approx(0.725)
    assert (t["W1"]["points_earned"], t["W1"]["points_possible"]) == (8, 11)
    assert t["W1"]["category"] == "NA"
    assert t["W2"]["percentage"] == pytest.approx(0.5 / 0.7)  # 0.714285714
    assert t["W2"]["category"] == "NA"
    assert "compliance (weight 0.3): n/a, dropped" in t["W2"]["group_detail"]
    assert t["W3"]["percentage"] == pytest.approx(0.45)
    assert t["W3"]["category"] == "NI"
    assert t["W4"]["percentage"] is None
    assert t["W4"]["category"] is None
    assert t["W4"]["status"] == "not determined: no applicable factor"


def test_case_15_when_empty_use_another_groups_percentage(tmp_path):
    """Case 15: results `when_empty = "use:compliance"`: W3 (no results factor) takes compliance's 75%.

    W3: 0.5 x 0.75 + 0.3 x 0.75 + 0.2 x 0.0 = 0.375 + 0.225 + 0 = 0.6 -> NA (exactly 60%).
    W1 and W2 have a results percentage: unchanged (0.725; 0.5 / 0.7, compliance still dropped).
    """
    result = run(groups_profile(tmp_path, "use:compliance"), measures(*GROUP_ROWS))
    t = by_lea(result.table)
    assert t["W3"]["percentage"] == pytest.approx(0.6)
    assert t["W3"]["category"] == "NA"  # 60% >= 60%
    assert "results (weight 0.5): 75.0%" in t["W3"]["group_detail"]
    assert t["W1"]["percentage"] == pytest.approx(0.725)
    assert t["W2"]["percentage"] == pytest.approx(0.5 / 0.7)


# ---------------------------------------------------------------------------------------------------
# Level alignment and escalation (MA 2012-13), with the state's own profile

MA_LEVELS = {1: ("MR", "Meets Requirements"), 2: ("MRAR", "Meets Requirements-At Risk"),
             3: ("NTA", "Needs Technical Assistance"), 4: ("NI", "Needs Intervention"),
             5: ("NSI", "Needs Substantial Intervention")}


def snc(district: str, value: float = 1.0) -> dict:
    """MA's significant-noncompliance fact (1 = yes)."""
    return m(district, "compliance_fact", value, flag="yes" if value else "no", category="significant_noncompliance")


def test_case_16_ma_levels_align_with_categories():
    """Case 16: accountability level 1-5 -> MR, MRAR, NTA, NI, NSI; no level -> not determined.

    NOSNC has no level and nothing else: not determined. NOLEVEL has no level but significant
    noncompliance: a condition applies to every LEA, those the method could not place too, so it
    is escalated to NSI; its label template "Level {level}-{to}" has no level to name, so the
    category's own label is shown.
    """
    ma = load_profile("ma-2012")
    dists = districts(("D1", 1), ("D2", 2), ("D3", 3), ("D4", 4), ("D5", 5), ("NOLEVEL", None), ("NOSNC", None))
    t = by_lea(run(ma, measures(snc("NOLEVEL")), dists).table)
    for level, (short, label) in MA_LEVELS.items():
        r = t[f"D{level}"]
        assert (r["accountability_level"], r["category"], r["category_label"]) == (level, short, label)
        assert r["status"] == "determined"
        assert r["placed_by"] == "method"
    assert t["NOSNC"]["category"] is None
    assert t["NOSNC"]["category_label"] is None
    assert t["NOSNC"]["status"] == "not determined: no accountability level"
    assert t["NOSNC"]["placed_by"] is None
    assert (t["NOLEVEL"]["category"], t["NOLEVEL"]["category_label"]) == ("NSI", "Needs Substantial Intervention")
    assert t["NOLEVEL"]["placed_by"] == "condition significant-noncompliance"


def test_case_17_ma_significant_noncompliance_escalates_to_nsi():
    """Case 17: significant noncompliance: Level 1 -> NSI shown "Level 1-NSI"; Level 5 stays NSI.

    L1SNC: base MR, escalated to NSI (more serious), label "Level 1-NSI", reason listed.
    L5SNC: base NSI; escalating to NSI changes nothing; the label stays the category's; reason listed.
    L1NO: the fact is 0 (no significant noncompliance): MR, no reason.
    """
    ma = load_profile("ma-2012")
    dists = districts(("L1SNC", 1), ("L5SNC", 5), ("L1NO", 1))
    t = by_lea(run(ma, measures(snc("L1SNC"), snc("L5SNC"), snc("L1NO", 0.0)), dists).table)
    assert (t["L1SNC"]["base"], t["L1SNC"]["category"], t["L1SNC"]["category_label"]) == ("MR", "NSI", "Level 1-NSI")
    assert t["L1SNC"]["reasons"].startswith("significant-noncompliance: significant noncompliance")
    assert (t["L5SNC"]["base"], t["L5SNC"]["category"]) == ("NSI", "NSI")
    assert t["L5SNC"]["category_label"] == "Needs Substantial Intervention"
    assert t["L5SNC"]["reasons"].startswith("significant-noncompliance:")
    assert (t["L1NO"]["category"], t["L1NO"]["category_label"], t["L1NO"]["reasons"]) == (
        "MR", "Meets Requirements", ""
    )


def test_case_18_ma_secondary_analysis_flags_levels_3_to_5_only():
    """Case 18: the secondary analysis (A) flags a Level 3 LEA, not a Level 2 one; no category changes.

    Both have low_income_identification flagged `exceeds`. L3: NTA stays NTA, reason shown.
    L2: MRAR, no reason (the analysis is for Levels 3, 4 and 5).
    """
    ma = load_profile("ma-2012")
    rows = measures(
        m("L3", "low_income_identification", 2.5, flag="exceeds", category="low_income"),
        m("L2", "low_income_identification", 2.5, flag="exceeds", category="low_income"),
    )
    t = by_lea(run(ma, rows, districts(("L3", 3), ("L2", 2))).table)
    assert (t["L3"]["category"], t["L3"]["category_label"]) == ("NTA", "Needs Technical Assistance")
    assert t["L3"]["reasons"].startswith("secondary-A: secondary analysis (A)")
    assert (t["L2"]["category"], t["L2"]["reasons"]) == ("MRAR", "")


LEVELS_TO_NI = """
[determination]
source = "test: MA's categories, escalation to NI instead of NSI"
method = "level_alignment"
categories = [
  { label = "Meets Requirements", short = "MR", level = 1 },
  { label = "Meets Requirements-At Risk", short = "MRAR", level = 2 },
  { label = "Needs Technical Assistance", short = "NTA", level = 3 },
  { label = "Needs Intervention", short = "NI", level = 4 },
  { label = "Needs Substantial Intervention", short = "NSI", level = 5 },
]

[[determination.conditions]]
id = "snc"
reason = "significant noncompliance"
measure = "compliance_fact"
where = { category = "significant_noncompliance" }
value_at_least = 1
action = "escalate"
to = "NI"
label = "Level {level}-{to}"
"""


def test_case_19_escalation_never_improves_a_category(tmp_path):
    """Case 19: escalate to NI: Level 1 -> NI ("Level 1-NI"); Level 4 is NI already; Level 5 stays NSI.

    NSI is more serious than NI: escalating a Level 5 LEA "to NI" would improve it, so it stays NSI
    (the reason is still listed). Level 4 is NI already: nothing changes, so no "Level 4-NI" label.
    """
    prof = profile(tmp_path, LEVELS_TO_NI)
    t = by_lea(run(prof, measures(snc("E1"), snc("E4"), snc("E5")), districts(("E1", 1), ("E4", 4), ("E5", 5))).table)
    assert (t["E1"]["category"], t["E1"]["category_label"]) == ("NI", "Level 1-NI")
    assert (t["E4"]["category"], t["E4"]["category_label"]) == ("NI", "Needs Intervention")
    assert (t["E5"]["category"], t["E5"]["category_label"]) == ("NSI", "Needs Substantial Intervention")
    assert t["E5"]["reasons"] == "snc: significant noncompliance"


# ---------------------------------------------------------------------------------------------------
# Overrides and tiers (NJ, with the state's own profile)


def test_case_20_nj_overrides_and_tiers():
    """Case 20: NJ's profile, only the timeline factor (F3) applying; the others are n/a.

    O1, O2 timeline 100% -> 2/2 = 100%; O3 80% -> 1/2 = 50%; O4 50% -> 0/2 = 0%.
    Percentiles (strictly lower, n = 4): O4 0/4 = 0 -> NA; O3 1/4 = 25 -> MR; O1, O2 2/4 = 50 -> MR.
    Overrides: O1 "Needs Intervention" (by label) -> NI, Tier 3; O2 "nsi" (by short name, any case)
    -> NSI, Tier 3. Without an override: O3 MR -> Tier 1; O4 NA -> Tier 2.
    """
    nj = load_profile("nj-ffy2022")
    rows = measures(m("O1", "timeline", 1.0), m("O2", "timeline", 1.0), m("O3", "timeline", 0.80),
                    m("O4", "timeline", 0.50))
    ovr = overrides(("O1", "Needs Intervention", "uncorrected noncompliance from a State complaint"),
                    ("O2", "nsi", "audit findings"))
    t = by_lea(run(nj, rows, ovr=ovr).table)
    assert [t[d]["percentage"] for d in ("O1", "O2", "O3", "O4")] == [1.0, 1.0, 0.5, 0.0]
    assert [t[d]["percentile"] for d in ("O1", "O2", "O3", "O4")] == [50, 50, 25, 0]
    assert [t[d]["base"] for d in ("O1", "O2", "O3", "O4")] == ["MR", "MR", "MR", "NA"]
    assert (t["O1"]["category"], t["O1"]["category_label"], t["O1"]["tier"]) == ("NI", "Needs Intervention", "Tier 3")
    assert t["O1"]["reasons"] == "override: uncorrected noncompliance from a State complaint"
    assert (t["O2"]["category"], t["O2"]["category_label"], t["O2"]["tier"]) == (
        "NSI", "Needs Substantial Intervention", "Tier 3")
    assert t["O2"]["reasons"] == "override: audit findings"
    assert (t["O3"]["category"], t["O3"]["tier"], t["O3"]["reasons"]) == ("MR", "Tier 1", "")
    assert (t["O4"]["category"], t["O4"]["tier"], t["O4"]["reasons"]) == ("NA", "Tier 2", "")
    assert t["O3"]["tier_text"].startswith("Information and Guidance")
    assert t["O4"]["tier_text"].startswith("Assistance and Consultation")
    assert t["O1"]["tier_text"].startswith("Direction and Transformation")


FORCE = SCORE_FACTOR + f"""
[determination]
source = "OSEP cut points, with a forcing condition"
method = "cut_points"
{OSEP_CATEGORIES}

[[determination.conditions]]
id = "uncorrected"
reason = "noncompliance uncorrected after one year"
measure = "compliance_fact"
where = {{ category = "significant_noncompliance" }}
value_at_least = 1
action = "force"
to = "NSI"
"""


def test_case_21_a_condition_forces_a_category_then_an_override_has_the_last_word(tmp_path):
    """Case 21: a failed condition places the LEA in the named category whatever its score.

    F100: 100% -> MR by the cut points, but the condition holds -> NSI (a category the method never
    gives), reason listed. OK100: 100%, the fact is 0 -> MR. FOV: 100%, condition -> NSI, then the
    override (applied last) -> NA; both reasons are listed, the condition's first.
    """
    prof = profile(tmp_path, FORCE)
    rows = measures(
        m("F100", "score", 100.0), m("F100", "compliance_fact", 1.0, category="significant_noncompliance"),
        m("OK100", "score", 100.0), m("OK100", "compliance_fact", 0.0, category="significant_noncompliance"),
        m("FOV", "score", 100.0), m("FOV", "compliance_fact", 1.0, category="significant_noncompliance"),
    )
    t = by_lea(run(prof, rows, ovr=overrides(("FOV", "Needs Assistance", "corrected since"))).table)
    assert (t["F100"]["base"], t["F100"]["category"]) == ("MR", "NSI")
    assert t["F100"]["category_label"] == "Needs Substantial Intervention"
    assert t["F100"]["reasons"] == "uncorrected: noncompliance uncorrected after one year"
    assert (t["OK100"]["category"], t["OK100"]["reasons"]) == ("MR", "")
    assert (t["FOV"]["category"], t["FOV"]["category_label"]) == ("NA", "Needs Assistance")
    assert t["FOV"]["reasons"] == "uncorrected: noncompliance uncorrected after one year; override: corrected since"


def test_percentiles_are_written_as_the_exact_share():
    # 1,000 LEAs with distinct percentages: the LEA with 378 below it is at 100 x 378 / 1000 = 37.8,
    # not 37.800000000000004 (100 x (378 / 1000) in floating point, which a run once wrote).
    from sedet.determine.engine import _percentile

    frame = pl.DataFrame({"percentage": [i / 1000 for i in range(1000)]})
    got = frame.select(_percentile("strictly_lower", "percentage").alias("p")).get_column("p")
    assert got[378] == 37.8 and got[1] == 0.1 and got[999] == 99.9
    assert repr(got[378]) == "37.8"
