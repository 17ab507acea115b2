"""The public IDEA Section 618 "Child Count and Educational Environments" files, state level, as the
U.S. Department of Education publishes them, read into a bundle (docs/imports.md).

The file: preamble lines (`Extraction Date`, `Updated`, `Revised`; their number varies by year),
a header line starting `Year,State Name`, one row per state x educational environment x disability
category, then a legend (`-` data not available, `x` suppressed, `*` flagged). Counts by age, by
race/ethnicity x age band, by sex and English-learner status.

What is imported: children with IEPs aged 6-21 by state, race/ethnicity, disability and school-age
environment, from the race/ethnicity columns of ages 6 to 21, as `enrollment` rows with `iep`
true, no age (the file gives race only for the whole band, and a row without an age counts for
every age range, measures/disproportionality.py) and a `count`; `districts` lists the states as
the units. Rows of "All Disabilities" and of the environment "Total, Age 6-21", the "Ages 6-21"
column and the national row check the import and are never counted: per state the imported
counts must add up to the file's own total (2016, Alabama: 79,196). Ages 3-5 (early-childhood
environments) are not imported: no measure of sedet reads them.

A state with a suppressed (`x`) or flagged (`*`) cell among the counts imported is left out of
that year, and each such cell is listed: its other counts would understate it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sedet import __version__
from sedet.errors import UsageError
from sedet.io.output import sha256_file
from sedet.model import Problem, school_year_text

# The school-age environments of the file, as EDFacts codes (model.ENVIRONMENT).
ENVIRONMENTS = {
    "inside regular class 80% or more of the day": "RC80",
    "inside regular class 40% through 79% of the day": "RC79TO40",
    "inside regular class less than 40% of the day": "RC39LT",
    "separate school, age 6-21": "SS",
    "residential facility, age 6-21": "RF",
    "homebound/hospital": "HH",
    "correctional facilities": "CF",
    "parentally placed in private schools": "PPPS",
}
TOTAL_ENVIRONMENT = "total, age 6-21"
# early-childhood environments and the ages 3-5 total: not imported
EARLY_CHILDHOOD = re.compile(r"age 3-5|early childhood|^home$|^separate class$|^service provider location$")

DISABILITIES = {
    "autism": "AUT", "deaf-blindness": "DB", "developmental delay": "DD", "emotional disturbance": "EMN",
    "hearing impairment": "HI", "intellectual disability": "ID", "multiple disabilities": "MD",
    "orthopedic impairment": "OI", "other health impairment": "OHI", "specific learning disability": "SLD",
    "speech or language impairment": "SLI", "traumatic brain injury": "TBI", "visual impairment": "VI",
}
ALL_DISABILITIES = "all disabilities"

RACES = {
    "american indian or alaska native": "AM7", "asian": "AS7", "black or african american": "BL7",
    "hispanic/latino": "HI7", "native hawaiian or other pacific islander": "PI7", "two or more races": "MU7",
    "white": "WH7",
}
TOTAL_COLUMN = "ages 6-21"
NATIONAL = "us, outlying areas, and freely associated states"

# The units: USPS codes (and BI for the Bureau of Indian Education).
STATES = {
    "Alabama": "AL", "Alaska": "AK", "American Samoa": "AS", "Arizona": "AZ", "Arkansas": "AR",
    "Bureau of Indian Education": "BI", "California": "CA", "Colorado": "CO", "Connecticut": "CT",
    "Delaware": "DE", "District of Columbia": "DC", "Federated States of Micronesia": "FM", "Florida": "FL",
    "Georgia": "GA", "Guam": "GU", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA",
    "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE",
    "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Northern Marianas": "MP", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Puerto Rico": "PR", "Republic of Palau": "PW",
    "Republic of the Marshall Islands": "MH", "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD",
    "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virgin Islands": "VI", "Virginia": "VA",
    "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}
STATE_CODES = {name.lower(): code for name, code in STATES.items()}

NOT_APPLICABLE, SUPPRESSED, FLAGGED = "-", "x", "*"
HEADER_WITHIN = 50  # the header must start within this many lines


def norm(text: str) -> str:
    """A header or label as compared: lower case, spaces collapsed, "6 to21" read as "6 to 21"."""
    text = re.sub(r"\s+", " ", text.strip().lower())
    return re.sub(r"(\d)\s*to\s*(\d)", r"\1 to \2", text)


@dataclass
class Imported:
    """What one file gave: the rows, the states left out (and why), the problems that refuse it."""

    file: str
    school_year: int | None = None
    rows: pl.DataFrame | None = None
    states: dict[str, str] = field(default_factory=dict)  # code -> name, of the states imported
    left_out: list[dict] = field(default_factory=list)  # a state of a year, with its withheld cells
    problems: list[Problem] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # state code -> the file's total, ages 6-21


def read_file(path: Path, encoding: str = "utf-8-sig") -> Imported:
    """One published file: its rows (school_year, district_id, race_ethnicity, iep, disability,
    environment, count), checked against the file's totals."""
    result = Imported(path.name)
    text = read_text(path, encoding)
    lines = text.splitlines()
    at = next((i for i, line in enumerate(lines[:HEADER_WITHIN]) if norm(line).startswith("year,state name")), None)
    if at is None:
        result.problems.append(problem(path.name, None, None, "a header line starting 'Year,State Name' within "
                                       f"the first {HEADER_WITHIN} lines (the Section 618 child count file)",
                                       _first(lines)))
        return result
    records = _records(path.name, lines[at:], at, result.problems)
    if records is None:
        return result
    header = [norm(h) for h in records[0]]
    columns = _columns(path.name, header, at + 1, result.problems)
    if columns is None:
        return result
    data = _data_rows(path.name, records[1:], at + 2, len(header), result.problems)
    if result.problems:
        return result
    _take(result, data, columns, at + 2)
    return result


