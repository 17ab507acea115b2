"""Per-district workbooks (`--per-district`): districts/<district_id>.xlsx, ready to attach to a letter.

Each workbook has a "Determination" sheet (the category, the tier and what it requires, points,
percentage, rank, the conditions and overrides with their reasons, and every factor with the
LEA's value beside the state's) and a "Measures" sheet (the LEA's measure rows for the year,
with the counts behind each value).

Speed: the per-LEA frames are cut once with `partition_by`; the Measures rows of many LEAs are
rendered as sheet XML in one query (report/sheet_xml.py); styles are built once per workbook;
workbooks are written write-only, in parallel processes when there are many.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path

import polars as pl

from sedet.io.output import signals_held
from sedet.model import MeasureInfo, RunResult, ScoreInfo
from sedet.report.labels import score_format, titles, value_format, value_formats
from sedet.report.sheet_xml import StyleRegistry, new_workbook, rendered_table_sheet, rows_xml_by, save_deterministic
from sedet.report.xlsx import (
    BOLD,
    DECIMAL,
    INTEGER,
    PERCENT,
    TITLE_FONT,
    Col,
    CountedSheet,
    category_fills,
    cell,
    filled,
    first_row,
    landscape,
    text_cell,
)

PARALLEL_FROM = 64  # below this many LEAs, one process is faster than starting workers
CHUNK = 500  # LEAs whose Measures rows are rendered at once


@dataclass
class Context:
    """What every district workbook needs from the run (small and picklable)."""

    title: str
    year: int
    run_type: str
    n_ranked: int
    shorts: list[str]
    formats: dict[str, str]  # the number format of each measure's values
    score: ScoreInfo | None  # the profile's own score, when it defines one
    styles: StyleRegistry  # the styles the pre-rendered Measures rows use, registered first in each workbook


def safe_name(district_id: str) -> str:
    """A file name for a district id: the id itself when it is made of letters, digits, '-', '_'
    and '.'; otherwise those characters with '_' for the rest and a short digest of the id, so
    that two ids never share a file ("A/1" -> "A_1-<digest>", "A_1" -> "A_1")."""
    name = re.sub(r"[^0-9A-Za-z._-]", "_", district_id).strip(".") or "_"
    if name == district_id:
        return name
    return f"{name}-{hashlib.sha256(district_id.encode('utf-8')).hexdigest()[:8]}"


def write_district_workbooks(result: RunResult, out: Path, measures: pl.DataFrame | None = None,
                             factors: pl.DataFrame | None = None) -> list[Path]:
    """Write districts/<id>.xlsx for every LEA with a determination; return the paths.

    `measures` and `factors` are the tables to lay out (already suppressed for a public release);
    by default the run's own."""
    dets = result.determinations
    if dets is None:
        return []
    folder = out / "districts"
    folder.mkdir()
    m = measures if measures is not None else result.measures
    m = m.filter(pl.col("district_id").is_not_null() & (pl.col("school_year") == result.year))
    f = (factors if factors is not None else dets.factors).join(dets.factor_state, on="factor", how="left")
    table = dets.table
    ctx = Context(
        title=result.profile.title,
        year=result.year,
        run_type=result.profile.run_type,
        n_ranked=dets.distribution.ranked,
        shorts=dets.method.shorts,
        formats={name: value_format(info) for name, info in result.measure_info.items()},
        score=dets.method.score,
        styles=StyleRegistry(),
    )
    titled = _titled(m, result.measure_info)
    ctx.styles.prime(MEASURE_COLS, titled)  # every style the rows use, before any row is rendered
    f_by = f.partition_by("district_id", as_dict=True, maintain_order=True)
    empty_f = f.clear()
    rows = {row["district_id"]: row for row in table.iter_rows(named=True)}
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
            jobs = [(paths[d], rows[d], f_by.get((d,), empty_f), n_by.get(d, 0), xml_by.get(d, b"")) for d in chunk]
            if pool is None:
                _write_many(ctx, jobs)
                continue
            submitted = [pool.submit(_write_many, ctx, jobs[i::workers]) for i in range(workers)]
            for done in pending:
                done.result()
            pending = submitted
        for done in pending:
            done.result()
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
    for path, row, f, n, xml in jobs:
        write_one(ctx, path, row, f, n, xml)


MEASURE_COLS = [
    Col("measure", "Measure", 22),
    Col("subject", "Subject", 8),
    Col("grade_band", "Grades", 7),
    Col("assessment", "Assessment", 10),
    Col("race_ethnicity", "Group", 7),
    Col("category", "Category", 20),
    Col("numerator", "Numerator", 11, INTEGER),
    Col("denominator", "Denominator", 11, INTEGER),
    Col("value", "Value", 10, fmt_by="value_format"),
    Col("status", "Status", 13),
    Col("flag", "Result", 16),
    Col("note", "How it was computed", 90),
]


def _measures_intro(name: str, year: int) -> list[str]:
    return [f"{name}: every measure row for school year {year}, with the counts behind each value"]


