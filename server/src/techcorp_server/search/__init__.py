"""Fuzzy search over products and users, in memory or in PostgreSQL."""