def _records(file: str, lines: list[str], at: int, problems: list[Problem]) -> list[list[str]] | None:
    """The CSV records from the header line on (`at`: lines before it); a record the csv module cannot
    read (a quote left open runs into the lines after it until a field is too long) is a problem
    naming the line it starts on."""
    reader = csv.reader(io.StringIO("\n".join(lines)))
    records: list[list[str]] = []
    done = 0  # lines read by the records so far
    try:
        for record in reader:
            records.append(record)
            done = reader.line_num
    except csv.Error as e:
        problems.append(problem(file, at + done + 1, None, "a CSV record whose quoted fields close on its line",
                                f"a record the CSV reader cannot read ({e})"))
        return None
    return records


PACKED = {b"\x1f\x8b": "gzip-compressed: decompress it first (gunzip)",
          b"PK\x03\x04": "a zip file or a workbook: give the CSV file as published (or save the sheet as CSV)"}


def read_text(path: Path, encoding: str) -> str:
    """The file as text; a compressed file or a workbook is named as such, not blamed on the encoding."""
    try:
        data = path.read_bytes()
        packed = next((said for magic, said in PACKED.items() if data.startswith(magic)), None)
        if packed is not None:
            raise UsageError(f"{path.name}: {packed}")
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise UsageError(f"{path.name}: not {encoding} text (byte {e.start})",
                         hint="give the file's encoding with --encoding, e.g. latin-1") from None
    except OSError as e:
        raise UsageError(f"cannot read {str(path)!r}: {e.strerror or e}") from None


def problem(file: str, line: int | None, column: str | None, expected: str, found: str) -> Problem:
    return Problem(file=file, column=column, row=line, expected=expected, found=found)


def _first(lines: list[str]) -> str:
    return repr(lines[0][:80]) if lines else "an empty file"


@dataclass(frozen=True)
class Columns:
    year: int
    state: int
    environment: int
    disability: int
    total: int
    races: dict[str, int]  # race code -> column index, ages 6 to 21


