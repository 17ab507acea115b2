"""Scenarios of a profile's parameters: `sedet sweep` (docs/design.md section 9).

34 CFR 300.647(b)(1) asks the state to set its risk-ratio threshold, minimum n-size and minimum cell
size with stakeholders; they ask how many LEAs, and which, each choice would identify. A sweep runs
every combination of the values given for some of the profile's parameters (`--vary KEY=VALUES`)
and says, per scenario, how many LEAs each measure identifies, how many fall in each category, and
which LEAs change against the profile as written.

The bundle is read and checked once. Every scenario's profile is built and validated before any
work: an unknown key, or a value the profile model rejects, is a usage error naming it. A family
whose parameters a scenario leaves as written keeps the rows computed for the profile as written;
one whose parameters change reruns, but the counts it reads from the large tables, which depend on
fewer parameters (`Inputs.shared`), are computed once per distinct set of those parameters.

What a scenario counts as identified: an LEA with at least one row of the school year whose flag is
the first of its measure's verdicts (`identified`, `above_cap`, `significant_discrepancy`,
`policies_contributed`, `exceeds`), per measure and category and over all of them.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from sedet.determine import determine, measures_read, needs_prior_year
from sedet.errors import UsageError
from sedet.measures.common import to_measure_rows
from sedet.measures.registry import FAMILIES
from sedet.model import MEASURE_SCHEMA, Inputs, RunResult
from sedet.pipeline import choose_year, columns_read, load, required_tables, run_loaded, table_frame
from sedet.profile import LoadedProfile, Profile, flatten_params, format_validation
from sedet.progress import SILENT, Steps

ROOTS = ("measures.", "factors[", "groups[", "determination.")  # what a scenario may change
MAX_SCENARIOS = 10_000
RANGE = re.compile(r"^\s*(-?[\d.]+)\s*:\s*(-?[\d.]+)\s*:\s*([\d.]+)\s*$")


@dataclass(frozen=True)
class Vary:
    key: str  # as the profile's parameters are listed: measures.disproportionality.threshold, factors[2]...
    values: tuple[Any, ...]


def normal_key(key: str) -> str:
    """`factors.2.points.0.at_least` and `factors[2].points[0].at_least` name the same parameter."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key.strip())


def parse_vary(text: str, profile: LoadedProfile) -> Vary:
    """`KEY=a:b:step` (a range, both ends included), `KEY=a,b,c`, or `KEY=v1;v2` (values that hold
    commas, such as lists: `[3,21];[5,21]`). KEY must be a number or list parameter of the profile."""
    if "=" not in text:
        raise UsageError(f"--vary {text!r}: expected KEY=VALUES, e.g. measures.disproportionality.threshold=2:4:0.5")
    key, spec = text.split("=", 1)
    key = normal_key(key)
    current = dict(flatten_params(profile.model.model_dump(mode="json", exclude_none=True)))
    if key not in current:
        near = [k for k in current if k.startswith(ROOTS) and k.rsplit(".", 1)[-1] == key.rsplit(".", 1)[-1]]
        hint = f"did you mean {', '.join(near[:5])}?" if near else "`sedet profiles show NAME` lists every parameter"
        raise UsageError(f"--vary: {key!r} is not a parameter of profile {profile.id}", hint=hint)
    if not key.startswith(ROOTS):
        raise UsageError(f"--vary: {key!r} does not change what is computed; a sweep varies the parameters of "
                         "[measures.*], [[factors]], [[groups]] and [determination]")
    value = current[key]
    if isinstance(value, bool) or not isinstance(value, int | float | list):
        raise UsageError(f"--vary: {key!r} is {value!r}; a sweep varies a number or a list parameter")
    values = _values(key, spec, value)
    if not values:
        raise UsageError(f"--vary {key}: no values in {spec!r}")
    return Vary(key, values)


