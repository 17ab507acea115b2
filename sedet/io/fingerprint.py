"""SHA-256 fingerprints of the input files, for the manifest and the Method sheet, and the counts
of separators that tell whether a CSV file has a short row.

A large state's bundle takes more than half a CPU-second to hash (905 MB at about 1.8 GB/s). Once
the tables are read (a bundle with problems is not hashed at all), the files are hashed in two
background threads while the measures are computed and the outputs written (hashlib releases the
GIL); reading a fingerprint waits for it. docs/performance.md has what this costs.

While a CSV file's bytes pass through, its commas and quotes are counted (numpy, outside the GIL):
a file without quotes whose records all have the header's number of fields has exactly (fields - 1)
commas a record. polars reads a row with too few fields as if the missing ones were empty, so this
count is how a short row is found without a second parse (io.bundle.Bundle.verify).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sedet.io.output import sha256_file

THREADS = 2
# 1 MB a read. With 16 MB, each thread's freed chunks (and numpy's comparison arrays of the same
# size) stayed with the C allocator instead of going back to the system: 67 MB more resident for the
# rest of the run on the 1M-student bundle (and more with each load in one process), for a pass
# 0.04 s slower (docs/performance.md section 13).
CHUNK = 1 << 20


@dataclass(frozen=True)
class Separators:
    """How many commas and quote characters a file holds."""

    commas: int
    quotes: int


def digest(path: Path) -> tuple[str, Separators | None]:
    """The SHA-256 of a file, and for a CSV file its separators, in one pass over its bytes."""
    if path.suffix.lower() != ".csv":
        return sha256_file(path), None
    h = hashlib.sha256()
    commas = quotes = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            view = np.frombuffer(chunk, np.uint8)
            commas += int(np.count_nonzero(view == 44))
            quotes += int(np.count_nonzero(view == 34))
    return h.hexdigest(), Separators(commas, quotes)


class Fingerprints(Mapping[str, str]):
    """File name -> SHA-256 of its bytes, hashed in the background; reading one waits for it."""

    def __init__(self, pending: Mapping[str, Future[tuple[str, Separators | None]]]):
        self._pending = dict(pending)

    @classmethod
    def start(cls, paths: Iterable[Path]) -> Fingerprints:
        """Begin hashing the files, largest first (so that the last to finish is a small one)."""
        files = sorted(paths, key=lambda p: (-p.stat().st_size, p.name))
        pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sedet-sha256")
        pending = {p.name: pool.submit(digest, p) for p in files}
        pool.shutdown(wait=False)  # the threads go on with the files submitted
        return cls(dict(sorted(pending.items())))

    def __getitem__(self, name: str) -> str:
        return self._pending[name].result()[0]

    def separators(self, name: str) -> Separators | None:
        """A CSV file's commas and quotes (waits for its pass); None for other files."""
        return self._pending[name].result()[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pending)

    def __len__(self) -> int:
        return len(self._pending)
