"""The `sedet` command: a thin layer that turns options into library calls.

Exit codes (README): 0 success, 1 invalid data, 2 usage or profile error, 3 output could not be
written, 70 internal error (a bug in sedet), 128 + the signal's number when stopped by SIGHUP (129),
SIGINT (130) or SIGTERM (143). A user's mistake never prints a traceback, and no traceback ever
prints local variables (they may hold student data).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from sedet import __version__, runtime
from sedet.errors import DEFAULT_LIMIT, EXIT_INTERNAL, BundleError, SedetError, UsageError
from sedet.progress import SILENT, Steps

if TYPE_CHECKING:
    from sedet.model import RunResult

# polars and the rest of sedet are imported by the commands that use them (`sedet --help` starts
# without them, in under a tenth of a second, and polars' allocator options are set before it loads).

app = typer.Typer(
    name="sedet",
    help="IDEA Part B LEA determinations from a state's district exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
profiles_app = typer.Typer(help="List the profiles, or show one with its parameters.", invoke_without_command=True,
                           pretty_exceptions_show_locals=False, pretty_exceptions_enable=False)
app.add_typer(profiles_app, name="profiles")

# Without a terminal (cron, a pipe) Rich would lay tables out 80 columns wide and fold cells.
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200)
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)

ProfileOpt = Annotated[str, typer.Option(
    "--profile", "-p", help="profile name (see `sedet profiles`) or path to a .toml file")]
EncodingOpt = Annotated[str | None, typer.Option(
    "--encoding", help="encoding of CSV files (default UTF-8, with or without BOM), e.g. latin-1")]
YearOpt = Annotated[int | None, typer.Option(
    "--year", help="school year to determine, as the spring year (2012 = 2011-12); default: the latest")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="stop listing problems after this many")]


def handled(fn: Callable) -> Callable:
    """Map sedet's errors to a message and an exit code; anything else is a bug (exit 70)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        output = sys.modules.get("sedet.io.output")  # loaded by an earlier command in this process
        if output is not None:
            output.finished.clear()
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except BundleError as e:
            print_problems(e)
            raise typer.Exit(e.exit_code) from None
        except SedetError as e:
            err.print(f"error: {e.message}", markup=False)
            if e.hint:
                err.print(f"hint: {e.hint}", markup=False)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt as e:
            interrupted(e)
        except Exception as e:  # noqa: BLE001 - the last line of defence: no traceback, no locals
            err.print(f"internal error in sedet {__version__}: {type(e).__name__}: {e}", markup=False)
            output = sys.modules.get("sedet.io.output")
            done = output.finished if output is not None else []
            where = f"{done[-1]} holds the complete new results" if done else "nothing was written"
            err.print(f"{where}. This is a bug in sedet, not in your data; please report it "
                      "with the command you ran (set SEDET_DEBUG=1 for a traceback without local variables).")
            if os.environ.get("SEDET_DEBUG"):
                import traceback

                traceback.print_exc()
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP: the command stops as on Ctrl-C (staged output removed, --out as it was)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def catch_stop_signals() -> None:
    """SIGTERM and SIGHUP stop a command as SIGINT does. A signal the caller ignores (`nohup`, a
    background job without job control) stays ignored."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) in (signal.default_int_handler, signal.SIG_DFL):
            signal.signal(sig, _stop)


def interruptible_waits() -> None:
    """Once polars is loaded: its SIGINT handler asks the system to restart interrupted calls, so a
    Ctrl-C would wait until a worker or a writing thread finished before stopping the run. Keep its
    handler (it stops a running query), without the restart: the wait ends at once."""
    if "polars" in sys.modules and hasattr(signal, "siginterrupt"):
        signal.siginterrupt(signal.SIGINT, True)


def interrupted(e: KeyboardInterrupt) -> NoReturn:
    """One line on what an interrupted command left, and exit 128 + the signal's number."""
    signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
    output = sys.modules.get("sedet.io.output")
    done = output.finished if output is not None else []
    name = signal.Signals(signum).name
    if done:
        message = f"interrupted ({name}) after the output was complete: {done[-1]} holds the new results"
    else:
        message = f"interrupted ({name}); nothing was written"
    try:
        err.print(message, markup=False)
    except OSError:  # the terminal hung up (SIGHUP): nobody to tell
        pass
    raise typer.Exit(128 + signum) from None


