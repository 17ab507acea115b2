"""Time the 14 risk-ratio categories over three years on a large bundle from `sedet sample`.

Not part of the test suite. Usage:

    python benchmarks/bench_disproportionality.py --students 3000000 --districts 1000 --years 3

Generates the bundle (unless it exists under --work), then, in this process: loads and checks
the `enrollment` and `discipline` tables (timed), computes every disproportionality row for
all 14 categories, three years, 7 groups and every LEA (timed; one collect), and the
discipline discrepancy (4A/4B). Reports wall times, rows, and the process's peak resident
memory. Appends a JSON line to benchmarks/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=3_000_000)
    ap.add_argument("--districts", type=int, default=1000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", default="csv", choices=["csv", "parquet"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/sedet-bench"))
    args = ap.parse_args()

    bundle = args.work / f"s{args.students}-d{args.districts}-y{args.years}-seed{args.seed}-{args.format}"
    if not bundle.exists():
        args.work.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sedet.cli", "sample", str(bundle), "--students", str(args.students),
                        "--districts", str(args.districts), "--years", str(args.years), "--seed", str(args.seed),
                        "--format", args.format, "--quiet"], check=True)
        print(f"generated {bundle} in {time.perf_counter() - t:.1f} s")

    import polars as pl

    from sedet.io import schema as S
    from sedet.io.discover import discover
    from sedet.io.read import categorical_columns, category_dtype, read_raw, small_int_columns
    from sedet.io.table import TableSpec, finish, read_table
    from sedet.io.typed import Codes
    from sedet.measures.discipline import discipline_measures
    from sedet.measures.disproportionality import CATEGORIES, disproportionality_measures
    from sedet.pipeline import load_spec
    from sedet.profile import load_profile

    profile = load_profile("nj-ffy2022")
    params = profile.measures.disproportionality.model_copy(update={"categories": list(CATEGORIES)})
    sources = {s.table: s for s in discover(bundle)}
    t0 = time.perf_counter()
    frames = {}
    spec = load_spec(profile, pruned=False)
    codes = Codes(spec.code_lists, spec.code_maps)
    categories: dict = {}  # the run's category set of each Categorical column, as the loader keeps them
    for name in ("enrollment", "discipline", "compliance"):
        src = sources[name]
        table = TableSpec(S.TABLES[name], codes, spec.columns.get(name), tuple(spec.checks.get(name, ())))
        raw, offset = read_raw(src, None, table.kinds(), None, categories)
        read = read_table(table, src, raw, offset, 100)
        assert read.frame is not None, read.problems
        kept = {c: category_dtype(c, categories) for c in categorical_columns(name)}
        frames[name] = finish(table.table, read.frame, kept | {c: pl.Int16() for c in small_int_columns(name)})
    load_s = time.perf_counter() - t0
    years = sorted(frames["enrollment"].get_column("school_year").unique().to_list())
    year = years[-1]

    t1 = time.perf_counter()
    rows = disproportionality_measures(frames["enrollment"].lazy(), frames["discipline"].lazy(), params, year, years,
                                       frames["compliance"].lazy()).collect()
    dispro_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    disc = discipline_measures(frames["enrollment"].lazy(), frames["discipline"].lazy(), profile.measures.discipline,
                               year, frames["compliance"].lazy()).collect()
    disc_s = time.perf_counter() - t2
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "bench": "disproportionality",
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "students": args.students,
        "districts": args.districts,
        "years": args.years,
        "enrollment_rows": frames["enrollment"].height,
        "discipline_rows": frames["discipline"].height,
        "load_and_check_s": round(load_s, 2),
        "categories": len(CATEGORIES),
        "risk_ratio_rows": rows.filter(pl.col("measure").is_in(["risk_ratio", "alternate_risk_ratio"])).height,
        "disproportionality_s": round(dispro_s, 2),
        "discipline_4ab_s": round(disc_s, 2),
        "discipline_measure_rows": disc.height,
        "peak_mb": round(peak_mb),
    }
    print(json.dumps(result, indent=2))
    with open(Path(__file__).with_name("results.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
