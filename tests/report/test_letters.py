"""The determination letters (issue 18, item 1): one PDF per LEA, read back with pypdf.

The run is conftest's small one, worked by hand (conftest.EXPECTED), with names and override reasons that
try to break out of the template: typst and Jinja markup, a LaTeX command, a formula, a file read and a
30,000-character name. Every expected text below comes from this input, with its arithmetic beside it.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader

from sedet.errors import EXIT_USAGE, ProfileError
from sedet.pipeline import run
from sedet.profile import load_profile
from sedet.report import letters as letters_module
from sedet.report.district import safe_name
from sedet.report.letters import LONG, SHORT, category, cut, date_text, split_reasons, write_letters

from .conftest import EVALUATIONS, TINY_PROFILE, TRANSITION

LETTERS = """
[letters]
source = "tests/report: an invented state's letters"
date_of_issue = 2012-06-28
addressee = "Superintendent of Schools"

[letters.letterhead]
agency = "Tinystate Department of Education"
office = "Office of Special Education"
address = ["1 Main Street", "Tinytown, TS 00001"]

[letters.signatory]
name = "Pat Example"
title = "State Director of Special Education"

[letters.contact]
name = "Determinations team"
email = "determinations@tiny.example"
phone = "(555) 555-0100"

[letters.categories.NS]
requires = ["Send the state an improvement plan", "Meet the monitoring team"]
response_due_days = 30

[letters.categories.NIMP]
requires = ["Attend the intervention meeting"]
response_due = 2012-08-15
"""

LONG_NAME = "L" * 30_000
NAMES = {
    "001": '#read("/etc/passwd")',
    "002": "{{ 7*7 }} $x^2$ *bold* <tag> @ref",
    "003": "\\end{document} =cmd",
    "004": LONG_NAME,
}
OVERRIDE_004 = '=cmd #read("/etc/passwd") {{ 7*7 }} \\end{document}'  # Meets by the cut -> Needs Support
OVERRIDE_003 = "R" * 30_000  # Needs Improvement by the cut -> Needs Support

# Per LEA (conftest.EXPECTED): the category label, and each factor's value as the letter prints it (one
# decimal, from display_decimals = 1). T1 then T2.
#   001: T1 2/2 = 100.0%, T2 2/2 = 100.0%: 4/4 = 100%          -> Meets
#   002: T1 3/4 = 75.0%,  T2 2/2 = 100.0%: 3/4 = 75%           -> Needs Support
#   003: T1 1/2 = 50.0%,  T2 1/2 = 50.0%:  0/4 = 0%            -> Needs Improvement, overridden to Needs Support
#   004: T1 1/1 = 100.0%, T2 not applicable (no youth 16+): 2/2 -> Meets, overridden to Needs Support
# The state: T1 7/9 = 77.8%, T2 5/6 = 83.3%.
EXPECTED = {
    "001": ("Meets", None, ["100.0%", "100.0%"]),
    "002": ("Needs Support", None, ["75.0%", "100.0%"]),
    "003": ("Needs Support", "Needs Improvement", ["50.0%", "50.0%"]),
    "004": ("Needs Support", "Meets", ["100.0%"]),
}
STATE = ["77.8%", "83.3%"]


def csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_case(root: Path, letters: str = LETTERS) -> tuple[Path, Path]:
    """The bundle and the profile of this file's run, written under `root`."""
    bundle = root / "bundle"
    bundle.mkdir(parents=True)
    (bundle / "evaluations.csv").write_text(EVALUATIONS, encoding="utf-8")
    (bundle / "transition.csv").write_text(TRANSITION, encoding="utf-8")
    (bundle / "districts.csv").write_text(
        "district_id,district_name\n" + "".join(f"{d},{csv_field(n)}\n" for d, n in NAMES.items()), encoding="utf-8")
    (bundle / "overrides.csv").write_text(
        "district_id,category,reason\n"
        f"003,Needs Support,{csv_field(OVERRIDE_003)}\n004,Needs Support,{csv_field(OVERRIDE_004)}\n",
        encoding="utf-8")
    profile = root / "profile" / "tiny.toml"
    profile.parent.mkdir()
    profile.write_text(TINY_PROFILE + letters, encoding="utf-8")
    return bundle, profile


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    bundle, profile = write_case(tmp_path_factory.mktemp("letters"))
    return run(bundle, load_profile(str(profile))), profile


@pytest.fixture(scope="module")
def letters(case, tmp_path_factory) -> dict[str, Path]:
    result, _ = case
    out = tmp_path_factory.mktemp("letters_out")
    return {p.stem: p for p in write_letters(result, out)}


FOOTER = re.compile(r"IDEA Part B determination, school year \d{4}-\d\d\s*Page \d+ of \d+")


