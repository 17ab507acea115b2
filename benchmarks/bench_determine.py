r"""Time `sedet determine` end to end on a bundle made by `sedet sample`, with peak memory.

Not part of the test suite. Usage:

    python benchmarks/bench_determine.py --students 1000000 --districts 1000 --years 3 \
        --profile ny-ffy2011 [--work /tmp/sedet-bench] [--keep]

The measurements are taken in --repeat rounds (default 3): in each, polars alone parses the same
files, each way in a fresh process (every column as text; polars' own type inference; sedet's
schema: codes and district ids of the student-level tables as categories, their small whole
numbers as Int16, other numbers and flags typed, no checks; the same, only the columns the
profile's measures read, which is what `determine` parses), then `sedet determine` runs as a
child process (wall time; peak resident memory from GNU time). This machine's speed drifts by
10-50% within minutes, so each time reported is the median over the rounds, and each ratio the
median of the rounds' own ratios (parse and run seen in the same state). --per-district runs
are timed after the rounds. Also reported: rows and bytes of the input. Results are printed
and appended as JSON lines to benchmarks/results.jsonl. --pyinstrument then profiles one run
(where the time goes). --baseline PYTHON also times another sedet install (an earlier commit in
a venv of its own) in the same rounds, in alternating order, and reports the ratio of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl

PROFILE = "ny-ffy2011"


def run_child(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of that command and its children).

    Peak memory comes from GNU time (`/usr/bin/time -f %M`), which measures the one command; the
    process-wide RUSAGE_CHILDREN would report the largest child of this script so far."""
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    t0 = time.perf_counter()
    proc = subprocess.run(timer + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    if timer:
        peak_kb = int(proc.stderr.strip().splitlines()[-1])
    else:
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kb / 1024


PARSE_CODE = """
import json, pathlib, sys, time
import polars as pl
from sedet.io import schema as S
from sedet.io.discover import discover
from sedet.io.read import read_raw
from sedet.io.table import TableSpec
from sedet.io.typed import Codes
from sedet.pipeline import load_spec
from sedet.profile import load_profile
way, b, tables, profile = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3].split(","), sys.argv[4]
files = [p for p in sorted(b.iterdir()) if p.stem in tables and p.suffix in (".csv", ".parquet")]
prof = load_profile(profile)
spec = load_spec(prof, pruned=way == "read")
codes = Codes(spec.code_lists, spec.code_maps)
t = time.perf_counter()
if way in ("text", "typed"):
    for p in files:
        if p.suffix == ".parquet":
            pl.read_parquet(p)
        elif way == "text":
            pl.read_csv(p, infer_schema=False)
        else:
            pl.read_csv(p, infer_schema_length=10000)
else:
    for src in discover(b):
        table = TableSpec(S.TABLES[src.table], codes, spec.columns.get(src.table), reads=spec.reads.get(src.table))
        read_raw(src, None, table.kinds(), spec.reads.get(src.table))
print(json.dumps(time.perf_counter() - t))
"""


def parse_time(bundle: Path, tables: list[str]) -> dict[str, float]:
    """Seconds polars needs to parse the bundle's files, each way in a fresh process (as sedet runs;
    in one process a later parse reuses the memory an earlier one freed, and looks faster):
    - text: every column as text;
    - typed: polars' own type inference (reads district 00123 as the number 123);
    - schema: sedet's schema (as read_raw reads: codes and district ids of student-level tables as
      categories, their small whole numbers as Int16, other text as text, numbers and flags
      typed), no checking;
    - read: the same, only the columns a run with the profile reads (pipeline.columns_read)."""
    out = {}
    for way in ("text", "typed", "schema", "read"):
        proc = subprocess.run([sys.executable, "-c", PARSE_CODE, way, str(bundle), ",".join(tables), PROFILE],
                              capture_output=True, text=True, check=True)
        out[way] = json.loads(proc.stdout)
    return out


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--districts", type=int, default=1000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", default="csv", choices=["csv", "parquet"])
    ap.add_argument("--profile", default="ny-ffy2011")
    ap.add_argument("--work", type=Path, default=Path("/tmp/sedet-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the generated bundle for the next run")
    ap.add_argument("--per-district", action="store_true", help="also time a run with --per-district")
    ap.add_argument("--skip-parse", action="store_true",
                    help="do not time polars' parse (it holds every table in memory: not for a country-sized bundle)")
    ap.add_argument("--first-year", type=int, default=2010)
    ap.add_argument("--busy", type=int, default=0,
                    help="run sedet beside this many CPU-bound processes (a shared server at night): "
                         "only sedet's time is reported")
    ap.add_argument("--repeat", type=int, default=3,
                    help="time each measurement this many times and report the median (this machine varies by 10-20%%)")
    ap.add_argument("--baseline", type=Path,
                    help="the Python of another sedet install (an earlier commit in its own venv): each round also "
                         "times its `sedet determine`, in alternating order, and the ratio of the two is reported")
    ap.add_argument("--baseline-label", help="what --baseline is, for the results (default: its path)")
    ap.add_argument("--pyinstrument", action="store_true",
                    help="then profile one run with pyinstrument (pip install '.[bench]') "
                         "and print where the time went")
    return ap.parse_args()


SEDET = [sys.executable, "-m", "sedet.cli"]
WAYS = ("text", "typed", "schema", "read")


def make_bundle(args: argparse.Namespace) -> Path:
    """The bundle of these arguments, generated by `sedet sample` unless it is there from a run before."""
    name = f"s{args.students}-d{args.districts}-y{args.years}-seed{args.seed}-{args.format}"
    bundle = args.work / name
    if not bundle.exists():
        args.work.mkdir(parents=True, exist_ok=True)
        gen_wall, gen_mem = run_child([*SEDET, "sample", str(bundle), "--students", str(args.students),
                                       "--districts", str(args.districts), "--years", str(args.years),
                                       "--first-year", str(args.first_year),
                                       "--seed", str(args.seed), "--format", args.format, "--quiet"])
        print(f"generated {bundle} in {gen_wall:.1f} s (peak {gen_mem:.0f} MB)")
    return bundle


class Runner:
    """Runs `sedet determine` on the bundle (beside --busy CPU-bound processes): wall time, peak memory."""

    def __init__(self, args: argparse.Namespace, bundle: Path):
        self.busy = args.busy
        self.out = args.work / f"out-{bundle.name}"
        self.determine = [*SEDET, "determine", str(bundle), "--profile", args.profile, "--out", str(self.out),
                          "--quiet"]

    def timed(self, extra: list[str], python: Path | None = None) -> tuple[float, float]:
        """`python`: of another sedet install (--baseline)."""
        shutil.rmtree(self.out, ignore_errors=True)
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.busy)]
        command = self.determine if python is None else [str(python), *self.determine[1:]]
        try:
            return run_child(command + extra)
        finally:
            for hog in hogs:
                hog.kill()


