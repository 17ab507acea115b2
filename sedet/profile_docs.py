"""docs/profiles.md, written from the profile models: every key of every section with its type,
allowed values, default, one example and what it means.

The example is the field's own (`Field(examples=[...])`), else the first value a shipped profile
(configs/) gives that key. `tests/test_profile_docs.py` fails when docs/profiles.md is not what
this module writes, or when a key has no example.

    python -m sedet.profile_docs > docs/profiles.md
"""

from __future__ import annotations

import datetime
import json
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sedet.measures.registry import FAMILIES
from sedet.profile import Profile, _unwrap_sources, available_profiles

INTRO = """# Profile reference

Every key a profile may hold, section by section. This file is written by `python -m
sedet.profile_docs` from the profile models themselves, and a test fails when it is not current.
How a determination uses the keys is in docs/methods.md section 10; how profiles are read (sources,
strictness) in docs/design.md section 5.

A profile is read strictly: a key not listed here is refused, with the keys of its section. Every
parameter under `[measures]` needs a source: the `source` of its table (or of the nearest table
above it), or its own, written `key = { value = ..., source = "..." }`.

Columns: **key**; **type**; **default** ("required" where there is none); **example** (TOML, from
the field or from a shipped profile); **meaning**.
"""


@dataclass(frozen=True)
class Section:
    title: str  # as written in TOML: [determination], [[factors]], [measures.assessment], ...
    model: type[BaseModel]
    path: tuple[str, ...]  # where its keys sit in a profile (list items as "[]")
    doc: str


def sections() -> list[Section]:
    """Every section of a profile, in the order a profile is written."""
    out: list[Section] = []
    top = {"profile": "[profile]", "measures": None, "factors": "[[factors]]", "groups": "[[groups]]",
           "determination": "[determination]", "reporting": "[reporting]", "letters": "[letters]"}
    for name, title in top.items():
        if name == "measures":
            for family in FAMILIES:
                _walk(out, f"[measures.{family.name}]", family.params, ("measures", family.name))
            continue
        assert title is not None
        model = _model_in(Profile.model_fields[name].annotation)
        assert model is not None
        path = (name, "[]") if title.startswith("[[") else (name,)
        _walk(out, title, model, path)
    return out


def _walk(out: list[Section], title: str, model: type[BaseModel], path: tuple[str, ...]) -> None:
    out.append(Section(title, model, path, (model.__doc__ or "").strip()))
    for key, field in model.model_fields.items():
        inner = _model_in(field.annotation)
        if inner is None or inner is Profile:
            continue
        sub = f"{title.strip('[]')}.{key}"
        if _is_list(field.annotation):
            _walk(out, f"[[{sub}]]", inner, (*path, key, "[]"))
        elif _is_dict(field.annotation):
            _walk(out, f"[{sub}.<name>]", inner, (*path, key, "<name>"))
        else:
            _walk(out, f"[{sub}]", inner, (*path, key))


def subsection(title: str, key: str, ann: Any) -> str | None:
    """The title of the section a key's value is described in, when it is a table of its own."""
    if _model_in(ann) is None:
        return None
    sub = f"{title.strip('[]')}.{key}"
    return f"[[{sub}]]" if _is_list(ann) else f"[{sub}.<name>]" if _is_dict(ann) else f"[{sub}]"


def _members(ann: Any) -> list[Any]:
    return list(get_args(ann)) if get_origin(ann) in (Union, UnionType) else [ann]


def _model_in(ann: Any) -> type[BaseModel] | None:
    for m in _members(ann):
        if get_origin(m) in (list, dict):
            m = get_args(m)[-1]
        for inner in _members(m):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _is_list(ann: Any) -> bool:
    return any(get_origin(m) is list for m in _members(ann))


def _is_dict(ann: Any) -> bool:
    return any(get_origin(m) is dict for m in _members(ann))


