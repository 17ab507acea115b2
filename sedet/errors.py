"""Errors a user can cause, each with its exit code and a message that says where and what.

A user's mistake never ends in a Python traceback: the CLI catches `SedetError`
and prints its message. Anything else is a bug in sedet (exit code 70).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not at run time: `sedet --help` starts without polars, which sedet.model imports
    from sedet.model import Problem

# Exit codes (documented in the README; cron jobs and tests rely on them).
EXIT_OK = 0
EXIT_INVALID_DATA = 1  # the bundle failed validation
EXIT_USAGE = 2  # bad command line, unknown or invalid profile
EXIT_OUTPUT = 3  # the output folder could not be written
EXIT_INTERNAL = 70  # a bug in sedet (EX_SOFTWARE)

DEFAULT_LIMIT = 100  # problems listed before stopping (--limit)


class SedetError(Exception):
    """Base class: an error caused by input, profile or command line."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(SedetError):
    exit_code = EXIT_USAGE


class ProfileError(SedetError):
    """A profile that cannot be loaded: unknown key, missing parameter, wrong type."""

    exit_code = EXIT_USAGE


class OutputError(SedetError):
    exit_code = EXIT_OUTPUT


class BundleError(SedetError):
    """The bundle has problems; `problems` lists them (at most `limit`, `truncated` if more)."""

    exit_code = EXIT_INVALID_DATA

    def __init__(self, problems: list[Problem], truncated: bool = False, total: int | None = None):
        self.problems = problems
        self.truncated = truncated
        self.total = total if total is not None else len(problems)
        first = str(problems[0]) if problems else "no details"
        more = f" (and {self.total - 1} more problems)" if self.total > 1 else ""
        super().__init__(f"invalid input: {first}{more}")
