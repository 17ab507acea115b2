"""Determination letters (`--letters`): letters/<district_id>.pdf, one per LEA, for its superintendent.

Each letter is laid out by typst (the `typst` wheel: a compiler with its own fonts, nothing else to
install) from a template, sedet's own (report/templates/letter.typ) or the folder a profile names in
`[letters] template`. What the letter shows of the run goes in as data: one JSON text in
`sys.inputs.data`, which the template reads with `json(bytes(sys.inputs.data))` and prints as text.
No value is ever spliced into the template's source, so a district's name or an override reason
such as `#read("/etc/passwd")` or `{{ 7*7 }}` is printed as written. Text longer than the limits
below is cut with a mark, so that a long value cannot break the layout. Every field of the data is
described in docs/letters.md.

Same input, same bytes: the template sets no document date, typst's own fonts only (no system
fonts), and the date of issue comes from the profile, never from the clock.

Speed: a two-page letter takes 10-20 ms to compile (typst lays a page out twice for "page x of y"),
on one core; from PARALLEL_FROM letters on they are written by worker processes, one per core.
"""

from __future__ import annotations

import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any

import polars as pl
import typst

from sedet.errors import ProfileError
from sedet.model import RunResult, school_year_text
from sedet.report.district import safe_name, worker_pool
from sedet.words import FactorWords, Trend, lea_factor_words, lea_trends, value_text

TEMPLATE = "letter.typ"  # the file a template folder holds (profile.LETTER_TEMPLATE)
FORMAT = 1  # the version of the letter data's layout (docs/letters.md); raised when a field changes meaning
SHORT = 300  # characters: the most a one-line value (a name, a label, a figure) shows
LONG = 2_000  # characters: the most a paragraph (a reason, what a tier means, a step) shows
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
DRAFT = {"provisional": "Provisional: this is not the final determination.",
         "preliminary": "Preliminary: this is not the final determination."}


def write_letters(result: RunResult, out: Path, factors: pl.DataFrame | None = None,
                  on_letter: Callable[[], None] | None = None, public: bool = False) -> list[Path]:
    """Write letters/<safe_name(id)>.pdf for every LEA of the determinations, by district id; return
    the paths. `factors`: the factor rows to lay out (a public release's suppressed ones); by
    default the run's. `on_letter` is called after each letter is written.

    The template is compiled for the first LEA before any other letter: a template that fails raises
    ProfileError naming its file and line, before anything is written. Many letters are written by
    worker processes (report.district.worker_pool), one per core."""
    dets = result.determinations
    if dets is None or dets.table.is_empty():
        return []
    letters = result.profile.letters or {}
    template = str(letters["template"]) if letters.get("template") else None
    renderer = Renderer.of(Path(template) if template is not None else None)
    words = lea_factor_words(result, factors)
    trends = lea_trends(result, with_values=not public)  # a public release: the categories only
    folder = out / "letters"
    folder.mkdir(parents=True, exist_ok=True)
    table = dets.table.sort("district_id")
    paths = [folder / f"{safe_name(d)}.pdf" for d in table.get_column("district_id")]
    jobs = ((str(path), data_text(letter_data(result, row, words.get(row["district_id"], []),
                                              trends.get(row["district_id"]))))
            for path, row in zip(paths, table.iter_rows(named=True), strict=True))
    first_path, first_data = next(jobs)
    Path(first_path).write_bytes(renderer.render_text(first_data))
    tick = on_letter or (lambda: None)
    tick()
    workers = os.cpu_count() or 1
    if len(paths) - 1 >= PARALLEL_FROM and workers > 1:
        _write_in_workers(template, jobs, workers, tick)
    else:
        for path, data in jobs:
            Path(path).write_bytes(renderer.render_text(data))
            tick()
    return paths


PARALLEL_FROM = 64  # below this many letters, one process is faster than starting workers
CHUNK = 25  # letters a worker writes at a time (a progress bar moves in steps this big)


