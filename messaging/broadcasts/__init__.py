"""Broadcasts: one approved template sent to many contacts by the task engine."""
