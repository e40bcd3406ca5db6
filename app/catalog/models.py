"""Prices as synced to Stripe, kept locally so no page calls Stripe to show a price."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import UTCDateTime, utcnow
from app.extensions import Model, db


class CatalogPrice(Model):
    __tablename__ = "catalog_prices"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lookup_key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    stripe_price_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    stripe_product_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    amount: so.Mapped[int]  # minor units
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    interval: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    synced_at: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow)


def stored_price(lookup_key: str) -> CatalogPrice | None:
    return db.session.scalar(sa.select(CatalogPrice).where(CatalogPrice.lookup_key == lookup_key))
