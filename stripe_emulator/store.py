"""The emulator's in-memory state: objects by id, events, clock, idempotency, config.

One re-entrant lock guards everything; request handlers, the hosted pages, the control
endpoints and the delivery worker all take it before touching state.
"""
import contextlib
import copy
import itertools
import secrets
import string
import threading
import time

_ALPHABET = string.ascii_letters + string.digits

DEFAULT_CONFIG = {
    "duplicate": False,
    "shuffle_window": 0,
    "delay_ms": 0,
    "delivery_enabled": True,
    "retry_schedule": [1, 2, 4, 8],
    # Failed subscription payments: days between automatic attempts (one retry per
    # entry), then what becomes of the subscription (Stripe's "subscription status"
    # setting for when all retries fail).
    "payment_retry_days": [3, 3, 3],
    "after_payment_retries": "canceled",
    # invoice.upcoming comes this many days before a renewal (Stripe's "upcoming
    # renewal events" setting); 0 sends none.
    "invoice_upcoming_days": 3,
}

# Id prefix -> object type, so `expand` can resolve any id it meets.
PREFIXES = {
    "prod": "product", "price": "price", "cus": "customer", "pm": "payment_method",
    "seti": "setup_intent", "pi": "payment_intent", "ch": "charge", "re": "refund",
    "cs_test": "checkout.session", "evt": "event", "we": "webhook_endpoint",
    "sub": "subscription", "si": "subscription_item", "in": "invoice", "il": "line_item",
    "dp": "dispute", "li": "item", "bps": "billing_portal.session", "inpay": "invoice_payment",
    "txi": "tax_id", "bpc": "billing_portal.configuration", "ii": "invoiceitem",
    "clock": "test_helpers.test_clock",
}


def new_id(prefix, length=24):
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Store:
    """All objects live here as plain dicts, exactly as they are served."""

    def __init__(self, api_keys=("sk_test_emulator",), config=None):
        self.lock = threading.RLock()
        self.api_keys = set(api_keys)
        # The server's own settings (its command-line options): what `reset` returns to.
        self.defaults = {**copy.deepcopy(DEFAULT_CONFIG), **(config or {})}
        self.on_event = None  # set by the delivery worker
        self.base_url = "http://127.0.0.1"  # set once the server knows its port
        self.reset()

    def reset(self):
        with self.lock:
            self.objects = {}          # id -> dict
            self.by_type = {}          # object type -> [ids] in creation order
            self.events = []           # event dicts in creation order
            self.idempotency = {}      # (api_key, key) -> (fingerprint, status, body)
            self.clock_offset = 0
            self.frozen_at = None      # the clock's reading while it replays due moments
            self.config = copy.deepcopy(self.defaults)
            self.deliveries = []       # delivery attempt records
            self.pending = {}          # event id -> set of endpoint ids not yet delivered
            self.delayed_outcomes = {} # checkout session id -> "succeeded"/"failed"
            self._seq = itertools.count(1)

    def now(self):
        """The emulator's clock: wall time plus whatever the tests advanced it by (or,
        while an advance replays what fell due, the moment being replayed; or, while a
        request concerns a test clock's customer, that clock's frozen time)."""
        if self.frozen_at is not None:
            return self.frozen_at
        return int(time.time()) + self.clock_offset

    @contextlib.contextmanager
    def at(self, when):
        """Within the block, `now()` reads `when` (None leaves the clock as it is)."""
        saved = self.frozen_at
        if when is not None:
            self.frozen_at = when
        try:
            yield
        finally:
            self.frozen_at = saved

    def seq(self):
        return next(self._seq)

    def add(self, obj):
        """Store a new object (its id and `object` decide where it lives)."""
        self.objects[obj["id"]] = obj
        self.by_type.setdefault(obj["object"], []).append(obj["id"])
        return obj

    def get(self, ident, kind=None):
        obj = self.objects.get(ident)
        if obj is None or (kind and obj["object"] != kind) or obj.get("deleted"):
            return None
        return obj

    def all(self, kind):
        """Objects of a type, newest first (Stripe's list order)."""
        ids = self.by_type.get(kind, [])
        return [self.objects[i] for i in reversed(ids) if not self.objects[i].get("deleted")]

    def remove(self, ident):
        obj = self.objects.pop(ident, None)
        if obj is not None:
            self.by_type[obj["object"]].remove(ident)
        return obj


def snapshot(obj):
    """A deep copy safe to hand out or to freeze inside an event."""
    return copy.deepcopy(obj)


def public(value):
    """A deep copy without the emulator's private `_keys` (never served)."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [public(v) for v in value]
    return value