def _columns(file: str, header: list[str], line: int, problems: list[Problem]) -> Columns | None:
    def find(name: str) -> int | None:
        return header.index(name) if name in header else None

    races = {}
    for race_name, code in RACES.items():
        at = next((i for i, h in enumerate(header) if h.startswith(race_name + " ") and h.endswith("6 to 21")), None)
        if at is None:
            problems.append(problem(file, line, f"{race_name} age 6 to 21", "a column of the children of this race "
                                    "or ethnicity aged 6 to 21", "no such column"))
        else:
            races[code] = at
    fixed = {n: find(n) for n in ("year", "state name", "sea education environment", "sea disability category",
                                  TOTAL_COLUMN)}
    for name, at in fixed.items():
        if at is None:
            problems.append(problem(file, line, name, f"a column {name!r}", "no such column"))
    if problems:
        return None
    idx = {n: at for n, at in fixed.items() if at is not None}
    return Columns(idx["year"], idx["state name"], idx["sea education environment"], idx["sea disability category"],
                   idx[TOTAL_COLUMN], races)


def _data_rows(file: str, records: list[list[str]], first_line: int, width: int,
               problems: list[Problem]) -> list[tuple[int, list[str]]]:
    """The data rows with their line numbers; the legend after them is left out, anything else that
    is not a row of the table is a problem."""
    rows: list[tuple[int, list[str]]] = []
    ended = False
    for k, rec in enumerate(records):
        line = first_line + k
        if not any(c.strip() for c in rec):
            ended = ended or bool(rows)
            continue
        if re.fullmatch(r"\d{4}", rec[0].strip()) and not ended:
            if len(rec) != width:
                problems.append(problem(file, line, None, f"{width} fields, as in the header", f"{len(rec)} fields"))
                continue
            rows.append((line, rec))
        elif rows and _legend(rec[0]):
            ended = True
        else:
            problems.append(problem(file, line, "year", "a row of the table (a 4-digit year first) or the legend "
                                    "after it", repr(rec[0][:60])))
    return rows


def _legend(text: str) -> bool:
    t = text.strip()
    return t.startswith("-") or t[:1] in (SUPPRESSED, FLAGGED) or t == ""


def _take(result: Imported, data: list[tuple[int, list[str]]], cols: Columns, first_line: int) -> None:
    """The rows to import, the checks against the file's totals, the states left out."""
    frame = pl.DataFrame(
        {"line": [ln for ln, _ in data],
         "year": [r[cols.year].strip() for _, r in data],
         "state": [r[cols.state].strip() for _, r in data],
         "environment": [norm(r[cols.environment]) for _, r in data],
         "disability": [norm(r[cols.disability]) for _, r in data],
         "total": [r[cols.total].strip() for _, r in data],
         **{code: [r[at].strip() for _, r in data] for code, at in cols.races.items()}},
    )
    years = frame.get_column("year").unique().to_list()
    if not years:
        result.problems.append(problem(result.file, None, None, "rows of the table after its header",
                                       "none (the header only)"))
        return
    if len(years) != 1:
        result.problems.append(problem(result.file, None, "year", "one school year per file", ", ".join(sorted(years))))
        return
    result.school_year = int(years[0]) + 1  # fall 2016 is school year 2016-17, whose spring year is 2017
    _labels(result, frame)
    _cells(result, frame)
    if result.problems:
        return
    units = frame.filter(pl.col("state").str.to_lowercase() != NATIONAL)
    # the file crosses race/ethnicity with the environment for all disabilities together (and with the
    # disability only in the totals): those rows are imported, the totals check them
    school_age = units.filter(pl.col("environment").is_in([*ENVIRONMENTS, TOTAL_ENVIRONMENT])
                              & (pl.col("disability") == ALL_DISABILITIES))
    long = school_age.unpivot(index=["line", "state", "environment", "disability"], on=list(RACES.values()),
                              variable_name="race_ethnicity", value_name="cell")
    _checked(result, long, school_age)


def _labels(result: Imported, frame: pl.DataFrame) -> None:
    """Every state, environment and disability of the file is one sedet knows."""
    known = {
        "state": ([*STATE_CODES, NATIONAL], "a state, territory or entity of the Section 618 files"),
        "environment": ([*ENVIRONMENTS, TOTAL_ENVIRONMENT], "an educational environment of the file"),
        "disability": ([*DISABILITIES, ALL_DISABILITIES], "a disability category of IDEA"),
    }
    for column, (names, expected) in known.items():
        values = pl.col(column).str.to_lowercase()
        bad = frame.filter(~values.is_in(names))
        if column == "environment":
            bad = bad.filter(~pl.col("environment").str.contains(EARLY_CHILDHOOD.pattern))
        for line, value in bad.select("line", column).unique(column, keep="first").sort("line").iter_rows():
            result.problems.append(problem(result.file, line, column, expected, repr(value)))


