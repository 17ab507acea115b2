"""The base of every parameter model: strict types, unknown keys refused, values frozen.

Measure modules declare their own parameter models on this base; `sedet.profile` assembles them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


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
