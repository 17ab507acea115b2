r"""Time `sedet import edfacts` on a whole state's synthetic EDFacts files (issue 19, item 5).

Not part of the test suite. Usage:

    python benchmarks/bench_edfacts_import.py [--leas 1000] [--form fixed|csv] [--repeat 3] [--seed 1] \
        [--work /tmp/sedet-bench] [--results FILE]

Writes, for --leas LEAs of random sizes, the nine files sedet reads, with every category set a
state submits (FS002 sets A-E with subtotals and the total; FS089 sets A-D; FS052 set A with its
subtotals; FS006 sets A-D; FS143 sets A-D and the total; FS185 and FS188, school year 2022-23,
sets A-C and subtotal 1 in both tables; FS175 and FS178 the same, every participant of FS185/FS188
with a score, proficient or not), in the layouts of sedet/imports/edfacts_layouts.py,
consistent with one another (each set and subtotal sums from the same children). Then runs the whole command
(`sedet import edfacts ... --out`) --repeat times in a fresh process and reports the median wall
time and peak memory (from /usr/bin/time when present), with the records per file. Results are
printed and appended as JSON lines to benchmarks/results.jsonl (or --results FILE).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from timing import timed  # benchmarks/timing.py

from sedet.imports.edfacts_layouts import FILES, format_header, format_record

RACES = ("AM7", "AS7", "BL7", "HI7", "MU7", "PI7", "WH7")
SEXES = ("F", "M")
DISABILITIES = ("AUT", "DB", "DD", "EMN", "HI", "ID", "MD", "OHI", "OI", "SLD", "SLI", "TBI", "VI")
ENVIRONMENTS = ("RC80", "RC79TO40", "RC39", "SS", "RF", "HH", "CF", "PPPS")
AGES = ("AGE05K", *map(str, range(6, 22)))
EL = ("LEP", "NLEP")
EC_ENV = ("H", "REC09YOTHLOC", "REC09YSVCS", "REC10YOTHLOC", "REC10YSVCS", "RF", "SC", "SPL", "SS")
EC_AGES = ("3", "4", "AGE05NOTK")
GRADES = ("PK", "KG", *[f"{g:02d}" for g in range(1, 13)])
METHODS, LENGTHS = ("OUTOFSCHOOL", "INSCHOOL"), ("LTOREQ10", "GREATER10")
TESTED = (*[f"{g:02d}" for g in range(3, 9)], "11")
MAJOR = ("MA", "MAN", "MB", "MHL", "MM", "MNP", "MW")
STATUS = ("REGPARTWOACC", "REGPARTWACC", "ALTPARTALTACH", "NPART", "MEDEXEMPT")
PERIOD = {c: "2022-2023" for c in ("FS175", "FS178", "FS185", "FS188")}  # the others: 2020-2021
ADMINISTERED = {"REGPARTWOACC": "REGASSWOACC", "REGPARTWACC": "REGASSWACC", "ALTPARTALTACH": "ALTASSALTACH"}


def children(rng: random.Random, n: int, dims: dict[str, tuple[str, ...]]) -> list[tuple[dict[str, str], int]]:
    """n children spread over every combination of dims, as (categories, count) cells."""
    keys = list(dims)
    combos = list(itertools.product(*dims.values()))
    weights = [rng.random() ** 3 for _ in combos]
    counts = [0] * len(combos)
    for i in rng.choices(range(len(combos)), weights, k=n):
        counts[i] += 1
    return [(dict(zip(keys, c, strict=True)), k) for c, k in zip(combos, counts, strict=True) if k]


def margins(cells: list[tuple[dict[str, str], int]], sets: list[tuple[str, ...]], totals: list[tuple[str, ...]]):
    """Records (categories, count, is_total) of each set and subtotal: the cells summed over the rest."""
    for group, is_total in [(s, False) for s in sets] + [(t, True) for t in totals]:
        sums: dict[tuple, int] = {}
        for cats, k in cells:
            key = tuple(cats[c] for c in group)
            sums[key] = sums.get(key, 0) + k
        for key, k in sorted(sums.items()):
            yield dict(zip(group, key, strict=True)), k, is_total


def write(path: Path, code: str, records: list[tuple[str, dict[str, str], int, bool]], form: str) -> int:
    spec = FILES[code]
    delim = None if form == "fixed" else ","
    lines = [format_header(len(records), PERIOD.get(code, "2020-2021"), path.name, delim)]
    for i, (lea, cats, k, total) in enumerate(records, 1):
        # FS185/FS188: grades 3-8 in the first table, high school in the second
        table = spec.tables[-1] if cats.get("grade_assessed", "00") > "08" else spec.table
        values = {"FileRecordNumber": str(i), "FIPSStateCode": "34", "StateAgencyNumber": "01", "StateLEAIDNumber": lea,
                  "TableTypeAbbrv": table, "TotalIndicator": "Y" if total else "N", "Amount": str(k)}
        values |= {spec.categories[c].name: v for c, v in cats.items()}
        lines.append(format_record(spec, values, delim))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return len(records)


def sets_of(lea: str, cells: list[tuple[dict[str, str], int]], *by: str) -> list:
    """The records of sets A-C and subtotal 1 of an assessment file (set C: students with disabilities)."""
    return [(lea, *r) for r in margins(cells, [
        ("grade_assessed", "major_race", *by), ("grade_assessed", "sex", *by),
        ("grade_assessed", "disability_status", *by)], [("grade_assessed", *by)])
        if r[0].get("disability_status") != "-"]


def scored(rng: random.Random, tested: list[tuple[dict[str, str], int]]) -> list[tuple[dict[str, str], int]]:
    """Every participant with a score, proficient or not, by the assessment administered."""
    cells = []
    for cats, k in tested:
        if cats["participation"] in ADMINISTERED:
            base = {c: v for c, v in cats.items() if c != "participation"}
            base["assessment_administered"] = ADMINISTERED[cats["participation"]]
            p = rng.randint(0, k)
            split = (("PROFICIENT", p), ("NOTPROFICIENT", k - p))
            cells += [(base | {"proficiency": prof}, n) for prof, n in split if n]
    return cells


def make_state(folder: Path, leas: int, seed: int, form: str) -> dict[str, int]:
    rng = random.Random(seed)
    recs: dict[str, list] = {c: [] for c in ("FS002", "FS089", "FS052", "FS006", "FS143", "FS185", "FS188",
                                             "FS175", "FS178")}
    for i in range(leas):
        lea = f"{i + 1:05d}"
        members = int(rng.lognormvariate(7.5, 1.0)) + 60
        ieps = members // 7
        school = children(rng, ieps * 9 // 10, {"race": RACES, "sex": SEXES, "disability": DISABILITIES,
                                                "environment": ENVIRONMENTS, "age": AGES, "english_learner": EL})
        recs["FS002"] += [(lea, *r) for r in margins(school, [
            ("race", "sex", "disability"), ("age", "disability", "environment"), ("environment", "race"),
            ("disability", "environment", "sex"), ("disability", "english_learner", "environment", "sex")],
            [("sex",), ("age",), ("disability",), ("race",), ("english_learner",), ("environment",),
             ("age", "environment"), ()])]
        early = children(rng, ieps - ieps * 9 // 10, {"race": RACES, "sex": SEXES, "ec_age": EC_AGES,
                                                      "disability": DISABILITIES, "ec_environment": EC_ENV})
        recs["FS089"] += [(lea, *r) for r in margins(early, [
            ("ec_age", "ec_environment", "disability"), ("race", "ec_environment", "disability"),
            ("ec_environment", "sex")], [("sex",), ("ec_age",), ("disability",), ("race",), ()])]
        everyone = children(rng, members, {"grade": GRADES, "race": RACES, "sex": SEXES})
        recs["FS052"] += [(lea, *r) for r in margins(everyone, [("grade", "race", "sex")],
                                                     [("grade", "race"), ("grade", "sex"), ("race", "sex"),
                                                      ("grade",), ()])]
        removed = children(rng, max(ieps // 10, 1), {"discipline_method": METHODS, "removal_length": LENGTHS,
                                                     "race": RACES, "sex": SEXES, "disability": DISABILITIES})
        recs["FS006"] += [(lea, *r) for r in margins(removed, [
            ("discipline_method", "removal_length", "disability"), ("discipline_method", "removal_length", "race"),
            ("discipline_method", "removal_length", "sex")], [("discipline_method", "removal_length")])]
        removals = children(rng, max(ieps // 5, 1), {"race": RACES, "sex": SEXES, "disability": DISABILITIES,
                                                     "english_learner": EL})
        recs["FS143"] += [(lea, *r) for r in margins(removals, [("disability",), ("race",), ("sex",),
                                                                 ("english_learner",)], [()])]
        for code, scores in (("FS185", "FS175"), ("FS188", "FS178")):
            tested = children(rng, members * 7 // 13, {"grade_assessed": TESTED, "major_race": MAJOR, "sex": SEXES,
                                                       "disability_status": ("WDIS", "-"), "participation": STATUS})
            recs[code] += sets_of(lea, tested, "participation")
            recs[scores] += sets_of(lea, scored(rng, tested), "assessment_administered", "proficiency")
    ext = "txt" if form == "fixed" else "csv"
    return {code: write(folder / f"{code}.{ext}", code, r, form) for code, r in recs.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leas", type=int, default=1000)
    ap.add_argument("--form", choices=("fixed", "csv"), default="fixed")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/sedet-bench"))
    ap.add_argument("--results", type=Path, default=Path(__file__).with_name("results.jsonl"))
    a = ap.parse_args()
    folder = a.work / f"edfacts-l{a.leas}-{a.form}-seed{a.seed}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    records = make_state(folder, a.leas, a.seed, a.form)
    made = time.perf_counter() - t0
    sedet = shutil.which("sedet") or sys.exit("sedet is not installed in this environment")
    runs = []
    for k in range(a.repeat):
        out = a.work / f"edfacts-out-{k}"
        shutil.rmtree(out, ignore_errors=True)
        runs.append(timed([sedet, "import", "edfacts", *sorted(map(str, folder.glob("FS*"))), "--out", str(out),
                           "--quiet"]))
    walls = [w for w, _ in runs]
    peaks = [p for _, p in runs if p is not None]
    result = {"bench": "edfacts_import", "date": date.today().isoformat(), "machine": platform.machine(),
              "leas": a.leas, "form": a.form, "records": records, "bytes": sum(p.stat().st_size for p in
                                                                             folder.glob("FS*")),
              "generated_s": round(made, 1), "wall_s": [round(w, 2) for w in walls],
              "median_s": round(statistics.median(walls), 2),
              "peak_gb": round(statistics.median(peaks), 2) if peaks else None}
    print(json.dumps(result))
    with open(a.results, "a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
