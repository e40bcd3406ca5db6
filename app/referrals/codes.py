"""Referral codes: short, random, easy to read aloud (no 0/o, 1/l/i)."""

import re
import secrets

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LENGTH = 8  # 31**8, about 8.5e11 codes
SHAPE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalised(text: str) -> str | None:
    """A code as typed or linked (any case), or None if it cannot be one."""
    code = text.strip().lower()
    return code if SHAPE.fullmatch(code) else None
