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

import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sedet.model import NonNegInt, Strict

NOT_APPLICABLE = ["below_min_n", "below_min_cell", "no_data", "comparison_below_min"]


class PointRule(Strict):
    """One row of a points table; the first rule that matches gives the points.

    Exactly one test: `at_least` (value >= x), `above` (value > x), `at_most` (value <= x),
    `below` (value < x), `flag` (any of the factor's rows has this flag), `no_flag` (none has it),
    or `otherwise` (always matches; written `{ otherwise = 0 }`).
    """

    at_least: float | None = Field(default=None, description="matches a value >= this", examples=[0.95])
    above: float | None = Field(default=None, description="matches a value > this", examples=[0])
    at_most: float | None = Field(default=None, description="matches a value <= this", examples=[0.1])
    below: float | None = Field(default=None, description="matches a value < this", examples=[0.5])
    flag: str | None = Field(default=None, description="matches when a row of the factor has this flag",
                             examples=["identified"])
    no_flag: str | None = Field(default=None, description="matches when no row has this flag", examples=["met"])
    otherwise: bool = Field(default=False, description="always matches (the last rule; `{ otherwise = 0 }`)",
                            examples=[True])
    points: float = Field(description="the points when the rule matches", examples=[2])

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
    """One line of the scoring matrix: the measure rows it reads, how they become one value, and the
    points that value earns."""

    id: str = Field(description="short name, unique in the profile", examples=["F3"])
    title: str = Field(description="what the factor is, as the reports show it", examples=["Child Find (Indicator 11)"])
    group: str | None = Field(default=None, description="the [[groups]] id it counts in", examples=["results"])
    measure: str = Field(description="the measure rows this factor reads (measure column)", examples=["timeline"])
    where: dict[str, str] = Field(
        default_factory=dict,
        description="qualifier filters: column -> value; 'all' means the row where the qualifier is empty "
        "(e.g. the LEA-wide row), '*' any value",
    )
    combine: Literal["only", "min", "max", "mean", "sum"] = Field(
        default="only", description="how several rows of an LEA become one value ('only': there must be one)",
        examples=["min"],
    )
    score: Literal["points", "value"] = Field(default="points", description="points: from the points table; value: "
                                              "the value itself is the points (clipped to 0..max_points)",
                                              examples=["value"])
    points: list[PointRule] = Field(default_factory=list, description="the first rule that matches gives the points")
    max_points: float | None = Field(default=None, description="the top of a value factor's scale", examples=[4])
    not_applicable: list[str] = Field(default_factory=lambda: list(NOT_APPLICABLE),
                                      description="the row statuses that make the factor not applicable for an LEA",
                                      examples=[["below_min_n", "no_data"]])
    target: str | None = Field(default=None, description="the target as letters and reports state it (default: "
                               "read off the points table, e.g. '95.0% or more', docs/methods.md section 12)",
                               examples=["no significant discrepancy"])
    source: str | None = Field(default=None, description="where the factor comes from",
                               examples=["OSEP compliance scoring: >= 95% 2 points"])
    weight: float | None = Field(default=None, gt=0, description="how much the factor counts (default 1): its "
                                 "points and points possible are multiplied by it", examples=[2])
    value_of: Literal["this_year", "change_from_prior_year"] | None = Field(
        default=None, description="this_year (default): the value of the year determined; change_from_prior_year: "
        "that value minus the same rows' value a year before (from the bundle's earlier year; not applicable when "
        "either is missing), e.g. points for improvement", examples=["change_from_prior_year"])


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

    @property
    def weighted(self) -> float:
        return 1.0 if self.weight is None else self.weight


