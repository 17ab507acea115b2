"""One determination run as library calls: load, measures, determinations (docs/design.md section 1).

The CLI only turns options into these calls, so everything it does can be done from Python. This
is the one module that joins the stages: it reads the measure families of the registry and the
profile, tells the loader what the profile adds to its checks, and hands the reports a finished
run (model.RunResult) made of plain data.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from sedet.determine import determine, measures_read, needs_prior_year, override_check, tables_needed
from sedet.errors import DEFAULT_LIMIT, ProfileError, UsageError
from sedet.io import schema as S
from sedet.io.bundle import Bundle, LoadedTable, LoadSpec, load_bundle
from sedet.measures.common import sorted_parts, to_measure_rows
from sedet.measures.registry import measure_infos
from sedet.model import MEASURE_SCHEMA, NO_DATA, Check, Column, Determinations, Inputs, InputTable, RunResult
from sedet.profile import LoadedProfile
from sedet.progress import SILENT, Steps

# The tables whose years tell which school years a bundle holds, in order of preference.
YEAR_TABLES = (("assessments", "enrollment"), ("evaluations", "transition", "discipline", "compliance"))


def required_tables(profile: LoadedProfile) -> tuple[str, ...]:
    """The tables a profile cannot run without."""
    need = [t for family, params in profile.families() for t in family.tables(params)]
    need += tables_needed(profile.model.determination)
    return tuple(dict.fromkeys(need))


def columns_read(profile: LoadedProfile) -> dict[str, frozenset[str]]:
    """For each table read only in part (schema: Table.prune), the columns a determination with this
    profile reads: those its measure families declare, the table's key, school year and district.
    A column no measure of the profile reads is neither parsed nor checked (`sedet validate` checks
    them all)."""
    reads = {t.name: {"school_year", "district_id", *t.key} for t in S.TABLES.values() if t.prune}
    for family, _ in profile.families():
        for table, cols in family.reads.items():
            reads[table].update(cols)
    return {t: frozenset(cols) for t, cols in reads.items()}


def check_names(profile: LoadedProfile) -> None:
    """Every measure a factor or condition reads is one the profile's families write, and every
    compliance fact it reads is declared: a misspelt name would otherwise make a factor n/a, or an
    `is_missing` condition true, for every LEA."""
    written = {m.name for family, _ in profile.families() for m in family.measures}
    facts = next((list(getattr(p, "names", [])) for f, p in profile.families() if f.name == "compliance"), [])
    det = profile.model.determination
    reads = [(f"factor {f.id}", f.measure, f.where) for f in profile.model.factors]
    reads += [(f"condition {c.id}", *c.selection()) for c in (det.conditions if det is not None else [])
              if c.consecutive is None]
    for who, measure, where in reads:
        fact = where.get("category") if measure == "compliance_fact" else None
        if measure not in written:
            raise ProfileError(f"{profile.path}: {who} reads measure {measure!r}, which no measure family of the "
                               "profile writes", hint="measures written: " + ", ".join(sorted(written)))
        if fact not in (None, "*") and fact not in facts:
            raise ProfileError(f"{profile.path}: {who} reads the compliance fact {fact!r}, which "
                               "[measures.compliance] facts does not declare",
                               hint="facts declared: " + (", ".join(facts) or "none"))


def load_spec(profile: LoadedProfile, *, pruned: bool = True) -> LoadSpec:
    """What the profile adds to the loader's checks: the tables it needs, its code lists and local
    codes, the columns its parameters name, its rules; with `pruned`, the only columns read of the
    large tables (columns_read)."""
    check_names(profile)
    code_lists = dict(S.DEFAULT_CODE_LISTS)
    columns: dict[str, list[Column]] = {}
    checks: dict[str, list[Check]] = {}
    for family, params in profile.families():
        code_lists.update(family.code_lists(params))
        for table, named in family.columns(params).items():
            columns[table] = [c if isinstance(c, Column) else replace(S.TABLES[table].extra(c), required=True)
                              for c in named]
        for table, rules in family.row_checks(params).items():
            checks.setdefault(table, []).extend(rules)
    det = profile.model.determination
    if det is not None:
        checks.setdefault("overrides", []).append(override_check(det))
        checks.setdefault("history", []).append(override_check(det))
    return LoadSpec(required_tables(profile), code_lists, profile.model.codes, columns, checks,
                    columns_read(profile) if pruned else {})


def load(bundle_path: Path, profile: LoadedProfile, *, encoding: str | None = None, limit: int = DEFAULT_LIMIT,
         steps: Steps = SILENT, streaming: bool | None = None, pruned: bool = True, verify: bool = True) -> Bundle:
    """Read and check the bundle for this profile (BundleError lists every problem). `verify`: wait
    for the short-row check of the CSV files now (io.bundle.Bundle.verify); `run` does it after the
    measures, while the files are hashed in the background."""
    rows = [0]

    def on_table(table: str, n: int, tables: int) -> None:
        if not table:
            steps.phase("reading the bundle", tables)
            return
        rows[0] += n
        steps.advance(1, f"reading the bundle: {table} read, {rows[0]:,} rows so far")

    bundle = load_bundle(bundle_path, load_spec(profile, pruned=pruned), encoding=encoding, limit=limit,
                         on_table=on_table, streaming=streaming)
    if verify:
        bundle.verify(limit)
    return bundle


def choose_year(bundle: Bundle, profile: LoadedProfile, year: int | None) -> tuple[int, list[int]]:
    """The school year to determine (`year`, else the latest) and every year the bundle holds."""
    need = required_tables(profile)
    main = next((tables for group in YEAR_TABLES if (tables := [t for t in need if t in group])), ["enrollment"])
    years = sorted({y for t in main for y in bundle.years(t)})
    if not years:
        raise UsageError(f"the bundle holds no rows in {', '.join(main)}: there is no school year to determine")
    if year is None:
        return years[-1], years
    if year not in years:
        raise UsageError(
            f"--year {year} is not in the bundle (school years present: {', '.join(map(str, years))})",
            hint="school_year is the spring year: 2012 means 2011-12",
        )
    return year, years


def compute_measures(inputs: Inputs, profile: LoadedProfile) -> pl.LazyFrame:
    """Every measure row the profile asks for, for one school year, as one lazy frame."""
    parts = [to_measure_rows(family.compute(inputs, params)) for family, params in profile.families()]
    return pl.concat(parts) if parts else pl.LazyFrame(schema=MEASURE_SCHEMA)


def measure_parts(inputs: Inputs, profile: LoadedProfile, steps: Steps = SILENT) -> list[pl.DataFrame]:
    """Every measure row the profile asks for, for one school year, family by family (so that `steps`
    can count them; measured as fast as one query of them all: each family's query is parallel in
    itself, and they share no work). Each family's query runs on polars' streaming engine, also when
    the tables are in memory: it holds less at once than the in-memory engine (disproportionality on
    the 1M-student bundle: 0.20 against 0.30 GB more) and was not slower (0.42-0.44 against 0.55 s)."""
    families = profile.families()
    steps.phase(f"computing the measures of school year {inputs.year}", len(families))
    parts = []
    for family, params in families:
        steps.advance(0, f"computing the measures of school year {inputs.year}: {family.name}")
        parts.append(to_measure_rows(family.compute(inputs, params)).collect(engine="streaming"))
        steps.advance(1)
    return parts


def inputs_of(bundle: Bundle, year: int) -> Inputs:
    tables = {name: t.frame.lazy() for name, t in bundle.tables.items()}
    return Inputs(year, tables, bundle.years)


def run(bundle_path: Path, profile: LoadedProfile, *, year: int | None = None, encoding: str | None = None,
        limit: int = DEFAULT_LIMIT, steps: Steps = SILENT, streaming: bool | None = None, past: int = 1) -> RunResult:
    """Load, compute and determine: the finished run, ready for the reports."""
    bundle = load(bundle_path, profile, encoding=encoding, limit=limit, steps=steps, streaming=streaming,
                  verify=False)
    result = run_loaded(bundle, profile, year, steps, past, release=True)
    steps.phase("checking the row lengths of the CSV files")
    bundle.verify(limit)  # the CSV files' commas were counted while the measures were computed
    return result


def run_loaded(bundle: Bundle, profile: LoadedProfile, year: int | None = None, steps: Steps = SILENT,
               past: int = 1, *, release: bool = False) -> RunResult:
    """Measures and determinations of a bundle already loaded for this profile; with a determination,
    the `past` school years before it that the bundle holds, placed by the same profile (past_years).
    With `release`, the tables' rows are let go once every measure row is computed (the bundle is then
    of no more use but for its districts, overrides and history): they are not held while the rows are
    sorted, the LEAs placed and the files written (nj-ffy2022, 1M students: 0.56-0.58 GB against
    0.63-0.65, docs/performance.md section 13)."""
    chosen, years = choose_year(bundle, profile, year)
    before = before_factors = None
    if profile.model.determination is not None and past > 0:
        # first, so that what computing them holds is let go before this year's rows are held
        earlier = [y for y in years if chosen - past <= y < chosen]
        if earlier:
            steps.phase(f"placing the LEAs in the earlier school years held ({', '.join(map(str, earlier))})")
        before, before_factors = past_years(bundle, profile, earlier, {})
    parts = measure_parts(inputs_of(bundle, chosen), profile, steps)
    prior = None
    if needs_prior_year(profile.model) and chosen - 1 in years:
        # only what the determination reads of the year before: no report shows those rows
        prior = rows_read(bundle, profile, chosen - 1, measures_read(profile.model))
    if release:
        bundle.release(keep={S.DISTRICTS, "overrides", "history"})
    measures = sorted_parts(parts) if parts else pl.DataFrame(schema=MEASURE_SCHEMA)  # empties `parts`
    districts = bundle.tables.get(S.DISTRICTS)
    overrides = bundle.tables.get("overrides")
    names: dict[str, str] = {}
    if districts is not None:
        pairs = districts.frame.lazy().select("district_id", "district_name").collect().iter_rows()
        names = {d: n for d, n in pairs if n is not None}
    if profile.model.determination is not None:
        steps.phase("scoring the factors and placing the LEAs")
    dets = determine(profile.model, measures, table_frame(districts), table_frame(overrides), chosen,
                     history=table_frame(bundle.tables.get("history")), prior=prior)
    rows = measures.lazy().filter(pl.col("district_id").is_not_null())
    n_districts, status_counts = pl.collect_all([
        rows.select(pl.col("district_id").n_unique()),
        rows.group_by("measure", "status").len().sort("measure", "status"),
    ])
    inputs = tuple(InputTable(t.name, t.source.label, t.source.sheet, t.rows_read, tuple(t.columns_ignored),
                              tuple(t.columns_not_read)) for t in bundle.tables.values())
    if dets is not None and before is not None:
        dets = with_prior(dets, before, table_frame(bundle.tables.get("history")), chosen, profile)
    return RunResult(profile.info(), chosen, years, inputs, bundle.files, bundle.streaming, measures,
                     measure_infos(), names, n_districts.item(), status_counts, dets, before, before_factors)


def measures_without_data(result: RunResult) -> list[str]:
    """The measures no LEA has data for (every LEA row `no_data`): a bundle without what they count,
    e.g. assessment rows without a performance level for a proficiency rate. Sorted."""
    c = result.status_counts
    return sorted(c.group_by("measure").agg((pl.col("status") == NO_DATA).all().alias("empty"))
                  .filter("empty").get_column("measure").to_list())


PAST_COLUMNS = pl.Schema({"district_id": pl.String(), "school_year": pl.Int64(), "category": pl.String(),
                          "category_label": pl.String(), "percentage": pl.Float64(), "score": pl.Float64()})
PAST_FACTOR_COLUMNS = pl.Schema({"district_id": pl.String(), "school_year": pl.Int64(), "factor": pl.String(),
                                 "value": pl.Float64(), "points": pl.Float64(), "possible": pl.Float64(),
                                 "status": pl.String()})


def past_years(bundle: Bundle, profile: LoadedProfile, earlier: list[int],
               rows: dict[int, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each earlier school year, placed by this profile on that year's rows (without the overrides,
    which are this year's): per LEA the category and percentage or score, and each factor's value and
    points. `rows`: measure rows already computed, by year."""
    det = profile.model.determination
    districts, history = table_frame(bundle.tables.get(S.DISTRICTS)), table_frame(bundle.tables.get("history"))
    tables, factors = [], []

    # the rows the determination reads (without a districts table, the LEAs are those of every row)
    read = measures_read(profile.model) if districts is not None else None

    def rows_of(y: int) -> pl.DataFrame:
        if y not in rows:
            rows[y] = rows_read(bundle, profile, y, read)
        return rows[y]

    for y in earlier:
        prior = rows_of(y - 1) if needs_prior_year(profile.model) and y - 1 in bundle_years(bundle, profile) else None
        d = determine(profile.model, rows_of(y), districts, None, y, history=history, prior=prior)
        if d is None or det is None:
            continue
        t = d.table
        tables.append(t.select("district_id", pl.lit(y, pl.Int64).alias("school_year"), "category", "category_label",
                               "percentage", (pl.col("score") if "score" in t.columns else pl.lit(None, pl.Float64))
                               .alias("score")))
        factors.append(d.factors.select("district_id", pl.lit(y, pl.Int64).alias("school_year"), "factor", "value",
                                        "points", "possible", "status"))
    table = pl.concat(tables, how="vertical_relaxed") if tables else pl.DataFrame(schema=PAST_COLUMNS)
    fac = pl.concat(factors, how="vertical_relaxed") if factors else pl.DataFrame(schema=PAST_FACTOR_COLUMNS)
    return table.cast(PAST_COLUMNS), fac.cast(PAST_FACTOR_COLUMNS)


