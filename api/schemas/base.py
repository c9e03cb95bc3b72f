"""The base of every response model, and the small references most answers embed.

Response models mirror what `api/serializers.py` and the handoff read models already build
as dicts; FastAPI validates those dicts against them. `extra="forbid"` turns a key a model
forgot into a failed response (caught by the tests) instead of a key FastAPI would silently
drop from the wire, which the console would then miss.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """A response shape: every key the hub sends, none it does not."""

    model_config = ConfigDict(extra="forbid")


class AgentBrief(Schema):
    """An agent as other records mention them (assignee, author of an event, team member)."""

    id: int
    name: str


class TeamBrief(Schema):
    id: int
    name: str


class ContactBrief(Schema):
    """The customer as a conversation or ticket names them."""

    id: int
    name: str
    email: str | None


class NoteRef(Schema):
    """A note just added: enough for the console to show it before the live frame comes."""

    id: int
    text: str


class NoteCreated(Schema):
    note: NoteRef