def _write_in_workers(template: str | None, jobs: Iterator[tuple[str, str]], workers: int,
                      tick: Callable[[], None]) -> None:
    """Letters written by worker processes, CHUNK at a time, at most two chunks a worker waiting (so
    that the letters' data is not all held at once); `tick` once per letter, in order."""
    pending: deque[tuple[Future[tuple[str, str | None] | None], int]] = deque()
    with worker_pool(workers) as pool:
        while chunk := list(islice(jobs, CHUNK)):
            pending.append((pool.submit(_write_chunk, template, chunk), len(chunk)))
            if len(pending) >= 2 * workers:
                _collect(*pending.popleft(), tick)
        while pending:
            _collect(*pending.popleft(), tick)


def _collect(done: Future[tuple[str, str | None] | None], n: int, tick: Callable[[], None]) -> None:
    failed = done.result()
    if failed is not None:
        raise ProfileError(*failed)
    for _ in range(n):
        tick()


_RENDERERS: dict[str | None, Renderer] = {}  # in a worker process: the template's compiler, made once


def _write_chunk(template: str | None, jobs: list[tuple[str, str]]) -> tuple[str, str | None] | None:
    """In a worker: write these letters. A template error comes back as (message, hint): a ProfileError
    would lose its hint on the way (exceptions are pickled with their message only)."""
    if template not in _RENDERERS:
        _RENDERERS[template] = Renderer.of(Path(template) if template is not None else None)
    renderer = _RENDERERS[template]
    try:
        for path, data in jobs:
            Path(path).write_bytes(renderer.render_text(data))
    except ProfileError as e:
        return e.message, e.hint
    return None


# ---------------------------------------------------------------------------------------------------
# Compiling


@dataclass
class Renderer:
    """One template, compiled once per letter with that letter's data."""

    folder: Path  # the template's folder: typst's root (the template reads no file outside it)
    compiler: typst.Compiler

    @classmethod
    def of(cls, folder: Path | None) -> Renderer:
        """The template in `folder` (None: sedet's own)."""
        if folder is None:
            folder = Path(str(resources.files("sedet.report").joinpath("templates")))
        source = folder / TEMPLATE
        if not source.is_file():
            raise ProfileError(f"letters.template: no {TEMPLATE} in {folder}",
                               hint=f"the [letters] template folder must hold {TEMPLATE} (docs/letters.md)")
        fonts = folder / "fonts"
        try:
            compiler = typst.Compiler(str(source), root=str(folder),
                                      font_paths=[str(fonts)] if fonts.is_dir() else [], ignore_system_fonts=True)
        except RuntimeError as e:  # typst-py's own: a file it cannot open
            raise ProfileError(f"letter template {source}: {e}") from None
        return cls(folder, compiler)

    def render(self, data: Mapping[str, Any]) -> bytes:
        """One letter's PDF, from its data (`letter_data`)."""
        return self.render_text(data_text(data))

    def render_text(self, data: str) -> bytes:
        """One letter's PDF, from its data as JSON text."""
        try:
            pdf = self.compiler.compile(sys_inputs={"data": data})
        except typst.TypstError as e:
            raise ProfileError(self.error_text(e), hint=str(e.diagnostic).strip() or None) from None
        if not isinstance(pdf, bytes):
            raise TypeError("typst returned pages, not a PDF")
        return pdf

    def error_text(self, e: typst.TypstError) -> str:
        """Where the template failed (its file and line, from typst's diagnostic) and what typst said."""
        m = re.search(r"┌─ (.+?):(\d+):(\d+)", str(e.diagnostic))
        if m is None:
            return f"letter template {self.folder / TEMPLATE}: {e.message}"
        return f"letter template {self.file_named(m.group(1))}, line {m.group(2)}, column {m.group(3)}: {e.message}"

    def file_named(self, shown: str) -> Path:
        """The template file a diagnostic names: typst shows it relative to the working folder, or as a
        path inside the template folder ("/letter.typ")."""
        for candidate in (Path.cwd() / shown, self.folder / shown.lstrip("/")):
            if candidate.is_file():
                return candidate.resolve()
        return self.folder / shown.lstrip("/")


