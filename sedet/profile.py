"""Profiles: one TOML file that fixes a state's method for one year.

A profile is read strictly: an unknown key, a missing parameter or a value of
the wrong type is refused with the key's path and what was expected
(PolicyEngine once found 103 parameters a lenient loader had ignored).

Every parameter records its source. A parameter is written either as a bare
value, taking the `source` of the table it sits in (or of the nearest table
above it), or as `{ value = ..., source = "..." }` with a source of its own::

    [measures.assessment]
    source = "NY SPP/APR FFY 2011, Indicator 3"
    participation_min_n = 40
    participation_target = { value = 0.95, source = "NY APR FFY 2011 p. 1: 95 percent" }
"""

from __future__ import annotations

import datetime
import hashlib
import tomllib
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator, model_validator

from sedet.determine.params import Determination, Factor, Group
from sedet.errors import ProfileError
from sedet.measures.family import Family
from sedet.measures.registry import FAMILIES
from sedet.model import CODE_LISTS, NonNegInt, ProfileInfo, ReportingParams, Strict


class Meta(Strict):
    """Which method this is, for which year, and where it comes from."""

    id: str = Field(description="the profile's name (what `--profile` takes)")
    title: str = Field(description="the method's name, as the reports show it")
    state: str = Field(description="the state (or US for a federal method)")
    ffy: int = Field(description="federal fiscal year of the determinations (FFY 2011 = school year 2011-12)")
    source: str = Field(description="the document the method comes from")
    display_decimals: NonNegInt = Field(default=1, description="decimals of the percentages shown")
    run_type: Literal["provisional", "preliminary", "official"] = Field(
        default="official", description="what the workbooks say the run is (a provisional run says so on every sheet)")
    status_note: str | None = Field(default=None, description="a line the reports add under the title",
                                    examples=["Preliminary: before the data review of March 1"])


# ---------------------------------------------------------------------------------------------------
# [letters]: the fixed text of the determination letters (report/letters.py, docs/letters.md)

LETTER_TEMPLATE = "letter.typ"  # the file a [letters] template folder holds


class Letterhead(Strict):
    """Who sends the letter, as its letterhead shows it."""

    agency: str | None = Field(default=None, description="the agency sending the letters",
                               examples=["New Jersey Department of Education"])
    office: str | None = Field(default=None, description="the office within the agency",
                               examples=["Office of Special Education"])
    address: list[str] = Field(default_factory=list, description="the address, one line each",
                               examples=[["PO Box 500", "Trenton, NJ 08625"]])
    website: str | None = Field(default=None, description="a web address printed under the address",
                                examples=["https://www.nj.gov/education/specialed/"])


class Signatory(Strict):
    """Who signs the letters."""

    name: str | None = Field(default=None, description="the signatory's name", examples=["Jane Doe"])
    title: str | None = Field(default=None, description="the signatory's title",
                              examples=["Director, Office of Special Education"])


class Contact(Strict):
    """Whom a district asks about its letter."""

    name: str | None = Field(default=None, description="the contact's name or office", examples=["Monitoring team"])
    email: str | None = Field(default=None, description="an email address", examples=["determinations@doe.example.gov"])
    phone: str | None = Field(default=None, description="a telephone number", examples=["(609) 555-0100"])


class LetterCategory(Strict):
    """What a category requires of a district, as its letter says, and by when it answers. The table's
    name is the category's `short` name in [determination] (`[letters.categories.NA]`)."""

    requires: list[str] = Field(default_factory=list, description="the steps the district takes, one item each",
                                examples=[["Review the factors not met with your team",
                                           "Submit an improvement plan to the Office of Special Education"]])
    response_due: datetime.date | None = Field(default=None, description="the date the district's response is due",
                                               examples=[datetime.date(2023, 9, 1)])
    response_due_days: NonNegInt | None = Field(
        default=None, examples=[60],
        description="the response is due this many days after the date of issue (instead of `response_due`)")

    @model_validator(mode="after")
    def _one_due_date(self) -> LetterCategory:
        if self.response_due is not None and self.response_due_days is not None:
            raise ValueError("give response_due or response_due_days, not both")
        return self