def print_problems(e: BundleError) -> None:
    if not err.is_terminal:
        # In a log (cron mail, CI): one line per problem, never wrapped, easy to grep.
        err.print(f"{e.total} problem{'s' if e.total != 1 else ''} in the input:", markup=False)
        for p in e.problems:
            err.print(f"  {p}", markup=False, soft_wrap=True)
        if e.truncated:
            err.print(f"stopped after {len(e.problems)} of {e.total} problems (--limit); fix these and run again",
                      markup=False)
        err.print("nothing was written: fix the input and run again", markup=False)
        return
    t = Table(title=f"{e.total} problem{'s' if e.total != 1 else ''} in the input", title_justify="left")
    for c in ("file", "sheet", "row", "column", "expected", "found"):
        t.add_column(c, overflow="fold")
    has_sheet = any(p.sheet for p in e.problems)
    if not has_sheet:
        t.columns.pop(1)
    for p in e.problems:
        cells = [escape(x) for x in
                 (p.file, p.sheet or "", "" if p.row is None else str(p.row), p.column or "", p.expected, p.found)]
        if not has_sheet:
            cells.pop(1)
        t.add_row(*cells)
    err.print(t)
    if e.truncated:
        err.print(f"stopped after {len(e.problems)} of {e.total} problems (--limit); fix these and run again",
                  markup=False)
    err.print("nothing was written: fix the input and run again", markup=False)


def _progress(quiet: bool) -> Progress | None:
    """Progress on stderr, only on a terminal (not for cron or a pipe) and not under --quiet."""
    if quiet or not err.is_terminal:
        return None
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=24), _Count(),
                    TimeElapsedColumn(), console=err, transient=True)


class _Count(ProgressColumn):
    """'12/300' for a phase that counts its items; nothing for one that does not."""

    def render(self, task: Task) -> Text:
        return Text(f"{int(task.completed):,}/{int(task.total):,}" if task.total is not None else "")


class BarSteps(Steps):
    """The phases of a run as rich progress bars: one line, the current phase, with its count."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: TaskID | None = None

    def phase(self, what: str, total: int | None = None) -> None:
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(what, total=total)

    def advance(self, n: int = 1, what: str | None = None) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=n, description=what)


def _steps(progress: Progress | None) -> Steps:
    return BarSteps(progress) if progress is not None else SILENT


def _version(value: bool) -> None:
    if value:
        out.print(f"sedet {__version__}", markup=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="print the version and exit", is_eager=True,
                                          callback=_version)] = False,
) -> None:
    """IDEA Part B LEA determinations from a state's district exports."""


