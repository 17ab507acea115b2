"""Writing files: all or nothing, and their fingerprints.

A run's output folder (`staged_output`) is written, complete, into a staging folder beside it,
`.<name>.sedet-XXXXXXXX/run`, and then swapped in whole with one rename: on Linux
`renameat2(RENAME_EXCHANGE)`, which exchanges the two folders atomically; the previous run ends up
inside the staging folder, which is then removed. A process killed at any instant (even `kill -9`)
leaves `--out` entirely old or entirely new (or absent if it never existed). Where the exchange is
not available (another system, a file system without it) the swap is two renames, the old folder
into the staging folder and the new one into place: killed between the two, `--out` is missing
for that instant and the old run waits in the staging folder; the next run into `--out` puts it
back before it starts.

The staging folder holds a marker file, `.sedet-staging`, made and locked (`flock`) first; the
lock lives as long as the run's process. A run removes the staging folders of earlier runs into the
same `--out` that a killed process left: only folders named like its own and holding the marker,
and only when no live process holds the marker's lock (a concurrent run into the same folder keeps
its own). Where the file system has no locks, a leftover is removed only when the marker names this
host and a process id that is gone. A run killed in the instant between making its staging folder
and marking it leaves an empty folder: one older than a few seconds (CREATION_GRACE; a younger one
may be a concurrent run's, about to be marked) is removed with rmdir, which removes only an empty
folder.

A folder that sedet did not write is never deleted: `--out` must be absent, empty, or the output of
an earlier run (its manifest.json, written by sedet, lists every file in it). A file added to a
run's folder by hand makes the next run refuse, rather than delete it.

`sedet sample` (`whole_folder=False`) fills a folder instead: each file replaces its namesake, the
folder's other files stay. The reports use this module, and nothing else of sedet.io.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from sedet import __version__
from sedet.errors import OutputError

MARKER = ".sedet-staging"  # in every staging folder, written first and locked while the run lives
NEW = "run"  # the new run inside the staging folder
OLD = "old"  # the previous run, between the two renames of the fallback swap
CREATION_GRACE = 5.0  # seconds: a staging folder this young may be a live run's, not yet marked or locked
LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})  # written by file browsers, not by a user
STOP_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)
PAUSE_ENV = "SEDET_TEST_PAUSE_AT_SWAP"  # test only (tests/cli/test_faults.py), see `_pause`

# The folders this process has replaced or filled, for the message of an interrupted command
# (the CLI empties it when a command starts).
finished: list[Path] = []


def check_out(target: Path) -> Path:
    """The resolved `target`, after removing leftovers of killed runs beside it; an OutputError when
    it is a file, or a folder that sedet must not replace (not empty and not a run's output)."""
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise OutputError(f"--out {str(target)!r} is a file, not a folder")
    remove_leftovers(target)
    _check_replaceable(target)
    return target


@contextmanager
def staged_output(target: Path, *, whole_folder: bool = True) -> Iterator[Path]:
    """Yield a fresh folder to write into; on success it replaces `target` as a whole (after
    `check_out`), or with `whole_folder=False` its files replace their namesakes in `target`."""
    if whole_folder:
        target = check_out(target)
    else:
        target = target.resolve()
        if target.exists() and not target.is_dir():
            raise OutputError(f"{str(target)!r} is a file, not a folder")
        remove_leftovers(target)
    made: list[tuple[Path, IO[str]]] = []
    try:
        with signals_held():  # an interrupt comes once the staging folder is made and marked, and removes it
            made.append(_new_staging(target))
        staging = made[0][0]
        new = staging / NEW
        new.mkdir()
        yield new
        if whole_folder:
            _replace(new, target, staging)
        else:
            with signals_held():
                _move_into(new, target)
                finished.append(target)
    finally:
        for staging, marker in made:
            _remove_staging(staging)
            marker.close()


def _replace(new: Path, target: Path, staging: Path) -> None:
    _check_replaceable(target)  # again: a file may have been put into it during the run
    with suppress(OSError):
        new.chmod(stat.S_IMODE(target.stat().st_mode))  # the mode a colleague may have given the folder
    _pause("before")
    # SIGINT, SIGTERM and SIGHUP wait until the swap is done and the old run is gone, so that the
    # message of an interrupted run can say which of the two is in place.
    with signals_held():
        try:
            _swap(new, target, staging)
        except OSError as e:
            raise OutputError(f"cannot put the results in place at {str(target)!r}: {e.strerror or e}") from None
        finished.append(target)
        _pause("after")
        _remove_staging(staging)


def _swap(new: Path, target: Path, staging: Path) -> None:
    if not os.path.lexists(target):
        os.rename(new, target)
    elif not _exchange(new, target):
        old = staging / OLD
        os.rename(target, old)  # from here ...
        try:
            os.rename(new, target)  # ... to here --out is missing; killed between, the next run puts `old` back
        except OSError:
            os.rename(old, target)
            raise


def _move_into(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.replace(tmp, target)
        return
    for item in sorted(tmp.iterdir()):
        dest = target / item.name
        if item.is_dir():
            if dest.exists():
                old = target / f".{item.name}.sedet-old"
                shutil.rmtree(old, ignore_errors=True)
                os.replace(dest, old)
                os.replace(item, dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(item, dest)
        else:
            os.replace(item, dest)


# ---------------------------------------------------------------------------------------------------
# Which folder may be replaced


def _check_replaceable(target: Path) -> None:
    try:
        if all(p.name in LITTER for p in target.iterdir()):
            return  # empty (a file browser's own files aside)
    except FileNotFoundError:
        return
    except OSError as e:
        raise OutputError(f"--out {str(target)!r} cannot be read: {e.strerror or e}") from None
    listed = _manifest_files(target)
    if listed is None:
        raise OutputError(
            f"--out {str(target)!r} is not empty and is not the output of a sedet run (it has no manifest.json "
            "written by sedet); sedet replaces its output folder as a whole and does not delete a folder it did "
            "not write", hint="choose a new or empty folder for --out")
    extra = unlisted_files(target, listed)
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise OutputError(
            f"--out {str(target)!r} holds files that its sedet run did not write ({shown}); sedet replaces its "
            "output folder as a whole and would delete them",
            hint="move them out of the folder, or choose another folder for --out")


def _manifest_files(folder: Path) -> set[str] | None:
    """The files a run's manifest.json lists (with manifest.json itself); None when the folder
    has no manifest written by sedet."""
    try:
        doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("tool") != "sedet" or not isinstance(doc.get("outputs"), list):
        return None
    files = {o.get("file") for o in doc["outputs"] if isinstance(o, dict)}
    return {f for f in files if isinstance(f, str)} | {"manifest.json"}


def unlisted_files(folder: Path, listed: set[str]) -> list[str]:
    """The files and folders under `folder` that `listed` (relative POSIX paths) does not account
    for, file browsers' own files aside; a folder is shown once, with a trailing '/'."""
    dirs = {parent.as_posix() for f in listed for parent in Path(f).parents} - {"."}
    found = []
    for root, subdirs, files in os.walk(folder):
        here = Path(root).relative_to(folder)
        for d in subdirs:
            if (here / d).as_posix() not in dirs:
                found.append((here / d).as_posix() + "/")
        subdirs[:] = [d for d in subdirs if (here / d).as_posix() in dirs]
        found += [(here / f).as_posix() for f in files if (here / f).as_posix() not in listed and f not in LITTER]
    return sorted(found)


# ---------------------------------------------------------------------------------------------------
# Staging folders, and what killed runs left


def _new_staging(target: Path) -> tuple[Path, IO[str]]:
    """A staging folder beside `target` and its marker, open and locked for the life of this process."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.sedet-", dir=target.parent))
    except OSError as e:
        raise OutputError(f"cannot write beside {str(target)!r}: {e.strerror or e}") from None
    try:
        marker = open(staging / MARKER, "x", encoding="utf-8")  # noqa: SIM115 - held open until the run ends
    except OSError as e:
        staging.rmdir()
        raise OutputError(f"cannot write beside {str(target)!r}: {e.strerror or e}") from None
    _lock(marker)
    marker.write(f"sedet {__version__} pid {os.getpid()} host {socket.gethostname()}\n")
    marker.flush()
    return staging, marker


def _lock(fh: IO[str]) -> bool | None:
    """Lock `fh` (not blocking): True if locked, False if another process holds it, None where the
    file system has no locks."""
    try:
        import fcntl
    except ImportError:  # not on this system
        return None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def remove_leftovers(target: Path) -> None:
    """Remove the staging folders that killed runs into `target` left beside it (see the module's
    docstring for which); put back a previous run that a killed fallback swap left in one."""
    name = re.compile(re.escape(f".{target.name}.sedet-") + r"[a-z0-9_]{8}")
    try:
        candidates = [p for p in target.parent.iterdir() if name.fullmatch(p.name)]
    except OSError:
        return
    for folder in sorted(candidates):
        if folder.is_dir() and not folder.is_symlink():
            with suppress(OSError):
                _remove_leftover(folder, target)


def _remove_leftover(folder: Path, target: Path) -> None:
    try:
        marker = open(folder / MARKER, encoding="utf-8")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        # Not a staging folder of sedet's, unless empty: one whose run was killed before marking it
        # (or after removing the marker). rmdir removes only an empty folder: nothing is lost.
        if _older_than(folder, CREATION_GRACE):
            folder.rmdir()
        return
    with marker:
        if not _abandoned(marker, folder / MARKER):
            return
        old = folder / OLD
        if old.is_dir() and not os.path.lexists(target):
            os.rename(old, target)
        _remove_staging(folder)


def _abandoned(marker: IO[str], path: Path) -> bool:
    """Whether no live run owns the staging folder of this marker."""
    locked = _lock(marker)
    if locked is False:
        return False  # a live run holds the lock
    text = marker.read()
    if locked is None:
        return _owner_gone(text)
    if not text:  # written first thing after the lock: a run may be between creating and locking it
        return _older_than(path, CREATION_GRACE)
    return True


def _older_than(path: Path, seconds: float) -> bool:
    return time.time() - path.stat().st_mtime > seconds


def _owner_gone(text: str) -> bool:
    """Without locks: the marker names this host and a process that no longer exists."""
    m = re.search(r" pid (\d+) host (\S+)", text)
    if not m or m[2] != socket.gethostname():
        return False
    try:
        os.kill(int(m[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _remove_staging(folder: Path) -> None:
    """Remove a staging folder, its marker last: a removal cut short leaves a folder the next run
    still recognises."""
    try:
        children = [p for p in folder.iterdir() if p.name != MARKER]
    except OSError:
        return
    for p in children:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with suppress(OSError):
                p.unlink()
    with suppress(OSError):
        (folder / MARKER).unlink()
        folder.rmdir()


# ---------------------------------------------------------------------------------------------------
# The swap


AT_FDCWD = -100
RENAME_EXCHANGE = 2
SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276}


def _exchange(a: Path, b: Path) -> bool:
    """Exchange two paths atomically (Linux renameat2 with RENAME_EXCHANGE); False when this system
    or file system cannot, and the caller must do otherwise."""
    call = renameat2()
    if call is None:
        return False
    if call(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # no renameat2 in this kernel, or no RENAME_EXCHANGE on this file system
    raise OSError(code, os.strerror(code), str(b))


@functools.cache
def renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """libc's renameat2 (glibc 2.28 and later), else the system call itself on x86_64 and aarch64;
    None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        fn = libc.renameat2
    except AttributeError:
        return renameat2_syscall()
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def renameat2_syscall() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """renameat2 through syscall(2), for a libc that lacks the wrapper."""
    number = SYS_RENAMEAT2.get(platform.machine())
    if number is None or not sys.platform.startswith("linux"):
        return None
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    syscall.restype = ctypes.c_long

    def call(olddirfd: int, old: bytes, newdirfd: int, new: bytes, flags: int) -> int:
        return syscall(ctypes.c_long(number), ctypes.c_int(olddirfd), ctypes.c_char_p(old), ctypes.c_int(newdirfd),
                       ctypes.c_char_p(new), ctypes.c_uint(flags))

    return call


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP that arrive in the block are delivered when it ends (main thread
    only: elsewhere Python runs no signal handler anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    saved = {}
    for sig in STOP_SIGNALS:
        handler = signal.getsignal(sig)
        if handler is None or handler == signal.SIG_IGN:
            continue
        saved[sig] = handler
        signal.signal(sig, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if caught:
            signal.raise_signal(caught[0])


def _pause(when: str) -> None:
    """Test only: with SEDET_TEST_PAUSE_AT_SWAP=<seconds> in the environment, a run says on stderr
    that it is just before (or just after) the swap and waits that long, so that
    tests/cli/test_faults.py can kill it at that instant. Never set it otherwise."""
    seconds = os.environ.get(PAUSE_ENV)
    if seconds:
        sys.stderr.write(f"{PAUSE_ENV}: {when} the swap\n")
        sys.stderr.flush()
        time.sleep(float(seconds))


# ---------------------------------------------------------------------------------------------------
# Single files


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target` in one rename, so a
    reader never sees half a file. After a failure `target` is as it was."""
    tmp = target.with_name(f".{target.name}.sedet-tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as e:
        raise OutputError(f"{target}: cannot be written ({e.strerror or e})") from None
    finally:
        tmp.unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file (hashlib.file_digest reads it into one reused buffer)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
