"""Finding the tables of a bundle: one file per table in a folder, or one workbook with a sheet per
table (docs/design.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sedet.errors import BundleError, UsageError
from sedet.io import schema as S
from sedet.io import xlsx
from sedet.model import Problem

WORKBOOKS = (".xlsx", ".xlsm")


@dataclass
class Source:
    """Where a table comes from."""

    table: str
    path: Path
    sheet: str | None = None

    @property
    def label(self) -> str:
        return self.path.name


def discover(path: Path) -> list[Source]:
    """The tables of a bundle folder or workbook, in schema order."""
    if not path.exists():
        raise UsageError(f"bundle {str(path)!r} does not exist", hint="give a folder of tables or one workbook")
    if path.is_file():
        if path.suffix.lower() not in WORKBOOKS:
            raise UsageError(
                f"bundle {str(path)!r} is a file but not a workbook",
                hint="a bundle is a folder with one file per table, or one .xlsx workbook with a sheet per table",
            )
        return _workbook_sources(path)
    found: dict[str, Source] = {}
    for p in sorted(path.iterdir()):
        if S.is_table_file(p):
            name = p.stem.lower()
            if name in found:
                raise UsageError(
                    f"bundle {str(path)!r} holds two files for table {name!r}: {found[name].path.name} and {p.name}",
                    hint="keep one file per table",
                )
            found[name] = Source(name, p, _table_sheet(p, name) if p.suffix.lower() in WORKBOOKS else None)
    if not found:
        workbooks = [p for p in sorted(path.iterdir()) if p.suffix.lower() in WORKBOOKS]
        if len(workbooks) == 1:
            return _workbook_sources(workbooks[0])
        raise UsageError(
            f"bundle {str(path)!r} holds no table",
            hint="expected files named after the tables: " + ", ".join(f"{t}.csv" for t in S.TABLES),
        )
    return [found[t] for t in S.TABLES if t in found]


def _table_sheet(path: Path, table: str) -> str | None:
    """The sheet read of a table's own workbook: the visible sheet named after the table, else the
    first visible sheet. Hidden sheets are never read (docs/design.md section 4). None when the file
    cannot be looked into (reading it then says why)."""
    try:
        shown = [sh.name for sh in xlsx.sheets(str(path)) if sh.visible]
    except xlsx.WorkbookError:
        return None
    named = next((n for n in shown if n.strip().lower() == table), None)
    return named or (shown[0] if shown else None)


def _workbook_sources(path: Path) -> list[Source]:
    """The tables of a one-workbook bundle: its visible sheets named after tables."""
    try:
        all_sheets = xlsx.sheets(str(path))
    except xlsx.WorkbookError as e:
        raise BundleError([Problem(path.name, None, None, "an Excel workbook (.xlsx)", str(e))]) from None
    by_lower = {sh.name.strip().lower(): sh.name for sh in all_sheets if sh.visible}
    hidden = [sh.name for sh in all_sheets if not sh.visible and sh.name.strip().lower() in S.TABLES]
    sources = [Source(t, path, by_lower[t]) for t in S.TABLES if t in by_lower]
    if not sources:
        names = ", ".join(sh.name for sh in all_sheets)
        note = f"; hidden sheets are not read ({', '.join(hidden)})" if hidden else ""
        raise UsageError(
            f"workbook {path.name!r} has no visible sheet named after a table (sheets: {names}){note}",
            hint="name the sheets " + ", ".join(S.TABLES),
        )
    return sources
