"""Every module that registers worker job kinds (`@job`), imported once at start-up."""

from app.auth import reset as _password_reset  # noqa: F401  (the reset e-mail's @builder)
from app.emails import send as _mail  # noqa: F401
from app.history import jobs as _history  # noqa: F401
from app.subscriptions import dunning_jobs as _dunning  # noqa: F401
from app.subscriptions import unneeded as _unneeded  # noqa: F401
