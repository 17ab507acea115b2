"""One determination run: load, measures, (factors, determinations), as library calls.

The CLI only turns options into these calls, so everything it does can be done from Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sedet.determine import Determinations, determine
from sedet.errors import UsageError
from sedet.io import schema as S
from sedet.io.bundle import DEFAULT_LIMIT, Bundle, load_bundle
from sedet.io.fingerprint import HashProcess
from sedet.measures import alternate, assessment, discipline, disproportionality, secondary
from sedet.measures.alternate import alternate_measures
from sedet.measures.assessment import assessment_measures
from sedet.measures.common import MEASURE_SCHEMA, sort_rows, to_measure_rows
from sedet.measures.compliance import compliance_measures
from sedet.measures.discipline import discipline_measures
from sedet.measures.disproportionality import disproportionality_measures
from sedet.measures.secondary import secondary_measures
from sedet.measures.timeline import timeline_measures
from sedet.measures.transition import transition_measures
from sedet.profile import LoadedProfile


def required_tables(profile: LoadedProfile) -> tuple[str, ...]:
    """The tables a profile cannot run without."""
    m = profile.measures
    need: list[str] = []
    if m.assessment is not None:
        need.append("assessments")
    if m.disproportionality is not None:
        need.append("enrollment")
        if any(c.startswith("discipline") for c in m.disproportionality.categories):
            need.append("discipline")
    if m.discipline is not None:
        need += ["enrollment", "discipline"]
    if m.timeline is not None:
        need.append("evaluations")
    if m.transition is not None:
        need.append("transition")
    if m.alternate is not None:
        need.append("assessments")
    if m.compliance is not None:
        need.append("compliance")
    if m.secondary is not None:
        need.append("enrollment")
    det = profile.model.determination
    if det is not None and det.method == "level_alignment":
        need.append("districts")
    return tuple(dict.fromkeys(need))


# The large student-level tables, of which a run reads only the columns its measures use: a column
# no measure of the profile reads is neither parsed nor checked (`sedet validate` checks them all).
PRUNED_TABLES = ("assessments", "enrollment")
FAMILY_READS = {
    "assessment": assessment.READS,
    "alternate": alternate.READS,
    "disproportionality": disproportionality.READS,
    "discipline": discipline.READS,
    "secondary": secondary.READS,
}


def columns_read(profile: LoadedProfile) -> dict[str, frozenset[str]]:
    """For each of PRUNED_TABLES, the columns a determination with this profile reads: those its
    measure families declare (each module's READS), the table's key, school year and district."""
    reads = {t: {"school_year", "district_id", *S.TABLES[t].key} for t in PRUNED_TABLES}
    for family, tables in FAMILY_READS.items():
        if getattr(profile.measures, family) is not None:
            for t, cols in tables.items():
                reads[t].update(cols)
    return {t: frozenset(cols) for t, cols in reads.items()}


def main_tables(profile: LoadedProfile) -> tuple[str, ...]:
    """The tables whose years define which years a bundle holds, for `--year`."""
    need = required_tables(profile)
    main = [t for t in need if t in ("assessments", "enrollment")]
    if main:
        return tuple(main)
    with_years = [t for t in need if t in ("evaluations", "transition", "discipline", "compliance")]
    return tuple(with_years) or ("enrollment",)


@dataclass
class RunResult:
    profile: LoadedProfile
    bundle: Bundle
    year: int
    years: list[int]
    measures: pl.DataFrame
    district_names: dict[str, str] = field(default_factory=dict)
    determinations: Determinations | None = None

    def for_district(self, district_id: str) -> pl.DataFrame:
        return self.measures.filter(pl.col("district_id") == district_id)


def choose_year(bundle: Bundle, profile: LoadedProfile, year: int | None) -> tuple[int, list[int]]:
    years = sorted({y for t in main_tables(profile) for y in bundle.years(t)})
    if not years:
        raise UsageError(f"the bundle holds no rows in {', '.join(main_tables(profile))}: there is no school year to determine")
    if year is None:
        return years[-1], years
    if year not in years:
        raise UsageError(
            f"--year {year} is not in the bundle (school years present: {', '.join(map(str, years))})",
            hint="school_year is the spring year: 2012 means 2011-12",
        )
    return year, years


def compute_measures(bundle: Bundle, profile: LoadedProfile, year: int) -> pl.LazyFrame:
    """Every measure row the profile asks for, for one school year, as one lazy frame."""
    parts: list[pl.LazyFrame] = []
    m = profile.measures
    if m.assessment is not None:
        assessments = bundle.lazy("assessments")
        assert assessments is not None  # required_tables() made sure
        parts.append(assessment_measures(assessments, m.assessment, year, bundle.lazy("targets")))
    if m.disproportionality is not None:
        enrollment = bundle.lazy("enrollment")
        assert enrollment is not None
        parts.append(disproportionality_measures(
            enrollment, bundle.lazy("discipline"), m.disproportionality, year, bundle.years("enrollment"),
            bundle.lazy("compliance"),
        ))
    if m.discipline is not None:
        enrollment, discipline = bundle.lazy("enrollment"), bundle.lazy("discipline")
        assert enrollment is not None and discipline is not None
        parts.append(discipline_measures(enrollment, discipline, m.discipline, year, bundle.lazy("compliance")))
    for params, table, fn in (
        (m.timeline, "evaluations", timeline_measures),
        (m.transition, "transition", transition_measures),
        (m.alternate, "assessments", alternate_measures),
        (m.compliance, "compliance", compliance_measures),
        (m.secondary, "enrollment", secondary_measures),
    ):
        if params is not None:
            frame = bundle.lazy(table)
            assert frame is not None  # required_tables() made sure
            parts.append(fn(frame, params, year))
    if not parts:
        return pl.LazyFrame(schema=MEASURE_SCHEMA)
    return pl.concat([to_measure_rows(p) for p in parts])


def run(
    bundle_path: Path,
    profile: LoadedProfile,
    *,
    year: int | None = None,
    encoding: str | None = None,
    limit: int = DEFAULT_LIMIT,
    on_table: Callable[[str], None] | None = None,
    streaming: bool | None = None,
    early: HashProcess | None = None,
) -> RunResult:
    bundle = load_bundle(bundle_path, profile, required=required_tables(profile), encoding=encoding,
                         limit=limit, on_table=on_table, streaming=streaming, reads=columns_read(profile), early=early)
    chosen, years = choose_year(bundle, profile, year)
    engine = "streaming" if bundle.streaming else "auto"
    measures = sort_rows(compute_measures(bundle, profile, chosen).collect(engine=engine))
    names: dict[str, str] = {}
    districts = bundle.tables.get("districts")
    if districts is not None:
        names = {
            d: n for d, n in districts.frame.select("district_id", "district_name").iter_rows() if n is not None
        }
    districts_frame = districts.frame if districts is not None else None
    overrides = bundle.tables.get("overrides")
    dets = determine(profile, measures, districts_frame, overrides.frame if overrides is not None else None, chosen)
    return RunResult(profile, bundle, chosen, years, measures, names, dets)
