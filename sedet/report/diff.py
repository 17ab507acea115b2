"""What changed between two determination runs: which LEAs moved category, and which factors moved them.

A run folder is what `sedet determine --out DIR` writes; `diff_runs` reads three of its files:

- `determinations.csv`: one row per LEA. Every column is read as text (`district_id` "00123" keeps its
  zeros) and only `percentage` is cast to a number. The writer puts an apostrophe before text starting
  with = + - @ (or a tab or carriage return) so a spreadsheet does not run it as a formula (OWASP CSV
  injection); that apostrophe is stripped here. Text that really began with an apostrophe followed by one
  of those characters cannot be told apart from it and loses its apostrophe (names and reasons only).
- `factors.parquet`: one row per LEA and factor (points, value, status 'ok' or 'n/a').
- `manifest.json`: the profile id and the school year. The category order (best to most serious) is not
  in the run: it is taken from the profile, found by its id (`categories_of`, given by the caller).
  When it cannot be found, or the two runs used profiles with different categories, a change of
  category is reported as "changed", not as "worse" or "better", and `warnings` says why.

An LEA is listed in `changes` when its category (short name) or its displayed label differs between the
runs (a label alone differs e.g. for MA's "Level 4-NSI" escalations), or when it is in one run only
("new", "gone"). For the LEAs in both runs, the factors whose points or status differ are listed in
`factor_changes` and summed up in `factors_moved` ("F3 2 -> 0; F6 n/a -> 1"; "none" for a factor the
LEA has in one run only). A new or gone LEA has no factor comparison.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from rich.markup import escape
from rich.table import Table

from sedet.errors import SedetError, UsageError
from sedet.model import FORMULA_START
from sedet.report.sheet_xml import new_workbook, save_deterministic, table_sheet
from sedet.report.xlsx import DECIMAL, PERCENT, Col, Page, run_footer

# How the caller finds a profile by its id (raises SedetError when it cannot): its category short
# names, best first (None when it has no determination), and its SHA-256 (profile.category_order).
CategoriesOf = Callable[[str], tuple[list[str] | None, str]]

DETERMINATIONS = "determinations.csv"
FACTORS = "factors.parquet"
MANIFEST = "manifest.json"

DETERMINATION_NEEDS = ["district_id", "district_name", "percentage", "category", "category_label"]
FACTOR_NEEDS = ["district_id", "factor_order", "factor", "factor_title", "value", "points", "status"]

# The kinds of change, in the order they are listed.
CHANGE_ORDER = {"worse": 0, "better": 1, "changed": 2, "new": 3, "gone": 4}

CHANGE_COLUMNS = [
    "district_id", "district_name", "old_category", "new_category", "old_category_label", "new_category_label",
    "old_percentage", "new_percentage", "old_score", "new_score", "old_rank", "new_rank", "old_percentile",
    "new_percentile", "change", "factors_moved", "why",
]
FACTOR_CHANGE_COLUMNS = [
    "district_id", "district_name", "factor", "factor_title", "old_points", "new_points", "old_value", "new_value",
    "old_status", "new_status",
]

# The apostrophe the CSV writer puts before text a spreadsheet would read as a formula.
_UNSAFE_PREFIX = "^'([" + re.escape("".join(FORMULA_START)) + "])"


@dataclass
class RunInfo:
    """One run folder as read: where it is, which profile and year."""

    folder: Path
    profile_id: str | None
    profile_sha256: str | None
    school_year: int | None
    leas: int
    run_type: str | None = None

    def describe(self) -> str:
        year = "" if self.school_year is None else f" {self.school_year}"
        return f"{self.folder} ({self.profile_id or 'profile unknown'}{year})"

    def footer(self) -> str:
        """The run as a printed page's footer names it: profile, run type, school year."""
        return run_footer(self.profile_id or "profile unknown", self.run_type or "unknown", self.school_year)