def _values(key: str, spec: str, current: Any) -> tuple[Any, ...]:
    m = RANGE.match(spec)
    if m:
        try:
            lo, hi, step = (float(x) for x in m.groups())
        except ValueError:
            raise UsageError(f"--vary {key}: a range FROM:TO:STEP of numbers, not {spec!r}") from None
        if step <= 0 or hi < lo:
            raise UsageError(f"--vary {key}: a range FROM:TO:STEP with TO >= FROM and STEP > 0, not {spec!r}")
        n = math.floor((hi - lo) / step + 1e-9) + 1
        if n > MAX_SCENARIOS:
            raise UsageError(f"--vary {key}: {n:,} values; at most {MAX_SCENARIOS:,}")
        decimals = max(_decimals(x) for x in m.groups())
        out = [round(lo + i * step, decimals) for i in range(n)]
        return tuple(int(v) if isinstance(current, int) and float(v).is_integer() else v for v in out)
    parts = spec.split(";") if ";" in spec else spec.split(",")
    out = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        try:
            value = json.loads(part)
        except json.JSONDecodeError:
            raise UsageError(f"--vary {key}: {part!r} is not a value (a number, or a list such as [3,21])") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"--vary {key}: {part!r} is not a finite number")
        out.append(value)
    unique: dict[str, Any] = {}
    for v in out:
        unique.setdefault(json.dumps(v), v)
    return tuple(unique.values())


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _set(doc: Any, key: str, value: Any) -> None:
    """Set the parameter `key` (dotted, with [i] for list items) in a dumped profile."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", key)
    node = doc
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value


@dataclass(frozen=True)
class Scenario:
    number: int
    values: tuple[Any, ...]
    profile: LoadedProfile
    as_written: bool  # every value is the profile's own


def scenarios(profile: LoadedProfile, varies: list[Vary]) -> list[Scenario]:
    """Every combination of the values, each a validated profile; a value the model refuses is a
    usage error naming the scenario, before any work."""
    keys = [v.key for v in varies]
    if len(set(keys)) != len(keys):
        raise UsageError("--vary: a parameter is given twice: " + ", ".join(sorted({k for k in keys
                                                                                   if keys.count(k) > 1})))
    n = math.prod(len(v.values) for v in varies)
    if n > MAX_SCENARIOS:
        raise UsageError(f"--vary: {n:,} scenarios; at most {MAX_SCENARIOS:,}")
    base = profile.model.model_dump(mode="json", exclude_none=True)
    own = dict(flatten_params(base))
    out = []
    for i, combo in enumerate(itertools.product(*(v.values for v in varies)), 1):
        doc = json.loads(json.dumps(base))
        for key, value in zip(keys, combo, strict=True):
            _set(doc, key, value)
        try:
            model = Profile.model_validate(doc)
        except ValidationError as e:
            said = ", ".join(f"{k}={json.dumps(v)}" for k, v in zip(keys, combo, strict=True))
            raise UsageError(f"--vary: scenario {i} ({said}) is not a valid profile:\n" + format_validation(e)) \
                from None
        written = all(_same(own[k], v) for k, v in zip(keys, combo, strict=True))
        out.append(Scenario(i, combo, LoadedProfile(model, profile.path, b"", profile.sources), written))
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-12)
    return json.dumps(a) == json.dumps(b)


# ---------------------------------------------------------------------------------------------------
# Running them


@dataclass
class Outcome:
    """What one scenario gives: per LEA, the findings and the category."""

    scenario: Scenario
    identified: pl.DataFrame  # district_id, measure, category, group: one row per finding
    categories: pl.DataFrame | None  # district_id, category (short), category_label


@dataclass
class SweepResult:
    base: RunResult  # the profile as written, as `determine` computes it
    varies: list[Vary]
    outcomes: list[Outcome]
    base_outcome: Outcome
    findings: list[tuple[str, str | None]] = field(default_factory=list)  # (measure, category) columns
    category_labels: list[tuple[str, str]] = field(default_factory=list)  # (short, label), best first


def run_sweep(bundle_path: Path, profile: LoadedProfile, varies: list[Vary], *, year: int | None = None,
              encoding: str | None = None, steps: Steps = SILENT) -> SweepResult:
    """The profile as written, then every scenario, on one reading of the bundle."""
    todo = scenarios(profile, varies)
    bundle = load(bundle_path, profile, encoding=encoding, steps=steps, verify=False)
    for s in todo:  # a scenario may not need a table the profile as written does not read
        _same_tables(profile, s)
    base = run_loaded(bundle, profile, year, steps, past=0)  # the years before are not compared
    chosen, years = choose_year(bundle, profile, year)
    memo: dict[tuple, pl.DataFrame] = {}
    tables = {name: t.frame.lazy() for name, t in bundle.tables.items()}
    work = Work(profile, base, Inputs(chosen, tables, bundle.years, memo), bundle.streaming)
    prior_work: Work | None = None
    districts = table_frame(bundle.tables.get("districts"))
    if districts is None:  # the LEAs of every measure, as determine would take them from the rows
        districts = base.measures.filter(pl.col("district_id").is_not_null() & (pl.col("school_year") == chosen)) \
            .select("district_id", pl.lit(None, pl.String).alias("district_name"),
                    pl.lit(None, pl.Int64).alias("accountability_level")).unique().sort("district_id")
    overrides, history = table_frame(bundle.tables.get("overrides")), table_frame(bundle.tables.get("history"))
    base_outcome = _outcome(Scenario(0, (), profile, True), base.measures, base)
    steps.phase("running the scenarios", len(todo))
    outcomes = []
    for s in sorted(todo, key=lambda s: _run_order(s, varies)):
        steps.advance(0, f"running the scenarios: {s.number} of {len(todo)}")
        if s.as_written:
            outcomes.append(_outcome(s, base.measures, base))
            steps.advance(1)
            continue
        rows = work.rows(s.profile)
        prior = None
        if needs_prior_year(s.profile.model) and chosen - 1 in years:
            if prior_work is None:
                prior_inputs = Inputs(chosen - 1, tables, bundle.years, memo)
                prior_work = Work(profile, base, prior_inputs, bundle.streaming,
                                  _computed(profile, prior_inputs, bundle.streaming))
            prior = prior_work.rows(s.profile)
        dets = determine(s.profile.model, rows, districts, overrides, chosen, history=history, prior=prior,
                         reuse=work.scores_kept(s.profile))
        outcomes.append(_outcome(s, rows, base, dets.table if dets is not None else None))
        steps.advance(1)
    bundle.verify()
    outcomes.sort(key=lambda o: o.scenario.number)
    det = profile.model.determination
    labels = [(c.short, c.label) for c in det.categories] if det is not None else []
    findings = sorted({(m, c) for o in [base_outcome, *outcomes]
                       for m, c in o.identified.select("measure", "category").unique().iter_rows()},
                      key=lambda mc: (mc[0], mc[1] or ""))
    return SweepResult(base, varies, outcomes, base_outcome, findings, labels)


class Work:
    """A school year's measure rows of the profile as written, by family, kept to what a scenario's
    determination and findings read: the rows of the measures its factors and conditions read, and
    the rows flagged with a finding. A scenario recomputes the families whose parameters it changes
    (without the notes, which only the reports read) and reuses the others."""

    def __init__(self, profile: LoadedProfile, base: RunResult, inputs: Inputs, streaming: bool,
                 rows: pl.DataFrame | None = None) -> None:
        self.verdict = {name: info.verdicts[0] for name, info in base.measure_info.items() if info.verdicts}
        self.read = measures_read(profile.model)
        # a family need not build the rows of a measure that is neither read nor flagged with a finding
        kept = None if self.read is None else frozenset(self.read | set(self.verdict))
        self.profile, self.inputs, self.streaming = profile, replace(inputs, measures=kept), streaming
        self.own = {f: _collect(self._kept(part), streaming)
                    for f, part in _by_family(base.measures if rows is None else rows).items()}
        self.own_params = {f.name: p for f, p in profile.families()}
        self.family_of = {m.name: f for f, ms in _family_measures().items() for m in ms}
        self.factors = {f.id: f for f in profile.model.factors}
        scores = base.determinations.factors if base.determinations is not None else None
        self.scores = {} if scores is None else {str(k): part for (k,), part in scores.group_by("factor")}

    def scores_kept(self, scenario: LoadedProfile) -> dict[str, pl.DataFrame]:
        """The scores of the factors a scenario leaves as written, on rows it leaves as written: the
        same factor, reading a measure of a family whose parameters are the profile's own."""
        params = {f.name: p for f, p in scenario.families()}
        kept = {}
        for f in scenario.model.factors:
            family = self.family_of.get(f.measure)
            if (f.id in self.scores and self.factors.get(f.id) == f and family is not None
                    and params.get(family) == self.own_params.get(family)):
                kept[f.id] = self.scores[f.id]
        return kept

    def _kept(self, rows: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
        first = pl.col("measure").replace_strict(self.verdict, default=None, return_dtype=pl.String)
        lf = rows.lazy().with_columns(pl.lit(None, pl.String).alias("note"))  # the notes are not computed
        if self.read is not None:
            lf = lf.filter(pl.col("measure").is_in(sorted(self.read)) | (pl.col("flag") == first))
        return lf

    def rows(self, scenario: LoadedProfile) -> pl.DataFrame:
        """A scenario's rows: the kept rows of each family whose parameters it leaves as written, the
        family's rows recomputed for the others (its queries run one after the other: collected
        together, 8 scenarios at a time, they were slower on 2 cores, 26 against 23 s)."""
        parts = []
        for family, params in scenario.families():
            if self.own_params.get(family.name) == params and family.name in self.own:
                parts.append(self.own[family.name])
            else:
                parts.append(_collect(self._kept(to_measure_rows(family.compute(self.inputs, params))),
                                      self.streaming))
        return pl.concat(parts) if parts else pl.DataFrame(schema=MEASURE_SCHEMA)


def _run_order(s: Scenario, varies: list[Vary]) -> tuple:
    """Scenarios are run grouped by everything but their thresholds, so that those which differ only
    in a threshold follow one another and share what the thresholds do not change (Inputs.shared)."""
    def rank(key: str) -> bool:
        return key.rsplit(".", 1)[-1] in ("threshold", "threshold_op")

    values = [json.dumps(v) for v, vary in zip(s.values, varies, strict=True) if not rank(vary.key)]
    return (*values, s.number)


def _same_tables(profile: LoadedProfile, s: Scenario) -> None:
    extra = set(required_tables(s.profile)) - set(required_tables(profile))
    more = {t: set(c) - set(columns_read(profile).get(t, ())) for t, c in columns_read(s.profile).items()}
    more = {t: c for t, c in more.items() if c}
    if extra or more:
        what = ", ".join(sorted(extra)) or "; ".join(f"{t}: {', '.join(sorted(c))}" for t, c in more.items())
        raise UsageError(f"--vary: scenario {s.number} reads what the profile as written does not ({what}); "
                         "a sweep reads the bundle once, for the profile as written")


def _by_family(rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Measure rows by the family that computes them."""
    family_of = {m.name: f for f, ms in _family_measures().items() for m in ms}
    out: dict[str, list[pl.DataFrame]] = {}
    for (name,), part in rows.group_by("measure", maintain_order=True):
        fam = family_of.get(str(name), "")
        out.setdefault(fam, []).append(part)
    return {f: pl.concat(parts) for f, parts in out.items()}


def _family_measures() -> dict[str, list]:
    return {f.name: list(f.measures) for f in FAMILIES}


def _computed(profile: LoadedProfile, inputs: Inputs, streaming: bool) -> pl.DataFrame:
    parts = [_collect(to_measure_rows(f.compute(inputs, p)), streaming) for f, p in profile.families()]
    return pl.concat(parts) if parts else pl.DataFrame(schema=MEASURE_SCHEMA)


def _collect(query: pl.LazyFrame, streaming: bool) -> pl.DataFrame:
    return query.collect(engine="streaming") if streaming else query.collect()


def _outcome(s: Scenario, rows: pl.DataFrame, base: RunResult, table: pl.DataFrame | None = None) -> Outcome:
    verdict = {name: info.verdicts[0] for name, info in base.measure_info.items() if info.verdicts}
    first = pl.col("measure").replace_strict(verdict, default=None, return_dtype=pl.String)
    found = rows.lazy().filter(pl.col("district_id").is_not_null() & (pl.col("school_year") == base.year)
                               & (pl.col("flag") == first)) \
        .select("district_id", "measure", "category",
                pl.concat_str([pl.col(c).fill_null("") for c in ("race_ethnicity", "disability", "subject",
                                                                  "grade_band", "assessment")],
                              separator=" ").str.strip_chars().alias("group")) \
        .unique().sort("district_id", "measure", "category", "group", nulls_last=True).collect()
    if table is None and s.as_written and base.determinations is not None:
        table = base.determinations.table
    cats = table.select("district_id", "category", "category_label") if table is not None else None
    return Outcome(s, found, cats)


# ---------------------------------------------------------------------------------------------------
# What the reports show


def value_text(v: Any) -> str:
    return json.dumps(v) if isinstance(v, list) else f"{v:g}" if isinstance(v, float) else str(v)


def finding_name(measure: str, category: str | None) -> str:
    return f"{measure} {category}" if category else measure


def _keys(o: Outcome) -> pl.DataFrame:
    """district_id and one text per finding: measure, category, group."""
    return o.identified.select("district_id", pl.concat_str([pl.col("measure"), pl.col("category").fill_null(""),
                                                               pl.col("group")], separator=" ")
                               .str.replace_all(r"\s+", " ").str.strip_chars().alias("finding"))


def changes(result: SweepResult, o: Outcome) -> pl.DataFrame:
    """The LEAs whose findings or category differ from the profile as written, and how."""
    base, now = _keys(result.base_outcome), _keys(o)
    added = now.join(base, on=["district_id", "finding"], how="anti").group_by("district_id") \
        .agg(pl.col("finding").sort().str.join("; ").alias("found_now"))
    gone = base.join(now, on=["district_id", "finding"], how="anti").group_by("district_id") \
        .agg(pl.col("finding").sort().str.join("; ").alias("found_no_longer"))
    frames = [added, gone]
    cats = None
    if result.base_outcome.categories is not None and o.categories is not None:
        cats = result.base_outcome.categories.select("district_id", pl.col("category_label").alias("written")) \
            .join(o.categories.select("district_id", pl.col("category_label").alias("scenario")), on="district_id",
                  how="full", coalesce=True) \
            .filter(pl.col("written").fill_null("") != pl.col("scenario").fill_null(""))
        frames.append(cats)
    ids = pl.concat([f.select("district_id") for f in frames]).unique()
    out = ids
    for f in frames:
        out = out.join(f, on="district_id", how="left")
    for col in ("found_now", "found_no_longer", "written", "scenario"):
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, pl.String).alias(col))
    names = pl.DataFrame({"district_id": list(result.base.district_names),
                          "district_name": list(result.base.district_names.values())},
                         schema={"district_id": pl.String, "district_name": pl.String})
    return out.join(names, on="district_id", how="left").select(
        "district_id", "district_name", pl.col("written").alias("category_as_written"),
        pl.col("scenario").alias("category_in_scenario"), "found_now", "found_no_longer",
    ).sort("district_id")


def scenario_table(result: SweepResult) -> pl.DataFrame:
    """One row per scenario: its values, LEAs identified per finding and overall, LEAs per category,
    and the LEAs that change against the profile as written."""
    rows = []
    for o in result.outcomes:
        row: dict[str, Any] = {"scenario": o.scenario.number, "as_written": o.scenario.as_written}
        for v, value in zip(result.varies, o.scenario.values, strict=True):
            row[v.key] = value_text(value) if isinstance(value, list) else value
        found = o.identified
        for measure, category in result.findings:
            hit = found.filter((pl.col("measure") == measure)
                               & (pl.col("category").is_null() if category is None else pl.col("category") == category))
            row[f"identified: {finding_name(measure, category)}"] = hit.get_column("district_id").n_unique()
        row["identified: any"] = found.get_column("district_id").n_unique()
        if o.categories is not None:
            counts = dict(o.categories.group_by("category").len().iter_rows())
            for short, label in result.category_labels:
                row[label] = counts.get(short, 0)
        changed = changes(result, o)
        row["LEAs changed"] = changed.height
        row["which LEAs change"] = ", ".join(changed.get_column("district_id").to_list())
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def change_table(result: SweepResult) -> pl.DataFrame:
    parts = []
    for o in result.outcomes:
        said = ", ".join(f"{v.key}={value_text(x)}" for v, x in zip(result.varies, o.scenario.values, strict=True))
        c = changes(result, o)
        if c.height:
            parts.append(c.select(pl.lit(o.scenario.number).alias("scenario"), pl.lit(said).alias("values"),
                                  pl.all()))
    if not parts:
        return pl.DataFrame(schema={"scenario": pl.Int64, "values": pl.String, "district_id": pl.String,
                                    "district_name": pl.String, "category_as_written": pl.String,
                                    "category_in_scenario": pl.String, "found_now": pl.String,
                                    "found_no_longer": pl.String})
    return pl.concat(parts, how="vertical_relaxed")


def along(result: SweepResult, table: pl.DataFrame, key: str, others: list[str]) -> pl.DataFrame:
    """The scenarios where every other varied parameter is at its value as written (or, when the
    sweep does not include that value, at its first value): the rows of a chart of `key`."""
    keep = pl.lit(True)
    written = next((o for o in result.outcomes if o.scenario.as_written), None)
    for other in others:
        idx = [v.key for v in result.varies].index(other)
        at = written.scenario.values[idx] if written else result.varies[idx].values[0]
        at = value_text(at) if isinstance(at, list) else at
        keep = keep & (pl.col(other) == at)
    return table.filter(keep).sort(key) if not isinstance(table.schema[key], pl.String) else table.filter(keep)


def sweep_json(result: SweepResult, table: pl.DataFrame, change: pl.DataFrame) -> dict:
    base = result.base
    scen = []
    for row in table.iter_rows(named=True):
        n = row["scenario"]
        scen.append({
            "scenario": n, "as_written": row["as_written"],
            "values": {v.key: row[v.key] for v in result.varies},
            "identified": {k.removeprefix("identified: "): row[k] for k in row if k.startswith("identified: ")},
            "categories": {label: row[label] for _, label in result.category_labels},
            "changed": change.filter(pl.col("scenario") == n).drop("scenario", "values").to_dicts(),
        })
    return {"profile": base.profile.id, "school_year": base.year, "varied": {v.key: list(v.values)
                                                                            for v in result.varies},
            "scenarios": scen}


def chart_rows(result: SweepResult, table: pl.DataFrame) -> tuple[list[str], list[tuple[str, pl.DataFrame]]]:
    """The series of the charts (LEAs identified, and LEAs per category) and, per varied parameter,
    its rows with the other parameters as written."""
    series = ["identified: any", *[label for _, label in result.category_labels]]
    keys = [v.key for v in result.varies]
    return series, [(k, along(result, table, k, [o for o in keys if o != k]).select(k, *series)) for k in keys]


def heat_grid(result: SweepResult, table: pl.DataFrame) -> tuple[str, str, pl.DataFrame] | None:
    """LEAs identified over the first two varied parameters (rows, columns), the others as written."""
    if len(result.varies) < 2:
        return None
    a, b = result.varies[0].key, result.varies[1].key
    rows = along(result, table, a, [v.key for v in result.varies[2:]]).select(a, b, "identified: any")
    grid = rows.with_columns(pl.col(b).cast(pl.String)).pivot(on=b, index=a, values="identified: any",
                                                               aggregate_function="first", sort_columns=False)
    return a, b, grid
