"""Per-district workbooks (`--per-district`): districts/<district_id>.xlsx, ready to attach to a letter.

Each workbook has a "Determination" sheet, page 1, which reads like the letter: the category (and,
where a condition or an override placed it, the category the method computed), the conditions and
overrides with their reasons, the tier and what it requires, points, percentage and rank, in words
with their units; then the table of factors: Factor, District, State, Target, Points ("1 of 2"),
Why, in the words of sedet/words.py, the letter's own. A "Measures" sheet holds the LEA's measure
rows for the year, with the counts behind each value and their statuses and verdicts in words.
Both print on US Letter, one page wide at 8 pt or more, with the LEA and the run in the footer.

Speed: every LEA's factors are put in words in one pass over the factor table, and the workers get
those words, not frames; the Measures rows of many LEAs are rendered as sheet XML in one query
(report/sheet_xml.py); styles are module constants, built once; workbooks are written write-only,
in parallel processes when there are many. The print settings and page 1's words cost about 2 ms a
workbook more than the compact grid did (300 LEAs: 5.0-5.5 s before, 5.5-6.1 s after, end to end).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import PatternFill

from sedet.io.output import signals_held
from sedet.model import QUALIFIERS, MeasureInfo, RunResult, ScoreInfo, school_year_text
from sedet.report.labels import titles, value_formats
from sedet.report.sheet_xml import StyleRegistry, new_workbook, rendered_table_sheet, rows_xml_by, save_deterministic
from sedet.report.xlsx import (
    BOLD,
    HEADER_FILL,
    HEADER_FONT,
    INTEGER,
    LINE_PT,
    PAD_PX,
    PT_PER_CM,
    PX_PER_UNIT,
    TITLE_FONT,
    TITLE_PT,
    WRAP,
    Col,
    CountedSheet,
    Page,
    Pager,
    category_fills,
    cell,
    first_row,
    fit_columns,
    merge,
    print_setup,
    row_height,
    run_footer,
    styled,
    text_cell,
    text_lines,
)
from sedet.words import (
    FactorWords,
    Trend,
    flag_words,
    lea_factor_words,
    lea_trends,
    points_text,
    status_words,
    value_text,
)

PARALLEL_FROM = 64  # below this many LEAs, one process is faster than starting workers
CHUNK = 500  # LEAs whose Measures rows are rendered at once
PIECE = 25  # LEAs a worker writes at a time (a progress bar moves in steps this big)


@dataclass
class Context:
    """What every district workbook needs from the run (small and picklable)."""

    title: str
    profile_id: str
    year: int
    run_type: str
    n_ranked: int
    labels: dict[str, str]  # category short name -> label, best first
    score: ScoreInfo | None  # the profile's own score, when it defines one
    styles: StyleRegistry  # the styles the pre-rendered Measures rows use, registered first in each workbook
    fills: dict[str, PatternFill]  # category short name -> its fill (xlsx.category_fills), built once
    decimals: int = 1  # the profile's display decimals


def safe_name(district_id: str) -> str:
    """A file name for a district id: the id itself when it is made of letters, digits, '-', '_'
    and '.'; otherwise those characters with '_' for the rest and a short digest of the id, so
    that two ids never share a file ("A/1" -> "A_1-<digest>", "A_1" -> "A_1")."""
    name = re.sub(r"[^0-9A-Za-z._-]", "_", district_id).strip(".") or "_"
    if name == district_id:
        return name
    return f"{name}-{hashlib.sha256(district_id.encode('utf-8')).hexdigest()[:8]}"


def write_district_workbooks(result: RunResult, out: Path, measures: pl.DataFrame | None = None,
                             factors: pl.DataFrame | None = None,
                             on_done: Callable[[int], None] | None = None, public: bool = False) -> list[Path]:
    """Write districts/<id>.xlsx for every LEA with a determination; return the paths.

    `measures` and `factors` are the tables to lay out (already suppressed for a public release);
    by default the run's own. `on_done(n)`: n more workbooks are written (for a progress bar)."""
    done_n = on_done or (lambda n: None)
    dets = result.determinations
    if dets is None:
        return []
    folder = out / "districts"
    folder.mkdir()
    m = measures if measures is not None else result.measures
    m = m.filter(pl.col("district_id").is_not_null() & (pl.col("school_year") == result.year))
    ctx = Context(
        title=result.profile.title,
        profile_id=result.profile.id,
        year=result.year,
        run_type=result.profile.run_type,
        n_ranked=dets.distribution.ranked,
        labels={c.short: c.label for c in dets.method.categories},
        score=dets.method.score,
        styles=StyleRegistry(),
        fills=category_fills(dets.method.shorts),
        decimals=result.profile.display_decimals,
    )
    titled = _titled(m, result.measure_info)
    ctx.styles.prime(MEASURE_COLS, titled)  # every style the rows use, before any row is rendered
    words = lea_factor_words(result, factors)  # sedet/words.py: what the letter and explain say too
    # the years before: a public release shows their categories only (their counts are not checked for
    # small cells)
    trends = lea_trends(result, with_values=not public)
    rows = {row["district_id"]: row for row in dets.table.iter_rows(named=True)}
    paths = {d: folder / f"{safe_name(d)}.xlsx" for d in rows}
    ids = sorted(rows)
    parallel = len(ids) >= PARALLEL_FROM and (os.cpu_count() or 1) > 1
    workers = (os.cpu_count() or 2) if parallel else 1
    # LEAs go in chunks: a chunk's rows are rendered in one query while the workers write the
    # previous chunk, and no more than two chunks of rendered rows are held at once.
    pool_or_none = worker_pool(workers) if parallel else None
    with pool_or_none or nullcontext() as pool:
        pending: list = []
        for k in range(0, len(ids), CHUNK):
            chunk = ids[k:k + CHUNK]
            xml_by, n_by = measure_rows(titled.filter(pl.col("district_id").is_in(chunk)), ctx.styles)
            jobs = [(paths[d], rows[d], words.get(d, []), n_by.get(d, 0), xml_by.get(d, b""), trends.get(d))
                    for d in chunk]
            pieces = [jobs[i:i + PIECE] for i in range(0, len(jobs), PIECE)]
            if pool is None:
                for piece in pieces:
                    _write_many(ctx, piece)
                    done_n(len(piece))
                continue
            submitted = [(pool.submit(_write_many, ctx, piece), len(piece)) for piece in pieces]
            for done, n in pending:
                done.result()
                done_n(n)
            pending = submitted
        for done, n in pending:
            done.result()
            done_n(n)
    return [paths[d] for d in rows]


