"""Money is integer minor units plus an explicit currency; Babel formats it for people."""

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Minor units (pence, cents) to a Decimal in major units for the currency."""
    digits = get_currency_precision(currency.upper())
    return Decimal(amount_minor).scaleb(-digits)


def format_money(amount_minor: int, currency: str, locale: str = "en_GB") -> str:
    """Format e.g. (2000, "gbp") as "£20.00"."""
    return format_currency(to_major(amount_minor, currency), currency.upper(), locale=locale)
