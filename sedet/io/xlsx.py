"""What a workbook holds before the Excel reader reads it: its sheets with their visibility, and for
the sheet to be read, how far its cells reach and which cells hold an Excel error or a formula
without a cached value (docs/design.md section 4).

The Excel reader (calamine, through fastexcel) allocates the whole rectangle from A1 to the farthest
cell: one stray cell at XFD1048576 in a 10 kB file asked for 550 GB and aborted the process. So the
sheet's XML is scanned first (streamed from the archive, a few hundred MB a second), and a sheet
whose cells span more than MAX_CELLS is a problem, never read. The scan also finds what the reader
would turn into an empty cell without a word: `#DIV/0!` and the other error values, and formulas
that were never calculated (no cached value).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

MAX_CELLS = 50_000_000  # rows x columns the reader may allocate (about 1.6 GB); Excel's own limit of rows
MAX_XML = 4 << 30  # bytes of one sheet's XML, uncompressed
CHUNK = 1 << 22

_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_REL = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)/?>")
_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]{1,3})([0-9]{1,7})"')
_ERROR = re.compile(rb'<(?:\w+:)?c\b[^>]*?\st="e"[^>]*>')
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")


class WorkbookError(Exception):
    """The file is not a workbook sedet can look into (not a zip archive, no workbook part)."""


@dataclass(frozen=True)
class Sheet:
    name: str
    member: str  # the archive member holding its XML
    state: str  # visible, hidden or veryHidden

    @property
    def visible(self) -> bool:
        return self.state == "visible"


@dataclass
class Scan:
    """How far a sheet's cells reach, and the cells the reader would read as empty without a word."""

    rows: int = 0  # the farthest row
    columns: int = 0  # the farthest column (A = 1)
    first_column: int = 0  # the nearest column
    farthest: str = ""  # the cell reference of the farthest row or column seen
    errors: list[tuple[int, int, str]] = field(default_factory=list)  # (row, column, error text)
    uncached: list[tuple[int, int]] = field(default_factory=list)  # formulas with no cached value

    @property
    def cells(self) -> int:
        return self.rows * max(self.columns - self.first_column + 1, 0) if self.columns else 0


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def sheets(path: str) -> list[Sheet]:
    """The sheets of a workbook in their order, with where each one's XML is and whether it is shown."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            book = z.read("xl/workbook.xml") if "xl/workbook.xml" in names else None
            rels = z.read("xl/_rels/workbook.xml.rels") if "xl/_rels/workbook.xml.rels" in names else b""
    except (zipfile.BadZipFile, zlib.error, OSError, KeyError, EOFError, ValueError, UnicodeDecodeError) as e:
        raise WorkbookError(f"not an Excel workbook (.xlsx): {e}") from None
    if book is None:
        raise WorkbookError("not an Excel workbook (.xlsx): the archive has no xl/workbook.xml")
    targets = {}
    for m in _REL.finditer(rels):
        attrs = dict(_ATTR.findall(m.group(1)))
        if b"Id" in attrs and b"Target" in attrs:
            targets[attrs[b"Id"].decode()] = attrs[b"Target"].decode()
    out = []
    for m in _SHEET.finditer(book):
        attrs = {k.split(b":")[-1]: v for k, v in _ATTR.findall(m.group(1))}
        name = _unescape(attrs.get(b"name", b"").decode("utf-8", "replace"))
        target = targets.get(attrs.get(b"id", b"").decode(), "")
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        out.append(Sheet(name, member, attrs.get(b"state", b"visible").decode()))
    return out


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


def scan(path: str, sheet: Sheet) -> Scan:
    """Stream the sheet's XML: the farthest row and column, error cells, formulas without a value.
    Stops as soon as the cells span more than MAX_CELLS (the caller refuses the sheet)."""
    out = Scan()
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(sheet.member)
            if info.file_size > MAX_XML:
                out.rows, out.columns, out.farthest = 1 << 20, 1 << 14, "(its XML is larger than 4 GB)"
                return out
            with z.open(info) as fh:
                tail = b""
                while chunk := fh.read(CHUNK):
                    data = tail + chunk
                    # a row may run on into the next chunk: keep it whole for then (a cell's formula
                    # and its cached value must be seen together)
                    end = data.rfind(b"row>")
                    cut = end + 4 if end >= 0 else data.rfind(b"<")
                    cut = cut if cut > 0 else len(data)
                    _scan_part(data[:cut], out)
                    tail = data[cut:]
                    if out.cells > MAX_CELLS:
                        return out
                _scan_part(tail, out)
    except (zipfile.BadZipFile, zlib.error, OSError, KeyError, EOFError, ValueError, UnicodeDecodeError) as e:
        raise WorkbookError(f"a sheet that cannot be read: {e}") from None
    return out


def _scan_part(data: bytes, out: Scan) -> None:
    _extent(data, out)
    if b't="e"' in data:
        for m in _ERROR.finditer(data):
            ref, content = _cell_at(data, m.start())
            if ref is not None:
                value = re.search(rb"<(?:\w+:)?v>([^<]*)<", content)
                out.errors.append((*ref, value.group(1).decode("utf-8", "replace") if value else "an error value"))
    if b"<f" in data or b":f" in data:
        for m in _FORMULA.finditer(data):
            ref, content = _cell_at(data, _cell_start(data, m.start()))
            if ref is not None and not re.search(rb"<(?:\w+:)?v>[^<]+<", content):
                out.uncached.append(ref)


def _extent(data: bytes, out: Scan) -> None:
    """The farthest row and column, and the nearest column, of the cell references in `data`."""
    for m in _REF.finditer(data):
        col, row = column_number(m.group(1).decode()), int(m.group(2))
        if row > out.rows:
            out.rows = row
            out.farthest = f"{m.group(1).decode()}{row}"
        if col > out.columns:
            out.columns = col
            out.farthest = f"{m.group(1).decode()}{row}"
        if out.first_column == 0 or col < out.first_column:
            out.first_column = col


def _cell_start(data: bytes, pos: int) -> int:
    """Where the cell element holding position `pos` begins (`<c ` or `<x:c `), or -1."""
    plain = data.rfind(b"<c ", 0, pos)
    prefixed = data.rfind(b":c ", 0, pos)
    if prefixed > plain:
        return data.rfind(b"<", 0, prefixed)
    return plain


_CELL_END = re.compile(rb"</(?:\w+:)?c>")


def _cell_at(data: bytes, start: int) -> tuple[tuple[int, int] | None, bytes]:
    """The (row, column) of the cell element starting at `start`, and its content."""
    if start < 0:
        return None, b""
    head_end = data.find(b">", start)
    if head_end < 0:
        return None, b""
    ref = re.search(rb'\sr="([A-Z]{1,3})([0-9]{1,7})"', data[start:head_end + 1])
    content = b""
    if data[head_end - 1:head_end] != b"/":
        end = _CELL_END.search(data, head_end)
        content = data[head_end + 1:end.start()] if end else data[head_end + 1:]
    if ref is None:
        return None, content
    return (int(ref.group(2)), column_number(ref.group(1).decode())), content
