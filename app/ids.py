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


DB_ID = click.IntRange(1, MAX_ID)  # a click parameter type for ids