def pdf_text(path: Path) -> str:
    """The letter's text without the page footers, its whitespace (line and page breaks) made single spaces."""
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return " ".join(" ".join(FOOTER.sub(" ", page.extract_text()).split()) for page in reader.pages)


def lines(path: Path) -> list[str]:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return [line for page in reader.pages for line in page.extract_text().splitlines()]


# ---------------------------------------------------------------------------------------------------
# What a letter says


def test_one_letter_per_lea_sorted_by_id(case, tmp_path):
    result, _ = case
    calls = []
    paths = write_letters(result, tmp_path, on_letter=lambda: calls.append(1))
    assert [p.name for p in paths] == [f"{safe_name(d)}.pdf" for d in sorted(NAMES)]
    assert all(p.parent == tmp_path / "letters" for p in paths)
    assert len(calls) == 4  # once per letter


@pytest.mark.parametrize("district", ["001", "002", "003"])
def test_letter_names_the_district_category_and_each_factor(letters, district):
    text = pdf_text(letters[district])
    label, computed, values = EXPECTED[district]
    assert NAMES[district] in text  # printed as written
    assert f"District ID: {district}" in text
    assert f"Your determination for school year 2011-12 {label}" in text  # the box: the category first
    for value in values:
        assert value in text
    assert text.count(values[0]) >= values.count(values[0])
    for state in STATE:
        assert state in text
    if computed is None:
        assert "How the category was set" not in text
    else:
        assert f"The method’s result was {computed}; your determination is {label}." in text


def test_factor_rows_in_words(letters):
    text = pdf_text(letters["002"])
    # T1: 75.0% earns 1 of 2 (>= 75% -> 1 point); T2: 100.0% earns 2 of 2
    assert "Timely initial evaluation" in text and "Secondary transition" in text
    assert "1 of 2" in text and "2 of 2" in text
    assert "misses the target (95.0% or more); 75.0% or more earns 1" in text
    assert "meets the target (95.0% or more)" in text
    assert "not_met" not in text and "below_min_n" not in text  # words, not codes
    # 004's T2 has no youth aged 16 or more: not applicable, and why in words
    t4 = pdf_text(letters["004"])
    assert "not applicable (no data reported): the factor does not count" in t4


def test_the_override_with_the_computed_category_beside_the_final_one(letters):
    text = pdf_text(letters["004"])
    assert "The method’s result was Meets; your determination is Needs Support." in text
    assert f"The reason it gives: {OVERRIDE_004}" in text  # hostile markup printed as written


def test_the_profile_letter_text(letters):
    text = pdf_text(letters["002"])  # Needs Support
    assert "Tinystate Department of Education" in text
    assert "1 Main Street Tinytown, TS 00001" in text
    assert "Date of issue: June 28, 2012" in text
    assert "Dear Superintendent of Schools:" in text
    assert "Send the state an improvement plan" in text and "Meet the monitoring team" in text
    # 30 days after June 28, 2012: June 30 (2 days), then July 28 (28 days)
    assert "Your response is due by July 28, 2012 (30 days after the date of issue)." in text
    assert "determinations@tiny.example" in text and "(555) 555-0100" in text
    assert "Pat Example State Director of Special Education" in text
    assert "Preliminary: this is not the final determination." in text  # run_type = "preliminary"
    t1 = pdf_text(letters["001"])  # Meets: the profile lists no steps, no response
    assert "This letter sets out no further steps for this category." in t1
    assert "Your response is due" not in t1


def test_summary_figures(letters):
    # 002: 3 of 4 points = 75.0%; a cut-point method: no rank shown
    text = pdf_text(letters["002"])
    assert "Determination percentage 75.0%" in text
    assert "Points earned 3 of 4 possible" in text
    assert "Rank" not in text


# ---------------------------------------------------------------------------------------------------
# Values are data, never markup


def test_no_value_is_read_as_markup_nor_reads_a_file(letters):
    texts = {d: pdf_text(p) for d, p in letters.items()}
    assert NAMES["001"] in texts["001"]
    assert NAMES["002"] in texts["002"]  # {{ 7*7 }} stays; $x^2$, *bold*, <tag> and @ref are text
    assert NAMES["003"] in texts["003"]
    for d, text in texts.items():
        assert "root:" not in text, d  # /etc/passwd was not read
        assert "{{ 49 }}" not in text and "x2" not in text.replace(" ", ""), d


def test_a_long_value_is_cut_with_a_mark(letters):
    flat4 = "".join(pdf_text(letters["004"]).split())
    assert "L" * SHORT + "…[cut:30,000characters]" in flat4  # the name: a one-line value
    assert "L" * (SHORT + 1) not in flat4
    flat3 = "".join(pdf_text(letters["003"]).split())
    assert "R" * LONG + "…[cut:30,000characters]" in flat3  # the override reason: a paragraph
    assert "R" * (LONG + 1) not in flat3


