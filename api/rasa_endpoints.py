"""Rasa's endpoints for several Rasa servers: one SQL tracker store, one Redis lock store.

Alone, Rasa keeps trackers and its per-conversation locks in memory (bot/endpoints.yml). With
replicas, each server would hold half of a conversation; so when the hub's database is
PostgreSQL and Redis is configured, `frontline rasa` writes an endpoints file that puts the
trackers in their own database on the same PostgreSQL server and the locks in Redis, and any
Rasa server can take any turn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from sqlalchemy.engine import make_url

# Rasa reads secrets from the environment (it substitutes ${VARS} in plain scalars), so the
# passwords stay out of the file.
TRACKER_PASSWORD_ENV = "FRONTLINE_RASA_TRACKER_PASSWORD"
LOCK_PASSWORD_ENV = "FRONTLINE_RASA_LOCK_PASSWORD"


class EndpointsError(ValueError):
    """The configuration cannot give Rasa shared stores."""


def shared_stores(
    *, database_url: str, redis_url: str, tracker_database: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Rasa's `tracker_store` and `lock_store` sections, and the environment they read."""
    database = make_url(database_url)
    if not database.get_backend_name().startswith("postgresql"):
        raise EndpointsError(
            "several Rasa servers share one tracker store on PostgreSQL: set "
            "FRONTLINE_DATABASE_URL to a postgresql:// URL"
        )
    redis = urlsplit(redis_url)
    if redis.scheme not in ("redis", "rediss") or not redis.hostname:
        raise EndpointsError("Rasa's lock store needs FRONTLINE_REDIS_URL as redis://host:port/db")
    env: dict[str, str] = {}
    tracker: dict[str, Any] = {
        "type": "SQL",
        "dialect": "postgresql",
        "url": database.host or "127.0.0.1",
        "port": database.port or 5432,
        # Rasa creates this database on first start, connected to the hub's own.
        "db": tracker_database or f"{database.database}_rasa",
        "login_db": database.database,
        "username": database.username or "postgres",
    }
    if database.password:
        tracker["password"] = "${" + TRACKER_PASSWORD_ENV + "}"
        env[TRACKER_PASSWORD_ENV] = str(database.password)
    path = redis.path.strip("/")
    lock: dict[str, Any] = {
        "type": "redis",
        "url": redis.hostname,
        "port": redis.port or 6379,
        "db": int(path) if path.isdigit() else 0,
        "key_prefix": "frontlinerasa",  # Rasa accepts letters and digits only
        "use_ssl": redis.scheme == "rediss",
    }
    if redis.password:
        lock["password"] = "${" + LOCK_PASSWORD_ENV + "}"
        env[LOCK_PASSWORD_ENV] = unquote(redis.password)
    return {"tracker_store": tracker, "lock_store": lock}, env


def write_replica_endpoints(
    bot_endpoints: Path,
    out: Path,
    *,
    database_url: str,
    redis_url: str,
    tracker_database: str = "",
) -> dict[str, str]:
    """The bot's endpoints (its action endpoint) plus the shared stores, written to `out`
    (0600); returns the environment Rasa needs to read it."""
    endpoints = yaml.safe_load(bot_endpoints.read_text()) or {}
    stores, env = shared_stores(
        database_url=database_url, redis_url=redis_url, tracker_database=tracker_database
    )
    endpoints.update(stores)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Written by `frontline rasa`: shared stores for several Rasa servers.\n")
        yaml.safe_dump(endpoints, handle, sort_keys=False, allow_unicode=True)
    return env
