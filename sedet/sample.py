"""Synthetic input bundles: realistic, deterministic and fast to make at any size.

`make_bundle` writes a bundle folder (docs/design.md section 4) whose
tables and columns are exactly those `sedet.io.schema` declares, plus the
profile-declared extras sedet knows about (the NJ transition components and
the compliance facts). Nothing in it is real; the shares it draws from are
chosen so that every measure in docs/methods.md has something to find:

- district sizes are heavy-tailed (a few dozen to tens of thousands of
  students), so minimum-n rules bite in small districts;
- race/ethnicity mixes vary from district to district, and a few districts
  identify one group for special education far more often than the others,
  so some risk ratios exceed 3 (and do so year after year);
- IEP students score lower, participate slightly less, take the alternate
  assessment about 1% of the time statewide (more in some districts), are
  suspended more often and for longer;
- some districts are late with initial evaluations or leave transition IEP
  components out, so the compliance-style measures are not all 100%.

How it is made. District-level traits are drawn once. Then, for each school
year, the districts are cut into blocks of about `CHUNK_STUDENTS` students;
for each block one row per student is drawn (numpy, vectorised), and the
student-level tables (enrollment, assessments, evaluations, discipline,
transition) are derived from those students and appended to their files.
Memory therefore stays bounded by the block size, whatever `students` is.
All randomness comes from one `numpy.random.default_rng(seed)` consumed in a
fixed order, and rows are written in a fixed order, so the same arguments give
byte-identical files. `aggregate=True` consumes the same random numbers and
only groups the rows afterwards, so its counts add up to the student-level
bundle of the same seed.

Sources of the shares: educational environments by disability are the
national IDEA Part B child count, ages 6-21, fall 2016 (OSEP's public IDEA
Section 618 Part B child count and educational environments file); the other
shares are round figures of the same order as published national statistics
(NCES enrollment by race/ethnicity, OSEP child count by disability, CRDC
discipline), not estimates.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from sedet.io.schema import COMPLIANCE_FACTS, TABLES
from sedet.measures.transition import NJ_TRANSITION_COMPONENTS
from sedet.model import (
    BOOL,
    DATE,
    DISABILITY,
    ENVIRONMENT,
    FEDERAL_EVALUATION_EXCEPTIONS,
    FLOAT,
    INT,
    RACE_ETHNICITY,
    REMOVAL_TYPE,
    SUBJECT,
)

__all__ = ["FORMATS", "make_bundle"]

# Every table of the schema but `history`: earlier determinations are written in the categories of one
# profile, and a history table in the bundle must name categories of the profile that reads it.
GENERATED = tuple(t for t in TABLES if t != "history")


FORMATS = ("csv", "parquet")

# Students generated (and held in memory) at a time. Whole districts go in a
# block, so a block holds at most CHUNK_STUDENTS + the largest district.
CHUNK_STUDENTS = 2_000_000

# --------------------------------------------------------------------------
# Grades and ages
# --------------------------------------------------------------------------
GRADES = ("PK", "KG") + tuple(f"{g:02d}" for g in range(1, 13))
GRADE_NUM = np.arange(-1, 13)  # PK = -1, KG = 0, "01".."12" = 1..12
# Relative size of each grade: public pre-K is small (mostly children with
# IEPs and targeted programmes); high-school grades shrink with dropout.
_GRADE_WEIGHT = np.array([0.45, 1.0] + [1.0] * 8 + [1.05, 0.98, 0.93, 0.88])
GRADE_P = _GRADE_WEIGHT / _GRADE_WEIGHT.sum()
# Typical age on the count date (PK 3, KG 5, grade k: k + 5) and the share
# one year older (PK: four-year-olds; others: late birthdays and retention).
GRADE_BASE_AGE = np.array([3, 5] + list(range(6, 18)), dtype=np.int8)
GRADE_OLDER_P = np.array([0.6] + [0.25] * 13)
# Share of grade-12 students with IEPs still enrolled at 19-21 (transition
# programmes), and the oldest age IDEA Part B serves.
STAY_ON_P = 0.15
MAX_AGE = 21
# Relative IEP rate by grade (pre-K enrolment is largely preschool special
# education; identification peaks in the upper elementary and middle grades).
_GRADE_IEP = np.array([2.5, 0.75, 0.9, 0.9] + [1.1] * 6 + [0.95] * 4)
GRADE_IEP = _GRADE_IEP / (GRADE_P @ _GRADE_IEP)
TESTED_GRADES = (3, 4, 5, 6, 7, 8, 11)  # grades 3-8 and high school (grade 11)
SCIENCE_GRADES = (5, 8, 11)

# --------------------------------------------------------------------------
# Race/ethnicity (order of schema.RACE_ETHNICITY: AM7 AS7 BL7 HI7 PI7 WH7 MU7)
# --------------------------------------------------------------------------
# National public-school shares (NCES, fall 2016, rounded).
RACE_SHARE = np.array([0.010, 0.050, 0.152, 0.263, 0.004, 0.484, 0.037])
# A district's mix: 15% the national mix + 85% a Dirichlet draw around it with
# concentration RACE_CONCENTRATION (small = districts differ a lot).
RACE_CONCENTRATION = 6.0
# Relative risk of having an IEP by group (OSEP child count / enrolment, rounded).
_RACE_IEP_RR = np.array([1.55, 0.50, 1.35, 0.95, 1.15, 1.00, 1.05])
RACE_IEP_RR = _RACE_IEP_RR / (RACE_SHARE @ _RACE_IEP_RR)
# District-by-group variation of that risk (log-sd), and "hot spots": a share
# of districts where one group is identified HOT_SPOT_FACTOR times more often.
RACE_IEP_LOGSD = 0.2
HOT_SPOT_P = 0.08
HOT_SPOT_FACTOR = 2.3
HOT_SPOT_GROUPS = np.array([0, 2, 3, 4, 6])  # AM7 BL7 HI7 PI7 MU7
# Low-income status: shift of the log-odds by group (relative to the district).
RACE_LOW_INCOME = np.array([0.8, -0.5, 0.7, 0.6, 0.3, -0.5, 0.0])
# Relative risk of out-of-school suspension by group (CRDC pattern, rounded).
_RACE_OSS = np.array([1.5, 0.3, 2.0, 1.0, 1.2, 0.8, 1.3])
RACE_OSS = _RACE_OSS / (RACE_SHARE @ _RACE_OSS)
# Relative chance of a restrictive placement (RC39LT, SS, RF) by group.
RACE_RESTRICTIVE = np.array([1.0, 1.0, 1.3, 1.1, 1.0, 1.0, 1.0])

# --------------------------------------------------------------------------
# IEP, disability, environment
# --------------------------------------------------------------------------
IEP_RATE = 0.155  # statewide share of students with IEPs (US: 13-17%)
IEP_DISTRICT_LOGSD = 0.2  # district-to-district variation of that rate
LOW_INCOME_RATE = 0.45
LOW_INCOME_IEP_RR = (1.25, 0.8)  # IEP risk multiplier: low income, not

# Disability by age band (3-5, 6-9, 10-21), columns in schema.DISABILITY order
#               AUT    DB      DD    EMN    HI     ID     MD     OHI   OI     SLD   SLI   TBI    VI
DISABILITY_BY_AGE = np.array([
    [0.120, 0.0005, 0.38, 0.003, 0.015, 0.010, 0.010, 0.02, 0.008, 0.01, 0.41, 0.001, 0.004],
    [0.120, 0.0003, 0.10, 0.030, 0.012, 0.050, 0.020, 0.13, 0.007, 0.20, 0.32, 0.003, 0.004],
    [0.100, 0.0002, 0.00, 0.070, 0.011, 0.075, 0.022, 0.18, 0.006, 0.47, 0.05, 0.005, 0.004],
])  # fmt: skip
# Multipliers tilting disability by group (e.g. more EMN and ID among Black
# students, more AUT among Asian students), rows in RACE_ETHNICITY order.
DISABILITY_RACE_TILT = np.ones((7, 13))
_D = {c: i for i, c in enumerate(DISABILITY)}
DISABILITY_RACE_TILT[0, [_D["SLD"], _D["DD"]]] = [1.3, 1.4]  # AM7
DISABILITY_RACE_TILT[1, [_D["AUT"], _D["SLI"], _D["SLD"]]] = [1.9, 1.2, 0.6]  # AS7
DISABILITY_RACE_TILT[2, [_D["EMN"], _D["ID"], _D["AUT"]]] = [1.7, 1.5, 0.9]  # BL7
DISABILITY_RACE_TILT[3, [_D["SLD"], _D["AUT"]]] = [1.2, 0.9]  # HI7
DISABILITY_RACE_TILT[5, [_D["OHI"], _D["AUT"]]] = [1.2, 1.1]  # WH7

# Educational environment by disability, percent, ages 6-21: the national
# IDEA Part B child count, fall 2016 (OSEP 618). Columns in ENVIRONMENT order.
#                        RC80  RC79TO40 RC39LT  SS    RF   HH   CF   PPPS
ENVIRONMENT_BY_DISABILITY = np.array([
    [39.4, 18.0, 33.4,  7.4, 0.4, 0.3, 0.0, 1.2],  # AUT
    [23.0, 12.2, 36.7, 18.5, 6.0, 3.0, 0.0, 0.5],  # DB
    [64.5, 18.9, 15.2,  0.8, 0.0, 0.1, 0.0, 0.5],  # DD
    [47.2, 17.5, 18.2, 13.0, 1.4, 1.0, 1.2, 0.4],  # EMN
    [61.3, 15.5, 11.3,  7.8, 2.3, 0.2, 0.0, 1.6],  # HI
    [17.0, 26.3, 49.4,  6.0, 0.3, 0.5, 0.1, 0.4],  # ID
    [13.7, 16.8, 45.5, 18.4, 1.3, 3.6, 0.1, 0.6],  # MD
    [66.4, 20.6,  8.8,  1.7, 0.2, 0.7, 0.2, 1.4],  # OHI
    [52.6, 15.4, 23.5,  4.4, 0.1, 2.6, 0.0, 1.4],  # OI
    [70.8, 22.2,  5.2,  0.4, 0.1, 0.1, 0.2, 1.1],  # SLD
    [87.0,  5.1,  4.2,  0.3, 0.0, 0.1, 0.0, 3.3],  # SLI
    [50.8, 21.6, 19.8,  4.8, 0.5, 1.5, 0.1, 0.9],  # TBI
    [67.7, 12.1,  9.7,  5.7, 2.8, 0.7, 0.0, 1.3],  # VI
])  # fmt: skip
_E = {c: i for i, c in enumerate(ENVIRONMENT)}
RESTRICTIVE = [_E["RC39LT"], _E["SS"], _E["RF"]]
# Districts differ in how often they place students in restrictive settings:
# each district has a tier multiplying the restrictive columns.
RESTRICT_TIER_FACTOR = np.array([0.6, 0.8, 1.0, 1.3, 1.8])
RESTRICT_TIER_P = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
# Environment codes apply to ages 5-21 (schema has no early-childhood codes),
# and correctional facilities to youth aged 14 and over.
ENVIRONMENT_MIN_AGE = 5
CF_MIN_AGE = 14

# --------------------------------------------------------------------------
# Assessments
# --------------------------------------------------------------------------
# Probability that a tested student with an IEP takes the alternate
# assessment, by disability (students with the most significant cognitive
# disabilities: mostly ID, MD, AUT, DB). Gives ~6.5% of tested IEP students,
# ~1% of all tested; a district factor (log-sd ALT_DISTRICT_LOGSD, mean 1)
# puts some districts above the 1% cap.
#                             AUT   DB    DD    EMN    HI    ID    MD    OHI    OI    SLD    SLI    TBI   VI
ALT_BY_DISABILITY = np.array([0.19, 0.45, 0.02, 0.008, 0.015, 0.42, 0.52, 0.008, 0.08, 0.0015, 0.004, 0.09, 0.04])
ALT_DISTRICT_LOGSD = 0.35
IN_WINDOW_P = 0.99  # enrolled during the testing window
NON_IEP_ABSENT_P = 0.008  # non-IEP students who miss a test
IEP_PARTICIPATION = 0.975  # typical IEP participation; district log-odds sd below
IEP_PARTICIPATION_LOGIT_SD = 0.6
HS_COHORT_NO_SCORE_P = 0.5  # HS non-participants still counted in the cohort
# Latent achievement: district effect + student effect + subject noise, shifted
# down for IEP and low-income students. Cut points give levels 1-4.
ACH_DISTRICT_SD = 0.3
ACH_STUDENT_SD = 0.8
ACH_SUBJECT_SD = 0.6
ACH_IEP_SHIFT = -1.1
ACH_LOW_INCOME_SHIFT = -0.35
SUBJECT_SHIFT = {"ELA": 0.0, "MATH": -0.05, "SCI": 0.1}
CUTS_3_8 = np.array([-1.2, -0.2, 1.0])  # ~19/35/35/11% of all students
CUTS_HS = np.array([-1.6, -0.8, 0.9])  # high school: more students proficient
ALT_LEVEL_P = np.array([0.15, 0.30, 0.40, 0.15])
# Grades 3-8 levels 1 and 2 are split into on/off track (NY's six levels).
ON_TRACK_P = (0.15, 0.35)
# Performance-level codes. Grades 3-8 regular: 1ON 1OFF 2ON 2OFF 3 4;
# high school and alternate: 1 2 3 4.
PERFORMANCE_LEVELS = ("1ON", "1OFF", "2ON", "2OFF", "3", "4", "1", "2")

# --------------------------------------------------------------------------
# Evaluations (Indicator 11)
# --------------------------------------------------------------------------
EVAL_RATE = 0.015  # initial evaluations per enrolled student per year
EVAL_DISTRICT_LOGSD = 0.3
# Consents by month, July .. June: few in summer and in the last five weeks.
CONSENT_MONTH_P = np.array([2, 4, 10, 13, 12, 9, 11, 11, 12, 9, 5, 2], dtype=float)
CONSENT_MONTH_P /= CONSENT_MONTH_P.sum()
# Days from consent to determination: on time 5-60 days; a district's late
# share is Beta(LATE_BETA); late ones take 61 + Exp(LATE_MEAN_EXTRA) days.
LATE_BETA = (1.2, 12.0)
LATE_MEAN_EXTRA = 30.0
UNDETERMINED_P = 0.02  # consent received, no determination recorded
EXCEPTION_P = (0.02, 0.12)  # share with a lawful exception: on time, late
EXCEPTIONS = tuple(FEDERAL_EVALUATION_EXCEPTIONS)  # 301D1, 301D2, 309C
EXCEPTION_WEIGHTS = np.array([0.5, 0.25, 0.25])

# --------------------------------------------------------------------------
# Discipline
# --------------------------------------------------------------------------
# Share of students with a removal of each type in the year: (IEP, non-IEP).
REMOVAL_P = {"OSS": (0.065, 0.025), "ISS": (0.04, 0.028), "IAES": (0.002, 0.0002)}
DISC_DISTRICT_LOGSD = 0.4  # district-wide strictness
DISC_IEP_LOGSD = 0.35  # how much more a district removes students with IEPs
# Suspensions by age: rare before 6, most common in middle school.
DISC_AGE_FACTOR = np.array([0.1] * 6 + [0.6] * 5 + [1.4] * 4 + [1.2] * 7)  # ages 0..21
# Cumulative days: log-normal (median, log-sd); ~10% of IEP OSS exceed 10 days.
DAYS_OSS_IEP = (3.0, 0.95)
DAYS_OSS = (2.6, 0.95)
DAYS_ISS = (1.8, 0.8)
DAYS_IAES = (5, 45)  # interim alternative setting: up to 45 school days
MAX_REMOVALS = 15

# --------------------------------------------------------------------------
# Transition (Indicator 13)
# --------------------------------------------------------------------------
TRANSITION_REVIEW_P = {16: 0.30, 14: 0.05}  # share reviewed: 16+, 14-15
TRANSITION_QUALITY_BETA = (1.0, 30.0)  # 1 - Beta: ~97% per component
TRANSITION_POOR_P = 0.05  # districts that leave components out more often
TRANSITION_POOR_DROP = 0.12
TRANSITION_COMPONENT_SHIFT = {"agency_invited": -0.02, "student_invited": -0.01}

# --------------------------------------------------------------------------
# Districts
# --------------------------------------------------------------------------
SIZE_LOGSD = 1.25  # log-sd of district size: heavy right tail
MIN_DISTRICT_SIZE = 30
CHARTER_P = 0.10
CHARTER_SIZE = 0.3  # charters are smaller
GROWTH_SD = 0.015  # yearly enrolment trend per district (log)
YEAR_NOISE_SD = 0.01
ACCOUNTABILITY_CUTS = (0.45, 0.80, 0.93, 0.98)  # quantiles: levels 1..5
_PLACE_A = (
    "Cedar Maple Oak River Lake Pine Spring Fair Green Clear Red Stone Mill Brook Elm Ash Silver "
    "Walnut Willow Hill Rock Sand Bay Bridge Glen High Long North South East West Sun Wood Fox "
    "Deer Eagle Hawk Iron Golden Mount"
).split()
_PLACE_B = "view field dale ton wood ville port brook ford haven ridge crest wick burg side".split()
_KINDS = (
    "School District",
    "Union Free SD",
    "City Schools",
    "Central SD",
    "Regional SD",
    "Public Schools",
    "Unified SD",
    "Consolidated SD",
)
_CHARTER_KINDS = ("Charter School", "Academy Charter School", "Community Charter School")
OVERRIDE_REASONS = (
    "-see monitoring report {year}",
    "Uncorrected noncompliance from a {year} state complaint",
    "Longstanding failure to carry out the {year} corrective action plan",
)

# Student ids: k -> (k * A + B) mod 10^10 is a bijection (A is coprime with
# 10), so ids are unique, look random and need no lookup table.
_ID_MOD = 10**10
_ID_MULT = 1_640_531_527
_ID_ADD = {"evaluations": 1_234_567_891, "transition": 7_777_777_777}


# ==========================================================================
# Public entry point
# ==========================================================================
def make_bundle(
    out: Path,
    *,
    districts: int = 50,
    students: int = 20_000,
    years: int = 3,
    first_year: int = 2010,
    seed: int = 0,
    fmt: str = "csv",
    aggregate: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write a synthetic bundle folder `out` (one file per table, `<table>.csv` or `.parquet`); return rows
    written per table.

    `students` is the statewide enrolment per year (approximately: each
    district grows or shrinks a little from year to year), spread over
    `districts` LEAs; school years run `first_year .. first_year + years - 1`
    (spring years). With `aggregate=True` identical rows are grouped and
    their `count` summed, and `student_id` is left out of `evaluations` and
    `transition` (an aggregated export names no student). Existing files of
    the same names in `out` are replaced; each is written to a temporary
    name first and moved into place when complete.
    """
    _check_arguments(districts, students, years, first_year, seed, fmt)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)

    d = _make_districts(rng, districts, students)
    year_list = list(range(first_year, first_year + years))
    sizes = _sizes_by_year(rng, d, len(year_list))

    writers = {name: _TableWriter(out, name, fmt) for name in GENERATED}
    try:
        writers["districts"].write(_finish(_districts_frame(d), "districts"))
        counters = {"evaluations": 0, "transition": 0}
        for y, year in enumerate(year_list):
            for block in _blocks(sizes[y]):
                frames = _student_tables(rng, d, year, block, sizes[y][block], counters)
                for name, frame in frames.items():
                    if aggregate:
                        frame = _aggregate(frame)
                    writers[name].write(_finish(frame, name))
                    say(f"{year} {name}: {frame.height:,} rows (districts {block[0] + 1}-{block[-1] + 1})")
            writers["compliance"].write(_finish(_compliance_frame(rng, d, year), "compliance"))
        writers["targets"].write(_finish(_targets_frame(rng, d, year_list[-1]), "targets"))
        writers["overrides"].write(_finish(_overrides_frame(rng, d, year_list), "overrides"))
        rows = {name: w.close() for name, w in writers.items()}
    finally:
        for w in writers.values():
            w.discard()
    say("wrote " + ", ".join(f"{name} {n:,}" for name, n in rows.items()))
    return rows


