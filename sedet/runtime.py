"""Settings of the process that libraries read when they load: set by `sedet`'s entry point before
polars is imported (docs/performance.md, "The allocator").

polars' allocator (jemalloc) is told by polars to hand freed memory back to the system after half a
second (`dirty_decay_ms:500`); in a run of a few seconds polars then faults much of it back in, page
by page. Measured (3M students, nj-ffy2022, 10 interleaved runs): median 3.98 against 4.13 s, 0.31
CPU-s less, for a peak 0.3 GB higher (1.46 against 1.16 GB); the whole country (50M students,
streaming) 89.5 s and 4.33 GB against 91.1 s and 3.62 GB. Freed memory is still returned after a
minute, in the long runs.
"""

from __future__ import annotations

import os

MALLOC_CONF = "dirty_decay_ms:60000,muzzy_decay_ms:60000"
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
