r"""`sedet determine` on a Parquet bundle beside polars reading every file of it, side by side (issue 20,
item 5: once parsing is cheap, how much of the run is sedet's own work).

Not part of the test suite. Usage:

    python benchmarks/bench_parquet.py [--students 1000000 --districts 1000 --years 3 --seed 1] \
        [--profile nj-ffy2022] [--repeat 5] [--work /tmp/sedet-bench] [--results FILE]

The bundle is written by `sedet sample --format parquet` when missing
(<work>/s<students>-d<districts>-y<years>-seed<seed>-parquet). Each round runs, as whole processes
under /usr/bin/time, a Python process that reads every file with `polars.read_parquet` and
`sedet determine --quiet`; the medians of wall time and peak memory and their ratios are printed and
appended to benchmarks/results.jsonl (or --results FILE). The phases of one in-process run follow
(docs/performance.md section 11).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
from datetime import date

from timing import bundle_arguments, sample_bundle, sedet_command, timed  # benchmarks/timing.py

READ = ("import sys, pathlib, polars as pl\n"
        "frames = [pl.read_parquet(p) for p in sorted(pathlib.Path(sys.argv[1]).glob('*.parquet'))]")


def main() -> None:
    ap = argparse.ArgumentParser()
    bundle_arguments(ap, students=1_000_000, repeat=5)
    a = ap.parse_args()
    sedet = sedet_command()
    bundle = sample_bundle(a, a.students, "parquet")
    out = a.work / "bench-parquet-out"
    reads, runs = [], []
    for _ in range(a.repeat):
        reads.append(timed([sys.executable, "-c", READ, str(bundle)]))
        shutil.rmtree(out, ignore_errors=True)
        runs.append(timed([sedet, "determine", str(bundle), "--profile", a.profile, "--out", str(out), "--quiet"]))
    rs, ds = statistics.median(w for w, _ in reads), statistics.median(w for w, _ in runs)
    rm, dm = statistics.median(m for _, m in reads), statistics.median(m for _, m in runs)
    result = {"bench": "parquet", "date": date.today().isoformat(), "machine": platform.machine(),
              "bundle": bundle.name, "profile": a.profile, "read_s": round(rs, 2), "read_gb": round(rm, 3),
              "determine_s": round(ds, 2), "determine_gb": round(dm, 3), "time_ratio": round(ds / rs, 1),
              "memory_ratio": round(dm / rm, 1)}
    print(json.dumps(result))
    with open(a.results, "a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
