"""The base of every parameter model: strict types, unknown keys refused, values frozen.

Measure modules declare their own parameter models on this base; `sedet.profile` assembles them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def _as_float(v: Any) -> Any:
    """TOML writes 40 and 40.0 differently; a float parameter accepts either."""
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def as_float(v: Any) -> Any:
    """A field validator body: ints become floats (nested lists and dicts too)."""
    if isinstance(v, dict):
        return {k: as_float(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_float(x) for x in v]
    return _as_float(v)


class ReportingParams(Strict):
    """Public release (METHODS.md section 9; IDEA 618(b)(1)): what `--public` suppresses."""

    min_n: NonNegInt = Field(default=10, description="suppress a count or rate whose group has fewer students than this")
    token: str = Field(default="*", description="what a suppressed cell shows")
    top_bottom_coding: bool = Field(default=False, description="show high and low rates of mid-sized groups as bands")
    coding_min_n: NonNegInt = Field(default=40, description="top/bottom coding applies to groups of at least this size ...")
    coding_max_n: NonNegInt = Field(default=99, description="... and at most this size")
    top: float = Field(default=0.95, ge=0, le=1, description="a rate at or above this is shown as '>= 95%'")
    bottom: float = Field(default=0.05, ge=0, le=1, description="a rate at or below this is shown as '<= 5%'")

    @field_validator("token")
    @classmethod
    def _token(cls, v: str) -> str:
        # A token must not be blank nor read as a number: a reader would take a withheld cell for a value.
        if not v.strip():
            raise ValueError("the suppression token must not be blank")
        try:
            float(v)
        except ValueError:
            return v
        raise ValueError(f"the suppression token {v!r} reads as a number")
