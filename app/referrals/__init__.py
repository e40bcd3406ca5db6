"""Referrals and credit: every user's referral link, the Referral a sign-up through it
records, the 45 days both sides get when the referred user first really pays, and the
ledger that explains every day of credit (PRODUCT.md section 5)."""

from flask import Blueprint

bp = Blueprint("referrals", __name__)
