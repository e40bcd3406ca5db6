"""The service layer: verbs that apply Stripe state to the models. They flush, never commit."""