def type_text(ann: Any) -> str:
    """A type as a profile author reads it."""
    members = [m for m in _members(ann) if m is not type(None)]
    if len(members) > 1:
        return " or ".join(type_text(m) for m in members)
    ann = members[0]
    origin = get_origin(ann)
    if origin is Literal:
        return "one of " + ", ".join(f"`{json.dumps(a)}`" for a in get_args(ann))
    if origin is list:
        return f"list of {type_text(get_args(ann)[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_text(a) for a in get_args(ann)) + "]"
    if origin is dict:
        k, v = get_args(ann)
        return f"table of {type_text(k)} -> {type_text(v)}"
    if get_origin(ann) is not None and hasattr(ann, "__metadata__"):
        return type_text(get_args(ann)[0])
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"table ({ann.__name__})"
    base = getattr(ann, "__origin__", ann)
    names = {str: "text", int: "whole number", float: "number", bool: "true/false", datetime.date: "date"}
    return names.get(base, getattr(base, "__name__", str(base)))


def toml_value(v: Any) -> str:
    """A value as TOML writes it, inline."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, BaseModel):  # a sub-table's defaults, as the table it stands for
        return toml_value(v.model_dump(exclude_none=True))
    return json.dumps(v)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return toml_value(field.default_factory())  # type: ignore[call-arg]
    if field.default is None or field.default is PydanticUndefined:
        return "none"
    return toml_value(field.default)


def shipped_examples() -> dict[tuple[str, ...], Any]:
    """(section path, key) -> the first value a shipped profile gives it."""
    found: dict[tuple[str, ...], Any] = {}
    for path in sorted(available_profiles().values()):
        raw, _ = _unwrap_sources(tomllib.loads(path.read_text(encoding="utf-8")))
        for where, value in _leaves(raw, ()):
            found.setdefault(where, value)
    return found


def _leaves(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k), v
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
        for item in node:
            yield from _leaves(item, (*path, "[]"))


LONGEST = 100  # an example longer than this is cut (the whole value is in the shipped profile)


def example(section: Section, key: str, field: FieldInfo, shipped: dict[tuple[str, ...], Any]) -> str | None:
    """The example shown: the field's own, else a shipped profile's value, cut to LONGEST characters."""
    if field.examples:
        text = toml_value(field.examples[0])
    elif (*section.path, key) in shipped:
        text = toml_value(shipped[(*section.path, key)])
    else:
        return None
    return text if len(text) <= LONGEST else text[:LONGEST - 4] + " ..."


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def render() -> str:
    shipped = shipped_examples()
    lines = [INTRO]
    lines += ["## `[codes.<list>]`", "",
              "Local codes mapped onto the codes sedet reads, one table per code list of a column the profile "
              "reads (`race_ethnicity`, `disability`, `environment`, `subject`, `assessment`, `removal_type`, and "
              "the lists a measure family adds: `performance_level`, `evaluation_exception`, `fact.<name>`). "
              "A table for any other name is refused.", "",
              "Example: `[codes.race_ethnicity]` with `\"7\" = \"WH7\"`.", ""]
    for section in sections():
        lines += [f"## `{section.title}`", ""]
        if section.doc:
            lines += [" ".join(section.doc.split()), ""]
        lines += ["| key | type | default | example | meaning |", "| --- | --- | --- | --- | --- |"]
        for key, field in section.model.model_fields.items():
            ex = example(section, key, field, shipped)
            sub = subsection(section.title, key, field.annotation)
            shown = f"`{ex}`" if ex is not None else "(none)"
            if sub is not None:
                shown = f"see `{sub}`" + (f"; {shown}" if ex is not None and len(ex) <= 40 else "")
            lines.append(f"| `{key}` | {_cell(type_text(field.annotation))} | `{_default(field)}` | "
                         f"{_cell(shown)} | {_cell(field.description or '')} |")
        lines.append("")
    return "\n".join(lines)


def missing_examples() -> list[str]:
    """Keys with no example: neither the field's nor a shipped profile's."""
    shipped = shipped_examples()
    return [f"{s.title} {key}" for s in sections() for key, field in s.model.model_fields.items()
            if example(s, key, field, shipped) is None and subsection(s.title, key, field.annotation) is None]


if __name__ == "__main__":
    sys.stdout.write(render())
