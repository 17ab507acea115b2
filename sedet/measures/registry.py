"""The measure families sedet knows, in the order profiles list them and reports show them.

Adding a family is one module that ends with a `Family` declaration (sedet/measures/family.py), a
file of worked cases in tests/cases/, and one line here (docs/design.md section 6).
"""

from __future__ import annotations

from typing import Any

from sedet.measures import (
    alternate,
    assessment,
    compliance,
    discipline,
    disproportionality,
    secondary,
    timeline,
    transition,
)
from sedet.measures.family import Family
from sedet.model import MeasureInfo

FAMILIES: tuple[Family[Any], ...] = (
    assessment.FAMILY,
    disproportionality.FAMILY,
    discipline.FAMILY,
    timeline.FAMILY,
    transition.FAMILY,
    alternate.FAMILY,
    compliance.FAMILY,
    secondary.FAMILY,
)


def measure_infos() -> dict[str, MeasureInfo]:
    """Every measure any family writes, by name, in registry order."""
    return {m.name: m for f in FAMILIES for m in f.measures}
