"""Reusable widgets: mailbox table, plan card, GB stepper, ..."""
