"""Writing files: all or nothing, and their fingerprints.

Files are written to a temporary folder (or file) beside the target, then moved in. After a failure
the target folder is as it was: the temporary folder is removed and nothing in the target has been
touched. Each finished file replaces its namesake with an atomic rename. The reports use this
module, and nothing else of sedet.io.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sedet.errors import OutputError


@contextmanager
def staged_output(target: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success move its contents into `target`."""
    target = target.resolve()
    if target.exists() and not target.is_dir():
        raise OutputError(f"--out {str(target)!r} is a file, not a folder")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.sedet-", dir=parent))
        # mkdtemp makes a private (0700) folder; results are for colleagues too: use the umask.
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
    except OSError as e:
        raise OutputError(f"cannot write beside {str(target)!r}: {e.strerror}") from None
    try:
        yield tmp
        _move_into(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
