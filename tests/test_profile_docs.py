"""docs/profiles.md is written from the profile models, and profiles describe themselves when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from sedet.errors import ProfileError
from sedet.profile import load_profile, section_keys
from sedet.profile_docs import missing_examples, render, sections

ROOT = Path(__file__).resolve().parent.parent

HEAD = """[profile]
id = "t"
title = "t"
state = "XX"
ffy = 2022
source = "a test"
"""


def test_profiles_md_is_current():
    assert (ROOT / "docs" / "profiles.md").read_text(encoding="utf-8") == render(), (
        "docs/profiles.md is out of date: python -m sedet.profile_docs > docs/profiles.md"
    )


def test_every_key_has_an_example():
    assert missing_examples() == []


def test_every_section_and_new_key_is_documented():
    titles = {s.title for s in sections()}
    for t in ("[profile]", "[measures.compliance]", "[[measures.compliance.facts]]", "[[factors]]",
              "[[factors.points]]", "[[groups]]", "[determination]", "[determination.score]",
              "[[determination.categories]]", "[[determination.conditions]]",
              "[determination.conditions.consecutive]", "[reporting]"):
        assert t in titles, t
    text = render()
    for key in ("may_be_missing", "value_of", "min_score", "`op`", "`over`", "is_missing", "lacks_flag"):
        assert key in text, key


def write(tmp_path: Path, body: str) -> str:
    p = tmp_path / "p.toml"
    p.write_text(HEAD + body, encoding="utf-8")
    return str(p)


def test_an_unknown_key_lists_the_keys_of_its_section(tmp_path):
    body = """
[measures.compliance]
source = "s"
facts = ["findings"]

[[factors]]
id = "F"
title = "t"
measure = "compliance_fact"
score = "value"
max_points = 4

[determination]
method = "cut_points"
categories = [{ label = "A", short = "A", min_percentage = 50 }, { label = "B", short = "B" }]
conditions = [{ id = "c", reason = "r", fact = "findings", value_at_mots = 1, action = "force", to = "B" }]
"""
    with pytest.raises(ProfileError) as e:
        load_profile(write(tmp_path, body))
    msg = str(e.value)
    assert "determination.conditions[0].value_at_mots: unknown key" in msg
    assert "the keys of this section: id, reason, measure, fact, where, consecutive, test, value, over," in msg
    assert "value_at_most" in msg


def test_section_keys_follow_lists_unions_and_tables():
    assert "value_of" in section_keys(("factors", 0))
    assert section_keys(("measures", "compliance", "facts", 1)) == [
        "name", "type", "values", "may_be_missing", "min", "max", "title"]
    assert "min_score" in section_keys(("determination", "categories", 2))
    assert "assessment" in section_keys(("measures",))


def test_codes_for_a_column_without_codes_is_refused(tmp_path):
    body = """
[codes.met_minimum_performance_goal]
"Y" = "yes"

[measures.compliance]
source = "s"
facts = [{ name = "met_minimum_performance_goal", type = "yes_no" }]
"""
    with pytest.raises(ProfileError) as e:
        load_profile(write(tmp_path, body))
    assert "[codes.met_minimum_performance_goal]" in str(e.value)
    assert "race_ethnicity" in (e.value.hint or "")


def test_codes_of_a_code_fact_are_accepted(tmp_path):
    body = """
[codes."fact.monitoring"]
"D" = "DONE"

[measures.compliance]
source = "s"
facts = [{ name = "monitoring", type = "code", values = ["done", "open"] }]
"""
    prof = load_profile(write(tmp_path, body))
    assert prof.model.codes == {"fact.monitoring": {"D": "DONE"}}
