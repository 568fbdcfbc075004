"""Persistence: SQLAlchemy models, engine and sessions. Imports nothing from services or workers."""
