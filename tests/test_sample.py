"""The synthetic bundle generator (sedet.sample.make_bundle).

What must hold: the bundle is exactly what sedet.io.schema declares (names,
kinds, codes, ranges, keys, the date rule), it is byte-identical for the same
arguments, it looks like a state (shares in plausible ranges, heavy-tailed
district sizes, ids that keep their leading zeros) and the aggregated form
counts the same students as the student-level one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from sedet import sample
from sedet.io.schema import COMPLIANCE_FACTS, TABLES
from sedet.measures.transition import NJ_TRANSITION_COMPONENTS
from sedet.model import BOOL, CODE_LISTS, DATE, FLOAT, INT
from sedet.sample import GENERATED, make_bundle

STUDENT_TABLES = ("enrollment", "assessments", "evaluations", "discipline", "transition")
# Codes the profiles supply (not in schema.CODE_LISTS): NY performance levels
# and the federal lawful reasons for a late evaluation.
EXTRA_CODES = {
    "performance_level": ("1ON", "1OFF", "2ON", "2OFF", "1", "2", "3", "4"),
    "evaluation_exception": ("301D1", "301D2", "309C"),
}
SMALL = {"districts": 50, "students": 20_000, "years": 3, "first_year": 2010}


def kinds(table: str) -> dict[str, str]:
    """Every column the generator may write for a table, with its kind."""
    cols = {c.name: c.kind for c in TABLES[table].columns}
    if table == "transition":  # the components go before count
        count = cols.pop("count")
        cols |= {c: BOOL for c in NJ_TRANSITION_COMPONENTS} | {"count": count}
    if table == "compliance":
        cols |= {c.name: c.kind for c in COMPLIANCE_FACTS}
    return cols


def read(bundle: Path, table: str) -> pl.DataFrame:
    """Read a CSV table as text, then parse each column strictly by its schema kind.

    A value that does not parse ("True", "1/2/2010", "3.0" in an int column) raises.
    """
    raw = pl.read_csv(bundle / f"{table}.csv", infer_schema=False)
    k = kinds(table)
    exprs = []
    for name in raw.columns:
        col = pl.col(name)
        kind = k.get(name)
        if kind == INT:
            col = col.cast(pl.Int64, strict=True)
        elif kind == FLOAT:
            col = col.cast(pl.Float64, strict=True)
        elif kind == BOOL:
            col = col.replace_strict({"true": True, "false": False}, return_dtype=pl.Boolean)
        elif kind == DATE:
            col = col.str.to_date("%Y-%m-%d", strict=True)
        exprs.append(col)
    return raw.select(exprs)


def digests(bundle: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(bundle.iterdir())}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    make_bundle(out, seed=7, **SMALL)
    return out


@pytest.fixture(scope="module")
def tables(bundle) -> dict[str, pl.DataFrame]:
    return {name: read(bundle, name) for name in GENERATED}


# --------------------------------------------------------------------------
# Shape: files, columns, codes, ranges, keys
# --------------------------------------------------------------------------
def test_one_file_per_schema_table_and_nothing_else(bundle):
    assert sorted(p.name for p in bundle.iterdir()) == sorted(f"{t}.csv" for t in GENERATED)
    assert set(TABLES) - set(GENERATED) == {"history"}


@pytest.mark.parametrize("table", list(GENERATED))
def test_columns_are_the_declared_ones(tables, table):
    df = tables[table]
    declared = kinds(table)
    assert set(TABLES[table].required) <= set(df.columns)
    assert set(df.columns) <= set(declared), set(df.columns) - set(declared)
    # Student-level tables carry count; the schema's own order is kept.
    if table in STUDENT_TABLES:
        assert df.columns[-1] == "count"
    order = [c for c in declared if c in df.columns]
    assert df.columns == order
    for name in TABLES[table].required:
        assert df[name].null_count() == 0, f"{table}.{name} has blanks"


@pytest.mark.parametrize("table", list(GENERATED))
def test_codes_ranges_and_keys(tables, table):
    df = tables[table]
    spec = TABLES[table]
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        values = df[col.name].drop_nulls()
        if col.codes:
            allowed = CODE_LISTS.get(col.codes) or EXTRA_CODES[col.codes]
            assert set(values.unique()) <= set(allowed), f"{table}.{col.name}"
        if col.min is not None and len(values):
            assert values.min() >= col.min, f"{table}.{col.name}"
        if col.max is not None and len(values):
            assert values.max() <= col.max, f"{table}.{col.name}"
    if spec.key and set(spec.key) <= set(df.columns):
        assert df.select(spec.key).is_duplicated().sum() == 0, f"{table} key {spec.key}"


def test_counts_are_one_per_student_row(tables):
    for table in STUDENT_TABLES:
        assert tables[table]["count"].to_list() == [1] * tables[table].height


def test_school_years_and_district_ids_refer_to_the_bundle(tables):
    ids = set(tables["districts"]["district_id"])
    for table in GENERATED:
        df = tables[table]
        assert set(df["district_id"]) <= ids, table
        if TABLES[table].year_column:
            assert set(df["school_year"]) <= {2010, 2011, 2012}, table
    # Student tables and compliance cover every year; targets only the last.
    for table in (*STUDENT_TABLES, "compliance"):
        assert set(tables[table]["school_year"]) == {2010, 2011, 2012}, table
    assert set(tables["targets"]["school_year"]) == {2012}
    # compliance: exactly one row per district per year
    assert tables["compliance"].height == 3 * len(ids)


def test_district_ids_stay_zero_padded_text(bundle):
    raw = pl.read_csv(bundle / "districts.csv", infer_schema=False)
    ids = raw["district_id"]
    assert ids.str.len_chars().unique().to_list() == [5]
    assert ids.str.starts_with("0").any()  # a leading zero to lose if read as a number
    assert ids.is_unique().all()
    enr = pl.read_csv(bundle / "enrollment.csv", infer_schema=False)
    assert set(enr["district_id"]) <= set(ids)


# --------------------------------------------------------------------------
# Content rules per table
# --------------------------------------------------------------------------
def test_enrollment_disability_and_environment_only_for_iep(tables):
    e = tables["enrollment"]
    non = e.filter(~pl.col("iep"))
    assert non["disability"].null_count() == non.height
    assert non["environment"].null_count() == non.height
    iep = e.filter("iep")
    assert iep["disability"].null_count() == 0
    # School-age codes only: environment blank exactly for children under 5.
    assert (iep["environment"].is_null() == (iep["age"] < 5)).all()
    # Age agrees with grade: grade k is age k+5 or k+6, PK 3-4, KG 5-6; IEP
    # students may stay in grade 12 until 21.
    g = e.with_columns(
        g=pl.col("grade").replace({"PK": "-1", "KG": "0"}).cast(pl.Int64),
    )
    regular = g.filter(pl.col("grade") != "12")
    assert ((regular["age"] - regular["g"]).is_between(4, 6)).all()
    twelfth = g.filter(pl.col("grade") == "12")
    assert twelfth["age"].is_between(17, 21).all()
    assert twelfth.filter(pl.col("age") > 18)["iep"].all()


def test_assessment_grades_subjects_and_levels(tables):
    a = tables["assessments"]
    assert set(a["grade"]) == {3, 4, 5, 6, 7, 8, 11}
    assert set(a.filter(pl.col("subject") == "SCI")["grade"]) == {5, 8, 11}
    assert a.filter(pl.col("assessment") == "ALT")["iep"].all()
    # A level exactly when the student took part.
    assert (a["performance_level"].is_not_null() == a["participated"]).all()
    six = {"1ON", "1OFF", "2ON", "2OFF", "3", "4"}
    four = {"1", "2", "3", "4"}
    reg38 = a.filter((pl.col("grade") <= 8) & (pl.col("assessment") == "REG"))
    assert set(reg38["performance_level"].drop_nulls()) == six
    other = a.filter((pl.col("grade") == 11) | (pl.col("assessment") == "ALT"))
    assert set(other["performance_level"].drop_nulls()) <= four
    # Nobody outside the testing window took part; participants are accountable;
    # only high-school cohort members are accountable without a score.
    assert not a.filter(~pl.col("enrolled_in_window"))["participated"].any()
    assert a.filter("participated")["accountable"].all()
    assert set(a.filter(pl.col("accountable") & ~pl.col("participated"))["grade"]) == {11}


def test_alternate_assessment_is_about_one_percent(tables):
    a = tables["assessments"]
    alt = (a["assessment"] == "ALT").mean()
    # ~6.5% of IEP test takers (ALT_BY_DISABILITY) x ~16% IEP share ~ 1%.
    assert 0.004 < alt < 0.02
    rate = a.group_by("district_id", "subject").agg(r=(pl.col("assessment") == "ALT").mean())
    assert (rate["r"] > 0.01).any()  # some districts above the 1% cap
    assert (rate["r"] < 0.01).any()


def test_evaluation_dates(tables):
    ev = tables["evaluations"]
    days = (ev["determination_date"] - ev["consent_date"]).dt.total_days()
    assert (days.drop_nulls() >= 0).all()  # never before consent
    start = pl.date(pl.col("school_year") - 1, 7, 1)
    end = pl.date(pl.col("school_year"), 6, 30)
    assert ev.select(pl.col("consent_date").is_between(start, end).all()).item()
    assert ev.select((pl.col("determination_date") <= end).all()).item()
    # Most on time, a late tail, a few undetermined.
    assert (days.drop_nulls() <= 60).mean() > 0.8
    assert (days.drop_nulls() > 60).any()
    assert 0 < days.null_count() < 0.15 * ev.height
    assert ev["student_id"].str.contains(r"^S\d{10}$").all()


def test_discipline_students_come_from_enrollment(tables):
    """Removed students of each (year, district, group, IEP) cell can't outnumber the cell."""
    keys = ["school_year", "district_id", "race_ethnicity", "iep"]
    enrolled = tables["enrollment"].group_by(keys).agg(enrolled=pl.col("count").sum())
    removed = tables["discipline"].group_by([*keys, "removal_type"]).agg(removed=pl.col("count").sum())
    joined = removed.join(enrolled, on=keys, how="left")
    assert joined["enrolled"].null_count() == 0
    assert (joined["removed"] <= joined["enrolled"]).all()
    d = tables["discipline"]
    assert (d["removals"] >= 1).all()
    assert (d["days_removed"] > 0).all()


