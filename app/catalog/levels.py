"""What each account level gives, and what it costs to reach: the upgrade comparison."""

from dataclasses import dataclass

from app.auth.models import Level
from app.catalog import Offer, offer

# Only what the app really gives: a level's badge and, from Gold, Premium for good.
PERKS: dict[Level, tuple[str, ...]] = {
    Level.MEMBER: (
        "A free account",
        "Premium by subscription or referral credit",
    ),
    Level.GOLD: (
        "Premium access, for good",
        "A Gold badge beside your name",
        "One payment, nothing to renew",
    ),
    Level.PLATINUM: (
        "Premium access, for good",
        "A Platinum badge beside your name",
        "One payment, nothing to renew",
    ),
}

# The catalog item that takes a user from one level to another.
UPGRADE_PATHS: dict[tuple[Level, Level], str] = {
    (Level.MEMBER, Level.GOLD): "gold",
    (Level.MEMBER, Level.PLATINUM): "platinum",
    (Level.GOLD, Level.PLATINUM): "gold_to_platinum",
}


@dataclass(frozen=True)
class Column:
    level: Level
    perks: tuple[str, ...]
    offer: Offer | None  # the list price of reaching this level from Member


def comparison() -> list[Column]:
    """Member / Gold / Platinum, each with its perks and one-time price."""
    return [
        Column(level, PERKS[level],
               offer(UPGRADE_PATHS[(Level.MEMBER, level)]) if level != Level.MEMBER else None)
        for level in Level
    ]
