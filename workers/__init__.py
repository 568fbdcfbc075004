"""Celery: the app, thin tasks over services, and the beat schedule."""
