"""Which Node.js major an upgrade moves to: the smallest move that reaches a supported line.

An end-of-life major moves to the oldest line in long-term support with at least 12 months of
support left (`lts-oldest`): the move most engineers, and the LTS-aware policies of Renovate and
Dependabot, would make. On 2026-12-06 that is Node.js 24 (supported until 2028-04-30), whose
images still bundle Yarn v1 and Corepack; Node.js 22 leaves support within five months and
would need another upgrade soon. `lts-newest` names the newest line in LTS instead (what DF001
makes a floating `node:lts` tag say explicitly).

package.json's `engines.node` bounds the choice: when the policy's line does not satisfy it, the
newest supported LTS line that does is taken; when none does, there is no upgrade, and the
finding says why. `--node-version` and the configuration's `node-version` override all of it:
a major (`22`), `lts-oldest` or `lts-newest`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..context import LTS_NEWEST, LTS_OLDEST, RuleContext
from ..sources.semver import Interval, InvalidRangeError, InvalidVersionError, SemverRange, Version, parse_node_version

_POLICY_NAMES = {
    LTS_OLDEST: "the oldest LTS line with at least 12 months of support left",
    LTS_NEWEST: "the newest LTS line",
}


@dataclass(frozen=True, slots=True)
class Target:
    """The major to move to, and how the message explains the choice (`why`, with its end date)."""

    major: int
    why: str
    chosen_by_default: bool  # the run's default policy, no option and no engines.node bound


@dataclass(frozen=True, slots=True)
class NoTarget:
    """Why no supported major may be moved to."""

    reason: str


def engines_node(ctx: RuleContext) -> SemverRange | None:
    """package.json's `engines.node` range; None when there is none, or it is not a range npm reads."""
    engines = (ctx.project.package_json or {}).get("engines")
    text = engines.get("node") if isinstance(engines, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return SemverRange.parse(text.strip())
    except InvalidRangeError:
        return None


def allows_major(engines: SemverRange, major: int) -> bool:
    """Whether some release of the line `major` satisfies the range."""
    line = Interval(Version(major, 0, 0), Version(major + 1, 0, 0))
    return any(not interval.intersect(line).is_empty for interval in engines.intervals)


def upgrade_target(ctx: RuleContext, *, default: str = LTS_OLDEST) -> Target | NoTarget:
    """The major an upgrade moves to: the options' choice, else the `default` policy within engines.node."""
    data = ctx.services.node_data
    today = ctx.today
    chosen = (ctx.options.node_version or "").strip()
    if chosen and chosen not in _POLICY_NAMES:
        try:
            major = parse_node_version(chosen).major
        except InvalidVersionError:
            pass
        else:
            return Target(major, "the major the options name", chosen_by_default=False)
    policy = chosen or default
    major = data.oldest_lts_major(today) if policy == LTS_OLDEST else data.active_lts_major(today)
    engines = engines_node(ctx)
    if engines is None or allows_major(engines, major):
        return Target(major, _until(ctx, _POLICY_NAMES[policy], major), chosen_by_default=not chosen)
    allowed = [m for m in data.supported_lts_majors(today) if allows_major(engines, m)]
    if not allowed:
        lines = ", ".join(str(m) for m in data.supported_lts_majors(today))
        return NoTarget(f"package.json's engines.node `{engines}` allows none of the supported LTS lines ({lines})")
    newest = max(allowed)
    why = f"the newest supported LTS line package.json's engines.node `{engines}` allows"
    return Target(newest, _until(ctx, why, newest), chosen_by_default=False)


def _until(ctx: RuleContext, why: str, major: int) -> str:
    end = ctx.services.node_data.end_of_life_date(major)
    return f"{why}, until {end.isoformat()}" if end is not None else why
