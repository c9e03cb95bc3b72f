"""Help for agents: the knowledge base's sections and colleagues' well-rated replies for the
customer's latest message (`GET /api/conversations/{id}/assist`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from handoff import intake, past_replies
from handoff.privacy import ERASED
from handoff.states import TicketStatus
from retrieval.replies import QuestionMemory
from tests.fakes import HashingEncoder
from tests.fakes.hub_client import hello, is_msg, login, make_client, until
from tests.fakes.rasa import FakeRasa
from tests.fakes.seed import rated_conversation

VAT_QUESTION = "How do I add our VAT number to our invoices?"
# One of the billing article's own questions, and near VAT_QUESTION in words: the hashing
# encoder's cosines must reach the index's fallback floor (0.8), as a real encoder's would in
# meaning (tests/integration/test_agent_assist_browser.py asks in other words).
NEW_QUESTION = "How do I add our VAT number?"
VAT_REPLY = "I have corrected the VAT number on your account; the next invoice will show it."


def test_rated_replies_pair_each_reply_with_the_question_it_answered(session: Session) -> None:
    good, good_ticket = rated_conversation(
        session, [(VAT_QUESTION, VAT_REPLY), ("and the old invoices?", "ok")], 5
    )
    rated_conversation(session, [("my app crashes", "Please reinstall the app from the store.")], 2)
    rated_conversation(
        session, [("cannot log in", "Reset your password from the sign-in page.")], None
    )
    open_one, _ = intake.open_conversation(session)

    replies = past_replies.rated_replies(session)
    # Only the conversation rated 4-5, and not the two-letter "ok".
    assert [(r.question, r.text, r.rating) for r in replies] == [(VAT_QUESTION, VAT_REPLY, 5)]
    assert replies[0].conversation_id == good.id
    assert replies[0].ticket_number == good_ticket.number
    assert good_ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    assert past_replies.rated_replies(session, exclude_conversation=good.id) == []
    assert past_replies.rated_replies(session, min_rating=6) == []
    assert open_one.id != good.id

    for message in good.messages:  # an erased conversation teaches nothing
        message.text = ERASED
    session.flush()
    assert past_replies.rated_replies(session) == []


class CountingEncoder(HashingEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return super().encode(texts)


def test_question_memory_finds_the_nearest_and_encodes_each_question_once() -> None:
    encoder = CountingEncoder()
    memory: QuestionMemory[str] = QuestionMemory(encoder, capacity=10)
    items = ["vat", "crash", "login"]
    questions = [VAT_QUESTION, "the app crashes when I open it", "I cannot log in to my account"]

    [best] = memory.most_similar("wrong VAT number on the invoice", items, questions, k=1)
    assert best.item == "vat" and best.score > 0
    assert encoder.texts == 3 + 1
    ranked = memory.most_similar("the app crashes on start", items, questions, k=3)
    assert ranked[0].item == "crash" and [m.score for m in ranked] == sorted(
        (m.score for m in ranked), reverse=True
    )
    assert encoder.texts == 3 + 1 + 1  # the questions' vectors were kept
    assert memory.most_similar("anything", items, questions, floor=1.01) == []
    assert memory.most_similar("anything", [], []) == []


def test_assist_suggests_articles_and_a_colleagues_rated_reply(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    with make_client(tmp_path, index_dir, fake_rasa, database_url=database_url) as client:
        headers = login(client)
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with hub.sessions() as session, session.begin():
            old, _ = rated_conversation(session, [(VAT_QUESTION, VAT_REPLY)], 5)
            rated_conversation(
                session, [("what colour is the logo", "It is blue, like the sea.")], 5
            )
        with client.websocket_connect("/ws/widget") as ws:
            hello(ws)
            ws.send_json({"type": "message", "text": "hi", "client_id": "c1"})
            until(ws, is_msg("bot"))
            conversations = client.get("/api/conversations", headers=headers).json()
            new_id = max(c["id"] for c in conversations["conversations"])
            first = client.get(f"/api/conversations/{new_id}/assist", headers=headers).json()
            ws.send_json({"type": "message", "text": NEW_QUESTION, "client_id": "c2"})
            until(ws, is_msg("bot"))
        assist = client.get(f"/api/conversations/{new_id}/assist", headers=headers)
        assert assist.status_code == 200, assist.text
        body = assist.json()
        assert body["query"] == NEW_QUESTION
        assert body["message_id"] != first["message_id"]
        assert body["articles"] and body["articles"][0]["article_id"] == "billing-invoices"
        # The reply about the logo, also rated 5, is below the similarity floor.
        assert [r["text"] for r in body["replies"]] == [VAT_REPLY]
        assert first["replies"] == [] and first["query"] == "hi"
        assert body["replies"][0]["conversation_id"] == old.id
        assert body["replies"][0]["rating"] == 5

        # Its own replies are never suggested back; unknown conversations are 404.
        own = client.get(f"/api/conversations/{old.id}/assist", headers=headers).json()
        assert VAT_REPLY not in [r["text"] for r in own["replies"]]
        assert client.get("/api/conversations/999999/assist", headers=headers).status_code == 404
        assert client.get(f"/api/conversations/{new_id}/assist").status_code == 401
