"""The user's cards: kept at Stripe, mirrored here as ids in the user's order."""

import sqlalchemy as sa

from app.auth.models import User
from app.billing.models import BillingInfo, PaymentMethod
from app.extensions import db


def cards_for(user: User) -> list[PaymentMethod]:
    """The user's cards in their order, the default first."""
    return list(db.session.scalars(
        sa.select(PaymentMethod).join(BillingInfo)
        .where(BillingInfo.user_id == user.id).order_by(PaymentMethod.priority)))
