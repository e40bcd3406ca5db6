"""Stripe's test clocks: a clock's customers, and everything of theirs (subscriptions,
invoices, sessions, the events about them), live at the clock's frozen time and move
only when the clock is advanced (`calendar.clock_of` says which clock an object lives
on). Everything else lives on the emulator's own clock."""
from ..errors import InvalidRequest, missing
from ..events import emit
from ..shapes.test_clocks import test_clock as test_clock_shape
from ..store import public, snapshot
from . import calendar, customers
from . import subscriptions as subs

KIND = "test_helpers.test_clock"


def create(st, frozen_time, name=None):
    """A new clock, created in the emulator's own time: test_helpers.test_clock.created."""
    clock = st.add(test_clock_shape(st.now(), frozen_time, name))
    emit(st, f"{KIND}.created", clock)
    return clock


def fetch(st, ident, param="test_clock"):
    """The clock, or Stripe's 404 ("No such test clock: 'clock_…'")."""
    clock = st.get(ident, KIND)
    if clock is None:
        raise missing("test clock", ident, param=param)
    return clock


def advance(st, clock, frozen_time):
    """Move the clock to `frozen_time`, running in time order everything that falls due
    for its customers on the way. Returns the clock as Stripe answers the request
    (`advancing`); once done it is `ready` (test_helpers.test_clock.advancing, the
    customers' events, test_helpers.test_clock.ready)."""
    if frozen_time <= clock["frozen_time"]:
        raise InvalidRequest("The frozen_time must be after the test clock's current "
                             f"frozen_time ({clock['frozen_time']}).",
                             param="frozen_time")
    limit = advance_limit(st, clock)
    if frozen_time > limit:
        raise InvalidRequest(
            "Cannot advance a test clock more than two intervals of its shortest "
            "subscription (or two years without one) in one step: frozen_time must be "
            f"at most {limit}.", param="frozen_time")
    clock.update(status="advancing",
                 status_details={"advancing": {"target_frozen_time": frozen_time}})
    answer = public(snapshot(clock))
    emit(st, f"{KIND}.advancing", clock)
    calendar.run(st, clock["id"], clock["frozen_time"], frozen_time)
    clock.update(frozen_time=frozen_time, status="ready", status_details={})
    emit(st, f"{KIND}.ready", clock)
    return answer


def advance_limit(st, clock):
    """The furthest one advance may go, as Stripe documents it: two intervals of the
    shortest live subscription on the clock, else two years."""
    now = clock["frozen_time"]
    ends = [subs.add_interval(now, item["price"]["recurring"]["interval"],
                              2 * item["price"]["recurring"]["interval_count"])
            for sub in live_subscriptions(st, clock) for item in sub["items"]["data"]]
    return min(ends) if ends else subs.add_interval(now, "year", 2)


def customers_of(st, clock):
    """The clock's (undeleted) customers."""
    return [c for c in st.all("customer") if c["test_clock"] == clock["id"]]


def live_subscriptions(st, clock):
    """The subscriptions of the clock's customers that have not ended."""
    ids = {c["id"] for c in customers_of(st, clock)}
    return [s for s in st.all("subscription")
            if s["customer"] in ids and s["status"] not in subs.ENDED]


def delete(st, clock):
    """Delete the clock and, as Stripe does, its customers (each at the clock's time:
    their subscriptions end, customer.deleted), then test_helpers.test_clock.deleted."""
    with calendar.time_of(st, clock=clock):
        for cus in customers_of(st, clock):
            customers.delete(st, cus)
    clock["deleted"] = True
    emit(st, f"{KIND}.deleted", {k: v for k, v in clock.items() if k != "deleted"})
    return clock
