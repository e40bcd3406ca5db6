"""Copy Stripe's example objects for the types our webhook handlers read into test data.

Usage: python scripts/extract_stripe_examples.py [path/to/fixtures3.json]
Writes tests/data/stripe_examples.json, so handler tests build payloads from Stripe's own
shapes without needing ../shared at test time.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = [
    "event", "checkout.session", "payment_intent", "charge", "refund", "dispute",
    "customer", "payment_method", "setup_intent", "subscription", "invoice",
]


def main() -> None:
    default = ROOT.parent / "shared/stripe/fixtures3.json"
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    resources = json.loads(source.read_text())["resources"]
    examples = {name: resources[name] for name in TYPES}
    out = ROOT / "tests/data/stripe_examples.json"
    out.write_text(json.dumps(examples, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out.relative_to(ROOT)} ({len(examples)} object types)")


if __name__ == "__main__":
    main()
