"""Decode Stripe's form encoding (bracket notation) and check it against a schema.

The SDK sends `a[b][0][c]=v` and `expand[0]=x` (the list URLs it is given back carry
`expand[]=x`). Endpoints declare what they accept as a small schema; anything else is
refused with `parameter_unknown`, as real Stripe does, so the app cannot come to rely on a
parameter Stripe would reject.

Schema language: a leaf is "str", "int", "bool", "map" (free-form string map such as
metadata) or "any"; a dict maps allowed keys to schemas; a one-element list means
"list of that schema"; a tuple of strings is an enum of allowed values.
"""
import re

from .errors import invalid_param, unknown_param

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
    return dict(value)


_LEAVES = {"str": _str, "int": _int, "bool": _bool, "map": _map, "any": lambda v, n: v}

EXPANDABLE = {"expand": ["str"]}
RANGE = {"gt": "int", "gte": "int", "lt": "int", "lte": "int"}
LIST = {**EXPANDABLE, "limit": "int", "starting_after": "str", "ending_before": "str",
        "created": RANGE}
ADDRESS = {"city": "str", "country": "str", "line1": "str", "line2": "str",
           "postal_code": "str", "state": "str"}


def merge_metadata(current, update):
    """Stripe's metadata update: keys are set one by one, "" deletes a key, and
    `metadata=""` (decoded as {}) clears them all."""
    if not update:
        return {}
    return {k: v for k, v in {**current, **update}.items() if v != ""}
