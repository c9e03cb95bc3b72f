"""Agents' consoles as connection records (handoff/agents.py): this hub writes one when a
console socket opens, heartbeats its own every `presence_heartbeat_seconds`, and deletes it
when the socket closes. A hub that dies stops heartbeating; its records expire after three
intervals and the fleet's periodic step (handoff.agents.expire_connections) sets those
agents offline unless a console of theirs is open on another hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta

from api.hub import Hub
from handoff import agents as agent_accounts
from handoff.models import utcnow

log = logging.getLogger(__name__)
MISSED_HEARTBEATS = 3


def lifetime(hub: Hub) -> timedelta:
    return timedelta(seconds=hub.settings.presence_heartbeat_seconds * MISSED_HEARTBEATS)


async def console_opened(hub: Hub, agent_id: int) -> str:
    """The record of a console just opened (an offline agent comes online); its id."""
    connection_id = secrets.token_hex(16)
    await hub.flow.run(
        agent_accounts.open_connection,
        agent_id=agent_id,
        hub_id=hub.hub_id,
        connection_id=connection_id,
        lifetime=lifetime(hub),
    )
    return connection_id


async def console_closed(hub: Hub, connection_id: str) -> None:
    """The console closed: its record goes; the agent's last live console sets them offline."""
    with contextlib.suppress(Exception):
        await hub.flow.run(agent_accounts.close_connection, connection_id=connection_id)


async def heartbeat_forever(hub: Hub) -> None:
    """Keep this hub's console records alive; then expire everyone's dead ones (idempotent,
    so every hub may run it: a hub that restarted alone still sees its old records expire)."""
    while True:
        await asyncio.sleep(hub.settings.presence_heartbeat_seconds)
        try:
            await hub.flow.run(
                agent_accounts.heartbeat_connections,
                hub_id=hub.hub_id,
                lifetime=lifetime(hub),
                now=utcnow(),
            )
            await hub.flow.run(agent_accounts.expire_connections, now=utcnow())
        except Exception:  # a locked database must not end the heartbeats
            log.exception("agents' console heartbeat failed")
