"""Row rules over a table being loaded: where a rule holds, the row is a problem.

A rule reads the typed values as `T(name)` and the text as read as `pl.col(name)`; `found`
describes, as text, what was found. Measure modules declare the rules that depend on their
parameters (e.g. a consent date after the reporting period) with these helpers.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

ROW = "__row"  # the row number as a person sees it in the file


@dataclass
class Check:
    """A rule over the typed frame: rows where `bad` holds are problems."""

    column: str
    bad: pl.Expr
    expected: str
    found: pl.Expr  # a String expression describing what was found
    # the columns `bad` reads, value by value (no windows, no row number): the rule can then be tried
    # on their distinct combinations first; None when it needs whole rows
    on: list[str] | None = None
    # an aggregate that is false when the rule cannot hold on any row, cheaper than the rule itself
    # (for a duplicate-key rule: are the keys unique?); None: no such shortcut
    maybe: pl.Expr | None = None


def T(name: str) -> pl.Expr:
    """The typed value of a column."""
    return pl.col(f"__typed_{name}")


def _found(col: str) -> pl.Expr:
    """The text as read, quoted, or 'an empty cell'."""
    raw = pl.col(col).cast(pl.String)
    return pl.when(raw.is_null()).then(pl.lit("an empty cell")).otherwise(pl.lit("'") + raw.str.slice(0, 60) + pl.lit("'"))


found = _found