def test_discipline_rates_are_plausible(tables):
    e = tables["enrollment"].group_by("iep").agg(n=pl.col("count").sum())
    oss = tables["discipline"].filter(pl.col("removal_type") == "OSS").group_by("iep").len()
    rate = dict(oss.join(e, on="iep").select("iep", pl.col("len") / pl.col("n")).iter_rows())
    # REMOVAL_P: 6.5% of IEP and 2.5% of other students, before district and age factors.
    assert 0.03 < rate[True] < 0.10
    assert 0.01 < rate[False] < 0.04
    assert rate[True] > rate[False]


def test_transition_reviews_are_transition_age(tables):
    t = tables["transition"]
    assert t["age"].is_between(14, 21).all()
    comps = list(NJ_TRANSITION_COMPONENTS)
    complete = t.select(pl.all_horizontal(comps)).to_series().mean()
    assert 0.6 < complete < 1.0  # most, not all, IEPs have every component


def test_compliance_facts(tables):
    c = tables["compliance"]
    assert (c["findings_corrected_on_time"] <= c["findings"]).all()
    assert c["data_accuracy_rate"].is_between(0.8, 1.0).all()
    assert c["achievement_score"].is_between(0.0, 4.0).all()
    assert (c["findings"] == 0).mean() > 0.5


