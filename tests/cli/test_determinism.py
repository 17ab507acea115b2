"""Same input, same bytes, whatever the machine (issue 17, item 4): every file of a run is identical
under polars thread counts 1, 2 and 8, another time zone, another locale and another hash seed.
(polars sizes its thread pool when it is imported, so each run is its own process.)

Two bundles: sample_data/ with --per-district --public, and a 300-district `sedet sample` bundle,
on which the Flags sheet's rows came out in another order with one thread than with eight (rows
equal in the sort keys kept the order polars' threads finished in)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"

ENVIRONMENTS = {
    "threads-1": {"POLARS_MAX_THREADS": "1"},
    "threads-2": {"POLARS_MAX_THREADS": "2", "TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "1"},
    "threads-8": {"POLARS_MAX_THREADS": "8", "LC_ALL": "C", "LANG": "C", "PYTHONHASHSEED": "4242", "TZ": "UTC"},
}


def sedet(*args: str, env: dict[str, str] | None = None) -> None:
    r = subprocess.run([sys.executable, "-m", "sedet.cli", *args], env={**os.environ, **(env or {})},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("large") / "bundle"
    sedet("sample", str(folder), "--districts", "300", "--students", "300000", "--years", "2", "--seed", "1")
    return folder


@pytest.mark.parametrize(("which", "flags", "environments"), [
    ("sample_data", ("--per-district", "--public"), list(ENVIRONMENTS)),
    ("large", (), ["threads-1", "threads-8"]),
])
def test_outputs_do_not_depend_on_threads_time_zone_locale_or_hash_seed(tmp_path, large, which, flags,
                                                                         environments):
    bundle = SAMPLE if which == "sample_data" else large
    outputs = {}
    for name in environments:
        out = tmp_path / name
        sedet("determine", str(bundle), "--profile", "nj-ffy2022", "--out", str(out), "--quiet", *flags,
              env=ENVIRONMENTS[name])
        outputs[name] = files(out)
    first_name, *others = environments
    first = outputs[first_name]
    assert "determinations.xlsx" in first and "manifest.json" in first
    for name in others:
        assert outputs[name].keys() == first.keys(), name
        assert [f for f in first if outputs[name][f] != first[f]] == [], name
