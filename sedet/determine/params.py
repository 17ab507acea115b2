"""How a profile declares its scoring matrix and its category method (docs/methods.md section 10).

A new state method is a new profile, not new code: factors name the measure rows they read and
map them to points with cut points; groups weight factors; a category method turns the
percentage (or an accountability level) into a category; conditions and overrides adjust it.

    [[factors]]
    id = "F3"
    title = "Child Find (Indicator 11)"
    measure = "timeline"
    points = [{ at_least = 1.0, points = 2 }, { at_least = 0.95, points = 1 }, { otherwise = 0 }]

    [determination]
    method = "percentile"
    categories = [{ label = "Meets Requirements", short = "MR", min_percentile = 6 },
                  { label = "Needs Assistance", short = "NA" }]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sedet.model import Strict

NOT_APPLICABLE = ["below_min_n", "below_min_cell", "no_data", "comparison_below_min"]


class PointRule(Strict):
    """One row of a points table; the first rule that matches gives the points.

    Exactly one test: `at_least` (value >= x), `above` (value > x), `at_most` (value <= x),
    `below` (value < x), `flag` (any of the factor's rows has this flag), `no_flag` (none has it),
    or `otherwise` (always matches; written `{ otherwise = 0 }`).
    """

    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None
    flag: str | None = None
    no_flag: str | None = None
    otherwise: bool = False
    points: float

    @model_validator(mode="before")
    @classmethod
    def _otherwise(cls, v: Any) -> Any:
        if isinstance(v, dict) and "otherwise" in v and "points" not in v and not isinstance(v["otherwise"], bool):
            return {"otherwise": True, "points": v["otherwise"]}
        return v


    @model_validator(mode="after")
    def _one_test(self) -> PointRule:
        given = (self.at_least, self.above, self.at_most, self.below, self.flag, self.no_flag)
        if sum(x is not None for x in given) + int(self.otherwise) != 1:
            raise ValueError("each points rule needs exactly one of at_least, above, at_most, below, flag, no_flag, "
                             "otherwise")
        return self


class Factor(Strict):
    id: str
    title: str
    group: str | None = None
    measure: str = Field(description="the measure rows this factor reads (measure column)")
    where: dict[str, str] = Field(
        default_factory=dict,
        description="qualifier filters: column -> value; 'all' means the row where the qualifier is empty "
        "(e.g. the LEA-wide row), '*' any value",
    )
    combine: Literal["only", "min", "max", "mean", "sum"] = Field(
        default="only", description="how several rows of an LEA become one value ('only': there must be one)"
    )
    score: Literal["points", "value"] = "points"
    points: list[PointRule] = Field(default_factory=list)
    max_points: float | None = None
    not_applicable: list[str] = Field(default_factory=lambda: list(NOT_APPLICABLE))
    source: str | None = None


    @model_validator(mode="after")
    def _check(self) -> Factor:
        if self.score == "points" and not self.points:
            raise ValueError(f"factor {self.id}: a points factor needs a points table")
        if self.score == "value" and self.max_points is None:
            raise ValueError(f"factor {self.id}: a value factor needs max_points (the top of its scale)")
        if self.score == "points" and not any(r.otherwise for r in self.points):
            raise ValueError(f"factor {self.id}: the points table needs a last rule {{ otherwise = ... }}")
        return self

    @property
    def uses_value(self) -> bool:
        """Whether the points depend on the value (not only on flags)."""
        return self.score == "value" or any(
            x is not None for r in self.points for x in (r.at_least, r.above, r.at_most, r.below)
        )

    @property
    def possible(self) -> float:
        return self.max_points if self.max_points is not None else max(r.points for r in self.points)


class Group(Strict):
    id: str
    title: str | None = None
    weight: float
    when_empty: str = Field(
        default="drop",
        description="'drop': leave the group out and renormalise the other weights; 'use:<group>': take that "
        "group's percentage",
    )


    @field_validator("when_empty")
    @classmethod
    def _when_empty(cls, v: str) -> str:
        if v != "drop" and not v.startswith("use:"):
            raise ValueError("when_empty is 'drop' or 'use:<group id>'")
        return v


class Category(Strict):
    label: str
    short: str
    min_percentile: float | None = None
    min_percentage: float | None = None
    op: Literal[">=", ">"] = ">="
    level: int | None = None
    by_method: bool = Field(
        default=True, description="false: never given by the method, only by a condition or an override (NJ: NI, NSI)"
    )
    tier: str | None = None
    tier_text: str | None = None



class Condition(Strict):
    """A rule that forces or worsens a category when an LEA's measure row says so."""

    id: str
    reason: str
    measure: str
    where: dict[str, str] = Field(default_factory=dict)
    flag: str | None = Field(default=None, description="holds when any selected row has this flag")
    value_at_least: float | None = Field(default=None, description="holds when a selected row's value is at least this")
    action: Literal["force", "escalate", "flag"] = Field(
        description="force: the category becomes `to`; escalate: becomes `to` if that is more serious; "
        "flag: the category stays, the reason is shown (e.g. MA's secondary analysis)"
    )
    to: str | None = Field(default=None, description="the short name of the category to force, or to escalate to")
    levels: list[int] | None = Field(default=None, description="apply only to LEAs at these accountability levels")
    label: str | None = Field(
        default=None,
        description="how the escalated category is shown; {level} and {to} are filled in, e.g. 'Level {level}-{to}'",
    )


    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if (self.flag is None) == (self.value_at_least is None):
            raise ValueError(f"condition {self.id}: give exactly one of flag, value_at_least")
        if (self.action == "flag") != (self.to is None):
            raise ValueError(f"condition {self.id}: 'to' is needed for force and escalate, and only for them")
        return self


class Determination(Strict):
    method: Literal["percentile", "cut_points", "level_alignment"]
    categories: list[Category] = Field(description="from the best category to the most serious")
    percentile_definition: Literal["strictly_lower", "at_or_below", "mid_rank"] = Field(
        default="strictly_lower",
        description="percentile rank of an LEA: 100 x share of LEAs with a strictly lower percentage (default), "
        "with a lower or equal one, or the mid-rank (lower + half of the equal, others)",
    )
    level_column: str = "accountability_level"
    overrides: bool = Field(default=True, description="apply case-by-case decisions from the overrides table")
    conditions: list[Condition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Determination:
        shorts = [c.short for c in self.categories]
        if len(set(shorts)) != len(shorts):
            raise ValueError("category short names must be unique")
        used = self.method_categories()
        if not used:
            raise ValueError("no category is given by the method (by_method = true)")
        if self.method == "percentile":
            if any(c.min_percentile is None for c in used[:-1]) or used[-1].min_percentile is not None:
                raise ValueError("percentile: every category the method gives but the last needs min_percentile; "
                                 "the last has none")
        if self.method == "cut_points":
            if any(c.min_percentage is None for c in used[:-1]) or used[-1].min_percentage is not None:
                raise ValueError("cut_points: every category the method gives but the last needs min_percentage; "
                                 "the last has none")
        if self.method == "level_alignment" and any(c.level is None for c in used):
            raise ValueError("level_alignment: every category needs the accountability level it aligns with")
        for cond in self.conditions:
            if cond.to is not None and cond.to not in shorts:
                raise ValueError(f"condition {cond.id}: 'to' = {cond.to!r} is not a category short name ({shorts})")
        return self

    def by_short(self, short: str) -> Category:
        return next(c for c in self.categories if c.short == short)

    def method_categories(self) -> list[Category]:
        return [c for c in self.categories if c.by_method]
