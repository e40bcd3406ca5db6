"""Decode Stripe's form encoding (bracket notation) and check it against a schema.

The SDK sends `a[b][0][c]=v` and `expand[0]=x` (the list URLs it is given back carry
`expand[]=x`). Endpoints declare what they accept as a small schema; anything else is
refused with `parameter_unknown`, as real Stripe does, so the app cannot come to rely on a
parameter Stripe would reject.

Schema language: a leaf is "str", "int", "bool", "map" (metadata: a flat string map
within Stripe's metadata limits) or "any"; a dict maps allowed keys to schemas; a
one-element list means "list of that schema"; a tuple of strings is an enum of allowed
values; `Timestamp(*words)` is an integer or one of those words (`trial_end=now`).
"""
import re

from .errors import InvalidRequest, invalid_param, over_limit, unknown_param

# Stripe's metadata limits (https://docs.stripe.com/api/metadata).
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500


class Removed:
    """A parameter the current API version no longer takes, refused with its own code."""

    def __init__(self, code, message):
        self.code, self.message = code, message


PAYMENT_METHOD_TYPES_REMOVED = Removed(
    "payment_method_types_no_longer_supported",
    "`payment_method_types` is no longer supported in this API version. Use "
    "`allowed_payment_method_types` or `excluded_payment_method_types`, or manage "
    "payment methods from the Dashboard (dynamic payment methods).")


class Timestamp:
    """A Unix timestamp that may also be one of a few words (or "" to unset, when
    `clearable`)."""

    def __init__(self, *words, clearable=False):
        self.words, self.clearable = words, clearable

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def decode(pairs):
    """Turn (key, value) pairs into a tree of dicts; list indices stay string keys."""
    tree = {}
    for raw_key, value in pairs:
        head, _, rest = raw_key.partition("[")
        path = [head] + (_SEGMENT.findall("[" + rest) if rest else [])
        node = tree
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if part == "":  # `expand[]`: append
                part = str(len(node))
            if last:
                node[part] = value
            else:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = node[part] = {}
                node = nxt
    return tree


def validate(tree, schema, prefix=""):
    """Check a decoded tree against a schema; return it with types coerced."""
    out = {}
    for key, value in tree.items():
        name = f"{prefix}[{key}]" if prefix else key
        if key not in schema:
            raise unknown_param(name)
        out[key] = _coerce(value, schema[key], name)
    return out


def _coerce(value, schema, name):
    if isinstance(schema, dict):
        if value == "":
            return None
        if isinstance(value, str) and schema is RANGE:
            exact = _int(value, name)  # `created=123` means exactly that second
            return {"gte": exact, "lte": exact}
        if not isinstance(value, dict):
            raise invalid_param(name, f"Invalid object: {name} must be a hash")
        return validate(value, schema, name)
    if isinstance(schema, list):
        if value == "":
            return []
        if not isinstance(value, dict) or not all(k.isdigit() for k in value):
            raise invalid_param(name, f"Invalid array: {name} must be an array")
        items = [value[k] for k in sorted(value, key=int)]
        return [_coerce(v, schema[0], f"{name}[{i}]") for i, v in enumerate(items)]
    if isinstance(schema, Removed):
        exc = InvalidRequest(schema.message, code=schema.code, param=name)
        exc.validation = True
        raise exc
    if isinstance(schema, Timestamp):
        if value == "" and schema.clearable:
            return ""
        if value in schema.words:
            return value
        if _int(value, name) is None:
            raise invalid_param(name, f"Invalid {name}: must be an integer Unix "
                                      "timestamp")
        return _int(value, name)
    if isinstance(schema, tuple):
        if value not in schema:
            allowed = ", ".join(f"`{v}`" for v in schema)
            raise invalid_param(name, f"Invalid {name}: must be one of {allowed}")
        return value
    return _LEAVES[schema](value, name)


def _str(value, name):
    if isinstance(value, dict):
        raise invalid_param(name, f"Invalid string: {name} must be a string")
    return value


def _int(value, name):
    if value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_param(name, f"Invalid integer: {value}") from None


def _bool(value, name):
    if value in ("true", "false"):
        return value == "true"
    raise invalid_param(name, f"Invalid boolean: {value}")


def _map(value, name):
    if value == "":
        return {}
    if not isinstance(value, dict) or any(isinstance(v, dict) for v in value.values()):
        raise invalid_param(name, f"Invalid hash: {name} must be a flat map of strings")
    check_metadata(value, name)
    return dict(value)


def check_metadata(metadata, name="metadata"):
    """Refuse metadata over Stripe's limits, in Stripe's words."""
    if len(metadata) > METADATA_MAX_KEYS:
        raise over_limit(name, f"Metadata can have up to {METADATA_MAX_KEYS} keys, but "
                               f"you've set {len(metadata)}.")
    for key, value in metadata.items():
        if len(key) > METADATA_MAX_KEY_LENGTH:
            raise over_limit(name, f"Invalid key: {key} must be a string under "
                                   f"{METADATA_MAX_KEY_LENGTH} characters")
        if len(value) > METADATA_MAX_VALUE_LENGTH:
            raise over_limit(name, f"Invalid val: {value} must be a string under "
                                   f"{METADATA_MAX_VALUE_LENGTH} characters")


_LEAVES = {"str": _str, "int": _int, "bool": _bool, "map": _map, "any": lambda v, n: v}

EXPANDABLE = {"expand": ["str"]}
RANGE = {"gt": "int", "gte": "int", "lt": "int", "lte": "int"}
PAGE = {**EXPANDABLE, "limit": "int", "starting_after": "str", "ending_before": "str"}
LIST = {**PAGE, "created": RANGE}  # most lists also filter by creation time
ADDRESS = {"city": "str", "country": "str", "line1": "str", "line2": "str",
           "postal_code": "str", "state": "str"}


def merge_metadata(current, update, name="metadata"):
    """Stripe's metadata update: keys are set one by one, "" deletes a key, and
    `metadata=""` (decoded as {}) clears them all. The result keeps within the limits."""
    if not update:
        return {}
    merged = {k: v for k, v in {**current, **update}.items() if v != ""}
    check_metadata(merged, name)
    return merged
