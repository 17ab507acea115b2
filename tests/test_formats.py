"""The same tables as CSV or as Parquet give the same measure rows and determinations. The two
reach the measures by different roads: CSV codes and district ids are parsed straight into
Categorical, Parquet text is typed and then made Categorical (io.read.categorical_columns)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sedet.pipeline import load, run_loaded
from sedet.profile import load_profile

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def parquet_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("parquet")
    for p in SAMPLE.glob("*.csv"):
        pl.read_csv(p, infer_schema=False).write_parquet(out / f"{p.stem}.parquet")  # every column as text
    return out


@pytest.mark.parametrize("profile", ["nj-ffy2022", "ny-ffy2011", "ma-2012", "osep-rda"])
def test_csv_and_parquet_give_the_same_results(profile, parquet_bundle):
    prof = load_profile(profile)
    csv_tables, parquet_tables = load(SAMPLE, prof), load(parquet_bundle, prof)
    csv, parquet = run_loaded(csv_tables, prof), run_loaded(parquet_tables, prof)
    enrollment = parquet_tables.tables["enrollment"].frame
    assert isinstance(enrollment.schema["district_id"], pl.Categorical)
    assert isinstance(csv_tables.tables["enrollment"].frame.schema["district_id"], pl.Categorical)
    assert csv.measures.height > 0
    assert csv.measures.schema == parquet.measures.schema
    assert not any(isinstance(d, pl.Categorical) for d in csv.measures.schema.values())  # the measure rows are text
    assert csv.measures.equals(parquet.measures)
    if csv.determinations is not None:
        assert csv.determinations.table.equals(parquet.determinations.table)
