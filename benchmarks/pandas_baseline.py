r"""A plain pandas script computing a subset of nj-ffy2022's measures, as a state office might write one:
the baseline of issue 20, item 4 (sedet's peak memory is to be at most a third of this script's).

Not part of the test suite, and not sedet: pandas is not one of sedet's dependencies
(`pip install pandas` to run it). Usage:

    python benchmarks/pandas_baseline.py BUNDLE [--year 2012]

It reads every table the subset needs with pandas' defaults (pd.read_csv, no dtypes given), as such
scripts do, and computes, for the school year and the two before it:
- the identification risk ratio of each LEA and racial/ethnic group (students with IEPs of the group
  over all its students, against the other groups of the LEA), ages 3-21;
- the risk ratio of placement inside a regular class less than 40% of the day, ages 6-21;
- the rate of students with IEPs suspended or expelled more than 10 days (Indicator 4A's rate), and
  the same for students without IEPs, per LEA;
- the alternate-assessment participation rate per LEA;
- the share of initial evaluations determined within 90 days per LEA.
It prints the number of rows of each result; benchmarks/bench_memory.py measures its peak memory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

RACES = ["AM7", "AS7", "BL7", "HI7", "PI7", "WH7", "MU7"]


def risk_ratios(num: pd.DataFrame, den: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """num, den: counts by keys + race; the ratio of each group against the other groups of the LEA."""
    t = den.merge(num, on=[*keys, "race_ethnicity"], how="left").fillna({"num": 0})
    lea = t.groupby(keys)[["num", "den"]].transform("sum")
    t["cmp_num"], t["cmp_den"] = lea["num"] - t["num"], lea["den"] - t["den"]
    t["risk"] = t["num"] / t["den"]
    t["cmp_risk"] = t["cmp_num"] / t["cmp_den"]
    t["ratio"] = t["risk"] / t["cmp_risk"]
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--year", type=int)
    a = ap.parse_args()
    enr = pd.read_csv(a.bundle / "enrollment.csv")
    year = a.year or int(enr["school_year"].max())
    window = [year - 2, year - 1, year]
    enr = enr[enr["school_year"].isin(window)]
    keys = ["school_year", "district_id"]

    ident = enr[(enr["age"].isna()) | enr["age"].between(3, 21)]
    den = ident.groupby([*keys, "race_ethnicity"])["count"].sum().rename("den").reset_index()
    num = ident[ident["iep"]].groupby([*keys, "race_ethnicity"])["count"].sum().rename("num").reset_index()
    identification = risk_ratios(num, den, keys)

    place = enr[enr["iep"] & ((enr["age"].isna()) | enr["age"].between(6, 21))]
    den = place.groupby([*keys, "race_ethnicity"])["count"].sum().rename("den").reset_index()
    num = place[place["environment"] == "RC39LT"].groupby([*keys, "race_ethnicity"])["count"].sum() \
        .rename("num").reset_index()
    placement = risk_ratios(num, den, keys)

    dis = pd.read_csv(a.bundle / "discipline.csv")
    dis = dis[(dis["school_year"] == year) & (dis["removal_type"] == "OSS") & (dis["days_removed"] > 10)]
    over = dis.groupby(["district_id", "iep"])["count"].sum().rename("num")
    now = enr[enr["school_year"] == year]
    enrolled = now.groupby(["district_id", "iep"])["count"].sum().rename("den")
    rates = pd.concat([over, enrolled], axis=1).fillna(0)
    rates["rate"] = rates["num"] / rates["den"]

    ass = pd.read_csv(a.bundle / "assessments.csv")
    ass = ass[(ass["school_year"] == year) & ass["participated"]]
    alt = ass.assign(alt=ass["assessment"] == "ALT").groupby("district_id").apply(
        lambda g: (g["alt"] * g["count"]).sum() / g["count"].sum(), include_groups=False)

    ev = pd.read_csv(a.bundle / "evaluations.csv", parse_dates=["consent_date", "determination_date"])
    ev = ev[ev["school_year"] == year]
    ev["days"] = (ev["determination_date"] - ev["consent_date"]).dt.days
    timely = ev.groupby("district_id").apply(lambda g: (g["days"] <= 90).mean(), include_groups=False)

    for name, frame in (("identification", identification), ("placement", placement), ("discipline", rates),
                        ("alternate", alt), ("timeline", timely)):
        print(name, len(frame))


if __name__ == "__main__":
    main()