class Letters(Strict):
    """The determination letters (`--letters`): their fixed text, and the template they are laid out
    with (docs/letters.md). Every value is printed as written; none is read as markup."""

    template: str | None = Field(
        default=None, examples=["letters/"],
        description=f"a folder, relative to the profile file, holding the `{LETTER_TEMPLATE}` to lay the letters out "
                    "with (and any files it reads, fonts in its `fonts/`); by default sedet's own template")
    date_of_issue: datetime.date | None = Field(
        default=None, examples=[datetime.date(2023, 6, 28)],
        description="the date printed on every letter; none: the letter says the date is to be set (a letter never "
                    "takes the day it is written, so that a run gives the same letters every time)")
    addressee: str = Field(default="Superintendent", examples=["Chief State School Officer"],
                           description="whom the letter greets (\"Dear Superintendent:\")")
    opening: str | None = Field(
        default=None, examples=["Each year the Department determines how each district carries out IDEA Part B."],
        description="the first paragraph, in place of the template's own (which cites 34 CFR 300.600 and 300.603)")
    letterhead: Letterhead = Field(default_factory=Letterhead, description="who sends the letters")
    signatory: Signatory = Field(default_factory=Signatory, description="who signs them")
    contact: Contact = Field(default_factory=Contact, description="whom a district asks")
    categories: dict[str, LetterCategory] = Field(
        default_factory=dict, description="what each category requires and by when the district answers, by "
                                          "category short name")


def _measures_model() -> type[Strict]:
    """The [measures] section: one optional sub-section per family of the registry, in its order."""
    fields: dict[str, Any] = {f.name: (f.params | None, None) for f in FAMILIES}
    return create_model("Measures", __base__=Strict, **fields)


if TYPE_CHECKING:  # built from the registry at run time; a family's parameters are read by name
    Measures = Strict
else:
    Measures = _measures_model()


