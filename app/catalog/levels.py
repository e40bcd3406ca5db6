"""What each account level gives, and what it costs to reach: the upgrade comparison."""

from dataclasses import dataclass

from app.auth.models import Level
from app.catalog import Offer, offer

PERKS: dict[Level, tuple[str, ...]] = {
    Level.MEMBER: (
        "Post and comment",
        "Standard upload size",
    ),
    Level.GOLD: (
        "Everything in Member",
        "Premium access, for good",
        "Gold badge on your profile",
        "Larger uploads",
    ),
    Level.PLATINUM: (
        "Everything in Gold",
        "Platinum badge on your profile",
        "Largest uploads",
        "Early access to new features",
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