@pytest.mark.parametrize("district", sorted(NAMES))
def test_nothing_runs_off_the_page(letters, district):
    # A US Letter line at 10-11 pt holds about 100 characters: a longer line is text past the margin.
    assert max(len(line) for line in lines(letters[district])) <= 110


# ---------------------------------------------------------------------------------------------------
# Same input, same bytes


def test_same_input_same_bytes(case, tmp_path):
    result, _ = case
    first = write_letters(result, tmp_path / "a")
    second = write_letters(result, tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert b"CreationDate" not in first[0].read_bytes() and b"ModDate" not in first[0].read_bytes()


# ---------------------------------------------------------------------------------------------------
# A state's own template


def own_template(tmp_path: Path, body: str) -> Path:
    """A profile whose letters use the template folder `letters/` beside it, holding `body`."""
    bundle, profile = write_case(tmp_path, LETTERS.replace("[letters]\n", '[letters]\ntemplate = "letters/"\n', 1))
    (profile.parent / "letters").mkdir()
    (profile.parent / "letters" / "letter.typ").write_text(body, encoding="utf-8")
    return bundle, profile


def test_a_profile_names_its_own_template(tmp_path):
    bundle, profile = own_template(tmp_path, '#let d = json(bytes(sys.inputs.data))\n#set document(date: none)\n'
                                             'Our own letter to #d.district.name: #d.category.label\n')
    paths = write_letters(run(bundle, load_profile(str(profile))), tmp_path / "out")
    text = pdf_text(paths[1])  # 002
    assert f"Our own letter to {NAMES['002']}: Needs Support" in text


def test_a_broken_template_names_its_file_and_line_and_writes_nothing(tmp_path):
    body = '#let d = json(bytes(sys.inputs.data))\n\n#d.district.nmae\n'  # line 3: a misspelt field
    bundle, profile = own_template(tmp_path, body)
    result = run(bundle, load_profile(str(profile)))
    with pytest.raises(ProfileError) as e:
        write_letters(result, tmp_path / "out")
    template = (profile.parent / "letters" / "letter.typ").resolve()
    assert re.match(rf"letter template {re.escape(str(template))}, line 3, column \d+: ", str(e.value))
    assert 'does not contain key "nmae"' in str(e.value)
    assert e.value.exit_code == EXIT_USAGE == 2
    assert not list((tmp_path / "out").rglob("*.pdf"))


def test_a_template_reads_no_file_outside_its_folder(tmp_path):
    bundle, profile = own_template(tmp_path, '#read("/etc/passwd")\n')
    with pytest.raises(ProfileError) as e:
        write_letters(run(bundle, load_profile(str(profile))), tmp_path / "out")
    assert "line 1" in str(e.value) and "file not found" in str(e.value)


@pytest.mark.parametrize("folder", ["nowhere/", "empty/"])
def test_a_missing_template_is_a_profile_error_naming_the_path(tmp_path, folder):
    _, profile = write_case(tmp_path, LETTERS.replace("[letters]\n", f'[letters]\ntemplate = "{folder}"\n', 1))
    (profile.parent / "empty").mkdir()
    with pytest.raises(ProfileError) as e:
        load_profile(str(profile))
    assert str(profile.parent / folder.rstrip("/")) in str(e.value)
    assert e.value.exit_code == EXIT_USAGE


# ---------------------------------------------------------------------------------------------------
# The [letters] section is read strictly


@pytest.mark.parametrize(("letters", "says"), [
    ("\n[letters.categories.XX]\nrequires = []\n", "'XX' is not the short name of a category"),
    ("\n[letters.categories.M]\nresponse_due = 2012-08-01\nresponse_due_days = 5\n", "not both"),
    ("\n[letters]\nsignature = \"x\"\n", "letters.signature: unknown key"),
    ("\n[letters]\ndate_of_issue = \"June 28\"\n", "letters.date_of_issue"),
])
def test_the_letters_section_is_checked(tmp_path, letters, says):
    _, profile = write_case(tmp_path, letters)
    with pytest.raises(ProfileError) as e:
        load_profile(str(profile))
    assert says in str(e.value)


def test_shipped_profiles_with_a_determination_have_letters_to_confirm():
    for name in ("nj-ffy2022", "ma-2012", "az-cut-points", "osep-rda", "osep-state-rda", "composite-0-4",
                 "points-improvement-escalation"):
        prof = load_profile(name)
        assert prof.model.letters is not None, name
        text = prof.path.read_text(encoding="utf-8")
        assert "DEFAULT TO CONFIRM" in text[text.index("# The determination letters"):], name
        assert prof.model.letters.date_of_issue is None, name  # never a date nobody set


# ---------------------------------------------------------------------------------------------------
# The pieces, by hand


def test_school_year_and_dates():
    assert date_text(date(2023, 6, 28)) == "June 28, 2023"


def test_cut():
    assert cut("abc", 3) == "abc"
    assert cut("abcd", 3) == "abc… [cut: 4 characters]"


def test_split_reasons_keeps_a_semicolon_inside_a_reason():
    text = "late-3: third year late; see plan; override: -see report; again"
    assert split_reasons(text, ["late-3", "other"]) == (["third year late; see plan"], "-see report; again")
    assert split_reasons("", ["late-3"]) == ([], None)


def test_an_lea_not_determined_says_why():
    row = {"category": None, "status": "not determined: no applicable factor"}
    assert category(row) == {"label": "Not determined", "tier": None, "determined": False,
                             "meaning": "No determination was made for the district: no applicable factor."}


def test_a_public_run_lays_out_the_factors_it_is_given(case, tmp_path):
    result, _ = case
    dets = result.determinations
    suppressed = dets.factors.with_columns(pl.lit(None, pl.Float64).alias("value"),
                                           pl.lit("no_data").alias("status"), pl.lit("n/a: no_data").alias("note"))
    path = write_letters(result, tmp_path, factors=suppressed)[1]  # 002
    text = pdf_text(path)
    # 75.0% is 002's T1 value and its determination percentage (3 of 4 points): only the second is left
    assert text.count("75.0%") == 1 and "Determination percentage 75.0%" in text
    assert text.count("not applicable (no data reported): the factor does not count") == 2  # T1 and T2


def test_a_public_release_prints_its_published_values(case, tmp_path):
    # --public lays out a factor table whose values are text: a number, or the token of a withheld one
    result, _ = case
    published = result.determinations.factors.with_columns(
        pl.when(pl.col("factor") == "T1").then(pl.lit("*")).otherwise(pl.col("value").cast(pl.String))
        .alias("value"))
    text = pdf_text(write_letters(result, tmp_path, factors=published)[1])  # 002
    # T1 75.0% withheld: "*" in its row, and 75.0% only as the determination percentage (3 of 4 points)
    assert "Timely initial evaluation *" in text
    assert text.count("75.0%") == 1 and "Determination percentage 75.0%" in text
    assert "Secondary transition 100.0% 83.3%" in text  # T2 2/2 as published ("1.0"), the state's 5/6


def test_the_factor_table_header_repeats_on_every_page_it_runs_onto(case, tmp_path):
    # 002's two factor rows, 30 times over: 60 rows run onto a second page
    result, _ = case
    rows = result.determinations.factors.filter(pl.col("district_id") == "002")
    path = write_letters(result, tmp_path, factors=pl.concat([rows] * 30))[1]
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]
    with_rows = [k for k, text in enumerate(pages) if "Timely initial evaluation" in text]
    assert len(with_rows) >= 2
    for k in with_rows:
        assert "Factor Your district State Target Points Why" in pages[k], k
        assert f"Page {k + 1} of {len(pages)}" in pages[k]  # the footer


