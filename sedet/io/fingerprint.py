"""SHA-256 fingerprints of the input files, for the manifest and the Method sheet.

A large state's bundle takes more than half a CPU-second to hash (905 MB at about 1.8 GB/s). Once
the tables are read (a bundle with problems is not hashed at all), the files are hashed in two
background threads while the measures are computed and the outputs written (hashlib releases the
GIL); reading a fingerprint waits for it. docs/performance.md has what this costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sedet.io.output import sha256_file

THREADS = 2


class Fingerprints(Mapping[str, str]):
    """File name -> SHA-256 of its bytes, hashed in the background; reading one waits for it."""

    def __init__(self, pending: Mapping[str, Future[str]]):
        self._pending = dict(pending)

    @classmethod
    def start(cls, paths: Iterable[Path]) -> Fingerprints:
        """Begin hashing the files, largest first (so that the last to finish is a small one)."""
        files = sorted(paths, key=lambda p: (-p.stat().st_size, p.name))
        pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sedet-sha256")
        pending = {p.name: pool.submit(sha256_file, p) for p in files}
        pool.shutdown(wait=False)  # the threads go on with the files submitted
        return cls(dict(sorted(pending.items())))

    def __getitem__(self, name: str) -> str:
        return self._pending[name].result()

    def __iter__(self) -> Iterator[str]:
        return iter(self._pending)

    def __len__(self) -> int:
        return len(self._pending)
