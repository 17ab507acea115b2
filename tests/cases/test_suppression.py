"""Worked examples: suppression for public release (`--public`; docs/methods.md section 11; IDEA 618(b)(1)).

The tables are suppressed with `detail=True`, so that the `suppressed` column tells "primary" from
"complementary" (a public table says "withheld" for both: issue 17). The rules issue 17 added (days-late
rows, flags, totals of 0, points) have their cases in tests/report/test_disclosure.py.

The rule (sedet/report/suppress.py documents every choice):

- primary: a row whose group (denominator; for a bare count, the count) has 1 to min_n - 1 students
  (default min_n 10) shows the token in numerator, denominator, value and comparison cells; so does a row
  whose comparison group is that small. A group of 0 is shown. A small numerator in a group of at
  least min_n is shown.
- comparison counts are always withheld; the comparison value is withheld with the numerator.
- complementary: in an additive family (parts and their total along one qualifier; the LEA rows and
  the statewide row; the racial/ethnic groups of a risk ratio, whose LEA total counts as published) no
  withheld member may be the only unknown, and withheld parts may not add up to fewer than min_n
  students while the total is shown; the shown part with students and the smallest denominator is
  withheld next (ties by district_id, then qualifiers), else the total; repeated until nothing changes.
- top/bottom coding (off by default): a rate of a group of 40-99 at or above 95% shows "≥95%", at or
  below 5% "≤5%", and its numerator is withheld; the family rule then protects that numerator too.
- nothing else changes: a shown cell is the number itself (counts as whole numbers, values at full
  precision), no row is dropped or reordered, `note` is withheld on every row.

Every expected cell below is worked out by hand; the arithmetic is beside it.
"""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sedet.measures.registry import measure_infos
from sedet.model import MEASURE_COLUMNS, MEASURE_SCHEMA, ReportingParams
from sedet.report.suppress import (
    check_token,
    public_manifest,
    suppress_factors,
    suppress_measures,
)

YEAR = 2012
INFOS = measure_infos()  # what each measure family declares of its measures
P = ReportingParams()  # min_n 10, token "*", no top/bottom coding
CODING = ReportingParams(top_bottom_coding=True)  # groups of 40-99: >= 95% and <= 5% coded
T = "*"
NUMBER_CELLS = ["numerator", "denominator", "value", "comparison_numerator", "comparison_denominator",
                "comparison_value"]


# ---------------------------------------------------------------------------------------------------
# Helpers


def r(measure: str, district: str | None, num: float | None, den: float | None, *, value: float | None = None,
      year: int = YEAR, cn: float | None = None, cd: float | None = None, cv: float | None = None,
      status: str = "ok", flag: str | None = None, **quals: str) -> dict:
    """One measure row; value defaults to num / den (a rate), None when den is 0 or missing."""
    if value is None and num is not None and den:
        value = num / den
    row = dict.fromkeys(MEASURE_COLUMNS)
    row.update(school_year=year, district_id=district, measure=measure, numerator=num, denominator=den,
               value=value, comparison_numerator=cn, comparison_denominator=cd, comparison_value=cv,
               status=status, flag=flag, note=f"{num} of {den}")
    row.update(quals)
    return row


def table(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=MEASURE_SCHEMA)


def pick(public: pl.DataFrame, district: str | None, measure: str, **quals: str) -> dict:
    """The one public row of a district (None: statewide), measure and qualifiers (unnamed ones null)."""
    cond = pl.col("district_id").eq_missing(pl.lit(district, pl.String)) & (pl.col("measure") == measure)
    for q in ["subject", "grade_band", "assessment", "race_ethnicity", "disability", "category"]:
        cond = cond & pl.col(q).eq_missing(pl.lit(quals.get(q), pl.String))
    found = public.filter(cond)
    assert found.height == 1, (district, measure, quals, found)
    return found.row(0, named=True)


def cells(row: dict) -> tuple:
    return row["numerator"], row["denominator"], row["value"]


# ---------------------------------------------------------------------------------------------------
# Primary suppression


def test_a_group_of_9_is_suppressed_and_a_group_of_10_is_not():
    # timeline (Indicator 11) of two LEAs, no statewide row, so no family: only the primary rule.
    # A: 8 of 9 children on time: a group of 9 < 10 -> numerator, denominator and value withheld.
    # B: 9 of 10: a group of 10 >= 10 -> shown: "9", "10", 9 / 10 = 0.9.
    df = table(r("timeline", "A", 8, 9), r("timeline", "B", 9, 10))
    public = suppress_measures(df, P, INFOS, detail=True)
    a, b = pick(public, "A", "timeline"), pick(public, "B", "timeline")
    assert cells(a) == (T, T, T) and a["suppressed"] == "primary"
    assert cells(b) == ("9", "10", "0.9") and b["suppressed"] is None