@dataclass
class DiffResult:
    old: RunInfo
    new: RunInfo
    changes: pl.DataFrame  # CHANGE_COLUMNS, one row per LEA that changed, is new or is gone
    factor_changes: pl.DataFrame  # FACTOR_CHANGE_COLUMNS, the factors that moved for the LEAs in `changes`
    summary: dict[str, int]  # compared, changed, worse, better, unranked, new, gone
    warnings: list[str] = field(default_factory=list)
    ranked: bool = False  # True when the category order was known ("worse"/"better" rather than "changed")

    def as_dict(self) -> dict:
        """Plain JSON-ready data (for `--json`)."""
        run = lambda r: {"folder": str(r.folder), "profile": r.profile_id, "school_year": r.school_year,  # noqa: E731
                         "leas": r.leas}
        return {
            "old": run(self.old),
            "new": run(self.new),
            "summary": dict(self.summary),
            "ranked": self.ranked,
            "warnings": list(self.warnings),
            "changes": _finite(self.changes).to_dicts(),
            "factor_changes": _finite(self.factor_changes).to_dicts(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


def _finite(df: pl.DataFrame) -> pl.DataFrame:
    """NaN and infinity as null: JSON has no such numbers."""
    floats = [n for n, t in df.schema.items() if t == pl.Float64]
    return df.with_columns(pl.when(pl.col(n).is_finite()).then(pl.col(n)).alias(n) for n in floats)


# ---------------------------------------------------------------------------------------------------
# Reading a run folder


def _check_folder(folder: Path) -> None:
    if not folder.exists():
        raise UsageError(f"{folder}: no such folder", hint="give two folders written by `sedet determine --out`")
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder", hint="give two folders written by `sedet determine --out`")
    for name in (DETERMINATIONS, FACTORS):
        if not (folder / name).is_file():
            raise UsageError(
                f"{folder / name}: not found; {folder} is not a sedet determination run",
                hint="a run of a profile without a [determination] section has no determinations to compare",
            )


def _read_manifest(folder: Path, warnings: list[str]) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        warnings.append(f"{path}: not found; the profile and school year of this run are unknown")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{path}: not a sedet manifest ({e})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a sedet manifest (not a JSON object)")
    return data


def _missing_columns(path: Path, have: list[str], need: list[str]) -> None:
    missing = [c for c in need if c not in have]
    if missing:
        raise UsageError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                         "not a file written by `sedet determine`")


def _read_determinations(folder: Path) -> pl.DataFrame:
    path = folder / DETERMINATIONS
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as e:
        raise UsageError(f"{path}: cannot be read as CSV ({e})") from None
    _missing_columns(path, raw.columns, DETERMINATION_NEEDS)
    text = [c for c in DETERMINATION_NEEDS if c != "percentage"]
    # the profile's own score, where it defines one (the column is there only then); rank and
    # percentile, where the method ranks (older runs may lack them)
    def number(name: str) -> pl.Expr:
        col = pl.col(name).str.strip_chars() if name in raw.columns else pl.lit(None, pl.String)
        return col.cast(pl.Float64, strict=False).alias(name)

    df = raw.select(
        *[pl.col(c).str.replace(_UNSAFE_PREFIX, "$1") for c in text],
        pl.col("percentage").str.strip_chars().cast(pl.Float64, strict=False),
        number("score"), number("rank"), number("percentile"),
    )
    dup = df.filter(pl.col("district_id").is_duplicated())
    if dup.height:
        raise UsageError(f"{path}: district {dup.item(0, 'district_id')!r} has more than one row")
    return df


def _read_factors(folder: Path) -> pl.DataFrame:
    path = folder / FACTORS
    try:
        raw = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as e:
        raise UsageError(f"{path}: cannot be read as Parquet ({e})") from None
    _missing_columns(path, raw.columns, FACTOR_NEEDS)
    return raw.select(
        pl.col("district_id").cast(pl.String), pl.col("factor_order").cast(pl.Int64), pl.col("factor").cast(pl.String),
        pl.col("factor_title").cast(pl.String),
        pl.col("value").cast(pl.Float64, strict=False),  # a public run writes '*' where a value is withheld
        pl.col("points").cast(pl.Float64),
        pl.col("status").cast(pl.String),
    )


def _run_info(folder: Path, manifest: dict, leas: int) -> RunInfo:
    prof = manifest.get("profile")
    if not isinstance(prof, dict):
        prof = {}
    year = manifest.get("school_year")
    run_type = prof.get("run_type")
    return RunInfo(folder=folder, profile_id=prof.get("id"), profile_sha256=prof.get("sha256"),
                   school_year=year if isinstance(year, int) else None, leas=leas,
                   run_type=run_type if isinstance(run_type, str) else None)


# ---------------------------------------------------------------------------------------------------
# The category order


def _categories(info: RunInfo, categories_of: CategoriesOf, warnings: list[str]) -> list[str] | None:
    """The profile's category short names, best first; None (with a warning) when it cannot be loaded."""
    if info.profile_id is None:
        return None
    try:
        shorts, sha256 = categories_of(info.profile_id)
    except SedetError as e:
        warnings.append(f"profile {info.profile_id!r} of {info.folder} cannot be loaded ({e.message.splitlines()[0]}); "
                        "a change of category is shown as 'changed'")
        return None
    if shorts is None:
        warnings.append(f"profile {info.profile_id!r} now has no [determination]; "
                        "a change of category is shown as 'changed'")
        return None
    if info.profile_sha256 and info.profile_sha256 != sha256:
        warnings.append(f"profile {info.profile_id!r} has been edited since the run in {info.folder}; "
                        "the order of its categories is taken from the current file")
    return shorts


def _category_order(old: RunInfo, new: RunInfo, categories_of: CategoriesOf, warnings: list[str]) -> list[str] | None:
    if old.profile_id != new.profile_id:
        warnings.append(f"the runs used different profiles: {old.profile_id or 'unknown'} (old), "
                        f"{new.profile_id or 'unknown'} (new)")
    new_order = _categories(new, categories_of, warnings)
    if old.profile_id == new.profile_id or new_order is None:
        return new_order
    old_order = _categories(old, categories_of, warnings)
    if old_order != new_order:
        if old_order is not None:
            warnings.append("the two profiles have different categories; a change of category is shown as 'changed'")
        return None
    return new_order


# ---------------------------------------------------------------------------------------------------
# The comparison


def _points_text(points: pl.Expr, status: pl.Expr, present: pl.Expr) -> pl.Expr:
    """'2', '0.5', 'n/a' or 'none' (no row for this factor)."""
    whole = points.round(0) == points
    number = pl.when(whole).then(points.cast(pl.Int64).cast(pl.String)).otherwise(points.round(2).cast(pl.String))
    return (pl.when(~present).then(pl.lit("none"))
            .when(status == "n/a").then(pl.lit("n/a"))
            .when(points.is_null()).then(pl.lit("?"))
            .otherwise(number))


def diff_runs(old: Path, new: Path, categories_of: CategoriesOf) -> DiffResult:
    """Compare two run folders (old, then new). Raises UsageError when either is not a determination run.
    `categories_of`: a profile's categories by its id (the order of seriousness)."""
    old, new = Path(old), Path(new)
    for folder in (old, new):
        _check_folder(folder)
    warnings: list[str] = []
    old_det, new_det = _read_determinations(old), _read_determinations(new)
    old_fac, new_fac = _read_factors(old), _read_factors(new)
    old_info = _run_info(old, _read_manifest(old, warnings), old_det.height)
    new_info = _run_info(new, _read_manifest(new, warnings), new_det.height)
    order = _category_order(old_info, new_info, categories_of, warnings)
    severity = {short: i for i, short in enumerate(order or [])}

    # One row per LEA of either run.
    prefixed = lambda df, p: df.select(  # noqa: E731
        "district_id", pl.lit(True).alias(f"in_{p}"),
        *[pl.col(c).alias(f"{p}_{c}") for c in df.columns if c != "district_id"],
    )
    both = prefixed(old_det, "old").join(prefixed(new_det, "new"), on="district_id", how="full", coalesce=True)
    in_old, in_new = pl.col("in_old").fill_null(False), pl.col("in_new").fill_null(False)
    sev = lambda c: pl.col(c).replace_strict(severity, default=None, return_dtype=pl.Int64)  # noqa: E731
    differs = (pl.col("old_category").ne_missing(pl.col("new_category"))
               | pl.col("old_category_label").ne_missing(pl.col("new_category_label")))
    change = (
        pl.when(~in_old).then(pl.lit("new"))
        .when(~in_new).then(pl.lit("gone"))
        .when(~differs).then(pl.lit(None, pl.String))
        .when(sev("new_category") > sev("old_category")).then(pl.lit("worse"))
        .when(sev("new_category") < sev("old_category")).then(pl.lit("better"))
        .otherwise(pl.lit("changed"))
    )
    both = both.with_columns(
        change.alias("change"),
        pl.coalesce("new_district_name", "old_district_name").alias("district_name"),
        (in_old & in_new).alias("compared"),
    )

    # The factors whose points or status differ, for LEAs in both runs whose category changed.
    listed = both.filter(pl.col("change").is_not_null())
    compared_ids = listed.filter(pl.col("compared")).select("district_id", "district_name")
    f_old = old_fac.rename({c: f"old_{c}" for c in old_fac.columns if c not in ("district_id", "factor")})
    f_new = new_fac.rename({c: f"new_{c}" for c in new_fac.columns if c not in ("district_id", "factor")})
    ids = compared_ids.select("district_id")
    f_old = f_old.join(ids, on="district_id", how="semi").with_columns(pl.lit(True).alias("has_old"))
    f_new = f_new.join(ids, on="district_id", how="semi").with_columns(pl.lit(True).alias("has_new"))
    f = (
        f_old.join(f_new, on=["district_id", "factor"], how="full", coalesce=True)
        .join(compared_ids, on="district_id", how="left")
        .with_columns(pl.col("has_old").fill_null(False), pl.col("has_new").fill_null(False))
        .filter(pl.col("old_points").ne_missing(pl.col("new_points"))
                | pl.col("old_status").ne_missing(pl.col("new_status"))
                | (pl.col("has_old") != pl.col("has_new")))
        .with_columns(
            pl.coalesce("new_factor_title", "old_factor_title").alias("factor_title"),
            pl.coalesce("new_factor_order", "old_factor_order").alias("order"),
            (pl.col("factor") + pl.lit(" ")
             + _points_text(pl.col("old_points"), pl.col("old_status"), pl.col("has_old")) + pl.lit(" -> ")
             + _points_text(pl.col("new_points"), pl.col("new_status"), pl.col("has_new"))).alias("moved"),
        )
        .sort("district_id", "order", "factor")
    )
    moved = f.group_by("district_id").agg(pl.col("moved").str.join("; ").alias("factors_moved"))
    factor_changes = f.select(FACTOR_CHANGE_COLUMNS)

    # A change with no factor of the LEA moving: its rank among the others moved (a percentile method
    # places an LEA by where the others fall).
    alone = pl.col("factors_moved").is_null() & pl.col("compared")
    why = (
        pl.when(alone & pl.col("old_percentage").eq_missing(pl.col("new_percentage"))
                & pl.col("old_score").eq_missing(pl.col("new_score")))
        .then(pl.lit("no factor of this LEA changed: it moved because other LEAs moved (its rank or percentile)"))
        .when(alone).then(pl.lit("no factor's points or status changed: its percentage or score changed"))
        .when(pl.col("factors_moved").is_not_null()).then(pl.lit("its factors moved"))
    )
    changes = (
        listed.join(moved, on="district_id", how="left").with_columns(why.alias("why"))
        .with_columns(pl.col("change").replace_strict(CHANGE_ORDER, return_dtype=pl.Int64).alias("_order"))
        .sort("_order", "district_id")
        .select(CHANGE_COLUMNS)
    )
    counts = dict(changes.group_by("change").len().iter_rows())
    compared = both.filter(pl.col("compared")).height
    summary = {
        "compared": compared,
        "changed": counts.get("worse", 0) + counts.get("better", 0) + counts.get("changed", 0),
        "worse": counts.get("worse", 0),
        "better": counts.get("better", 0),
        "unranked": counts.get("changed", 0),
        "new": counts.get("new", 0),
        "gone": counts.get("gone", 0),
    }
    return DiffResult(old=old_info, new=new_info, changes=changes, factor_changes=factor_changes, summary=summary,
                      warnings=warnings, ranked=order is not None)


# ---------------------------------------------------------------------------------------------------
# Showing it


def summary_line(result: DiffResult) -> str:
    s = result.summary
    parts = [f"{s['worse']} worse", f"{s['better']} better"]
    if s["unranked"] or not result.ranked:
        parts.append(f"{s['unranked']} changed (order of categories unknown)")
    return (f"{s['compared']:,} LEAs compared: {s['changed']:,} changed category ({', '.join(parts)}); "
            f"{s['new']:,} new, {s['gone']:,} gone")


def _category_text(label: str | None, percentage: float | None, score: float | None = None,
                   rank: float | None = None, percentile: float | None = None) -> str:
    """'Needs Assistance (62.5%, rank 12, percentile 4.3)', or with the profile's own score
    'Needs Assistance (score 2.4, rank 3)'."""
    parts = [f"score {score:g}"] if score is not None else ([f"{percentage:.1%}"] if percentage is not None else [])
    if rank is not None:
        parts.append(f"rank {rank:g}")
    if percentile is not None:
        parts.append(f"percentile {percentile:g}")
    return (label or "not determined") + (f" ({', '.join(parts)})" if parts else "")


CHANGE_STYLE = {"worse": "red", "better": "green", "new": "cyan", "gone": "yellow", "changed": "magenta"}


def print_diff(console, result: DiffResult) -> None:
    """A table of the LEAs that changed, then the summary line (warnings first, on the same console)."""
    for w in result.warnings:
        console.print(f"warning: {w}", markup=False)
    title = f"old: {result.old.describe()}\nnew: {result.new.describe()}"
    if result.changes.height == 0:
        console.print(title, markup=False)
        console.print("no LEA changed category", markup=False)
    else:
        t = Table(title=escape(title), title_justify="left")
        t.add_column("district", max_width=44, overflow="fold")
        t.add_column("old", max_width=40, overflow="fold")
        t.add_column("new", max_width=40, overflow="fold")
        t.add_column("change")
        t.add_column("factors that moved", overflow="fold")
        for r in result.changes.iter_rows(named=True):
            district = r["district_id"] + (f" {r['district_name']}" if r["district_name"] else "")
            old = "" if r["change"] == "new" else _category_text(
                r["old_category_label"], r["old_percentage"], r["old_score"], r["old_rank"], r["old_percentile"])
            new = "" if r["change"] == "gone" else _category_text(
                r["new_category_label"], r["new_percentage"], r["new_score"], r["new_rank"], r["new_percentile"])
            style = CHANGE_STYLE.get(r["change"], "")
            t.add_row(escape(district), escape(old), escape(new), f"[{style}]{escape(r['change'])}[/]",
                      escape(r["factors_moved"] or r["why"] or ""))
        console.print(t)
    console.print(summary_line(result), markup=False)


def write_diff_workbook(result: DiffResult, path: Path) -> None:
    """Changes, Factor changes and Summary sheets; the same bytes for the same result. Each prints one
    page wide, its header repeated, with the two runs in the footer."""
    book = new_workbook(Page(f"changes from {result.old.footer()} to {result.new.footer()}"))
    c = result.changes
    scored = c.select(pl.col("old_score").is_not_null().any() | pl.col("new_score").is_not_null().any()).item()
    ranks = c.select(pl.col("old_rank").is_not_null().any() | pl.col("new_rank").is_not_null().any()).item()
    change_cols = [
        Col("district_id", "District ID", 10),
        Col("district_name", "District", 24, wrap=True),
        Col("old_category_label", "Old determination", 20, wrap=True),
        Col("new_category_label", "New determination", 20, wrap=True),
        Col("old_percentage", "Old percentage", 11, PERCENT),
        Col("new_percentage", "New percentage", 11, PERCENT),
        *([Col("old_score", "Old score", 8, "0.00"), Col("new_score", "New score", 8, "0.00")]
          if scored else []),
        *([Col("old_rank", "Old rank", 7, "0"), Col("new_rank", "New rank", 7, "0"),
           Col("old_percentile", "Old percentile", 10, "0.0"), Col("new_percentile", "New percentile", 10, "0.0")]
          if ranks else []),
        Col("change", "Change", 9),
        Col("factors_moved", "Factors that moved", 30, wrap=True),
        Col("why", "Why", 34, wrap=True),
    ]
    table_sheet(book, "Changes", change_cols, c)
    factor_cols = [
        Col("district_id", "District ID", 10),
        Col("district_name", "District", 26, wrap=True),
        Col("factor", "Factor", 8),
        Col("factor_title", "Factor title", 40, wrap=True),
        Col("old_points", "Old points", 9, DECIMAL),
        Col("new_points", "New points", 9, DECIMAL),
        Col("old_value", "Old value", 11),
        Col("new_value", "New value", 11),
        Col("old_status", "Old status", 9),
        Col("new_status", "New status", 9),
    ]
    fc = result.factor_changes
    table_sheet(book, "Factor changes", factor_cols, fc)
    s = result.summary
    items: list[tuple[str, object]] = [
        ("Old run", str(result.old.folder)),
        ("Old profile", result.old.profile_id),
        ("Old school year", result.old.school_year),
        ("New run", str(result.new.folder)),
        ("New profile", result.new.profile_id),
        ("New school year", result.new.school_year),
        ("LEAs in the old run", result.old.leas),
        ("LEAs in the new run", result.new.leas),
        ("LEAs compared (in both runs)", s["compared"]),
        ("Changed category", s["changed"]),
        ("Worse", s["worse"]),
        ("Better", s["better"]),
        ("Changed, order of categories unknown", s["unranked"]),
        ("New (in the new run only)", s["new"]),
        ("Gone (in the old run only)", s["gone"]),
        *[("Warning", w) for w in result.warnings],
    ]
    # Counts are shown as numbers: a text that reads as a number in a column with a format is one.
    summary = pl.DataFrame({"item": [i for i, _ in items], "value": [str(v) for _, v in items]})
    table_sheet(book, "Summary", [Col("item", "Item", 36, wrap=True), Col("value", "Value", 70, "0", wrap=True)],
                summary)
    save_deterministic(book, path)
