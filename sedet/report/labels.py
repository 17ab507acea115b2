"""How a measure's values are shown, from what its family declares (model.MeasureInfo)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

from sedet.model import MeasureInfo, ScoreInfo, measure_info
from sedet.report.xlsx import DECIMAL, INTEGER, PERCENT

FORMATS = {"rate": PERCENT, "count": "0", "made": "0", "number": DECIMAL, "years": DECIMAL}


def value_format(info: MeasureInfo) -> str:
    """The number format of a measure's values."""
    return FORMATS[info.shown_as]


def score_format(score: ScoreInfo) -> str:
    """The number format of the profile's own score, with its decimals."""
    return "0." + "0" * score.decimals if score.decimals else "0"


def numerator_format(info: MeasureInfo) -> str:
    """The number format of a measure's numerators: whole students, or a sum of weights."""
    return DECIMAL if info.numerator == "number" else INTEGER


def title(measure: str, infos: Mapping[str, MeasureInfo]) -> str:
    return measure_info(measure, infos).title


def value_formats(rows: pl.DataFrame, infos: Mapping[str, MeasureInfo]) -> pl.Expr:
    """A column `value_format`: the number format of each row's value, by its measure."""
    mapping = {m: value_format(measure_info(m, infos)) for m in rows.get_column("measure").unique().drop_nulls()}
    return pl.col("measure").replace_strict(mapping, default=DECIMAL, return_dtype=pl.String).alias("value_format")


def titles(infos: Mapping[str, MeasureInfo]) -> dict[str, str]:
    return {name: m.title for name, m in infos.items()}


# An indicator named in a measure's name or title: "indicator_4a", "Indicator 13:", "(Indicators 9 and 10)".
_INDICATOR = re.compile(r"indicators?[ _]?(\d+)([a-z]?)(?![a-z])", re.IGNORECASE)
_OWN = re.compile(r"indicator_?\d+[a-z]?", re.IGNORECASE)


def indicator_key(name: str, title: str = "") -> tuple[int, int, str, int]:
    """Where a measure goes in a list of indicators: by the number of the indicator its name (or else
    its title) names, then its letter: 3, 4A, 4B, 9, 10, 11, 13 (as text they would go 10, 11, 13, 3,
    4A, ...); an indicator's own measure ("indicator_11") before the measures about it; measures
    that name no indicator last. Sort with it stably: equal keys keep their order."""
    m = _INDICATOR.search(name) or _INDICATOR.search(title)
    if m is None:
        return (1, 0, "", 0)
    return (0, int(m.group(1)), m.group(2).upper(), 0 if _OWN.fullmatch(name) else 1)
