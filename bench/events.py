"""What a benchmark round sends: Stripe events, signed, in a file for wrk to cycle through.

Bodies come from Stripe's example objects (tests/stripe_objects.py), indented as Stripe
sends them. One template per event type is serialised once; each event then only swaps its
ids in, so a round of tens of thousands of events is built in a fraction of a second.
"""

import copy
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from bench.seed import AMOUNT, CURRENCY
from bench.servers import BenchError
from tests.stripe_objects import event, signature_header, stripe_object

UNHANDLED = ("customer.created", "customer")  # no handler: stored, answered "unhandled"
HANDLED = ("charge.refunded", "charge")  # its handler looks the charge up and finds nothing
# State-changing: each event completes one seeded pending upgrade, or pays one seeded
# subscription's invoice (bench/seed.py writes what they are about before the run).
UPGRADE = ("checkout.session.completed", "checkout.session")
INVOICE = ("invoice.paid", "invoice")
_ID = "XBENCHIDX"  # stands for an event's own id suffix in a template
_REF = "XBENCHREFX"  # stands for the id of the seeded row it names (an upgrade's)


@dataclass(frozen=True)
class Kind:
    """One kind of load, with the share of the floor's throughput the app must reach."""

    name: str
    target: float
    about: str
    template: str = ""  # the event it sends (a key of TEMPLATES); "" for duplicates
    seeded: bool = False  # each fresh event needs its rows written first (bench/seed.py)
    p99_factor: float | None = None  # the app's p99 at most this many times the floor's


KINDS = {
    "unhandled": Kind("unhandled", 0.8, f"{UNHANDLED[0]} (no handler): fresh ids, repeats",
                      "unhandled"),
    "duplicate": Kind("duplicate", 0.8, "redeliveries of stored events, both types"),
    "handled": Kind("handled", 0.6, f"{HANDLED[0]} for a charge not ours: fresh ids, repeats",
                    "handled"),
    "upgrade": Kind("upgrade", 0.5, f"{UPGRADE[0]} completing a pending upgrade: fresh ids, "
                    "repeats", "upgrade", seeded=True, p99_factor=4.0),
    "invoice": Kind("invoice", 0.5, f"{INVOICE[0]} for a subscription's renewal: fresh ids, "
                    "repeats", "invoice", seeded=True, p99_factor=4.0),
    "foreign": Kind("foreign", 0.6, f"{UPGRADE[0]} for a session not ours: fresh ids, repeats",
                    "foreign"),
}


def check_types(handled: set[str]) -> None:
    """The bench's meaning rests on which types have a handler; fail loudly if that moved."""
    if UNHANDLED[0] in handled:
        raise BenchError(f"{UNHANDLED[0]} has a handler now: pick an unhandled type in "
                         "bench/events.py")
    for needed in (HANDLED[0], UPGRADE[0], INVOICE[0]):
        if needed not in handled:
            raise BenchError(f"{needed} has no handler now: pick a handled type in "
                             "bench/events.py")


def _template(event_type: str, object_type: str, **overrides) -> bytes:
    obj = stripe_object(object_type, **{"id": f"{object_type[:2]}_{_ID}", **overrides})
    payload = event(event_type, obj, event_id=f"evt_{_ID}", created=int(time.time()))
    return json.dumps(payload, indent=2).encode()


def _session(metadata: dict) -> bytes:
    """A paid payment-mode Checkout Session of a Gold upgrade's price (bench/seed.py)."""
    return _template(*UPGRADE, id=f"cs_{_ID}", mode="payment", status="complete",
                     payment_status="paid", amount_total=AMOUNT["upgrade"], currency=CURRENCY,
                     payment_intent=f"pi_{_ID}", metadata=metadata)


