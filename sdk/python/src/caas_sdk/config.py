"""Where ``caas login`` keeps the key: ``<config dir>/caas/credentials.json``, readable by the user
only (``$XDG_CONFIG_HOME`` or ``~/.config`` on Linux). ``CAAS_API_KEY`` and ``CAAS_BASE_URL``, and
the command's options, take precedence over it."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click


def path() -> Path:
    return Path(click.get_app_dir("caas")) / "credentials.json"


@dataclass
class Credentials:
    api_key: str | None = None
    base_url: str | None = None


def load() -> Credentials:
    try:
        data = json.loads(path().read_text())
    except (OSError, ValueError):
        return Credentials()
    return Credentials(data.get("api_key"), data.get("base_url"))


def save(credentials: Credentials) -> Path:
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 before the secret is written, never world-readable even for an instant.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"api_key": credentials.api_key, "base_url": credentials.base_url}, handle)
    os.chmod(target, 0o600)
    return target


def forget() -> bool:
    try:
        path().unlink()
        return True
    except FileNotFoundError:
        return False
