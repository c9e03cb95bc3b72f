from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from handoff import intake, tickets
from handoff.client_metadata import (
    MAX_METADATA_CHARS,
    MetadataRefused,
    client_metadata,
    primary_language,
)


def test_metadata_is_kept_as_a_copy_of_a_small_json_object() -> None:
    given = {"plan": "pro", "user": {"id": 7, "tags": ["a", None]}}
    kept = client_metadata(given)
    assert kept == given and kept is not given and kept["user"] is not given["user"]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("text", "JSON object"),
        ([1, 2], "JSON object"),
        ({1: "x"}, "keys must be strings"),
        ({"x": float("nan")}, "not plain JSON"),
        ({"x": object()}, "not plain JSON"),
        ({"x": "y" * MAX_METADATA_CHARS}, f"at most {MAX_METADATA_CHARS}"),
    ],
)
def test_other_metadata_is_refused_with_a_reason(raw: object, why: str) -> None:
    with pytest.raises(MetadataRefused, match=why):
        client_metadata(raw)


@pytest.mark.parametrize(
    ("raw", "language"),
    [("fr-CA", "fr"), ("EN_gb", "en"), (" de ", "de"), ("", None), ("x", None), (3, None)],
)
def test_primary_language(raw: object, language: str | None) -> None:
    assert primary_language(raw) == language


def test_metadata_is_stored_with_the_message(session: Session) -> None:
    conversation, _ = intake.open_conversation(session)
    message, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="Hello", metadata={"plan": "pro"}
    )
    assert message.payload == {"metadata": {"plan": "pro"}}
    plain, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="Again"
    )
    assert "metadata" not in plain.payload


def test_language_changes_until_the_conversation_has_a_ticket(session: Session) -> None:
    conversation, _ = intake.open_conversation(session)
    _, events = intake.set_language(session, conversation_id=conversation.id, language="fr")
    assert conversation.language == "fr" and events
    assert (
        intake.set_language(session, conversation_id=conversation.id, language="fr")[1] == []
    )  # nothing changed
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="I need a person"
    )
    tickets.hand_off(session, conversation_id=conversation.id, reason="customer_request")
    _, events = intake.set_language(session, conversation_id=conversation.id, language="de")
    assert conversation.language == "fr" and events == []