# Worker processes live no longer than the run: the parent stops them when it stops (an error,
# Ctrl-C, SIGTERM, SIGHUP), and the kernel kills them when the parent dies (even by kill -9). They
# ignore the signals a terminal or a service manager sends to the whole process group, so that
# only the parent handles them (and no worker prints a traceback).
WORKER_IGNORES = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)
PR_SET_PDEATHSIG = 1


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers die with this process; on an exception (an interrupt included)
    they are killed at once rather than left to finish the queued work."""
    with _blocked():
        # multiprocessing's resource tracker starts here if not yet running: it ignores SIGINT and
        # SIGTERM itself, and inherits SIGHUP blocked (it ends when the run's processes are gone).
        resource_tracker.ensure_running()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_WorkerContext(), initializer=_worker_init,
                               initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        _stop(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        _started.clear()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Kill every worker started (also one an interrupt caught before the pool had noted it), then
    shut the pool down."""
    processes = {*(getattr(pool, "_processes", None) or {}).values(), *_started}
    for p in processes:
        p.kill()
    for p in processes:
        p.join()
    # An interrupt inside submit() may have caught the pool's own thread being started: it cannot
    # be joined then, and ends by itself now that the workers are gone.
    with suppress(RuntimeError):
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _blocked() -> Iterator[None]:
    """WORKER_IGNORES blocked in this thread (a process started meanwhile inherits the mask); they
    still reach this process through its other threads, or when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_IGNORES)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class _WorkerProcess(SpawnProcess):
    def start(self) -> None:
        # An interrupt waits until the worker has started and is noted in `_started` (so that it is
        # stopped with the others); the worker starts with the signals it ignores blocked, so one
        # that arrives before `_worker_init` waits, and is then discarded.
        with signals_held(), _blocked():
            super().start()
            _started.append(self)


_started: list[_WorkerProcess] = []  # the workers of the current pool


class _WorkerContext(SpawnContext):
    Process = _WorkerProcess


def _worker_init(parent: int) -> None:
    """In each worker, first: ignore the group's signals, and die with the parent."""
    for sig in WORKER_IGNORES:
        signal.signal(sig, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_IGNORES)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above: nobody to work for
        os._exit(1)