def test_targets_overrides_and_formula_like_text(tables):
    t = tables["targets"]
    assert set(t["subject"]) == {"ELA", "MATH"} and set(t["grade_band"]) == {"3-8", "HS"}
    assert t.height == 4 * round(0.2 * SMALL["districts"])  # 20% of districts x 2 subjects x 2 bands
    o = tables["overrides"]
    assert 1 <= o.height <= 3
    assert o["reason"].str.contains(r"^[-+]").sum() == 1
    names = tables["districts"]["district_name"]
    assert names.str.contains(r"^[=@]").sum() == 1
    assert names.is_unique().all()


# --------------------------------------------------------------------------
# Realism
# --------------------------------------------------------------------------
def test_iep_share_and_race_groups(tables):
    e = tables["enrollment"]
    share = e["iep"].mean()
    assert 0.13 <= share <= 0.19  # IEP_RATE 15.5%, US 13-17%
    assert set(e["race_ethnicity"]) == set(CODE_LISTS["race_ethnicity"])
    disability = e.filter("iep")["disability"].value_counts(normalize=True)
    top = disability.sort("proportion", descending=True)["disability"][0]
    assert top == "SLD"  # the largest category in every US child count


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_district_sizes_are_heavy_tailed(tmp_path, seed):
    make_bundle(tmp_path, districts=50, students=20_000, years=1, seed=seed)
    sizes = pl.read_csv(tmp_path / "enrollment.csv", infer_schema=False).group_by("district_id").len()["len"]
    assert sizes.len() == 50
    assert sizes.min() < 200
    assert sizes.max() > 10 * sizes.min()
    assert abs(sizes.sum() - 20_000) < 0.05 * 20_000  # year noise ~1%


