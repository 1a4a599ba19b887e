"""Webhook endpoints and the signed, retried delivery of events to them."""