def _write_many(ctx: Context, jobs: list) -> None:
    for path, row, f, n, xml, trend in jobs:
        write_one(ctx, path, row, f, n, xml, trend)


# The Measures sheet: the qualifiers of a row in one column ("ELA, grades 3-8, REG"; "postsecondary
# goals"), the free-text columns wrapped, so that it prints one page wide at 8 pt or more.
MEASURE_COLS = fit_columns([
    Col("measure", "Measure", 26, wrap=True),
    Col("breakdown", "Breakdown", 16, wrap=True),
    Col("numerator", "Numerator", 10, INTEGER),
    Col("denominator", "Denominator", 11, INTEGER),
    Col("value", "Value", 9, fmt_by="value_format"),
    Col("status", "Status", 13, wrap=True),
    Col("flag", "Result", 13, wrap=True),
    Col("note", "How it was computed", 50, wrap=True),
])


def _measures_intro(name: str, year: int) -> list[str]:
    return [f"{name}: every measure row for school year {year}, with the counts behind each value"]


def _titled(m: pl.DataFrame, infos: Mapping[str, MeasureInfo]) -> pl.DataFrame:
    """The measure rows as the Measures sheets show them: by LEA, in a fixed order, with measure titles,
    each value's number format, the qualifiers in one column, and statuses and verdicts in words."""
    rows = m.sort("district_id", "measure", "subject", "grade_band", "assessment", "category", "race_ethnicity",
                  nulls_last=True)

    def words(column: str, say) -> pl.Expr:
        codes = rows.get_column(column).drop_nulls().unique().to_list()
        return pl.col(column).replace_strict({c: say(c) for c in codes}, default=None, return_dtype=pl.String)

    shown = [pl.lit("grades ") + pl.col(q) if q == "grade_band" else pl.col(q) for q in QUALIFIERS]
    return rows.with_columns(value_formats(rows, infos)).with_columns(
        pl.col("measure").replace_strict(titles(infos), default=pl.col("measure")).alias("measure"),
        pl.concat_str(shown, separator=", ", ignore_nulls=True).str.replace_all("_", " ", literal=True)
        .alias("breakdown"),
        words("status", status_words).alias("status"),
        words("flag", flag_words).alias("flag"),
    )


def measure_rows(titled: pl.DataFrame, styles: StyleRegistry) -> tuple[dict, dict]:
    """LEAs' Measures rows (from `_titled`), rendered in one query: ({district_id: sheet XML},
    {district_id: rows})."""
    xml = rows_xml_by(MEASURE_COLS, titled, "district_id", first_row(_measures_intro("", 0)), styles)
    return xml, dict(titled.group_by("district_id").len().iter_rows())


# Page 1 ("Determination"): the factor table's columns; above it, a label in column A and its text
# across B-F.
PAGE_COLS = (("Factor", 32), ("District", 12), ("State", 18), ("Target", 30), ("Points", 9), ("Why", 46))
PAGE_WIDTHS = tuple(w for _, w in PAGE_COLS)
VALUE_WIDTH = sum(PAGE_WIDTHS[1:]) + (len(PAGE_WIDTHS) - 2) * PAD_PX / PX_PER_UNIT  # B-F, merged
PAGE_WIDTH = sum(PAGE_WIDTHS) + (len(PAGE_WIDTHS) - 1) * PAD_PX / PX_PER_UNIT


