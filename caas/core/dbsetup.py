"""Database set-up run with the owner's connection: database, application role, grants.

The application role is LOGIN, NOSUPERUSER, NOBYPASSRLS: row-level security binds it. It owns
nothing, so FORCE is belt and braces for the owner. Every step is idempotent.
"""
from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def ensure_database(owner_url: str) -> bool:
    """Create the database named in ``owner_url`` when it is missing. Returns True if created."""
    url = make_url(owner_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
                return True
            return False
    finally:
        admin.dispose()


def ensure_app_role(owner_url: str, role: str, password: str) -> None:
    """Create or repair the application role and grant it what the app needs, nothing more."""
    engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    quoted_pw = password.replace("'", "''")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                text(f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
                     f"PASSWORD '{quoted_pw}'")
            )
            db_name = conn.scalar(text("SELECT current_database()"))
            conn.execute(text(f'GRANT CONNECT ON DATABASE "{db_name}" TO "{role}"'))
            conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
            conn.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'))
            conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
            conn.execute(text(f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO "{role}"'))
            # Append-only tables: the app may insert and read, never change history.
            for table in conn.scalars(text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r' "
                "AND obj_description(c.oid, 'pg_class') LIKE 'append-only%'"
            )):
                conn.execute(text(f'REVOKE UPDATE, DELETE ON "{table}" FROM "{role}"'))
            conn.execute(text(f'REVOKE UPDATE, DELETE ON alembic_version FROM "{role}"'))
    finally:
        engine.dispose()
