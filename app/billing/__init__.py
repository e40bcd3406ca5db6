"""What every feature shares about paying: the gateway (every Stripe call), the Stripe
customer (BillingInfo), its billing details and its cards (PaymentMethod).

Its blueprint (blueprint.py) holds the actions of `/settings/billing`; the page itself is
the settings feature's, which composes them. The routes are imported by routes.py, not
here: every feature imports the gateway, and importing it must not import the pages."""
