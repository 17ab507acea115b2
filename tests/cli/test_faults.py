"""Faults (issue 17): a run killed at any instant leaves --out wholly old or wholly new, no process of
the run outlives it, and the next run removes what it left; SIGTERM, SIGHUP and SIGINT stop a run
cleanly; a folder sedet did not write is never replaced.

The kill tests run the real command (`sedet determine ... --per-district`) on a
synthetic bundle large enough for the worker processes of district.py, into an --out that holds an
earlier complete run, and compare --out byte for byte with reference copies of the two runs.
SEDET_TEST_PAUSE_AT_SWAP (sedet/io/output.py, test only) holds a run just before and just after the
swap, so that a kill lands there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sedet.cli import Interrupted, app, interrupted
from sedet.errors import OutputError
from sedet.io import output
from sedet.io.output import MARKER, PAUSE_ENV, remove_leftovers, staged_output
from sedet.report.district import PARALLEL_FROM
from sedet.sample import make_bundle

PROFILE = "nj-ffy2022"
# the installed command (workers start faster from it than from `python -m sedet.cli`)
SCRIPT = Path(sys.executable).with_name("sedet")
SEDET = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "sedet.cli"]
PAUSE = "0.5"  # seconds a run waits at the swap when PAUSE_ENV is set
POOL = (os.cpu_count() or 1) > 1  # district.py starts worker processes only with more than one CPU


# ---------------------------------------------------------------------------------------------------
# Helpers: a run in its own session, what is on disk, which processes live


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> set[str]:
    return {p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.sedet-")}


def session_processes(sid: int) -> dict[int, str]:
    """Live processes (zombies aside) of session `sid`: {pid: command line}."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] not in "ZX":
                found[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return found


def worker_pids(pid: int) -> set[int]:
    """The worker processes `pid` started (its children running multiprocessing's spawn_main)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return set()
    found = set()
    for child in children:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(int(child))
    return found


class Run:
    """`sedet determine` in a session of its own (the pid is the session and process-group id)."""

    def __init__(self, bundle: Path, out: Path, *extra: str, pause: bool = False, per_district: bool = True):
        env = {k: v for k, v in os.environ.items() if k != PAUSE_ENV}
        if pause:
            env[PAUSE_ENV] = PAUSE
        self.out = out
        self.before = leftovers(out)
        self.started = time.monotonic()
        self.proc = subprocess.Popen([*SEDET, "determine", str(bundle), "--profile", PROFILE, "--out", str(out),
                                      "-q", *(["--per-district"] if per_district else []), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, env=env)
        os.set_blocking(self.proc.stderr.fileno(), False)
        self.err = b""
        self.workers: set[int] = set()
        self.duration = 0.0

    def staging(self) -> Path | None:
        new = sorted(leftovers(self.out) - self.before)
        return self.out.parent / new[0] if new else None

    def wait_for(self, event: str, deadline: float = 60.0, may_end: bool = False) -> bool:
        """Until `event`: "t=<seconds>" since the start, "staged" (its staging folder is marked),
        "workers" (worker processes run), "written=<n>" (n district workbooks staged), or
        "before"/"after" (the swap, with `pause`). False if the run ended first (`may_end`)."""
        end = time.monotonic() + deadline
        while not self._reached(event):
            if may_end and self.proc.poll() is not None:
                return False
            assert self.proc.poll() is None, f"the run ended before {event!r}: {self.err.decode()}"
            assert time.monotonic() < end, f"no {event!r} within {deadline} s"
            time.sleep(0.01)
        return True

    def _reached(self, event: str) -> bool:
        kind, _, arg = event.partition("=")
        if kind == "t":
            return time.monotonic() - self.started >= float(arg)
        with contextlib.suppress(BlockingIOError):
            self.err += os.read(self.proc.stderr.fileno(), 65536)
        if kind in ("before", "after"):
            return f"{PAUSE_ENV}: {kind} the swap".encode() in self.err
        self.workers |= worker_pids(self.proc.pid)
        staging = self.staging()
        if staging is None:
            return False
        if kind == "workers":
            return bool(self.workers)
        if kind == "written":
            return len(list((staging / "run" / "districts").glob("*.xlsx"))) >= int(arg)
        return kind == "staged" and (staging / MARKER).exists()

    def stop(self, sig: int = signal.SIGKILL, group: bool = False) -> tuple[int, str]:
        """Send `sig` (to the process, or to its group as a terminal's Ctrl-C does); wait until the
        run and every process it started are gone. Returns the exit code and stderr."""
        self.workers |= worker_pids(self.proc.pid)
        (os.killpg if group else os.kill)(self.proc.pid, sig)
        return self.finish()

    def finish(self) -> tuple[int, str]:
        os.set_blocking(self.proc.stderr.fileno(), True)
        try:
            # EOF on both pipes: no process of the run (a worker, the resource tracker) holds them
            _, err = self.proc.communicate(timeout=20)
            end = time.monotonic() + 10
            while (alive := session_processes(self.proc.pid)) and time.monotonic() < end:
                time.sleep(0.02)
            assert not alive, f"processes outlived the run: {alive}"
        finally:  # after a failure above: leave no process behind
            for pid in session_processes(self.proc.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.kill()
        self.duration = time.monotonic() - self.started
        return self.proc.returncode, (self.err + err).decode()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A bundle with enough LEAs for the worker processes, and reference copies of two runs: `old`
    (--year 2022, without --per-district: quicker) and `new` (the latest year, --per-district)."""
    root = tmp_path_factory.mktemp("faults")
    bundle = root / "bundle"
    # the last year, 2023, is the one nj-ffy2022 was written for (FFY 2022), with the two years before
    # that its three-year disproportionality test reads: its runs print no warning
    make_bundle(bundle, districts=PARALLEL_FROM, students=6_000, years=3, seed=1, first_year=2021)
    refs = {}
    for name, extra in (("old", ("--year", "2022")), ("new", ())):
        run = Run(bundle, root / f"ref-{name}", *extra, per_district=name == "new")
        code, err = run.finish()
        assert code == 0, err
        refs[name] = tree(root / f"ref-{name}")
    assert refs["old"] != refs["new"] and any(f.startswith("districts/") for f in refs["new"])
    return bundle, root, refs


def outcome(out: Path, refs: dict[str, dict[str, bytes]]) -> str:
    if not out.exists():
        return "absent"
    now = tree(out)
    return next((name for name, ref in refs.items() if now == ref), "other")


def reset(out: Path, root: Path) -> None:
    """--out holds the old run again."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(root / "ref-old", out)


def without_pause_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith(PAUSE_ENV)]


# ---------------------------------------------------------------------------------------------------
# kill -9, then the next run


KILL_POINTS = [
    ("t=0.3", "old"),  # reading the bundle
    ("staged", "old"),  # the staging folder was just made and marked
    ("workers", "old"),  # the worker processes for the district workbooks have started
    ("written=5", "old"),  # the workers write workbooks
    ("before", "old"),  # the staging folder is complete, just before the swap
    ("after", "new"),  # just after the swap, the old run not yet removed
    ("t=0.5", None),  # and at fractions of the time a run takes to reach the swap, wherever they land
    ("t=0.8", None),
]


def reach(bundle: Path, out: Path, root: Path, event: str, fraction: float | None, to_swap: float) -> tuple[Run, str]:
    """A run that has reached `event`, or with `fraction` the instant `fraction * to_swap`. A run
    that ends before that instant (runs vary in speed on a busy machine) is not a kill: then the
    same fraction of its own duration is tried."""
    for _ in range(3):
        if fraction is not None:
            event = f"t={fraction * to_swap:.2f}"
        run = Run(bundle, out, pause=event in ("before", "after"))
        if run.wait_for(event, may_end=fraction is not None):
            return run, event
        assert run.finish()[0] == 0
        reset(out, root)
        to_swap = run.duration
    raise AssertionError(f"every run ended before {event}")


def test_kill_9_leaves_out_wholly_old_or_new_and_no_process(runs):
    bundle, root, refs = runs
    out = root / "out"
    reset(out, root)
    foreign = root / ".out.sedet-abcdefgh"  # named like a staging folder but without the marker: not sedet's
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not sedet's\n")
    seen: dict[str, str] = {}
    to_swap = 0.0  # how long a run takes to reach the swap (measured at "before", used after it)
    for event, expected in KILL_POINTS:
        run, event = reach(bundle, out, root, event, float(event[2:]) if expected is None else None, to_swap)
        if event == "before":
            to_swap = time.monotonic() - run.started
        staging = run.staging()
        code, err = run.stop()
        assert code == -signal.SIGKILL, err
        seen[event] = outcome(out, refs)
        assert seen[event] in ("old", "new") and expected in (None, seen[event]), seen
        if staging is not None and seen[event] == "old":
            # what it left: its own staging folder, marked; those of earlier kills are gone (a folder
            # killed before it was marked is empty: test_which_leftovers_are_removed)
            assert leftovers(out) == {staging.name, foreign.name}, event
            assert (staging / MARKER).is_file()
        if event in ("workers", "written=5") and POOL:
            assert run.workers, f"no worker process seen at {event}"
        if seen[event] == "new":
            reset(out, root)
    # The next run removes the leftovers (sedet's only) and completes; a Ctrl-C just after its swap
    # stops it, and its message says the output is complete.
    run = Run(bundle, out, pause=True)
    run.wait_for("after")
    code, err = run.stop(signal.SIGINT, group=True)
    assert code == 130
    assert without_pause_lines(err) == [f"interrupted (SIGINT) after the output was complete: {out} holds the new "
                                        "results"]
    assert outcome(out, refs) == "new"
    assert leftovers(out) == {foreign.name}
    assert (foreign / "keep.txt").read_text() == "not sedet's\n"
    print(f"kill points: {seen}")


# ---------------------------------------------------------------------------------------------------
# SIGTERM, SIGHUP, SIGINT


@pytest.mark.parametrize(("sig", "group", "event"), [
    (signal.SIGTERM, False, "staged"),  # `kill PID` as the results begin to be written
    (signal.SIGHUP, True, "written=5"),  # the terminal closed, while the workers write: to the whole group
    (signal.SIGINT, True, "workers"),  # Ctrl-C as the workers start: to the whole process group
    (signal.SIGTERM, False, "before"),  # just before the swap: nothing replaced
])
def test_a_signal_stops_the_run_and_leaves_out_as_it_was(runs, sig, group, event):
    bundle, root, refs = runs
    out = root / f"sig-{sig}-{event}"
    reset(out, root)
    run = Run(bundle, out, pause=event == "before")
    run.wait_for(event)
    code, err = run.stop(sig, group=group)
    assert code == 128 + sig
    # one line: no worker's traceback, no complaint of multiprocessing's
    assert without_pause_lines(err) == [f"interrupted ({signal.Signals(sig).name}); nothing was written"]
    assert outcome(out, refs) == "old"
    assert leftovers(out) == set()


def test_interrupted_exit_codes():
    for sig, code in ((signal.SIGHUP, 129), (signal.SIGINT, 130), (signal.SIGTERM, 143)):
        with pytest.raises(typer.Exit) as caught:
            interrupted(Interrupted(sig))
        assert caught.value.exit_code == code
    with pytest.raises(typer.Exit) as caught:
        interrupted(KeyboardInterrupt())  # Python's own, as in-process
    assert caught.value.exit_code == 130


# ---------------------------------------------------------------------------------------------------
# Whole-folder replacement and the folders sedet must not replace


def test_a_run_without_per_district_leaves_no_old_district_workbooks(runs):
    bundle, root, _ = runs
    out = root / "plain"
    shutil.copytree(root / "ref-new", out)
    assert (out / "districts").is_dir()
    result = CliRunner().invoke(app, ["determine", str(bundle), "--profile", PROFILE, "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert not (out / "districts").exists()
    listed = {o["file"] for o in json.loads((out / "manifest.json").read_text())["outputs"]}
    assert set(tree(out)) == listed | {"manifest.json"}


def _run_folder(folder: Path, *files: str) -> Path:
    """A folder as a run leaves it: the files and a manifest.json listing them."""
    folder.mkdir()
    for f in files:
        (folder / f).parent.mkdir(parents=True, exist_ok=True)
        (folder / f).write_text(f"old {f}\n")
    doc = {"tool": "sedet", "outputs": [{"file": f, "sha256": "0"} for f in files]}
    (folder / "manifest.json").write_text(json.dumps(doc))
    return folder


def _write(target: Path, **kwargs) -> None:
    with staged_output(target, **kwargs) as tmp:
        (tmp / "measures.csv").write_text("new\n")


def test_an_earlier_run_is_replaced_whole(tmp_path):
    out = _run_folder(tmp_path / "out", "measures.csv", "districts/A.xlsx")
    (out / ".DS_Store").write_bytes(b"\0")  # a file browser's own file does not stop it
    _write(out)
    assert tree(out) == {"measures.csv": b"new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert output.finished[-1] == out.resolve()


@pytest.mark.parametrize("case", ["no manifest", "not sedet's manifest", "a file added", "a folder added"])
def test_a_folder_sedet_did_not_write_is_refused(tmp_path, case):
    out = _run_folder(tmp_path / "out", "measures.csv")
    if case == "no manifest":
        (out / "manifest.json").unlink()
    elif case == "not sedet's manifest":
        (out / "manifest.json").write_text('{"tool": "other", "outputs": []}')
    elif case == "a file added":
        (out / "notes.txt").write_text("mine\n")
    else:
        (out / "drafts").mkdir()
    before = tree(out)
    with pytest.raises(OutputError) as e:
        _write(out)
    if case.startswith("a "):
        assert f"holds files that its sedet run did not write ({'notes.txt' if 'file' in case else 'drafts/'})" \
            in e.value.message
    else:
        assert "is not empty and is not the output of a sedet run" in e.value.message
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_empty_folder_is_filled(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _write(out)
    assert tree(out) == {"measures.csv": b"new\n"}


def test_sample_fills_a_folder_and_keeps_its_other_files(tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "README.md").write_text("mine\n")
    result = CliRunner().invoke(app, ["sample", str(out), "--districts", "2", "--students", "40", "--years", "1",
                                      "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "README.md").read_text() == "mine\n" and (out / "districts.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


# ---------------------------------------------------------------------------------------------------
# The swap itself, and leftovers


def test_renameat2_exchanges_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for call in (output.renameat2(), output.renameat2_syscall()):
        if not sys.platform.startswith("linux"):
            assert call is None
            continue
        assert call is not None
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)
        a.mkdir()
        b.mkdir()
        (a / "x").write_text("a")
        (b / "y").write_text("b")
        assert call(output.AT_FDCWD, os.fsencode(a), output.AT_FDCWD, os.fsencode(b), output.RENAME_EXCHANGE) == 0
        assert [p.name for p in a.iterdir()] == ["y"] and [p.name for p in b.iterdir()] == ["x"]


def test_without_the_exchange_two_renames_replace_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    out = _run_folder(tmp_path / "out", "measures.csv")
    _write(out)
    assert tree(out) == {"measures.csv": b"new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _leftover(out: Path, suffix: str = "abcd1234", marker: str | None = "sedet 0 pid 1 host h\n") -> Path:
    folder = out.parent / f".{out.name}.sedet-{suffix}"
    (folder / "run").mkdir(parents=True)
    (folder / "run" / "measures.csv").write_text("half\n")
    if marker is not None:
        (folder / MARKER).write_text(marker)
    return folder


def test_a_killed_fallback_swap_is_undone_by_the_next_run(tmp_path):
    """Killed between the fallback's two renames: --out is missing, the old run waits in the staging
    folder. The next run puts it back before anything else."""
    out = tmp_path / "out"
    folder = _leftover(out)
    _run_folder(folder / "old", "measures.csv")
    remove_leftovers(out)
    assert (out / "measures.csv").read_text() == "old measures.csv\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_which_leftovers_are_removed(tmp_path):
    out = tmp_path / "out"
    dead = _leftover(out, "dead0000")
    live = _leftover(out, "live0000")
    young = _leftover(out, "young000", marker="")  # a run between making its marker and locking it
    unmarked = _leftover(out, "nomark00", marker=None)  # not sedet's: it holds something
    empty = out.parent / f".{out.name}.sedet-empty000"  # a run killed before it marked its folder
    empty.mkdir()
    other = _leftover(tmp_path / "out2", "dead0000")  # another --out's
    with open(live / MARKER) as held:
        import fcntl

        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a live run holds its own
        remove_leftovers(out)
    assert not dead.exists()
    assert live.exists() and young.exists() and unmarked.exists() and empty.exists() and other.exists()
    for path in (young / MARKER, empty, unmarked):
        os.utime(path, (time.time() - 2 * output.CREATION_GRACE,) * 2)
    remove_leftovers(out)
    assert not live.exists() and not young.exists() and not empty.exists()
    assert unmarked.exists() and other.exists()


def test_an_interrupt_before_the_swap_leaves_the_folder_and_removes_the_staging(tmp_path):
    out = _run_folder(tmp_path / "out", "measures.csv")
    before = tree(out)
    with pytest.raises(KeyboardInterrupt), staged_output(out) as tmp:
        (tmp / "measures.csv").write_text("new\n")
        raise KeyboardInterrupt
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_signals_wait_until_the_swap_is_done(tmp_path, monkeypatch):
    """A SIGTERM that arrives during the swap is delivered after it, with the folder replaced whole."""
    out = _run_folder(tmp_path / "out", "measures.csv")
    output.finished.clear()
    real_swap = output._swap

    def swap_with_a_signal(*args):
        signal.raise_signal(signal.SIGTERM)  # its handler would raise here, were the signal not held
        real_swap(*args)

    def stop(signum, _frame):
        raise Interrupted(signum)

    monkeypatch.setattr(output, "_swap", swap_with_a_signal)
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(Interrupted):
            _write(out)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert tree(out) == {"measures.csv": b"new\n"}
    assert output.finished == [out.resolve()]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