def rows_read(bundle: Bundle, profile: LoadedProfile, year: int, read: set[str] | None) -> pl.DataFrame:
    """A school year's measure rows of the measures in `read` (None: every measure), without their
    notes: the rows a determination reads of a year whose rows no report shows (the years before)."""
    parts = [to_measure_rows(f.compute(inputs_of(bundle, year), p)).with_columns(pl.lit(None, pl.String).alias("note"))
             for f, p in profile.families()]
    parts = [q.filter(pl.col("measure").is_in(sorted(read))) if read is not None else q for q in parts]
    return pl.concat([q.collect(engine="streaming") for q in parts]) if parts else pl.DataFrame(schema=MEASURE_SCHEMA)


def bundle_years(bundle: Bundle, profile: LoadedProfile) -> list[int]:
    return choose_year(bundle, profile, None)[1]


PRIOR_COLUMNS = ["prior_category", "prior_category_label", "prior_percentage", "prior_score", "prior_source"]


def with_prior(dets: Determinations, past: pl.DataFrame, history: pl.DataFrame | None, year: int,
               profile: LoadedProfile) -> Determinations:
    """The determinations with the prior school year's category and percentage or score of each LEA:
    the official ones of the `history` table where it has them (prior_source "history"), else the
    profile's placement of the bundle's prior year ("computed"), else none."""
    det = profile.model.determination
    assert det is not None
    label = {c.short: c.label for c in det.categories}
    short = {c.label: c.short for c in det.categories} | {c.short: c.short for c in det.categories}
    computed = past.filter(pl.col("school_year") == year - 1).select(
        "district_id", pl.col("category").alias("c_short"), pl.col("category_label").alias("c_label"),
        pl.col("percentage").alias("c_pct"), pl.col("score").alias("c_score"))
    frame = dets.table.select("district_id").join(computed, on="district_id", how="left")
    if history is not None:
        h = history.filter(pl.col("school_year") == year - 1)
        written = pl.col("category").replace_strict(short, default=None, return_dtype=pl.String)
        official = h.select("district_id", written.alias("h_short"),
                            *[(pl.col(c) if c in h.columns else pl.lit(None, pl.Float64)).alias(f"h_{c}")
                              for c in ("percentage", "score")])
        frame = frame.join(official, on="district_id", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("h_short"), pl.lit(None, pl.Float64).alias(
            "h_percentage"), pl.lit(None, pl.Float64).alias("h_score"))
    from_history = pl.col("h_short").is_not_null()
    prior = frame.select(
        "district_id",
        pl.when(from_history).then(pl.col("h_short")).otherwise(pl.col("c_short")).alias("prior_category"),
        pl.when(from_history).then(pl.col("h_short").replace_strict(label, default=None, return_dtype=pl.String))
        .otherwise(pl.col("c_label")).alias("prior_category_label"),
        pl.when(from_history).then(pl.col("h_percentage")).otherwise(pl.col("c_pct")).alias("prior_percentage"),
        pl.when(from_history).then(pl.col("h_score")).otherwise(pl.col("c_score")).alias("prior_score"),
        pl.when(from_history).then(pl.lit("history")).when(pl.col("c_short").is_not_null()).then(pl.lit("computed"))
        .alias("prior_source"),
    )
    return replace(dets, table=dets.table.join(prior, on="district_id", how="left", maintain_order="left"))