def _cells(result: Imported, frame: pl.DataFrame) -> None:
    """Every count cell read is a whole number, or one of the file's marks (`-`, `x`, `*`)."""
    long = frame.unpivot(index="line", on=[*RACES.values(), "total"], variable_name="column", value_name="cell")
    number = pl.col("cell").cast(pl.Int64, strict=False)
    bad = long.filter((number.is_null() & ~pl.col("cell").is_in([SUPPRESSED, FLAGGED, NOT_APPLICABLE]))
                      | (number < 0))
    for line, column, value in bad.sort("line", "column").head(20).iter_rows():
        name = TOTAL_COLUMN if column == "total" else _race_column(column)
        result.problems.append(problem(result.file, line, name, "a count (a whole number), '-', 'x' or '*'",
                                       repr(value)))


def _checked(result: Imported, long: pl.DataFrame, school_age: pl.DataFrame) -> None:
    """Counts as numbers; the states left out (a withheld cell, or counts that do not add up to the
    file's own totals); the rows of the others."""
    cell = pl.col("cell")
    number = cell.cast(pl.Int64, strict=False)
    why: dict[str, list[dict]] = {}
    withheld = long.filter(cell.is_in([SUPPRESSED, FLAGGED]))
    for state, line, race, value in withheld.select("state", "line", "race_ethnicity", "cell") \
            .sort("line", "race_ethnicity").iter_rows():
        what = "suppressed" if value == SUPPRESSED else "flagged for data quality"
        why.setdefault(state, []).append({"line": line, "column": _race_column(race), "found": value, "why": what})
    counts = long.filter(~pl.col("state").is_in(list(why))).with_columns(number.fill_null(0).alias("count"))
    parts = counts.filter(pl.col("environment").is_in(list(ENVIRONMENTS)))
    totals = school_age.filter(~pl.col("state").is_in(list(why))) \
        .select("line", "state", "environment", pl.col("total").cast(pl.Int64, strict=False))
    for state, found in _off_totals(counts, parts, totals).items():
        why.setdefault(state, []).extend(found)
    result.left_out = [{"state": st, "school_year": result.school_year, "cells": cells} for st, cells in
                       sorted(why.items())]
    kept = parts.filter(~pl.col("state").is_in(list(why)))
    grand = totals.filter(pl.col("environment") == TOTAL_ENVIRONMENT)
    result.totals = {STATE_CODES[st.lower()]: t for st, t in grand.select("state", "total").iter_rows()
                     if st not in why and t is not None}
    result.rows = kept.select(
        pl.lit(result.school_year).alias("school_year"),
        pl.col("state").str.to_lowercase().replace_strict(STATE_CODES).alias("district_id"),
        "race_ethnicity",
        pl.lit(True).alias("iep"),
        pl.lit(None, pl.String).alias("disability"),
        pl.col("environment").replace_strict(ENVIRONMENTS).alias("environment"),
        "count",
    ).filter(pl.col("count") > 0).sort("district_id", "environment", "race_ethnicity")
    result.states = {STATE_CODES[st.lower()]: st for st in kept.get_column("state").unique().to_list()}


def _race_column(code: str) -> str:
    name = next(n for n, c in RACES.items() if c == code)
    return f"{name} age 6 to 21"