# ---------------------------------------------------------------------------------------------------
# The data of one letter (docs/letters.md lists every field)


def trend_data(t: Trend, decimals: int) -> dict[str, Any]:
    """The years before (words.lea_trends): the school years, each year's category and percentage, and
    per factor its value each year and its points as shares of the points possible (for the line)."""
    return {
        "years": [school_year_text(y) for y in t.years],
        "categories": t.categories,
        "percentages": [value_text(p, "rate", decimals) if p is not None else "" for p in t.percentages],
        "factors": [{"title": f"{r.id}: {r.title}", "values": r.values,
                     "spark": [p / r.possible if p is not None and r.possible else None for p in r.points]}
                    for r in t.factors],
    }


def letter_data(result: RunResult, row: Mapping[str, Any], factors: list[FactorWords],
                trend: Trend | None = None) -> dict[str, Any]:
    """Everything one LEA's letter shows, as data: `row` is its row of the determinations table;
    `trend` its years before, when the run placed them."""
    dets = result.determinations
    assert dets is not None
    letters = result.profile.letters or {}
    method = dets.method
    short = row["category"]
    own = (letters.get("categories") or {}).get(short) or {}
    issued = letters.get("date_of_issue")
    data = {
        "format": FORMAT,
        "district": {"id": row["district_id"], "name": row["district_name"] or row["district_id"]},
        "school_year": school_year_text(result.year),
        "method": {"title": result.profile.title, "run_type": result.profile.run_type,
                   "draft": DRAFT.get(result.profile.run_type)},
        "category": category(row),
        "categories": [{"label": c.label, "tier": c.tier, "current": c.short == short} for c in method.categories],
        "summary": summary(result, row),
        "factors": [{"title": f.title, "value": f.value, "state": f.state, "target": f.target, "points": f.points,
                     "reason": f.reason} for f in factors],
        "placement": placement(result, row),
        "trend": trend_data(trend, result.profile.display_decimals) if trend is not None else None,
        "requires": list(own.get("requires") or []),
        "response_due": response_due(own, issued),
        "letter": {
            "date_of_issue": date_text(issued) if issued is not None else None,
            "addressee": letters.get("addressee") or "Superintendent",
            "opening": letters.get("opening"),
            "letterhead": {"agency": None, "office": None, "address": [], "website": None,
                           **(letters.get("letterhead") or {})},
            "signatory": {"name": None, "title": None, **(letters.get("signatory") or {})},
            "contact": {"name": None, "email": None, "phone": None, **(letters.get("contact") or {})},
        },
    }
    return cut_all(data)


def data_text(data: Mapping[str, Any]) -> str:
    """A letter's data as the JSON text the template reads (`sys.inputs.data`)."""
    return json.dumps(data, ensure_ascii=False)



def date_text(d: date) -> str:
    """A date as a letter writes it ("June 28, 2023"), the same on every machine (no locale)."""
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def category(row: Mapping[str, Any]) -> dict[str, Any]:
    """The category shown, its tier and what it means; an LEA not determined says why."""
    if row["category"] is None:
        why = str(row.get("status") or "").removeprefix("not determined: ")
        return {"label": "Not determined", "tier": None, "determined": False,
                "meaning": f"No determination was made for the district: {why}." if why else None}
    return {"label": row["category_label"], "tier": row["tier"], "meaning": row["tier_text"], "determined": True}


