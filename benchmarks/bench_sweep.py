r"""A 100-scenario `sedet sweep` against one `sedet determine` of the same bundle, side by side (issue 20,
item 2: the sweep takes at most 3 times the determination).

Not part of the test suite. Usage:

    python benchmarks/bench_sweep.py [--bundle DIR] [--students 3000000 --districts 1000 --years 3 --seed 1] \
        [--profile nj-ffy2022] [--repeat 3] [--work /tmp/sedet-bench] [--results FILE]

Without --bundle, the bundle is the one bench_determine.py makes for the same arguments
(<work>/s<students>-d<districts>-y<years>-seed<seed>-csv), generated with `sedet sample` when it is
not there. The sweep varies the risk-ratio threshold (2.0 to 4.25 by 0.25: 10 values), the minimum n
(10, 20, 30, 40, 50) and the minimum cell (5, 10): 100 scenarios. Each round runs both commands, as
whole processes, one after the other (this machine's speed drifts by 10-50% within minutes, so the
pairs are compared); the medians, their ratio and the peak memory (from /usr/bin/time) are printed
and appended as JSON lines to benchmarks/results.jsonl (or --results FILE).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
from datetime import date
from pathlib import Path

from timing import bundle_arguments, sample_bundle, sedet_command, timed  # benchmarks/timing.py

VARY = ["measures.disproportionality.threshold=2.0:4.25:0.25", "measures.disproportionality.min_n=10,20,30,40,50",
        "measures.disproportionality.min_cell=5,10"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", type=Path)
    bundle_arguments(ap, students=3_000_000)
    a = ap.parse_args()
    sedet = sedet_command()
    bundle = a.bundle or sample_bundle(a, a.students)
    vary = [x for v in VARY for x in ("--vary", v)]
    det, swp = [], []
    for _ in range(a.repeat):
        for out, runs, cmd in ((a.work / "bench-det", det, ["determine"]), (a.work / "bench-sweep", swp,
                                                                            ["sweep", *vary])):
            shutil.rmtree(out, ignore_errors=True)
            runs.append(timed([sedet, *cmd, str(bundle), "--profile", a.profile, "--out", str(out), "--quiet"]))
    d, s = statistics.median(w for w, _ in det), statistics.median(w for w, _ in swp)
    result = {"bench": "sweep", "date": date.today().isoformat(), "machine": platform.machine(),
              "bundle": bundle.name, "profile": a.profile, "scenarios": 100,
              "determine_s": [round(w, 2) for w, _ in det], "sweep_s": [round(w, 2) for w, _ in swp],
              "determine_median_s": round(d, 2), "sweep_median_s": round(s, 2), "ratio": round(s / d, 2),
              "determine_peak_gb": [round(p, 2) for _, p in det if p], "sweep_peak_gb": [round(p, 2) for _, p in swp
                                                                                      if p]}
    print(json.dumps(result))
    with open(a.results, "a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
