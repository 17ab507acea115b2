"""What a measure family declares about itself (docs/design.md section 6).

Each module of sedet/measures/ that computes measures ends with one `Family`: its profile section,
its parameters, the tables and columns it reads, the columns, code lists and row rules it adds to
the bundle's checks, how it computes its rows, and how each of its measures is titled, shown and
published. `registry.FAMILIES` lists them; the pipeline, the profile loader and the reports know
a family only through this declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import polars as pl

from sedet.model import Check, Column, Inputs, MeasureInfo, Strict

P = TypeVar("P", bound=Strict)


def _nothing(params: Any) -> dict:
    return {}


@dataclass(frozen=True)
class Family(Generic[P]):
    name: str  # the profile's [measures.<name>] section
    params: type[P]  # the section's parameters
    compute: Callable[[Inputs, P], pl.LazyFrame]  # the family's measure rows for inputs.year
    measures: tuple[MeasureInfo, ...]  # every measure it writes, in the order they are shown
    tables: Callable[[P], tuple[str, ...]]  # the tables it cannot run without
    # of the tables read only in part (schema: Table.prune), the columns it reads
    reads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # columns a table must have beyond its own, named by the parameters (transition components): by
    # name (typed as the table declares, a value in every row), or as a Column (typed facts)
    columns: Callable[[P], Mapping[str, list[str | Column]]] = _nothing
    # code lists the parameters fix (performance levels, accepted exception codes)
    code_lists: Callable[[P], Mapping[str, tuple[str, ...]]] = _nothing
    # rules over a table that depend on the parameters, by table
    row_checks: Callable[[P], Mapping[str, list[Check]]] = _nothing
