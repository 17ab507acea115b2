"""Settings of the process that libraries read when they load: set by `sedet`'s entry point before
polars is imported (docs/performance.md, "The allocator").

polars' allocator (jemalloc) is told by polars to hand freed memory back to the system after half a
second (`dirty_decay_ms:500`), through a second stage (`muzzy_decay_ms:1000`) in which the pages are
still counted as the process's. sedet keeps freed memory 250 ms, for the next query of the same run to
reuse, and then returns it at once (`muzzy_decay_ms:0`). Measured (nj-ffy2022, 2 cores, 2 runs each,
2026-12-07): 1M students 3.37-3.43 s and 0.73 GB, against 3.32-3.40 s and 1.04-1.07 GB when freed
memory was kept a minute (the setting before) and 4.4 s and 0.68 GB when it is returned at once;
3M students 5.35-5.48 s and 1.10 GB, against 5.16-5.32 s and 1.54-1.57 GB.
"""

from __future__ import annotations

import os

# One arena per core instead of jemalloc's four: memory one thread frees (the tables let go before the
# rows are sorted) is found again by the others sooner. 1M students, 2 cores, 3 rounds each, the same
# minutes: 0.55-0.56 GB against 0.57-0.58 GB (one arena 0.54-0.55), 3.8-4.6 s against 4.1-4.2 s.
MALLOC_CONF = f"dirty_decay_ms:250,muzzy_decay_ms:0,narenas:{os.cpu_count() or 1}"
# What `import polars` writes into the environment (polars/__init__.py), so what a child of a Python
# process that imported polars inherits: not a choice of the user's.
POLARS_MALLOC_DEFAULT = ("dirty_decay_ms:500", "muzzy_decay_ms:1000")


def malloc_conf(current: str | None) -> str:
    """The `_RJEM_MALLOC_CONF` to run with: MALLOC_CONF, then what the user set (jemalloc applies
    options in order, so the user's win); polars' own defaults inherited from a parent are dropped.
    polars puts its defaults before this value when it is imported."""
    user = [o for o in (current or "").split(",") if o.strip() and o.strip() not in POLARS_MALLOC_DEFAULT]
    return ",".join([MALLOC_CONF, *user])


def configure() -> None:
    """Set what polars and numpy read when they load (call before importing them)."""
    os.environ.setdefault("POLARS_FMT_TABLE_HIDE_DATAFRAME_SHAPE_INFORMATION", "1")
    # numpy (installed for `sedet sample`) starts an OpenBLAS thread per core that spins for a while
    # after each use; sedet does no linear algebra.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["_RJEM_MALLOC_CONF"] = malloc_conf(os.environ.get("_RJEM_MALLOC_CONF"))