@app.command()
@handled
def determine(
    bundle: Annotated[Path, typer.Argument(
        help="bundle folder (one file per table) or workbook (one sheet per table)")],
    profile: ProfileOpt,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="folder to write the results into")],
    year: YearOpt = None,
    encoding: EncodingOpt = None,
    limit: LimitOpt = DEFAULT_LIMIT,
    per_district: Annotated[bool, typer.Option(
        "--per-district", help="also write districts/<district_id>.xlsx, one workbook per LEA")] = False,
    letters: Annotated[bool, typer.Option(
        "--letters", help="also write letters/<district_id>.pdf, the determination letter to each LEA, from the "
        "profile's [letters] template (docs/letters.md)")] = False,
    public: Annotated[bool, typer.Option(
        "--public", help="public release: suppress small cells in every file written "
        "(docs/methods.md section 11)")] = False,
    streaming: Annotated[bool | None, typer.Option(
        "--streaming/--in-memory", help="check and compute large tables streaming from disk (default: streaming when "
        "the bundle's files total 2 GiB or more)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress and a one-line summary (for cron)")] = False,
) -> None:
    """Compute the measures and write determinations.xlsx, measures.parquet/.csv and manifest.json."""
    from sedet.errors import OutputError, UsageError
    from sedet.io.output import check_out, staged_output
    from sedet.pipeline import measures_without_data, run
    from sedet.profile import load_profile

    interruptible_waits()
    started = time.perf_counter()
    prof = load_profile(profile)
    asked = [o for o, on in (("--per-district", per_district), ("--letters", letters)) if on]
    if asked and prof.model.determination is None:  # said before the bundle is read
        raise UsageError(f"{' and '.join(asked)}: profile {prof.id} makes no determinations (no [determination] "
                         "section)", hint="district workbooks and letters show a determination; run without "
                         f"{' and '.join(asked)} for the indicators")
    check_out(out_dir)  # before the work: a folder sedet must not replace is refused at once
    progress = _progress(quiet)
    with progress or nullcontext():
        steps = _steps(progress)
        result = run(bundle, prof, year=year, encoding=encoding, limit=limit, streaming=streaming, steps=steps,
                     past=TREND_YEARS - 1 if per_district or letters else 1)
        warnings = [w for w in [year_warning(prof.model.profile.ffy, prof.id, result.year)] if w]
        warnings += [f"no LEA has data for {m} (every LEA's row says no_data): the bundle lacks what it counts"
                     for m in measures_without_data(result)]
        for w in warnings:  # said once, also under --quiet (cron mails stderr)
            err.print(f"sedet: warning: {w}", markup=False)
        options = {"year": result.year, "encoding": encoding or "utf-8", "bundle": bundle.name,
                   "per_district": per_district, "public": public, "streaming": result.streaming,
                   "warnings": warnings}
        from sedet.report.writer import write_outputs

        with staged_output(out_dir) as tmp:
            try:
                written = write_outputs(result, tmp, options, per_district=per_district, public=public,
                                        letters=letters, steps=steps)
            except OSError as e:  # a full disk, a folder taken away: nothing is moved into --out
                raise OutputError(f"cannot write the results beside {str(out_dir)!r}: {e.strerror or e}") from None
    _summary(result, prof.meta.title, written, out_dir, time.perf_counter() - started, quiet)


@app.command()
@handled
def sweep(
    bundle: Annotated[Path, typer.Argument(help="bundle folder (one file per table) or workbook")],
    profile: ProfileOpt,
    vary: Annotated[list[str], typer.Option(
        "--vary", help="KEY=FROM:TO:STEP, KEY=a,b,c or KEY=v1;v2: a parameter of the profile and its values "
        "(repeat for more; every combination is a scenario)")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="folder to write sweep.xlsx, sweep.csv, changes.csv "
                                                            "and manifest.json into")],
    year: YearOpt = None,
    encoding: EncodingOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the scenarios as JSON on stdout")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress and no table")] = False,
) -> None:
    """Run the profile for every combination of the values given to some of its parameters (thresholds,
    minimum n and cell, cut points) and say how many LEAs, and which, each identifies and places where."""
    from sedet.io.output import check_out, sha256_file, staged_output
    from sedet.model import school_year_text
    from sedet.profile import load_profile
    from sedet.report.sweep import write_sweep_workbook
    from sedet.sweep import change_table, chart_rows, heat_grid, parse_vary, run_sweep, scenario_table, sweep_json

    interruptible_waits()
    started = time.perf_counter()
    prof = load_profile(profile)
    varies = [parse_vary(v, prof) for v in vary]
    from sedet.sweep import scenarios

    n = len(scenarios(prof, varies))  # every scenario validated before the bundle is read
    check_out(out_dir)
    progress = _progress(quiet or as_json)
    with progress or nullcontext():
        result = run_sweep(bundle, prof, varies, year=year, encoding=encoding, steps=_steps(progress))
    table, change = scenario_table(result), change_table(result)
    series, charts = chart_rows(result, table)
    doc = sweep_json(result, table, change)
    keys = [v.key for v in varies]
    with staged_output(out_dir) as tmp:
        intro = [f"Profile {prof.id}, school year {result.base.year}: {n} scenarios of "
                 + ", ".join(f"{v.key} ({', '.join(map(str, v.values))})" for v in varies) + ".",
                 "identified: LEAs with at least one row flagged with the measure's finding "
                 "(docs/design.md section 9)."]
        write_sweep_workbook(tmp / "sweep.xlsx", title=f"sweep of {n} scenarios: {prof.id}, school year "
                             f"{school_year_text(result.base.year)}", keys=keys,
                             table=table, change=change, charts=charts, heat=heat_grid(result, table), series=series,
                             intro=intro)
        table.write_csv(tmp / "sweep.csv")
        change.write_csv(tmp / "changes.csv")
        (tmp / "sweep.json").write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
        manifest = {"tool": "sedet", "version": __version__, "command": "sweep", "profile": prof.id,
                    "profile_sha256": prof.sha256, "school_year": result.base.year, "bundle": bundle.name,
                    "varied": doc["varied"], "scenarios": n,
                    "outputs": [{"file": f, "sha256": sha256_file(tmp / f)}
                                for f in ("sweep.xlsx", "sweep.csv", "changes.csv", "sweep.json")]}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if as_json:
        out.print_json(json.dumps(doc, default=str))
        return
    if quiet:
        return
    t = Table(title=escape(f"{prof.id} {result.base.year}: {n} scenarios"), title_justify="left")
    moving = [c for c in table.columns if c.startswith("identified: ") and c != "identified: any"
              and table.get_column(c).n_unique() > 1][:4]  # the findings the scenarios change
    shown = ["scenario", *keys, *moving, "identified: any", *[label for _, label in result.category_labels],
             "LEAs changed"]
    for c in shown:
        t.add_column(escape(c.removeprefix("measures.") if c in keys else c), justify="right" if c not in keys
                     else "left")
    for r in table.iter_rows(named=True):
        t.add_row(*[escape(str(r[c])) + (" *" if c == "scenario" and r["as_written"] else "") for c in shown])
    out.print(t)
    out.print(f"* the profile as written. Wrote {out_dir}: sweep.xlsx, sweep.csv, changes.csv, sweep.json, "
              f"manifest.json in {time.perf_counter() - started:.1f} s", markup=False)


