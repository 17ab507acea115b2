"""Profiles are read strictly (docs/design.md section 5: loaders reject unknown keys).

Each case writes a small variation of the NY profile and checks the key path in the error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sedet.errors import ProfileError
from sedet.profile import available_profiles, load_profile, resolve_profile

NY = resolve_profile("ny-ffy2011").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "p.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_ny_profile_loads_with_its_parameters_and_sources():
    p = load_profile("ny-ffy2011")
    a = p.measures.assessment
    assert a is not None
    assert a.participation_min_n == 40  # NY: minimum 40 for participation
    assert a.performance_min_n == 30  # NY: minimum 30 for performance
    assert a.participation_target == 0.95
    assert a.scale_for("3-8", "REG").weights == {"1ON": 2, "1OFF": 0, "2ON": 2, "2OFF": 1, "3": 2, "4": 2}
    assert a.scale_for("HS", "REG").weights == {"1": 0, "2": 1, "3": 2, "4": 2}
    params = {path: (value, source) for path, value, source in p.parameters()}
    # a parameter with its own source
    assert "95 percent" in params["measures.assessment.participation_target"][1]
    # a parameter that takes its table's source
    assert params["measures.assessment.scales[0].weights.2OFF"][0] == 1.0
    assert "six performance levels" in params["measures.assessment.scales[0].weights.2OFF"][1]
    assert all(src for path, _, src in p.parameters() if path.startswith("measures."))


def test_named_profiles_are_listed():
    assert "ny-ffy2011" in available_profiles()


def test_unknown_key_is_refused_with_its_path(tmp_path):
    text = NY.replace("participation_min_n =", "participaton_min_n =")  # a typo
    with pytest.raises(ProfileError) as e:
        load_profile(write(tmp_path, text))
    assert "measures.assessment.participaton_min_n: unknown key" in e.value.message
    assert "measures.assessment.participation_min_n: missing parameter" in e.value.message


def test_wrong_type_is_refused_with_its_path(tmp_path):
    text = re.sub(r"performance_min_n = \{ value = 30,", 'performance_min_n = { value = "thirty",', NY)
    with pytest.raises(ProfileError) as e:
        load_profile(write(tmp_path, text))
    assert "measures.assessment.performance_min_n" in e.value.message
    assert "'thirty'" in e.value.message


def test_parameter_without_a_source_is_refused(tmp_path):
    text = NY.replace('source = "NY APR FFY 2011 Indicator 3, \'Measurement\' and \'Data Source\' sections"\n', "", 1)
    with pytest.raises(ProfileError) as e:
        load_profile(write(tmp_path, text))
    assert "without a source" in e.value.message
    assert "measures.assessment.subjects" in e.value.message


def test_proficient_level_must_be_a_weighted_level(tmp_path):
    text = NY.replace('proficient = ["3", "4"]', 'proficient = ["3", "5"]', 1)
    with pytest.raises(ProfileError) as e:
        load_profile(write(tmp_path, text))
    assert "measures.assessment.scales[0]" in e.value.message
    assert "'5'" in e.value.message


def test_code_mapping_must_name_an_edfacts_code(tmp_path):
    text = NY + '\n[codes.race_ethnicity]\n"4" = "HISP"\n'
    with pytest.raises(ProfileError) as e:
        load_profile(write(tmp_path, text))
    assert "codes" in e.value.message and "'HISP'" in e.value.message


def test_not_toml_is_refused(tmp_path):
    with pytest.raises(ProfileError) as e:
        load_profile(write(tmp_path, "[profile\nid = 1"))
    assert "not valid TOML" in e.value.message


def test_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(ProfileError) as e:
        load_profile("nowhere-1999")
    assert "ny-ffy2011" in (e.value.hint or "")
