"""Extract the shapes of the billing objects the emulator serves beyond
tests/data/stripe_shapes.json (invoice items, portal configurations, and the nested
hashes subscriptions, prorations, portal flows and tax IDs use) into
tests/emulator/data/billing_shapes.json, the same way scripts/extract_stripe_shapes.py
does for the rest, so a fresh clone needs no ../shared.

    python tests/emulator/extract_billing_shapes.py [--fixtures PATH]
"""
import argparse
import importlib.util
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = pathlib.Path(__file__).resolve().parent / "data" / "billing_shapes.json"

TYPES = ["invoiceitem", "billing_portal.configuration"]
NESTED = [
    ("invoice", "parent.subscription_details"),
    ("line_item", "parent.subscription_item_details.proration_details"),
    ("invoiceitem", "parent"),
    ("invoiceitem", "period"),
    ("subscription", "cancellation_details"),
    ("billing_portal.configuration", "business_profile"),
    ("billing_portal.configuration", "features"),
    ("billing_portal.configuration", "features.payment_method_update"),
    ("billing_portal.configuration", "features.subscription_cancel"),
    ("billing_portal.configuration", "features.subscription_update"),
    ("billing_portal.session", "flow"),
    ("billing_portal.session", "flow.after_completion"),
    ("billing_portal.session", "flow.subscription_update_confirm"),
    ("billing_portal.session", "flow.subscription_update_confirm.items"),
    ("tax_id", "owner"),
    ("tax_id", "verification"),
]


def _main_extractor():
    path = ROOT / "scripts" / "extract_stripe_shapes.py"
    spec = importlib.util.spec_from_file_location("extract_stripe_shapes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def extract(fixtures):
    walk = _main_extractor()._walk
    resources = fixtures["resources"]
    return {
        "source": "stripe/openapi fixtures3.json (see ../shared/stripe/README.md)",
        "top_level": {kind: sorted(resources[kind]) for kind in TYPES},
        "nested": {f"{kind}:{path}": sorted(walk(resources[kind], path))
                   for kind, path in NESTED},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures",
                        default=ROOT.parent / "shared" / "stripe" / "fixtures3.json")
    args = parser.parse_args(argv)
    with open(args.fixtures, encoding="utf-8") as fh:
        shapes = extract(json.load(fh))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One line per entry, like tests/data/stripe_shapes.json.
    sections = [f'  "source": {json.dumps(shapes["source"])}']
    for section in ("top_level", "nested"):
        entries = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}"
                             for k, v in shapes[section].items())
        sections.append(f'  "{section}": {{\n{entries}\n  }}')
    OUT.write_text("{\n" + ",\n".join(sections) + "\n}\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
