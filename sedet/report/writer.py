"""The files of a determination run: workbooks, flat files and the manifest.

Nothing here computes a figure: it lays out what the stages produced.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from sedet import __version__
from sedet.io.output import sha256_file
from sedet.model import FORMULA_START, MEASURE_COLUMNS, RunResult
from sedet.progress import SILENT, Steps
from sedet.report.statewide import extracts, write_statewide

FORMULA_TEXT = "^[" + re.escape("".join(FORMULA_START)) + "]"  # text a spreadsheet reads as a formula


def csv_safe(df: pl.DataFrame) -> pl.DataFrame:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe (OWASP CSV injection).
    One pass finds the columns that hold such text; only those are rewritten (usually none: the
    table is written as it is, without a copy of every text column)."""
    text = [name for name, dtype in df.schema.items() if dtype == pl.String]
    if not text:
        return df
    risky = df.select([pl.col(c).str.contains(FORMULA_TEXT).any() for c in text]).row(0)
    exprs = [pl.when(pl.col(c).str.contains(FORMULA_TEXT)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
             for c, r in zip(text, risky, strict=True) if r]
    return df.with_columns(exprs) if exprs else df


def write_outputs(result: RunResult, out: Path, run_options: dict, *, per_district: bool = False,
                  public: bool = False, letters: bool = False, steps: Steps = SILENT) -> list[Path]:
    """Write every output file into `out` (a fresh temporary folder); return the paths written.

    With `public`, every table is suppressed first (docs/methods.md section 11) and every file is
    laid out from the suppressed tables; the computations behind them used the full data.
    `letters`: a PDF letter per LEA (report/letters.py)."""
    if public:
        steps.phase("withholding small cells for the public release")
    measures, factors = _tables(result, public)
    hashes: dict[Path, str] = {}
    steps.phase("writing determinations.xlsx, measures.csv, measures.parquet"
                + (", determinations.csv, factors.parquet" if result.determinations is not None else ""))
    written = _flat_files_and_workbook(result, out, measures, factors, public, hashes)
    n_leas = result.determinations.table.height if result.determinations is not None else 0
    if per_district:
        from sedet.report.district import write_district_workbooks

        steps.phase("writing the district workbooks", n_leas)
        written += write_district_workbooks(result, out, measures=measures if public else None, factors=factors,
                                            on_done=steps.advance, public=public)
    if letters:
        from sedet.report.letters import write_letters

        steps.phase("writing the letters", n_leas)
        written += write_letters(result, out, factors=factors, on_letter=steps.advance, public=public)
    manifest = out / "manifest.json"
    doc = _manifest(result, run_options, written, hashes)
    if public:
        from sedet.report.audit import manifest_entry
        from sedet.report.suppress import public_manifest

        steps.phase("auditing the public files for what they disclose")
        doc = public_manifest(doc, result.profile.reporting, measures=measures, factors=factors)
        # the disclosure audit of what was laid out (counts only; "not run: ..." without scipy)
        doc["public_release"]["disclosure_audit"] = manifest_entry(result, measures, factors)
    manifest.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    written.append(manifest)
    return written


def _tables(result: RunResult, public: bool) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The measure rows with district names, and the factor rows: suppressed for a public release."""
    names = dict(result.district_names)
    measures = result.measures.with_columns(
        pl.col("district_id").replace_strict(names, default=None, return_dtype=pl.String).alias("district_name")
    ).select(["school_year", "district_id", "district_name", *MEASURE_COLUMNS[2:]])
    factors = result.determinations.factors if result.determinations is not None else None
    if not public:
        return measures, factors
    from sedet.report.suppress import scoring_of, suppress_factors, suppress_measures

    rp, infos = result.profile.reporting, result.measure_info
    # what the published points say of each LEA's values: the suppression protects rates at 0% and 100%
    # against it (suppress.py rule 3c)
    scoring = scoring_of(factors, result.profile.parameters) if factors is not None else None
    if factors is not None:
        factors = suppress_factors(factors, rp, measures=result.measures, infos=infos, scoring=scoring)
    return suppress_measures(measures, rp, infos, scoring=scoring), factors


def _flat_files_and_workbook(result: RunResult, out: Path, measures: pl.DataFrame, factors: pl.DataFrame | None,
                             public: bool, hashes: dict[Path, str]) -> list[Path]:
    """The flat files and determinations.xlsx. polars writes the flat files outside the GIL, in two
    threads beside the workbook (openpyxl, Python-bound); each thread also fingerprints what it
    wrote, for the manifest (`hashes`)."""

    def write(path: Path, frame: pl.DataFrame) -> None:
        if path.suffix == ".csv":
            csv_safe(frame).write_csv(path)
        else:
            # zstd level 1: a fifth less CPU than polars' default level for a file 3% larger
            frame.write_parquet(path, statistics=False, compression="zstd", compression_level=1)
        hashes[path] = sha256_file(path)

    def write_all(files: list[tuple[Path, pl.DataFrame]]) -> None:
        for path, frame in files:
            write(path, frame)

    flat = [(out / "measures.parquet", measures), (out / "measures.csv", measures)]  # in manifest order
    if result.determinations is not None and factors is not None:
        flat += [(out / "determinations.csv", result.determinations.table), (out / "factors.parquet", factors)]
    taken = extracts(result, measures)  # before the flat files take polars' threads
    xlsx = out / "determinations.xlsx"
    with ThreadPoolExecutor(max_workers=2) as pool:
        # the large CSV alone in one thread, the rest in the other
        jobs = [pool.submit(write, *flat[1]), pool.submit(write_all, flat[:1] + flat[2:])]
        write_statewide(result, measures, xlsx, factors=factors, public=public, taken=taken)
        for job in jobs:
            job.result()
    return [*(p for p, _ in flat), xlsx]


def _manifest(result: RunResult, run_options: dict, written: list[Path], hashes: dict[Path, str]) -> dict:
    """`hashes`: SHA-256 of output files already computed."""
    p = result.profile
    return {
        "tool": "sedet",
        "version": __version__,
        "profile": {"id": p.id, "file": p.file, "sha256": p.sha256, "run_type": p.run_type},
        "school_year": result.year,
        "years_in_bundle": result.years,
        "run": run_options,
        "inputs": [
            {
                "table": t.table,
                "file": t.file,
                "sheet": t.sheet,
                "sha256": result.fingerprints[t.file],
                "rows_read": t.rows_read,
                "columns_ignored": list(t.columns_ignored),
                "columns_not_read": list(t.columns_not_read),
            }
            for t in result.inputs
        ],
        "measure_rows": result.measures.height,
        "outputs": [{"file": f.relative_to(written[0].parent).as_posix(), "sha256": hashes.get(f) or sha256_file(f)}
                    for f in written],
    }

