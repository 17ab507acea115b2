"""How measures are named and shown: titles, which values are rates, display formats."""

from __future__ import annotations

import polars as pl

from sedet.report.xlsx import DECIMAL, PERCENT

# How each measure's value is shown.
RATE_MEASURES = {"participation", "proficiency", "indicator_3a", "indicator_3b", "indicator_3c",
                 "indicator_9", "indicator_10", "indicator_4a", "indicator_4b", "timeline", "indicator_11",
                 "transition", "indicator_13", "alternate_rate", "correction", "timeline_days_late",
                 "transition_component"}
COUNT_MEASURES = {"timeline_exceptions", "timeline_pending", "indicator_9_excluded", "indicator_10_excluded",
                  "indicator_4a_excluded", "indicator_4b_excluded"}
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
    "timeline": "Timely initial evaluation (Indicator 11)",
    "indicator_11": "Indicator 11: percent of children evaluated within the timeline",
    "timeline_days_late": "Indicator 11: children evaluated late, by days beyond the timeline",
    "timeline_exceptions": "Indicator 11: children removed by a lawful exception",
    "timeline_pending": "Indicator 11: evaluations pending (timeline not yet run out)",
    "transition": "Secondary transition: IEPs with every required component (Indicator 13)",
    "indicator_13": "Indicator 13: percent of youth aged 16+ with IEPs that have every required component",
    "transition_component": "Indicator 13: IEPs with each component",
    "alternate_rate": "Alternate assessment participation rate (1% cap)",
    "correction": "Findings of noncompliance corrected within one year",
    "compliance_fact": "LEA compliance facts",
    "low_income_identification": "Secondary analysis (A): identification of low-income students",
    "low_income_separation": "Secondary analysis (B): separate settings by low-income status",
    "race_separation": "Secondary analysis (B): separate settings by race/ethnicity",
}
SHEET_ORDER = ["participation", "proficiency", "performance_index", "ayp"]
QUALIFIER_COLS = ["subject", "grade_band", "assessment", "race_ethnicity", "disability", "category"]


def value_format(measure: str) -> str:
    if measure in RATE_MEASURES:
        return PERCENT
    if measure == "ayp" or measure in COUNT_MEASURES:
        return "0"
    return DECIMAL


def value_formats(rows: pl.DataFrame) -> pl.Expr:
    """A column `value_format`: the number format of each row's value, by its measure."""
    mapping = {m: value_format(m) for m in rows.get_column("measure").unique().drop_nulls().to_list()}
    return pl.col("measure").replace_strict(mapping, default=DECIMAL, return_dtype=pl.String).alias("value_format")


