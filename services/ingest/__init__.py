"""Fetching, parsing, normalising and de-duplicating feed entries."""
