"""Domain logic of cnai-monitor. Importable and testable without Celery."""
