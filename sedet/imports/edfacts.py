"""A state's LEA-level EDFacts submission files read into a bundle (docs/imports.md).

Files: FS002 (children with IEPs, school age), FS089 (early childhood), FS052 (membership), FS006
(suspensions and expulsions), FS143 (total removals), FS185 and FS188 (assessment participation),
FS175 and FS178 (achievement), in either form they come in: fixed-width, or comma- or
tab-separated, each with its header record first. The layouts are data (imports/edfacts_layouts.py).

A record fills the categories of its category set and leaves the others empty; its Total
Indicator says whether it is a subtotal or total. The import keeps, per file, the category sets
that carry what a measure reads (`Take`); every subtotal or total whose categories are among a kept
set's checks that set; what neither keeps nor checks is counted and left. What is written:

- `enrollment`: children with IEPs by race and disability (FS002 set A + FS089 set B, marked
  `counts_in` = disability) and by race and environment (FS002 set C, `counts_in` = environment);
  with FS052, the children without IEPs by race = membership - children with IEPs (FS002 + FS089):
  OSEP's data sources for significant disproportionality, ages 3-21.
- `discipline`: children with IEPs suspended or expelled by race, method (OSS/ISS) and length
  (1-10 days / more than 10) from FS006 set B (`counts_in` CHILDREN); their removals of every type
  by race from FS143 set B (`counts_in` REMOVALS).
- `assessments`: from FS185 (math) and FS188 (reading/language arts), students with disabilities by
  grade and participation status (set C) and every other student (subtotal 1 minus set C): the
  assessment taken (regular or alternate), or not participating, or a medical exemption. With
  FS175/FS178, the participants with a valid score carry PROFICIENT or NOTPROFICIENT as their
  `performance_level`.
- `districts`: every LEA of the files.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sedet import __version__
from sedet.imports.edfacts_layouts import BY_TABLE, CATEGORIES, HEADER, FileSpec, Take
from sedet.imports.idea618 import problem, read_text
from sedet.io.output import sha256_file
from sedet.io.schema import MAX_COUNT
from sedet.model import Problem, school_year_text

FIXED_HEADER = 584  # characters of the header record without its line end (S_HDR)
PERIOD = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4}|\d{2})\s*$")  # "2022-2023" or "2022-23"
MAX_LISTED = 20  # problems of one kind listed per file


@dataclass
class Read:
    """One file: its layout, school year, records (one column per field, text) and problems."""

    path: Path
    spec: FileSpec | None = None
    form: str = ""  # "fixed-width", "comma-separated", "tab-separated"
    school_year: int | None = None
    layout_year: int | None = None
    records: pl.DataFrame | None = None  # record (1-based), line, lea, total, amount, one column per category
    problems: list[Problem] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.path.name

    def problem(self, line: int | None, column: str | None, expected: str, found: str) -> None:
        self.problems.append(problem(self.file, line, column, expected, found))


def year_of(text: str) -> int | None:
    """The spring year of a school year written '2022-2023' or '2022-23' (None if it is neither)."""
    m = PERIOD.match(text)
    if not m:
        return None
    fall, spring = int(m.group(1)), m.group(2)
    end = int(spring) if len(spring) == 4 else fall // 100 * 100 + int(spring)
    return end if end == fall + 1 else None


def read_file(path: Path, *, year: int | None = None, layout_year: int | None = None,
              encoding: str = "utf-8-sig") -> Read:
    """One EDFacts file read, its layout found from its records' table name, every field checked."""
    r = Read(path)
    lines = pl.Series("text", read_text(path, encoding).split("\n"), dtype=pl.String).str.strip_suffix("\r")
    written = (lines.str.strip_chars() != "").arg_true()  # blank lines at the end are left out
    if written.len() == 0:
        r.problem(None, None, "an EDFacts file: a header record, then its records", "an empty file")
        return r
    lines = lines.head(int(written[-1]) + 1)
    head, body = str(lines[0]), lines.slice(1)
    delimiter = _delimiter(head)
    r.form = {None: "fixed-width", ",": "comma-separated", "\t": "tab-separated"}[delimiter]
    header = _header(head, delimiter)
    if body.len() == 0:
        r.problem(2, None, "records after the header record", "none (the header only)")
        return r
    table = _first_table(str(body[0]), delimiter)
    r.spec = BY_TABLE.get(table)
    if r.spec is None:
        known = ", ".join(f"{t} ({s.code})" for t, s in BY_TABLE.items())
        r.problem(2, "TableTypeAbbrv", f"the table name of a file sedet reads: {known}", repr(table[:40]))
        return r
    _year(r, header, year, layout_year)
    if r.problems:
        return r
    frame = _fixed(r, body) if delimiter is None else _delimited(r, body, delimiter)
    if frame is None:
        return r
    _check_header_count(r, header, body.len())
    r.records = _typed(r, frame)
    return r


