"""Conditions on anything (docs/methods.md section 10): every test a condition can make, over one row
or all of the selected rows, on measures and facts, for every LEA (those the method could not place
too), in the order written. Every LEA starts from a hand-given score of 0-100 (factor S, one point
per percent) so that its category from the method is known: >= 80 MR, >= 60 NA, else NI.
"""

from __future__ import annotations

import datetime

import pytest

from sedet.determine.params import Condition
from tests.cases.test_determination import SCORE_FACTOR, by_lea, m, measures, profile, run

CUTS = """
[determination]
method = "cut_points"
categories = [
  { label = "Meets Requirements", short = "MR", min_percentage = 80 },
  { label = "Needs Assistance", short = "NA", min_percentage = 60 },
  { label = "Needs Intervention", short = "NI" },
  { label = "Needs Substantial Intervention", short = "NSI", by_method = false },
]
"""


def cut_profile(tmp_path, *conditions: str):
    body = SCORE_FACTOR + CUTS + "".join(f"\n[[determination.conditions]]\n{c}\n" for c in conditions)
    return profile(tmp_path, body)


def fact(district: str, name: str, value: float | None, flag: str | None = None, status: str = "ok") -> dict:
    return m(district, "compliance_fact", value, status=status, flag=flag, category=name)


def score(district: str, value: float) -> dict:
    return m(district, "score", value)


FORCE_NSI = 'action = "force"\nto = "NSI"'


@pytest.mark.parametrize(("test", "value", "expected"), [
    # the fact "rate" of A = 0.5, B = 0.95, C = 1.0 (each LEA scores 90: MR unless the condition holds)
    (">=", "0.95", {"A": "MR", "B": "NSI", "C": "NSI"}),
    (">", "0.95", {"A": "MR", "B": "MR", "C": "NSI"}),
    ("<=", "0.95", {"A": "NSI", "B": "NSI", "C": "MR"}),
    ("<", "0.95", {"A": "NSI", "B": "MR", "C": "MR"}),
    ("==", "0.95", {"A": "MR", "B": "NSI", "C": "MR"}),
    ("!=", "0.95", {"A": "NSI", "B": "MR", "C": "NSI"}),
])
def test_every_comparison(tmp_path, test, value, expected):
    cond = f'id = "c"\nreason = "r"\nfact = "rate"\ntest = "{test}"\nvalue = {value}\n{FORCE_NSI}'
    prof = cut_profile(tmp_path, cond)
    rows = measures(*[score(d, 90) for d in "ABC"],
                    fact("A", "rate", 0.5), fact("B", "rate", 0.95), fact("C", "rate", 1.0))
    t = by_lea(run(prof, rows).table)
    assert {d: t[d]["category"] for d in "ABC"} == expected


def test_a_value_exactly_on_the_bound_passes_in_arithmetic(tmp_path):
    """0.1 + 0.2 is 0.30000000000000004 in floating point; `<= 0.3` holds for it, `> 0.3` does not."""
    at_most = 'id = "c"\nreason = "r"\nfact = "rate"\ntest = "<="\nvalue = 0.3\n' + FORCE_NSI
    prof = cut_profile(tmp_path, at_most)
    t = by_lea(run(prof, measures(score("A", 90), fact("A", "rate", 0.1 + 0.2))).table)
    assert t["A"]["category"] == "NSI"


def test_yes_no_and_missing(tmp_path):
    """YES: the fact is 1 (yes); NO: 0 (no); EMPTY: the fact row is there with no value (no_data);
    NONE: no fact row at all. is_false holds for NO only; is_true for YES only; is_missing for EMPTY
    and NONE (nothing known is never read as 'no')."""
    rows = measures(*[score(d, 90) for d in ("YES", "NO", "EMPTY", "NONE")],
                    fact("YES", "goal", 1.0, "yes"), fact("NO", "goal", 0.0, "no"),
                    fact("EMPTY", "goal", None, status="no_data"))
    for test, hit in (("is_false", {"NO"}), ("is_true", {"YES"}), ("is_missing", {"EMPTY", "NONE"})):
        prof = cut_profile(tmp_path, f'id = "c"\nreason = "r"\nfact = "goal"\ntest = "{test}"\n{FORCE_NSI}')
        t = by_lea(run(prof, rows).table)
        assert {d for d, r in t.items() if r["category"] == "NSI"} == hit, test


