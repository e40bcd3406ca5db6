"""The one answer to "what does this user have, and why". Pages, CLI and tests use it."""

from dataclasses import dataclass, field
from datetime import datetime

from app.auth.models import Level, User


@dataclass(frozen=True)
class Source:
    """One reason a user has Premium access; `until` is None when it never ends."""

    kind: str  # "level" now; "subscription" and "credit" join later
    label: str
    until: datetime | None = None


@dataclass(frozen=True)
class Access:
    level: Level
    sources: tuple[Source, ...] = field(default_factory=tuple)

    @property
    def premium(self) -> bool:
        return bool(self.sources)

    @property
    def until(self) -> datetime | None:
        """When Premium access ends if nothing changes; None if it never does (or is absent)."""
        if not self.sources or any(s.until is None for s in self.sources):
            return None
        return max(s.until for s in self.sources)

    def as_dict(self) -> dict:
        return {
            "level": self.level.value,
            "premium": self.premium,
            "until": self.until.isoformat() if self.until else None,
            "sources": [
                {"kind": s.kind, "label": s.label,
                 "until": s.until.isoformat() if s.until else None}
                for s in self.sources
            ],
        }


def access_for(user: User | None) -> Access:
    """Everything the user is entitled to, with the reasons."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Access(level=Level.MEMBER)
    sources: list[Source] = []
    if Level.GOLD <= user.level:
        sources.append(Source("level", f"{user.level.label} level (never expires)"))
    return Access(level=user.level, sources=tuple(sources))