def _delimiter(head: str) -> str | None:
    """Fixed-width when the first line is the header record's 584 characters, or has neither a tab
    nor a comma; otherwise delimited by the tab, or else the comma, it has."""
    if len(head) == FIXED_HEADER or ("\t" not in head and "," not in head):
        return None
    return "\t" if "\t" in head else ","


def _split(line: str, delimiter: str) -> list[str]:
    """One delimited record's fields; a record the csv module cannot read (a stray carriage return
    inside it) as one field holding the whole record, which no layout accepts."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return [line]


def _header(head: str, delimiter: str | None) -> dict[str, str]:
    if delimiter is None:
        return {f.name: head[f.start - 1:f.start - 1 + f.length].strip() for f in HEADER}
    values = _split(head, delimiter)
    return {f.name: (values[i].strip() if i < len(values) else "") for i, f in enumerate(HEADER)}


def _first_table(line: str, delimiter: str | None) -> str:
    if delimiter is None:
        return line[48:68].strip()
    values = [v.strip() for v in _split(line, delimiter)]
    # every field in order (the table name is the 6th), or without the fillers (the 5th)
    return next((v for v in values[4:6] if v in BY_TABLE), values[5] if len(values) > 5 else "")


def _year(r: Read, header: dict[str, str], year: int | None, layout_year: int | None) -> None:
    spec = r.spec
    assert spec is not None
    said = year_of(header["FileReportingPeriod"])
    if year is not None and said is not None and year != said:
        r.problem(1, "FileReportingPeriod", f"the school year given, {school_year_text(year)}",
                  repr(header["FileReportingPeriod"]))
        return
    r.school_year = year if year is not None else said
    if r.school_year is None:
        r.problem(1, "FileReportingPeriod", "the school year, e.g. '2022-2023' (or give it with --year)",
                  repr(header["FileReportingPeriod"][:20]))
        return
    # a file is read with its own year's layout when sedet knows it, else with --layout-year's
    r.layout_year = r.school_year if r.school_year in spec.years or layout_year is None else layout_year
    if r.layout_year not in spec.years:
        known = ", ".join(school_year_text(y) for y in spec.years)
        r.problem(1, "FileReportingPeriod", f"a school year whose {spec.code} layout sedet knows ({known}); "
                  "to read the file with one of them, give --layout-year", school_year_text(r.school_year))


def _names(spec: FileSpec) -> list[str]:
    return [f.name for f in spec.fields]


# the fields a record is checked and imported by (FileRecordNumber, the state codes and the
# explanation are not read)
READ = ("StateLEAIDNumber", "TableTypeAbbrv", "TotalIndicator", "Amount")


def _read(spec: FileSpec) -> list[str]:
    return [f.name for f in spec.fields if f.name in READ or f.category is not None]


def _fixed(r: Read, lines: pl.Series) -> pl.DataFrame | None:
    spec = r.spec
    assert spec is not None
    width = lines.str.len_chars()
    bad = (width != spec.record_length).arg_true()
    for i in bad.head(MAX_LISTED).to_list():
        r.problem(i + 2, None, f"a {spec.code} record of {spec.record_length} characters", f"{width[i]} characters")
    if bad.len():
        return None
    text = pl.col("text")
    wanted = _read(spec)
    return pl.DataFrame(lines.alias("text")).select(
        *[text.str.slice(f.start - 1, f.length).str.strip_chars().alias(f.name) for f in spec.fields
          if f.name in wanted]
    )


def _delimited(r: Read, body: pl.Series, delimiter: str) -> pl.DataFrame | None:
    """The records of a delimited file: every field of the layout in order (fillers as empty fields),
    or the fields without the fillers; the number of fields of the first record says which, and
    every record must have as many."""
    spec = r.spec
    assert spec is not None
    full = _names(spec)
    kept = [f.name for f in spec.fields if not f.filler]
    frame = _parsed(body, delimiter)
    if frame is not None and frame.width in (len(full), len(kept)):
        frame.columns = full if frame.width == len(full) else kept
        return frame.select(pl.col(_read(spec)).str.strip_chars())
    rows = [_split(line, delimiter) for line in body.to_list()]
    width = len(rows[0])
    expected = f"{len(full)} fields of a {spec.code} record (or {len(kept)}, without its fillers)"
    if width in (len(full), len(kept)):
        expected = f"{width} fields, as in the first record"
    wrong = [(i, len(row)) for i, row in enumerate(rows) if len(row) != width or width not in (len(full), len(kept))]
    for i, n in wrong[:MAX_LISTED]:
        r.problem(i + 2, None, expected, f"{n} fields")
    if wrong:
        return None
    names = full if width == len(full) else kept
    frame = pl.DataFrame(rows, schema={name: pl.String for name in names}, orient="row")
    return frame.select(pl.col(_read(spec)).str.strip_chars())


def _parsed(body: pl.Series, delimiter: str) -> pl.DataFrame | None:
    """The records parsed by polars when that is safe: no quotes, and every line with as many
    delimiters as the first (polars would read a short record as if its last fields were empty).
    None otherwise: the csv module then reads them one by one and locates what is wrong."""
    if body.str.contains('"', literal=True).any():
        return None
    if body.str.count_matches(delimiter, literal=True).n_unique() != 1:
        return None
    text = body.str.join("\n").item()
    try:
        return pl.read_csv(text.encode(), has_header=False, separator=delimiter, infer_schema=False, quote_char=None)
    except pl.exceptions.PolarsError:
        return None


def _check_header_count(r: Read, header: dict[str, str], n: int) -> None:
    said = header["TotalRecords"].strip()
    if said.isdigit() and int(said) != n:
        r.problem(1, "TotalRecords", f"the number of records the file holds ({n:,}): a file cut short, or two "
                  "files joined?", said)
    elif not said.isdigit():
        r.problem(1, "TotalRecords", "the number of records (a whole number)", repr(said[:20]))


def _typed(r: Read, frame: pl.DataFrame) -> pl.DataFrame | None:
    """Records with their fields checked: LEA, Total Indicator, Amount, the codes of every category
    sedet keeps. Text of the categories it sums over is kept as read."""
    spec = r.spec
    assert spec is not None
    n = frame.height
    f = frame.with_columns(pl.int_range(1, n + 1).alias("record"), pl.int_range(2, n + 2).alias("line"))
    amount = pl.col("Amount").cast(pl.Int64, strict=False)
    checks: list[tuple[str, pl.Expr, str]] = [
        ("StateLEAIDNumber", pl.col("StateLEAIDNumber") == "", "the LEA's state identifier"),
        ("TableTypeAbbrv", ~pl.col("TableTypeAbbrv").is_in(spec.tables),
         f"{' or '.join(spec.tables)}, the table{'s' if len(spec.tables) > 1 else ''} of a {spec.code} file"),
        ("TotalIndicator", ~pl.col("TotalIndicator").is_in(["Y", "N"]), "Y (a subtotal or total) or N"),
        ("Amount", amount.is_null() | (amount < 0) | (amount > MAX_COUNT),
         f"a count: a whole number from 0 to {MAX_COUNT:,}"),
    ]
    for category, fld in spec.categories.items():
        codes = CATEGORIES[category].codes
        if codes is not None:
            value = pl.col(fld.name)
            checks.append((fld.name, (value != "") & ~value.is_in(list(codes)),
                           f"a code of {CATEGORIES[category].name}: {', '.join(codes)} (sedet cannot place "
                           f"{CATEGORIES[category].unplaced})"))
    for column, bad, expected in checks:
        for line, value in f.filter(bad).select("line", column).head(MAX_LISTED).iter_rows():
            r.problem(line, column, expected, repr(value))
    if r.problems:
        return None
    cats = spec.categories
    return f.select(
        "record", "line", pl.col("StateLEAIDNumber").alias("lea"), (pl.col("TotalIndicator") == "Y").alias("total"),
        amount.alias("amount"),
        *[pl.when(pl.col(fld.name) != "").then(pl.col(fld.name)).alias(cat) for cat, fld in cats.items()],
    )


def signature(categories: list[str]) -> pl.Expr:
    """The categories a record fills, as one sorted, comma-joined text ('' for a total)."""
    return pl.concat_str([pl.when(pl.col(c).is_not_null()).then(pl.lit(c)) for c in sorted(categories)],
                         separator=",", ignore_nulls=True).fill_null("")


def key(categories: frozenset[str]) -> str:
    return ",".join(sorted(categories))


@dataclass
class Sets:
    """One file's records sorted by what the import does with them."""

    taken: dict[str, pl.DataFrame]  # Take.into -> records of that set
    checked: int
    other: int