class Profile(Strict):
    profile: Meta
    codes: dict[str, dict[str, str]] = Field(default_factory=dict)
    measures: Measures
    factors: list[Factor] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    determination: Determination | None = None
    reporting: ReportingParams = Field(default_factory=ReportingParams)
    letters: Letters | None = None

    @model_validator(mode="after")
    def _letters(self) -> Profile:
        if self.letters is None:
            return self
        if self.determination is None:
            raise ValueError("letters: a [letters] section needs a [determination] section (letters state one)")
        shorts = [c.short for c in self.determination.categories]
        unknown = [k for k in self.letters.categories if k not in shorts]
        if unknown:
            raise ValueError(f"letters.categories: {unknown[0]!r} is not the short name of a category of "
                             f"[determination] ({', '.join(shorts)})")
        return self

    @model_validator(mode="after")
    def _scoring(self) -> Profile:
        ids = [f.id for f in self.factors]
        if len(set(ids)) != len(ids):
            raise ValueError("factors: every factor needs its own id")
        if self.factors and self.determination is None:
            raise ValueError("factors without a [determination] section")
        if self.determination is not None and self.determination.method != "level_alignment" and not self.factors:
            raise ValueError(f"determination method {self.determination.method!r} needs [[factors]]")
        group_ids = [g.id for g in self.groups]
        for f in self.factors:
            if self.groups and f.group not in group_ids:
                raise ValueError(f"factor {f.id}: group {f.group!r} is not one of the groups {group_ids}")
        for g in self.groups:
            if g.when_empty.startswith("use:") and g.when_empty[4:] not in group_ids:
                raise ValueError(f"group {g.id}: when_empty names an unknown group {g.when_empty[4:]!r}")
        return self

    @field_validator("codes")
    @classmethod
    def _codes(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for code_list, mapping in v.items():
            known = CODE_LISTS.get(code_list)
            if known is None:
                continue  # a list sedet does not fix (e.g. evaluation_exception); checked where used
            bad = {local: code for local, code in mapping.items() if code not in known}
            if bad:
                local, code = next(iter(bad.items()))
                raise ValueError(
                    f"{code_list}: local code {local!r} maps to {code!r}, which is not an EDFacts code "
                    f"({', '.join(known)})"
                )
        return v


class LoadedProfile:
    """A validated profile, with where it came from and each parameter's source."""

    def __init__(self, model: Profile, path: Path, text: bytes, sources: dict[str, str]):
        self.model = model
        self.path = path
        self.sha256 = hashlib.sha256(text).hexdigest()
        self.sources = sources

    @property
    def id(self) -> str:
        return self.model.profile.id

    @property
    def meta(self) -> Meta:
        return self.model.profile

    @property
    def measures(self) -> Measures:
        return self.model.measures

    def families(self) -> list[tuple[Family[Any], Strict]]:
        """The measure families the profile runs, with their parameters, in registry order."""
        active = [(f, getattr(self.model.measures, f.name)) for f in FAMILIES]
        return [(f, params) for f, params in active if params is not None]

    def info(self) -> ProfileInfo:
        """What the reports show of the profile."""
        meta = self.meta
        return ProfileInfo(meta.id, meta.title, meta.run_type, meta.display_decimals, self.path.name, self.sha256,
                           tuple(self.parameters()), self.model.reporting, letters=self.letters())

    def letters(self) -> dict[str, Any] | None:
        """The [letters] section as plain data, its template folder made absolute (None: no section)."""
        letters = self.model.letters
        if letters is None:
            return None
        data = letters.model_dump()
        data["template"] = str(self.template_folder()) if letters.template is not None else None
        return data

    def template_folder(self) -> Path | None:
        """The folder of the letters' own template (relative to the profile file), or None for sedet's."""
        letters = self.model.letters
        if letters is None or letters.template is None:
            return None
        return (self.path.parent / letters.template).resolve()

    def parameters(self) -> list[tuple[str, Any, str]]:
        """(path, value, source) for every parameter, in file order."""
        flat = flatten_params(self.model.model_dump(mode="json", exclude_none=True))
        default = "sedet default (docs/methods.md section 11)"
        return [(path, value, self.sources.get(path, default if path.startswith("reporting.") else ""))
                for path, value in flat]


# ---------------------------------------------------------------------------------------------------
# Finding and reading profiles


def profile_dirs() -> list[Path]:
    """Where named profiles live: inside the installed package, or the checkout's configs/."""
    dirs = []
    packaged = resources.files("sedet").joinpath("configs")
    if packaged.is_dir():
        dirs.append(Path(str(packaged)))
    checkout = Path(__file__).resolve().parent.parent / "configs"
    if checkout.is_dir():
        dirs.append(checkout)
    return dirs


def available_profiles() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in profile_dirs():
        for p in sorted(d.glob("*.toml")):
            found.setdefault(p.stem, p)
    return found


def resolve_profile(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists() or "/" in name_or_path:
        if not p.is_file():
            raise ProfileError(f"profile file {name_or_path!r} does not exist")
        return p
    known = available_profiles()
    if name_or_path not in known:
        names = ", ".join(sorted(known)) or "none"
        raise ProfileError(f"unknown profile {name_or_path!r}",
                           hint=f"known profiles: {names}; or give a path to a .toml file")
    return known[name_or_path]


def category_order(name_or_path: str) -> tuple[list[str] | None, str]:
    """A profile's category short names, best first (None when it makes no determinations), and its
    SHA-256 (for `sedet diff`, which tells worse from better by this order)."""
    prof = load_profile(name_or_path)
    det = prof.model.determination
    return ([c.short for c in det.categories] if det is not None else None), prof.sha256


def load_profile(name_or_path: str) -> LoadedProfile:
    path = resolve_profile(name_or_path)
    text = path.read_bytes()
    try:
        raw = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ProfileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{path}: not valid TOML: {e}") from None
    unwrapped, sources = _unwrap_sources(raw)
    try:
        model = Profile.model_validate(unwrapped)
    except ValidationError as e:
        raise ProfileError(f"{path}: invalid profile:\n" + format_validation(e)) from None
    missing = [p for p, _ in flatten_params(unwrapped) if p.startswith("measures.") and not sources.get(p)]
    if missing:
        raise ProfileError(
            f"{path}: parameters without a source: {', '.join(missing[:10])}",
            hint="give the table a `source = \"...\"` line, or write the value as { value = ..., source = \"...\" }",
        )
    loaded = LoadedProfile(model, path, text, sources)
    _check_template(loaded)
    coded = set(CODE_LISTS) | {name for family, params in loaded.families() for name in family.code_lists(params)}
    stray = [name for name in model.codes if name not in coded]
    if stray:
        raise ProfileError(
            f"{path}: [codes.{stray[0]}]: {stray[0]!r} is not a code list of the columns this profile reads, so "
            "its local codes would never be used",
            hint="the code lists: " + ", ".join(sorted(coded)) + " (a yes/no or number column takes no codes)",
        )
    return loaded


def _check_template(loaded: LoadedProfile) -> None:
    """A [letters] template folder must exist and hold the template file."""
    folder = loaded.template_folder()
    if folder is None:
        return
    hint = (f"`letters.template` names a folder, relative to the profile file, holding {LETTER_TEMPLATE}; "
            "copy sedet's own (docs/letters.md) to start from")
    if not folder.is_dir():
        raise ProfileError(f"{loaded.path}: letters.template: the folder {folder} does not exist", hint=hint)
    if not (folder / LETTER_TEMPLATE).is_file():
        raise ProfileError(f"{loaded.path}: letters.template: the folder {folder} has no {LETTER_TEMPLATE}",
                           hint=hint)


def _unwrap_sources(raw: dict) -> tuple[dict, dict[str, str]]:
    """Replace `{value, source}` tables by their value; return each leaf's source by dotted path."""
    sources: dict[str, str] = {}
    return _unwrap(raw, "", None, sources), sources


def _unwrap(node: Any, path: str, inherited: str | None, sources: dict[str, str]) -> Any:
    if isinstance(node, dict) and node:
        return _unwrap_table(node, path, inherited, sources)
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        return [_unwrap(v, f"{path}[{i}]", inherited, sources) for i, v in enumerate(node)]
    if inherited:
        sources.setdefault(path, inherited)  # a value (an empty table too) takes its table's source
    return node


def _unwrap_table(node: dict, path: str, inherited: str | None, sources: dict[str, str]) -> Any:
    if "value" in node and set(node) <= {"value", "source", "note"} and "source" in node:
        source = str(node["source"])
        sources[path] = source
        for p, _ in flatten_params({"_": node["value"]}):
            sources.setdefault(path + p[1:], source)
        return node["value"]
    here = node.get("source") if isinstance(node.get("source"), str) else inherited
    return {k: _unwrap(v, f"{path}.{k}" if path else str(k), here, sources) for k, v in node.items()
            # a table's source documents its parameters; it is not one itself
            if not (k == "source" and path != "profile")}


def flatten_params(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict) and node:
        out = []
        for k, v in node.items():
            out.extend(flatten_params(v, f"{path}.{k}" if path else str(k)))
        return out
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        out = []
        for i, v in enumerate(node):
            out.extend(flatten_params(v, f"{path}[{i}]"))
        return out
    return [(path, node)]


def format_validation(e: ValidationError) -> str:
    errors = [(_field_path(err["loc"]), err) for err in e.errors()]
    # A value that may be written two ways (a fact: a name or a table) fails each way; where it has
    # an error inside the table, the complaint that it is not a name says nothing.
    deeper = {loc[:-1] for loc, _ in errors if loc}
    lines = []
    for loc, err in errors:
        if err["type"].endswith("_type") and loc in deeper:
            continue
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        kind = err["type"]
        if kind == "extra_forbidden":
            keys = section_keys(loc[:-1])
            msg = "unknown key (not a parameter of this section; check the spelling)"
            if keys:
                msg += "; the keys of this section: " + ", ".join(keys)
        elif kind == "missing":
            msg = "missing parameter"
        else:
            found = err.get("input")
            shown = repr(found) if not isinstance(found, dict | list) else type(found).__name__
            msg = f"{err['msg']} (found {shown})"
        line = f"  {where or '(top level)'}: {msg}"
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def _field_path(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A pydantic error location without the tags it adds for the ways a value may be written
    ('str', 'function-after[_check(), Fact]')."""
    return tuple(p for p in loc if isinstance(p, int) or not (p in _TAGS or "[" in p))


_TAGS = {"str", "int", "float", "bool", "date", "list", "dict", "none", "literal"}


def section_keys(path: tuple[int | str, ...]) -> list[str]:
    """The keys a profile section takes (e.g. ('determination', 'conditions', 0) -> a condition's)."""
    node: Any = Profile
    for part in path:
        node = _inner(node, part)
        if node is None:
            return []
    model = _model_in(node)
    return list(model.model_fields) if model is not None else []


def _inner(node: Any, part: int | str) -> Any:
    """The type found at `part` of a value of type `node` (a model's field, a list's item, a table's value)."""
    model = _model_in(node)
    if isinstance(part, str) and model is not None:
        field = model.model_fields.get(part)
        return field.annotation if field is not None else None
    for arg in _members(node):
        origin = get_origin(arg)
        if origin is list and isinstance(part, int):
            return get_args(arg)[0]
        if origin is dict and isinstance(part, str):
            return get_args(arg)[1]
    return None


def _members(node: Any) -> list[Any]:
    """The types of a union (`X | None`, `str | Fact`), or the one type."""
    return list(get_args(node)) if get_origin(node) in (Union, UnionType) else [node]


def _model_in(node: Any) -> type[BaseModel] | None:
    return next((m for m in _members(node) if isinstance(m, type) and issubclass(m, BaseModel)), None)
