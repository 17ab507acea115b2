"""How measures are named and shown: titles, which values are rates, display formats."""

from __future__ import annotations

from sedet.report.xlsx import DECIMAL, PERCENT

# How each measure's value is shown.
RATE_MEASURES = {"participation", "proficiency", "indicator_3a", "indicator_3b", "indicator_3c",
                 "indicator_9", "indicator_10", "indicator_4a", "indicator_4b", "timeline", "indicator_11",
                 "transition", "indicator_13", "alternate_rate", "correction", "timeline_days_late"}
MEASURE_TITLES = {
    "participation": "Participation rate of students with IEPs",
    "proficiency": "Proficiency rate of students with IEPs",
    "performance_index": "Performance index (PI) of students with IEPs",
    "ayp": "Adequate yearly progress of the students-with-disabilities subgroup",
    "indicator_3a": "Indicator 3A: percent of districts meeting AYP (of those meeting the minimum n)",
    "indicator_3b": "Indicator 3B: statewide participation rate",
    "indicator_3c": "Indicator 3C: statewide proficiency rate",
    "risk_ratio": "Risk ratio of each racial/ethnic group against the other groups (34 CFR 300.647)",
    "alternate_risk_ratio": "Alternate risk ratio: against the other groups statewide",
    "disproportionality": "Significant disproportionality: the ratio exceeds the threshold in consecutive years",
    "indicator_9": "Indicator 9: percent of LEAs with disproportionate representation from inappropriate identification",
    "indicator_10": "Indicator 10: the same, in specific disability categories",
    "indicator_9_excluded": "Indicator 9: LEAs excluded by the minimum n or cell",
    "indicator_10_excluded": "Indicator 10: LEAs excluded by the minimum n or cell",
    "discipline_rate": "Suspension/expulsion of more than 10 days: rate of students with IEPs against the comparison",
    "indicator_4b": "Indicator 4B: discrepancy by race/ethnicity with contributing policies",
    "indicator_4a": "Indicator 4A: percent of LEAs with a significant discrepancy",
    "indicator_4a_excluded": "Indicator 4A: LEAs excluded by the minimum n or cell",
    "indicator_4b_excluded": "Indicator 4B: LEAs excluded by the minimum n or cell",
}
SHEET_ORDER = ["participation", "proficiency", "performance_index", "ayp"]
QUALIFIER_COLS = ["subject", "grade_band", "assessment", "race_ethnicity", "disability", "category"]


def value_format(measure: str) -> str:
    if measure in RATE_MEASURES:
        return PERCENT
    if measure == "ayp":
        return "0"
    return DECIMAL