def test_min_n_is_the_parameter():
    # min_n 5 (NY uses < 5): a group of 5 is shown, a group of 4 is not.
    df = table(r("timeline", "A", 4, 4), r("timeline", "B", 5, 5))
    public = suppress_measures(df, ReportingParams(min_n=5), INFOS, detail=True)
    assert cells(pick(public, "A", "timeline")) == (T, T, T)
    assert cells(pick(public, "B", "timeline")) == ("5", "5", "1.0")


def test_a_small_numerator_in_a_large_group_is_shown_and_an_empty_group_is_not_withheld():
    # 3 of 300 proficient: the group (300) is large; the count of 3 does not single out a child -> shown.
    # 0 of 0 (no student with an alternate assessment): no child in the group -> shown as 0, value stays null.
    df = table(r("proficiency", "A", 3, 300, subject="ELA", grade_band="3-8", assessment="REG"),
               r("proficiency", "B", 0, 0, subject="ELA", grade_band="3-8", assessment="ALT", status="no_data"))
    public = suppress_measures(df, P, INFOS, detail=True)
    assert cells(pick(public, "A", "proficiency", subject="ELA", grade_band="3-8", assessment="REG")) == \
        ("3", "300", "0.01")
    b = pick(public, "B", "proficiency", subject="ELA", grade_band="3-8", assessment="ALT")
    assert cells(b) == ("0", "0", None) and b["suppressed"] is None


def test_a_value_that_was_not_computed_stays_null_when_suppressed():
    # 11 of 12 participated, below the measure's own minimum of 40, so the value was never computed
    # (status below_min_n, value null). min_n 20 withholds the counts; the value stays null, not the token.
    df = table(r("participation", "A", 11, 12, value=None, status="below_min_n", subject="ELA", grade_band="3-8"))
    df = df.with_columns(pl.lit(None, pl.Float64).alias("value"))
    row = pick(suppress_measures(df, ReportingParams(min_n=20), INFOS, detail=True), "A", "participation",
               subject="ELA", grade_band="3-8")
    assert cells(row) == (T, T, None) and row["status"] == "below_min_n"


def test_a_bare_count_is_its_own_group():
    # timeline_exceptions counts children (no denominator). Per code in LEA A: 301D1 = 2, 301D2 = 0,
    # 309C = 12; any exception (category null) = 14 = 2 + 0 + 12. The value is the count.
    # 301D1: 2 children < 10 -> withheld (primary). 301D2: 0 -> shown.
    # Family by category {301D1 2*, 301D2 0, 309C 12, total 14}: one withheld member, and
    # 14 - 0 - 12 = 2 would give it back -> withhold the shown part with children and the smallest
    # count: 309C (12); 301D2 has no child and protects nothing. The total stays shown.
    df = table(
        r("timeline_exceptions", "A", 14, None, value=14),
        r("timeline_exceptions", "A", 2, None, value=2, category="301D1"),
        r("timeline_exceptions", "A", 0, None, value=0, category="301D2"),
        r("timeline_exceptions", "A", 12, None, value=12, category="309C"),
    )
    public = suppress_measures(df, P, INFOS, detail=True)
    assert cells(pick(public, "A", "timeline_exceptions", category="301D1")) == (T, None, T)
    assert pick(public, "A", "timeline_exceptions", category="301D1")["suppressed"] == "primary"
    assert cells(pick(public, "A", "timeline_exceptions", category="301D2")) == ("0", None, "0.0")
    c309 = pick(public, "A", "timeline_exceptions", category="309C")
    assert cells(c309) == (T, None, T) and c309["suppressed"] == "complementary"
    assert cells(pick(public, "A", "timeline_exceptions")) == ("14", None, "14.0")


def test_counts_of_districts_are_not_suppressed():
    # Indicator 9 statewide: 0 of 4 LEAs; its excluded row: 2 of 6 LEAs. These count LEAs, not
    # children -> shown although 4 < 10. correction counts findings of noncompliance (1 of 1) -> shown.
    df = table(r("indicator_9", None, 0, 4), r("indicator_9_excluded", None, 2, 6, value=None),
               r("correction", "A", 1, 1))
    df = df.with_columns(pl.when(pl.col("measure") == "indicator_9_excluded").then(None)
                         .otherwise(pl.col("value")).alias("value"))
    public = suppress_measures(df, P, INFOS, detail=True)
    assert cells(pick(public, None, "indicator_9")) == ("0", "4", "0.0")
    assert cells(pick(public, None, "indicator_9_excluded")) == ("2", "6", None)
    assert cells(pick(public, "A", "correction")) == ("1", "1", "1.0")
    assert public.get_column("suppressed").null_count() == 3


# ---------------------------------------------------------------------------------------------------
# Complementary suppression


ELA38 = {"subject": "ELA", "grade_band": "3-8"}


