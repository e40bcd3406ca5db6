"""Verbs that change the emulator's state and emit the events Stripe would.

API endpoints, the hosted pages and the control endpoints all call these, so a flow
behaves the same whichever way it is driven. Callers hold the store lock."""
