"""Input fingerprints: hashed in low-priority background threads, waited for when read."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path

from sedet.io.bundle import load_bundle
from sedet.io.fingerprint import FileHash, lowest_priority
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
