"""Disclosure audit of a public release (`--public`; docs/methods.md section 11; issue 17).

For every cell that a public release withholds, how far can a reader narrow it down from everything
the release publishes? The audit answers with linear programming (scipy.optimize.linprog, HiGHS):
every withheld count is a variable, every published number a constant, every relation a reader knows
from the documented methods a linear constraint; a withheld cell is *recoverable* when the interval
it can take holds one whole number only, and a withheld rate is *revealed* when it can be shown to be
exactly 0% or 100%. scipy is a test dependency of sedet, not a run-time one: the writer calls
`manifest_entry`, which records "not run: scipy not installed" when it cannot import it (and
"not completed: ..." if the audit itself fails: the files are written by then).

What "published" includes: every number cell of the public measure table (measures.csv/.parquet, the
measure sheets, Flags and Summary of determinations.xlsx, the Measures sheets of the per-district
workbooks); the public factor table (factors.parquet, the factor sheets, the per-district
Determination sheets) with its points, flags and statuses; each factor's state figure beside the
LEA's (`factor_state`, per-district workbooks: always counted, with or without --per-district); the
`suppressed` reason of every row (a "primary" row says its group is under min_n); the statuses and
flags of the measure rows; the profile's points tables. The determinations table (points earned,
percentage) adds nothing the shown factor points do not say. Not modelled: see `Audit.not_modelled`.

The variables: numerator and denominator of every withheld cell (copies of one cell, e.g. a factor row
repeating a measure row, are one variable); the comparison counts of ratio rows whose comparison value
is shown; a total per ratio family in an LEA (T) and per group statewide (S). All are counts, >= 0.
Checked: the numerator and denominator of every withheld row, and its value where it is a share
(value = numerator / denominator); the value of a ratio or an index is as safe as its counts.

The relations. Each kind is tried on the full data wherever it applies, per measure (or factor): a
kind that fails anywhere is not a relation of the data and none of its instances is used (`dropped`
counts the failures); a reader who knows the documented methods knows the others:

- a share (a rate measure of students): numerator <= denominator; a shown value with withheld counts:
  numerator = value x denominator; a withheld value that was computed: denominator >= 1; a top/bottom
  coded value: numerator >= top x denominator (or <= bottom x denominator);
- a status `no_data` on a row without comparison counts: denominator = 0;
- a "primary" reason on a row without comparison counts: group (denominator, or the count) <= min_n - 1;
- parts and total along one qualifier, and LEAs and the statewide row (suppress.py's families a and b),
  numerators and denominators separately;
- ratio rows: the groups of an LEA add up to T; a group's comparison counts are T minus the group (risk
  ratio) or S minus the group statewide (alternate risk ratio), and comparison numerator = comparison
  value x comparison denominator where the value is shown (two such rows of an LEA solve for T: T is
  then a constant); a flag exceeds / not_exceeds against the threshold with the comparison value shown;
- the same students under two measures or categories: proficiency and the performance index (one
  denominator); the categories of one population of a ratio (identification.*, placement.*,
  discipline.*: one denominator per group);
- Indicator 11: the days-late rows of an LEA share one denominator = the timeline row's denominator -
  numerator, and their numerators add up to it;
- Indicator 13: a component's denominator = the transition denominator; transition numerator <= each
  component numerator and >= their sum - (components - 1) x denominator;
- flags against the row's threshold: met (value >= threshold), not_met (<), above_cap / within_cap;
- a factor row repeats its measure row's counts and value; its points place the value in the interval
  of the profile's points table that gives those points (`point_intervals`); its flags are the measure
  row's;
- a factor's state figure = the sum of numerators / sum of denominators of the LEAs it applies to;
- whole counts: a share known to be above 0 (a points interval, a flag, a band) has a numerator >= 1,
  one known to be under 1 has denominator - numerator >= 1; with its denominator shown, its numerator
  lies between whole numbers (under 75% of 13: at most 9).

Strict inequalities are relaxed to non-strict ones (the reader is granted a hair less than the truth).
Counts are real numbers in the programs; integrality enters through the whole-count relations above
and in the verdict: a count whose interval holds one whole number only is recoverable; a share is
revealed as 100% when denominator - numerator cannot reach 1, as 0% when its numerator cannot reach 1.

How the programs are solved (`_Solver`): the unsettled quantities are first pushed all at once, a few
programs over every variable each maximising the sum of min(1, how far each quantity moves from its true
value in the direction it is pushed); a quantity moved by a whole count (a value: off its true value) is
settled. The rest are bounded one by one (maximise; minimise where either way counts) on their own
connected part of the relations: those bounds are the interval a finding reports. A variable without an
upper bound is capped at 10 x the largest count of the run plus 1000 (far above any count, so that
every program is bounded).
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from sedet.model import EPS, QUALIFIERS, MeasureInfo, RunResult

# ("m", row, "n" | "d" | "cn" | "cd"), ("f", row, "n" | "d"), ("T", key, "n" | "d"), ("S", key, group, "n" | "d")
Cell = tuple
Term = tuple[float, Cell]

COUNT = "count"  # a withheld count: recoverable when its interval holds one whole number
VALUE = "value"  # a withheld rate: recoverable when numerator - value x denominator is pinned at 0
FULL = "100%"  # a withheld rate of 100%: revealed when denominator - numerator cannot reach 1
EMPTY = "0%"  # a withheld rate of 0%: revealed when the numerator cannot reach 1

# Declared structure the relations need (what the measure families document):
BANDS = {"timeline_days_late": ("timeline", "indicator_11")}  # parts of parent's den - num
COMPONENTS = {"transition_component": ("transition", "indicator_13")}  # each a condition of the parent
SAME_DENOMINATOR = [("proficiency", "performance_index")]  # one group of students, two measures
RATIO_MEASURES = ("risk_ratio", "alternate_risk_ratio")
# a flag's verdict as a test of the value against the row's threshold (as the measure families compute it)
FLAG_TEST = {"met": "at_least", "not_met": "below", "above_cap": "above", "within_cap": "at_most",
             "exceeds": "at_least", "not_exceeds": "below"}


@dataclass(frozen=True)
class Finding:
    """A withheld cell a reader can narrow down to one value (or a rate to 0% or 100%)."""

    table: str  # measures or factors
    row: int
    district_id: str | None
    measure: str
    qualifiers: str
    column: str
    kind: str  # COUNT, VALUE, FULL, EMPTY
    low: float
    high: float
    true: float

    def __str__(self) -> str:
        where = f"{self.table} row {self.row}: {self.district_id or 'state'} {self.measure} {self.qualifiers}".strip()
        return f"{where} {self.column} ({self.kind}): true {self.true:g}, can be {self.low:g} to {self.high:g}"


@dataclass
class Audit:
    cells_suppressed: int
    cells_checked: int
    recoverable: list[Finding]
    revealed: list[Finding]  # rates deducible as exactly 0% or 100%
    relations: int
    dropped: dict[str, int]
    solver: str
    seconds: float
    not_modelled: tuple[str, ...] = (
        "the Summary sheet's counts of measure rows per status (how many withheld rows are no_data)",
        "the choice rule of complementary suppression (a picked cell is the smallest shown group)",
        "integer reasoning chained through withheld denominators (a share under 75% of a withheld group of 13 "
        "has more than 3.25 not counted, not at least 4)",
        "relations the measure families do not document (e.g. participation's numerator as proficiency's "
        "denominator)",
    )

    @property
    def passed(self) -> bool:
        return not self.recoverable and not self.revealed

    def entry(self) -> dict:
        """What the manifest records: counts only (never which cell, nor any value)."""
        return {
            "passed": self.passed,
            "cells_suppressed": self.cells_suppressed,
            "cells_checked": self.cells_checked,
            "recoverable": len(self.recoverable),
            "rates_revealed_0_or_100": len(self.revealed),
            "relations": self.relations,
            "solver": self.solver,
        }


def solver_name() -> str | None:
    """'scipy 1.17.1 linprog (HiGHS)', or None without scipy."""
    try:
        sp = _scipy()
    except ImportError:
        return None
    return f"scipy {sp.version} linprog (HiGHS)"


def _scipy() -> Any:
    """The parts of scipy the audit uses, imported here only (scipy is a test dependency of sedet, so no
    module-level import: sedet runs without it)."""
    from types import SimpleNamespace

    import numpy as np
    import scipy  # type: ignore[import-untyped]
    from scipy.optimize import linprog  # type: ignore[import-untyped]
    from scipy.sparse import block_diag, csr_array, diags, hstack, vstack  # type: ignore[import-untyped]
    from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]

    return SimpleNamespace(np=np, version=scipy.__version__, linprog=linprog, csr_array=csr_array, diags=diags,
                           hstack=hstack, vstack=vstack, block_diag=block_diag,
                           connected_components=connected_components)


def manifest_entry(result: RunResult, measures: pl.DataFrame, factors: pl.DataFrame | None) -> dict | str:
    """The manifest's `disclosure_audit`: the audit's counts, or why it did not run."""
    if solver_name() is None:
        return "not run: scipy not installed (a test dependency of sedet: pip install sedet[test])"
    try:
        return audit_release(result, measures, factors).entry()
    except Exception as e:  # the files are written already: say the audit failed rather than lose them
        return f"not completed: {type(e).__name__} in the audit (the release was not audited)"


def audit_release(result: RunResult, measures: pl.DataFrame, factors: pl.DataFrame | None) -> Audit:
    """Audit the public tables of a run (`measures`, `factors`: what suppress.py returned for it)."""
    started = time.perf_counter()
    model = _Model(result.profile.reporting.token, result.profile.reporting.min_n)
    facts = _Facts.of(result, measures, factors)
    _build(model, facts, result)
    recoverable, revealed = model.solve()
    solver = solver_name() or ""
    return Audit(facts.cells_suppressed, model.cells_checked, recoverable, revealed, model.relations,
                 dict(model.dropped), solver, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------------
# The published tables next to the full ones


@dataclass
class _Facts:
    full: pl.DataFrame  # the measure rows, every number (with _row)
    public: pl.DataFrame  # the same rows as published (text)
    ffull: pl.DataFrame | None
    fpublic: pl.DataFrame | None
    token: str
    bands: tuple[str, str]
    infos: Mapping[str, MeasureInfo]
    cells_suppressed: int = 0

    @classmethod
    def of(cls, result: RunResult, measures: pl.DataFrame, factors: pl.DataFrame | None) -> _Facts:
        rp = result.profile.reporting
        top = f"≥{_percent(rp.top)}%"
        bottom = f"≤{_percent(rp.bottom)}%"
        full = result.measures.with_row_index("_row")
        dets = result.determinations
        ffull = dets.factors.with_row_index("_row") if dets is not None and factors is not None else None
        for mine, public in ((full, measures), (ffull, factors)):  # suppress.py keeps every row in its place
            key = [c for c in ("district_id", "measure") if public is not None and c in public.columns]
            if mine is not None and public is not None and not mine.select(key).equals(public.select(key)):
                raise ValueError("the public table is not the run's table row for row")
        facts = cls(full, measures, ffull, factors, rp.token, (top, bottom), result.measure_info)
        facts.cells_suppressed = sum(_withheld_cells(t, rp.token, (top, bottom)) for t in (measures, factors)
                                     if t is not None)
        return facts


def _withheld_cells(public: pl.DataFrame, token: str, bands: tuple[str, str]) -> int:
    cols = [c for c in ("numerator", "denominator", "value") if c in public.columns]
    return int(sum(public.get_column(c).is_in([token, *bands]).sum() for c in cols))


def _percent(x: float) -> str:
    p = round(x * 100, 6)
    return str(int(p)) if math.isclose(p, round(p)) else f"{p:g}"


def _number(text: Any) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------------
# The model: cells, copies of one cell, relations, checks


@dataclass
class _Check:
    terms: list[Term]
    kind: str
    finding: Finding


@dataclass
class _Model:
    token: str
    min_n: int
    parent: dict[Cell, Cell] = field(default_factory=dict)
    truth: dict[Cell, float] = field(default_factory=dict)
    shown: dict[Cell, float] = field(default_factory=dict)
    bounds: dict[Cell, tuple[float, float]] = field(default_factory=dict)
    merges: list[tuple[Cell, Cell, str]] = field(default_factory=list)
    limits: list[tuple[Cell, float, float, str]] = field(default_factory=list)
    pending: list[tuple[list[Term], float, float, str]] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    rows: list[tuple[list[Term], float, float]] = field(default_factory=list)  # lo <= sum <= hi
    checks: list[_Check] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    relations: int = 0
    cells_checked: int = 0

    # cells ---------------------------------------------------------------------------------------
    def cell(self, cell: Cell, true: float | None, public: float | None = None) -> None:
        if true is None or (isinstance(true, float) and math.isnan(true)):
            return
        self.truth[cell] = float(true)
        if public is not None:
            self.shown[cell] = public

    def find(self, c: Cell) -> Cell:
        root = c
        while root in self.parent:
            root = self.parent[root]
        while c != root:
            nxt = self.parent[c]
            self.parent[c] = root
            c = nxt
        return root

    def same(self, a: Cell, b: Cell, kind: str) -> None:
        """Two cells a reader knows to be equal (copies of one count)."""
        if a in self.truth and b in self.truth:
            self._note(kind, abs(self.truth[a] - self.truth[b]) <= 1e-9)
            self.merges.append((a, b, kind))

    def bound(self, c: Cell, lo: float, hi: float, kind: str) -> None:
        if c in self.truth:
            self._note(kind, lo - 1e-9 <= self.truth[c] <= hi + 1e-9)
            self.limits.append((c, lo, hi, kind))

    def relate(self, terms: Iterable[Term], lo: float, hi: float, kind: str, use: bool = True) -> None:
        """lo <= sum(coefficient x cell) <= hi. `kind` names the relation and what it is a relation of (a
        measure, a factor): a kind that fails anywhere in the full data is not a relation of the data,
        and none of its instances is used (`finish`). `use` False: only tried (an instance that says
        nothing a reader can use, e.g. a comparison count with its comparison value withheld)."""
        terms = list(terms)
        if not terms or any(c not in self.truth for _, c in terms):
            return
        total = sum(a * self.truth[c] for a, c in terms)
        scale = 1.0 + sum(abs(a * self.truth[c]) for a, c in terms)
        self._note(kind, lo - 1e-9 * scale <= total <= hi + 1e-9 * scale)
        if use:
            self.pending.append((terms, lo, hi, kind))

    def equal(self, terms: Iterable[Term], kind: str, rhs: float = 0.0, use: bool = True) -> None:
        self.relate(terms, rhs, rhs, kind, use)

    def _note(self, kind: str, holds: bool) -> None:
        if not holds:
            self.failed.add(kind)
            self.dropped[kind] += 1

    def finish(self) -> None:
        """Use the relations of every kind that holds wherever it was tried."""
        for a, b, kind in self.merges:
            if kind not in self.failed:
                ra, rb = self.find(a), self.find(b)
                if ra != rb:
                    self.parent[rb] = ra
                self.relations += 1
        for c, lo, hi, kind in self.limits:
            if kind not in self.failed:
                old = self.bounds.get(c, (0.0, math.inf))
                self.bounds[c] = (max(old[0], lo), min(old[1], hi))
                self.relations += 1
        self.rows = [(terms, lo, hi) for terms, lo, hi, kind in self.pending if kind not in self.failed]
        self.relations += len(self.rows)

    def check(self, terms: list[Term], kind: str, finding: Finding) -> None:
        if all(c in self.truth for _, c in terms):
            self.checks.append(_Check(terms, kind, finding))

    # solving -------------------------------------------------------------------------------------
    def solve(self) -> tuple[list[Finding], list[Finding]]:
        self.finish()
        return _Program(self).run()


# ---------------------------------------------------------------------------------------------------
# Building the model from the tables


def _build(model: _Model, facts: _Facts, result: RunResult) -> None:
    _measure_cells(model, facts)
    _factor_cells(model, facts, result.year)
    _same_students(model, facts)
    _row_relations(model, facts, result)
    _families(model, facts)
    _ratio_relations(model, facts)
    _bands_and_components(model, facts)
    _factor_relations(model, facts, result)
    _checks(model, facts)


def _measure_cells(model: _Model, facts: _Facts) -> None:
    cols = {"n": "numerator", "d": "denominator", "cn": "comparison_numerator", "cd": "comparison_denominator"}
    for short, col in cols.items():
        full = facts.full.get_column(col).to_list()
        public = (facts.public.get_column(col).cast(pl.String).cast(pl.Float64, strict=False).to_list()
                  if col in facts.public.columns else [None] * len(full))
        for i, (t, p) in enumerate(zip(full, public, strict=True)):
            if t is not None:
                model.cell(("m", i, short), t, p)


def _factor_cells(model: _Model, facts: _Facts, year: int) -> None:
    """Factor cells, each the same cell as the measure row it repeats (district, measure, counts)."""
    if facts.ffull is None or facts.fpublic is None:
        return
    for short, col in {"n": "numerator", "d": "denominator"}.items():
        for j, (t, p) in enumerate(zip(facts.ffull.get_column(col).to_list(),
                                       facts.fpublic.get_column(col).to_list(), strict=True)):
            model.cell(("f", j, short), t, _number(p))
    for j, i in _factor_links(facts, year).items():
        model.same(("f", j, "n"), ("m", i, "n"), "factor repeats its measure row")
        model.same(("f", j, "d"), ("m", i, "d"), "factor repeats its measure row")


def _factor_links(facts: _Facts, year: int) -> dict[int, int]:
    """factor row -> the one measure row of its district, measure and counts in the year determined."""
    assert facts.ffull is not None
    key = ["district_id", "measure", "numerator", "denominator"]
    m = facts.full.filter((pl.col("school_year") == year) & pl.col("district_id").is_not_null()
                          & pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null())
    unique = m.group_by(key).agg(pl.col("_row").first(), pl.len().alias("n")).filter(pl.col("n") == 1)
    joined = facts.ffull.select("_row", *key).join(unique.drop("n"), on=key, how="inner", suffix="_m")
    return dict(zip(joined.get_column("_row").to_list(), joined.get_column("_row_m").to_list(), strict=True))


def _same_students(model: _Model, facts: _Facts) -> None:
    """One group of students published under two measures, or two categories of one population."""
    full = facts.full
    cells = ["school_year", "district_id", *QUALIFIERS]
    for a, b in SAME_DENOMINATOR:
        left = full.filter(pl.col("measure") == a).select("_row", *cells)
        right = full.filter(pl.col("measure") == b).select("_row", *cells)
        for i, k in left.join(right, on=cells, how="inner", nulls_equal=True).select("_row", "_row_right").rows():
            model.same(("m", i, "d"), ("m", k, "d"), f"{a} and {b} share a denominator")
    ratios = full.filter(pl.col("measure").is_in(RATIO_MEASURES) & pl.col("category").is_not_null()).with_columns(
        pl.col("category").str.split(".").list.first().alias("_population"))
    key = ["school_year", "district_id", "race_ethnicity", "disability", "_population"]
    for rows in ratios.group_by(key).agg(pl.col("_row")).get_column("_row").to_list():
        for k in rows[1:]:
            model.same(("m", rows[0], "d"), ("m", k, "d"), "categories of one population share a denominator")


def _rate_rows(full: pl.DataFrame) -> pl.Series:
    """Rows whose value is numerator / denominator (a share of the group)."""
    n, d, v = pl.col("numerator"), pl.col("denominator"), pl.col("value")
    return full.select(
        (v.is_not_null() & (d > 0) & ((v - n / d).abs() <= EPS) & (n <= d + EPS)).fill_null(False)
    ).to_series()


def _row_relations(model: _Model, facts: _Facts, result: RunResult) -> None:
    """Within one row: bounds, shown values, statuses, coded bands, flags, the primary reason."""
    rp = result.profile.reporting
    shares = [m.name for m in facts.infos.values() if _is_share_measure({"measure": m.name}, facts.infos)]
    pub_cols = [c for c in ("value", "flag", "status", "suppressed", "comparison_value") if c in facts.public.columns]
    public = facts.public.select(pl.col(pub_cols).name.prefix("_p_")).with_row_index("_row")
    own = pl.col("comparison_denominator").is_null()
    relevant = facts.full.join(public, on="_row").filter(
        pl.col("measure").is_in(shares) | pl.col("_p_flag").is_in(list(FLAG_TEST))
        | (own & pl.col("_p_status").is_in(["no_data"])) | (own & (pl.col("_p_suppressed") == "primary")))
    for row in relevant.iter_rows(named=True):
        i = row["_row"]
        pub = {c: row["_p_" + c] for c in pub_cols}
        n, d = ("m", i, "n"), ("m", i, "d")
        is_rate = _is_share_measure(row, facts.infos)  # what a reader knows: the measure is a share
        if is_rate:
            model.relate([(1.0, d), (-1.0, n)], 0.0, math.inf, f"numerator <= denominator: {row['measure']}")
            _rate_row(model, facts, n, d, pub, (rp.top, rp.bottom), row["measure"])
        if pub.get("status") == "no_data" and row["comparison_denominator"] is None:
            model.bound(d, 0.0, 0.0, f"no_data: no students: {row['measure']}")
        _flag_row(model, n, d, pub, row, is_rate)
        if pub.get("suppressed") == "primary" and row["comparison_denominator"] is None:
            size = d if row["denominator"] is not None else n
            model.bound(size, 1.0, model.min_n - 1.0, f"primary: a group under min_n: {row['measure']}")


def _is_share_measure(row: dict, infos: Mapping[str, MeasureInfo]) -> bool:
    info = infos.get(row["measure"])
    return info is not None and info.shown_as == "rate" and info.numerator == "count" and info.counts_students


def _rate_row(model: _Model, facts: _Facts, n: Cell, d: Cell, pub: dict, cuts: tuple[float, float],
              measure: str) -> None:
    value = pub.get("value")
    shown = _number(value)
    if shown is not None:
        model.equal([(1.0, n), (-shown, d)], f"value = numerator / denominator: {measure}")
    elif value == facts.token:
        model.bound(d, 1.0, math.inf, f"a withheld value was computed: denominator >= 1: {measure}")
    elif value == facts.bands[0]:
        _share_within(model, n, d, cuts[0] - EPS, math.inf, f"coded >= top: {measure}")
    elif value == facts.bands[1]:
        _share_within(model, n, d, -math.inf, cuts[1] + EPS, f"coded <= bottom: {measure}")


def _flag_row(model: _Model, n: Cell, d: Cell, pub: dict, row: dict, is_rate: bool) -> None:
    """A verdict against the row's threshold, where the value is a share (or a ratio with a shown
    comparison value: ratio = (n / d) / cv)."""
    test = FLAG_TEST.get(pub.get("flag") or "")
    t = row["threshold"]
    if test is None or t is None:
        return
    lo, hi = _half_line({test: t})
    kind = f"flag {pub['flag']}: {row['measure']}"
    if is_rate:
        _share_within(model, n, d, lo, hi, kind)
        return
    cv = _number(pub.get("comparison_value"))
    if cv is None or row["value"] is None or row["comparison_value"] is None:
        return
    if lo > -math.inf:
        model.relate([(1.0, n), (-lo * cv, d)], 0.0, math.inf, kind)
    if hi < math.inf:
        model.relate([(1.0, n), (-hi * cv, d)], -math.inf, 0.0, kind)


def _share_within(model: _Model, n: Cell, d: Cell, lo: float, hi: float, kind: str) -> None:
    """A share known to lie in [lo, hi] (a computed share: denominator >= 1): numerator >= lo x denominator,
    <= hi x denominator; and, counts being whole, at least one counted when lo > 0, at least one not
    counted when hi < 1."""
    if lo > -math.inf:
        model.relate([(1.0, n), (-lo, d)], 0.0, math.inf, kind)
    if hi < math.inf:
        model.relate([(1.0, n), (-hi, d)], -math.inf, 0.0, kind)
    if lo > 1e-12:
        model.relate([(1.0, n)], 1.0, math.inf, kind + " (a whole count above 0)")
    if hi < 1.0 - 1e-12:
        model.relate([(1.0, d), (-1.0, n)], 1.0, math.inf, kind + " (a whole count below all)")
    den = model.shown.get(d)
    if den is not None:  # a shown denominator: the numerator's bounds are whole numbers
        low = math.ceil(lo * den - 1e-6) if lo > -math.inf else -math.inf
        high = math.floor(hi * den + 1e-6) if hi < math.inf else math.inf
        model.relate([(1.0, n)], low, high, kind + " (whole counts of a shown group)")


def _families(model: _Model, facts: _Facts) -> None:
    """Parts and total along one qualifier; LEAs and the statewide row (suppress.py's (a) and (b))."""
    full = facts.full.filter(pl.col("numerator").is_not_null() | pl.col("denominator").is_not_null())
    not_additive = [m.name for m in facts.infos.values() if not m.additive]
    statewide = {m.name: m.statewide for m in facts.infos.values() if m.statewide}
    additive = full.filter(~pl.col("measure").is_in(not_additive))
    for q in QUALIFIERS:
        others = [c for c in QUALIFIERS if c != q]
        _sum_families(model, additive, ["school_year", "district_id", "measure", *others],
                      pl.col(q).is_null(), f"parts and total along {q}")
    state = full.with_columns(pl.col("measure").replace(statewide).alias("_state"))
    _sum_families(model, state, ["school_year", "_state", *QUALIFIERS], pl.col("district_id").is_null(),
                  "LEAs and the statewide row")


def _sum_families(model: _Model, rows: pl.DataFrame, key: list[str], is_total: pl.Expr, kind: str) -> None:
    fams = (
        rows.with_columns(is_total.alias("_total"))
        .group_by(key)
        .agg(pl.col("_row").filter(pl.col("_total")).alias("totals"), pl.col("_row").filter(~pl.col("_total"))
             .alias("parts"), pl.col("measure").first().alias("_measure"))
        .filter((pl.col("totals").list.len() == 1) & (pl.col("parts").list.len() >= 1))
    )
    for totals, parts, measure in fams.select("totals", "parts", "_measure").rows():
        for c in ("n", "d"):
            model.equal([(1.0, ("m", totals[0], c)), *((-1.0, ("m", p, c)) for p in parts)],
                        f"{kind} ({c}): {measure}")


def _ratio_relations(model: _Model, facts: _Facts) -> None:
    """Ratio rows: the groups of an LEA add up to a total (T); a row's comparison counts are T minus the group
    (risk ratio: `_lea_comparisons`) or every other group statewide (alternate ratio: `_state_comparisons`),
    and where its comparison value is shown, comparison numerator = cv x comparison denominator. Which of
    the two a measure follows is tried on all its rows at once (a measure follows one or neither)."""
    full = facts.full.filter(pl.col("comparison_denominator").is_not_null() & pl.col("race_ethnicity").is_not_null()
                             & pl.col("district_id").is_not_null())
    if not full.height:
        return
    family = {m.name: m.ratio_family for m in facts.infos.values() if m.ratio_family}
    others = [q for q in QUALIFIERS if q != "race_ethnicity"]
    lea, state = ["school_year", "district_id", "_family", *others], ["school_year", "_family", *others]
    n, d, cn, cd = (pl.col(c) for c in ("numerator", "denominator", "comparison_numerator", "comparison_denominator"))
    cv = facts.public.get_column("comparison_value").cast(pl.String).cast(pl.Float64, strict=False)
    group = [*state, "race_ethnicity"]
    full = full.with_columns(pl.col("measure").replace(family).alias("_family")).with_columns(
        ((n.sum().over(lea) - n - cn).abs() + (d.sum().over(lea) - d - cd).abs() < 1e-6).alias("_lea"),
        ((n.sum().over(state) - n.sum().over(group) - cn).abs()
         + (d.sum().over(state) - d.sum().over(group) - cd).abs() < 1e-6).alias("_state"),
        cv.gather(full.get_column("_row")).alias("_cv"),
    )
    for col, kind in (("_lea", "comparison = LEA total - group"), ("_state", "comparison = other groups statewide")):
        for measure, bad in full.group_by("measure").agg((~pl.col(col)).sum()).rows():
            if bad:
                model.failed.add(f"{kind}: {measure}")
                model.dropped[f"{kind}: {measure}"] += bad
    full = full.with_columns(pl.col("_lea").all().over("measure"), pl.col("_state").all().over("measure"))
    _lea_comparisons(model, full.with_columns(pl.when(pl.col("_lea")).then(pl.col("_cv")).alias("_cv")), lea)
    _state_comparisons(model, full, full.filter(pl.col("_state") & ~pl.col("_lea") & pl.col("_cv").is_not_null()),
                       state)


def _lea_comparisons(model: _Model, rows: pl.DataFrame, key: list[str]) -> None:
    """Per LEA family (the groups of both ratios; `_cv` null on rows whose comparison is not the LEA's),
    T = the sum of its groups. Two rows with different shown comparison values (and their
    counts shown) solve for T (T - n = cv x (T_d - d), twice): T is then as good as published; otherwise each
    row with a shown comparison value is one equation in T."""
    fams = rows.group_by(key).agg(pl.col("_row"), pl.col("_cv").drop_nulls().n_unique().alias("_k"),
                                  pl.col("_row").filter(pl.col("_cv").is_not_null()).alias("_used"),
                                  pl.col("_cv").drop_nulls().alias("_cvs"))
    for k, members, distinct, used, cvs in fams.select(pl.struct(key), "_row", "_k", "_used", "_cvs").rows():
        solved = distinct >= 2
        for c in ("n", "d"):
            total = ("T", tuple(k.values()), c)
            true = sum(model.truth.get(("m", r, c), 0.0) for r in members)
            model.cell(total, true, true if solved else None)
            model.equal([(1.0, total), *((-1.0, ("m", r, c)) for r in members)], "groups add up to the LEA total")
            for r in [] if solved else used:
                model.equal([(1.0, total), (-1.0, ("m", r, c)), (-1.0, ("m", r, "c" + c))],
                            "comparison = LEA total - group")
        for r, v in [] if solved else zip(used, cvs, strict=True):
            model.equal([(1.0, ("m", r, "cn")), (-v, ("m", r, "cd"))], "comparison value = cn / cd")


def _state_comparisons(model: _Model, every_row: pl.DataFrame, used: pl.DataFrame, key: list[str]) -> None:
    """The alternate ratio's comparison: every other group statewide, S - S(g) (summed over every LEA and
    both ratios), one equation per group and category with a shown comparison value (every LEA's row of
    the group has the same comparison counts)."""
    if not used.height:
        return
    wanted = {tuple(k.values()) for k in used.select(pl.struct(key)).to_series().to_list()}
    members: dict[tuple, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r, g, k in every_row.select("_row", "race_ethnicity", pl.struct(key)).rows():
        if tuple(k.values()) in wanted:
            members[tuple(k.values())][g].append(r)
    for k, groups in members.items():
        for c in ("n", "d"):
            model.cell(("S", k, None, c), sum(model.truth.get(("m", r, c), 0.0) for rs in groups.values() for r in rs))
            for g, rs in groups.items():
                model.cell(("S", k, g, c), sum(model.truth.get(("m", r, c), 0.0) for r in rs))
                model.equal([(1.0, ("S", k, g, c)), *((-1.0, ("m", r, c)) for r in rs)], "statewide sum of a group")
            model.equal([(1.0, ("S", k, None, c)), *((-1.0, ("S", k, g, c)) for g in groups)],
                        "statewide sum of every group")
    seen = set()
    for r, g, k, v in used.select("_row", "race_ethnicity", pl.struct(key), "_cv").rows():
        k = tuple(k.values())
        if (k, g) in seen:
            continue
        seen.add((k, g))
        for c in ("n", "d"):
            model.equal([(1.0, ("m", r, "c" + c)), (-1.0, ("S", k, None, c)), (1.0, ("S", k, g, c))],
                        "comparison = other groups statewide")
        model.equal([(1.0, ("m", r, "cn")), (-v, ("m", r, "cd"))], "comparison value = cn / cd")


def _bands_and_components(model: _Model, facts: _Facts) -> None:
    full = facts.full
    parent_rows = full.filter(pl.col("measure").is_in([p for ps in (*BANDS.values(),
                                                                      *COMPONENTS.values()) for p in ps]))
    parents = {(y, d, m): r
               for r, y, d, m in parent_rows.select("_row", "school_year", "district_id", "measure").rows()}
    for measure, names in (*BANDS.items(), *COMPONENTS.items()):
        groups = full.filter(pl.col("measure") == measure).group_by("school_year", "district_id").agg(pl.col("_row"))
        for y, d, rows in groups.rows():
            parent = next((parents[(y, d, p)] for p in names if (y, d, p) in parents), None)
            if parent is None:
                continue
            if measure in BANDS:
                _bands(model, parent, rows)
            else:
                _components(model, parent, rows)


def _bands(model: _Model, parent: int, rows: list[int]) -> None:
    """Days-late rows: each denominator is the late children (parent den - num), one count; numerators
    add up to it."""
    for r in rows[1:]:
        model.same(("m", rows[0], "d"), ("m", r, "d"), "days-late rows share the denominator")
    for r in rows:
        model.equal([(1.0, ("m", r, "d")), (-1.0, ("m", parent, "d")), (1.0, ("m", parent, "n"))],
                    "days-late denominator = children late")
    model.equal([(1.0, ("m", rows[0], "d")), *((-1.0, ("m", r, "n")) for r in rows)], "days-late rows add up")


def _components(model: _Model, parent: int, rows: list[int]) -> None:
    """Transition components: one denominator; every complete IEP has each component."""
    for r in rows:
        model.equal([(1.0, ("m", r, "d")), (-1.0, ("m", parent, "d"))], "components share the denominator")
        model.relate([(1.0, ("m", r, "n")), (-1.0, ("m", parent, "n"))], 0.0, math.inf, "complete <= component")
    terms = [*((1.0, ("m", r, "n")) for r in rows), (-(len(rows) - 1.0), ("m", parent, "d")),
             (-1.0, ("m", parent, "n"))]
    model.relate(terms, -math.inf, 0.0, "complete >= components - (k - 1) x youth")


# factors --------------------------------------------------------------------------------------------


def point_intervals(parameters: Iterable[tuple[str, Any, str]]) -> dict[str, dict[float, tuple[float, float]]]:
    """Per factor id, the interval of values each number of points stands for, from the profile's points
    tables (value rules only; a factor with flag rules, a value score or a change from the prior year is
    left out). The interval is the hull of the values that get those points, bounds included."""
    factors: dict[int, dict[str, Any]] = defaultdict(dict)
    for path, value, _ in parameters:
        m = re.fullmatch(r"factors\[(\d+)\]\.(\w+)(?:\[(\d+)\]\.(\w+))?", path)
        if not m:
            continue
        f = factors[int(m.group(1))]
        if m.group(3) is None:
            f[m.group(2)] = value
        else:
            f.setdefault("rules", defaultdict(dict))[int(m.group(3))][m.group(4)] = value
    out = {}
    for f in factors.values():
        rules = [f["rules"][k] for k in sorted(f.get("rules", {}))]
        if f.get("score", "points") != "points" or f.get("value_of") not in (None, "this_year") \
                or f.get("combine", "only") != "only" or any("flag" in r or "no_flag" in r for r in rules):
            continue
        out[f["id"]] = _intervals(rules)
    return out


def _intervals(rules: list[dict]) -> dict[float, tuple[float, float]]:
    lo_hi: dict[float, tuple[float, float]] = {}
    left = (-math.inf, math.inf)  # the values no earlier rule took (always one interval: rules are half-lines)
    for r in rules:
        test = _half_line(r)
        hit = (max(left[0], test[0]), min(left[1], test[1]))
        if hit[0] <= hit[1]:
            p = float(r["points"])
            old = lo_hi.get(p)
            lo_hi[p] = hit if old is None else (min(old[0], hit[0]), max(old[1], hit[1]))
        left = _remaining(left, test)
    return lo_hi


def _half_line(rule: dict) -> tuple[float, float]:
    """The values a test lets through, with the tolerance the engine compares with (strict bounds
    relaxed to non-strict ones: the reader is granted a hair less than the truth)."""
    if rule.get("at_least") is not None:
        return (rule["at_least"] - EPS, math.inf)
    if rule.get("above") is not None:
        return (rule["above"] + EPS, math.inf)
    if rule.get("at_most") is not None:
        return (-math.inf, rule["at_most"] + EPS)
    if rule.get("below") is not None:
        return (-math.inf, rule["below"] - EPS)
    return (-math.inf, math.inf)


def _remaining(left: tuple[float, float], test: tuple[float, float]) -> tuple[float, float]:
    if test == (-math.inf, math.inf):
        return (math.inf, -math.inf)
    if test[1] == math.inf:
        return (left[0], min(left[1], test[0]))
    return (max(left[0], test[1]), left[1])


def _factor_relations(model: _Model, facts: _Facts, result: RunResult) -> None:
    if facts.ffull is None or facts.fpublic is None or result.determinations is None:
        return
    intervals = point_intervals(result.profile.parameters)
    links = _factor_links(facts, result.year)
    for j, pub in enumerate(facts.fpublic.iter_rows(named=True)):
        if j not in links or not _is_share_measure(pub, facts.infos):
            continue
        n, d = ("f", j, "n"), ("f", j, "d")
        model.relate([(1.0, d), (-1.0, n)], 0.0, math.inf, f"numerator <= denominator: {pub['factor']}")
        value = _number(pub.get("value"))
        if value is not None:
            model.equal([(1.0, n), (-value, d)], f"factor value = numerator / denominator: {pub['factor']}")
        points = pub.get("points")
        span = intervals.get(pub["factor"], {}).get(float(points)) if isinstance(points, int | float) else None
        if span is not None and pub.get("status") == "ok":
            _share_within(model, n, d, span[0], span[1], f"points: {pub['factor']}")
        measure_row = facts.full.row(links[j], named=True)
        _flag_row(model, n, d, {"flag": pub.get("flags"), "comparison_value": None}, measure_row, True)
    _factor_state(model, facts, result)


def _factor_state(model: _Model, facts: _Facts, result: RunResult) -> None:
    """Each factor's state figure (per-district workbooks): pooled numerators / pooled denominators."""
    assert facts.ffull is not None and result.determinations is not None
    state = dict(result.determinations.factor_state.select("factor", "state_value").rows())
    ok = facts.ffull.filter((pl.col("status") == "ok") & pl.col("denominator").is_not_null())
    for factor, rows in ok.group_by("factor").agg(pl.col("_row")).rows():
        sv = state.get(factor)
        if sv is None:
            continue
        terms: list[Term] = [t for j in rows for t in ((1.0, ("f", j, "n")), (-sv, ("f", j, "d")))]
        model.equal(terms, f"factor state figure = pooled rate: {factor}")


# checks ---------------------------------------------------------------------------------------------


def _checks(model: _Model, facts: _Facts) -> None:
    withheld = {"primary", "complementary", "withheld", "coded"}
    rate = _rate_rows(facts.full).to_list()
    rows = facts.public.with_row_index("_i").filter(pl.col("suppressed").is_in(list(withheld)))
    for pub in rows.iter_rows(named=True):
        i = pub["_i"]
        _row_checks(model, facts, "measures", i, pub, facts.full.row(i, named=True), rate[i])
    if facts.ffull is None or facts.fpublic is None:
        return
    frate = _rate_rows(facts.ffull).to_list()
    for j, pub in enumerate(facts.fpublic.iter_rows(named=True)):
        if pub.get("suppressed") in withheld:
            _row_checks(model, facts, "factors", j, pub, facts.ffull.row(j, named=True), frate[j])


def _row_checks(model: _Model, facts: _Facts, table: str, i: int, pub: dict, row: dict, is_rate: bool) -> None:
    tag = "m" if table == "measures" else "f"
    quals = " ".join(f"{q}={row[q]}" for q in QUALIFIERS if row.get(q) is not None)
    if table == "factors":
        quals = f"factor={row['factor']}"

    def finding(column: str, kind: str, true: float) -> Finding:
        return Finding(table, i, row["district_id"], row["measure"], quals, column, kind, math.nan, math.nan, true)

    n, d = (tag, i, "n"), (tag, i, "d")
    for c, col in ((n, "numerator"), (d, "denominator")):
        if pub.get(col) == facts.token and c in model.truth:
            model.cells_checked += 1
            model.check([(1.0, c)], COUNT, finding(col, COUNT, model.truth[c]))
    if not is_rate or pub.get("value") not in (facts.token, *facts.bands):
        return
    v = row["value"]
    model.cells_checked += 1
    if v >= 1 - EPS:  # a rate of 100% that cannot move is revealed (and so is its value: counted there only)
        model.check([(1.0, d), (-1.0, n)], FULL, finding("value", FULL, v))
    elif v <= EPS:
        model.check([(1.0, n)], EMPTY, finding("value", EMPTY, v))
    else:
        model.check([(1.0, n), (-v, d)], VALUE, finding("value", VALUE, v))


# ---------------------------------------------------------------------------------------------------
# Solving


@dataclass
class _Form:
    """A checked quantity as a linear form of the program's variables (sum coef x + const), with the
    checks it stands for (copies of one cell are one form)."""

    kind: str
    coef: dict[int, float]
    const: float
    true: float
    checks: list[_Check]
    low: float = math.nan
    high: float = math.nan
    settled: bool = False  # a feasible point moved it by a whole count (or off its value)

    def target(self) -> float:
        return 0.0 if self.kind in (FULL, EMPTY) else self.true

    def step(self) -> float:
        if self.kind == VALUE:
            return 1e-6 * (1.0 + abs(self.const) + sum(abs(c) for c in self.coef.values()) * max(1.0, abs(self.true)))
        return 1.0 - 1e-6

    def two_way(self) -> bool:
        return self.kind in (COUNT, VALUE)


class _Program:
    """The linear program of a model: variables are the classes of cells no copy of which is shown."""

    def __init__(self, model: _Model) -> None:
        self.model = model
        self.known = {model.find(c): v for c, v in model.shown.items()}
        self.index: dict[Cell, int] = {}
        self.truth: list[float] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []
        for terms, lo, hi in model.rows:
            coef, const = self.resolve(terms)
            if coef:
                self.rows.append((coef, lo - const, hi - const))
        forms: dict[tuple, _Form] = {}
        for ch in model.checks:
            coef, const = self.resolve(ch.terms)
            key = (ch.kind, tuple(sorted((k, round(a, 12)) for k, a in coef.items())), round(const, 9))
            if key not in forms:
                true = sum(a * model.truth[c] for a, c in ch.terms)
                forms[key] = _Form(ch.kind, coef, const, true, [])
            forms[key].checks.append(ch)
        self.forms = list(forms.values())

    def var(self, c: Cell) -> int:
        root = self.model.find(c)
        k = self.index.get(root)
        if k is None:
            k = self.index[root] = len(self.truth)
            self.truth.append(self.model.truth[root])
        return k

    def resolve(self, terms: list[Term]) -> tuple[dict[int, float], float]:
        coef: dict[int, float] = {}
        const = 0.0
        for a, c in terms:
            root = self.model.find(c)
            if root in self.known:
                const += a * self.known[root]
            else:
                k = self.var(c)
                coef[k] = coef.get(k, 0.0) + a
        return {k: a for k, a in coef.items() if a != 0.0}, const

    def run(self) -> tuple[list[Finding], list[Finding]]:
        """Settle every form that a feasible point moves by a whole count (or off its value); bound the
        rest one by one."""
        forms = [f for f in self.forms if f.coef]
        for f in self.forms:
            if not f.coef:
                f.low = f.high = f.const
        if forms:
            _Solver(self, forms).run()
        recoverable: list[Finding] = []
        revealed: list[Finding] = []
        for f in self.forms:
            if f.settled:
                continue
            out = revealed if f.kind in (FULL, EMPTY) else recoverable
            out += [_found(ch.finding, f.low, f.high) for ch in f.checks]
        return recoverable, revealed


def _found(f: Finding, low: float, high: float) -> Finding:
    return Finding(f.table, f.row, f.district_id, f.measure, f.qualifiers, f.column, f.kind, low, high, f.true)


class _Solver:
    """The program in matrices: a few programs over every variable first, then one form at a time on its
    connected part."""

    ROUNDS = 12  # programs over every variable (`spread`) before the forms left are bounded one by one
    WORTH = 15  # another round only while the last one settled at least this many forms (one costs ~0.06 s,
    # bounding a form alone ~4 ms on sample_data)

    def __init__(self, program: _Program, forms: list[_Form]) -> None:
        self.sp = sp = _scipy()
        np, csr_array = sp.np, sp.csr_array
        self.np = np
        self.forms = forms
        n = len(program.truth)
        cap = 10.0 * max((abs(t) for t in program.model.truth.values()), default=0.0) + 1000.0
        self.lb = np.zeros(n)
        self.ub = np.full(n, cap)
        for c, (lo, hi) in program.model.bounds.items():
            k = program.index.get(program.model.find(c))
            if k is not None:
                self.lb[k], self.ub[k] = max(self.lb[k], lo), min(self.ub[k], hi)
        eq = [(coef, hi) for coef, lo, hi in program.rows if lo == hi]
        ub = [(coef, hi) for coef, lo, hi in program.rows if lo != hi and hi < math.inf]
        ub += [({k: -a for k, a in coef.items()}, -lo) for coef, lo, hi in program.rows if lo != hi and lo > -math.inf]
        self.a_eq, self.b_eq = _sparse(eq, n, csr_array, np), np.array([b for _, b in eq])
        self.a_ub, self.b_ub = _sparse(ub, n, csr_array, np), np.array([b for _, b in ub])
        star = [({k: 1.0 for k in coef}, 0.0) for coef, _, _ in program.rows] or [({}, 0.0)]
        graph = _sparse(star, n, csr_array, np)
        _, self.part = sp.connected_components((graph.T @ graph), directed=False)
        self.row_part_eq = self.part[[next(iter(c)) for c, _ in eq]] if eq else np.zeros(0, dtype=int)
        self.row_part_ub = self.part[[next(iter(c)) for c, _ in ub]] if ub else np.zeros(0, dtype=int)
        self.q = _sparse([(f.coef, 0.0) for f in forms], n, csr_array, np)
        self.truth = np.array(program.truth)
        self.const = np.array([f.const for f in forms])
        self.target = np.array([f.target() for f in forms])
        self.step = np.array([f.step() for f in forms])
        self.two_way = np.array([f.two_way() for f in forms])
        self.up = np.zeros(len(forms), dtype=bool)
        self.down = np.zeros(len(forms), dtype=bool)
        self.rng = np.random.default_rng(0)
        self.form_parts = [frozenset(self.part[list(f.coef)].tolist()) for f in forms]
        self.form_part = np.array([next(iter(p)) if len(p) == 1 else -1 for p in self.form_parts])
        self.parts_cache: dict[frozenset, tuple] = {}

    def settled(self) -> Any:
        return self.up | (self.down & self.two_way)

    def see(self, x: Any, valid: Any = None) -> None:
        values = self.q @ x + self.const
        up, down = values >= self.target + self.step, values <= self.target - self.step
        if valid is not None:
            up, down = up & valid, down & valid
        self.up |= up
        self.down |= down

    def run(self) -> None:
        np = self.np
        for _ in range(self.ROUNDS):
            todo = np.flatnonzero(~self.settled())
            if not len(todo):
                break
            x = self.spread(todo)
            if x is None:
                break
            self.see(x)
            if len(todo) - len(np.flatnonzero(~self.settled())) < self.WORTH:
                break
        left = np.flatnonzero(~self.settled())
        for part in np.unique(self.form_part[left]):
            if part >= 0:
                self.batch([int(i) for i in left if self.form_part[i] == part])
        for i in np.flatnonzero(~self.settled()):
            if self.form_part[i] < 0:
                self.alone(int(i))
        for f, done in zip(self.forms, self.settled(), strict=True):
            f.settled = bool(done)

    def spread(self, todo: Any) -> Any:
        """One program over every variable that moves as many unsettled forms as it can by a whole count
        (or off their value): maximise the sum of t(k) <= min(1, s(k) x (form k - its true value)), s(k) the
        way form k is pushed (up for a count at 0 or a rate at 0% or 100%, else either way at random)."""
        sp = self.sp
        np, csr_array, diags, hstack, vstack = sp.np, sp.csr_array, sp.diags, sp.hstack, sp.vstack
        n, m = len(self.lb), len(todo)
        at_floor = self.target[todo] - self.q[todo] @ self.lb - self.const[todo] < 1.0
        sign = np.where(~self.two_way[todo] | at_floor | (self.rng.random(m) < 0.5), 1.0, -1.0)
        scale = np.where(self.two_way[todo] & (self.step[todo] < 0.5), 1.0 / self.step[todo], 1.0)  # values
        push = -diags(sign * scale) @ self.q[todo]
        a_ub = vstack([hstack([self.a_ub, csr_array((self.a_ub.shape[0], m))]),
                       hstack([push, diags(np.ones(m))])]).tocsr()
        b_ub = np.concatenate([self.b_ub, sign * scale * (self.const[todo] - self.target[todo])])
        a_eq = hstack([self.a_eq, csr_array((self.a_eq.shape[0], m))]).tocsr() if self.a_eq.shape[0] else None
        bounds = np.column_stack([np.concatenate([self.lb, np.full(m, -np.inf)]),
                                  np.concatenate([self.ub, np.ones(m)])])
        c = np.concatenate([np.zeros(n), -(1.0 + self.rng.random(m))])
        res = sp.linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=self.b_eq if a_eq is not None else None,
                      bounds=bounds, method="highs")
        return res.x[:n] if res.status == 0 else None

    def alone(self, i: int) -> None:
        """Bound form i alone (maximise, then minimise if it is two-way), on its connected part."""
        np = self.np
        row = self.q[[i], :]
        parts = self.form_parts[i]
        part = self.part_program(parts)
        valid = (self.form_part == next(iter(parts))) if len(parts) == 1 else \
            np.array([p <= parts for p in self.form_parts])
        f = self.forms[i]
        for sense in (1.0, -1.0):
            if sense < 0 and (not self.two_way[i] or self.settled()[i]):
                continue
            x = self.optimum(-sense * row.toarray().ravel(), part)
            if x is None:
                continue
            value = float((row @ x)[0]) + f.const
            if sense > 0:
                f.high = value
            else:
                f.low = value
            self.see(x, valid)

    def batch(self, idx: list[int]) -> None:
        """Bound the forms `idx` of one connected part each on its own copy of the part, all copies in one
        block-diagonal program (the copies do not interact, so each block's optimum is its form's)."""
        np, sp = self.np, self.sp
        cols, a_eq, b_eq, a_ub, b_ub = self.part_program(frozenset([int(self.form_part[idx[0]])]))
        for sense in (1.0, -1.0):
            todo = [i for i in idx if sense > 0 or (self.two_way[i] and not self.settled()[i])]
            if not todo:
                continue
            k = len(todo)
            c = np.concatenate([-sense * self.q[[i], :][:, cols].toarray().ravel() for i in todo])
            res = sp.linprog(c, A_ub=sp.block_diag([a_ub] * k, format="csr") if a_ub.shape[0] else None,
                             b_ub=np.tile(b_ub, k) if a_ub.shape[0] else None,
                             A_eq=sp.block_diag([a_eq] * k, format="csr") if a_eq.shape[0] else None,
                             b_eq=np.tile(b_eq, k) if a_eq.shape[0] else None,
                             bounds=np.tile(np.column_stack([self.lb[cols], self.ub[cols]]), (k, 1)), method="highs")
            if res.status != 0:
                for i in todo:
                    self.alone(i)
                continue
            for j, i in enumerate(todo):
                value = float((self.q[[i], :][:, cols] @ res.x[j * len(cols):(j + 1) * len(cols)])[0]) \
                    + self.forms[i].const
                self.record(i, value, sense)

    def record(self, i: int, value: float, sense: float) -> None:
        """Form i's maximum (sense 1) or minimum: settled if it is a whole count (or off the value) away."""
        if sense > 0:
            self.forms[i].high = value
            self.up[i] |= value >= self.target[i] + self.step[i]
        else:
            self.forms[i].low = value
            self.down[i] |= value <= self.target[i] - self.step[i]

    def part_program(self, parts: frozenset) -> tuple:
        """The columns, rows and matrices of some connected parts (kept: the forms of a part share them)."""
        if parts not in self.parts_cache:
            np = self.np
            cols = np.flatnonzero(np.isin(self.part, list(parts)))
            e = np.flatnonzero(np.isin(self.row_part_eq, list(parts)))
            u = np.flatnonzero(np.isin(self.row_part_ub, list(parts)))
            self.parts_cache[parts] = (cols, self.a_eq[e][:, cols], self.b_eq[e], self.a_ub[u][:, cols], self.b_ub[u])
        return self.parts_cache[parts]

    def optimum(self, c: Any, part: tuple | None) -> Any:
        """The minimiser of c @ x over the program (on one `part_program` only, the other variables at 0);
        None if the solver fails."""
        np = self.np
        if part is None:
            a_eq, b_eq, a_ub, b_ub, cc, lb, ub = self.a_eq, self.b_eq, self.a_ub, self.b_ub, c, self.lb, self.ub
        else:
            cols, a_eq, b_eq, a_ub, b_ub = part
            cc, lb, ub = c[cols], self.lb[cols], self.ub[cols]
        res = self.sp.linprog(cc, A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                              A_eq=a_eq if a_eq.shape[0] else None, b_eq=b_eq if a_eq.shape[0] else None,
                              bounds=np.column_stack([lb, ub]), method="highs")
        if res.status != 0:
            return None
        if part is None:
            return res.x
        x = np.zeros(len(self.lb))
        x[part[0]] = res.x
        return x


def _sparse(rows: list[tuple[dict[int, float], float]], n: int, csr_array: Any, np: Any) -> Any:
    data = [a for coef, _ in rows for a in coef.values()]
    ri = [r for r, (coef, _) in enumerate(rows) for _ in coef]
    ci = [k for coef, _ in rows for k in coef]
    return csr_array((np.array(data, dtype=float), (np.array(ri, dtype=int), np.array(ci, dtype=int))),
                     shape=(len(rows), n))