def sort_records(r: Read) -> Sets:
    """Split a file's records: those of a kept set; subtotals and totals that check one (compared
    here: a difference is a problem); the rest (other category sets), counted."""
    spec, recs = r.spec, r.records
    assert spec is not None and recs is not None
    cats = list(spec.categories)
    recs = recs.with_columns(signature(cats).alias("sig"))
    dup = recs.filter(pl.struct("lea", "total", *cats).is_duplicated()).sort("line")
    for line, lea in dup.select("line", "lea").head(MAX_LISTED).iter_rows():
        r.problem(line, None, "one record per LEA and combination of categories", f"a second record of LEA {lea!r} "
                  "with the same categories")
    taken: dict[str, pl.DataFrame] = {}
    used = pl.lit(False)
    for take in spec.takes:
        of_set = (pl.col("total") == take.total) & (pl.col("sig") == key(take.categories))
        used = used | of_set
        if take.into is not None:
            rows = recs.filter(of_set)
            taken[take.into] = taken[take.into].vstack(rows) if take.into in taken else rows
    whole = tuple(t for t in spec.takes if t.whole and not t.total)
    checked: set[int] = set()
    for take in whole:
        checked |= _check_subtotals(r, recs, take)
    _check_sets_agree(r, recs, whole)
    other = len(set(recs.filter(~used).get_column("line").to_list()) - checked)
    return Sets(taken, len(checked), other)


