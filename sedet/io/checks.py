"""The rules over a table being loaded, and finding the rows that break them.

A rule (model.Check) comes from the column typing (io.typed), from the table's declaration
(io.schema: rules between its columns, its key), from the bundle (every district listed in
`districts`), or from the profile (rules that depend on its parameters, handed to the loader by the
pipeline). Where a rule holds, the row is a problem, named by file, row, column, what was expected
and what was found.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from sedet.io.discover import Source
from sedet.io.schema import DISTRICTS, Table
from sedet.io.typed import UNIQUE_LIMIT, typed_name
from sedet.model import ROW, Check, Column, Problem, T, found


def header_problems(src: Source, original: list[str], headers: list[str], cols: list[Column],
                    first_row: int | None) -> list[Problem]:
    """A column named twice (after normalising), or a required column (or one that must be in the
    header) missing. `first_row`: the row of the header (None where a file has no header row, Parquet)."""
    label, sheet, tname = src.label, src.sheet, src.table
    problems = []
    seen: dict[str, str] = {}
    for name, h in zip(original, headers, strict=True):
        if h in seen:
            problems.append(Problem(label, name, first_row, "each column once",
                                    f"a second column that reads as {h!r} (first: {seen[h]!r})", sheet, tname))
        seen.setdefault(h, name)
    if problems:
        return problems
    found_text = "columns " + ", ".join(repr(h) for h in headers)
    return [Problem(label, c.name, None, f"a column named {c.name!r} (required in table {tname!r})", found_text,
                    sheet, tname) for c in cols if (c.required or c.in_header) and c.name not in headers]


def table_rules(table: Table, columns: Sequence[str], given: Sequence[Check],
                districts: pl.Series | None) -> list[Check]:
    """The rules over a typed table beyond its columns' own: the table's declared rules, the rules
    `given` by the profile, every district listed in `districts` (when the bundle has that table),
    and one row per key. A rule is kept only when the frame has every column it reads."""
    have = set(columns) | {ROW}
    rules = [c for c in (*table.checks, *given) if c.columns() <= have]
    if districts is not None and table.name != DISTRICTS:
        rules.append(Check(
            "district_id",
            ~T("district_id").is_in(districts.implode()),
            "a district_id listed in the districts table",
            found("district_id") + pl.lit(", which is not listed"),
            [typed_name("district_id")],
        ))
    key = [k for k in table.key if typed_name(k) in have]
    if key and len(key) == len(table.key):
        rules.append(_key_rule(key))
    return rules


def _key_rule(key: list[str]) -> Check:
    keys = [T(k) for k in key]
    dup = pl.struct(keys).is_duplicated() & pl.all_horizontal([k.is_not_null() for k in keys])
    first = pl.int_range(pl.len()).over(keys) > 0
    return Check(
        key[-1],
        dup & first,
        "one row per " + ", ".join(key),
        pl.lit(f"the same {', '.join(key)} as row ") + pl.col(ROW).first().over(keys).cast(pl.String),
        maybe=~pl.struct(keys).is_unique().all(),
    )


def prefilter(frame: pl.DataFrame, checks: list[Check], known: dict[str, pl.Series] | None = None) -> list[Check]:
    """Drop the rules that cannot find anything, before the one pass that counts the rest:
    - a rule with a `maybe` shortcut is dropped when the shortcut says it cannot hold;
    - a rule that depends only on a few columns, value by value, is first tried on every combination
      of their known distinct values, else on the combinations the rows hold, and kept only if one
      of them fails.
    `known`: distinct values already computed, by column."""
    known = known or {}
    shortcuts = [(i, c.maybe.alias(f"m{i}")) for i, c in enumerate(checks) if c.maybe is not None]
    can = frame.select([e for _, e in shortcuts]).row(0) if shortcuts else ()
    impossible = {i for (i, _), m in zip(shortcuts, can, strict=True) if m is False}
    return [chk for i, chk in enumerate(checks) if i not in impossible and _may_hold(frame, chk, known)]


def _may_hold(frame: pl.DataFrame, chk: Check, known: dict[str, pl.Series]) -> bool:
    if chk.on is None:
        return True
    if all(frame.schema[c] != pl.String and not isinstance(frame.schema[c], pl.Categorical) for c in chk.on):
        return True  # numbers and flags: the rule is as cheap on the rows as on their values
    combos = _combinations(frame, chk.on)
    if all(c in known for c in chk.on) and math.prod(known[c].len() + 1 for c in chk.on) <= UNIQUE_LIMIT:
        # Every combination of the columns' distinct values (known without nulls: add one, in case a
        # rule holds for an empty cell). If the rule holds for none, it holds for no row.
        product = _product(known, chk.on)
        if len(chk.on) == 1 or not product.select(chk.bad.fill_null(False).any()).item():
            return _fails_any(product, chk)
    return _fails_any(combos.collect(), chk)


def _product(known: dict[str, pl.Series], cols: list[str]) -> pl.DataFrame:
    product: pl.DataFrame | None = None
    for c in cols:
        part = pl.DataFrame({c: known[c].extend_constant(None, 1)})
        product = part if product is None else product.join(part, how="cross")
    assert product is not None
    return product


def _fails_any(combos: pl.DataFrame, chk: Check) -> bool:
    return combos.height > UNIQUE_LIMIT or bool(combos.select(chk.bad.fill_null(False).any()).item())


def _combinations(frame: pl.DataFrame, cols: list[str]) -> pl.LazyFrame:
    """The distinct combinations of these columns' values (lazily: several times faster here than
    an eager unique of a struct)."""
    return frame.lazy().select(cols).unique()


def count_and_locate(frame: pl.DataFrame | pl.LazyFrame, checks: list[Check], counts: Sequence[int], where: Source,
                     limit: int, *, offset: int = 1, numbered: pl.DataFrame | pl.LazyFrame | None = None
                     ) -> tuple[list[Problem], int]:
    """The problems of the rules that found some (`counts`: rows each rule holds for, in order): up
    to `limit` of them located, and their total. `numbered`: the frame with row numbers (by
    default `frame`, given row numbers from `offset` when it needs them)."""
    problems: list[Problem] = []
    total = 0
    for chk, n in zip(checks, counts, strict=True):
        if not n:
            continue
        total += n
        if numbered is None:
            numbered = frame if ROW in frame.collect_schema().names() else frame.with_row_index(ROW, offset=offset)
        problems += [Problem(where.label, chk.column, r, chk.expected, f, where.sheet, where.table)
                     for r, f in check_rows(numbered, chk, limit - len(problems))]
    return problems, total


def check_rows(frame: pl.DataFrame | pl.LazyFrame, chk: Check, room: int) -> list[tuple[int, str]]:
    """The first `room` rows where a rule holds: (row, what was found)."""
    if room <= 0:
        return []
    # `found` and `bad` may use window functions: evaluate them over the whole frame, then filter.
    rows = (
        frame.lazy()
        .select(chk.bad.fill_null(False).alias("__bad"), pl.col(ROW), chk.found.alias("__found"))
        .filter(pl.col("__bad"))
        .head(room)
        .collect(engine="streaming" if isinstance(frame, pl.LazyFrame) else "auto")
        .select(ROW, "__found")
        .rows()
    )
    return [(r, f if f is not None else "an empty cell") for r, f in rows]