def _off_totals(counts: pl.DataFrame, parts: pl.DataFrame, totals: pl.DataFrame) -> dict[str, list[dict]]:
    """Where the counts to import do not add up to the file's own totals, by state: each row's race
    columns to its "Ages 6-21"; each race's environments to its column of "Total, Age 6-21"; all of
    them to the state's total of children aged 6-21. Nothing is counted twice or lost."""
    off: dict[str, list[dict]] = {}

    def note(state: str, line: int | None, column: str, parts_sum: int | None, found: int | None) -> None:
        off.setdefault(state, []).append({"line": line, "column": column, "found": found,
                                          "why": f"does not add up: its parts sum to {parts_sum}"})

    per_row = counts.group_by("line").agg(pl.col("count").sum().alias("sum"))
    rows = totals.join(per_row, on="line").filter(pl.col("total").is_not_null() & (pl.col("total") != pl.col("sum")))
    for line, state, s, t in rows.select("line", "state", "sum", "total").sort("line").iter_rows():
        note(state, line, TOTAL_COLUMN, s, t)
    by_race = parts.group_by("state", "race_ethnicity").agg(pl.col("count").sum().alias("sum")).join(
        counts.filter(pl.col("environment") == TOTAL_ENVIRONMENT).select("line", "state", "race_ethnicity", "count"),
        on=["state", "race_ethnicity"], how="full", coalesce=True)
    for line, state, race, s, t in by_race.filter(pl.col("sum").fill_null(0) != pl.col("count").fill_null(-1)) \
            .select("line", "state", "race_ethnicity", "sum", "count").sort("state", "race_ethnicity").iter_rows():
        note(state, line, _race_column(race), s, t)
    grand = totals.filter(pl.col("environment") == TOTAL_ENVIRONMENT)
    got = parts.group_by("state").agg(pl.col("count").sum().alias("sum"))
    both = grand.join(got, on="state", how="full", coalesce=True)
    for line, state, t, s in both.filter(pl.col("total").fill_null(-1) != pl.col("sum").fill_null(-2)) \
            .select("line", "state", "total", "sum").sort("state").iter_rows():
        note(state, line, f"{TOTAL_COLUMN} (all environments)", s, t)
    return off


def import_files(paths: list[Path], encoding: str = "utf-8-sig") -> tuple[list[Imported], list[Problem]]:
    """Every file read; the problems of all of them (a year given twice is one)."""
    done = [read_file(p, encoding) for p in paths]
    problems = [p for d in done for p in d.problems]
    seen: dict[int, str] = {}
    for d in done:
        if d.school_year is None:
            continue
        if d.school_year in seen:
            problems.append(problem(d.file, None, "year", f"one file per school year ({seen[d.school_year]} holds "
                                    f"{school_year_text(d.school_year)} too)", str(d.school_year - 1)))
        seen[d.school_year] = d.file
    return done, problems


def bundle_tables(done: list[Imported]) -> dict[str, pl.DataFrame]:
    """The bundle's tables: enrollment (every year), districts (every state imported in some year)."""
    frames = [d.rows for d in done if d.rows is not None]
    enrollment = pl.concat(frames).sort("school_year", "district_id", "environment", "disability", "race_ethnicity")
    names: dict[str, str] = {}
    for d in done:
        names.update(d.states)
    districts = pl.DataFrame({"district_id": sorted(names), "district_name": [names[c] for c in sorted(names)]})
    return {"enrollment": enrollment, "districts": districts}


def write_bundle(done: list[Imported], folder: Path, sources: list[Path]) -> dict:
    """The bundle's files in `folder` (a fresh staging folder) and its manifest.json; the manifest's
    document. Sorted rows, so the same files give the same bytes."""
    tables = bundle_tables(done)
    written = []
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        frame.write_csv(path)
        written.append(path)
    doc = {
        "tool": "sedet",
        "version": __version__,
        "import": "idea618",
        "rule": "docs/imports.md: children with IEPs aged 6-21 by state, race/ethnicity and educational environment, "
                "from the rows of all disabilities; states with a withheld cell or counts that do not add up to the "
                "file's own totals are left out of that year",
        "sources": [{"file": p.name, "sha256": sha256_file(p), "school_year": d.school_year,
                     "states_imported": len(d.states), "children_imported": int(d.rows.get_column("count").sum())
                     if d.rows is not None else 0, "totals_checked": d.totals}
                    for p, d in zip(sources, done, strict=True)],
        "left_out": [entry | {"file": d.file} for d in done for entry in d.left_out],
        "outputs": [{"file": p.name, "sha256": sha256_file(p)} for p in written],
    }
    (folder / "manifest.json").write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return doc
