"""Metrics, each a small function whose docstring states its definition."""
