"""Payments for products, with test payment methods that succeed or decline."""
