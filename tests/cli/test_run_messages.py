"""What a run says while it works and when it ends: the phases and their counts (a progress bar on a
terminal only), the warning for a school year the profile was not written for, what a public release
withheld, and no always-zero "rows rejected"."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from sedet.cli import BarSteps, _progress, year_warning
from sedet.model import school_year_text
from sedet.pipeline import run
from sedet.profile import load_profile
from sedet.progress import Steps
from sedet.report.writer import write_outputs

from .conftest import csv_text

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"


def _ny_bundle(cli, year: int):
    """ny-ffy2011 (FFY 2011: school year 2011-12, spring year 2012) on one district's rows of `year`."""
    rows = [f"{year},00123,ELA,4,true,true,3", f"{year},00123,MATH,5,true,true,2ON"]
    return cli.assessments(*rows, name=f"b{year}", districts_csv=csv_text("district_id,district_name", "00123,Albany"))


# ---------------------------------------------------------------------------------------------------
# the profile's year


def test_school_year_text():
    assert school_year_text(2023) == "2022-23"
    assert school_year_text(2000) == "1999-00"


def test_the_profiles_own_year_gives_no_warning(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("determine", _ny_bundle(cli, 2012), "--profile", "ny-ffy2011", "--out", out, "--quiet", code=0)
    assert "warning" not in r.stderr
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["run"]["warnings"] == []


def test_another_year_warns_once_also_under_quiet(cli, tmp_path):
    """FFY 2011 is 2011-12; a bundle of 2012-13 runs (a state may mean it) but says so, once, on stderr
    and in the manifest."""
    out = tmp_path / "out"
    r = cli("determine", _ny_bundle(cli, 2013), "--profile", "ny-ffy2011", "--out", out, "--quiet", code=0)
    assert r.stderr.count("warning") == 1, r.stderr
    assert "FFY 2011 (school year 2011-12)" in r.stderr and "2012-13 (--year 2013)" in r.stderr
    warnings = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["run"]["warnings"]
    assert len(warnings) == 1 and "FFY 2011" in warnings[0]
    assert year_warning(2022, "nj-ffy2022", 2023) is None


def test_the_readme_run_matches_its_profile():
    """The README runs nj-ffy2022 (FFY 2022, spring year 2023) on sample_data: its latest year is 2023."""
    prof = load_profile("nj-ffy2022")
    assert prof.model.profile.ffy == 2022
    years = sorted({int(line.split(",", 1)[0]) for line in
                    (SAMPLE / "enrollment.csv").read_text(encoding="utf-8").splitlines()[1:]})
    assert years[-1] == 2023


# ---------------------------------------------------------------------------------------------------
# phases and counts


class Recorded(Steps):
    """Every phase with its total and the items counted in it."""

    def __init__(self):
        self.phases: list[list] = []  # [description, total, counted]

    def phase(self, what, total=None):
        self.phases.append([what, total, 0])

    def advance(self, n=1, what=None):
        self.phases[-1][2] += n


def test_each_phase_is_named_for_what_it_does_and_counts_its_items(tmp_path):
    """sample_data: 9 table files, nj-ffy2022's 6 measure families, 30 LEAs (30 workbooks, 30 letters).
    Each counted phase counts exactly its total, in the order the work is done."""
    steps = Recorded()
    result = run(SAMPLE, load_profile("nj-ffy2022"), steps=steps)
    out = tmp_path / "out"
    out.mkdir()
    write_outputs(result, out, {}, per_district=True, public=True, letters=True, steps=steps)
    names = [p[0] for p in steps.phases]
    assert names[0] == "reading the bundle"
    assert names[1] == "placing the LEAs in the earlier school years held (2022)"  # the prior year, for its category
    assert names[2] == "computing the measures of school year 2023"
    assert names[3] == "scoring the factors and placing the LEAs"
    assert names[4] == "checking the row lengths of the CSV files"
    assert names[5] == "withholding small cells for the public release"
    assert names[6].startswith("writing determinations.xlsx")
    assert names[7] == "writing the district workbooks"
    assert names[8] == "writing the letters"
    assert names[-1] == "auditing the public files for what they disclose"
    tables = len([p for p in SAMPLE.iterdir() if p.suffix == ".csv"])
    assert steps.phases[0][1:] == [tables, tables]
    assert steps.phases[2][1:] == [6, 6]
    assert steps.phases[7][1:] == [30, 30]
    assert steps.phases[8][1:] == [30, 30]


def test_the_bar_shows_the_count_on_a_terminal():
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    from rich.progress import BarColumn, Progress, TextColumn

    from sedet.cli import _Count

    progress = Progress(TextColumn("{task.description}"), BarColumn(), _Count(), console=console)
    with progress:
        steps = BarSteps(progress)
        steps.phase("writing the district workbooks", 300)
        steps.advance(12)
        progress.refresh()
    text = console.file.getvalue()
    assert "writing the district workbooks" in text and "12/300" in text


def test_no_progress_without_a_terminal_or_with_quiet(cli, tmp_path):
    assert _progress(quiet=True) is None
    r = cli("determine", _ny_bundle(cli, 2012), "--profile", "ny-ffy2011", "--out", tmp_path / "out", code=0)
    assert "reading the bundle" not in r.stderr and "computing the measures" not in r.stderr


# ---------------------------------------------------------------------------------------------------
# the closing summary


def test_summary_says_what_the_public_release_withheld(cli, tmp_path):
    """The numbers are the manifest's own counts, in the full summary and in the --quiet line."""
    out = tmp_path / "out"
    r = cli("determine", SAMPLE, "--profile", "nj-ffy2022", "--out", out, "--public", code=0)
    release = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["public_release"]
    m = release["measures"]
    assert m["cells_withheld_total"] > 0
    said = f"{m['cells_withheld_total']:,} cells of {m['rows']:,} measures rows withheld"
    assert said in r.stdout
    q = cli("determine", SAMPLE, "--profile", "nj-ffy2022", "--out", out, "--public", "--quiet", code=0)
    assert said in q.stdout
    plain = cli("determine", SAMPLE, "--profile", "nj-ffy2022", "--out", out, "--quiet", code=0)
    assert "public release" not in plain.stdout


def test_no_rows_rejected_column(cli, tmp_path):
    """A bundle with a bad row is refused as a whole: a finished run rejected no row, so it does not
    print a column of zeros, nor write one into the manifest."""
    out = tmp_path / "out"
    r = cli("determine", _ny_bundle(cli, 2012), "--profile", "ny-ffy2011", "--out", out, code=0)
    assert "rows rejected" not in r.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert all("rows_rejected" not in i for i in manifest["inputs"])
