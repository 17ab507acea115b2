"""sedet/words.py: the words the letter, the district workbook and explain use for codes, targets and
reasons. Each expectation is read off the points table or the row by hand."""

from __future__ import annotations

from sedet.determine.params import Factor
from sedet.model import MeasureInfo
from sedet.words import (
    factor_words,
    flag_words,
    flags_words,
    reason_text,
    scale_text,
    status_words,
    target_text,
    value_text,
)

RATE = MeasureInfo("timeline", "Timely evaluations", shown_as="rate")
NUMBER = MeasureInfo("compliance_fact", "Compliance facts", shown_as="number")


def _factor(**kw) -> Factor:
    return Factor(**{"id": "F3", "title": "Child Find", "measure": "timeline", **kw})


COMPLIANCE = _factor(points=[{"at_least": 0.95, "points": 2}, {"at_least": 0.75, "points": 1}, {"otherwise": 0}])
CAP = _factor(id="F6", measure="alternate_rate",
              points=[{"at_most": 0.01, "points": 2}, {"at_most": 0.02, "points": 1}, {"otherwise": 0}])
IDENTIFIED = _factor(id="F2", measure="disproportionality", points=[{"flag": "identified", "points": 0},
                                                                     {"otherwise": 2}])
YES = _factor(id="F8", measure="compliance_fact", points=[{"at_least": 1, "points": 2}, {"otherwise": 0}])


def test_codes_in_words():
    assert status_words("below_min_n") == "too few students to compute"
    assert status_words("ok") == ""
    assert flag_words("not_met") == "not met"
    assert flag_words("above_cap") == "above the 1% cap"
    assert flag_words("some_local_code") == "some local code"  # a fact's own code, spaces for underscores
    assert flags_words("identified, not_identified") == "identified; not identified"


def test_values_as_a_reader_sees_them():
    assert value_text(0.6667, "rate") == "66.7%"
    assert value_text(1234.0, "count") == "1,234"
    assert value_text(2.5, "number") == "2.5"
    assert value_text(None, "rate") == ""


def test_targets_from_the_points_table():
    assert target_text(COMPLIANCE, RATE) == "95.0% or more"
    assert target_text(CAP, RATE) == "1.0% or less"
    assert target_text(IDENTIFIED) == "not identified"
    assert target_text(YES, NUMBER, yes_no=True) == "yes"
    assert target_text(_factor(points=[{"at_least": 1.0, "points": 2}, {"otherwise": 0}]), RATE) == "100%"
    # a profile's own words win over the table's
    assert target_text(_factor(points=IDENTIFIED.points, target="no significant discrepancy")) == \
        "no significant discrepancy"
    assert scale_text(COMPLIANCE, RATE) == "2 points when 95.0% or more; 1 when 75.0% or more; else 0"


def test_reasons_without_codes():
    below = {"status": "ok", "points": 1.0, "possible": 2.0, "value": 0.8, "flags": "not_met"}
    # partial points: the band that gave them (the points column says "1 of 2")
    assert reason_text(below, COMPLIANCE, RATE) == "misses the target (95.0% or more); 75.0% or more earns 1"
    none = {"status": "ok", "points": 0.0, "possible": 2.0, "value": 0.5, "flags": "not_met"}
    assert reason_text(none, COMPLIANCE, RATE) == "does not meet the target (95.0% or more)"
    over = {"status": "ok", "points": 1.0, "possible": 2.0, "value": 0.015, "flags": "above_cap"}
    assert reason_text(over, CAP, RATE) == "misses the target (1.0% or less); 2.0% or less earns 1"
    full = {"status": "ok", "points": 2.0, "possible": 2.0, "value": 0.96, "flags": "met"}
    assert reason_text(full, COMPLIANCE, RATE) == "meets the target (95.0% or more)"
    na = {"status": "n/a", "points": None, "possible": 0.0, "note": "n/a: below_min_cell, no_data"}
    said = reason_text(na, COMPLIANCE, RATE)
    assert said == ("not applicable (too few students in a group to compute; no data reported): "
                    "the factor does not count")
    assert "below_min" not in said and "no_data" not in said


def test_a_factor_row_in_words():
    row = {"factor": "F3", "factor_title": "Child Find", "status": "ok", "value": 2 / 3, "points": 0.0,
           "possible": 2.0, "flags": "not_met", "state_value": 0.952, "leas_applicable": 26, "leas_below_max": 4}
    w = factor_words(row, COMPLIANCE, RATE)
    assert (w.value, w.state, w.target, w.points) == ("66.7%", "95.2%", "95.0% or more", "0 of 2")
    yes_no = {"factor": "F8", "factor_title": "Accurate data", "status": "ok", "value": 0.0, "points": 0.0,
              "possible": 2.0, "flags": "no", "state_value": 0.8, "leas_applicable": 30, "leas_below_max": 6}
    w = factor_words(yes_no, YES, NUMBER, yes_no=True)
    # not "0.0" beside "0.8": the answer, and how many LEAs fell short
    assert (w.value, w.state, w.target) == ("no", "6 of 30 LEAs below full points", "yes")
    na = {"factor": "F1", "factor_title": "Discipline", "status": "n/a", "points": None, "possible": 0.0,
          "note": "n/a: below_min_n", "state_value": None, "leas_applicable": 0, "leas_below_max": 0}
    w = factor_words(na, IDENTIFIED)
    assert (w.value, w.state, w.points) == ("", "applies to no LEA", "not applicable")