def year_warning(ffy: int, profile_id: str, year: int) -> str | None:
    """A run of a school year other than the profile's: FFY N is school year N to N+1, whose spring
    year is N+1 (FFY 2022 is 2022-23, `--year 2023`). Not an error: a state may run last year's
    method on this year's data on purpose, but it should not happen unnoticed."""
    from sedet.model import school_year_text

    if year == ffy + 1:
        return None
    return (f"profile {profile_id} is for FFY {ffy} (school year {school_year_text(ffy + 1)}), but the school year "
            f"determined is {school_year_text(year)} (--year {year}): its parameters are those of another year")



def _summary(result: RunResult, title: str, written: list[Path], out_dir: Path, elapsed: float, quiet: bool) -> None:
    """The last words of a run: one line for cron, else the tables read, the determinations, what a
    public release withheld, the files. (No "rows rejected": a bundle with a bad row is refused as a
    whole, so a run that gets here rejected none.)"""
    from sedet.model import school_year_text

    withheld = _withheld(out_dir / "manifest.json")
    if quiet:
        out.print(f"sedet: {result.profile.id} {result.year}: {result.measures.height} measure rows, "
                  f"{len(written)} files written to {out_dir} in {elapsed:.1f} s"
                  + (f"; public release: {withheld}" if withheld else ""), markup=False)
        return
    t = Table(title=escape(f"{title}\nschool year {school_year_text(result.year)}"), title_justify="left")
    t.add_column("table")
    t.add_column("file")
    t.add_column("rows read", justify="right")
    for lt in result.inputs:
        t.add_row(escape(lt.table), escape(lt.file + (f" [{lt.sheet}]" if lt.sheet else "")), f"{lt.rows_read:,}")
    out.print(t)
    out.print(f"{result.measures.height:,} measure rows for {result.n_districts:,} districts", markup=False)
    if result.determinations is not None:
        counts = result.determinations.table.group_by("category_label").len().sort("len", descending=True)
        shown = ", ".join(f"{label or 'not determined'} {n}" for label, n in counts.iter_rows())
        out.print(f"determinations: {shown}", markup=False)
    if withheld:
        out.print(f"public release: {withheld} (manifest.json, public_release)", markup=False)
    top = [p for p in written if p.parent == out_dir or p.parent.name not in ("districts", "letters")]
    per_folder = [f"{sum(p.parent.name == d for p in written):,} {what} in {d}/"
                  for d, what in (("districts", "district workbooks"), ("letters", "letters"))
                  if any(p.parent.name == d for p in written)]
    out.print(f"wrote {len(written):,} files to {out_dir}: " + ", ".join([p.name for p in top] + per_folder),
              markup=False)
    out.print(f"done in {elapsed:.1f} s", markup=False)


