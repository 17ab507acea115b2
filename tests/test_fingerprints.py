"""Input fingerprints (manifest, Method sheet): the SHA-256 of each input file, hashed in background
threads once the bundle is read, in file-name order."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sedet.io.fingerprint import Fingerprints
from sedet.io.output import sha256_file
from sedet.pipeline import load
from sedet.profile import load_profile

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def test_fingerprints_are_the_sha256_of_each_file_in_name_order():
    bundle = load(SAMPLE, load_profile("nj-ffy2022"))
    files = sorted(p for p in SAMPLE.iterdir() if p.suffix == ".csv")
    assert list(bundle.files) == [p.name for p in files]
    assert dict(bundle.files) == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_a_file_larger_than_the_read_buffer_and_an_empty_one(tmp_path):
    big = tmp_path / "b.csv"
    big.write_bytes(bytes(range(256)) * 5000)  # 1.28 MB: several reads of hashlib's buffer
    empty = tmp_path / "a.csv"
    empty.write_bytes(b"")
    prints = Fingerprints.start([big, empty])
    assert list(prints) == ["a.csv", "b.csv"]  # name order, whatever order they were hashed in
    assert prints["b.csv"] == hashlib.sha256(big.read_bytes()).hexdigest() == sha256_file(big)
    assert prints["a.csv"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # SHA-256 of b""
    assert len(prints) == 2