def _invoice() -> bytes:
    """A renewal of the seeded subscription `sub_<suffix>`, paid."""
    now = int(time.time())
    line = copy.deepcopy(stripe_object("invoice")["lines"]["data"][0])
    line.update(id=f"il_{_ID}", invoice=f"in_{_ID}", amount=AMOUNT["invoice"],
                currency=CURRENCY, description="1 × Premium (at £7.00 / month)",
                period={"start": now, "end": now + 30 * 86_400})
    lines = {**stripe_object("invoice")["lines"], "data": [line],
             "url": f"/v1/invoices/in_{_ID}/lines"}
    return _template(*INVOICE, id=f"in_{_ID}", customer=f"cus_{_ID}", status="paid",
                     amount_due=AMOUNT["invoice"], amount_paid=AMOUNT["invoice"],
                     amount_remaining=0, currency=CURRENCY, created=now,
                     billing_reason="subscription_cycle", lines=lines,
                     parent={"quote_details": None, "type": "subscription_details",
                             "subscription_details": {"metadata": {},
                                                      "subscription": f"sub_{_ID}"}})


TEMPLATES = {
    "unhandled": lambda: _template(*UNHANDLED),
    "handled": lambda: _template(*HANDLED),
    "upgrade": lambda: _session({"kind": "upgrade", "upgrade_id": _REF}),
    "invoice": _invoice,
    "foreign": lambda: _session({}),  # someone else's checkout: no metadata of ours
}


@dataclass
class Batch:
    """Request bodies in sending order, and the event id of each."""

    bodies: list[bytes]
    ids: list[str]


def suffixes(prefix: str, count: int, repeats: float, seed: int, gap: int = 64) -> list[str]:
    """The id suffix of each of `count` events in sending order: new ones, and a `repeats`
    share resending an event first sent at least `gap` places earlier (a retry, not a
    concurrent twin)."""
    rng = random.Random(seed)
    order: list[str] = []
    for position in range(count):
        if position > gap and rng.random() < repeats:
            order.append(order[rng.randrange(position - gap)])
        else:
            order.append(f"bench{prefix}{position:07d}")
    return order


def fresh(prefix: str, count: int, types: list[tuple[str, str] | str], repeats: float,
          seed: int, gap: int = 64, refs: dict[str, int] | None = None) -> Batch:
    """`count` events of `types` (event and object type, or a TEMPLATES key) in turn, with
    `repeats` as in `suffixes`; `refs` gives the seeded row each suffix's event names."""
    templates = [TEMPLATES[t]() if isinstance(t, str) else _template(*t) for t in types]
    batch = Batch([], [])
    built: dict[str, bytes] = {}
    for suffix in suffixes(prefix, count, repeats, seed, gap):
        if suffix not in built:
            body = templates[len(built) % len(templates)].replace(_ID.encode(),
                                                                  suffix.encode())
            if refs is not None:
                body = body.replace(_REF.encode(), str(refs[suffix]).encode())
            built[suffix] = body
        batch.bodies.append(built[suffix])
        batch.ids.append(f"evt_{suffix}")
    return batch


def write_requests(path: Path, bodies: list[bytes], secret: str) -> None:
    """One record per request for bench/webhooks.lua: `<Stripe-Signature> <length>\\n<body>`.

    All are signed with the current time: a round lasts seconds, well inside the 300 s
    tolerance, and a repeated body is then a byte-identical request.
    """
    now = int(time.time())
    signed: dict[bytes, bytes] = {}
    with open(path, "wb") as out:
        for body in bodies:
            if body not in signed:
                signed[body] = signature_header(body, secret, now).encode()
            out.write(signed[body] + b" %d\n" % len(body) + body)


def ids_sent(ids: list[str], per_thread: list[int], unanswered: int = 0) -> set[str]:
    """The ids among the first requests each wrk thread made (it takes every n-th record,
    starting over at the end), less `unanswered` per thread still in flight at the end."""
    threads, sent = len(per_thread), set()
    for t, made in enumerate(per_thread):
        share = ids[t::threads]
        made = max(0, made - unanswered)
        sent.update(share if made >= len(share) else share[:made])
    return sent
