"""Extract the shapes of the billing objects the emulator serves beyond
tests/data/stripe_shapes.json (invoice items, portal configurations, test clocks, and the nested
hashes subscriptions, prorations, portal flows and tax IDs use) into
tests/emulator/data/billing_shapes.json, the same way scripts/extract_stripe_shapes.py
does for the rest, so a fresh clone needs no ../shared.

    python tests/emulator/extract_billing_shapes.py [--fixtures PATH]
"""
import argparse
import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = pathlib.Path(__file__).resolve().parent / "data" / "billing_shapes.json"

TYPES = ["invoiceitem", "billing_portal.configuration", "test_helpers.test_clock",
         "deleted_test_helpers.test_clock"]
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


def main(argv=None):
    shared = _main_extractor()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", default=shared.DEFAULT_FIXTURES)
    args = parser.parse_args(argv)
    shared.write(shared.extract(shared.read_fixtures(args.fixtures), TYPES, NESTED), OUT)


if __name__ == "__main__":
    main()