def _check_arguments(districts, students, years, first_year, seed, fmt) -> None:
    """Refuse arguments that cannot make a sensible bundle, saying why."""

    def whole(name, value):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be a whole number, got {value!r}")

    for name, value in (("districts", districts), ("students", students), ("years", years),
                        ("first_year", first_year), ("seed", seed)):  # fmt: skip
        whole(name, value)
    if districts < 1:
        raise ValueError(f"districts must be at least 1, got {districts}")
    if students < districts:
        raise ValueError(
            f"students ({students}) must be at least districts ({districts}): every district needs a student"
        )
    if years < 1:
        raise ValueError(f"years must be at least 1, got {years}")
    lo, hi = TABLES["enrollment"].by_name["school_year"].min, TABLES["enrollment"].by_name["school_year"].max
    if first_year < lo or first_year + years - 1 > hi:
        raise ValueError(f"school years {first_year}..{first_year + years - 1} fall outside {lo}..{hi}")
    if seed < 0:
        raise ValueError(f"seed must be zero or positive, got {seed}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


# ==========================================================================
# District-level traits
# ==========================================================================
@dataclass
class _Districts:
    """Traits of each LEA, drawn once and kept for every year (arrays of length D)."""

    ids: list[str]
    names: list[str]
    charter: np.ndarray
    accountability: np.ndarray
    size: np.ndarray  # first-year enrolment
    min_size: int
    growth: np.ndarray  # yearly log growth of enrolment
    race_cum: np.ndarray  # (D, 7) cumulative race/ethnicity shares
    iep_rr: np.ndarray  # (D, 7) IEP probability by group before grade/income factors
    low_income_logit: np.ndarray
    achievement: np.ndarray
    restrict_tier: np.ndarray
    alt_factor: np.ndarray
    iep_participation: np.ndarray
    eval_rate: np.ndarray
    late_p: np.ndarray
    disc_factor: np.ndarray
    disc_iep_factor: np.ndarray
    transition_quality: np.ndarray


def _make_districts(rng: np.random.Generator, n: int, students: int) -> _Districts:
    """Draw every district trait (the order of the draws fixes the bundle for a seed)."""
    ids = _district_ids(rng, n)
    charter = rng.random(n) < CHARTER_P
    names = _district_names(rng, charter)

    # Sizes: log-normal weights scaled so the sizes add up to `students`,
    # with a floor of MIN_DISTRICT_SIZE (or students // n when that is less).
    min_size = min(MIN_DISTRICT_SIZE, students // n)
    weight = rng.lognormal(0.0, SIZE_LOGSD, n) * np.where(charter, CHARTER_SIZE, 1.0)
    size = min_size + _apportion(students - min_size * n, weight)
    growth = rng.normal(0.0, GROWTH_SD, n)

    # Race/ethnicity mix: part national, part a district-specific Dirichlet draw.
    mix = 0.15 * RACE_SHARE + 0.85 * rng.dirichlet(RACE_CONCENTRATION * RACE_SHARE, n)
    mix /= mix.sum(axis=1, keepdims=True)
    race_cum = np.cumsum(mix, axis=1)
    race_cum[:, -1] = 1.0

    # IEP risk: district rate x group relative risk x district-by-group noise,
    # with hot spots where one group is identified far more often.
    base = IEP_RATE * rng.lognormal(0.0, IEP_DISTRICT_LOGSD, n) / np.exp(IEP_DISTRICT_LOGSD**2 / 2)
    iep_rr = base[:, None] * RACE_IEP_RR[None, :] * rng.lognormal(0.0, RACE_IEP_LOGSD, (n, 7))
    hot = np.flatnonzero(rng.random(n) < HOT_SPOT_P)
    iep_rr[hot, rng.choice(HOT_SPOT_GROUPS, hot.size)] *= HOT_SPOT_FACTOR

    # Poverty rises with the share of students of colour; achievement falls with poverty.
    minority = 1.0 - mix[:, 5]
    low_income_logit = _logit(LOW_INCOME_RATE) + 0.8 * rng.normal(size=n) + 1.5 * (minority - 0.516)
    achievement = ACH_DISTRICT_SD * rng.normal(size=n) - 0.8 * (_sigmoid(low_income_logit) - LOW_INCOME_RATE)
    # Accountability level follows achievement (worst-performing get 4-5).
    score = -achievement + 0.15 * rng.normal(size=n)
    quantile = np.argsort(np.argsort(score, kind="stable"), kind="stable") / n
    accountability = 1 + np.searchsorted(np.array(ACCOUNTABILITY_CUTS), quantile, side="right")

    restrict_tier = rng.choice(len(RESTRICT_TIER_FACTOR), n, p=RESTRICT_TIER_P)
    alt_factor = rng.lognormal(0.0, ALT_DISTRICT_LOGSD, n) / np.exp(ALT_DISTRICT_LOGSD**2 / 2)
    iep_participation = _sigmoid(_logit(IEP_PARTICIPATION) + IEP_PARTICIPATION_LOGIT_SD * rng.normal(size=n))
    eval_rate = EVAL_RATE * rng.lognormal(0.0, EVAL_DISTRICT_LOGSD, n) / np.exp(EVAL_DISTRICT_LOGSD**2 / 2)
    late_p = rng.beta(*LATE_BETA, n)
    disc_factor = rng.lognormal(0.0, DISC_DISTRICT_LOGSD, n) / np.exp(DISC_DISTRICT_LOGSD**2 / 2)
    disc_iep_factor = rng.lognormal(0.0, DISC_IEP_LOGSD, n) / np.exp(DISC_IEP_LOGSD**2 / 2)
    quality = 1.0 - rng.beta(*TRANSITION_QUALITY_BETA, n)
    quality -= np.where(rng.random(n) < TRANSITION_POOR_P, TRANSITION_POOR_DROP, 0.0)
    return _Districts(
        ids=ids, names=names, charter=charter, accountability=accountability, size=size,
        min_size=min_size, growth=growth, race_cum=race_cum, iep_rr=iep_rr,
        low_income_logit=low_income_logit, achievement=achievement, restrict_tier=restrict_tier,
        alt_factor=alt_factor, iep_participation=iep_participation, eval_rate=eval_rate,
        late_p=late_p, disc_factor=disc_factor, disc_iep_factor=disc_iep_factor,
        transition_quality=quality,
    )  # fmt: skip


def _district_ids(rng: np.random.Generator, n: int) -> list[str]:
    """Increasing, zero-padded ids ("00123"): random gaps, so many start with 0."""
    width = 5 if n <= 20_000 else len(str(n)) + 1
    step = max(2, (10**width - 1) // n)
    ids = np.cumsum(rng.integers(1, step, n))
    return pl.Series(ids).cast(pl.String).str.zfill(width).to_list()


def _district_names(rng: np.random.Generator, charter: np.ndarray) -> list[str]:
    """Place name + kind ("Lakeview School District"), unique; one starts with "=".

    The "=" name exercises formula-injection safety in workbooks and CSV.
    """
    n = charter.size
    places = np.char.add(np.repeat(_PLACE_A, len(_PLACE_B)), np.tile(_PLACE_B, len(_PLACE_A)))
    place = places[rng.choice(places.size, n, replace=n > places.size)]
    kind = np.where(
        charter,
        np.array(_CHARTER_KINDS)[rng.integers(0, len(_CHARTER_KINDS), n)],
        np.array(_KINDS)[rng.integers(0, len(_KINDS), n)],
    )
    named = pl.Series("name", np.char.add(np.char.add(place, " "), kind))
    names: list[str] = (
        named.to_frame()
        .select(
            pl.when(pl.col("name").cum_count().over("name") > 1)
            .then(pl.format("{} No. {}", pl.col("name"), pl.col("name").cum_count().over("name")))
            .otherwise(pl.col("name"))
        )
        .to_series()
        .to_list()
    )
    formula = int(rng.integers(0, n))
    names[formula] = "=" + names[formula]
    return names


def _sizes_by_year(rng: np.random.Generator, d: _Districts, years: int) -> list[np.ndarray]:
    """Enrolment per district and year: a steady trend plus a little noise."""
    out = []
    for y in range(years):
        factor = np.exp(d.growth * y + rng.normal(0.0, YEAR_NOISE_SD, d.size.size))
        out.append(np.maximum(d.min_size, np.rint(d.size * factor)).astype(np.int64))
    return out


def _blocks(sizes: np.ndarray) -> list[np.ndarray]:
    """Cut districts (in order) into blocks of about CHUNK_STUDENTS students."""
    start = np.cumsum(sizes) - sizes
    block = start // CHUNK_STUDENTS
    cuts = np.flatnonzero(np.diff(block)) + 1
    return np.split(np.arange(sizes.size), cuts)


# ==========================================================================
# Student-level tables
# ==========================================================================
def _student_tables(
    rng: np.random.Generator,
    d: _Districts,
    year: int,
    block: np.ndarray,
    sizes: np.ndarray,
    counters: dict[str, int],
) -> dict[str, pl.DataFrame]:
    """Draw one row per student of the block's districts and derive the student-level tables."""
    s = _students(rng, d, block, sizes)
    return {
        "enrollment": _enrollment_frame(s, d, year),
        "assessments": _assessments_frame(rng, s, d, year),
        "evaluations": _evaluations_frame(rng, d, year, block, sizes, counters),
        "discipline": _discipline_frame(rng, s, d, year),
        "transition": _transition_frame(rng, s, d, year, counters),
    }


def _students(rng: np.random.Generator, d: _Districts, block: np.ndarray, sizes: np.ndarray) -> dict:
    """One entry per student: district, grade, age, race, low income, IEP, disability, environment.

    Arrays are in district order. Disability and environment are drawn for
    everyone (keeps the random stream simple) and only meaningful where `iep`.
    """
    dist = np.repeat(block, sizes)
    n = dist.size
    grade = rng.choice(len(GRADES), n, p=GRADE_P).astype(np.int8)
    age = GRADE_BASE_AGE[grade] + (rng.random(n) < GRADE_OLDER_P[grade])
    race = _draw(rng, d.race_cum, dist)
    low_income = rng.random(n) < _sigmoid(d.low_income_logit[dist] + RACE_LOW_INCOME[race])
    p_iep = d.iep_rr[dist, race] * GRADE_IEP[grade] * np.where(low_income, *LOW_INCOME_IEP_RR)
    iep = rng.random(n) < np.minimum(p_iep, 0.95)
    # Students with IEPs may stay on after grade 12 until they turn 22.
    stay = iep & (GRADE_NUM[grade] == 12) & (rng.random(n) < STAY_ON_P)
    age = np.minimum(age + stay * rng.integers(1, 4, n), MAX_AGE).astype(np.int8)

    band = np.where(age <= 5, 0, np.where(age <= 9, 1, 2))
    dis_table = DISABILITY_BY_AGE[:, None, :] * DISABILITY_RACE_TILT[None, :, :]  # (band, race, dis)
    disability = _draw(rng, _cumulative(dis_table.reshape(-1, len(DISABILITY))), band * 7 + race)

    env_table = np.broadcast_to(
        ENVIRONMENT_BY_DISABILITY, (len(RESTRICT_TIER_FACTOR), 7, len(DISABILITY), len(ENVIRONMENT))
    ).copy()  # (tier, race, dis, env)
    env_table[..., RESTRICTIVE] *= (RESTRICT_TIER_FACTOR[:, None] * RACE_RESTRICTIVE[None, :])[:, :, None, None]
    group = (d.restrict_tier[dist] * 7 + race) * len(DISABILITY) + disability
    environment = _draw(rng, _cumulative(env_table.reshape(-1, len(ENVIRONMENT))), group)
    environment[(environment == _E["CF"]) & (age < CF_MIN_AGE)] = _E["RC80"]
    return {
        "dist": dist, "grade": grade, "age": age, "race": race, "low_income": low_income,
        "iep": iep, "disability": disability, "environment": environment,
    }  # fmt: skip


def _enrollment_frame(s: dict, d: _Districts, year: int) -> pl.DataFrame:
    """One row per student (count 1); disability and environment only for students with IEPs."""
    iep = pl.col("iep")
    return pl.DataFrame(
        {
            "district_id": _enum(s["dist"], d.ids),
            "race_ethnicity": _enum(s["race"], RACE_ETHNICITY),
            "iep": s["iep"],
            "disability": _enum(s["disability"], DISABILITY),
            "environment": _enum(s["environment"], ENVIRONMENT),
            "low_income": s["low_income"],
            "age": s["age"],
            "grade": _enum(s["grade"], GRADES),
        }
    ).with_columns(
        school_year=pl.lit(year),
        disability=pl.when(iep).then("disability"),
        environment=pl.when(iep & (pl.col("age") >= ENVIRONMENT_MIN_AGE)).then("environment"),
        count=pl.lit(1),
    )


def _assessments_frame(rng: np.random.Generator, s: dict, d: _Districts, year: int) -> pl.DataFrame:
    """One row per tested student and subject: ELA and MATH in grades 3-8 and 11, SCI in 5, 8, 11.

    Taking the alternate assessment and being in the testing window are
    traits of the student (same for every subject); absence is drawn per
    subject. A level is drawn only for participants.
    """
    gnum = GRADE_NUM[s["grade"]]
    t = np.flatnonzero(np.isin(gnum, TESTED_GRADES))
    dist, grade, iep = s["dist"][t], gnum[t], s["iep"][t]
    m = t.size
    theta = (
        d.achievement[dist]
        + ACH_STUDENT_SD * rng.normal(size=m)
        + np.where(iep, ACH_IEP_SHIFT, 0.0)
        + np.where(s["low_income"][t], ACH_LOW_INCOME_SHIFT, 0.0)
    )
    alt = iep & (rng.random(m) < ALT_BY_DISABILITY[s["disability"][t]] * d.alt_factor[dist])
    in_window = rng.random(m) < IN_WINDOW_P
    p_absent = np.where(iep, 1.0 - d.iep_participation[dist], NON_IEP_ABSENT_P)
    hs = grade == 11

    parts = []
    for k, subject in enumerate(SUBJECT):
        sel = np.isin(grade, SCIENCE_GRADES) if subject == "SCI" else np.ones(m, dtype=bool)
        idx = np.flatnonzero(sel)
        r = idx.size
        z = theta[idx] + SUBJECT_SHIFT[subject] + ACH_SUBJECT_SD * rng.normal(size=r)
        participated = in_window[idx] & (rng.random(r) >= p_absent[idx])
        level = _levels(rng, z, hs[idx], alt[idx])
        cohort = hs[idx] & in_window[idx] & ~participated & (rng.random(r) < HS_COHORT_NO_SCORE_P)
        parts.append(
            {
                "dist": dist[idx],
                "subject": np.full(r, k, dtype=np.uint8),
                "grade": grade[idx],
                "iep": iep[idx],
                "alt": alt[idx],
                "in_window": in_window[idx],
                "participated": participated,
                "level": level,
                "accountable": participated | cohort,
            }
        )
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(cols["dist"], kind="stable")  # district, then subject, then student
    cols = {key: v[order] for key, v in cols.items()}
    return pl.DataFrame(
        {
            "district_id": _enum(cols["dist"], d.ids),
            "subject": _enum(cols["subject"], SUBJECT),
            "grade": cols["grade"],
            "iep": cols["iep"],
            "assessment": _enum(cols["alt"].astype(np.uint8), ("REG", "ALT")),
            "enrolled_in_window": cols["in_window"],
            "participated": cols["participated"],
            "performance_level": _enum(cols["level"], PERFORMANCE_LEVELS),
            "accountable": cols["accountable"],
        }
    ).with_columns(
        school_year=pl.lit(year),
        performance_level=pl.when("participated").then("performance_level"),
        count=pl.lit(1),
    )


def _levels(rng: np.random.Generator, z: np.ndarray, hs: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Performance-level codes (indexes into PERFORMANCE_LEVELS) from latent scores.

    Grades 3-8 regular: levels 1-4 by CUTS_3_8, levels 1 and 2 split on/off
    track. High school regular: 1-4 by CUTS_HS. Alternate: ALT_LEVEL_P.
    """
    n = z.size
    level = np.where(hs, np.searchsorted(CUTS_HS, z), np.searchsorted(CUTS_3_8, z))
    alt_level = rng.choice(4, n, p=ALT_LEVEL_P)
    level = np.where(alt, alt_level, level)
    on = rng.random(n) < np.where(level == 0, ON_TRACK_P[0], ON_TRACK_P[1])
    six = np.choose(level, [np.where(on, 0, 1), np.where(on, 2, 3), np.full(n, 4), np.full(n, 5)])
    four = np.array([6, 7, 4, 5])[level]  # "1" "2" "3" "4"
    return np.where(hs | alt, four, six).astype(np.uint8)


def _evaluations_frame(
    rng: np.random.Generator,
    d: _Districts,
    year: int,
    block: np.ndarray,
    sizes: np.ndarray,
    counters: dict[str, int],
) -> pl.DataFrame:
    """Initial evaluations: consent date, determination date (or blank), lawful exception.

    Consents fall in the school year (July 1 .. June 30), rarely in summer or
    June. Most determinations come within 60 days; each district has its own
    share of late ones. A determination that would fall after June 30, or
    that is simply not recorded (UNDETERMINED_P), is left blank.
    """
    dist = np.repeat(block, rng.binomial(sizes, d.eval_rate[block]))
    n = dist.size
    start = np.datetime64(f"{year - 1}-07", "M")
    month_start = (start + np.arange(13)).astype("datetime64[D]").astype(np.int64)
    month = rng.choice(12, n, p=CONSENT_MONTH_P)
    month_days = month_start[month + 1] - month_start[month]
    consent = month_start[month] + (rng.random(n) * month_days).astype(np.int64)

    late = rng.random(n) < d.late_p[dist]
    on_time_days = 5 + np.floor(rng.beta(2.5, 1.8, n) * 56).astype(np.int64)  # 5..60
    late_days = 61 + np.floor(rng.exponential(LATE_MEAN_EXTRA, n)).astype(np.int64)
    determination = consent + np.where(late, late_days, on_time_days)
    year_end = month_start[12] - 1  # June 30
    undetermined = (rng.random(n) < UNDETERMINED_P) | (determination > year_end)

    has_exception = rng.random(n) < np.where(late, EXCEPTION_P[1], EXCEPTION_P[0])
    exception = rng.choice(len(EXCEPTIONS), n, p=EXCEPTION_WEIGHTS).astype(np.uint8)

    order = np.lexsort((consent, dist))
    return pl.DataFrame(
        {
            "district_id": _enum(dist[order], d.ids),
            "student_id": _student_ids(counters, "evaluations", n),
            "consent_date": pl.Series(consent[order].astype(np.int32)).cast(pl.Date),
            "determination_date": pl.Series(determination[order].astype(np.int32)).cast(pl.Date),
            "undetermined": undetermined[order],
            "exception": _enum(exception[order], EXCEPTIONS),
            "has_exception": has_exception[order],
        }
    ).select(
        school_year=pl.lit(year),
        district_id="district_id",
        student_id="student_id",
        consent_date="consent_date",
        determination_date=pl.when(~pl.col("undetermined")).then("determination_date"),
        exception=pl.when("has_exception").then("exception"),
        count=pl.lit(1),
    )


def _discipline_frame(rng: np.random.Generator, s: dict, d: _Districts, year: int) -> pl.DataFrame:
    """One row per removed student and removal type (OSS, ISS, IAES).

    Students are the block's enrolled students, so race/ethnicity, IEP
    status and age match enrollment. The chance of a removal depends on IEP
    status, group (RACE_OSS), age and the district; cumulative days are
    log-normal, rounded to half days; removals are about days / 2.
    """
    n = s["dist"].size
    iep, dist = s["iep"], s["dist"]
    risk = (
        d.disc_factor[dist]
        * np.where(iep, d.disc_iep_factor[dist], 1.0)
        * RACE_OSS[s["race"]]
        * DISC_AGE_FACTOR[s["age"]]
    )
    parts = []
    for k, kind in enumerate(REMOVAL_TYPE):
        p_iep, p_other = REMOVAL_P[kind]
        idx = np.flatnonzero(rng.random(n) < np.minimum(np.where(iep, p_iep, p_other) * risk, 0.9))
        r = idx.size
        if kind == "IAES":
            days = rng.integers(DAYS_IAES[0], DAYS_IAES[1] + 1, r).astype(np.float64)
            removals = np.ones(r, dtype=np.int64)
        else:
            (med_iep, sd), (med, _) = (DAYS_OSS_IEP, DAYS_OSS) if kind == "OSS" else (DAYS_ISS, DAYS_ISS)
            median = np.where(iep[idx], med_iep, med)
            days = np.maximum(0.5, np.round(2.0 * rng.lognormal(np.log(median), sd)) / 2.0)
            days = np.minimum(days, 180.0)
            removals = np.clip(np.rint(days / 2.0 * rng.uniform(0.6, 1.4, r)), 1, MAX_REMOVALS).astype(np.int64)
        parts.append({"idx": idx, "kind": np.full(r, k, dtype=np.uint8), "days": days, "removals": removals})
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(dist[cols["idx"]], kind="stable")
    cols = {key: v[order] for key, v in cols.items()}
    idx = cols["idx"]
    return pl.DataFrame(
        {
            "district_id": _enum(dist[idx], d.ids),
            "race_ethnicity": _enum(s["race"][idx], RACE_ETHNICITY),
            "iep": iep[idx],
            "removal_type": _enum(cols["kind"], REMOVAL_TYPE),
            "days_removed": cols["days"],
            "removals": cols["removals"],
            "age": s["age"][idx],
        }
    ).with_columns(school_year=pl.lit(year), count=pl.lit(1))


def _transition_frame(
    rng: np.random.Generator, s: dict, d: _Districts, year: int, counters: dict[str, int]
) -> pl.DataFrame:
    """IEPs of youth aged 14-21 reviewed: a sample, one bool per NJ component.

    Each component is present with the district's quality rate (~97%, lower
    in a few districts), so most but not all IEPs have all five.
    """
    age = s["age"]
    p = np.where(age >= 16, TRANSITION_REVIEW_P[16], np.where(age >= 14, TRANSITION_REVIEW_P[14], 0.0))
    idx = np.flatnonzero(s["iep"] & (rng.random(age.size) < p))
    dist = s["dist"][idx]
    quality = d.transition_quality[dist]
    components = {
        c: rng.random(idx.size) < quality + TRANSITION_COMPONENT_SHIFT.get(c, 0.0) for c in NJ_TRANSITION_COMPONENTS
    }
    return pl.DataFrame(
        {
            "district_id": _enum(dist, d.ids),
            "student_id": _student_ids(counters, "transition", idx.size),
            "age": age[idx],
            **components,
        }
    ).with_columns(school_year=pl.lit(year), count=pl.lit(1))


# ==========================================================================
# District-level tables
# ==========================================================================
def _districts_frame(d: _Districts) -> pl.DataFrame:
    """One row per LEA: id, name, accountability level (1-5), charter."""
    return pl.DataFrame(
        {
            "district_id": d.ids,
            "district_name": d.names,
            "accountability_level": d.accountability,
            "charter": d.charter,
        }
    )


def _compliance_frame(rng: np.random.Generator, d: _Districts, year: int) -> pl.DataFrame:
    """One row per LEA and year with the compliance facts sedet knows (schema.COMPLIANCE_FACTS).

    Most LEAs have no findings; those that do correct most on time. Data and
    grant submissions are mostly timely and accurate; significant
    noncompliance, contributing policies and inappropriate identification
    are rare. The achievement score (0-4) follows the district's achievement.
    """
    n = len(d.ids)
    findings = np.where(rng.random(n) < 0.3, np.minimum(1 + rng.poisson(1.5, n), 10), 0)
    accurate = rng.random(n) < 0.93
    rate = np.where(accurate, rng.uniform(0.97, 1.0, n), rng.uniform(0.8, 0.97, n))
    score = np.clip(2.2 + 2.0 * d.achievement + rng.normal(0.0, 0.3, n), 0.0, 4.0)
    return pl.DataFrame(
        {
            "district_id": d.ids,
            "findings": findings,
            "findings_corrected_on_time": rng.binomial(findings, 0.88),
            "data_timely": rng.random(n) < 0.95,
            "data_accurate": accurate,
            "data_accuracy_rate": np.round(rate, 4),
            "grant_on_time": rng.random(n) < 0.92,
            "grant_revisions": rng.choice(5, n, p=[0.5, 0.25, 0.13, 0.08, 0.04]),
            "significant_noncompliance": rng.random(n) < 0.02,
            "policies_contributed": rng.random(n) < 0.02,
            "inappropriate_identification": rng.random(n) < 0.01,
            "achievement_score": np.round(score, 2),
        }
    ).with_columns(school_year=pl.lit(year))


def _targets_frame(rng: np.random.Generator, d: _Districts, year: int) -> pl.DataFrame:
    """State-supplied AYP targets for ~20% of LEAs, last year only: ELA/MATH x grade bands 3-8 and HS."""
    n = len(d.ids)
    chosen = np.sort(rng.choice(n, max(1, round(0.2 * n)), replace=False))
    dist = np.repeat(chosen, 4)
    subject = np.tile([0, 0, 1, 1], chosen.size)
    band = np.tile([0, 1, 0, 1], chosen.size)
    r = dist.size
    effective = np.round(rng.uniform(60.0, 180.0, r), 1)
    safe = np.round(rng.uniform(50.0, 180.0, r), 1)
    return pl.DataFrame(
        {
            "district_id": pl.Series(d.ids).gather(dist),
            "subject": np.array(["ELA", "MATH"])[subject],
            "grade_band": np.array(["3-8", "HS"])[band],
            "effective_target": effective,
            "safe_harbor_target": np.where(rng.random(r) < 0.7, safe, np.nan),
        }
    ).with_columns(school_year=pl.lit(year), safe_harbor_target=pl.col("safe_harbor_target").fill_nan(None))


def _overrides_frame(rng: np.random.Generator, d: _Districts, years: list[int]) -> pl.DataFrame:
    """One to three case-by-case decisions; the first reason starts with "-" (formula-injection test)."""
    n = len(d.ids)
    k = min(n, int(rng.integers(1, 4)))
    chosen = np.sort(rng.choice(n, k, replace=False))
    reasons = [OVERRIDE_REASONS[i].format(year=years[min(i, len(years) - 1)]) for i in range(k)]
    return pl.DataFrame(
        {
            "district_id": pl.Series(d.ids).gather(chosen),
            "category": ["Needs Intervention"] * k,
            "reason": reasons,
        }
    )


# ==========================================================================
# Shaping and writing
# ==========================================================================
def _columns(name: str) -> list[tuple[str, str]]:
    """(column, kind) of a table as written: the schema's columns plus the declared extras."""
    table = TABLES[name]
    cols = [(c.name, c.kind) for c in table.columns]
    if name == "transition":  # the NJ components, before count
        cols[-1:-1] = [(c, BOOL) for c in NJ_TRANSITION_COMPONENTS]
    if name == "compliance":
        cols += [(c.name, c.kind) for c in COMPLIANCE_FACTS]
    return cols


_DTYPES = {INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean, DATE: pl.Date}


def _finish(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Order and type the columns as the schema declares (codes and ids as plain text)."""
    cols = [(c, kind) for c, kind in _columns(name) if c in frame.columns]
    missing = set(frame.columns) - {c for c, _ in cols}
    if missing:  # a bug in this module, not in the caller's input
        raise AssertionError(f"{name}: columns not in the schema: {sorted(missing)}")
    return frame.select(pl.col(c).cast(_DTYPES.get(kind, pl.String)) for c, kind in cols)


def _aggregate(frame: pl.DataFrame) -> pl.DataFrame:
    """Group identical rows and sum their counts; drop student ids first. Sorted, so deterministic."""
    frame = frame.drop("student_id", strict=False)
    keys = [c for c in frame.columns if c != "count"]
    return frame.group_by(keys).agg(pl.col("count").sum()).sort(keys, nulls_last=True)


class _TableWriter:
    """Append frames to one table file under a temporary name; move it into place on close.

    CSV: header once, then rows appended. Parquet: one part file per chunk,
    joined into one file (in order) on close.
    """

    def __init__(self, out: Path, name: str, fmt: str) -> None:
        self.final = out / f"{name}.{fmt}"
        self.tmp = out / f".{name}.{fmt}.tmp"
        self.parts_dir = out / f".{name}.parts.tmp"
        self.fmt = fmt
        self.rows = 0
        self.parts: list[Path] = []
        self.handle: BinaryIO | None = None

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt == "csv":
            first = self.handle is None
            if first:
                self.handle = open(self.tmp, "wb")  # noqa: SIM115 (closed in close/discard)
            frame.write_csv(self.handle, include_header=first)
        else:
            self.parts_dir.mkdir(exist_ok=True)
            part = self.parts_dir / f"{len(self.parts):06d}.parquet"
            frame.write_parquet(part)
            self.parts.append(part)
        self.rows += frame.height

    def close(self) -> int:
        if self.fmt == "csv":
            assert self.handle is not None
            self.handle.close()
            self.handle = None
        elif len(self.parts) == 1:
            os.replace(self.parts[0], self.tmp)
        else:
            pl.scan_parquet(self.parts).sink_parquet(self.tmp)
        os.replace(self.tmp, self.final)
        self.discard()
        return self.rows

    def discard(self) -> None:
        """Remove temporary files (after close, or after a failure)."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        self.tmp.unlink(missing_ok=True)
        shutil.rmtree(self.parts_dir, ignore_errors=True)


# ==========================================================================
# Small numeric helpers
# ==========================================================================
def _enum(codes: np.ndarray, categories) -> pl.Series:
    """A polars Enum series from integer codes (cheap: no strings per row)."""
    return pl.Series(np.asarray(codes, dtype=np.uint32)).cat.to(pl.Enum(list(categories)))


def _student_ids(counters: dict[str, int], table: str, n: int) -> pl.Series:
    """n new ids "S" + 10 digits, unique within the table across the whole bundle."""
    k = np.arange(counters[table], counters[table] + n, dtype=np.uint64) % np.uint64(_ID_MOD)
    counters[table] += n
    num = (k * np.uint64(_ID_MULT) + np.uint64(_ID_ADD[table])) % np.uint64(_ID_MOD)
    return pl.select(pl.format("S{}", pl.lit(pl.Series(num)).cast(pl.String).str.zfill(10))).to_series()


def _draw(rng: np.random.Generator, cum: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Categorical draw per item from row `group` of a cumulative probability table.

    Loops over the categories (not the items), so memory stays O(items).
    """
    u = rng.random(group.size)
    out = np.zeros(group.size, dtype=np.uint8)
    for k in range(cum.shape[1] - 1):
        out += u >= cum[group, k]
    return out


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """Row-normalised cumulative sums of a (groups, categories) weight table."""
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    return cum


def _apportion(total: int, weight: np.ndarray) -> np.ndarray:
    """Split `total` into integers proportional to `weight` (largest remainders)."""
    share = weight / weight.sum() * total
    base = np.floor(share).astype(np.int64)
    rest = int(total - base.sum())
    base[np.argsort(-(share - base), kind="stable")[:rest]] += 1
    return base


def _logit(p):
    return np.log(p / (1.0 - p))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))
