"""Every model, imported in one place so Alembic and the app see the whole schema."""

from app.admin.models import AuditEntry  # noqa: F401
from app.auth.models import User  # noqa: F401
from app.billing.models import BillingInfo, PaymentMethod  # noqa: F401
from app.catalog.models import CatalogPrice  # noqa: F401
from app.history.models import Invoice  # noqa: F401
from app.outbox.models import Job  # noqa: F401
from app.referrals.models import CreditEntry, Referral  # noqa: F401
from app.subscriptions.models import (  # noqa: F401
    CancellationWaiver,
    Subscription,
    SubscriptionCheckout,
)
from app.upgrades.models import UserUpgrade  # noqa: F401
from app.webhooks.models import StripeEvent  # noqa: F401
