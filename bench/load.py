"""The load generator: signed Stripe events posted to 127.0.0.1 from a few client processes.

Bodies are built once, before timing starts, from Stripe's example objects
(tests/stripe_objects.py); each request is signed just before it is sent, as Stripe does,
so the signature is always fresh. Clients use http.client, the lightest keep-alive client in
the standard library, because the client shares the machine with the servers it measures.
"""

import http.client
import json
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.servers import BenchError
from tests.stripe_objects import event, signature_header, stripe_object

PATH = "/webhooks/stripe"

# Event types whose payload is harmless to store; used only while no handler is registered
# for them (checked at run time), so the benchmark measures the pipeline, not a handler.
CANDIDATE_TYPES = (
    ("customer.updated", "customer"),
    ("payment_method.updated", "payment_method"),
    ("setup_intent.created", "setup_intent"),
    ("charge.updated", "charge"),
)
# Handled types whose handler has nothing to do for Stripe's example object (a refund of a
# charge that is not one of ours: the handler looks it up, finds nothing and logs), for
# --with-handler, which adds one handler's lookups to the path measured.
HARMLESS_HANDLED_TYPES = (("charge.refunded", "charge"),)


def event_types(handled: set[str], with_handler: bool = False) -> list[tuple[str, str]]:
    """The (event type, object type) pairs to send, given the types that have a handler."""
    types = [pair for pair in CANDIDATE_TYPES if pair[0] not in handled]
    if not types:
        raise BenchError("every candidate event type has a handler now; "
                         "add an unhandled type to bench.load.CANDIDATE_TYPES")
    if with_handler:
        extra = [pair for pair in HARMLESS_HANDLED_TYPES if pair[0] in handled]
        if not extra:
            raise BenchError("--with-handler: none of "
                             f"{[t for t, _ in HARMLESS_HANDLED_TYPES]} has a handler")
        types += extra
    return types


def event_bodies(prefix: str, count: int, duplicates: float, types: list[tuple[str, str]],
                 seed: int) -> tuple[list[bytes], int]:
    """`count` event bodies, a `duplicates` share of them repeats of earlier ones.

    Returns the bodies in sending order and how many distinct event ids they hold.
    """
    rng = random.Random(seed)
    repeats = set(rng.sample(range(1, count), round((count - 1) * duplicates)))
    distinct: list[bytes] = []
    bodies: list[bytes] = []
    now = int(time.time())
    for position in range(count):
        if position in repeats:
            bodies.append(rng.choice(distinct))  # a retry sends the same payload again
            continue
        n = len(distinct)
        event_type, object_type = types[n % len(types)]
        obj = stripe_object(object_type, id=f"{object_type[:4]}_bench{prefix}{n:06d}")
        payload = event(event_type, obj, event_id=f"evt_bench{prefix}{n:06d}", created=now)
        body = json.dumps(payload, indent=2).encode()  # Stripe sends indented JSON
        distinct.append(body)
        bodies.append(body)
    return bodies, len(distinct)


@dataclass
class Sample:
    """What one client saw: per-request latencies (seconds), statuses, and the time span."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    started: float = math.inf
    finished: float = 0.0

    def merge(self, other: "Sample") -> "Sample":
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.errors += other.errors[: max(0, 5 - len(self.errors))]
        self.started = min(self.started, other.started)
        self.finished = max(self.finished, other.finished)
        return self

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def failures(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def per_second(self) -> float:
        return self.count / (self.finished - self.started) if self.count else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


def post_events(port: int, bodies: list[bytes], secret: str, start_at: float,
                due: list[float] | None = None) -> Sample:
    """POST each body in turn over one keep-alive connection; runs in a client process.

    Without `due` it sends as fast as the server answers (closed loop). With `due` (one
    time.monotonic() deadline per body) it sends each at its time and measures latency from
    that time, so a slow answer also counts against the requests queued behind it.
    """
    sample = Sample()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    _sleep_until(start_at)
    sample.started = time.monotonic()
    try:
        for i, body in enumerate(bodies):
            if due is not None:
                _sleep_until(due[i])
                begin = due[i]
            else:
                begin = time.monotonic()
            headers = {"Content-Type": "application/json; charset=utf-8",
                       "Stripe-Signature": signature_header(body, secret)}
            try:
                conn.request("POST", PATH, body, headers)
                response = conn.getresponse()
                answer = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()  # the next request reconnects
                status, answer = 0, f"{type(exc).__name__}: {exc}".encode()
            sample.latencies.append(time.monotonic() - begin)
            sample.statuses[status] += 1
            if not 200 <= status < 300 and len(sample.errors) < 5:
                sample.errors.append(f"{status} {answer[:200].decode('utf-8', 'replace')}")
    finally:
        conn.close()
    sample.finished = time.monotonic()
    return sample


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def run_closed_loop(pool, port: int, bodies: list[bytes], secret: str, clients: int) -> Sample:
    """Send `bodies` as fast as possible from `clients` concurrent connections."""
    start_at = time.monotonic() + 0.2
    shares = [(port, bodies[k::clients], secret, start_at) for k in range(clients)]
    return _merged(pool.starmap(post_events, shares))


def run_fixed_rate(pool, port: int, bodies: list[bytes], secret: str, clients: int,
                   rate: float, threads: int = 8) -> Sample:
    """Send `bodies` at `rate` per second from `clients` x `threads` connections.

    Many connections make it an open loop: a slow answer does not hold back the events due
    after it (up to clients x threads outstanding requests), as with Stripe's deliveries.
    """
    start_at = time.monotonic() + 0.2
    due = [start_at + i / rate for i in range(len(bodies))]
    shares = [(port, bodies[k::clients], secret, start_at, due[k::clients], threads)
              for k in range(clients)]
    return _merged(pool.starmap(_post_events_threaded, shares))


def _post_events_threaded(port: int, bodies: list[bytes], secret: str, start_at: float,
                          due: list[float], threads: int) -> Sample:
    samples: list[Sample] = [Sample() for _ in range(threads)]

    def work(t: int) -> None:
        samples[t] = post_events(port, bodies[t::threads], secret, start_at, due[t::threads])

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return _merged(samples)


def _merged(samples: list[Sample]) -> Sample:
    total = Sample()
    for sample in samples:
        total.merge(sample)
    return total
