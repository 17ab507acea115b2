"""The streaming path (large bundles: tables checked and computed from disk) must give exactly what
the in-memory path gives: the same measure rows, the same determinations, the same problems."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from sedet.errors import BundleError
from sedet.io import bundle as B
from sedet.io import schema as S
from sedet.io.read import categorical_columns, small_int_columns
from sedet.pipeline import load, load_spec, run_loaded
from sedet.profile import load_profile

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture
def every_table_streams(monkeypatch):
    monkeypatch.setattr(B, "STREAM_TABLE_FROM", 0)


@pytest.mark.parametrize("profile", ["nj-ffy2022", "ny-ffy2011", "ma-2012", "osep-rda"])
def test_streaming_gives_the_same_measures_and_determinations(profile, every_table_streams):
    prof = load_profile(profile)
    in_memory, on_disk = load(SAMPLE, prof, streaming=False), load(SAMPLE, prof, streaming=True)
    memory, streamed = run_loaded(in_memory, prof), run_loaded(on_disk, prof)
    assert streamed.streaming and not memory.streaming
    # years known from reading the tables in memory, and from scanning them on disk (the sample's)
    assert memory.years == streamed.years == [2021, 2022, 2023]
    assert in_memory.tables["enrollment"].years == [2021, 2022, 2023]
    assert on_disk.tables["enrollment"].years is None
    assert streamed.measures.equals(memory.measures)
    if memory.determinations is not None:
        assert streamed.determinations.table.equals(memory.determinations.table)
        assert streamed.determinations.factors.equals(memory.determinations.factors)
    assert streamed.inputs == memory.inputs  # the same rows read, columns ignored and not read


def _bad_bundle(tmp_path: Path) -> Path:
    b = tmp_path / "b"
    shutil.copytree(SAMPLE, b)
    lines = (b / "assessments.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    fields = lines[4].split(",")
    fields[header.index("grade")] = "three"  # line 5 of the file
    lines[4] = ",".join(fields)
    fields = lines[9].split(",")
    fields[header.index("iep")] = "yes"  # accepted spelling, but not polars' own: the text path must take over
    lines[9] = ",".join(fields)
    (b / "assessments.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return b


def test_streaming_names_the_same_problems(tmp_path, every_table_streams):
    b = _bad_bundle(tmp_path)
    prof = load_profile("ny-ffy2011")
    found = {}
    for streaming in (False, True):
        with pytest.raises(BundleError) as e:
            load(b, prof, streaming=streaming, pruned=False)
        found[streaming] = [(p.file, p.row, p.column, p.expected, p.found) for p in e.value.problems]
    assert found[True] == found[False]
    # the one bad cell: line 5, grade 'three' ('yes' in iep is a valid boolean)
    assert found[True] == [("assessments.csv", 5, "grade", "a whole number", "'three'")]


def test_a_streaming_run_types_the_columns_like_an_in_memory_one(every_table_streams):
    prof = load_profile("nj-ffy2022")
    memory = load(SAMPLE, prof, streaming=False, pruned=False)
    streamed = load(SAMPLE, prof, streaming=True, pruned=False)
    for name, t in memory.tables.items():
        lazy = streamed.tables[name].frame
        # student-level tables stream; LEA-level ones (districts, compliance, ...) are small and stay in memory
        assert isinstance(lazy, pl.LazyFrame) == S.TABLES[name].student_level, name
        streamed_frame = lazy.lazy().collect()
        # the same values; in memory, a student-level table's codes of a closed list are an Enum of the
        # list (1 byte a cell instead of 16), its district ids and other codes Categorical (4 bytes),
        # its small whole numbers Int16 (2 bytes instead of 8); streamed they stay text and Int64, and
        # every other column is alike
        cats, small = categorical_columns(name), small_int_columns(name)
        lists = load_spec(prof).code_lists
        closed = {col.name: sorted(lists[col.codes]) for col in S.TABLES[name].columns
                  if col.name in cats and lists.get(col.codes or "")}
        enums = {c: list(d.categories) for c, d in t.frame.schema.items() if isinstance(d, pl.Enum)}
        assert enums == {c: v for c, v in closed.items() if c in t.frame.columns}, name
        assert {c for c, d in t.frame.schema.items() if isinstance(d, pl.Categorical)} == (
            (cats - set(closed)) & set(t.frame.columns)
        ), name
        assert {c for c, d in t.frame.schema.items() if d == pl.Int16} == small & set(t.frame.columns), name
        plain = {c: pl.String if c in cats else pl.Int64 if c in small else d for c, d in t.frame.schema.items()}
        assert streamed_frame.schema == plain, name
        assert streamed_frame.equals(t.frame.cast(plain)), name
    assert categorical_columns("enrollment") == {"district_id", "race_ethnicity", "disability", "environment",
                                                 "counts_in"}
    assert small_int_columns("enrollment") == {"school_year", "age"}
    assert small_int_columns("assessments") == {"school_year", "grade"}
    assert categorical_columns("districts") == small_int_columns("compliance") == frozenset()  # small tables: as read