def test_risk_ratios_reach_three(tables):
    e = tables["enrollment"].filter(pl.col("school_year") == 2012)
    cells = e.group_by("district_id", "race_ethnicity").agg(n=pl.len(), k=pl.col("iep").sum())
    tot = cells.group_by("district_id").agg(N=pl.col("n").sum(), K=pl.col("k").sum())
    rr = (
        cells.join(tot, on="district_id")
        .filter((pl.col("n") >= 30) & (pl.col("k") >= 10) & (pl.col("N") > pl.col("n")))
        .with_columns(rr=(pl.col("k") / pl.col("n")) / ((pl.col("K") - pl.col("k")) / (pl.col("N") - pl.col("n"))))
    )
    assert rr.height > 0
    assert rr["rr"].max() >= 2.0  # disproportionality exists (hot spots: x2.3)
    assert rr["rr"].median() < 2.0  # but is the exception


# --------------------------------------------------------------------------
# Determinism, formats, aggregation, arguments
# --------------------------------------------------------------------------
def test_same_arguments_same_bytes(tmp_path, bundle):
    make_bundle(tmp_path, seed=7, **SMALL)
    assert digests(tmp_path) == digests(bundle)


def test_other_seed_other_data(tmp_path, bundle):
    make_bundle(tmp_path, seed=8, **SMALL)
    a, b = digests(tmp_path), digests(bundle)
    for name in ("districts.csv", "enrollment.csv", "assessments.csv", "evaluations.csv", "discipline.csv"):
        assert a[name] != b[name], name


def test_chunked_writing(tmp_path, monkeypatch):
    """Blocks smaller than the state: one header per file, rows as reported, same content rules."""
    monkeypatch.setattr(sample, "CHUNK_STUDENTS", 2_000)
    rows = make_bundle(tmp_path, districts=30, students=12_000, years=2, seed=3)
    text = (tmp_path / "enrollment.csv").read_text()
    assert text.count("school_year,") == 1
    for table, n in rows.items():
        assert read(tmp_path, table).height == n, table
    e = read(tmp_path, "enrollment")
    # districts appear in id order within each year, each in one contiguous run
    runs = e.select(pl.col("district_id").rle_id()).to_series().n_unique()
    assert runs == e.select("school_year", "district_id").unique().height
    ev = read(tmp_path, "evaluations")
    assert ev["student_id"].is_unique().all()


