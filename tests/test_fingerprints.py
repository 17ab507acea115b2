"""Input fingerprints: hashed in a lowest-priority child process or low-priority background threads,
finished by whoever reads them."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from pathlib import Path

from sedet.io.bundle import load_bundle
from sedet.io.fingerprint import FileHash, Fingerprints, HashProcess, lowest_priority
from sedet.io.schema import is_table_file
from sedet.pipeline import required_tables
from sedet.profile import load_profile

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def test_fingerprints_are_the_sha256_of_each_file_in_name_order():
    prof = load_profile("nj-ffy2022")
    bundle = load_bundle(SAMPLE, prof, required=required_tables(prof))
    files = sorted(p for p in SAMPLE.iterdir() if p.suffix == ".csv")
    assert list(bundle.files) == [p.name for p in files]
    for p in files:
        assert bundle.files[p.name] == hashlib.sha256(p.read_bytes()).hexdigest(), p.name
    assert dict(bundle.files) == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_only_the_hashing_thread_is_lowered():
    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen = {}

    def hashing_thread():
        lowest_priority()
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        if sys.platform.startswith("linux"):
            seen["policy"] = os.sched_getscheduler(threading.get_native_id())

    t = threading.Thread(target=hashing_thread)
    t.start()
    t.join()
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the process (main thread) keeps its priority
    if sys.platform.startswith("linux"):
        assert seen["thread"] == 19
        assert seen["policy"] == os.SCHED_IDLE  # runs only on a core nothing else wants
        assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the main thread keeps the normal policy
    else:
        assert seen["thread"] == before  # left alone where thread ids are not what setpriority takes


def test_the_asking_thread_finishes_a_hash_the_background_has_not(tmp_path):
    # 2.5 chunks of bytes: the digest is the file's SHA-256 whether no background thread ever ran
    # (a starved lowest-priority thread), or it hashed the first chunks and the asker the rest.
    chunk = FileHash.CHUNK
    data = bytes((i * 7919) % 251 for i in range(chunk * 5 // 2))
    path = tmp_path / "table.csv"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert FileHash(path).digest() == expected
    partly = FileHash(path)
    assert partly._step() and partly._step()  # two chunks hashed "in the background"
    assert partly.digest() == expected
    assert partly.digest() == expected  # asked again: the same
    background = FileHash(path)
    background.run_in_background()
    assert background.digest() == expected


def test_an_empty_file_and_a_file_smaller_than_a_chunk(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert FileHash(empty).digest() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # SHA-256 of nothing
    small = tmp_path / "small.csv"
    small.write_bytes(b"abc")
    # FIPS 180-2, appendix B.1: SHA-256("abc")
    assert FileHash(small).digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def _wait_for(hp: HashProcess, paths: list[Path], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while any(hp.get(p) is None for p in paths) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_child_process_reports_each_files_sha256(tmp_path):
    empty = tmp_path / "enrollment.csv"
    empty.write_bytes(b"")
    small = tmp_path / "districts.csv"
    small.write_bytes(b"abc")
    odd = tmp_path / "assessments.csv"  # larger than the child's read buffer, with a NUL byte
    odd.write_bytes(b"\0" + b"x" * 300_000)
    hp = HashProcess([empty, small, odd])
    try:
        _wait_for(hp, [empty, small, odd])
        assert hp.get(empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        assert hp.get(small) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 B.1
        assert hp.get(odd) == hashlib.sha256(b"\0" + b"x" * 300_000).hexdigest()
        assert hp.get(tmp_path / "other.csv") is None  # never asked for
    finally:
        hp.stop()


def test_the_child_runs_at_the_lowest_priority_and_stops_when_told(tmp_path):
    big = tmp_path / "enrollment.csv"
    big.write_bytes(b"0123456789" * 1_000_000)
    hp = HashProcess([big])
    assert hp._proc is not None
    if sys.platform.startswith("linux"):
        deadline = time.monotonic() + 10
        nice = None
        while time.monotonic() < deadline and hp._proc.poll() is None:
            fields = Path(f"/proc/{hp._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            nice = int(fields[16])  # field 19 of /proc/PID/stat: the nice value
            if nice == 19:
                break
            time.sleep(0.005)
        assert nice in (19, None)  # None: done before it could be seen
    hp.stop()
    assert hp._proc.poll() is not None  # ended (killed, or done)
    hp.stop()  # twice: nothing happens


def test_a_digest_the_child_has_not_reported_is_hashed_by_the_asker(tmp_path):
    data = b"school_year,district_id\n2012,001\n"
    path = tmp_path / "districts.csv"
    path.write_bytes(data)

    class Stalled(HashProcess):  # a child that never reports (starved on a busy machine)
        def __init__(self):
            self._done, self._lock, self._proc = {}, threading.Lock(), None
            self.stopped = False

        def stop(self):
            self.stopped = True

    stalled = Stalled()
    prints = Fingerprints({"districts.csv": FileHash(path)}, stalled)
    assert prints["districts.csv"] == hashlib.sha256(data).hexdigest()
    assert stalled.stopped  # stopped first, so that the two do not hash side by side


def test_for_bundle_hashes_the_files_that_hold_tables(tmp_path):
    names = ("enrollment.csv", "Districts.CSV", "targets.parquet", "notes.txt", "backup.csv", "~$enrollment.xlsx", ".transition.csv")
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
    hp = HashProcess.for_bundle(tmp_path, is_table_file)
    try:
        wanted = [tmp_path / n for n in names[:3]]
        _wait_for(hp, wanted)
        assert all(hp.get(p) == hashlib.sha256(p.name.encode()).hexdigest() for p in wanted)
        time.sleep(0.2)
        assert all(hp.get(tmp_path / n) is None for n in names[3:])  # not tables, a lock file, a hidden file
    finally:
        hp.stop()
    assert HashProcess.for_bundle(tmp_path / "missing", is_table_file)._proc is None  # load_bundle says so
