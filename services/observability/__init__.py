"""Logs, metrics, health and error reporting."""