def test_parquet_is_deterministic_and_typed(tmp_path, monkeypatch):
    monkeypatch.setattr(sample, "CHUNK_STUDENTS", 3_000)  # several parts per table
    a, b = tmp_path / "a", tmp_path / "b"
    rows = make_bundle(a, districts=20, students=10_000, years=2, seed=5, fmt="parquet")
    make_bundle(b, districts=20, students=10_000, years=2, seed=5, fmt="parquet")
    assert digests(a) == digests(b)
    assert sorted(p.name for p in a.iterdir()) == sorted(f"{t}.parquet" for t in GENERATED)
    e = pl.read_parquet(a / "enrollment.parquet")
    assert e.height == rows["enrollment"]
    assert e.schema["district_id"] == pl.String
    assert e.schema["iep"] == pl.Boolean
    assert e["district_id"].str.len_chars().unique().to_list() == [5]
    ev = pl.read_parquet(a / "evaluations.parquet")
    assert ev.schema["consent_date"] == pl.Date


def test_parquet_holds_the_same_data_as_csv(tmp_path):
    make_bundle(tmp_path / "c", districts=10, students=3_000, years=1, seed=4)
    make_bundle(tmp_path / "p", districts=10, students=3_000, years=1, seed=4, fmt="parquet")
    for table in GENERATED:
        c = read(tmp_path / "c", table)
        p = pl.read_parquet(tmp_path / "p" / f"{table}.parquet")
        assert c.equals(p), table


def test_aggregate_counts_the_same_students(tmp_path):
    plain, agg = tmp_path / "plain", tmp_path / "agg"
    args = {"districts": 20, "students": 8_000, "years": 2, "seed": 11}
    make_bundle(plain, **args)
    rows = make_bundle(agg, aggregate=True, **args)
    for table in STUDENT_TABLES:
        p, a = read(plain, table), read(agg, table)
        assert a["count"].sum() == p.height, table
        assert a.height <= p.height, table
        if table in ("enrollment", "assessments", "discipline"):
            assert a.height < p.height, table  # rows were actually grouped
        assert "student_id" not in a.columns
        assert a.height == rows[table]
        # no two aggregated rows share every column but count
        assert not a.drop("count").is_duplicated().any(), table
    # Same counts in every (year, district, group, IEP) cell of enrollment.
    keys = ["school_year", "district_id", "race_ethnicity", "iep"]
    p = read(plain, "enrollment").group_by(keys).agg(n=pl.col("count").sum()).sort(keys)
    a = read(agg, "enrollment").group_by(keys).agg(n=pl.col("count").sum()).sort(keys)
    assert p.equals(a)
    # LEA-level tables do not depend on aggregation.
    for table in ("districts", "compliance", "targets", "overrides"):
        assert (plain / f"{table}.csv").read_bytes() == (agg / f"{table}.csv").read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"districts": 0}, "districts must be at least 1"),
        ({"districts": 10, "students": 9}, "students (9) must be at least districts (10)"),
        ({"years": 0}, "years must be at least 1"),
        ({"fmt": "xlsx"}, "unknown format 'xlsx'"),
        ({"first_year": 2100, "years": 2}, "outside 1990..2100"),
        ({"students": 2.5}, "students must be a whole number"),
    ],
)
def test_nonsense_arguments_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as err:
        make_bundle(tmp_path / "out", **kwargs)
    assert message in str(err.value)
    assert not (tmp_path / "out").exists()  # refused before writing anything


def test_progress_reports_and_row_counts(tmp_path):
    messages: list[str] = []
    rows = make_bundle(tmp_path, districts=5, students=500, years=1, progress=messages.append)
    assert any(m.startswith("2010 enrollment:") for m in messages)
    assert rows["districts"] == 5 and rows["compliance"] == 5
    assert rows["enrollment"] == pl.read_csv(tmp_path / "enrollment.csv", infer_schema=False).height


def test_smallest_possible_state(tmp_path):
    rows = make_bundle(tmp_path, districts=1, students=1, years=1)
    assert rows["districts"] == 1 and rows["enrollment"] == 1
    assert read(tmp_path, "districts")["district_name"].str.starts_with("=").all()
    for table in GENERATED:  # every file has its header even when empty
        assert (
            (tmp_path / f"{table}.csv")
            .read_text()
            .startswith("school_year," if TABLES[table].year_column else "district_id,")
        )