def _titled(m: pl.DataFrame, infos: Mapping[str, MeasureInfo]) -> pl.DataFrame:
    """The measure rows as the Measures sheets show them: by LEA, in a fixed order, with measure titles
    and each value's number format."""
    rows = m.sort("district_id", "measure", "subject", "grade_band", "assessment", "category", "race_ethnicity",
                  nulls_last=True)
    return rows.with_columns(value_formats(rows, infos)).with_columns(
        pl.col("measure").replace_strict(titles(infos), default=pl.col("measure")).alias("measure"))


def measure_rows(titled: pl.DataFrame, styles: StyleRegistry) -> tuple[dict, dict]:
    """LEAs' Measures rows (from `_titled`), rendered in one query: ({district_id: sheet XML},
    {district_id: rows})."""
    xml = rows_xml_by(MEASURE_COLS, titled, "district_id", first_row(_measures_intro("", 0)), styles)
    return xml, dict(titled.group_by("district_id").len().iter_rows())


def write_one(ctx: Context, path: Path, row: dict, f: pl.DataFrame, n_measures: int, measures_xml: bytes) -> None:
    """One LEA's workbook. Its Measures rows come rendered (`measure_rows`), `n_measures` of them."""
    book = new_workbook()
    sheet = book.create_sheet("Determination")
    ctx.styles.register(sheet)  # before any other style: the rendered rows use these indexes
    ws = CountedSheet(sheet)
    landscape(ws)
    for col, width in zip("ABCDEFG", (60, 20, 24, 9, 9, 18, 70), strict=True):
        ws.column_dimensions[col].width = width
    name = row["district_name"] or row["district_id"]
    ws.append([text_cell(ws, ctx.title, TITLE_FONT)])
    year = f"{ctx.year - 1}-{str(ctx.year)[-2:]}"
    ws.append([text_cell(ws, f"{name} (district {row['district_id']}), school year {year}; "
                             f"{ctx.run_type} determination")])
    ws.append([])
    _determination(ws, ctx, row)
    ws.append([])
    if f.height:
        _factors(ws, ctx, f)
    if n_measures:
        rendered_table_sheet(book, "Measures", MEASURE_COLS, n_measures, measures_xml,
                             intro=_measures_intro(name, ctx.year))
    save_deterministic(book, path)


def _determination(ws: CountedSheet, ctx: Context, row: dict) -> None:
    """The category, the tier and what it requires, points, percentage, rank, level, and the reasons."""
    fill = category_fills(ctx.shorts).get(row["category"]) if row["category"] else None
    ws.append([text_cell(ws, "Determination", BOLD), filled(ws, row["category_label"] or row["status"], fill)])
    if row["tier"]:
        ws.append([text_cell(ws, "Support tier", BOLD), cell(ws, row["tier"])])
    if row["tier_text"]:
        # on a row of its own, in the wide first column: long text runs on over the empty cells
        ws.append([text_cell(ws, "What the tier means", BOLD)])
        ws.append([text_cell(ws, row["tier_text"])])
    if ctx.score is not None and row.get("score") is not None:
        ws.append([text_cell(ws, f"{ctx.score.name} (scale {ctx.score.scale_min:g}-{ctx.score.scale_max:g})"),
                   cell(ws, row["score"], score_format(ctx.score))])
    if row["percentage"] is not None:
        ws.append([text_cell(ws, "Points earned"), cell(ws, row["points_earned"], DECIMAL)])
        ws.append([text_cell(ws, "Points possible"), cell(ws, row["points_possible"], DECIMAL)])
        ws.append([text_cell(ws, "Determination percentage"), cell(ws, row["percentage"], PERCENT)])
    if row["rank"] is not None:
        ws.append([text_cell(ws, f"Rank among {ctx.n_ranked} LEAs"), cell(ws, row["rank"], INTEGER)])
        ws.append([text_cell(ws, "Percentile"), cell(ws, row["percentile"], DECIMAL)])
    if row["accountability_level"] is not None:
        ws.append([text_cell(ws, "Accountability level"), cell(ws, row["accountability_level"], INTEGER)])
    for reason in (row["reasons"].split("; ") if row["reasons"] else []):
        ws.append([text_cell(ws, "Condition or override", BOLD), cell(ws, reason)])


def _factors(ws: CountedSheet, ctx: Context, f: pl.DataFrame) -> None:
    """Every factor with the LEA's value beside the state's (factor_state), points and why n/a."""
    ws.append([text_cell(ws, "How the determination was made", BOLD)])
    ws.append([text_cell(ws, h, BOLD) for h in ("Factor", "District", "State", "Points", "Possible", "Flags", "Notes")])
    for r in f.sort("factor_order").iter_rows(named=True):
        fmt = ctx.formats.get(r["measure"] or "", DECIMAL)
        ok = r["status"] == "ok"
        state = r["state_value"]
        ws.append([
            cell(ws, f"{r['factor']}: {r['factor_title']}"),
            cell(ws, r["value"], fmt) if r["value"] is not None
            else cell(ws, (r["flags"] or "").replace("_", " ") if ok else "n/a"),
            cell(ws, state, fmt) if state is not None
            else cell(ws, f"{r['leas_below_max']} of {r['leas_applicable']} LEAs flagged"),
            cell(ws, r["points"], DECIMAL) if r["points"] is not None else cell(ws, "n/a"),
            cell(ws, r["possible"], DECIMAL),
            cell(ws, r["flags"] or ""),
            cell(ws, "" if ok else (r["note"] or "n/a")),
        ])
