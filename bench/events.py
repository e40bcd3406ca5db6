"""What a benchmark round sends: Stripe events, signed, in a file for wrk to cycle through.

Bodies come from Stripe's example objects (tests/stripe_objects.py), indented as Stripe
sends them. One template per event type is serialised once; each event then only swaps its
ids in, so a round of tens of thousands of events is built in a fraction of a second.
"""

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from bench.servers import BenchError
from tests.stripe_objects import event, signature_header, stripe_object

UNHANDLED = ("customer.created", "customer")  # no handler: stored, answered "unhandled"
HANDLED = ("charge.refunded", "charge")  # its handler looks the charge up and finds nothing
_ID = "XBENCHIDX"  # stands for an event's own id suffix in a template


@dataclass(frozen=True)
class Kind:
    """One kind of load, with the share of the floor's throughput the app must reach."""

    name: str
    target: float
    about: str


KINDS = {
    "unhandled": Kind("unhandled", 0.8, f"{UNHANDLED[0]} (no handler): fresh ids, repeats"),
    "duplicate": Kind("duplicate", 0.8, "redeliveries of stored events, both types"),
    "handled": Kind("handled", 0.6, f"{HANDLED[0]} for a charge not ours: fresh ids, repeats"),
}


def check_types(handled: set[str]) -> None:
    """The bench's meaning rests on which types have a handler; fail loudly if that moved."""
    if UNHANDLED[0] in handled:
        raise BenchError(f"{UNHANDLED[0]} has a handler now: pick an unhandled type in "
                         "bench/events.py")
    if HANDLED[0] not in handled:
        raise BenchError(f"{HANDLED[0]} has no handler now: pick a handled type in "
                         "bench/events.py")


def _template(event_type: str, object_type: str) -> bytes:
    obj = stripe_object(object_type, id=f"{object_type[:2]}_{_ID}")
    payload = event(event_type, obj, event_id=f"evt_{_ID}", created=int(time.time()))
    return json.dumps(payload, indent=2).encode()


@dataclass
class Batch:
    """Request bodies in sending order, and the event id of each."""

    bodies: list[bytes]
    ids: list[str]


def fresh(prefix: str, count: int, types: list[tuple[str, str]], repeats: float,
          seed: int, gap: int = 64) -> Batch:
    """`count` events of `types` in turn; a `repeats` share of them resend an event first
    sent at least `gap` places earlier (a retry, not a concurrent twin)."""
    templates = [_template(*pair) for pair in types]
    rng = random.Random(seed)
    batch = Batch([], [])
    for position in range(count):
        if position > gap and rng.random() < repeats:
            earlier = rng.randrange(position - gap)
            batch.bodies.append(batch.bodies[earlier])
            batch.ids.append(batch.ids[earlier])
            continue
        suffix = f"bench{prefix}{position:07d}"
        batch.bodies.append(templates[position % len(templates)].replace(
            _ID.encode(), suffix.encode()))
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