def summary(result: RunResult, row: Mapping[str, Any]) -> list[dict[str, str]]:
    """The figures under the category: the state's own score or the determination percentage with
    the points, the rank and percentile where the method ranks, the level where it aligns levels."""
    dets = result.determinations
    assert dets is not None
    method = dets.method
    out: list[tuple[str, str]] = []
    score = row.get("score")
    if method.score is not None and score is not None:
        s = method.score
        out.append((f"{s.name} (scale {s.scale_min:g} to {s.scale_max:g})", s.text(score)))
    if row.get("percentage") is not None:
        decimals = result.profile.display_decimals
        out.append(("Determination percentage", f"{row['percentage'] * 100:.{decimals}f}%"))
        out.append(("Points earned", f"{row['points_earned']:g} of {row['points_possible']:g} possible"))
    if method.method == "percentile" and row.get("rank") is not None:
        out.append(("Rank", f"{row['rank']} of {dets.distribution.ranked} districts ranked"))
        out.append(("Percentile", f"{row['percentile']:.1f}"))
    if method.method == "level_alignment" and row.get("accountability_level") is not None:
        out.append(("Accountability level", str(row["accountability_level"])))
    return [{"label": label, "value": value} for label, value in out]


def placement(result: RunResult, row: Mapping[str, Any]) -> dict[str, Any]:
    """How the category was placed: the method's own result beside the final one when they differ, the
    reasons of the conditions that applied, and the reason of the state's override."""
    dets = result.determinations
    assert dets is not None
    base, final = row.get("base"), row["category"]
    conditions, override = split_reasons(row.get("reasons") or "", condition_ids(result))
    computed = dets.method.label_of(base) if base in dets.method.shorts else base or "not determined"
    label = row["category_label"] if final is not None else "Not determined"
    return {"changed": base != final, "computed": computed, "final": label,
            "conditions": conditions, "override": override}


def condition_ids(result: RunResult) -> list[str]:
    """The ids of the profile's conditions, from its parameters (determination.conditions[i].id)."""
    return [str(v) for path, v, _ in result.profile.parameters
            if re.fullmatch(r"determination\.conditions\[\d+\]\.id", path)]


def split_reasons(text: str, ids: list[str]) -> tuple[list[str], str | None]:
    """The determinations table's "; "-joined reasons ("<condition id>: reason; override: reason") as the
    conditions' reasons, without their ids, and the override's (always last). A "; " inside a reason
    stays in it: a part continues the previous one unless it starts with a known id."""
    conditions: list[str] = []
    override: str | None = None
    for part in text.split("; ") if text else []:
        if override is not None:
            override += "; " + part
        elif part.startswith("override: "):
            override = part.removeprefix("override: ")
        elif (cid := next((i for i in ids if part.startswith(f"{i}: ")), None)) is not None:
            conditions.append(part.removeprefix(f"{cid}: "))
        elif conditions:
            conditions[-1] += "; " + part
        else:
            conditions.append(part)
    return conditions, override


def response_due(own: Mapping[str, Any], issued: date | None) -> str | None:
    """When the district's response is due: a date, or a number of days after the date of issue."""
    if own.get("response_due") is not None:
        return "by " + date_text(own["response_due"])
    days = own.get("response_due_days")
    if days is None:
        return None
    if issued is not None:
        return f"by {date_text(issued + timedelta(days=days))} ({days} days after the date of issue)"
    return f"within {days} days of the date of issue"


# ---------------------------------------------------------------------------------------------------
# Cutting long text

# one-line values: cut at SHORT; every other text at LONG
ONE_LINE = {"id", "name", "label", "title", "tier", "value", "state", "target", "points", "computed", "final",
            "agency", "office", "address", "website", "email", "phone", "addressee", "date_of_issue", "school_year"}


def cut(text: str, limit: int) -> str:
    """Text longer than `limit` characters: its first `limit`, and a mark saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text):,} characters]"


def cut_all(node: Any, key: str = "") -> Any:
    """Every text of the letter data cut to its limit (SHORT for a one-line field, else LONG)."""
    if isinstance(node, str):
        return cut(node, SHORT if key in ONE_LINE else LONG)
    if isinstance(node, dict):
        return {k: cut_all(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [cut_all(v, key) for v in node]
    return node