def test_flags_and_over_all_rows(tmp_path):
    """Disproportionality rows per group: A has one group identified of two (3.5, 1.0); B both (3.2,
    4.0); C none (1.1).
    has_flag over any row: A, B. lacks_flag over any row: A (its HI7 row) and C; over all rows: C.
    `>= 3` over all rows: B (3.2 and 4.0); value_at_least = 3 (over any row): A and B."""
    rows = measures(
        *[score(d, 90) for d in "ABC"],
        m("A", "disproportionality", 3.5, flag="identified", race_ethnicity="BL7"),
        m("A", "disproportionality", 1.0, race_ethnicity="HI7"),
        m("B", "disproportionality", 3.2, flag="identified", race_ethnicity="BL7"),
        m("B", "disproportionality", 4.0, flag="identified", race_ethnicity="HI7"),
        m("C", "disproportionality", 1.1, race_ethnicity="BL7"),
    )
    select = 'measure = "disproportionality"\nwhere = { race_ethnicity = "*" }\n'

    def hit(test: str) -> set[str]:
        prof = cut_profile(tmp_path, f'id = "c"\nreason = "r"\n{select}{test}\n{FORCE_NSI}')
        return {d for d, r in by_lea(run(prof, rows).table).items() if r["category"] == "NSI"}

    assert hit('flag = "identified"') == {"A", "B"}
    assert hit('test = "lacks_flag"\nvalue = "identified"') == {"A", "C"}
    assert hit('test = "lacks_flag"\nvalue = "identified"\nover = "all"') == {"C"}
    assert hit('test = ">="\nvalue = 3\nover = "all"') == {"B"}
    assert hit("value_at_least = 3") == {"A", "B"}


def test_date_and_code_facts(tmp_path):
    """A date fact carries its date in the flag (YYYY-MM-DD); a condition compares it with a TOML date.
    A code fact carries the code; `==` compares it without regard to case."""
    rows = measures(
        *[score(d, 90) for d in "AB"],
        fact("A", "monitoring_completed", None, "2024-05-01"), fact("B", "monitoring_completed", None, "2024-07-15"),
        fact("A", "cycle", None, "COMPLETE"), fact("B", "cycle", None, "INCOMPLETE"),
    )
    late = 'id = "late"\nreason = "r"\nfact = "monitoring_completed"\ntest = ">"\nvalue = 2024-06-30\n' + FORCE_NSI
    assert by_lea(run(cut_profile(tmp_path, late), rows).table)["B"]["category"] == "NSI"
    assert by_lea(run(cut_profile(tmp_path, late), rows).table)["A"]["category"] == "MR"
    ohio = 'id = "cycle"\nreason = "did not complete its prior monitoring cycle"\nfact = "cycle"\ntest = "=="\n' \
           'value = "incomplete"\naction = "force"\nto = "NI"'
    t = by_lea(run(cut_profile(tmp_path, ohio), rows).table)
    assert (t["A"]["category"], t["B"]["category"]) == ("MR", "NI")


def test_conditions_reach_leas_the_method_could_not_place_and_apply_in_order(tmp_path):
    """NOSCORE has no score row, so the method gives it nothing; 'flag' conditions add the reason, a
    force places it. Order: the escalation to NI comes first, then the force to NA; the last one
    written wins for LEA A (score 90, MR -> NI -> NA)."""
    rows = measures(score("A", 90), fact("A", "goal", 0.0, "no"), fact("NOSCORE", "goal", 0.0, "no"))
    prof = cut_profile(
        tmp_path,
        'id = "esc"\nreason = "goal not met"\nfact = "goal"\ntest = "is_false"\naction = "escalate"\nto = "NI"',
        'id = "note"\nreason = "shown only"\nfact = "goal"\ntest = "is_false"\naction = "flag"',
        'id = "force"\nreason = "then forced"\nfact = "goal"\ntest = "is_false"\naction = "force"\nto = "NA"',
    )
    t = by_lea(run(prof, rows).table)
    assert (t["A"]["base"], t["A"]["category"], t["A"]["placed_by"]) == ("MR", "NA", "condition force")
    assert t["A"]["reasons"] == "esc: goal not met; note: shown only; force: then forced"
    assert (t["NOSCORE"]["base"], t["NOSCORE"]["category"]) == (None, "NA")
    assert t["NOSCORE"]["status"] == "determined"


@pytest.mark.parametrize(("fields", "message"), [
    ({"measure": "x", "fact": "y", "flag": "f"}, "exactly one of measure, fact, consecutive"),
    ({"fact": "y"}, "exactly one test"),
    ({"fact": "y", "test": ">="}, "needs a value"),
    ({"fact": "y", "test": "is_false", "value": 1}, "takes no value"),
    ({"fact": "y", "test": "<", "value": "abc"}, "compares with a number or a date"),
    ({"fact": "y", "flag": "a", "value_at_most": 1}, "exactly one test"),
])
def test_a_condition_says_what_is_wrong(fields, message):
    with pytest.raises(ValueError, match=message):
        Condition.model_validate({"id": "c", "reason": "r", "action": "flag", **fields})


def test_the_shorthands_are_the_tests():
    for key, test in (("value_at_most", "<="), ("value_below", "<"), ("value_above", ">"), ("value_equals", "==")):
        c = Condition.model_validate({"id": "c", "reason": "r", "fact": "x", key: 1, "action": "flag"})
        assert c.effective() == (test, 1)
    day = datetime.date(2024, 1, 1)
    c = Condition.model_validate({"id": "c", "reason": "r", "fact": "x", "test": ">", "value": day, "action": "flag"})
    assert c.effective() == (">", datetime.date(2024, 1, 1))
