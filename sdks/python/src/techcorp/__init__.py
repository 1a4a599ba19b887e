"""The Python client for the TechCorp API v2."""

__version__ = "2.0.0"
