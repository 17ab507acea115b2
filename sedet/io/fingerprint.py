"""SHA-256 fingerprints of the input files, for the manifest and the method sheet.

Hashing a large state's bundle takes more than half a CPU-second (905 MB in 0.57 s), on a machine
whose two cores the run otherwise keeps busy. So it is done in the cycles nothing else wants:
- `begin(bundle)`, called by the command before it imports polars and the rest of sedet (a
  quarter of a second on one core, the other idle), starts hashing the bundle's files in a
  lowest-priority thread;
- `load_bundle` takes those hashes over (`file_hash`) and, once the tables are read, adds two more
  lowest-priority threads;
- whoever asks for a digest finishes what is left at its own priority (`FileHash.digest`).

This module imports nothing heavy: it must be importable before polars.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".parquet")  # bundle.SUFFIXES, without importing bundle


class FileHash:
    """The SHA-256 of one file, computed a chunk at a time by whichever thread gets there first:
    a background thread at the lowest priority, in cycles nothing else wants, or the thread that
    asks for the digest, which finishes it at its own priority. So a machine kept busy by other
    work cannot starve the wait (a lowest-priority thread alone might get 1% of a core there).

    Chunks are 16 MB, read into one reused buffer: hashlib releases the GIL for each update, and a
    thread that wants the GIL back waits for the main thread to let go of it (up to 5 ms while that
    thread runs Python). Beside a busy main thread, a hashing thread got through about 95 MB a
    second with 1 MB chunks, about 780 with 16 MB. (Mapping the file instead of reading it would
    save a copy, but a file truncated meanwhile by another program would kill the process.)"""

    CHUNK = 16 << 20

    def __init__(self, path: Path, chunk: int = CHUNK):
        self.path = path
        self.chunk = chunk
        self._lock = threading.Lock()
        self._sha = hashlib.sha256()
        self._file: io.FileIO | None = None
        self._buffer = bytearray()
        self._digest: str | None = None
        self._wanted = False  # the digest is asked for: the background thread leaves the rest to the asker
        self.dropped = False  # not a file of the bundle after all: background threads leave it

    def _step(self) -> bool:
        """Hash the next chunk; False once the digest is known."""
        with self._lock:
            if self._digest is not None:
                return False
            if self._file is None:
                self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed in _step at the end
                self._buffer = bytearray(self.chunk)
            n = self._file.readinto(self._buffer)
            if n:
                self._sha.update(memoryview(self._buffer)[:n])  # releases the GIL
                return True
            self._file.close()
            self._buffer = bytearray()
            self._digest = self._sha.hexdigest()
            return False

    def run_in_background(self) -> None:
        try:
            while not self._wanted and not self.dropped and self._step():
                pass
        except OSError:  # unreadable or gone: the asker meets the error, where it can be reported
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


_started: dict[str, tuple[FileHash, tuple[int, int, int]]] = {}  # real path -> (hash begun early, file identity)
_started_lock = threading.Lock()


def _identity(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def begin(bundle: Path) -> None:
    """Start hashing the files of a bundle (a folder's table files, or one workbook) in a
    lowest-priority thread, largest first. A guess made before the bundle is read: files that turn
    out not to be tables are dropped by `keep`. Never raises: a bundle that cannot be listed is
    reported when it is read."""
    try:
        if bundle.is_dir():
            files = [Path(e.path) for e in os.scandir(bundle) if e.is_file() and not e.name.startswith(("~$", "."))
                     and os.path.splitext(e.name)[1].lower() in TABLE_SUFFIXES]
        elif bundle.is_file():
            files = [bundle]
        else:
            return
        begun = sorted(((FileHash(p), _identity(p)) for p in files), key=lambda x: -x[1][1])
    except OSError:
        return
    with _started_lock:
        for h, ident in begun:
            old = _started.get(os.path.realpath(h.path))
            if old is not None:
                old[0].dropped = True
            _started[os.path.realpath(h.path)] = (h, ident)

    def work() -> None:
        lowest_priority()
        for h, _ in begun:
            h.run_in_background()

    threading.Thread(target=work, name="sedet-fingerprints", daemon=True).start()


def file_hash(path: Path) -> FileHash:
    """The hash of this file begun by `begin` (taken: used once), or a new one. A file changed
    since (another inode, size or modification time) is hashed afresh."""
    with _started_lock:
        begun = _started.pop(os.path.realpath(path), None)
    if begun is not None:
        h, ident = begun
        try:
            if _identity(path) == ident:
                return h
        except OSError:
            pass
        h.dropped = True
    return FileHash(path)


def keep(paths: Iterable[Path]) -> None:
    """The bundle's files are known: stop hashing any other file `begin` took up."""
    wanted = {os.path.realpath(p) for p in paths}
    with _started_lock:
        for key in [k for k in _started if k not in wanted]:
            _started.pop(key)[0].dropped = True