def test_one_withheld_assessment_is_not_recoverable_from_the_total():
    # Proficiency in LEA A: REG 120/300, ALT 3/8, all (assessment null) 123/308 = REG + ALT.
    # ALT: 8 < 10 -> primary. Shown as is, ALT = all - REG = 123 - 120 of 308 - 300 = 3 of 8.
    # So REG, the only other part, is withheld too (the part, not the total: the total is the figure
    # people look for). all stays: 123/308 alone gives neither part.
    df = table(
        r("proficiency", "A", 120, 300, assessment="REG", **ELA38),
        r("proficiency", "A", 3, 8, assessment="ALT", **ELA38),
        r("proficiency", "A", 123, 308, **ELA38),
    )
    public = suppress_measures(df, P, INFOS, detail=True)
    alt = pick(public, "A", "proficiency", assessment="ALT", **ELA38)
    reg = pick(public, "A", "proficiency", assessment="REG", **ELA38)
    total = pick(public, "A", "proficiency", **ELA38)
    assert cells(alt) == (T, T, T) and alt["suppressed"] == "primary"
    assert cells(reg) == (T, T, T) and reg["suppressed"] == "complementary"
    assert cells(total) == ("123", "308", str(123 / 308)) and total["suppressed"] is None


def test_an_lea_withheld_under_a_shown_state_row_takes_the_smallest_other_lea_with_it():
    # Participation, ELA 3-8: A 8/9, B 45/50, C 190/200; statewide (Indicator 3B) 243/259
    # (8 + 45 + 190 = 243, 9 + 50 + 200 = 259).
    # A: 9 < 10 -> primary; then A = state - B - C = 243 - 45 - 190 of 259 - 50 - 200 = 8 of 9.
    # Withhold the shown LEA with the smallest group: B (50 < 200). C and the state row stay.
    df = table(
        r("participation", "A", 8, 9, **ELA38),
        r("participation", "B", 45, 50, **ELA38),
        r("participation", "C", 190, 200, **ELA38),
        r("indicator_3b", None, 243, 259, **ELA38),
    )
    public = suppress_measures(df, P, INFOS, detail=True)
    assert pick(public, "A", "participation", **ELA38)["suppressed"] == "primary"
    b = pick(public, "B", "participation", **ELA38)
    assert cells(b) == (T, T, T) and b["suppressed"] == "complementary"
    assert cells(pick(public, "C", "participation", **ELA38)) == ("190", "200", "0.95")
    assert cells(pick(public, None, "indicator_3b", **ELA38)) == ("243", "259", str(243 / 259))


def test_ties_are_broken_by_district_id_whatever_the_input_order():
    # Timeline: A 5/6 (primary), B and C both 40/50, statewide (Indicator 11) 85/106.
    # B and C tie on 50 -> the first by district_id, B, is withheld; the same for any order of the rows.
    rows = [r("timeline", "A", 5, 6), r("timeline", "C", 40, 50), r("timeline", "B", 40, 50),
            r("indicator_11", None, 85, 106)]
    for seed in range(5):
        random.Random(seed).shuffle(rows)
        public = suppress_measures(table(*rows), P, INFOS, detail=True)
        assert pick(public, "B", "timeline")["suppressed"] == "complementary"
        assert pick(public, "C", "timeline")["suppressed"] is None


def test_withheld_parts_must_not_add_up_to_a_small_group():
    # Timeline: A 4/4, B 5/5 (both primary), C 100/120, D 150/200; statewide 259/329
    # (4+5+100+150 = 259; 4+5+120+200 = 329).
    # Two LEAs are withheld, but state - C - D = 9 children of A and B together: a group of 9 < 10
    # published after all. So one more LEA goes: the smallest shown group, C (120 < 200);
    # then the withheld LEAs add up to 4 + 5 + 120 = 129 >= 10.
    df = table(r("timeline", "A", 4, 4), r("timeline", "B", 5, 5), r("timeline", "C", 100, 120),
               r("timeline", "D", 150, 200), r("indicator_11", None, 259, 329))
    public = suppress_measures(df, P, INFOS, detail=True)
    assert [pick(public, d, "timeline")["suppressed"] for d in "ABCD"] == \
        ["primary", "primary", "complementary", None]
    assert cells(pick(public, None, "indicator_11")) == ("259", "329", str(259 / 329))


