"""Rules of the code base itself (docs/design.md section 2): imports run one way between the layers,
every document the code cites exists with the section cited, no machine's path is written into the
repository, and the linter and the type checker are clean."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sedet"

# What each part of sedet may import from sedet (besides itself and the package root, for
# __version__). A unit is a top-level module (sedet.pipeline) or a subpackage (sedet.io); an
# allowed target covers what lies under it (sedet.io.output covers only that module).
ALLOWED: dict[str, set[str]] = {
    "sedet.model": set(),
    "sedet.errors": {"sedet.model"},
    "sedet.runtime": set(),
    "sedet.progress": set(),
    "sedet.measures": {"sedet.model"},
    "sedet.determine": {"sedet.model", "sedet.errors"},
    "sedet.io": {"sedet.model", "sedet.errors"},
    "sedet.profile": {"sedet.model", "sedet.errors", "sedet.measures", "sedet.determine"},
    "sedet.pipeline": {"sedet.model", "sedet.errors", "sedet.io", "sedet.measures", "sedet.determine",
                       "sedet.profile", "sedet.progress"},
    "sedet.words": {"sedet.model", "sedet.determine.params"},
    "sedet.report": {"sedet.model", "sedet.errors", "sedet.io.output", "sedet.words", "sedet.progress"},
    "sedet.explain": {"sedet.model", "sedet.words"},
    "sedet.imports": {"sedet.model", "sedet.errors", "sedet.io.output", "sedet.io.schema"},
    "sedet.sweep": {"sedet.model", "sedet.errors", "sedet.measures", "sedet.determine", "sedet.pipeline",
                    "sedet.profile", "sedet.progress"},
    "sedet.profile_docs": {"sedet.measures", "sedet.profile"},
    "sedet.sample": {"sedet.model", "sedet.io.schema", "sedet.measures"},
    "sedet.cli": {"sedet.model", "sedet.errors", "sedet.runtime", "sedet.pipeline", "sedet.profile", "sedet.io",
                  "sedet.report", "sedet.explain", "sedet.sample", "sedet.words", "sedet.progress",
                  "sedet.imports", "sedet.sweep"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """Every sedet module a file imports, anywhere in it (also inside functions and TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "sedet"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sedet":
            found |= {f"{node.module}.{a.name}" if is_module(f"{node.module}.{a.name}") else node.module
                      for a in node.names}
    return found


def allowed(unit: str, target: str) -> bool:
    if target == "sedet" or unit_of(target) == unit:
        return True
    return any(target == a or target.startswith(a + ".") for a in ALLOWED[unit])


def test_every_module_has_a_layer():
    units = {unit_of(module_name(p)) for p in PACKAGE.rglob("*.py")} - {"sedet"}
    assert units <= set(ALLOWED), f"modules with no place in ALLOWED: {sorted(units - set(ALLOWED))}"


def test_imports_run_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        unit = unit_of(module)
        if unit == "sedet":
            continue
        wrong += [f"{module} -> {t}" for t in sorted(imports(path)) if not allowed(unit, t)]
    assert not wrong, "imports against the layers (docs/design.md section 2):\n" + "\n".join(wrong)


def test_the_import_rule_catches_a_wrong_arrow(tmp_path):
    # the checker itself: an io module that imports a measure family is an arrow the wrong way
    bad = tmp_path / "bad.py"
    bad.write_text("from sedet.measures.timeline import row_checks\nfrom sedet.model import OK\n")
    assert [t for t in sorted(imports(bad)) if not allowed("sedet.io", t)] == ["sedet.measures.timeline"]


# ---------------------------------------------------------------------------------------------------
# Documents cited

CITED = re.compile(r"\b(docs/[a-z_./-]+\.(?:md|txt))(?: section (\d+))?")
TEXT_FILES = ["sedet/**/*.py", "configs/*.toml", "README.md", "docs/*.md", "tests/**/*.py", "benchmarks/*.py"]


def text_files() -> list[Path]:
    return sorted({p for pattern in TEXT_FILES for p in ROOT.glob(pattern) if p.is_file()})


def sections(doc: Path) -> set[str]:
    return set(re.findall(r"^## (\d+)\. ", doc.read_text(encoding="utf-8"), flags=re.M))


def test_every_cited_document_and_section_exists():
    missing = []
    for path in text_files():
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for doc, section in CITED.findall(line):
                target = ROOT / doc
                where = f"{path.relative_to(ROOT)}:{line_no}"
                if not target.is_file():
                    missing.append(f"{where}: {doc} does not exist")
                elif section and section not in sections(target):
                    missing.append(f"{where}: {doc} has no section {section}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("name", ["METHODS.md", "DESIGN.md", "benchmarks/README"])
def test_no_citation_of_a_document_outside_the_repository(name):
    cited = [f"{p.relative_to(ROOT)}:{i}" for p in text_files() if p != Path(__file__)
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if name in line]
    cited += ["pyproject.toml"] if name in (ROOT / "pyproject.toml").read_text(encoding="utf-8") else []
    assert not cited, f"{name} is cited but is not in the repository: {cited}"


def test_the_docs_have_numbered_sections():
    for doc in ("docs/methods.md", "docs/design.md"):
        found = sorted(int(s) for s in sections(ROOT / doc))
        assert found == list(range(1, len(found) + 1)) and found, f"{doc}: sections {found}"


MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|root|Users|mnt|opt)/")


def test_no_machine_path_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    files = [ROOT / f for f in tracked.stdout.split()] if tracked.returncode == 0 else text_files()
    found = []
    for path in files:
        if path.suffix not in (".py", ".md", ".toml", ".txt", ".cfg", "") or not path.is_file():
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if MACHINE_PATH.search(line) and path != Path(__file__):
                found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not found, "\n".join(found)


# ---------------------------------------------------------------------------------------------------
# Linter and type checker (their versions are pinned in pyproject.toml's test extra)


def test_ruff_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean(tmp_path):
    from mypy import api

    report, errors, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir",
                                      str(tmp_path / "mypy"), str(PACKAGE)])
    assert status == 0, report + errors