def test_worker_processes_write_the_same_letters(case, tmp_path, monkeypatch):
    result, _ = case
    one = write_letters(result, tmp_path / "one")
    monkeypatch.setattr(letters_module, "PARALLEL_FROM", 2)  # 4 LEAs: the first here, 3 by the workers
    monkeypatch.setattr(letters_module, "CHUNK", 2)
    calls = []
    many = write_letters(result, tmp_path / "many", on_letter=lambda: calls.append(1))
    assert len(calls) == 4
    assert [p.name for p in one] == [p.name for p in many]
    for a, b in zip(one, many, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_template_failing_in_a_worker_is_a_profile_error(tmp_path, monkeypatch):
    # the first LEA (001) compiles; 003's letter fails, in a worker process
    body = ('#let d = json(bytes(sys.inputs.data))\n#set document(date: none)\n'
            '#if d.district.id == "003" { panic("no letter for 003") }\n#d.district.name\n')
    bundle, profile = own_template(tmp_path, body)
    monkeypatch.setattr(letters_module, "PARALLEL_FROM", 2)
    with pytest.raises(ProfileError) as e:
        write_letters(run(bundle, load_profile(str(profile))), tmp_path / "out")
    assert re.search(r"letter template .*letter\.typ, line 3, column \d+: panicked with: no letter for 003",
                     str(e.value))
    assert "panic" in (e.value.hint or "")  # typst's diagnostic, with the line
