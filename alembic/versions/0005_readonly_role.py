"""read-only role cnai_readonly for admins' SQL

``cnai_readonly`` may SELECT every table and view of schema public (including tables
created later by the migrating role, through default privileges) and nothing else. It is
NOLOGIN: give it to people with ``GRANT cnai_readonly TO alice`` (alice being a login
role), or ``ALTER ROLE cnai_readonly WITH LOGIN PASSWORD '...'``; see docs/admin.md.
No password is ever stored here. Sessions of the role itself are read-only by default
and time out after five minutes.

Roles belong to the whole cluster while this migration runs per database, possibly in
many databases at once (test runs do): the role is created only if missing, and a
concurrent creation elsewhere is tolerated. When the migrating user may not create roles,
the migration warns and grants nothing; a DBA creates the role and re-runs the grants
(docs/admin.md).

Downgrade revokes the role's privileges in this database and leaves the role itself:
other databases of the cluster may use it, and people may be members of it. Drop it by
hand once no database needs it (``DROP ROLE cnai_readonly``).

PostgreSQL only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cnai_readonly') THEN
        BEGIN
            CREATE ROLE cnai_readonly NOLOGIN;
            ALTER ROLE cnai_readonly SET default_transaction_read_only = on;
            ALTER ROLE cnai_readonly SET statement_timeout = '5min';
            COMMENT ON ROLE cnai_readonly IS
                'cnai-monitor read-only access: SELECT on the tables and views of schema public. See docs/admin.md.';
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by the migration of another database
            WHEN insufficient_privilege THEN
                RAISE WARNING 'cannot create role cnai_readonly (no CREATEROLE): a DBA must create it '
                              'and grant it SELECT, see docs/admin.md';
        END;
    END IF;
END
$$
"""

GRANT = """
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cnai_readonly') THEN
        GRANT USAGE ON SCHEMA public TO cnai_readonly;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO cnai_readonly;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO cnai_readonly;
    END IF;
END
$$
"""

REVOKE = """
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cnai_readonly') THEN
        ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM cnai_readonly;
        REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM cnai_readonly;
        REVOKE USAGE ON SCHEMA public FROM cnai_readonly;
    END IF;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_ROLE)
    op.execute(GRANT)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(REVOKE)
