"""The outbox is rows, not memory: replies that could not go out before the hub stopped are
delivered, once, by the next hub on the same database; an inbound event stored but never
processed is picked up at start."""

from __future__ import annotations

import time
from pathlib import Path

from handoff import inbound
from handoff.db import make_engine, make_sessionmaker, transaction
from handoff.models import Delivery
from tests.fakes.hub_client import make_client
from tests.fakes.rasa import FakeRasa
from tests.fakes.stack import free_port
from tests.fakes.telegram_api import FakeTelegramApi, post_update, text_update

SECRET = "restart-secret"


def channels_yml(folder: Path, api_base: str, token: str) -> Path:
    path = folder / "channels.yml"
    path.write_text(
        f'telegram:\n  bot_token: "{token}"\n  secret_token: "{SECRET}"\n  api_base: "{api_base}"\n'
    )
    return path


def deliveries(database_url: str) -> list[tuple[str, int]]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return [
                (d.status.value, d.attempts) for d in session.query(Delivery).order_by(Delivery.id)
            ]
    finally:
        engine.dispose()


def wait(condition: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_undelivered_replies_survive_a_restart_and_go_out_once(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    with FakeTelegramApi() as fake:
        # First hub: Telegram unreachable (nothing listens on that port).
        down = channels_yml(tmp_path, f"http://127.0.0.1:{free_port()}", fake.token)
        with make_client(
            tmp_path, index_dir, fake_rasa, database_url=database_url,
            channels_file=down, outbox_interval=0.1,
        ) as client:  # fmt: skip
            update = text_update("How do I reset my password?", chat_id=77)
            assert post_update("", update, SECRET, client=client).status_code == 200
            wait(lambda: any(attempts >= 1 for _, attempts in deliveries(database_url)))
        left = deliveries(database_url)
        assert left and all(status == "queued" for status, _ in left)
        assert fake.sent() == []

        # The next hub on the same database, with Telegram back.
        up = channels_yml(tmp_path, fake.base_url, fake.token)
        with make_client(
            tmp_path, index_dir, fake_rasa, database_url=database_url,
            channels_file=up, outbox_interval=0.1,
        ):  # fmt: skip
            wait(lambda: all(status == "sent" for status, _ in deliveries(database_url)), 30)
            time.sleep(0.5)
        texts = [c.params["text"] for c in fake.sent(77)]
        assert len(texts) == len(left) and len(set(texts)) == len(texts)
        assert fake_rasa.received == ["How do I reset my password?"]  # answered once


def test_an_event_stored_but_not_processed_is_picked_up_at_start(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    with FakeTelegramApi() as fake:
        engine = make_engine(database_url)
        try:
            with transaction(make_sessionmaker(engine)) as session:
                data = {
                    "event_id": "991", "thread_id": "78", "user_id": "78", "text": "Hello there",
                    "kind": "message", "profile": {"name": "Stored First"},
                }  # fmt: skip
                inbound.record_event(
                    session, channel="telegram", external_id="991", kind="message", data=data
                )
        finally:
            engine.dispose()
        config = channels_yml(tmp_path, fake.base_url, fake.token)
        with make_client(
            tmp_path, index_dir, fake_rasa, database_url=database_url,
            channels_file=config, outbox_interval=0.1,
        ):  # fmt: skip
            fake.wait_for_sent(1, timeout=15, chat_id=78)
        assert fake_rasa.received == ["Hello there"]
