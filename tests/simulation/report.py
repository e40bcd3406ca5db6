"""What a simulation found: counts, invariants checked, violations, and the time it took."""

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Violation:
    day: int  # the simulated day (0 is the first)
    date: str  # its UTC date
    user: str  # "@name (id N)", or "-" for the whole world
    invariant: str
    detail: str
    user_id: int | None = None

    def __str__(self) -> str:
        return f"day {self.day} ({self.date}) {self.user}: [{self.invariant}] {self.detail}"


@dataclass
class Report:
    seed: int
    users: int
    months: int
    database: str
    days: int = 0
    actions: Counter = field(default_factory=Counter)  # "subscribe monthly: ok" -> n
    checked: Counter = field(default_factory=Counter)  # invariant -> checks made
    violations: list[Violation] = field(default_factory=list)
    # What happened to each user, in order (actions, and the events delivered about them
    # in the order they were posted): printed for the users a violation names.
    stories: dict[int, list[str]] = field(default_factory=dict)
    events: int = 0  # distinct Stripe events delivered
    deliveries: int = 0  # webhook posts, duplicates and retries included
    failed_deliveries: int = 0  # answered non-2xx (then retried)
    jobs: int = 0  # outbox jobs run by the worker
    emails: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def violate(self, violation: Violation) -> None:
        self.violations.append(violation)

    def text(self, limit: int = 5) -> str:
        """The report; `limit` examples of each invariant's violations."""
        lines = [
            f"Life simulation: seed {self.seed}, {self.users} users, {self.months} months "
            f"({self.days} days) on {self.database}",
            f"  Stripe events delivered: {self.events} ({self.deliveries} webhook posts with "
            f"duplicates and retries; {self.failed_deliveries} answered non-2xx and retried)",
            f"  worker jobs run: {self.jobs}; e-mails sent: {self.emails}",
            f"  actions: {sum(self.actions.values())}",
        ]
        lines += [f"    {name}: {n}" for name, n in sorted(self.actions.items())]
        lines.append(f"  invariants checked: {sum(self.checked.values())}")
        lines += [f"    {name}: {n}" for name, n in sorted(self.checked.items())]
        lines.append(f"  violations: {len(self.violations)}")
        by_kind: dict[str, list[Violation]] = {}
        for v in self.violations:
            by_kind.setdefault(v.invariant, []).append(v)
        for name, found in sorted(by_kind.items()):
            lines.append(f"    {name}: {len(found)}")
            lines += [f"      {v}" for v in found[:limit]]
            if len(found) > limit:
                lines.append(f"      … and {len(found) - limit} more")
        lines.append(f"  time: {self.seconds:.1f} s")
        return "\n".join(lines)

    def traces(self, limit: int = 5) -> str:
        """The stories of the first users a violation names."""
        named = list(dict.fromkeys(v.user_id for v in self.violations
                                   if v.user_id is not None))[:limit]
        parts = []
        for user_id in named:
            parts.append(f"Story of user {user_id}:")
            parts += [f"  {line}" for line in self.stories.get(user_id, [])]
        return "\n".join(parts)