def _check_subtotals(r: Read, recs: pl.DataFrame, take: Take) -> set[int]:
    """Each subtotal or total whose categories are all in the set equals the set's records summed
    over the others. Returns the lines of the records compared."""
    cats = sorted(take.categories)
    rows = recs.filter(~pl.col("total") & (pl.col("sig") == key(take.categories)))
    subs = recs.filter(pl.col("total"))
    n: set[int] = set()
    for sig in subs.get_column("sig").unique().sort().to_list():
        within = [c for c in sig.split(",") if c]
        if not set(within) <= set(cats):
            continue
        these = subs.filter(pl.col("sig") == sig)
        n |= set(these.get_column("line").to_list())
        sums = rows.group_by("lea", *within).agg(pl.col("amount").sum().alias("sum"))
        both = these.join(sums, on=["lea", *within], how="left", nulls_equal=True)
        off = both.filter(pl.col("sum").fill_null(0) != pl.col("amount")).sort("line")
        what = f"set {take.name} ({', '.join(cats)})"
        for line, amount, s in off.select("line", "amount", "sum").head(MAX_LISTED).iter_rows():
            r.problem(line, "Amount", f"the sum of {what} over the other categories, {s or 0:,}", f"{amount:,}")
    return n


def _check_sets_agree(r: Read, recs: pl.DataFrame, takes: tuple[Take, ...]) -> None:
    """Two kept sets of one file (FS002 A and C) hold the same children: the same total per LEA."""
    if len(takes) < 2:
        return
    totals = [recs.filter(~pl.col("total") & (pl.col("sig") == key(t.categories))).group_by("lea")
              .agg(pl.col("amount").sum().alias(t.name), pl.col("line").min().alias(f"line_{t.name}")) for t in takes]
    a, b = takes[0].name, takes[1].name
    both = totals[0].join(totals[1], on="lea", how="full", coalesce=True).fill_null(0)
    for lea, x, y, line in both.filter(pl.col(a) != pl.col(b)).sort("lea").select(
            "lea", a, b, pl.max_horizontal(f"line_{a}", f"line_{b}")).head(MAX_LISTED).iter_rows():
        r.problem(line, "Amount", f"as many children in set {b} of LEA {lea!r} as in set {a} ({x:,})", f"{y:,}")


@dataclass
class Imported:
    reads: list[Read]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    sets: dict[str, Sets] = field(default_factory=dict)  # file name -> its records, sorted
    problems: list[Problem] = field(default_factory=list)
    medical_enrolled: bool = False  # FS185/FS188: a medical exemption counts as enrolled (not participating)


