"""SHA-256 fingerprints of the input files, for the manifest and the method sheet.

Hashing a large state's bundle takes more than half a CPU-second (905 MB in 0.52 s), on a machine
whose two cores the run otherwise keeps busy. So it is done in the cycles nothing else wants:
- `determine` starts a separate process at the lowest priority (`HashProcess`) before it imports
  anything heavy: while the main thread imports polars, typer and the profile (about 0.3 s of one
  core), the other core is idle, and the child hashes there; then it takes what idle moments the
  run leaves. Being another process, it never waits on this one's GIL.
- without such a child (load_bundle called from elsewhere), the files are hashed in
  lowest-priority threads here once the tables are read (load_bundle).
Either way, whoever asks for a digest the background has not delivered hashes that file at its
own priority (`FileHash.digest`), after stopping the child (on a busy machine it may be starved).

Measured (3M students, nj-ffy2022, 11 interleaved runs): 4.13 s against 4.27 s with the threads
alone; beside two CPU-bound processes (1M students) 5.0-5.7 s against 4.9-6.7 s. The imports
leave it about 0.2 s: the child delivers the largest file's digest about 1.7 s into the run and
the last about 2.5 s in, while the tables are read, in time for the manifest in every run seen.
What the fingerprints cost in all: 0.2 s of wall time (median of 8 interleaved runs with the
hashing taken out: 3.93 against 4.16 s, 0.55 CPU-s), the price of the manifest's input SHA-256.

Tried and left (2026-11-23): starting the hashing before the imports in threads of this process,
in 16 MB chunks, with the state handed over to the asker without holding a lock while hashing.
Alone, no faster beyond the noise (0.03-0.06 s); beside two CPU-bound processes a 1M-student run
took 6-47 s instead of about 5 (threads at the lowest priority that need the GIL back stall the
main thread).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
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


# The child: lowest priority, then each file's digest as soon as it is known (digest, path, NUL).
CHILD = """
import hashlib, os, sys
try:
    os.nice(19)
except (AttributeError, OSError):
    pass
out = sys.stdout.buffer
for p in sys.argv[1:]:
    try:
        with open(p, "rb") as fh:
            d = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        continue
    out.write(d.encode() + os.fsencode(p) + b"\\0")
    out.flush()
"""


class HashProcess:
    """SHA-256 of files, computed in a child process at the lowest priority (nice 19), largest file
    first. `get` answers without waiting: a digest the child has not reported is None, and the
    asker hashes that file itself (after `stop`, so the two do not compete for the cores)."""

    def __init__(self, paths: Iterable[Path]):
        self._done: dict[Path, str] = {}
        self._lock = threading.Lock()
        files = sorted({Path(p) for p in paths}, key=lambda p: (-p.stat().st_size, p.name))
        self._proc: subprocess.Popen[bytes] | None = None
        if not files:
            return
        try:
            self._proc = subprocess.Popen([sys.executable, "-c", CHILD, *map(str, files)], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:  # no process to be had: the files are hashed here, as without it
            return
        threading.Thread(target=self._collect, args=(self._proc,), daemon=True).start()

    @classmethod
    def for_bundle(cls, path: Path, is_table_file: Callable[[Path], bool]) -> HashProcess:
        """For the table files of a bundle folder (schema.is_table_file), or for one workbook."""
        try:
            files = [path] if path.is_file() else [p for p in path.iterdir() if is_table_file(p)] if path.is_dir() else []
        except OSError:  # unreadable: load_bundle says so
            files = []
        return cls(files)

    def _collect(self, proc: subprocess.Popen[bytes]) -> None:
        """Take each record as it comes: 64 hex digits, the path, NUL."""
        assert proc.stdout is not None
        pending = b""
        while chunk := proc.stdout.read1(1 << 16):
            *records, pending = (pending + chunk).split(b"\0")
            with self._lock:
                for r in records:
                    self._done[Path(os.fsdecode(r[64:]))] = r[:64].decode()

    def get(self, path: Path) -> str | None:
        with self._lock:
            return self._done.get(Path(path))

    def stop(self) -> None:
        """End the child if it is still hashing (its finished digests are kept)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.kill()
            except OSError:
                pass
            proc.wait()


class Fingerprints(Mapping[str, str]):
    """File name -> SHA-256 of its bytes, computed in background while the measures are computed
    and the outputs written; reading a fingerprint finishes it if need be."""

    def __init__(self, pending: dict[str, FileHash], early: HashProcess | None = None):
        self._pending = pending
        self._early = early

    def __getitem__(self, name: str) -> str:
        h = self._pending[name]
        if self._early is not None:
            d = self._early.get(h.path)
            if d is not None:
                return d
            self._early.stop()
        return h.digest()

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
