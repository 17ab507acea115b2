"""All-or-nothing output: files are written to a temporary folder beside the target, then moved in.

After a failure the target folder is as it was: the temporary folder is removed and nothing in the
target has been touched. Each finished file replaces its namesake with an atomic rename.
"""

from __future__ import annotations

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