def table_frame(table: LoadedTable | None) -> pl.DataFrame | None:
    return table.frame.lazy().collect() if table is not None else None


def district_rows(result: RunResult, district: str) -> pl.DataFrame:
    """One district's measure rows; a UsageError naming the nearest district when it has none."""
    rows = result.measures.filter(pl.col("district_id") == district)
    if rows.height:
        return rows
    known = result.measures.get_column("district_id").drop_nulls().unique().sort()
    near = [d for d in known.to_list() if d.lstrip("0") == district.lstrip("0")]
    hint = (f"did you mean {near[0]!r}? identifiers are compared as text" if near
            else f"{known.len()} districts have rows, e.g. {', '.join(known.head(5).to_list())}")
    raise UsageError(f"district {district!r} has no measure rows for school year {result.year}", hint=hint)


def with_risks(rows: pl.DataFrame, result: RunResult) -> pl.DataFrame:
    """Measure rows with comparison counts, with the risk of the group (`risk`) and of its
    comparison (`comparison_risk`) as `explain` shows them: percent, or per child for the
    categories whose risk is a count per child (`risk_unit`)."""
    per_child = [(m.name, c) for m in result.measure_info.values() for c in m.per_child_categories]
    child = pl.any_horizontal([(pl.col("measure") == m) & (pl.col("category") == c) for m, c in per_child]) \
        if per_child else pl.lit(False)
    scale = pl.when(child).then(pl.lit(1.0)).otherwise(pl.lit(100.0))

    def risk(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den).is_not_null() & (pl.col(den) != 0)).then(scale * pl.col(num) / pl.col(den))

    return rows.with_columns(
        risk("numerator", "denominator").alias("risk"),
        risk("comparison_numerator", "comparison_denominator").alias("comparison_risk"),
        pl.when(child).then(pl.lit("per_child")).otherwise(pl.lit("percent")).alias("risk_unit"),
    )
