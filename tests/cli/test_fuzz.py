"""Fuzzing the reader (issue 17): hypothesis writes a table as CSV, XLSX or Parquet with hostile bytes,
shapes and values, and a whole determination runs on it (read, measures, categories, every output
file with --per-district). It must end in results or in problems that each name their file and say
what was expected and what was found: never another exception (the CLI's exit 70), never a signal.

The bundle is one table, compliance, read by the composite-0-4 profile (typed facts: numbers that
may be missing, a yes/no). `SEDET_FUZZ_EXAMPLES` sets the examples per format (default 60 CSV, 25
XLSX, 25 Parquet); CI runs the default.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import openpyxl
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sedet.errors import BundleError, SedetError
from sedet.pipeline import run
from sedet.profile import load_profile
from sedet.report.writer import write_outputs

EXAMPLES = int(os.environ.get("SEDET_FUZZ_EXAMPLES", "0"))
HEADER = ["school_year", "district_id", "component_a", "component_b", "met_minimum_performance_goal"]
PROFILE = load_profile("composite-0-4")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

# Hostile cells: values of the right kind, of the wrong kind, at the edges, and bytes that break files.
cells = st.one_of(
    st.sampled_from(["2023", "2022", "1989", "2101", "", " ", "0", "4", "4.0001", "-0", "nan", "inf", "-inf",
                     "1e308", "9007199254740993", "yes", "no", "TRUE", "n", "maybe", "=1+1", "+1", "-1", "@x",
                     "D1", "D2", "d1", " D1 ", "\ufeffD3", '"', '""', "a,b", "line\nbreak", "cr\rcr", "\x00",
                     "\x1b[31m", "é", "\u202e", "𝔘", "L" * 70, "W" * 33_000]),
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=7), min_size=0, max_size=12)
headers = st.one_of(
    st.just(HEADER),
    st.permutations(HEADER).map(list),
    st.lists(st.sampled_from([*HEADER, "", "x", "School Year", "district_id", "\x00"]), min_size=0, max_size=7),
)


def _examples(default: int) -> int:
    return EXAMPLES or default


def _csv_bytes(header: list[str], body: list[list[str]], newline: str, quote_all: bool, bom: bool) -> bytes:
    def field(v: str) -> str:
        if quote_all or any(ch in v for ch in ',"\n\r'):
            return '"' + v.replace('"', '""') + '"'
        return v

    text = newline.join(",".join(field(v) for v in row) for row in [header, *body]) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", errors="surrogatepass")


def check_run(folder: Path, tmp: Path) -> None:
    """A run on the bundle ends in results written, or in located problems."""
    out = tmp / "out"
    shutil.rmtree(out, ignore_errors=True)
    try:
        result = run(folder, PROFILE)
    except BundleError as e:
        assert e.problems, "a rejection names at least one problem"
        for p in e.problems:
            assert p.file, p
            assert p.expected and p.found, p
            assert not CONTROL.search(str(p)), f"a control character would reach the terminal: {p!r}"
        return
    except SedetError as e:
        assert e.message and not CONTROL.search(e.message), e.message
        return
    out.mkdir()
    write_outputs(result, out, {}, per_district=True)
    assert (out / "determinations.csv").exists()


def _bundle(tmp_path_factory, name: str) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp(name)
    folder = base / "bundle"
    folder.mkdir()
    return base, folder


@settings(max_examples=_examples(60), deadline=None, suppress_health_check=list(HealthCheck))
@given(header=headers, body=rows, newline=st.sampled_from(["\n", "\r\n", "\r"]), quote_all=st.booleans(),
       bom=st.booleans(), raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_fuzz_csv(tmp_path_factory, header, body, newline, quote_all, bom, raw):
    base, folder = _bundle(tmp_path_factory, "csv")
    data = raw if raw is not None else _csv_bytes(header, body, newline, quote_all, bom)
    (folder / "compliance.csv").write_bytes(data)
    check_run(folder, base)


@settings(max_examples=_examples(25), deadline=None, suppress_health_check=list(HealthCheck))
@given(header=headers, body=rows, far=st.one_of(st.none(), st.sampled_from(["XFD1048576", "A1048576", "ZZ9"])),
       hidden=st.booleans(), corrupt=st.one_of(st.none(), st.integers(min_value=0, max_value=4000)))
def test_fuzz_xlsx(tmp_path_factory, header, body, far, hidden, corrupt):
    base, folder = _bundle(tmp_path_factory, "xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "compliance"
    for row in [header, *body]:
        ws.append([CONTROL.sub("", v)[:32_000] for v in row])  # openpyxl itself refuses these
    if far:
        ws[far] = "x"
    if hidden:
        junk = wb.create_sheet("junk", 0)
        junk.append(["nothing"])
        junk.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    data = bytearray(buf.getvalue())
    if corrupt is not None and corrupt < len(data):
        data[corrupt] ^= 0xFF  # one byte flipped: a corrupt archive, or a corrupt part
    (folder / "compliance.xlsx").write_bytes(bytes(data))
    check_run(folder, base)


parquet_columns = st.dictionaries(
    st.sampled_from([*HEADER, "extra", "count"]),
    st.sampled_from(["str", "int", "float", "bool", "list", "struct", "date", "null", "binary", "huge"]),
    min_size=0, max_size=7,
)


@settings(max_examples=_examples(25), deadline=None, suppress_health_check=list(HealthCheck))
@given(columns=parquet_columns, n=st.integers(min_value=0, max_value=5), truncate=st.booleans())
def test_fuzz_parquet(tmp_path_factory, columns, n, truncate):
    base, folder = _bundle(tmp_path_factory, "parquet")
    values = {
        "str": pl.Series(["D1", "", "\x00", "2023", "yes"][:n] + ["x"] * max(0, n - 5), dtype=pl.String),
        "int": pl.Series([2023, -1, 0, 4, 10**12][:n], dtype=pl.Int64),
        "float": pl.Series([2.0, float("nan"), float("inf"), -0.0, 1e300][:n], dtype=pl.Float64),
        "bool": pl.Series([True, False, None, True, False][:n], dtype=pl.Boolean),
        "list": pl.Series([[1], [], None, [2, 3], [4]][:n], dtype=pl.List(pl.Int64)),
        "struct": pl.Series([{"a": 1}] * n, dtype=pl.Struct({"a": pl.Int64})),
        "date": pl.Series([None] * n, dtype=pl.Date),
        "null": pl.Series([None] * n, dtype=pl.Null),
        "binary": pl.Series([b"\x00\xff"] * n, dtype=pl.Binary),
        "huge": pl.Series([2**62] * n, dtype=pl.Int64),
    }
    frame = pl.DataFrame({name: values[kind] for name, kind in columns.items()}) if columns else pl.DataFrame()
    path = folder / "compliance.parquet"
    frame.write_parquet(path)
    if truncate:
        path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])
    check_run(folder, base)