def test_a_chain_through_the_state_row():
    # LEA A: REG 120/300, ALT 3/8, all 123/308.  LEA B: REG 200/400, ALT 20/40, all 220/440.
    # Statewide (Indicator 3C): REG 320/700, ALT 23/48, all 343/748 (the LEA rows added up).
    # 1. A ALT: 8 < 10 -> primary.
    # 2. A by assessment {REG, ALT*, all}: one withheld -> A REG (the only other part with students).
    # 3. The state's REG {A*, B, state}: A REG = 320 - 200 would come back -> B REG.
    #    The state's ALT {A*, B, state}: A ALT = 23 - 20 of 48 - 40 -> B ALT.
    # 4. B by assessment {REG*, ALT*, all}: two withheld, together 440 students -> safe. The state's
    #    "all" row and both LEAs' "all" rows: nothing withheld -> shown.
    # Nothing in B is small, yet B's parts go: they would give A's back through the state rows.
    df = table(
        r("proficiency", "A", 120, 300, assessment="REG", **ELA38),
        r("proficiency", "A", 3, 8, assessment="ALT", **ELA38),
        r("proficiency", "A", 123, 308, **ELA38),
        r("proficiency", "B", 200, 400, assessment="REG", **ELA38),
        r("proficiency", "B", 20, 40, assessment="ALT", **ELA38),
        r("proficiency", "B", 220, 440, **ELA38),
        r("indicator_3c", None, 320, 700, assessment="REG", **ELA38),
        r("indicator_3c", None, 23, 48, assessment="ALT", **ELA38),
        r("indicator_3c", None, 343, 748, **ELA38),
    )
    public = suppress_measures(df, P, INFOS, detail=True)

    def why(d, m, a=None):
        return pick(public, d, m, assessment=a, **ELA38)["suppressed"]

    assert why("A", "proficiency", "ALT") == "primary"
    assert why("A", "proficiency", "REG") == "complementary"
    assert why("B", "proficiency", "REG") == "complementary"
    assert why("B", "proficiency", "ALT") == "complementary"
    for d, m in [("A", "proficiency"), ("B", "proficiency"), (None, "indicator_3c")]:
        assert why(d, m) is None
    for a in ["REG", "ALT"]:
        assert why(None, "indicator_3c", a) is None
    assert cells(pick(public, "B", "proficiency", **ELA38)) == ("220", "440", "0.5")


def test_a_chain_that_needs_a_second_round():
    # As above, plus LEA C with only alternate-assessment students: ALT 2/5, all 2/5. Statewide:
    # REG 320/700, ALT 25/53 (3+20+2, 8+40+5), all 345/753 (123+220+2, 308+440+5).
    # Round 1, by assessment: A {REG, ALT 8*, all}: one withheld -> A REG.
    #                         C {ALT 5*, all 5*}: two withheld (the total with them) -> nothing to do.
    #          LEAs and state: REG {A 300*, B 400, state}: one withheld -> B REG.
    #                          ALT {A 8*, B 40, C 5*, state}: two withheld, 8 + 5 = 13 >= 10 -> safe.
    #                          all {A 308, B 440, C 5*, state}: one withheld -> A all (308 < 440).
    # Round 2, by assessment: B {REG 400*, ALT 40, all 440}: B REG, withheld in round 1, is now the only
    #          unknown of B's family (440 - 40) -> B ALT, the only other part.
    #          LEAs and state: ALT {A*, B*, C*}, REG {A*, B*}, all {A*, B 440, C*}: all safe.
    # Round 3: nothing changes. Shown: B all 220/440 and the three state rows.
    df = table(
        r("proficiency", "A", 120, 300, assessment="REG", **ELA38),
        r("proficiency", "A", 3, 8, assessment="ALT", **ELA38),
        r("proficiency", "A", 123, 308, **ELA38),
        r("proficiency", "B", 200, 400, assessment="REG", **ELA38),
        r("proficiency", "B", 20, 40, assessment="ALT", **ELA38),
        r("proficiency", "B", 220, 440, **ELA38),
        r("proficiency", "C", 2, 5, assessment="ALT", **ELA38),
        r("proficiency", "C", 2, 5, **ELA38),
        r("indicator_3c", None, 320, 700, assessment="REG", **ELA38),
        r("indicator_3c", None, 25, 53, assessment="ALT", **ELA38),
        r("indicator_3c", None, 345, 753, **ELA38),
    )
    public = suppress_measures(df, P, INFOS, detail=True)
    got = {(d["district_id"], d["assessment"]): d["suppressed"] for d in public.iter_rows(named=True)}
    assert got == {
        ("A", "REG"): "complementary", ("A", "ALT"): "primary", ("A", None): "complementary",
        ("B", "REG"): "complementary", ("B", "ALT"): "complementary", ("B", None): None,
        ("C", "ALT"): "primary", ("C", None): "primary",
        (None, "REG"): None, (None, "ALT"): None, (None, None): None,
    }


def test_the_same_group_under_two_measures_is_withheld_in_both():
    # Proficiency (all assessments) and the performance index of LEA B count the same 50 accountable
    # students. B's proficiency is withheld to protect A (statewide 3C = A + B: 4/9 + 20/50 = 24/59);
    # a shown performance index with denominator 50 would give B's group, and with the state row A's
    # group (59 - 50 = 9), back. So B's performance index goes too. A's index (a group of 9) is primary.
    df = table(
        r("proficiency", "A", 4, 9, **ELA38),
        r("proficiency", "B", 20, 50, **ELA38),
        r("indicator_3c", None, 24, 59, **ELA38),
        r("performance_index", "A", 12, 9, value=133.3, **ELA38),
        r("performance_index", "B", 80, 50, value=160.0, **ELA38),
    )
    public = suppress_measures(df, P, INFOS, detail=True)
    assert pick(public, "B", "proficiency", **ELA38)["suppressed"] == "complementary"
    assert cells(pick(public, "B", "performance_index", **ELA38)) == (T, T, T)
    assert pick(public, "A", "performance_index", **ELA38)["suppressed"] == "primary"


