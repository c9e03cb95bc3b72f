"""What the hub refuses at start-up, and the private files it keeps private.

A demo password or a key generated on the fly is fine on a laptop and a liability on a
public address, so the hub (`frontline run` and the app factory alike) refuses to start
with them when it binds anything but loopback, and says which setting fixes it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from api.settings import Settings
from handoff import agents as agent_accounts

log = logging.getLogger(__name__)

PRIVATE_FILES = (
    "frontline.db",
    "frontline.db-wal",
    "frontline.db-shm",
    "secret_key",
    "action_token",
    "rasa_api_secret",
)
PRIVATE_DIRS = ("logs",)


class Refused(RuntimeError):
    """The hub will not start with this configuration; the message names the fix."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_bind_problems(settings: Settings, session: Session) -> list[str]:
    """Why this hub must not listen on a non-loopback address as configured (empty: fine)."""
    if is_loopback(settings.host):
        return []
    problems: list[str] = []
    demo_email, demo_password = settings.demo_agent_email, settings.demo_agent_password
    if settings.demo_agent and agent_accounts.count_agents(session) == 0:
        problems.append(
            f"the demo agent {demo_email} (password {demo_password!r}, a lead) would be "
            "created. Set FRONTLINE_DEMO_AGENT=false and create an agent with "
            "`frontline agents create`."
        )
    elif agent_accounts.authenticate(session, demo_email, demo_password) is not None:
        problems.append(
            f"the agent {demo_email} still has the demo password. Give it another password "
            "or deactivate it, set FRONTLINE_DEMO_AGENT=false, and create agents with "
            "`frontline agents create`."
        )
    if (
        not settings.secret_key.get_secret_value()
        and not (settings.var_dir / "secret_key").exists()
    ):
        problems.append(
            "the key that signs visitors' tokens would be generated into var/secret_key. "
            "Set FRONTLINE_SECRET_KEY (e.g. to the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
        )
    return problems


def rasa_problems(settings: Settings) -> list[str]:
    """Rasa's REST channel drives any conversation for whoever reaches it: loopback only,
    unless FRONTLINE_RASA_ALLOW_REMOTE says the operator firewalled it."""
    if settings.rasa_allow_remote:
        return []
    hosts = {settings.rasa_host} | {
        urlsplit(url.strip()).hostname or "" for url in settings.rasa_url.split(",")
    }
    remote = sorted(h for h in hosts if not is_loopback(h))
    if not remote:
        return []
    return [
        f"Rasa at {', '.join(remote)} is not on loopback, and its REST channel answers anyone "
        "who reaches it. Keep FRONTLINE_RASA_HOST / FRONTLINE_RASA_URL on 127.0.0.1, or set "
        "FRONTLINE_RASA_ALLOW_REMOTE=true once only the hub can reach it."
    ]


def shared_secret_problems(settings: Settings) -> list[str]:
    """Several hubs (FRONTLINE_REDIS_URL) must share their secrets: a visitor token signed
    by one hub is checked by another, and Rasa's action calls reach any of them. A key each
    machine generates for itself in var/ would work on one hub and fail on the others."""
    if not settings.redis_url:
        return []
    missing = [
        f"FRONTLINE_{name.upper()} is not set, so each hub would use its own generated "
        f"{file} ({what}): set it to the same random value (e.g. `openssl rand -base64 48`) "
        "on every hub"
        for name, file, what, value in (
            (
                "secret_key",
                "var/secret_key",
                "visitor tokens signed on one hub fail on another",
                settings.secret_key,
            ),
            (
                "action_token",
                "var/action_token",
                "Rasa's action calls fail on other hubs",
                settings.action_token,
            ),
        )
        if not value.get_secret_value()
    ]
    return [f"FRONTLINE_REDIS_URL says several hubs share the work, but {m}" for m in missing]


def refuse(problems: list[str], host: str) -> None:
    if problems:
        where = f"on {host}" if not is_loopback(host) else "as configured"
        raise Refused(
            f"Frontline refuses to start {where}:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def make_private(var_dir: Path) -> list[str]:
    """umask 077 for everything this process creates; var/ 0700 and its data files 0600,
    tightening (with a warning) what an earlier run or a copy left wider. Returns the
    warnings."""
    os.umask(0o077)
    warnings: list[str] = []

    def tighten(path: Path, mode: int) -> None:
        try:
            current = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:
            return
        if path.is_symlink() or current & ~mode == 0:
            return
        os.chmod(path, current & mode)
        warnings.append(f"{path} was mode {current:o}; tightened to {current & mode:o}")

    var_dir.mkdir(parents=True, exist_ok=True)
    tighten(var_dir, 0o700)
    for name in PRIVATE_FILES:
        tighten(var_dir / name, 0o600)
    for name in PRIVATE_DIRS:
        directory = var_dir / name
        tighten(directory, 0o700)
        if directory.is_dir():
            for child in directory.iterdir():
                if child.is_file():
                    tighten(child, 0o600)
    for warning in warnings:
        log.warning("private data file: %s", warning)
    return warnings