def rounds_of(args: argparse.Namespace, runner: Runner, bundle: Path, tables: list[str]) -> tuple[list, list]:
    """Rounds: polars' parse (each way), then sedet, so that both see the machine in the same state
    (this VM's speed drifts by 10-50% within minutes, most of all the cost of touching new memory);
    with --baseline, the other install too, before sedet in even rounds and after it in odd ones."""
    rounds, baseline = [], []
    for k in range(max(args.repeat, 1)):
        parsed = None if args.skip_parse else parse_time(bundle, tables)
        if args.baseline is not None and k % 2 == 0:
            baseline.append(runner.timed([], args.baseline))
        rounds.append((parsed, *runner.timed([])))
        if args.baseline is not None and k % 2 == 1:
            baseline.append(runner.timed([], args.baseline))
    return rounds, baseline


def parse_figures(rounds: list, skip: bool) -> dict:
    if skip:
        return {k: None for k in ("parse_text_s", "parse_inferred_s", "parse_schema_s", "parse_read_s",
                                  "ratio_to_text_parse", "ratio_to_schema_parse", "ratio_to_inferred_parse",
                                  "ratio_to_read_parse", "ratios_per_round_inferred")}
    parse = {w: statistics.median(r[0][w] for r in rounds) for w in WAYS}
    ratio = {w: statistics.median(r[1] / r[0][w] for r in rounds) for w in WAYS}
    return {
        "parse_text_s": round(parse["text"], 2), "parse_inferred_s": round(parse["typed"], 2),
        "parse_schema_s": round(parse["schema"], 2), "parse_read_s": round(parse["read"], 2),
        "ratio_to_text_parse": round(ratio["text"], 2), "ratio_to_schema_parse": round(ratio["schema"], 2),
        "ratio_to_inferred_parse": round(ratio["typed"], 2), "ratio_to_read_parse": round(ratio["read"], 2),
        "ratios_per_round_inferred": [round(r[1] / r[0]["typed"], 2) for r in rounds],
    }


