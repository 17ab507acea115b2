"""Shared fixtures for the CLI tests: a runner, tiny bundles written by hand, and output parsers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sedet import cli as cli_module
from sedet.cli import app
from sedet.profile import available_profiles

# The smallest valid NY bundle: assessments with its required columns (plus performance_level).
ASSESSMENT_HEADER = "school_year,district_id,subject,grade,iep,participated,performance_level"
GOOD_ROW = "2012,00123,ELA,4,true,true,3"


def csv_text(header: str, *rows: str) -> str:
    return "\n".join((header, *rows)) + "\n"


class Cli:
    """Invoke `sedet` in-process and check what every invocation must satisfy."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = None):
        result = self.runner.invoke(app, [str(a) for a in args])
        # A user's mistake never ends in a traceback: any exception other than the exit is a bug.
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"sedet {' '.join(map(str, args))} raised {result.exception!r}\n{result.output}"
        )
        assert "Traceback" not in result.output
        if code is not None:
            assert result.exit_code == code, f"exit {result.exit_code}, expected {code}\n{result.output}"
        return result

    # ---- bundles ----------------------------------------------------------------------------------

    def bundle(self, name: str = "bundle", **tables: str | bytes) -> Path:
        """A folder with one file per table; keys are file names without dots replaced: `assessments_csv`."""
        folder = self.tmp_path / name
        folder.mkdir()
        for key, content in tables.items():
            stem, _, ext = key.rpartition("_")
            path = folder / f"{stem}.{ext}"
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_bytes(content.encode("utf-8"))
        return folder

    def assessments(
        self, *rows: str, header: str = ASSESSMENT_HEADER, name: str = "bundle", **more: str | bytes
    ) -> Path:
        return self.bundle(name, assessments_csv=csv_text(header, *rows), **more)

    # ---- runs -------------------------------------------------------------------------------------

    def determine_fails(self, bundle: Path, code: int = 1, *extra: str):
        """`determine` must refuse, and write nothing: no --out folder, no temporary folder beside it."""
        out = self.tmp_path / "out"
        before = sorted(p.name for p in self.tmp_path.iterdir())
        result = self("determine", bundle, "--profile", "ny-ffy2011", "--out", out, *extra, code=code)
        assert not out.exists(), "determine failed but created the --out folder"
        assert sorted(p.name for p in self.tmp_path.iterdir()) == before, "determine left files beside --out"
        assert "nothing was written" in result.stderr or code != 1
        return result

    def problems(self, bundle: Path, *extra: str, code: int = 1) -> dict:
        """`validate --json`: the parsed report."""
        result = self("validate", bundle, "--profile", "ny-ffy2011", "--json", *extra, code=code)
        return json.loads(result.stdout)


PROBLEM_LINE = re.compile(
    r"^  (?P<file>[^,]+?)(?:, sheet '(?P<sheet>[^']*)')?(?:, row (?P<row>\d+))?(?:, column '(?P<column>[^']*)')?"
    r": expected (?P<expected>.*?), found (?P<found>.*)$"
)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the Rich tables in `text`, as lists of stripped cells.

    Outside a terminal sedet prints problems one per line (`file, sheet 'S', row N, column 'C':
    expected E, found F`); those lines are parsed into the same cells as the table's:
    file, [sheet,] row, column, expected, found.
    """
    rows = []
    for line in text.splitlines():
        if line.startswith("│") and line.endswith("│"):
            rows.append([c.strip() for c in line.strip("│").split("│")])
            continue
        m = PROBLEM_LINE.match(line)
        if m:
            cells = [m["file"]] + ([m["sheet"]] if m["sheet"] is not None else [])
            cells += [m["row"] or "", m["column"] or "", m["expected"], m["found"]]
            rows.append(cells)
    return rows


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Rich sizes tables to the real terminal (or 80 columns): fix a wide width so cells never fold."""
    for console in (cli_module.err, cli_module.out):
        monkeypatch.setattr(console, "_width", 1000)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def rows():
    return table_rows


@pytest.fixture
def ny_profile_text() -> str:
    return available_profiles()["ny-ffy2011"].read_text(encoding="utf-8")
