r"""Time the determination letters (`--letters`, report/letters.py): one PDF per LEA, 1,000 LEAs.

Not part of the test suite. Usage:

    python benchmarks/bench_letters.py [--bundle DIR] [--students 3000000 --districts 1000 --years 3 --seed 1] \
        [--profile nj-ffy2022] [--repeat 3] [--serial] [--work /tmp/sedet-bench] [--keep] [--results FILE]

Without --bundle, the bundle is the one bench_determine.py makes for the same arguments
(<work>/s<students>-d<districts>-y<years>-seed<seed>-csv), generated with `sedet sample` when it is
not there. The run (pipeline.run) is computed once, in this process; then `write_letters` writes
every LEA's letter into a fresh folder --repeat times (in worker processes, one per core, as
`sedet determine --letters` does; --serial: in this process alone), and the median is reported
(this machine's speed drifts by 10-50% within minutes), with the time per letter, pages and bytes.
The student count barely matters for letters (a letter lays out one row per factor); the issue's
figure is on the 3M-student bundle. Results are printed and appended as JSON lines to
benchmarks/results.jsonl (or --results FILE).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

from pypdf import PdfReader

from sedet.pipeline import run
from sedet.profile import load_profile
from sedet.report import letters
from sedet.report.letters import write_letters


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, help="a bundle to run (default: generate one with `sedet sample`)")
    ap.add_argument("--students", type=int, default=3_000_000)
    ap.add_argument("--districts", type=int, default=1000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", default="nj-ffy2022")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/sedet-bench"))
    ap.add_argument("--keep", action="store_true", help="keep a generated bundle for the next run")
    ap.add_argument("--serial", action="store_true", help="write every letter in this process (no workers)")
    ap.add_argument("--results", type=Path, default=Path(__file__).with_name("results.jsonl"),
                    help="the JSON-lines file the figures are appended to")
    return ap.parse_args()


def make_bundle(args: argparse.Namespace) -> tuple[Path, bool]:
    """The bundle to run, and whether this script generated it."""
    if args.bundle is not None:
        return args.bundle, False
    bundle = args.work / f"s{args.students}-d{args.districts}-y{args.years}-seed{args.seed}-csv"
    if bundle.exists():
        return bundle, False
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run(["sedet", "sample", str(bundle), "--students", str(args.students), "--districts",
                    str(args.districts), "--years", str(args.years), "--seed", str(args.seed), "--quiet"], check=True)
    print(f"generated {bundle} in {time.perf_counter() - t0:.1f} s")
    return bundle, True


def main() -> None:
    args = arguments()
    if args.serial:
        letters.PARALLEL_FROM = 10**9
    bundle, generated = make_bundle(args)
    t0 = time.perf_counter()
    result = run(bundle, load_profile(args.profile))
    run_s = time.perf_counter() - t0
    assert result.determinations is not None, f"{args.profile} makes no determinations"
    times = []
    with tempfile.TemporaryDirectory(prefix="sedet-letters-") as tmp:
        for k in range(max(args.repeat, 1)):
            out = Path(tmp) / f"round{k}"
            t0 = time.perf_counter()
            paths = write_letters(result, out)
            times.append(time.perf_counter() - t0)
            print(f"round {k + 1}: {len(paths)} letters in {times[-1]:.2f} s")
        pages = [len(PdfReader(p).pages) for p in paths]
        size = sum(p.stat().st_size for p in paths)
    wall = statistics.median(times)
    figures = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "benchmark": "letters",
        "profile": args.profile,
        "bundle": str(bundle),
        "students": args.students if args.bundle is None else None,
        "districts": result.determinations.table.height,
        "run_s": round(run_s, 2),
        "repeat": max(args.repeat, 1),
        "letters": len(paths),
        "workers": 1 if args.serial or len(paths) <= letters.PARALLEL_FROM else os.cpu_count(),
        "letters_s": round(wall, 2),
        "letters_s_per_round": [round(t, 2) for t in times],
        "ms_per_letter": round(1000 * wall / max(len(paths), 1), 2),
        "pages_per_letter": round(statistics.mean(pages), 2) if pages else None,
        "mb_of_pdf": round(size / 1e6, 1),
    }
    print(json.dumps(figures, indent=2))
    with open(args.results, "a", encoding="utf-8") as f:
        f.write(json.dumps(figures) + "\n")
    if generated and not args.keep:
        shutil.rmtree(bundle, ignore_errors=True)


if __name__ == "__main__":
    main()