def baseline_figures(args: argparse.Namespace, rounds: list, baseline: list) -> dict:
    if not baseline:
        return {}
    ratios = [r[1] / b[0] for r, b in zip(rounds, baseline, strict=True)]
    return {"baseline": args.baseline_label or str(args.baseline),
            "baseline_s": round(statistics.median(w for w, _ in baseline), 2),
            "baseline_peak_mb": round(max(m for _, m in baseline)),
            "ratio_to_baseline": round(statistics.median(ratios), 3),
            "ratios_to_baseline_per_round": [round(x, 3) for x in ratios]}


def profile_one(args: argparse.Namespace, runner: Runner, bundle: Path) -> None:
    """One run under pyinstrument: where the time goes."""
    shutil.rmtree(runner.out, ignore_errors=True)
    report = args.work / f"profile-{bundle.name}-{args.profile}.txt"
    program = "import sys; from sedet.cli import app; app(sys.argv[1:], prog_name='sedet', standalone_mode=False)"
    subprocess.run([sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(report), "-c", program,
                    *runner.determine[3:]], check=True)
    print(f"where the time went: {report}")


def main() -> None:
    args = arguments()
    bundle = make_bundle(args)
    files = sorted(p for p in bundle.iterdir() if p.is_file())
    rows = {p.stem: pl.scan_csv(p, infer_schema=False).select(pl.len()).collect().item() if p.suffix == ".csv"
            else pl.scan_parquet(p).select(pl.len()).collect().item() for p in files}
    global PROFILE
    PROFILE = args.profile
    runner = Runner(args, bundle)
    rounds, baseline = rounds_of(args, runner, bundle, [p.stem for p in files])
    wall, peak = statistics.median(r[1] for r in rounds), max(r[2] for r in rounds)
    per_district = {}
    if args.per_district:
        with_pd = [runner.timed(["--per-district"]) for _ in range(max(args.repeat, 1))]
        wall_pd, peak_pd = statistics.median(w for w, _ in with_pd), max(m for _, m in with_pd)
        per_district = {"with_per_district_s": round(wall_pd, 2), "per_district_s": round(wall_pd - wall, 2),
                        "peak_with_per_district_mb": round(peak_pd)}
    if args.pyinstrument:
        profile_one(args, runner, bundle)
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "profile": args.profile, "students": args.students, "districts": args.districts, "years": args.years,
        "format": args.format, "rows": rows,
        "input_mb": round(sum(p.stat().st_size for p in files) / 1e6, 1),
        **parse_figures(rounds, args.skip_parse),
        "repeat": max(args.repeat, 1),
        "sedet_s": round(wall, 2),
        "peak_mb": round(peak),
        **({"busy_processes": args.busy} if args.busy else {}),
        **baseline_figures(args, rounds, baseline),
        **per_district,
    }
    print(json.dumps(result, indent=2))
    with open(Path(__file__).with_name("results.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    if not args.keep:
        shutil.rmtree(bundle, ignore_errors=True)
    shutil.rmtree(runner.out, ignore_errors=True)

if __name__ == "__main__":
    main()