# ---------------------------------------------------------------------------------------------------
# Risk ratios and comparison counts


def risk_ratio_lea() -> pl.DataFrame:
    # LEA X, identification: BL7 5 of 8 students have IEPs, WH7 40 of 400, HI7 20 of 150, AS7 none.
    # LEA total: 65 of 558. The comparison of each group is all other groups of the LEA:
    #   BL7: (40+20) / (400+150) = 60/550;  WH7: (5+20) / (8+150) = 25/158;
    #   HI7: (5+40) / (8+400) = 45/408;     AS7: 65/558.
    # Ratio = group risk / comparison risk.
    def rr(race, n, d, cn, cd):
        return r("risk_ratio", "X", n, d, value=(n / d) / (cn / cd) if d else None, cn=cn, cd=cd, cv=cn / cd,
                 race_ethnicity=race, category="identification", status="ok" if d else "no_data")
    return table(rr("BL7", 5, 8, 60, 550), rr("WH7", 40, 400, 25, 158), rr("HI7", 20, 150, 45, 408),
                 rr("AS7", 0, 0, 65, 558))


def test_a_withheld_group_cannot_be_recovered_from_the_other_groups_comparisons():
    # Shown as computed, BL7 (8 < 10) would come back twice over:
    #   WH7's counts plus its comparison give the LEA total, 40 + 25 = 65 of 400 + 158 = 558, and then
    #   BL7 = 65 - 40 - 20 = 5 of 558 - 400 - 150 = 8;  or from BL7's own comparison: 65 - 60, 558 - 550.
    # Public: comparison counts are withheld on every row; BL7 is withheld (primary, its comparison value
    # too: with the total known it would give 5/8 back). The total of the LEA is public anyway (two
    # groups' comparison values solve for it), so BL7 may not be the only withheld group: HI7, the
    # smaller shown group with students (150 < 400), goes too. AS7 (no student) protects nothing.
    public = suppress_measures(risk_ratio_lea(), P, INFOS, detail=True)
    bl7 = pick(public, "X", "risk_ratio", race_ethnicity="BL7", category="identification")
    hi7 = pick(public, "X", "risk_ratio", race_ethnicity="HI7", category="identification")
    wh7 = pick(public, "X", "risk_ratio", race_ethnicity="WH7", category="identification")
    as7 = pick(public, "X", "risk_ratio", race_ethnicity="AS7", category="identification")
    assert [bl7[c] for c in NUMBER_CELLS] == [T] * 6 and bl7["suppressed"] == "primary"
    assert [hi7[c] for c in NUMBER_CELLS] == [T] * 6 and hi7["suppressed"] == "complementary"
    # WH7: own counts, ratio and comparison rate shown; comparison counts withheld
    assert [wh7[c] for c in NUMBER_CELLS] == ["40", "400", str(0.1 / (25 / 158)), T, T, str(25 / 158)]
    assert wh7["suppressed"] == "comparison"
    assert [as7[c] for c in NUMBER_CELLS] == ["0", "0", None, T, T, str(65 / 558)]
    # no public cell holds the LEA total or any comparison count
    shown = {v for c in NUMBER_CELLS for v in public.get_column(c).to_list()}
    assert not shown & {"65", "558", "60", "550", "25", "158", "45", "408"}


def test_a_small_comparison_group_withholds_the_row():
    # Low income in LEA Y: 30 of 200 low-income students identified; the comparison group (not low
    # income) is 1 of 6. The LEA total is public, so 200 shown gives the other group's 6 (and its 1)
    # back: a group of 6 < 10 -> the row is withheld.
    df = table(r("low_income_identification", "Y", 30, 200, value=(30 / 200) / (1 / 6), cn=1, cd=6, cv=1 / 6,
                 category="low_income"))
    row = pick(suppress_measures(df, P, INFOS, detail=True), "Y", "low_income_identification", category="low_income")
    assert [row[c] for c in NUMBER_CELLS] == [T] * 6 and row["suppressed"] == "primary"


# ---------------------------------------------------------------------------------------------------
# Top/bottom coding


