"""A person's data: export holds everything, erasure leaves no trace of them anywhere the hub
copies texts (and keeps the figures), retention purges only conversations long over; the
routes' roles and the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app as cli_app
from handoff import (
    agent_actions,
    agents,
    audit,
    contacts,
    csat,
    inbound,
    intake,
    privacy,
    replies,
    reports,
    tickets,
)
from handoff.models import (
    AuditEntry,
    Contact,
    ContactIdentity,
    Conversation,
    Delivery,
    InboundEvent,
    Message,
    Note,
    Ticket,
    utcnow,
)
from handoff.states import DeliveryStatus, TicketStatus
from tests.fakes.hub_client import hello, is_msg, login, make_agent, make_client, until
from tests.fakes.rasa import FakeRasa, rasa_down

NAME, EMAIL, PHONE = "Zelda Quimby", "zelda.quimby@example.org", "+15550001234"
SECRET = "my account number is 4417-secret"
COMMENT = "Zelda was unhappy with the wait"


def person(session: Session) -> dict[str, Any]:
    """A contact with everything: a widget conversation handed off, resolved and rated with
    a comment, notes, and a Telegram conversation (merged in) with an inbound event and a
    queued reply in the outbox."""
    agent = agents.create_agent(
        session, email="dana@example.com", name="Dana", password="long enough secret"
    )[0]
    contact, _ = contacts.identify(
        session, channel="site", external_id="user-77", name=NAME, email=EMAIL
    )
    contacts.update_contact(session, contact_id=contact.id, phone=PHONE)
    widget, _ = intake.open_conversation(session, contact=contact)
    intake.receive_customer_message(session, conversation_id=widget.id, text=SECRET)
    ticket, _ = tickets.hand_off(session, conversation_id=widget.id, reason="customer_request")
    agent_actions.take_over(session, conversation_id=widget.id, agent_id=agent.id)
    agent_actions.post_agent_message(
        session, conversation_id=widget.id, agent_id=agent.id, text=f"Hi {NAME}"
    )
    agent_actions.add_note(
        session, agent_id=agent.id, text=f"{NAME} calls often", contact_id=contact.id
    )
    agent_actions.add_note(
        session, agent_id=agent.id, text=f"{NAME} is on the gold plan", conversation_id=widget.id
    )
    agent_actions.resolve(session, conversation_id=widget.id, agent_id=agent.id)
    intake.receive_customer_message(
        session, conversation_id=widget.id, text="2", button=csat.rate_payload(2)
    )
    intake.receive_customer_message(session, conversation_id=widget.id, text=COMMENT)
    event, _ = inbound.record_event(
        session, channel="telegram", external_id="9001", kind="message", data={"text": SECRET}
    )
    assert event is not None
    message, _ = inbound.accept_event(
        session, event_id=event.id, thread_id="chat-77", user_id="tg-77", text=SECRET, name=NAME
    )
    assert message is not None
    replies.record_bot_replies(
        session,
        conversation_id=message.conversation_id,
        replies=[replies.BotReply(f"Hello {NAME}")],
    )
    other = session.get(Conversation, message.conversation_id)
    assert other is not None
    merged = other.contact_id
    contacts.merge(session, keep_id=contact.id, other_id=merged)
    return {
        "contact": contact.id,
        "merged": merged,
        "widget": widget.id,
        "telegram": other.id,
        "ticket": ticket,
        "agent": agent,
    }


def test_export_holds_everything(session: Session) -> None:
    p = person(session)
    data, events = privacy.export_contact(session, contact_id=p["contact"])
    assert events == []
    json.dumps(data)  # JSON-able as it is
    assert (data["contact"]["name"], data["contact"]["email"]) == (NAME, EMAIL)
    assert data["contact"]["phone"] == PHONE
    assert [c["id"] for c in data["merged_contacts"]] == [p["merged"]]
    assert {(i["channel"], i["external_id"]) for i in data["identities"]} == {
        ("site", "user-77"),
        ("telegram", "tg-77"),
    }
    assert {c["id"] for c in data["conversations"]} == {p["widget"], p["telegram"]}
    texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
    assert SECRET in texts and f"Hi {NAME}" in texts and f"Hello {NAME}" in texts
    [ticket] = data["tickets"]
    assert ticket["number"] == p["ticket"].number and ticket["transcript"]
    assert (ticket["csat_score"], ticket["csat_comment"]) == (2, COMMENT)
    assert {n["text"] for n in data["notes"]} == {
        f"{NAME} calls often",
        f"{NAME} is on the gold plan",
    }


def _everything(session: Session) -> str:
    """Every row where the hub keeps a person's data, as one string to search."""
    rows: list[Any] = []
    for model in (Contact, ContactIdentity, Message, Ticket, Note, Delivery, InboundEvent):
        for row in session.scalars(select(model)).all():
            rows.append({c.key: getattr(row, c.key) for c in model.__table__.columns})
    return json.dumps(rows, default=str)


