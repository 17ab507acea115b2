"""What a long run says it is doing: phases, and counts within a phase (docs/design.md section 8).

The library reports through a `Steps`; the CLI hands it one that draws rich progress bars on a
terminal (sedet/cli.py), and every other caller gets the silent one, `SILENT`. A phase is named for
what it does at the time it is named: a label is never left standing over work it does not describe.
"""

from __future__ import annotations


class Steps:
    """Receives the phases of a run and the counts within them; this base class ignores them."""

    def phase(self, what: str, total: int | None = None) -> None:
        """A new phase begins (the previous one has ended); `total`: the items it will count, if known."""

    def advance(self, n: int = 1, what: str | None = None) -> None:
        """`n` more items of the current phase are done; `what`: a new description of the phase."""


SILENT = Steps()
