"""The `sedet` command run in process, as the command-line tests run it (tests/ is on the path of every
test package): the result, after checking that no traceback reached the user."""

from __future__ import annotations

from typer.testing import CliRunner

from sedet.cli import app


def invoke(*args, code: int | None = None):
    """Run `sedet ARGS...`; with `code`, the exit code must be it."""
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert "Traceback" not in r.output
    if code is not None:
        assert r.exit_code == code, r.output
    return r