def test_top_and_bottom_coding_of_mid_sized_groups():
    # Participation per LEA (no statewide row, no family), coding on: groups of 40-99.
    # A 49/50 = 0.98 >= 0.95 -> "≥95%", the numerator withheld (49 of 50 would give 98% back), 50 shown.
    #   (The brief's "0.97 of 50" is not a whole count; 0.98 = 49/50 is the nearest.)
    # B 117/120 = 0.975: a group of 120 > 99 -> not coded, shown.
    # C 2/60 = 0.0333 <= 0.05 -> "≤5%".  D 3/60 = 0.05, exactly the bound -> "≤5%".
    # E 57/60 = 0.95, exactly the bound -> "≥95%".  F 56/60 = 0.9333 -> shown.
    # G 39/39 = 1.0: a group of 39 < 40 -> not coded, shown.
    df = table(*(r("participation", d, n, den, **ELA38) for d, n, den in
                 [("A", 49, 50), ("B", 117, 120), ("C", 2, 60), ("D", 3, 60), ("E", 57, 60), ("F", 56, 60),
                  ("G", 39, 39)]))
    public = suppress_measures(df, CODING, INFOS, detail=True)

    def got(d):
        row = pick(public, d, "participation", **ELA38)
        return cells(row) + (row["suppressed"],)

    assert got("A") == (T, "50", "≥95%", "coded")
    assert got("B") == ("117", "120", "0.975", None)
    assert got("C") == (T, "60", "≤5%", "coded")
    assert got("D") == (T, "60", "≤5%", "coded")
    assert got("E") == (T, "60", "≥95%", "coded")
    assert got("F") == ("56", "60", str(56 / 60), None)
    assert got("G") == ("39", "39", "1.0", None)
    # coding is off by default: A is shown as it is
    plain = suppress_measures(df, P, INFOS, detail=True)
    assert cells(pick(plain, "A", "participation", **ELA38)) == ("49", "50", "0.98")


def test_the_band_labels_follow_the_parameters():
    # top 0.9, bottom 0.1: 46/50 = 0.92 -> "≥90%"; 4/50 = 0.08 -> "≤10%"
    params = ReportingParams(top_bottom_coding=True, top=0.9, bottom=0.1)
    df = table(r("timeline", "A", 46, 50), r("timeline", "B", 4, 50))
    public = suppress_measures(df, params, INFOS, detail=True)
    assert pick(public, "A", "timeline")["value"] == "≥90%"
    assert pick(public, "B", "timeline")["value"] == "≤10%"


def test_a_coded_numerator_is_not_recoverable_from_the_total():
    # Proficiency in LEA A: REG 49/50 = 0.98 -> coded, numerator withheld; ALT 30/60 = 0.5; all 79/110.
    # REG's numerator = 79 - 30 = 49 would come back -> ALT's numerator (and its value, which with
    # the shown 60 gives the numerator) is withheld too; ALT's denominator stays (REG's 50 is shown
    # anyway). all is shown.
    df = table(
        r("proficiency", "A", 49, 50, assessment="REG", **ELA38),
        r("proficiency", "A", 30, 60, assessment="ALT", **ELA38),
        r("proficiency", "A", 79, 110, **ELA38),
    )
    public = suppress_measures(df, CODING, INFOS, detail=True)
    reg = pick(public, "A", "proficiency", assessment="REG", **ELA38)
    alt = pick(public, "A", "proficiency", assessment="ALT", **ELA38)
    assert cells(reg) == (T, "50", "≥95%") and reg["suppressed"] == "coded"
    assert cells(alt) == (T, "60", T) and alt["suppressed"] == "complementary"
    assert cells(pick(public, "A", "proficiency", **ELA38)) == ("79", "110", str(79 / 110))


# ---------------------------------------------------------------------------------------------------
# What suppression leaves alone


def mixed_table() -> pl.DataFrame:
    return pl.concat([
        table(
            r("proficiency", "A", 120, 300, assessment="REG", **ELA38),
            r("proficiency", "A", 3, 8, assessment="ALT", **ELA38),
            r("proficiency", "A", 123, 308, **ELA38),
            r("participation", "A", 8, 9, **ELA38), r("participation", "B", 45, 50, **ELA38),
            r("participation", "C", 190, 200, **ELA38), r("indicator_3b", None, 243, 259, **ELA38),
            r("participation", "D", 49, 50, subject="MATH", grade_band="3-8"),
            r("performance_index", "B", 81.5, 47, value=173.4, **ELA38),  # 47: not the 50 of participation
            r("ayp", "B", None, None, value=1.0, flag="made", **ELA38),
        ),
        risk_ratio_lea(),
    ])


@pytest.mark.parametrize("params", [P, CODING, ReportingParams(token="N<10", top_bottom_coding=True)])
def test_suppression_never_changes_a_shown_number_and_drops_no_row(params):
    # Every cell is the original number as text, the token, or (coded values) a band; no row is
    # dropped or moved; the flag, status and threshold are untouched; the note is withheld.
    df = mixed_table()
    public = suppress_measures(df, params, INFOS, detail=True)
    assert public.height == df.height
    assert public.select("district_id", "measure", "race_ethnicity").equals(
        df.select("district_id", "measure", "race_ethnicity"))
    assert public.get_column("flag").equals(df.get_column("flag"))
    assert public.get_column("status").equals(df.get_column("status"))
    assert public.get_column("threshold").equals(df.get_column("threshold"))
    assert public.get_column("note").null_count() == public.height
    bands = {"≥95%", "≤5%"}
    for c in NUMBER_CELLS:
        assert public.schema[c] == pl.String
        for before, after in zip(df.get_column(c).to_list(), public.get_column(c).to_list(), strict=True):
            if before is None:
                assert after is None
            elif after not in {params.token, *bands}:
                assert float(after) == before  # the same number, to the last digit
    # counts are whole numbers, values at full precision
    assert pick(public, "C", "participation", **ELA38)["numerator"] == "190"
    assert pick(public, "B", "performance_index", **ELA38)["numerator"] == "81.5"


