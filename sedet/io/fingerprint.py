"""SHA-256 fingerprints of the input files, for the manifest and the method sheet.

Hashing a large state's bundle takes more than half a CPU-second (905 MB in 0.57 s), on a machine
whose two cores the run otherwise keeps busy. So it is done in lowest-priority threads, in the
cycles nothing else wants, once the tables are read (load_bundle); whoever asks for a digest
finishes what is left at its own priority (`FileHash.digest`).

Tried and left (2026-11-23): starting the hashing before the imports, in 16 MB chunks, with the
state handed over to the asker without holding a lock while hashing. Alone, no faster beyond the
noise (0.03-0.06 s); beside two CPU-bound processes a 1M-student run took 6-47 s instead of
about 5 (threads at the lowest priority that need the GIL back stall the main thread).
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path


class FileHash:
    """The SHA-256 of one file, computed a chunk at a time by whichever thread gets there first:
    a background thread at the lowest priority, in cycles nothing else wants, or the thread that
    asks for the digest, which finishes it at its own priority. So a machine kept busy by other
    work cannot starve the wait (a lowest-priority thread alone might get 1% of a core there)."""

    CHUNK = 1 << 20

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._sha = hashlib.sha256()
        self._file: io.FileIO | None = None
        self._buffer = bytearray()
        self._digest: str | None = None
        self._wanted = False  # the digest is asked for: the background thread leaves the rest to the asker

    def _step(self) -> bool:
        """Hash the next chunk; False once the digest is known."""
        with self._lock:
            if self._digest is not None:
                return False
            if self._file is None:
                self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed in _step at the end
                self._buffer = bytearray(self.CHUNK)
            n = self._file.readinto(self._buffer)
            if n:
                self._sha.update(memoryview(self._buffer)[:n])  # releases the GIL
                return True
            self._file.close()
            self._buffer = bytearray()
            self._digest = self._sha.hexdigest()
            return False

    def run_in_background(self) -> None:
        while not self._wanted and self._step():
            pass

    def digest(self) -> str:
        self._wanted = True
        while self._step():
            pass
        assert self._digest is not None
        return self._digest


class Fingerprints(Mapping[str, str]):
    """File name -> SHA-256 of its bytes, computed in background threads while the measures are
    computed and the outputs written; reading a fingerprint finishes it if need be."""

    def __init__(self, pending: dict[str, FileHash]):
        self._pending = pending

    def __getitem__(self, name: str) -> str:
        return self._pending[name].digest()

    def __iter__(self) -> Iterator[str]:
        return iter(self._pending)

    def __len__(self) -> int:
        return len(self._pending)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, hashed here and now (FileHash reads into one reused buffer: a third
    less CPU than hashing chunks read as new bytes objects, 905 MB in 0.57 s against 0.85 s)."""
    return FileHash(path).digest()


def lowest_priority() -> None:
    """Run this thread at the lowest CPU priority (Linux schedules threads one by one): nice 19 and
    the SCHED_IDLE policy (run only when no other thread wants the core), so hashing the inputs
    takes the cycles computing and writing leave idle instead of slowing them."""
    if not sys.platform.startswith("linux"):  # elsewhere the id of a thread is not one setpriority takes
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except OSError:  # not allowed: hash at normal priority
        pass
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    except OSError:  # not allowed: nice 19 alone
        pass
