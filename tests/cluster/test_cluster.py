"""Two hubs and two Rasa servers behind HAProxy, on PostgreSQL and Redis (issue 18's proof).

50 widget conversations through the load balancer ask knowledge-base questions; an agent on
hub A takes over a conversation whose widget is on hub B and each sees the other live; hub B
is killed with SIGKILL in the middle of the traffic and its widgets reconnect through HAProxy
to hub A. At the end every acknowledged message is stored exactly once and was answered or
handed off, the agent who was online stayed online, and every SLA breach was raised once.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from websockets.exceptions import ConnectionClosed, WebSocketException

from handoff.models import Agent, Message, Ticket, TicketEvent
from handoff.states import MessageRole, MessageStatus, Presence
from tests.fakes.cluster import Cluster
from tests.fakes.stack import agent_socket
from tests.fakes.widget_client import WidgetClient

pytestmark = pytest.mark.cluster

QUESTIONS = [
    "How do I reset my password?",
    "Can I export my data?",
    "How do I get an invoice?",
    "How do I cancel my subscription?",
    "Is my data encrypted?",
]
CONVERSATIONS = 50


def ws(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws/widget"


def login(url: str) -> tuple[dict[str, str], str]:
    response = httpx.post(
        f"{url}/api/auth/login",
        json={"email": "agent@example.com", "password": "frontline"},
        timeout=30,
    )
    response.raise_for_status()
    token = response.json()["token"]
    return {"Authorization": f"Bearer {token}"}, token


class Console:
    """An agent's open console (its live socket), recording every frame on a thread."""

    def __init__(self, hub_url: str, token: str) -> None:
        self.socket = agent_socket(hub_url, token)
        self.frames: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                frame = json.loads(self.socket.recv())
                with self._lock:
                    self.frames.append(frame)
        except (ConnectionClosed, OSError):
            return

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if any(match(f) for f in self.frames):
                    return
            time.sleep(0.1)
        raise AssertionError(f"no such frame on the console within {timeout} s")

    def close(self) -> None:
        self.socket.close()


@dataclass
class Traffic:
    """What the widgets saw: acknowledged messages (conversation id, message id, client id)."""

    acked: list[tuple[int, int, str]] = field(default_factory=list)
    reconnected: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def ask(lb_url: str, question: str, traffic: Traffic) -> None:
    """One customer: a question, its answer. A socket that fails (to open, as HAProxy meets
    the hub that just died, or later) reconnects through HAProxy with the visitor's token
    and re-sends what was not acknowledged, as the widget does."""
    client_id = f"cluster-{threading.get_ident()}-{time.monotonic_ns()}"
    widget: WidgetClient | None = None
    token: str | None = None
    acked = False
    for attempt in range(6):
        try:
            if widget is None:
                widget = WidgetClient(ws(lb_url), token=token)
                token = widget.token
                if attempt:
                    with traffic.lock:
                        traffic.reconnected += 1
                if acked:
                    widget.close()
                    return  # stored: the database check below says whether it was answered
            if not acked:
                widget.ws.send(
                    json.dumps({"type": "message", "text": question, "client_id": client_id})
                )
                ack = widget.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == client_id)
                message = ack["message"]
                with traffic.lock:
                    traffic.acked.append((message["conversation_id"], message["id"], client_id))
                acked = True
            widget.wait_for(
                lambda f: (
                    (f["type"] == "message" and f["message"]["role"] != "customer")
                    or (f["type"] == "state" and f["state"] in ("queued", "assigned"))
                ),
                timeout=90,
            )
            widget.close()
            return
        except (WebSocketException, OSError, AssertionError) as error:
            if widget is not None:
                with contextlib.suppress(WebSocketException, OSError):
                    widget.close()
                widget = None
            if attempt == 5:
                with traffic.lock:
                    traffic.errors.append(f"{question!r}: {error!r}")
                return
            time.sleep(1 + attempt)


