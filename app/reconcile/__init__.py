"""The drift report: where our billing rows and Stripe disagree, and Stripe's state applied."""
