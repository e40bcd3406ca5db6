"""A small subset of Stripe's search query language: `field:'value'` clauses and
`metadata['key']:'value'`, joined with AND."""
import re

from ..errors import InvalidRequest

_CLAUSE = re.compile(
    r"""^\s*(?P<neg>-)?(?P<field>[a-z_]+)(\[['"](?P<key>[^'"]+)['"]\])?\s*:\s*"""
    r"""(['"])(?P<value>.*)\5\s*$""")


def parse(query):
    clauses = []
    for part in re.split(r"\s+AND\s+", query.strip(), flags=re.IGNORECASE):
        m = _CLAUSE.match(part)
        if not m:
            raise InvalidRequest(f"Invalid query: could not parse `{part}`.",
                                 param="query", code="parameter_invalid")
        clauses.append((m["field"], m["key"], m["value"], bool(m["neg"])))
    return clauses


def _value(obj, field, key):
    value = obj.get(field)
    if key is not None:
        return (value or {}).get(key)
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def search(objects, query, params, url):
    """Filter objects by a search query; Stripe's search_result list shape."""
    clauses = parse(query)
    hits = [o for o in objects
            if all((_value(o, f, k) == v) != neg for f, k, v, neg in clauses)]
    limit = params.get("limit") or 10
    start = int(params.get("page") or 0)
    page = hits[start:start + limit]
    more = len(hits) > start + limit
    return {"object": "search_result", "data": page, "has_more": more,
            "next_page": str(start + limit) if more else None, "url": url,
            "total_count": len(hits)}


SCHEMA = {"query": "str", "limit": "int", "page": "str"}