class Group(Strict):
    """A part of the matrix (results, compliance) with its weight in the LEA's percentage or score."""

    id: str = Field(description="what factors name in `group`", examples=["results"])
    title: str | None = Field(default=None, description="as the reports show it", examples=["Results"])
    weight: float = Field(description="its weight; the weights of the groups that apply are renormalised",
                          examples=[0.5])
    when_empty: str = Field(examples=["use:compliance"],
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
    """A category of the method, from the best to the most serious."""

    label: str = Field(description="its name, as the reports show it", examples=["Meets Requirements"])
    short: str = Field(description="short name, unique (what conditions and overrides name)", examples=["MR"])
    min_percentile: float | None = Field(default=None, description="percentile method: the lowest percentile "
                                         "placed here", examples=[6])
    min_percentage: float | None = Field(default=None, description="cut points: the lowest percentage (0-100) "
                                         "placed here", examples=[80])
    min_score: float | None = Field(default=None, description="cut point on the profile's own score "
                                    "([determination.score]), on its scale", examples=[3])
    op: Literal[">=", ">"] = Field(default=">=", description="how the value meets the cut point: >= (at or above, "
                                   "the default) or > (strictly above: a value exactly on the cut falls below)",
                                   examples=[">"])
    level: int | None = Field(default=None, description="level alignment: the accountability level it aligns with",
                              examples=[1])
    by_method: bool = Field(
        default=True, description="false: never given by the method, only by a condition or an override (NJ: NI, NSI)",
        examples=[False],
    )
    tier: str | None = Field(default=None, description="the support tier it carries", examples=["Tier 1"])
    tier_text: str | None = Field(default=None, description="what that tier means for the LEA",
                                  examples=["universal technical assistance"])



Test = Literal[">=", ">", "<=", "<", "==", "!=", "is_true", "is_false", "is_missing", "has_flag", "lacks_flag"]
COMPARISONS = (">=", ">", "<=", "<", "==", "!=")
# the one-key spellings of a test (`value_at_least = 1` is `test = ">=", value = 1`)
SHORTHANDS: dict[str, Test] = {
    "value_at_least": ">=", "value_above": ">", "value_at_most": "<=", "value_below": "<", "value_equals": "==",
    "flag": "has_flag", "no_flag": "lacks_flag",
}


class Consecutive(Strict):
    """The same category (or a more serious one) this year and in each of the years before it, from
    the bundle's `history` table of earlier official determinations."""

    category: str = Field(description="the short name of the category", examples=["NA"])
    years: int = Field(ge=2, description="how many consecutive years, this year included", examples=[3])
    or_worse: bool = Field(default=True, description="a more serious category counts as the same", examples=[True])


class Condition(Strict):
    """A rule that forces or worsens a category, or only shows a reason, when an LEA's rows say so.

    It selects what it reads with one of `measure` (+ `where`), `fact` (a compliance fact) or
    `consecutive` (this year's category and the `history` table), and tests the selected rows with
    `test` and `value`, or a one-key shorthand (`value_at_least = 1`, `flag = "exceeds"`).
    """

    id: str = Field(examples=["goal-not-met"])
    reason: str = Field(description="shown with the LEA's category", examples=["minimum performance goal not met"])
    measure: str | None = Field(default=None, description="the measure rows it reads (measure column)",
                                examples=["compliance_fact"])
    fact: str | None = Field(default=None, description="a compliance fact it reads (the same as measure = "
                             "\"compliance_fact\" with where = { category = <fact> })",
                             examples=["met_minimum_performance_goal"])
    where: dict[str, str] = Field(default_factory=dict, description="qualifier filters, as a factor's",
                                  examples=[{"category": "significant_noncompliance"}])
    consecutive: Consecutive | None = Field(default=None, description="holds on a run of years in one category")
    test: Test | None = Field(
        default=None, description="how the selected rows are tested: a comparison of the value with `value` (>=, >, "
        "<=, <, ==, != ; a date compares with a date fact, a text with a code or flag), is_true / is_false (a yes/no "
        "fact), is_missing (no row with a value), has_flag / lacks_flag (`value` is the flag)", examples=["is_false"])
    value: float | str | datetime.date | None = Field(default=None, description="what the test compares with",
                                                      examples=[2.0])
    over: Literal["any", "all"] | None = Field(
        default=None, description="any (default): holds when one selected row passes; all: when every selected row "
        "with a value passes, and there is one", examples=["all"])
    value_at_least: float | None = Field(default=None, description="shorthand: test = \">=\"", examples=[1])
    value_above: float | None = Field(default=None, description="shorthand: test = \">\"", examples=[0])
    value_at_most: float | None = Field(default=None, description="shorthand: test = \"<=\"", examples=[0.5])
    value_below: float | None = Field(default=None, description="shorthand: test = \"<\"", examples=[0.95])
    value_equals: float | None = Field(default=None, description="shorthand: test = \"==\"", examples=[0])
    flag: str | None = Field(default=None, description="shorthand: test = \"has_flag\"", examples=["exceeds"])
    no_flag: str | None = Field(default=None, description="shorthand: test = \"lacks_flag\"", examples=["yes"])
    action: Literal["force", "escalate", "flag"] = Field(
        description="force: the category becomes `to`; escalate: becomes `to` if that is more serious; "
        "flag: the category stays, the reason is shown (e.g. MA's secondary analysis)", examples=["escalate"]
    )
    to: str | None = Field(default=None, description="the short name of the category to force, or to escalate to",
                           examples=["NI"])
    levels: list[int] | None = Field(default=None, description="apply only to LEAs at these accountability levels",
                                     examples=[[3, 4, 5]])
    label: str | None = Field(
        default=None,
        description="how the escalated category is shown; {level} and {to} are filled in, e.g. 'Level {level}-{to}'",
        examples=["Level {level}-{to}"],
    )

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        sources = [k for k in ("measure", "fact", "consecutive") if getattr(self, k) is not None]
        if len(sources) != 1:
            raise ValueError(f"condition {self.id}: give exactly one of measure, fact, consecutive (found "
                             f"{', '.join(sources) or 'none'})")
        if self.fact is not None and self.where:
            raise ValueError(f"condition {self.id}: a fact condition takes no `where`")
        tests = [k for k in ("test", *SHORTHANDS) if getattr(self, k) is not None]
        if self.consecutive is not None:
            if tests or self.over is not None:
                raise ValueError(f"condition {self.id}: a consecutive condition takes no test")
        elif len(tests) != 1:
            raise ValueError(f"condition {self.id}: give exactly one test: test (with value), or one of "
                             f"{', '.join(SHORTHANDS)} (found {', '.join(tests) or 'none'})")
        test, value = self.effective()
        needs_value = test in COMPARISONS or test in ("has_flag", "lacks_flag")
        if self.test is not None and needs_value != (value is not None):
            raise ValueError(f"condition {self.id}: test {test!r} " + ("needs a value" if needs_value else
                                                                       "takes no value"))
        if test in ("<", "<=", ">", ">=") and isinstance(value, str):
            raise ValueError(f"condition {self.id}: {test} compares with a number or a date, not a text")
        if test in ("has_flag", "lacks_flag") and not isinstance(value, str):
            raise ValueError(f"condition {self.id}: {test} needs the flag as a text")
        if (self.action == "flag") != (self.to is None):
            raise ValueError(f"condition {self.id}: 'to' is needed for force and escalate, and only for them")
        return self

    def effective(self) -> tuple[Test | None, float | str | datetime.date | None]:
        """The test and the value it compares with, whichever way they were written."""
        if self.test is not None:
            return self.test, self.value
        for key, test in SHORTHANDS.items():
            if getattr(self, key) is not None:
                return test, getattr(self, key)
        return None, None

    def selection(self) -> tuple[str, dict[str, str]]:
        """The measure rows it reads: (measure, where)."""
        if self.fact is not None:
            return "compliance_fact", {"category": self.fact}
        return self.measure or "", self.where


class Score(Strict):
    """The state's own score: the weighted mean of the factors' points, on their own scale (e.g. a
    0-4 composite), instead of a percentage of points possible. With groups, each group's mean,
    then the groups weighted as for percentages."""

    name: str = Field(description="what the state calls it, as the reports show it", examples=["Overall score"])
    of: Literal["weighted_mean"] = Field(
        default="weighted_mean", description="weighted_mean: sum of weight x points / sum of weights, over the "
        "factors that apply", examples=["weighted_mean"])
    scale_min: float = Field(default=0, description="the lowest score possible", examples=[0])
    scale_max: float = Field(description="the highest score possible", examples=[4])
    decimals: NonNegInt = Field(default=2, description="decimals shown", examples=[2])


class Determination(Strict):
    """How the category is decided: the method, the categories, the conditions and overrides."""

    method: Literal["percentile", "cut_points", "level_alignment"] = Field(
        description="percentile: rank on the percentage (or score); cut_points: fixed bounds; level_alignment: the "
        "accountability level of the districts table", examples=["cut_points"])
    score: Score | None = Field(default=None, description="the state's own score; cut points are then min_score")
    categories: list[Category] = Field(description="from the best category to the most serious")
    percentile_definition: Literal["strictly_lower", "at_or_below", "mid_rank"] = Field(
        default="strictly_lower", examples=["strictly_lower"],
        description="percentile rank of an LEA: 100 x share of LEAs with a strictly lower percentage (default), "
        "with a lower or equal one, or the mid-rank (lower + half of the equal, others)",
    )
    level_column: Literal["accountability_level"] = Field(
        default="accountability_level", examples=["accountability_level"],
        description="the districts column of the level: accountability_level, the one the districts table has "
        "(any other name is refused rather than ignored)")
    overrides: bool = Field(default=True, description="apply case-by-case decisions from the overrides table",
                            examples=[True])
    conditions: list[Condition] = Field(default_factory=list, description="applied in the order written, to every "
                                        "LEA (those the method could not place too), before the overrides")

    @model_validator(mode="after")
    def _check(self) -> Determination:
        shorts = [c.short for c in self.categories]
        if len(set(shorts)) != len(shorts):
            raise ValueError("category short names must be unique")
        used = self.method_categories()
        if not used:
            raise ValueError("no category is given by the method (by_method = true)")
        key = {"percentile": "min_percentile", "cut_points": "min_percentage" if self.score is None else "min_score"}
        if self.method in key:
            bound = key[self.method]
            if any(getattr(c, bound) is None for c in used[:-1]) or getattr(used[-1], bound) is not None:
                raise ValueError(f"{self.method}: every category the method gives but the last needs {bound}; "
                                 "the last has none")
        if self.score is None and any(c.min_score is not None for c in self.categories):
            raise ValueError("min_score needs a [determination.score] (the scale it is written on)")
        if self.method == "level_alignment" and any(c.level is None for c in used):
            raise ValueError("level_alignment: every category needs the accountability level it aligns with")
        for cond in self.conditions:
            if cond.to is not None and cond.to not in shorts:
                raise ValueError(f"condition {cond.id}: 'to' = {cond.to!r} is not a category short name ({shorts})")
            if cond.consecutive is not None and cond.consecutive.category not in shorts:
                raise ValueError(f"condition {cond.id}: consecutive.category = {cond.consecutive.category!r} is not "
                                 f"a category short name ({shorts})")
        return self

    def by_short(self, short: str) -> Category:
        return next(c for c in self.categories if c.short == short)

    def method_categories(self) -> list[Category]:
        return [c for c in self.categories if c.by_method]
