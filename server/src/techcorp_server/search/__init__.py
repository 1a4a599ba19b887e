"""Fuzzy search over products and users, from an index kept in memory."""