def _withheld(manifest: Path) -> str:
    """What a public release withheld, from the manifest it wrote: cells of the measure and factor
    tables shown as the suppression token, and LEAs' values top- or bottom-coded. "" for other runs."""
    try:
        release = json.loads(manifest.read_text(encoding="utf-8")).get("public_release")
    except (OSError, ValueError):
        return ""
    if not release:
        return ""
    parts = []
    for table in ("measures", "factors"):
        counts = release.get(table)
        if counts:
            parts.append(f"{counts['cells_withheld_total']:,} cells of {counts['rows']:,} {table} rows withheld"
                         + (f", {counts['values_coded']:,} values coded" if counts.get("values_coded") else ""))
    return "; ".join(parts)


@app.command()
@handled
def validate(
    bundle: Annotated[Path, typer.Argument(help="bundle folder or workbook")],
    profile: ProfileOpt,
    as_json: Annotated[bool, typer.Option("--json", help="print the problems as JSON")] = False,
    encoding: EncodingOpt = None,
    limit: LimitOpt = DEFAULT_LIMIT,
) -> None:
    """Check every table of a bundle and list all problems (file, row, column, expected, found)."""
    from sedet.pipeline import load
    from sedet.profile import load_profile

    prof = load_profile(profile)
    try:
        b = load(bundle, prof, encoding=encoding, limit=limit, pruned=False)
    except BundleError as e:
        if as_json:
            out.print_json(json.dumps(problems_json(e)))
            raise typer.Exit(e.exit_code) from None
        raise
    if as_json:
        out.print_json(json.dumps({"valid": True, "problems": [], "total": 0, "truncated": False,
                                   "tables": {n: t.rows_read for n, t in b.tables.items()}}))
        return
    t = Table(title=escape(f"{bundle}: valid for profile {prof.id}"), title_justify="left")
    t.add_column("table")
    t.add_column("file")
    t.add_column("rows", justify="right")
    t.add_column("columns ignored")
    for name, lt in b.tables.items():
        t.add_row(escape(name), escape(lt.source.label + (f" [{lt.source.sheet}]" if lt.source.sheet else "")),
                  f"{lt.rows_read:,}", escape(", ".join(lt.columns_ignored)))
    out.print(t)


def problems_json(e: BundleError) -> dict:
    return {"valid": False, "problems": [p.as_dict() for p in e.problems], "total": e.total, "truncated": e.truncated}


