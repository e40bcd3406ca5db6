"""Billing details actions (name, address, tax id), saved on the Stripe customer."""
