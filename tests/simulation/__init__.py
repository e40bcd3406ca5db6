"""A life simulation (issue 19): N users living M months on the Stripe emulator's calendar,
driving the app through its pages as people do, with every event delivered duplicated and
shuffled, and invariants checked after each step.

    python -m tests.simulation --users 300 --months 18 --seed 7    # `make simulate`

`tests/test_life_simulation.py` runs a small one in `make test`, on SQLite and (with
TEST_DATABASE_URL) PostgreSQL. The modules: `world` (the app, the emulator's clock, the
courier that delivers events, the worker), `people` (a person's browser and actions),
`life` (the seeded choices and the loop), `invariants`, `report`.
"""

import os

from tests.simulation.life import Settings, simulate

__all__ = ["Settings", "app_config", "memory_backed", "simulate"]


def memory_backed() -> str | None:
    """/dev/shm where there is one, for a SQLite file: the app syncs every commit to disk
    (as it should), which a throwaway database need not wait for."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def app_config(database_url: str, emulator_url: str, smtp_port: int) -> dict:
    """The app's configuration for a simulation (pass to `tests.conftest.test_config`)."""
    from tests.simulation.world import API_KEY, WEBHOOK_SECRET

    return {
        "STRIPE_SECRET_KEY": API_KEY, "BILLING_ENABLED": True,
        "STRIPE_API_BASE": emulator_url, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port,
        "SITE_URL": "http://lumen.test",
        # A simulated year passes in a minute of wall time: limits counted per wall-clock
        # minute would refuse people who, in their own time, act weeks apart.
        "RATELIMIT_ENABLED": False,
    }