def import_files(paths: list[Path], *, year: int | None = None, layout_year: int | None = None,
                 encoding: str = "utf-8-sig", medical_enrolled: bool = False) -> Imported:
    """Every file read and checked, then the bundle's tables built, year by year."""
    reads = [read_file(p, year=year, layout_year=layout_year, encoding=encoding) for p in paths]
    done = Imported(reads, problems=[p for r in reads for p in r.problems], medical_enrolled=medical_enrolled)
    if done.problems:
        return done
    seen: dict[tuple[str, int], str] = {}
    for r in reads:
        assert r.spec is not None and r.school_year is not None
        k = (r.spec.code, r.school_year)
        if k in seen:
            r.problem(1, "FileReportingPeriod", f"one {r.spec.code} file per school year ({seen[k]} holds "
                      f"{school_year_text(r.school_year)} too)", school_year_text(r.school_year))
        seen[k] = r.file
        done.sets[r.file] = sort_records(r)
    done.problems = [p for r in reads for p in r.problems]
    if not done.problems:
        _tables(done)
    return done


def _rows(done: Imported, into: str) -> list[tuple[Read, pl.DataFrame]]:
    return [(r, done.sets[r.file].taken[into]) for r in done.reads if into in done.sets[r.file].taken]


def _taken(done: Imported, into: str, *columns: str) -> pl.DataFrame | None:
    """The records of every file kept `into` this, with their file's school year (None: no such records)."""
    rows = _rows(done, into)
    if not rows:
        return None
    return pl.concat([t.select(pl.lit(r.school_year).alias("school_year"), *columns) for r, t in rows])


def _tables(done: Imported) -> None:
    year, iep = pl.col("school_year"), pl.lit(True)
    by_dis = _taken(done, "enrollment.disability", "lea", "race", "disability", "amount")
    by_env = _taken(done, "enrollment.environment", "lea", "race", "environment", "amount")
    enrollment = []
    ieps = None
    if by_dis is not None:
        dis = by_dis.group_by("school_year", "lea", "race", "disability").agg(pl.col("amount").sum())
        ieps = dis.group_by("school_year", "lea", "race").agg(pl.col("amount").sum().alias("ieps"))
        enrollment.append(dis.select(year, "lea", "race", iep.alias("iep"), "disability",
                                     pl.lit(None, pl.String).alias("environment"),
                                     pl.lit("DISABILITY").alias("counts_in"), "amount"))
    if by_env is not None:
        env = by_env.group_by("school_year", "lea", "race", "environment").agg(pl.col("amount").sum())
        env = env.with_columns(pl.col("environment").replace_strict(CATEGORIES["environment"].codes,
                                                                    return_dtype=pl.String))
        enrollment.append(env.select(year, "lea", "race", iep.alias("iep"), pl.lit(None, pl.String).alias("disability"),
                                     "environment", pl.lit("ENVIRONMENT").alias("counts_in"), "amount"))
    members = _rows(done, "membership")
    if members:
        others = _without_ieps(done, members, ieps)
        if others is not None:
            enrollment.append(others)
    tables: dict[str, pl.DataFrame] = {}
    if enrollment:
        tables["enrollment"] = pl.concat(enrollment).filter(pl.col("amount") > 0).select(
            "school_year", pl.col("lea").alias("district_id"), pl.col("race").alias("race_ethnicity"), "iep",
            "disability", "environment", "counts_in", pl.col("amount").alias("count"),
        ).sort("school_year", "district_id", "counts_in", "disability", "environment", "iep", "race_ethnicity",
               nulls_last=True)
    discipline = _discipline(done)
    if discipline is not None:
        tables["discipline"] = discipline
    assessments = _assessments(done)
    if assessments is not None:
        tables["assessments"] = assessments
    if done.problems:
        return
    leas = sorted({x for t in tables.values() for x in t.get_column("district_id").unique().to_list()})
    tables["districts"] = pl.DataFrame({"district_id": leas, "district_name": [None] * len(leas)},
                                       schema={"district_id": pl.String, "district_name": pl.String})
    done.tables = tables


