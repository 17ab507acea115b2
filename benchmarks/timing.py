"""What the benchmarks share: a whole process timed, with its peak memory (GNU time)."""

from __future__ import annotations

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