@app.command()
@handled
def explain(
    bundle: Annotated[Path, typer.Argument(help="bundle folder or workbook")],
    district: Annotated[str, typer.Argument(help="district_id, exactly as in the bundle (e.g. 00123)")],
    profile: ProfileOpt,
    year: YearOpt = None,
    encoding: EncodingOpt = None,
    factor: Annotated[list[str] | None, typer.Option(
        "--factor", metavar="ID", help="details: only the rows this factor reads (repeatable), e.g. F2")] = None,
    measure: Annotated[list[str] | None, typer.Option(
        "--measure", metavar="NAME", help="details: only this measure's rows (repeatable), e.g. risk_ratio")] = None,
    summary: Annotated[bool, typer.Option("--summary", help="print the answer only, without the details")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer and the rows as JSON")] = False,
) -> None:
    """Print one district's determination first (category, points, rank, each factor's value, points and
    why), then the measure rows with the counts behind each value (--factor, --measure: only those)."""
    from sedet import explain as ex
    from sedet.errors import UsageError
    from sedet.pipeline import district_rows, run, with_risks
    from sedet.profile import load_profile

    prof = load_profile(profile)
    result = run(bundle, prof, year=year, encoding=encoding)
    rows = district_rows(result, district)
    if (w := year_warning(prof.model.profile.ffy, prof.id, result.year)) is not None:
        err.print(f"sedet: warning: {w}", markup=False)
    factors, measures = factor or [], measure or []
    wrong = ex.unknown_choice(result, factors, measures)
    if wrong is not None:
        raise UsageError(wrong[0], hint=wrong[1])
    chosen = ex.select_rows(result, rows, factors, measures) if not summary else rows.clear()
    if as_json:
        out.print_json(json.dumps(ex.explain_json(result, district, chosen), default=str))
        return
    ex.render_answer(out, result, district)
    if not summary:
        ex.render(out, result, with_risks(chosen, result), ex.selection_text(result, factors, measures))


@app.command()
@handled
def trend(
    bundle: Annotated[Path, typer.Argument(help="bundle folder or workbook, with several school years")],
    district: Annotated[str, typer.Argument(help="district_id, exactly as in the bundle (e.g. 00123)")],
    profile: ProfileOpt,
    year: YearOpt = None,
    encoding: EncodingOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the years as JSON")] = False,
) -> None:
    """Print one district's category, percentage and each factor's value and points in every school year
    the bundle holds (up to five, ending with the year determined), each year placed by the profile."""
    from sedet.errors import UsageError
    from sedet.model import school_year_text
    from sedet.pipeline import district_rows, run
    from sedet.profile import load_profile
    from sedet.words import lea_trends, points_text

    prof = load_profile(profile)
    if prof.model.determination is None:
        raise UsageError(f"profile {prof.id} makes no determinations (no [determination] section): there is no "
                         "category or factor to follow over the years", hint="`sedet explain` shows the indicators")
    result = run(bundle, prof, year=year, encoding=encoding, past=TREND_YEARS - 1)
    district_rows(result, district)  # a district without rows is named, with the nearest one
    t = lea_trends(result).get(district)
    if t is None:
        raise UsageError(f"the bundle holds no school year before {school_year_text(result.year)}: there is no trend",
                         hint="a bundle with several school years (or a history table) is needed")
    if as_json:
        doc = {"district_id": district, "profile": prof.id, "years": t.years, "categories": t.categories,
               "percentages": t.percentages,
               "factors": [{"id": r.id, "title": r.title, "values": r.numbers, "shown": r.values,
                            "points": r.points, "possible": r.possible} for r in t.factors]}
        out.print_json(json.dumps(doc, default=str))
        return
    name = result.district_names.get(district, "")
    table = Table(title=escape(f"{name} ({district}), {prof.id}: each year placed by this profile"),
                  title_justify="left")
    table.add_column("")
    for y in t.years:
        table.add_column(school_year_text(y), justify="right")
    table.add_row("Determination", *[escape(c) for c in t.categories])
    table.add_row("Percentage", *[f"{p * 100:.{prof.meta.display_decimals}f}%" if p is not None else ""
                                  for p in t.percentages])
    for r in t.factors:
        table.add_row(escape(f"{r.id}: {r.title}"), *[escape(v) for v in r.values])
        of = f" (of {points_text(r.possible)})" if r.possible else ""
        table.add_row(escape(f"   points{of}"), *[points_text(p) for p in r.points])
    out.print(table)


TREND_YEARS = 5  # the school years a trend shows, ending with the year determined


@app.command()
@handled
def diff(
    old: Annotated[Path, typer.Argument(help="the earlier run folder (written by `sedet determine --out`)")],
    new: Annotated[Path, typer.Argument(help="the later run folder")],
    xlsx: Annotated[Path | None, typer.Option("--out", "-o", help="also write the changes to this .xlsx file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON on stdout")] = False,
) -> None:
    """List the LEAs whose determination changed between two runs, and the factors that moved."""
    from sedet.errors import UsageError
    from sedet.io.output import atomic_file
    from sedet.profile import category_order
    from sedet.report.diff import diff_runs, print_diff, write_diff_workbook

    result = diff_runs(old, new, category_order)
    if xlsx is not None:
        if xlsx.suffix.lower() != ".xlsx":
            raise UsageError(f"{xlsx}: --out must be a .xlsx file")
        with atomic_file(xlsx) as tmp:
            write_diff_workbook(result, tmp)
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        return
    print_diff(out, result)


@profiles_app.callback()
@handled
def profiles_list(ctx: typer.Context) -> None:
    """List the profiles."""
    if ctx.invoked_subcommand is not None:
        return
    from sedet.profile import available_profiles, load_profile

    t = Table(title="profiles", title_justify="left")
    t.add_column("name")
    t.add_column("title")
    t.add_column("file")
    for name, path in available_profiles().items():
        try:
            title = load_profile(str(path)).meta.title
        except SedetError as e:
            title = f"(invalid: {e.message.splitlines()[0]})"
        t.add_row(escape(name), escape(title), escape(str(path)))
    out.print(t)


@profiles_app.command("show")
@handled
def profiles_show(
    name: Annotated[str, typer.Argument(help="profile name or path")],
    as_json: Annotated[bool, typer.Option("--json", help="print the parameters as JSON")] = False,
) -> None:
    """Print a profile with every parameter, its value and its source."""
    from sedet.profile import load_profile

    prof = load_profile(name)
    params = prof.parameters()
    if as_json:
        out.print_json(json.dumps([{"parameter": p, "value": v, "source": s} for p, v, s in params], default=str))
        return
    out.print(f"{prof.meta.title}", markup=False)
    out.print(f"file: {prof.path}  sha256: {prof.sha256}", markup=False)
    t = Table(show_lines=False)
    t.add_column("parameter", overflow="fold")
    t.add_column("value", overflow="fold")
    t.add_column("source", overflow="fold")
    for p, v, s in params:
        t.add_row(escape(p), escape(json.dumps(v) if isinstance(v, list | dict) else str(v)), escape(s))
    out.print(t)


@app.command()
@handled
def sample(
    out_dir: Annotated[Path, typer.Argument(help="folder to write the synthetic bundle into")],
    districts: Annotated[int, typer.Option("--districts", min=1, help="number of LEAs")] = 50,
    students: Annotated[int, typer.Option("--students", min=1, help="students in the state per year")] = 20_000,
    years: Annotated[int, typer.Option("--years", min=1, help="number of school years")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="random seed: same seed, same bytes")] = 0,
    first_year: Annotated[int, typer.Option("--first-year", help="first school year (spring year)")] = 2010,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    aggregate: Annotated[bool, typer.Option(
        "--aggregate", help="aggregate identical rows into a count column")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Write a synthetic bundle with every table, realistic proportions, deterministic for a seed."""
    from sedet.errors import UsageError
    from sedet.io.output import staged_output
    from sedet.sample import make_bundle

    started = time.perf_counter()
    progress = _progress(quiet)
    with progress or nullcontext():
        task = progress.add_task("generating", total=None) if progress else None

        def report(msg: str) -> None:
            if progress and task is not None:
                progress.update(task, description=msg)

        with staged_output(out_dir, whole_folder=False) as tmp:  # the folder's other files stay
            try:
                counts = make_bundle(tmp, districts=districts, students=students, years=years, first_year=first_year,
                                     seed=seed, fmt=fmt, aggregate=aggregate, progress=report)
            except ValueError as e:
                raise UsageError(str(e)) from None
    if not quiet:
        t = Table(title=escape(f"sample bundle {out_dir}"), title_justify="left")
        t.add_column("table")
        t.add_column("rows", justify="right")
        for name, n in counts.items():
            t.add_row(name, f"{n:,}")
        out.print(t)
        out.print(f"done in {time.perf_counter() - started:.1f} s", markup=False)


import_app = typer.Typer(help="Read the files states already have into a bundle.", no_args_is_help=True,
                         pretty_exceptions_show_locals=False, pretty_exceptions_enable=False)
app.add_typer(import_app, name="import")


@import_app.command("idea618")
@handled
def import_idea618(
    files: Annotated[list[Path], typer.Argument(help="the public Section 618 'Child Count and Educational "
                                                "Environments' state-level files (CSV), one per school year")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="bundle folder to write")],
    encoding: Annotated[str, typer.Option("--encoding", help="encoding of the files")] = "utf-8-sig",
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Children with IEPs aged 6-21 by state, race/ethnicity and educational environment, as a bundle for
    placement disproportionality across states (profile idea618-placement; docs/imports.md)."""
    from sedet.imports.idea618 import import_files, write_bundle
    from sedet.io.output import check_out, staged_output
    from sedet.model import school_year_text

    check_out(out_dir)
    done, problems = import_files(files, encoding)
    if problems:
        raise BundleError(problems[:DEFAULT_LIMIT], truncated=len(problems) > DEFAULT_LIMIT, total=len(problems))
    with staged_output(out_dir) as tmp:
        doc = write_bundle(done, tmp, files)
    if quiet:
        return
    for src in doc["sources"]:
        out.print(f"{src['file']}: school year {school_year_text(src['school_year'])}, "
                  f"{src['states_imported']} states, {src['children_imported']:,} children with IEPs aged 6-21",
                  markup=False)
    for left in doc["left_out"]:
        kinds = sorted({c["why"].split(":")[0] for c in left["cells"]})
        out.print(f"left out: {left['state']} {school_year_text(left['school_year'])} ({len(left['cells'])} cells: "
                  f"{', '.join(kinds)}; manifest.json lists them)", markup=False)
    out.print(f"wrote {out_dir}: enrollment.csv, districts.csv, manifest.json", markup=False)


@import_app.command("edfacts")
@handled
def import_edfacts(
    files: Annotated[list[Path], typer.Argument(help="a state's LEA-level EDFacts files (FS002, FS089, FS052, "
                                                "FS006, FS143, FS185, FS188), fixed-width or comma- or "
                                                "tab-separated")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="bundle folder to write")],
    year: Annotated[str | None, typer.Option("--year", help="the files' school year (e.g. 2022-23), when their "
                                             "header records do not say it")] = None,
    layout_year: Annotated[str | None, typer.Option("--layout-year", help="read the files with the layout of "
                                                    "this school year (e.g. 2020-21), when sedet does not know "
                                                    "their own year's")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="encoding of the files")] = "utf-8-sig",
    medical_exemptions: Annotated[str, typer.Option(
        "--medical-exemptions", help="FS185/FS188: students with a medical exemption are 'excluded' from the "
        "students enrolled for the participation rate, or 'enrolled' (counted as not participating)")] = "excluded",
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Children with and without IEPs by LEA and race/ethnicity (by disability, and by environment),
    suspensions/expulsions and total removals, and assessment participation by grade, as a bundle for
    disproportionality, discipline, participation and alternate-assessment rates (docs/imports.md)."""
    from sedet.imports.edfacts import import_files, write_bundle
    from sedet.io.output import check_out, staged_output
    from sedet.model import school_year_text

    if medical_exemptions not in ("excluded", "enrolled"):
        raise UsageError(f"--medical-exemptions: 'excluded' or 'enrolled', not {medical_exemptions!r}")
    check_out(out_dir)
    done = import_files(files, year=_school_year(year, "--year"), layout_year=_school_year(layout_year,
                        "--layout-year"), encoding=encoding, medical_enrolled=medical_exemptions == "enrolled")
    if done.problems:
        problems = done.problems
        raise BundleError(problems[:DEFAULT_LIMIT], truncated=len(problems) > DEFAULT_LIMIT, total=len(problems))
    with staged_output(out_dir) as tmp:
        doc = write_bundle(done, tmp)
    if quiet:
        return
    for src in doc["sources"]:
        kept = ", ".join(f"{n:,} into {into}" for into, n in src["children_imported"].items())
        out.print(f"{src['file']}: {src['file_spec']} {school_year_text(src['school_year'])}, {src['form']}, "
                  f"{src['records']:,} records: children {kept}; {src['subtotals_checked']:,} subtotals checked, "
                  f"{src['records_of_other_sets']:,} records of other category sets not used", markup=False)
    out.print(f"wrote {out_dir}: {', '.join(o['file'] for o in doc['outputs'])}, manifest.json", markup=False)


def _school_year(text: str | None, option: str) -> int | None:
    """A school year given on the command line ('2022-23' or '2022-2023') as its spring year."""
    if text is None:
        return None
    from sedet.imports.edfacts import year_of

    spring = year_of(text)
    if spring is None:
        raise UsageError(f"{option}: a school year such as 2022-23, not {text!r}")
    return spring


def main() -> None:
    runtime.configure()  # before polars is imported
    catch_stop_signals()
    try:
        app(prog_name="sedet")
    finally:
        _flush()


def _flush() -> None:
    """Flush what is left to say; a reader that went away (`sedet ... | head`) gets nothing more, and
    Python's own flush at exit must not complain about it either."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe, or a terminal that hung up (EIO)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()