def test_two_hubs_behind_haproxy_lose_nothing(cluster: Cluster) -> None:
    hub_a, hub_b = cluster.hub_urls
    lead, token = login(cluster.lb_url)
    # First responses due within a minute, so this test sees breaches raised.
    policy = httpx.put(
        f"{cluster.lb_url}/api/sla-policies/normal",
        json={"first_response_minutes": 1, "resolution_minutes": 600, "on_breach": "none"},
        headers=lead,
        timeout=30,
    )
    assert policy.status_code == 200, policy.text

    console = Console(hub_a, token)  # the agent is online, on hub A
    try:
        # Hub B boots no presence reset: the agent on A is still online when B's widget asks.
        customer = WidgetClient(ws(hub_b))
        customer.say("I want to talk to a person")
        customer.wait_for(lambda f: f["type"] == "state" and f["state"] in ("queued", "assigned"))
        conversation_id = customer.conversation_id
        assert conversation_id is not None
        taken = httpx.post(
            f"{hub_a}/api/conversations/{conversation_id}/takeover", headers=lead, timeout=30
        )
        assert taken.status_code == 200, taken.text
        reply = httpx.post(
            f"{hub_a}/api/conversations/{conversation_id}/messages",
            json={"text": "Hello from hub A"},
            headers=lead,
            timeout=30,
        )
        assert reply.status_code in (200, 201), reply.text
        seen = customer.wait_for(
            lambda f: f["type"] == "message" and f["message"]["role"] == "agent", timeout=30
        )
        assert seen["message"]["text"] == "Hello from hub A"
        customer.say("I can see you from hub B")
        console.wait_for(
            lambda f: (
                f["type"] == "message"
                and f.get("conversation_id") == conversation_id
                and f["message"]["text"] == "I can see you from hub B"
            )
        )
        customer.close()

        # Two customers nobody answers: their first-response clocks run out during the traffic.
        waiting = []
        for _ in range(2):
            widget = WidgetClient(ws(cluster.lb_url))
            widget.say("talk to a person")
            widget.wait_for(lambda f: f["type"] == "state" and f["state"] in ("queued", "assigned"))
            waiting.append(widget.conversation_id)
            widget.close()
        handed_at = time.monotonic()

        traffic = Traffic()
        kill = threading.Event()

        def killer() -> None:
            while len(traffic.acked) < CONVERSATIONS // 3:
                time.sleep(0.05)
            cluster.kill_hub(1)  # hub B, mid-traffic
            kill.set()

        threading.Thread(target=killer, daemon=True).start()
        with ThreadPoolExecutor(max_workers=16) as pool:
            customers = [
                pool.submit(ask, cluster.lb_url, QUESTIONS[i % len(QUESTIONS)], traffic)
                for i in range(CONVERSATIONS)
            ]
        for done in customers:
            done.result()  # a customer's unexpected error fails the test here, not silently
        assert kill.is_set(), "hub B was never killed: too little traffic"
        assert traffic.reconnected > 0, "no widget was on hub B when it died"
        assert not traffic.errors, traffic.errors
        assert len(traffic.acked) == CONVERSATIONS

        engine = create_engine(cluster.database_url)
        with Session(engine) as session:
            # Recovery: messages hub B stored and never answered are taken over by hub A.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                pending = session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(
                        Message.role == MessageRole.CUSTOMER,
                        Message.status == MessageStatus.RECEIVED,
                    )
                )
                if pending == 0:
                    break
                session.expire_all()
                time.sleep(1)
            assert pending == 0, f"{pending} customer messages were never processed"
            for conversation, message_id, client_id in traffic.acked:
                stored = session.scalars(
                    select(Message).where(
                        Message.conversation_id == conversation, Message.client_id == client_id
                    )
                ).all()
                assert [m.id for m in stored] == [message_id], (conversation, client_id)
                answered = session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(
                        Message.conversation_id == conversation,
                        Message.id > message_id,
                        Message.role != MessageRole.CUSTOMER,
                    )
                )
                handed = session.scalar(
                    select(func.count())
                    .select_from(Ticket)
                    .where(Ticket.conversation_id == conversation)
                )
                assert answered or handed, (
                    f"message {message_id} was neither answered nor handed off"
                )

            # Every breach once: wait for the two unanswered tickets' clocks to run out.
            time.sleep(max(0.0, 75 - (time.monotonic() - handed_at)))
            deadline = time.monotonic() + 30
            tickets: list[Ticket] = []
            while time.monotonic() < deadline:
                session.expire_all()
                tickets = list(
                    session.scalars(select(Ticket).where(Ticket.conversation_id.in_(waiting)))
                )
                if tickets and all(t.first_response_breached_at is not None for t in tickets):
                    break
                time.sleep(1)
            assert len(tickets) == 2 and all(t.first_response_breached_at for t in tickets)
            raised = Counter(
                (event.ticket_id, event.data.get("target"))
                for event in session.scalars(
                    select(TicketEvent).where(TicketEvent.kind == "sla_breached")
                )
            )
            assert raised, "no SLA breach was raised"
            assert all(count == 1 for count in raised.values()), raised
            for ticket in tickets:
                assert raised[(ticket.id, "first_response")] == 1

            agent = session.scalars(select(Agent).where(Agent.email == "agent@example.com")).one()
            assert agent.presence is Presence.ONLINE
        engine.dispose()
        offline = [
            f
            for f in console.frames
            if f.get("type") == "presence"
            and f.get("agent_id") == agent.id
            and f.get("presence") != "online"
        ]
        assert not offline, offline
    finally:
        console.close()