def test_the_token_is_the_parameter():
    public = suppress_measures(table(r("timeline", "A", 8, 9), r("timeline", "B", 45, 50)),
                               ReportingParams(token="N<10"), INFOS, detail=True)
    assert cells(pick(public, "A", "timeline")) == ("N<10", "N<10", "N<10")
    assert "*" not in set(public.get_column("numerator").to_list())


@pytest.mark.parametrize("token", ["", "  ", "0", "-1", "1e3", "nan"])
def test_a_token_that_reads_as_a_number_or_nothing_is_refused(token):
    with pytest.raises(ValueError):
        check_token(token)
    with pytest.raises(ValueError):
        suppress_measures(table(r("timeline", "A", 8, 9)), ReportingParams(token=token), INFOS, detail=True)


def test_other_columns_pass_through():
    df = table(r("timeline", "A", 8, 9), r("timeline", "B", 45, 50))
    df = df.with_columns(pl.Series("district_name", ["Alpha", "Beta"])).select(
        "school_year", "district_id", "district_name", *MEASURE_COLUMNS[2:])
    public = suppress_measures(df, P, INFOS, detail=True)
    assert public.columns == [*df.columns, "suppressed"]
    assert public.get_column("district_name").to_list() == ["Alpha", "Beta"]


def test_an_empty_table():
    public = suppress_measures(table(), P, INFOS, detail=True)
    assert public.height == 0 and public.schema["numerator"] == pl.String and "suppressed" in public.columns