def test_erasure_leaves_no_trace_and_keeps_the_figures(session: Session) -> None:
    p = person(session)
    period = reports.Period(date.today() - timedelta(days=1), date.today() + timedelta(days=1))
    before = reports.report(session, period)["overall"]
    assert NAME in _everything(session) and SECRET in _everything(session)
    number = p["ticket"].number

    erasure, events = privacy.erase_contact(
        session, contact_id=p["contact"], actor_id=p["agent"].id, ip="10.0.0.9"
    )
    session.expire_all()

    everything = _everything(session)
    for trace in (NAME, "Zelda", EMAIL, PHONE, SECRET, COMMENT, "user-77", "tg-77", "chat-77"):
        assert trace not in everything, trace
    assert session.scalars(select(ContactIdentity)).all() == []
    assert session.scalars(select(Note)).all() == []
    assert {m.text for m in session.scalars(select(Message)).all()} == {privacy.ERASED}
    assert all(m.payload == {} for m in session.scalars(select(Message)).all())
    contact = session.get(Contact, p["contact"])
    assert contact is not None and contact.name == f"Erased contact {contact.id}"
    assert (contact.email, contact.phone) == (None, None)
    [delivery] = session.scalars(select(Delivery)).all()
    assert (delivery.status, delivery.error) == (DeliveryStatus.FAILED, "erased")
    assert [e.data for e in session.scalars(select(InboundEvent)).all()] == [{}]

    ticket = session.get(Ticket, p["ticket"].id)
    assert ticket is not None
    assert (ticket.number, ticket.status, ticket.csat_score) == (number, TicketStatus.RESOLVED, 2)
    assert (ticket.transcript, ticket.bot_attempts, ticket.csat_comment) == ([], [], None)
    assert reports.report(session, period)["overall"] == before

    assert erasure.conversation_ids == [p["widget"], p["telegram"]]
    assert (erasure.contacts, erasure.notes, erasure.identities, erasure.deliveries) == (2, 2, 2, 1)
    assert events
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete")).all()
    assert (entry.actor_id, entry.target, entry.ip) == (
        p["agent"].id,
        f"contact {p['contact']}",
        "10.0.0.9",
    )
    assert entry.detail["messages"] == erasure.messages
    assert "delete" in audit.ACTIONS


def _closed_conversation(session: Session, text: str, closed_days_ago: int) -> Conversation:
    conversation, _ = intake.open_conversation(session)
    intake.receive_customer_message(session, conversation_id=conversation.id, text=text)
    ticket, _ = tickets.hand_off(
        session, conversation_id=conversation.id, reason="customer_request"
    )
    agent = agents.create_agent(
        session, email=f"a{conversation.id}@example.com", name="A", password="long enough secret"
    )[0]
    agent_actions.take_over(session, conversation_id=conversation.id, agent_id=agent.id)
    agent_actions.resolve(session, conversation_id=conversation.id, agent_id=agent.id)
    when = utcnow() - timedelta(days=closed_days_ago)
    ticket.status, ticket.closed_at = TicketStatus.CLOSED, when
    conversation.updated_at = when
    session.flush()
    return conversation


