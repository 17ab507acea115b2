r"""Peak memory of `sedet determine` beside a plain pandas script computing a subset of the same measures
(benchmarks/pandas_baseline.py), on the same bundles, side by side (issue 20, item 4).

Not part of the test suite; needs pandas (`pip install pandas`), which sedet does not. Usage:

    python benchmarks/bench_memory.py [--students 1000000 3000000] [--districts 1000 --years 3 --seed 1] \
        [--profile nj-ffy2022] [--repeat 3] [--work /tmp/sedet-bench] [--results FILE]

The bundles are bench_determine.py's (<work>/s<students>-d<districts>-y<years>-seed<seed>-csv), generated
with `sedet sample` when missing. Each round runs the pandas script, then `sedet determine --quiet`, as
whole processes under /usr/bin/time; the medians of wall time and peak resident memory, and sedet's
peak as a share of the script's, are printed and appended to benchmarks/results.jsonl (or --results).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
from datetime import date
from pathlib import Path

from timing import bundle_arguments, sample_bundle, sedet_command, timed  # benchmarks/timing.py

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    bundle_arguments(ap, students=[1_000_000, 3_000_000])
    a = ap.parse_args()
    sedet = sedet_command()
    if not Path("/usr/bin/time").exists():
        sys.exit("needs /usr/bin/time (GNU time) to measure peak memory")
    for students in a.students:
        bundle = sample_bundle(a, students)
        pandas, ours = [], []
        out = a.work / "bench-memory-out"
        for _ in range(a.repeat):
            pandas.append(timed([sys.executable, str(HERE / "pandas_baseline.py"), str(bundle)]))
            shutil.rmtree(out, ignore_errors=True)
            ours.append(timed([sedet, "determine", str(bundle), "--profile", a.profile, "--out", str(out),
                               "--quiet"]))
        pm, sm = statistics.median(m for _, m in pandas), statistics.median(m for _, m in ours)
        result = {"bench": "memory", "date": date.today().isoformat(), "machine": platform.machine(),
                  "bundle": bundle.name, "profile": a.profile,
                  "pandas_s": [round(w, 2) for w, _ in pandas], "pandas_gb": [round(m, 3) for _, m in pandas],
                  "sedet_s": [round(w, 2) for w, _ in ours], "sedet_gb": [round(m, 3) for _, m in ours],
                  "pandas_median_gb": round(pm, 3), "sedet_median_gb": round(sm, 3), "share": round(sm / pm, 2)}
        print(json.dumps(result))
        with open(a.results, "a", encoding="utf-8") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
