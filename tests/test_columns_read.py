"""A determination reads only the columns of the large tables that its profile's measures use
(pipeline.columns_read). Two things must hold: every column a measure reads is declared (else the
run would fail, or worse, a measure would silently lose an input), and reading fewer columns
changes no figure."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.io.plugins import register_io_source

from sedet.errors import BundleError
from sedet.io import schema as S
from sedet.io.table import TableSpec
from sedet.io.typed import Codes
from sedet.model import BOOL, DATE, FLOAT, INT, Inputs
from sedet.pipeline import columns_read, compute_measures, load, load_spec, run, run_loaded
from sedet.profile import available_profiles, load_profile

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
DTYPES = {INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean, DATE: pl.Date}
PRUNED_TABLES = [t.name for t in S.TABLES.values() if t.prune]


class _Recorder:
    """A stand-in bundle whose tables are empty scans that record the columns polars asks of them
    after projection pushdown: the columns the measures' query really reads."""

    def __init__(self, profile):
        self.profile = profile
        self.used: dict[str, set[str]] = {}

    def lazy(self, name: str) -> pl.LazyFrame:
        spec = load_spec(self.profile)
        table = TableSpec(S.TABLES[name], Codes(spec.code_lists, spec.code_maps), spec.columns.get(name))
        schema = {c.name: DTYPES.get(c.kind, pl.String) for c in table.columns_for([])}

        def source(with_columns, predicate, n_rows, batch_size):
            cols = list(with_columns) if with_columns is not None else list(schema)
            self.used.setdefault(name, set()).update(cols)
            yield pl.DataFrame(schema=schema).select(cols)

        return register_io_source(source, schema=schema)

    def years(self, name: str) -> list[int]:
        return [2010, 2011, 2012]


@pytest.mark.parametrize("profile", sorted(available_profiles()))
def test_declared_columns_cover_what_the_measures_read(profile):
    prof = load_profile(profile)
    recorder = _Recorder(prof)
    inputs = Inputs(2012, {name: recorder.lazy(name) for name in S.TABLES}, recorder.years)
    compute_measures(inputs, prof).collect()
    declared = columns_read(prof)
    for table in PRUNED_TABLES:
        assert recorder.used.get(table, set()) <= declared[table], (
            f"{profile}: the measures read {sorted(recorder.used[table] - declared[table])} of {table}, "
            "not declared in READS"
        )


def test_columns_read_by_profile():
    # nj-ffy2022: disproportionality and discipline (enrollment), alternate assessment (assessments);
    # no performance levels, no low-income status, no grade of enrolled students.
    nj = columns_read(load_profile("nj-ffy2022"))
    assert nj["assessments"] == {"school_year", "district_id", "subject", "grade", "assessment", "participated",
                                 "count"}
    assert nj["enrollment"] == {"school_year", "district_id", "race_ethnicity", "iep", "disability", "environment",
                                "age", "counts_in", "count"}
    # ny-ffy2011 uses assessments only: of enrollment, the year and district (still checked)
    ny = columns_read(load_profile("ny-ffy2011"))
    assert ny["enrollment"] == {"school_year", "district_id"}
    assert ny["assessments"] == {c.name for c in S.TABLES["assessments"].columns}


# The profiles sample_data serves (the others read facts of their own: tests/cases/test_state_methods.py).
SAMPLE_PROFILES = ["ma-2012", "nj-ffy2022", "ny-ffy2011", "osep-rda"]


@pytest.mark.parametrize("profile", SAMPLE_PROFILES)
def test_reading_fewer_columns_changes_no_figure(profile, monkeypatch):
    prof = load_profile(profile)
    pruned = run(SAMPLE, prof)
    monkeypatch.setattr("sedet.pipeline.columns_read", lambda p: {})
    everything = run(SAMPLE, prof)
    assert pruned.measures.equals(everything.measures)
    if everything.determinations is not None:
        assert pruned.determinations.table.equals(everything.determinations.table)
    assert [t.rows_read for t in pruned.inputs] == [t.rows_read for t in everything.inputs]


def test_a_column_not_read_is_neither_parsed_nor_checked(tmp_path):
    b = tmp_path / "b"
    shutil.copytree(SAMPLE, b)
    lines = (b / "enrollment.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    fields = lines[3].split(",")
    fields[header.index("low_income")] = "sometimes"  # not a flag; nj-ffy2022 does not read the column
    lines[3] = ",".join(fields)
    lines[0] = lines[0] + ",Local Notes"  # a column sedet does not know
    lines[1:] = [line + ",x" for line in lines[1:]]
    (b / "enrollment.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prof = load_profile("nj-ffy2022")
    enrollment = load(b, prof).tables["enrollment"]
    assert enrollment.columns_not_read == ["low_income", "grade"]
    assert enrollment.columns_ignored == ["local_notes"]
    assert "low_income" not in enrollment.frame.columns
    # validate reads every column and names the cell
    with pytest.raises(BundleError) as e:
        load(b, prof, pruned=False)
    assert [(p.file, p.row, p.column, p.found) for p in e.value.problems] == [
        ("enrollment.csv", 4, "low_income", "'sometimes'")
    ]


def test_a_released_bundle_keeps_what_the_determination_reads():
    """`run` lets go of the tables' rows once the measures are computed (Bundle.release): the districts,
    overrides and history stay whole, every other table becomes empty with its columns, and the run
    gives the same rows as one that keeps them."""
    profile = load_profile("nj-ffy2022")
    bundle = load(SAMPLE, profile)
    columns = {name: t.frame.columns for name, t in bundle.tables.items()}
    districts = bundle.tables[S.DISTRICTS].frame.height
    assert districts == 30 and bundle.tables["enrollment"].frame.height > 0
    bundle.release(keep={S.DISTRICTS, "overrides", "history"})
    assert bundle.tables[S.DISTRICTS].frame.height == districts
    assert bundle.tables["overrides"].frame.height == 1  # sample_data/overrides.csv: one row
    assert bundle.tables["enrollment"].frame.height == 0
    assert {name: t.frame.columns for name, t in bundle.tables.items()} == columns
    released, kept = run(SAMPLE, profile), run_loaded(load(SAMPLE, profile), profile)
    assert released.measures.equals(kept.measures)
    assert released.determinations is not None and kept.determinations is not None
    assert released.determinations.table.equals(kept.determinations.table)
