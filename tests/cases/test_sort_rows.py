"""Measure rows are written in one order (same input, same bytes): school year, district (the
statewide rows first), measure, then the qualifiers, an empty cell before any value."""

from __future__ import annotations

import polars as pl

from sedet.measures.common import sort_rows
from sedet.model import MEASURE_SCHEMA, SORT_KEY


def _rows(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame([{c: r.get(c) for c in MEASURE_SCHEMA} for r in rows], schema=MEASURE_SCHEMA)


def test_sort_rows_order_by_hand():
    rows = [
        {"school_year": 2012, "district_id": "00200", "measure": "risk_ratio", "race_ethnicity": "WH7",
         "category": "identification", "note": "f"},
        {"school_year": 2012, "district_id": "00200", "measure": "risk_ratio", "race_ethnicity": "AS7",
         "category": "identification", "note": "e"},
        {"school_year": 2012, "district_id": None, "measure": "indicator_9", "note": "c"},
        {"school_year": 2011, "district_id": "00200", "measure": "risk_ratio", "race_ethnicity": "WH7",
         "category": "identification", "note": "a"},
        {"school_year": 2012, "district_id": "00100", "measure": "alternate_rate", "subject": "MATH", "note": "d2"},
        {"school_year": 2012, "district_id": "00100", "measure": "alternate_rate", "subject": None, "note": "d0"},
        {"school_year": 2012, "district_id": "00100", "measure": "alternate_rate", "subject": "ELA", "note": "d1"},
        {"school_year": 2012, "district_id": "00200", "measure": "disproportionality", "race_ethnicity": "AS7",
         "category": "placement.SS_RF", "note": "g2"},
        {"school_year": 2012, "district_id": "00200", "measure": "disproportionality", "race_ethnicity": "AS7",
         "category": "identification.ID", "note": "g1"},
        {"school_year": 2012, "district_id": "00200", "measure": "disproportionality", "race_ethnicity": "AS7",
         "category": "identification", "note": "g0"},
    ]
    out = sort_rows(_rows(*rows))
    # by hand: 2011 first; in 2012 the statewide row (no district), then 00100 (its rows by subject,
    # the empty one first), then 00200: disproportionality before risk_ratio, AS7 before WH7,
    # and the categories in alphabetical order
    assert out.get_column("note").to_list() == ["a", "c", "d0", "d1", "d2", "g0", "g1", "g2", "e", "f"]


def test_sort_rows_is_the_plain_sort_of_the_key_columns():
    # many districts, groups and years in a scrambled order, every key column sometimes empty
    rows = []
    for i in range(2000):
        rows.append({
            "school_year": 2010 + (i * 7) % 3,
            "district_id": None if i % 97 == 0 else f"{(i * 31) % 250:05d}",
            "measure": ("risk_ratio", "alternate_rate", "disproportionality", None)[(i * 5) % 4],
            "subject": (None, "ELA", "MATH")[(i * 11) % 3],
            "grade_band": (None, "3-8", "HS")[(i * 13) % 3],
            "race_ethnicity": (None, "AM7", "AS7", "BL7", "HI7", "MU7", "PI7", "WH7")[(i * 3) % 8],
            "category": (None, "identification", "placement.RC39LT")[(i * 17) % 3],
            "note": str(i),
        })
    frame = _rows(*rows).unique(subset=SORT_KEY, keep="first", maintain_order=True)
    assert sort_rows(frame).equals(frame.sort(SORT_KEY, nulls_last=False))
