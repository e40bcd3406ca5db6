"""Moving the emulator's clock: everything that falls due on the way happens in time
order, each at its own moment (a trial reminder is dated exactly three days before the
trial ends, however far one advance jumps)."""
from . import checkout, invoices
from . import subscriptions as subs


def advance(st, seconds):
    """Move the clock forward by `seconds`, replaying what falls due meanwhile."""
    start = st.now()
    target = start + seconds
    try:
        while (due := _next_due(st, target)) is not None:
            when, _, action = due
            st.frozen_at = max(when, start)
            action()
    finally:
        st.frozen_at = None
    st.clock_offset += seconds
    return st.now()


def _next_due(st, target):
    """The earliest (moment, rank, action) at or before `target`, or None."""
    dues = []
    for sub in st.all("subscription"):
        dues.extend(_subscription_dues(st, sub))
    for session in st.all("checkout.session"):
        if session["status"] == "open":
            dues.append((session["expires_at"], 4,
                         lambda s=session: checkout.expire(st, s)))
    dues = [d for d in dues if d[0] <= target]
    return min(dues, key=lambda d: d[:2]) if dues else None


def _subscription_dues(st, sub):
    if sub["status"] in (*subs.ENDED, "incomplete"):
        return []
    dues = []
    if sub["status"] == "trialing" and not sub.get("_trial_reminded"):
        dues.append((sub["trial_end"] - subs.TRIAL_REMINDER, 0,
                     lambda: subs.remind_trial_end(st, sub)))
    for inv in invoices.open_invoices(st, sub):
        if inv["next_payment_attempt"] is not None:
            dues.append((inv["next_payment_attempt"], 1,
                         lambda i=inv: subs.retry(st, sub, i)))
    end = subs.period(sub)[1]
    if sub["cancel_at"] is not None and sub["cancel_at"] <= end:
        dues.append((sub["cancel_at"], 2,
                     lambda: subs.cancel(st, sub, at=sub["cancel_at"])))
    else:
        dues.append((end, 3, lambda: subs.renew(st, sub)))
    return dues
