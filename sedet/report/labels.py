"""How a measure's values are shown, from what its family declares (model.MeasureInfo)."""

from __future__ import annotations

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