def write_one(ctx: Context, path: Path, row: dict, words: list[FactorWords], n_measures: int,
              measures_xml: bytes, trend: Trend | None = None) -> None:
    """One LEA's workbook: its factors in words (words.lea_factor_words), the years before
    (words.lea_trends), its Measures rows rendered (`measure_rows`), `n_measures` of them."""
    name = row["district_name"] or row["district_id"]
    book = new_workbook(Page(run_footer(ctx.profile_id, ctx.run_type, ctx.year), left=f"{name} ({row['district_id']})"))
    sheet = book.create_sheet("Determination")
    ctx.styles.register(sheet)  # before any other style: the rendered rows use these indexes
    ws = CountedSheet(sheet)
    for i, width in enumerate(PAGE_WIDTHS):
        ws.column_dimensions["ABCDEF"[i]].width = width
    print_setup(sheet, book.page, PAGE_WIDTHS, (1, 2))
    ws.append([text_cell(ws, ctx.title, TITLE_FONT)], height=TITLE_PT)
    lea = (f"{name} (district {row['district_id']}), school year {school_year_text(ctx.year)}; "
           f"{ctx.run_type} determination")
    lines = text_lines(lea, PAGE_WIDTH)  # not bold
    if lines > 1:
        merge(ws, 2, 1, len(PAGE_WIDTHS))
    ws.append([styled(ws, lea, align=WRAP if lines > 1 else None)], height=row_height(lines))
    ws.append([])
    _determination(ws, ctx, row)
    if row.get("prior_category_label"):
        ws.append([])
        _pair(ws, "Last year", _prior(row))
    if words:
        ws.append([])
        _factors(ws, words)
    if trend is not None:
        _over_the_years(book, ctx, trend)
    if n_measures:
        rendered_table_sheet(book, "Measures", MEASURE_COLS, n_measures, measures_xml,
                             intro=_measures_intro(name, ctx.year))
    save_deterministic(book, path)


def _pair(ws: CountedSheet, label: str, text: str, fill=None) -> None:
    """A label in column A and its text across B-F: merged and wrapped where it needs more than one
    line, or has a fill (one line runs on over the empty cells beside it)."""
    label_lines = text_lines(label, PAGE_WIDTHS[0], bold=True)
    lines = max(label_lines, text_lines(text, VALUE_WIDTH))
    wide = lines > 1 or fill is not None
    if wide:
        merge(ws, ws.rows + 1, 2, len(PAGE_WIDTHS))
    ws.append([styled(ws, label, font=BOLD, align=WRAP if label_lines > 1 else None),
               styled(ws, text, fill=fill, align=WRAP if wide else None)], height=row_height(lines))


def _determination(ws: CountedSheet, ctx: Context, row: dict) -> None:
    """The category (and the one the method computed, where a condition or an override placed it),
    the reasons, the tier and what it requires, score, points, percentage, rank, level: in words."""
    fill = ctx.fills.get(row["category"]) if row["category"] else None
    _pair(ws, "Determination", row["category_label"] or row["status"], fill)
    if row["placed_by"] and row["placed_by"] != "method":
        _pair(ws, "Category the method computed", _computed(ctx, row))
    for reason in (row["reasons"].split("; ") if row["reasons"] else []):
        _pair(ws, "Condition or override", reason)
    if row["tier"]:
        _pair(ws, "Support tier", row["tier"])
    if row["tier_text"]:
        _pair(ws, "What the tier means", row["tier_text"])
    if ctx.score is not None and row.get("score") is not None:
        _pair(ws, ctx.score.name,
              f"{ctx.score.text(row['score'])} on a scale of {ctx.score.scale_min:g} to {ctx.score.scale_max:g}")
    if row["percentage"] is not None:
        _pair(ws, "Points", f"{points_text(row['points_earned'])} of {points_text(row['points_possible'])} "
                            "points possible")
        _pair(ws, "Determination percentage", value_text(row["percentage"], "rate", ctx.decimals))
    if row["rank"] is not None:
        _pair(ws, "Rank", f"{row['rank']} of {ctx.n_ranked} LEAs ranked (1 is the highest)")
        _pair(ws, "Percentile", f"{row['percentile']:.{ctx.decimals}f}")
    if row["accountability_level"] is not None:
        _pair(ws, "Accountability level", str(row["accountability_level"]))


def _prior(row: dict) -> str:
    """The prior year's category, its percentage or score, and where it comes from."""
    figures = [value_text(row["prior_percentage"], "rate", 1) if row.get("prior_percentage") is not None else "",
               f"score {row['prior_score']:g}" if row.get("prior_score") is not None else ""]
    said = ", ".join(f for f in figures if f)
    source = ("the state's record of last year's determinations" if row.get("prior_source") == "history"
              else "last year's data placed by this year's method")
    return f"{row['prior_category_label']}" + (f" ({said})" if said else "") + f"; from {source}"


TREND_WIDTHS = [40.0, 14.0, 14.0, 14.0, 14.0, 14.0]  # the first column, then one per school year (at most five)
TREND_CHART_CM = (16, 7)


