"""When Rasa is down or too slow, the customer's message is kept and people take over."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from api.settings import Settings
from tests.fakes.stack import HubServer, Stack, free_port
from tests.fakes.widget_client import WidgetClient

pytestmark = pytest.mark.integration


@pytest.fixture
def silent_socket() -> Iterator[int]:
    """A server that accepts connections and never answers: Rasa hung."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def run_hub_without_rasa(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory, rasa_port: int
) -> None:
    settings = Settings(
        var_dir=tmp_path_factory.mktemp("var-no-rasa"),
        index_dir=stack.settings.index_path,
        port=free_port(),
        rasa_port=rasa_port,
        rasa_timeout=2,
    )
    hub = HubServer(settings)
    hub.start()
    try:
        widget = WidgetClient(settings.hub_url.replace("http://", "ws://") + "/ws/widget")
        stored = widget.say("My export failed and I need the data today")
        assert stored["role"] == "customer"  # acknowledged as stored before Rasa was tried
        queued = widget.wait_state("queued", timeout=30)
        notice = widget.next_message("system")
        assert "unavailable" in notice["text"] and f"#{queued['ticket_number']}" in notice["text"]
        widget.close()

        token = httpx.post(
            f"{settings.hub_url}/api/auth/login",
            json={"email": settings.demo_agent_email, "password": settings.demo_agent_password},
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        [ticket] = httpx.get(f"{settings.hub_url}/api/tickets", headers=headers).json()["tickets"]
        assert ticket["reason"] == "bot_unavailable"
        assert ticket["transcript"][0]["text"] == "My export failed and I need the data today"
        assert ticket["transcript"][0]["payload"]["error"]  # why the bot could not take it
        health = httpx.get(f"{settings.hub_url}/health").json()
        assert health["status"] == "degraded" and not health["rasa"]["ok"]
    finally:
        hub.stop()


def test_rasa_stopped(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:
    run_hub_without_rasa(stack, tmp_path_factory, rasa_port=free_port())  # nothing listens there


def test_rasa_hung(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory, silent_socket: int
) -> None:
    run_hub_without_rasa(stack, tmp_path_factory, rasa_port=silent_socket)
