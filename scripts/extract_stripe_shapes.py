"""Extract the object shapes the Stripe emulator must match into compact test data.

Reads Stripe's published fixtures (../shared/stripe/fixtures3.json by default) and writes
tests/data/stripe_shapes.json: for each object type the emulator serves, its sorted
top-level keys, plus the keys of a few nested hashes the app reads. The conformance test
reads only that file, so a fresh clone does not need ../shared.

    python scripts/extract_stripe_shapes.py [--fixtures PATH] [--out PATH]
"""
import argparse
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent

SERVED = [
    "product", "price", "customer", "payment_method", "setup_intent", "payment_intent",
    "charge", "refund", "dispute", "checkout.session", "item", "event",
    "webhook_endpoint", "subscription", "subscription_item", "invoice", "line_item",
    "invoice_payment", "billing_portal.session", "plan", "deleted_product",
    "deleted_customer", "deleted_webhook_endpoint", "tax_id", "deleted_tax_id",
]

# Nested hashes the app reads: (type, dotted path). Lists are entered at their first
# element, so "subscription.items.data" means "keys of a subscription item".
NESTED = [
    ("subscription", "items.data"),
    ("price", "recurring"),
    ("customer", "invoice_settings"),
    ("customer", "address"),
    ("payment_method", "card"),
    ("payment_method", "billing_details"),
    ("checkout.session", "customer_details"),
    ("invoice", "lines.data"),
    ("invoice", "status_transitions"),
    ("line_item", "period"),
    ("line_item", "parent.subscription_item_details"),
    ("charge", "outcome"),
    ("charge", "refunds"),
    ("event", "request"),
]


def _walk(obj, path):
    for part in path.split("."):
        obj = obj[part]
        if isinstance(obj, list):
            obj = obj[0]
    return obj


def extract(fixtures, types=SERVED, nested=NESTED):
    """The sorted top-level keys of `types` and the keys of the `nested` hashes."""
    resources = fixtures["resources"]
    return {
        "source": "stripe/openapi fixtures3.json (see ../shared/stripe/README.md)",
        "top_level": {kind: sorted(resources[kind]) for kind in types},
        "nested": {f"{kind}:{path}": sorted(_walk(resources[kind], path))
                   for kind, path in nested},
    }


def write(shapes, out):
    """Write `shapes` one line per entry: the file stays small and its diffs readable."""
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["{", f'  "source": {json.dumps(shapes["source"])},']
    for section in ("top_level", "nested"):
        lines.append(f'  "{section}": {{')
        entries = [f"    {json.dumps(k)}: {json.dumps(v)}"
                   for k, v in shapes[section].items()]
        lines.append(",\n".join(entries))
        lines.append("  }," if section == "top_level" else "  }")
    lines.append("}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(shapes['top_level'])} types)")


def read_fixtures(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


DEFAULT_FIXTURES = ROOT.parent / "shared" / "stripe" / "fixtures3.json"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    parser.add_argument("--out", default=ROOT / "tests" / "data" / "stripe_shapes.json")
    args = parser.parse_args(argv)
    write(extract(read_fixtures(args.fixtures)), args.out)


if __name__ == "__main__":
    main()
