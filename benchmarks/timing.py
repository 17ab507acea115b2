"""What the benchmarks share: a whole process timed, with its peak memory (GNU time)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")


def timed(cmd: list[str]) -> tuple[float, float | None]:
    """Run `cmd` as a whole process: its wall time in seconds and its peak resident memory in GB (None
    without /usr/bin/time). A failed command stops the benchmark with its output."""
    full = [str(GNU_TIME), "-f", "%M", *cmd] if GNU_TIME.exists() else cmd
    t0 = time.perf_counter()
    p = subprocess.run(full, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    peak = int(p.stderr.strip().splitlines()[-1]) / 1024 ** 2 if GNU_TIME.exists() else None  # KB -> GB
    return wall, peak


RESULTS = Path(__file__).with_name("results.jsonl")


def bundle_arguments(ap: argparse.ArgumentParser, *, students: int | list[int], repeat: int = 3) -> None:
    """The options of a benchmark that runs a profile on a bundle `sedet sample` makes (`students`: a
    list for a benchmark of several bundles)."""
    if isinstance(students, list):
        ap.add_argument("--students", type=int, nargs="+", default=students)
    else:
        ap.add_argument("--students", type=int, default=students)
    ap.add_argument("--districts", type=int, default=1000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", default="nj-ffy2022")
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--work", type=Path, default=Path("/tmp/sedet-bench"))
    ap.add_argument("--results", type=Path, default=RESULTS)


def sedet_command() -> str:
    return shutil.which("sedet") or sys.exit("sedet is not installed in this environment")


def sample_bundle(a: argparse.Namespace, students: int, fmt: str = "csv") -> Path:
    """The bundle of these options (<work>/s<students>-d<districts>-y<years>-seed<seed>-<fmt>, the one
    bench_determine.py uses), written with `sedet sample` when it is not there."""
    bundle = a.work / f"s{students}-d{a.districts}-y{a.years}-seed{a.seed}-{fmt}"
    if not bundle.exists():
        subprocess.run([sedet_command(), "sample", str(bundle), "--districts", str(a.districts), "--students",
                        str(students), "--years", str(a.years), "--seed", str(a.seed), "--format", fmt, "--quiet"],
                       check=True)
    return bundle