def _discipline(done: Imported) -> pl.DataFrame | None:
    """Discipline rows: children with IEPs removed, by race, method and length (FS006 set B, rows of
    children, `counts_in` CHILDREN); removals of every type by race (FS143 set B, rows of removals
    only, `counts_in` REMOVALS, with no method or days)."""
    parts = []
    children = _taken(done, "discipline", "lea", "race", "discipline_method", "removal_length", "amount")
    if children is not None:
        parts.append(children.group_by("school_year", "lea", "race", "discipline_method", "removal_length")
                     .agg(pl.col("amount").sum()).select(
            "school_year", "lea", "race",
            pl.col("discipline_method").replace_strict(CATEGORIES["discipline_method"].codes,
                                                       return_dtype=pl.String).alias("removal_type"),
            pl.col("removal_length").replace_strict(CATEGORIES["removal_length"].codes,
                                                    return_dtype=pl.Float64).alias("days_removed"),
            pl.lit(1, pl.Int64).alias("removals"), pl.lit("CHILDREN").alias("counts_in"), "amount"))
    removals = _taken(done, "discipline.removals", "lea", "race", "amount")
    if removals is not None:
        parts.append(removals.group_by("school_year", "lea", "race").agg(pl.col("amount").sum()).select(
            "school_year", "lea", "race", pl.lit(None, pl.String).alias("removal_type"),
            pl.lit(None, pl.Float64).alias("days_removed"), pl.col("amount").alias("removals"),
            pl.lit("REMOVALS").alias("counts_in"), pl.lit(1, pl.Int64).alias("amount")))
    if not parts:
        return None
    return pl.concat(parts).filter(pl.col("amount") * pl.col("removals") > 0).select(
        "school_year", pl.col("lea").alias("district_id"), pl.col("race").alias("race_ethnicity"),
        pl.lit(True).alias("iep"), "removal_type", "days_removed", "removals", "counts_in",
        pl.col("amount").alias("count"),
    ).sort("school_year", "district_id", "counts_in", "removal_type", "days_removed", "race_ethnicity",
           nulls_last=True)


def _without_ieps(done: Imported, members: list[tuple[Read, pl.DataFrame]],
                  ieps: pl.DataFrame | None) -> pl.DataFrame | None:
    """Children without IEPs by LEA and race: FS052 membership minus the children with IEPs of FS002
    and FS089 of the same year (OSEP: FS002 + FS089 the risk numerator, FS052 the denominator, for
    ages 3-21). Both child-count files are needed; fewer members than children with IEPs is a problem."""
    for r, _ in members:
        have = {x.spec.code for x in done.reads if x.school_year == r.school_year and x.spec is not None}
        lacking = sorted({"FS002", "FS089"} - have)
        if lacking:
            r.problem(None, None, f"with FS052, the children with IEPs of {school_year_text(r.school_year or 0)} "
                      "(FS002 and FS089): the children without IEPs are membership minus them",
                      f"no {' and no '.join(lacking)} of that year")
    done.problems = [p for r in done.reads for p in r.problems]
    if done.problems or ieps is None:
        return None
    member = pl.concat([t.select(pl.lit(r.school_year).alias("school_year"), "lea", "race", "amount", pl.lit(r.file)
                                 .alias("file")) for r, t in members]) \
        .group_by("school_year", "lea", "race").agg(pl.col("amount").sum().alias("members"), pl.col("file").first())
    both = member.join(ieps, on=["school_year", "lea", "race"], how="full", coalesce=True) \
        .with_columns(pl.col("members", "ieps").fill_null(0))
    short = both.filter(pl.col("members") < pl.col("ieps")).sort("school_year", "lea", "race")
    for yr, lea, race, m, k, file in short.select("school_year", "lea", "race", "members", "ieps", "file") \
            .head(MAX_LISTED).iter_rows():
        done.problems.append(problem(file or "FS052", None, "Amount",
                                     f"LEA {lea!r}, {race}, {school_year_text(yr)}: at least as many members as "
                                     f"children with IEPs in FS002 and FS089 ({k:,})", f"{m:,} members"))
    if done.problems:
        return None
    return both.select(
        "school_year", "lea", "race", pl.lit(False).alias("iep"), pl.lit(None, pl.String).alias("disability"),
        pl.lit(None, pl.String).alias("environment"), pl.lit(None, pl.String).alias("counts_in"),
        (pl.col("members") - pl.col("ieps")).alias("amount"),
    )


