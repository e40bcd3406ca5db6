"""The Stripe objects the drift report reads before it knows whether they are ours."""

from app.billing.objects import ExpandableId, Metadata, StripeId, StripeView, db_id_or_none
from app.subscriptions.views import KIND


class SubscriptionRef(StripeView):
    """Any subscription of the account: enough to tell whether it is ours (another app's
    may hold anything else, so nothing more is read until it is)."""

    id: StripeId
    customer: ExpandableId
    metadata: Metadata = {}

    @property
    def user_id(self) -> int | None:
        """The user our subscription checkout wrote into its metadata, if it did."""
        if self.metadata.get("kind") != KIND:
            return None
        return db_id_or_none(self.metadata.get("user_id"))
