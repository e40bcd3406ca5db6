"""Database ids that arrive from outside, in URLs and on command lines.

Ids are integer columns: PostgreSQL's `integer` holds 1 to 2**31 - 1, and a larger number
sent to it is an error, not a miss. So every id from outside is checked against that range
first: out of range, a URL does not match (404) and a command refuses its argument.
"""

from typing import Any

import click
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1


class DbIdConverter(IntegerConverter):
    """`<dbid:name>` in a route: an id in range, else no match (a 404)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_ID)


class Count(click.ParamType):
    """A whole number typed on a command line, in `[low, high]`: ASCII digits only (Python's
    int() would read "١" as 1 and "1_0" as 10), and a clear refusal past the range instead
    of a database error."""

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and value.isascii() and value.isdigit():
            number = int(value) if len(value) <= 20 else self.high + 1
        else:
            self.fail(f"{value!r} is not a whole number.", param, ctx)
        if not self.low <= number <= self.high:
            self.fail(f"{value} is not between {self.low} and {self.high}.", param, ctx)
        return number


DB_ID = Count(1, MAX_ID)  # a click parameter type for ids
