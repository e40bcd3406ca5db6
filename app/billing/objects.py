"""Typed, strictly validated views of Stripe objects: the one way code reads them.

A view declares only the fields its reader uses, with the types Stripe documents, and
nothing is coerced: the string "false" is not a boolean, 1e3 is not an integer, and a
receipt link that is not https is not a receipt link. Anything else in the object is
ignored. `parse` turns a validation failure into `MalformedObject`, whose message names
the field ("malformed: data.object.metadata.upgrade_id is not an integer id"); a webhook
carrying one is kept as failed, since no retry of the same bytes can succeed.

Feature packages define their views beside the handlers that read them, on `StripeView`
and the field types below.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

# The largest id a database integer column holds on every backend we run (PostgreSQL's
# `integer`); an id past it cannot name one of our rows.
MAX_DB_ID = 2**31 - 1
# Unix seconds from 1970 to the end of 9999: everything `datetime` can represent.
MAX_TIMESTAMP = 253_402_300_799
# The largest amount in minor units we keep: what an integer column holds on every backend
# (as for ids). Stripe's own limit is below it (eight digits: 99,999,999); an object with
# more is malformed, refused before it reaches a column it would overflow (a 500 that
# Stripe would retry for ever).
MAX_AMOUNT = MAX_DB_ID


class MalformedObject(ValueError):
    """A Stripe object (or event) that does not have the documented shape."""


class StripeView(BaseModel):
    """Base of every view: strict types, unknown fields ignored, immutable."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def _db_id(value: Any) -> int:
    # isdigit() alone would take "²"; int() alone would take " 7", "+7" and "7_0".
    if not (isinstance(value, str) and value.isascii() and value.isdigit()
            and len(value) <= 10 and 1 <= int(value) <= MAX_DB_ID):
        raise PydanticCustomError("db_id", "is not an integer id")
    return int(value)


def _id_of_expanded(value: Any) -> Any:
    # An expandable field holds an id, or the object itself when the request expanded it.
    if isinstance(value, Mapping) and "id" in value:
        return value["id"]
    return value


# Stripe ids are short ASCII words like "ch_3Pq…" or "cs_test_a1…".
StripeId = Annotated[str, StringConstraints(min_length=1, max_length=255,
                                            pattern=r"^[A-Za-z0-9_]+$")]
# The id of an expandable field, whether it came expanded or not.
ExpandableId = Annotated[StripeId, BeforeValidator(_id_of_expanded)]
Currency = Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")]
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
Timestamp = Annotated[int, Field(ge=0, le=MAX_TIMESTAMP)]
# A link we may show: https, or plain http to this machine (only the local emulator, in
# development and tests, serves receipts so). Never javascript:, data: or the like.
HttpsUrl = Annotated[str, StringConstraints(
    max_length=2048, pattern=r"^(https://|http://(127\.0\.0\.1|localhost)[:/])[^\s<>\"'`]+$")]
# An id of one of our rows, as we write it into Stripe metadata (a decimal string).
DbId = Annotated[int, BeforeValidator(_db_id)]
Metadata = dict[str, str]


def db_id_or_none(value: str | None) -> int | None:
    """A metadata value as one of our row ids, or None when it is not one (absent, or
    written by another app sharing the Stripe account)."""
    try:
        return _db_id(value)
    except PydanticCustomError:
        return None


def as_datetime(timestamp: int) -> datetime:
    """A validated `Timestamp` as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC)


V = TypeVar("V", bound=StripeView)


def parse(view: type[V], obj: Any, where: str) -> V:
    """`obj` read through `view`; MalformedObject naming the first bad field otherwise."""
    try:
        return view.model_validate(obj)
    except ValidationError as exc:
        raise MalformedObject(describe(exc, where)) from None


def describe(exc: ValidationError, where: str) -> str:
    """One sentence for operators: the path of the bad field and what is wrong with it."""
    errors = exc.errors(include_url=False, include_input=False)
    # A union reports one error per member; the deepest is the most telling.
    error = max(errors, key=lambda e: len(_field_path(e["loc"])))
    path = ".".join([*([where] if where else []), *_field_path(error["loc"])])
    message = error["msg"]
    if error["type"] != "db_id":
        message = "is invalid: " + message[0].lower() + message[1:]
    return f"malformed: {path} {message}"


def _field_path(loc: tuple[int | str, ...]) -> list[str]:
    # Pydantic puts union members (a view's class name, "str", "function-before[…]") in the
    # location; operators want the field path as it is in Stripe's JSON.
    views = _subclass_names(StripeView)
    return [str(part) for part in loc if not (
        isinstance(part, str) and (part in views or part in _TYPE_TAGS or "[" in part
                                   or part.startswith("constrained-")))]


_TYPE_TAGS = {"str", "int", "bool", "float", "dict", "list", "none", "literal"}


def _subclass_names(cls: type) -> set[str]:
    names: set[str] = set()
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        names |= {sub.__name__} | _subclass_names(sub)
    return names
