"""The Stripe customer behind a user: we keep its id and nothing Stripe already keeps."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import UTCDateTime, utcnow
from app.extensions import Model


class BillingInfo(Model):
    """One Stripe customer per user; name, address and tax ids live at Stripe."""

    __tablename__ = "billing_info"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), unique=True)
    stripe_customer_id: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
