"""Alembic environment: batch mode for SQLite, the models' metadata for autogenerate/check."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool

from db.engine import make_engine
from db.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from services.settings import get_settings  # the CLI path; tests pass the URL explicitly

    return get_settings().database_url


def _include_object(obj, name, type_, reflected, compare_to):
    # Views are created by migrations with raw SQL and have no model.
    if type_ == "table" and reflected and compare_to is None and obj.info.get("is_view"):
        return False
    # PostgreSQL-only indexes (GIN on JSON topics/entities, full-text, trigram and bigram search; expression
    # indexes) are made by migrations in SQL; the models, shared with SQLite, cannot declare them.
    if type_ == "index" and reflected and compare_to is None and _postgres_only_index(obj):
        return False
    return True


def _postgres_only_index(index) -> bool:
    uses_gin = index.dialect_options["postgresql"].get("using") == "gin"
    on_expressions = len(index.expressions) > len(index.columns)
    return uses_gin or on_expressions


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(_database_url(), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