def _over_the_years(book, ctx: Context, t: Trend) -> None:
    """The category, percentage and each factor's value and points in every school year placed, with a
    chart of each factor's points over the years."""
    ws = CountedSheet(book.create_sheet("Over the years"))
    widths = TREND_WIDTHS[:1 + len(t.years)]
    for i, width in enumerate(widths):
        ws.column_dimensions["ABCDEF"[i]].width = width
    print_setup(ws.sheet, book.page, widths, (1, 2))
    ws.pager = Pager(ws.sheet, widths, title_pt=2 * LINE_PT)
    ws.append([text_cell(ws, "Each school year placed by this year's method on that year's data", BOLD)])
    ws.append([styled(ws, "", font=HEADER_FONT, fill=HEADER_FILL),
               *[styled(ws, school_year_text(y), font=HEADER_FONT, fill=HEADER_FILL) for y in t.years]])
    ws.append([text_cell(ws, "Determination", BOLD), *[styled(ws, c, fill=None, align=WRAP) for c in t.categories]],
              height=row_height(max(text_lines(c, TREND_WIDTHS[1]) for c in t.categories)))
    ws.append([text_cell(ws, "Determination percentage", BOLD),
               *[value_text(p, "rate", ctx.decimals) if p is not None else "" for p in t.percentages]])
    if not t.factors:
        ws.append([text_cell(ws, "The factors' values of earlier years are not in a public release.")])
        return
    first = ws.rows + 2
    titles = [(f"{r.id}: {r.title}", text_lines(f"{r.id}: {r.title}", TREND_WIDTHS[0])) for r in t.factors]

    def title_cell(text: str, lines: int) -> Any:  # plain where one line holds it: a styled cell costs more
        return styled(ws, text, align=WRAP) if lines > 1 else cell(ws, text)

    ws.append([text_cell(ws, "Points per factor", BOLD)])
    for r, (title, lines) in zip(t.factors, titles, strict=True):
        ws.append([title_cell(title, lines), *r.points], height=row_height(lines))
    last = ws.rows
    ws.append([])
    ws.append([text_cell(ws, "Value per factor", BOLD)])
    for r, (title, lines) in zip(t.factors, titles, strict=True):
        ws.append([title_cell(title, lines), *[cell(ws, v) for v in r.values]], height=row_height(lines))
    if len(t.years) > 1:
        chart = LineChart()
        chart.title = "Points per factor"
        chart.width, chart.height = TREND_CHART_CM
        if chart.legend is not None:
            chart.legend.position = "r"
        chart.add_data(Reference(ws.sheet, min_col=2, max_col=1 + len(t.years), min_row=first, max_row=last),
                       from_rows=True, titles_from_data=False)
        for line, r in zip(chart.series, t.factors, strict=False):
            line.tx = SeriesLabel(v=r.id)
            line.smooth = False
        chart.set_categories(Reference(ws.sheet, min_col=2, max_col=1 + len(t.years), min_row=2, max_row=2))
        ws.append([])
        rows = math.ceil(TREND_CHART_CM[1] * PT_PER_CM / LINE_PT) + 1  # the rows the chart covers
        ws.pager.keep_together(rows * LINE_PT)  # the chart on one page
        ws.add_chart(chart, f"A{ws.rows + 1}")
        for _ in range(rows):
            ws.append([])


def _computed(ctx: Context, row: dict) -> str:
    """What the method computed, and what placed the category instead."""
    placed = row["placed_by"]
    how = "an override (a case-by-case decision)" if placed == "override" else placed
    if row["base"] is None:
        return f"none (the method placed no category); the category was placed by {how}"
    return f"{ctx.labels.get(row['base'], row['base'])}; the category was then placed by {how}"


def _factors(ws: CountedSheet, words: list[FactorWords]) -> None:
    """Every factor as the letter's table shows it: Factor, District, State, Target, Points, Why."""
    ws.append([text_cell(ws, "How the determination was made", BOLD)])
    ws.append([styled(ws, h, font=HEADER_FONT, fill=HEADER_FILL, align=WRAP) for h, _ in PAGE_COLS],
              height=row_height(max(text_lines(h, w, bold=True) for h, w in PAGE_COLS)))
    for w in words:
        texts = [f"{w.id}: {w.title}", w.value or "\u2014", w.state, w.target, w.points, w.reason]
        lines = max(text_lines(t, width) for t, width in zip(texts, PAGE_WIDTHS, strict=True))
        ws.append([styled(ws, t, align=WRAP) for t in texts], height=row_height(lines))