def test_retention_purges_only_conversations_long_over(session: Session) -> None:
    old = _closed_conversation(session, "old closed secret", 40)
    recent = _closed_conversation(session, "recently closed secret", 2)
    waiting, _ = intake.open_conversation(session)
    intake.receive_customer_message(session, conversation_id=waiting.id, text="still queued")
    tickets.hand_off(session, conversation_id=waiting.id, reason="customer_request")
    waiting.updated_at = utcnow() - timedelta(days=40)  # old, but with people
    session.flush()
    now = utcnow()

    assert privacy.purge_expired(session, now=now, retention=timedelta(0)) == ([], [])
    purged, _ = privacy.purge_expired(session, now=now, retention=timedelta(days=30))
    assert purged == [old.id]
    session.expire_all()
    assert {m.text for m in old.messages} == {privacy.ERASED}
    assert old.tickets[0].transcript == [] and old.tickets[0].number
    assert "recently closed secret" in [m.text for m in recent.messages]
    assert "still queued" in [m.text for m in waiting.messages]
    assert old.contact.name  # the contact stays
    # Done once: the next pass finds nothing left to purge.
    assert privacy.purge_expired(session, now=now, retention=timedelta(days=30))[0] == []


@pytest.fixture
def client(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> Iterator[TestClient]:
    with make_client(
        tmp_path, index_dir, fake_rasa, database_url=database_url, sweep_interval=3600
    ) as c:
        yield c


def _widget_contact(client: TestClient, headers: dict[str, str]) -> tuple[int, int]:
    with client.websocket_connect("/ws/widget") as ws:
        hello(ws)
        ws.send_json({"type": "message", "text": SECRET, "client_id": "c1"})
        until(ws, is_msg("bot"))
    [item] = client.get("/api/conversations", headers=headers).json()["conversations"]
    return item["contact"]["id"], item["id"]


def test_routes_export_for_leads_erase_for_admins(client: TestClient, fake_rasa: FakeRasa) -> None:
    admin = login(client)
    lead = make_agent(client, admin, "Lee", "lead")["headers"]
    agent = make_agent(client, admin, "Ari", "agent")["headers"]
    contact, conversation = _widget_contact(client, admin)
    client.patch(f"/api/contacts/{contact}", json={"name": NAME, "email": EMAIL}, headers=admin)

    assert client.get(f"/api/contacts/{contact}/export", headers=agent).status_code == 403
    exported = client.get(f"/api/contacts/{contact}/export", headers=lead)
    assert exported.status_code == 200
    assert exported.json()["contact"]["email"] == EMAIL
    assert SECRET in [m["text"] for m in exported.json()["conversations"][0]["messages"]]

    assert client.delete(f"/api/contacts/{contact}", headers=agent).status_code == 403
    assert client.delete(f"/api/contacts/{contact}", headers=lead).status_code == 403
    fake_rasa.clear()
    erased = client.delete(f"/api/contacts/{contact}", headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["bot_trackers_reset"] == 1 and erased.json()["conversations"] == 1
    # Through Rasa's HTTP API: the tracker replaced by an empty one, no `/restart` needed.
    assert fake_rasa.erased == [f"conversation-{conversation}"]
    assert fake_rasa.received == []

    record = client.get(f"/api/contacts/{contact}", headers=admin).json()
    assert (record["name"], record["email"]) == (f"Erased contact {contact}", None)
    detail = client.get(f"/api/conversations/{conversation}", headers=admin).text
    assert SECRET not in detail and NAME not in detail
    actions = [e["action"] for e in client.get("/api/audit", headers=admin).json()["entries"]]
    assert "delete" in actions and "export" in actions


class RasaDownForErasure(FakeRasa):
    """Answers the customer, then is gone when the erasure comes (HTTP API or `/restart`)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/conversations/"):
            return rasa_down(request)
        if request.method == "POST" and json.loads(request.content)["message"] == "/restart":
            return rasa_down(request)
        return super().__call__(request)


def test_without_rasas_http_api_the_tracker_is_restarted_and_not_counted(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    """A Rasa run without the hub's key (e.g. started by hand without `--enable-api`): the
    dialogue is restarted, and the answer does not claim the tracker was erased."""
    with make_client(
        tmp_path,
        index_dir,
        fake_rasa,
        database_url=database_url,
        rasa_api_key="a-key-rasa-does-not-hold-32-bytes-long",
    ) as client:
        admin = login(client)
        contact, _ = _widget_contact(client, admin)
        fake_rasa.clear()
        erased = client.delete(f"/api/contacts/{contact}", headers=admin)
        assert erased.status_code == 200, erased.text
        assert erased.json()["bot_trackers_reset"] == 0
        assert fake_rasa.erased == [] and fake_rasa.received == ["/restart"]


def test_erasure_does_not_fail_when_rasa_is_down(
    tmp_path: Path, index_dir: Path, database_url: str
) -> None:
    with make_client(
        tmp_path, index_dir, RasaDownForErasure(), database_url=database_url
    ) as client:
        admin = login(client)
        contact, conversation = _widget_contact(client, admin)
        erased = client.delete(f"/api/contacts/{contact}", headers=admin)
        assert erased.status_code == 200, erased.text
        assert erased.json()["bot_trackers_reset"] == 0 and erased.json()["messages"] >= 2
        detail = client.get(f"/api/conversations/{conversation}", headers=admin).text
        assert SECRET not in detail


def test_cli_export_and_erase(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("FRONTLINE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTLINE_RASA_URL", "http://127.0.0.1:9")  # nothing answers there
    from handoff.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(database_url)
    with transaction(make_sessionmaker(engine)) as session:
        contact, _ = contacts.identify(
            session, channel="site", external_id="cli-1", name=NAME, email=EMAIL
        )
        conversation, _ = intake.open_conversation(session, contact=contact)
        intake.receive_customer_message(session, conversation_id=conversation.id, text=SECRET)
        contact_id = contact.id
    runner = CliRunner()
    exported = runner.invoke(cli_app, ["contacts", "export", str(contact_id)])
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.stdout)
    assert data["contact"]["email"] == EMAIL
    assert data["conversations"][0]["messages"][0]["text"] == SECRET

    refused = runner.invoke(cli_app, ["contacts", "erase", str(contact_id)], input="n\n")
    assert refused.exit_code != 0
    erased = runner.invoke(cli_app, ["contacts", "erase", str(contact_id), "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "bot trackers reset 0" in erased.output
    with transaction(make_sessionmaker(engine)) as session:
        row = session.get(Contact, contact_id)
        assert row is not None and row.email is None
        texts = session.scalars(select(Message.text)).all()
        assert SECRET not in texts
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.ip == "cli")).all()
        assert sorted(actions) == ["delete", "export"]
    assert (
        runner.invoke(cli_app, ["contacts", "export", "999999"]).exit_code == 1
    )  # unknown contact
    engine.dispose()


def test_the_retention_sweep_deletes_the_bots_copies_too(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    """The hub's sweep purges an old closed conversation, then erases its Rasa tracker."""
    with make_client(
        tmp_path,
        index_dir,
        fake_rasa,
        database_url=database_url,
        retention_days=30,
        sweep_interval=0.1,
    ) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with hub.sessions() as session, session.begin():
            old = _closed_conversation(session, "old closed secret", 40)
            recent = _closed_conversation(session, "recent closed secret", 2)
        deadline = time.monotonic() + 20
        while f"conversation-{old.id}" not in fake_rasa.erased and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"conversation-{old.id}" in fake_rasa.erased
        assert f"conversation-{recent.id}" not in fake_rasa.erased