def _by_iep(done: Imported, into: str, categories: list[str]) -> pl.DataFrame | None:
    """The records of set C (students with disabilities) and subtotal 1 (every student) of the files kept
    `into` (assessments: FS185, FS188; achievement: FS175, FS178) as rows of students with IEPs (set C)
    and the rest (subtotal 1 minus set C), by grade and `categories`, with the file and line of each. A
    subtotal 1 below its set C is a problem."""
    iep = _rows(done, f"{into}.iep")
    every = _rows(done, f"{into}.all")
    if not iep and not every:
        return None
    cols = ["school_year", "subject", "lea", "grade_assessed", *categories]

    def frame(rows: list[tuple[Read, pl.DataFrame]], name: str) -> pl.DataFrame:
        return pl.concat([t.select(pl.lit(r.school_year).alias("school_year"),
                                   pl.lit(r.spec.subject if r.spec else None).alias("subject"), "lea",
                                   "grade_assessed", *categories,
                                   pl.col("amount").alias(name), pl.col("line").alias(f"line_{name}"),
                                   pl.lit(r.file).alias(f"file_{name}")) for r, t in rows])

    both = frame(iep, "ieps").join(frame(every, "all"), on=cols, how="full", coalesce=True) \
        .with_columns(pl.col("ieps", "all").fill_null(0))
    short = both.filter(pl.col("all") < pl.col("ieps")).sort("school_year", "subject", "lea", "grade_assessed")
    for file, line, lea, grade, what, n, k in short.select(
            pl.coalesce("file_all", "file_ieps"), pl.coalesce("line_all", "line_ieps"), "lea", "grade_assessed",
            pl.concat_str(categories, separator=", "), "all", "ieps") \
            .head(MAX_LISTED).iter_rows():
        done.problems.append(problem(file, line, "Amount", f"LEA {lea!r}, grade {grade}, {what}: at least as many "
                                     f"students in subtotal 1 as students with disabilities in set C ({k:,})",
                                     f"{n:,}"))
    grade = pl.col("grade_assessed").replace_strict(CATEGORIES["grade_assessed"].codes, return_dtype=pl.Float64)
    # each row located at the record it comes from: set C for students with IEPs, subtotal 1 for the rest
    ieps = pl.coalesce("file_ieps", "file_all").alias("file"), pl.coalesce("line_ieps", "line_all").alias("line")
    rest = pl.coalesce("file_all", "file_ieps").alias("file"), pl.coalesce("line_all", "line_ieps").alias("line")
    return pl.concat([
        both.select(*cols, pl.lit(True).alias("iep"), pl.col("ieps").alias("count"), *ieps),
        both.select(*cols, pl.lit(False).alias("iep"), (pl.col("all") - pl.col("ieps")).alias("count"), *rest),
    ]).filter(pl.col("count") > 0).with_columns(grade.cast(pl.Int64).alias("grade"),
                                                pl.col("lea").alias("district_id"))


def _assessments(done: Imported) -> pl.DataFrame | None:
    """Assessment rows from FS185 and FS188: students with IEPs (set C: disability status WDIS) and
    the rest (subtotal 1, every student, minus set C), by grade and participation status. A medical
    exemption is not a participant, and is out of the participation rate's students enrolled unless
    `done.medical_enrolled` (docs/imports.md). With FS175/FS178, the participants with a valid score
    carry their proficiency as the performance level (`_with_scores`)."""
    taken = _by_iep(done, "assessments", ["participation"])
    scores = _by_iep(done, "achievement", ["assessment_administered", "proficiency"])
    if done.problems or (taken is None and scores is None):
        return None
    if taken is None:
        taken = pl.DataFrame(schema={"school_year": pl.Int64, "subject": pl.String, "district_id": pl.String,
                                     "grade": pl.Int64, "iep": pl.Boolean, "participation": pl.String,
                                     "count": pl.Int64})
    status = pl.col("participation").replace_strict(CATEGORIES["participation"].codes, return_dtype=pl.String)
    rows = taken.with_columns(status.alias("status")).select(
        "school_year", "district_id", "subject", "grade", "iep",
        pl.when(pl.col("status").is_in(["REG", "ALT"])).then(pl.col("status")).alias("assessment"),
        ((pl.col("status") != "MEDEXEMPT") | pl.lit(done.medical_enrolled)).alias("enrolled_in_window"),
        pl.col("status").is_in(["REG", "ALT"]).alias("participated"),
        "count",
    ).group_by(KEYS).agg(pl.col("count").sum())
    if scores is None:
        return rows.sort(KEYS, nulls_last=True)
    placed = _with_scores(done, rows, scores)
    if placed is None:
        return None
    keys = [*KEYS, "performance_level"]
    return placed.group_by(keys).agg(pl.col("count").sum()).filter(pl.col("count") > 0).sort(keys, nulls_last=True)


