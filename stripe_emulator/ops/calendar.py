"""The calendar: everything that falls due on a timeline happens in time order, each
at its own moment however far one advance jumps (a trial reminder is dated exactly
three days before the trial ends, a renewal's charge an hour after its rollover).

There is one timeline per test clock (its customers and everything of theirs) and one
for the rest, the emulator's own clock (wall time plus `clock_offset`). A test clock's
advance and `POST /_emulator/clock/advance` both run `run` on their own timeline."""
import contextlib

from . import checkout, invoices, renewals
from . import subscriptions as subs

# At one moment: reminders before charges before the period's end, sessions last.
TRIAL_REMINDER, UPCOMING, FINALIZE, RETRY, CANCEL, ROLLOVER, EXPIRE = range(7)


def clock_of(st, obj):
    """The test clock `obj` (a customer, or anything naming one) lives on, or None."""
    if not obj:
        return None
    if obj.get("object") == "customer":
        ident = obj.get("test_clock")
    else:
        cus = st.objects.get(obj.get("customer") or "")
        ident = cus.get("test_clock") if isinstance(cus, dict) else None
    return st.objects.get(ident) if ident else None


@contextlib.contextmanager
def time_of(st, obj=None, clock=None):
    """Within the block, now is the frozen time of `obj`'s test clock (or `clock`'s);
    objects on no test clock keep the emulator's own time."""
    clock = clock or clock_of(st, obj)
    with st.at(clock["frozen_time"] if clock else None):
        yield


def advance(st, seconds):
    """Move the emulator's own clock forward by `seconds` (test clocks stay where they
    are, as real time never moves them at Stripe), replaying what falls due."""
    start = st.now()
    run(st, None, start, start + seconds)
    st.clock_offset += seconds
    return st.now()


def run(st, clock_id, start, target):
    """Happen, in time order, everything due on the timeline of `clock_id` (None: the
    emulator's own) up to `target`; what was due before `start` happens at `start`."""
    while (due := _next_due(st, clock_id, target)) is not None:
        when, _, action = due
        with st.at(max(when, start)):
            action()


def _on(st, obj, clock_id):
    clock = clock_of(st, obj)
    return (clock["id"] if clock else None) == clock_id


def _next_due(st, clock_id, target):
    """The earliest (moment, rank, action) at or before `target`, or None."""
    dues = []
    waiting = _invoices_waiting(st)
    for sub in st.all("subscription"):
        if _on(st, sub, clock_id):
            dues.extend(_subscription_dues(st, sub, waiting.get(sub["id"], [])))
    for session in st.all("checkout.session"):
        if session["status"] == "open" and _on(st, session, clock_id):
            dues.append((session["expires_at"], EXPIRE,
                         lambda s=session: checkout.expire(st, s)))
    dues = [d for d in dues if d[0] <= target]
    return min(dues, key=lambda d: d[:2]) if dues else None


def _invoices_waiting(st):
    """Subscription id -> its invoices with a moment ahead (a draft to finalize, an
    open one to retry), oldest first: one pass, however many subscriptions."""
    waiting = {}
    for inv in reversed(st.all("invoice")):
        if inv["automatically_finalizes_at"] is not None or (
                inv["status"] == "open" and inv["next_payment_attempt"] is not None):
            sub = invoices.subscription_of(st, inv)
            if sub is not None:
                waiting.setdefault(sub["id"], []).append(inv)
    return waiting


def _subscription_dues(st, sub, waiting):
    if sub["status"] in (*subs.ENDED, "incomplete"):
        return []
    dues = []
    if sub["status"] == "trialing" and not sub.get("_trial_reminded"):
        dues.append((sub["trial_end"] - subs.TRIAL_REMINDER, TRIAL_REMINDER,
                     lambda: subs.remind_trial_end(st, sub)))
    upcoming = renewals.upcoming_at(st, sub)
    if upcoming is not None:
        dues.append((upcoming, UPCOMING, lambda: renewals.announce_upcoming(st, sub)))
    for inv in waiting:
        if inv["status"] == "draft":
            dues.append((inv["automatically_finalizes_at"], FINALIZE,
                         lambda i=inv: renewals.finalize_and_charge(st, sub, i)))
        else:
            dues.append((inv["next_payment_attempt"], RETRY,
                         lambda i=inv: subs.retry(st, sub, i)))
    end = subs.period(sub)[1]
    if sub["cancel_at"] is not None and sub["cancel_at"] <= end:
        dues.append((sub["cancel_at"], CANCEL,
                     lambda: subs.cancel(st, sub, at=sub["cancel_at"])))
    else:
        dues.append((end, ROLLOVER, lambda: renewals.rollover(st, sub)))
    return dues