# ---------------------------------------------------------------------------------------------------
# A property: on any LEA x assessment table with its state rows, no family is left with one unknown


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 1)), min_size=1, max_size=6))
def test_no_family_is_left_with_exactly_one_withheld_member(leas):
    # Each LEA: REG den, ALT den (numerators: about half); the "all" row and the statewide rows add up.
    rows = []
    tot = {"REG": [0, 0], "ALT": [0, 0]}
    for i, (reg, alt, _) in enumerate(leas):
        d = f"L{i}"
        for a, den in [("REG", reg), ("ALT", alt)]:
            rows.append(r("proficiency", d, den // 2, den, assessment=a, **ELA38))
            tot[a][0] += den // 2
            tot[a][1] += den
        rows.append(r("proficiency", d, reg // 2 + alt // 2, reg + alt, **ELA38))
    for a in ["REG", "ALT"]:
        rows.append(r("indicator_3c", None, tot[a][0], tot[a][1], assessment=a, **ELA38))
    rows.append(r("indicator_3c", None, tot["REG"][0] + tot["ALT"][0], tot["REG"][1] + tot["ALT"][1], **ELA38))
    df = table(*rows)
    public = suppress_measures(df, P, INFOS, detail=True)
    hidden = dict(zip(zip(df["district_id"].to_list(), df["assessment"].to_list(), strict=True),
                      (public["denominator"] == T).to_list(), strict=True))
    size = dict(zip(zip(df["district_id"].to_list(), df["assessment"].to_list(), strict=True),
                    df["denominator"].to_list(), strict=True))
    ids = [f"L{i}" for i in range(len(leas))] + [None]
    families = [[(d, "REG"), (d, "ALT"), (d, None)] for d in ids]  # by assessment, LEAs and state
    families += [[(d, a) for d in ids] for a in ["REG", "ALT", None]]  # LEAs and state, per assessment
    for fam in families:
        withheld = [k for k in fam if hidden[k] and size[k] > 0]
        candidates = [k for k in fam if not hidden[k] and size[k] > 0]
        assert len(withheld) != 1 or not candidates, (fam, withheld)
        # primary exactly where the group is 1-9
    for k, n in size.items():
        if 0 < n < 10:
            assert hidden[k]


# ---------------------------------------------------------------------------------------------------
# The factor table and the manifest


FACTOR_SCHEMA = {"district_id": pl.String, "factor_order": pl.Int32, "factor": pl.String, "factor_title": pl.String,
                 "group": pl.String, "measure": pl.String, "value": pl.Float64, "numerator": pl.Float64,
                 "denominator": pl.Float64, "flags": pl.String, "points": pl.Float64, "possible": pl.Float64,
                 "status": pl.String, "note": pl.String}


def factor(district, measure, num, den, value, points, possible=2.0, flags=None):
    return {"district_id": district, "factor_order": 2, "factor": "F3", "factor_title": "t", "group": None,
            "measure": measure, "value": value, "numerator": num, "denominator": den, "flags": flags,
            "points": points, "possible": possible, "status": "ok", "note": f"{num} of {den}"}


def test_factor_rows_follow_the_primary_rule_and_keep_their_points():
    # F3 (timeline) for A: 6 of 6 = 100%, 2 points of 2: a group of 6 -> the counts and the value are
    # withheld; the points are not student counts and stay. The flag "met" is withheld with the value
    # (issue 17: "met" against the 100% target of Indicator 11 says the rate is 100%; it was shown before).
    # B: 15 of 16: shown, flag too. A compliance fact (no counts) is left alone.
    f = pl.DataFrame([factor("A", "timeline", 6, 6, 1.0, 2.0, flags="met"),
                      factor("B", "timeline", 15, 16, 0.9375, 1.0, flags="not_met"),
                      factor("B", "compliance_fact", None, None, 1.0, 2.0, flags="yes")], schema=FACTOR_SCHEMA)
    public = suppress_factors(f, P, infos=INFOS, detail=True)
    assert public.height == 3 and public.columns == [*f.columns, "suppressed"]
    a, b, c = public.iter_rows(named=True)
    assert cells(a) == (T, T, T) and (a["points"], a["possible"], a["flags"]) == (2.0, 2.0, T)
    assert a["suppressed"] == "primary"
    assert cells(b) == ("15", "16", "0.9375") and b["suppressed"] is None and b["flags"] == "not_met"
    assert c["flags"] == "yes"
    # the public table (no `detail`) does not tell a small group from a protecting one (issue 17)
    assert suppress_factors(f, P, infos=INFOS).get_column("suppressed").to_list() == ["withheld", None, None]
    assert cells(c) == (None, None, "1.0") and c["suppressed"] is None
    assert public.get_column("note").null_count() == 3


def test_a_factor_row_repeating_a_complementary_measure_row_is_withheld_with_it():
    # Measures: timeline A 8/9 (primary), B 45/50, C 190/200, statewide 243/259 -> B's measure row is
    # withheld to protect A (see the state-row case above). B's factor row repeats 45/50: shown, it
    # would undo that. Given the measure table, it is withheld as well; C's stays.
    m = table(r("timeline", "A", 8, 9), r("timeline", "B", 45, 50), r("timeline", "C", 190, 200),
              r("indicator_11", None, 243, 259))
    f = pl.DataFrame([factor("B", "timeline", 45, 50, 0.9, 1.0), factor("C", "timeline", 190, 200, 0.95, 1.0)],
                     schema=FACTOR_SCHEMA)
    assert suppress_factors(f, P, infos=INFOS, detail=True).get_column("suppressed").to_list() == [None, None]
    public = suppress_factors(f, P, measures=m, infos=INFOS, detail=True)
    assert public.get_column("suppressed").to_list() == ["complementary", None]
    assert cells(public.row(0, named=True)) == (T, T, T)
    assert cells(public.row(1, named=True)) == ("190", "200", "0.95")


def test_a_factor_row_repeating_a_numerator_withheld_for_coding_keeps_only_its_denominator():
    # Measures (coding on), LEA A proficiency: REG 49/50 coded, so ALT 30/60 loses its numerator and
    # value (see the coded-numerator case); all 79/110. A factor row repeating ALT's 30/60 withholds
    # the same cells: numerator and value, the denominator 60 stays.
    m = table(
        r("proficiency", "A", 49, 50, assessment="REG", **ELA38),
        r("proficiency", "A", 30, 60, assessment="ALT", **ELA38),
        r("proficiency", "A", 79, 110, **ELA38),
    )
    f = pl.DataFrame([factor("A", "proficiency", 30, 60, 0.5, 1.0)], schema=FACTOR_SCHEMA)
    row = suppress_factors(f, CODING, measures=m, infos=INFOS, detail=True).row(0, named=True)
    assert cells(row) == (T, "60", T) and row["suppressed"] == "complementary"


def test_the_manifest_records_what_was_applied():
    # The mixed table: withheld rows are A ALT, A 8/9 and BL7 (primary); A REG, B participation,
    # HI7 (complementary); WH7 and AS7 show only their comparison counts withheld. A public table says
    # "withheld" for all six (issue 17: "primary" told a reader the group was under 10).
    manifest = {"tool": "sedet", "inputs": [{"table": "assessments", "rows_read": 10}], "outputs": []}
    public = suppress_measures(mixed_table(), P, INFOS)
    out = public_manifest(manifest, P, measures=public)
    assert manifest == {"tool": "sedet", "inputs": [{"table": "assessments", "rows_read": 10}], "outputs": []}
    assert {k: out[k] for k in manifest} == manifest  # nothing removed or changed
    section = out["public_release"]
    assert section["parameters"]["min_n"] == 10 and section["parameters"]["token"] == "*"
    counts = section["measures"]
    assert counts["rows"] == public.height
    assert counts["rows_by_reason"] == {"withheld": 6, "coded": 0, "comparison": 2}
    # numerator/denominator: 6 withheld rows; value: 6 minus none null; comparison counts: 4 ratio rows
    # each; comparison value: BL7, HI7
    assert counts["cells_withheld"] == {"numerator": 6, "denominator": 6, "value": 6, "comparison_numerator": 4,
                                        "comparison_denominator": 4, "comparison_value": 2}
    assert counts["cells_withheld_total"] == 28