def _with_scores(done: Imported, rows: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame | None:
    """FS175/FS178 place the students with a valid score among the participants of FS185/FS188 of the
    same year, subject, LEA, grade, IEP status and assessment (regular or alternate): a row of each
    proficiency status (PROFICIENT, NOTPROFICIENT as the performance level), the participants left
    without a score a row without one. Scores without the participation file of their year and subject,
    or more scores than participants, are problems (docs/imports.md)."""
    key = ["school_year", "district_id", "subject", "grade", "iep", "assessment"]
    s = scores.with_columns(pl.col("assessment_administered").replace_strict(
        CATEGORIES["assessment_administered"].codes, return_dtype=pl.String).alias("assessment"))
    have = rows.select("school_year", "subject").unique()
    lacking = s.join(have, on=["school_year", "subject"], how="anti").group_by("file", "school_year", "subject") \
        .agg(pl.col("line").min()).sort("file")
    for file, yr, subject, line in lacking.select("file", "school_year", "subject", "line").iter_rows():
        wanted = "FS185" if subject == "MATH" else "FS188"
        done.problems.append(problem(file, line, None, f"the participation file of the same subject and year "
                                     f"({wanted} of {school_year_text(yr)}): the scores are placed among its "
                                     "participants", f"no {wanted} of that year"))
    if done.problems:
        return None
    scored = s.group_by(key).agg(pl.col("count").sum().alias("scored"), pl.col("file").first(), pl.col("line").min())
    took = rows.filter(pl.col("participated")).group_by(key).agg(pl.col("count").sum().alias("participants"))
    both = scored.join(took, on=key, how="left").with_columns(pl.col("participants").fill_null(0))
    over = both.filter(pl.col("scored") > pl.col("participants")).sort("file", "line", *key)
    for file, line, lea, grade, iep, a, n, k in over.select(
            "file", "line", "district_id", "grade", "iep", "assessment", "scored", "participants") \
            .head(MAX_LISTED).iter_rows():
        who = "students with disabilities" if iep else "students without disabilities"
        done.problems.append(problem(file, line, "Amount", f"LEA {lea!r}, grade {grade}, {who}, {a} assessment: "
                                     f"no more students with a score than participants in the participation file "
                                     f"({k:,})", f"{n:,} with a score"))
    if done.problems:
        return None
    unscored = rows.join(both.select(*key, "scored"), on=key, how="left").select(
        *KEYS, pl.lit(None, pl.String).alias("performance_level"),
        (pl.col("count") - pl.when(pl.col("participated")).then(pl.col("scored").fill_null(0)).otherwise(0))
        .alias("count"))
    levels = s.select(*KEYS[:6], pl.lit(True).alias("enrolled_in_window"), pl.lit(True).alias("participated"),
                      pl.col("proficiency").alias("performance_level"), "count")
    return pl.concat([unscored, levels.select(unscored.columns)])


KEYS = ["school_year", "district_id", "subject", "grade", "iep", "assessment", "enrolled_in_window", "participated"]


def write_bundle(done: Imported, folder: Path) -> dict:
    """The bundle's files in `folder` (a fresh staging folder) and its manifest.json, whose document
    is returned. Rows are sorted, so the same files give the same bytes."""
    written = []
    for name in sorted(done.tables):
        path = folder / f"{name}.csv"
        done.tables[name].write_csv(path)
        written.append(path)
    doc = {
        "tool": "sedet",
        "version": __version__,
        "import": "edfacts",
        "rule": "docs/imports.md: EDFacts LEA files; children with IEPs by race and disability (FS002 set A, FS089 "
                "set B) and by race and environment (FS002 set C) as two margins (counts_in); children without "
                "IEPs = FS052 membership - FS002 - FS089; FS006 set B as discipline rows of children and FS143 "
                "set B as rows of removals (counts_in); FS185/FS188 set C "
                "(students with disabilities) and subtotal 1 minus set C (the rest) as assessment rows by grade "
                "and participation status; FS175/FS178 the same sets, their participants with a valid score "
                "placed among FS185/FS188's with the proficiency status as the performance level",
        "medical_exemptions": ("enrolled (counted as not participating)" if done.medical_enrolled
                               else "excluded from the students enrolled"),
        "sources": [_source(r, done.sets[r.file]) for r in done.reads],
        "outputs": [{"file": p.name, "sha256": sha256_file(p)} for p in written],
    }
    (folder / "manifest.json").write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return doc


def _source(r: Read, sets: Sets) -> dict:
    assert r.spec is not None and r.records is not None
    return {
        "file": r.file, "sha256": sha256_file(r.path), "file_spec": r.spec.code, "form": r.form,
        "school_year": r.school_year, "layout_year": r.layout_year, "records": r.records.height,
        "records_imported": {into: t.height for into, t in sorted(sets.taken.items())},
        "children_imported": {into: int(t.get_column("amount").sum()) for into, t in sorted(sets.taken.items())},
        "subtotals_checked": sets.checked, "records_of_other_sets": sets.other,
    }
