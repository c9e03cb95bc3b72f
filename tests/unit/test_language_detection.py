"""The conversation's language: detected from the customer's first messages only when nobody
chose it, and used to route the ticket to a team that speaks it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from api.i18n import LanguageDetector
from handoff import intake, languages, teams, tickets

DETECTOR = LanguageDetector()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我忘记密码了", "zh"),
        ("我要找人工客服", "zh"),
        ("چطور فاکتور بگیرم؟", "fa"),
        ("می‌خواهم با یک نفر صحبت کنم", "fa"),
        ("Wie kann ich meine Rechnung herunterladen?", "de"),
        ("¿Dónde puedo descargar mi factura?", "es"),
    ],
)
def test_a_clear_sentence_is_detected(text: str, language: str) -> None:
    assert DETECTOR.detect(text) == language


@pytest.mark.parametrize("text", ["ok", "hi", "12345", "?", "Tandem 4.2"])
def test_a_short_or_ambiguous_text_is_not(text: str) -> None:
    assert DETECTOR.detect(text) is None


def test_only_the_hubs_languages_are_candidates() -> None:
    assert LanguageDetector(["en", "fr"]).detect("我忘记密码了") is None


def said(session: Session, conversation_id: int, text: str) -> None:
    intake.receive_customer_message(session, conversation_id=conversation_id, text=text)


def test_detection_replaces_a_default_or_a_hint(session: Session) -> None:
    default, _ = intake.open_conversation(session)
    assert (default.language, default.language_source) == ("en", "default")
    said(session, default.id, "我忘记密码了")
    languages.adopt_detected_language(session, conversation_id=default.id, language="zh")
    assert (default.language, default.language_source) == ("zh", "detected")

    hinted, _ = intake.open_conversation(session, language="en", language_source="hint")
    said(session, hinted.id, "سلام")
    languages.adopt_detected_language(session, conversation_id=hinted.id, language="fa")
    assert hinted.language == "fa"


def test_detection_never_overrides_an_explicit_language(session: Session) -> None:
    chosen, _ = intake.open_conversation(session, language="en")  # the widget's lang
    assert chosen.language_source == "explicit"
    said(session, chosen.id, "我忘记密码了")
    languages.adopt_detected_language(session, conversation_id=chosen.id, language="zh")
    assert chosen.language == "en"

    # A channel's hint (Telegram's language_code) arrives as set_language: explicit too.
    hinted, _ = intake.open_conversation(session, language="de", language_source="hint")
    intake.set_language(session, conversation_id=hinted.id, language="es")
    said(session, hinted.id, "Wie kann ich meine Rechnung herunterladen?")
    languages.adopt_detected_language(session, conversation_id=hinted.id, language="de")
    assert (hinted.language, hinted.language_source) == ("es", "explicit")


def test_detection_stops_after_the_first_messages_and_once_a_ticket_exists(
    session: Session,
) -> None:
    later, _ = intake.open_conversation(session)
    for _ in range(languages.DETECT_WITHIN + 1):
        said(session, later.id, "hello there")
    languages.adopt_detected_language(session, conversation_id=later.id, language="zh")
    assert later.language == "en"

    routed, _ = intake.open_conversation(session)
    said(session, routed.id, "a person please")
    tickets.hand_off(session, conversation_id=routed.id, reason="customer_request")
    languages.adopt_detected_language(session, conversation_id=routed.id, language="zh")
    assert routed.language == "en"  # as the ticket was routed


def test_a_chinese_conversation_goes_to_the_team_that_speaks_it(session: Session) -> None:
    # (the default "Support" team, which takes any language, exists already)
    chinese, _ = teams.save_team(session, name="China desk", languages=["zh-CN"])
    persian, _ = teams.save_team(session, name="Persian desk", languages=["fa"])
    for language, team in (("zh", chinese), ("zh-Hans", chinese), ("fa", persian)):
        conversation, _ = intake.open_conversation(session, language=language)
        said(session, conversation.id, "help")
        ticket, _ = tickets.hand_off(
            session, conversation_id=conversation.id, reason="customer_request"
        )
        assert ticket.team_id == team.id, language


def test_detection_does_not_switch_between_languages_of_one_script(session: Session) -> None:
    """English, French, German and Spanish are easily confused on short texts: a hint in
    one of them stays; a Chinese or Persian hint gives way to English words, though."""
    english, _ = intake.open_conversation(session, language="en", language_source="hint")
    said(session, english.id, "where can I download the desktop app")
    languages.adopt_detected_language(session, conversation_id=english.id, language="de")
    assert english.language == "en"

    chinese, _ = intake.open_conversation(session, language="zh-CN", language_source="hint")
    said(session, chinese.id, "How do I reset my password?")
    languages.adopt_detected_language(session, conversation_id=chinese.id, language="en")
    assert (chinese.language, chinese.language_source) == ("en", "detected")
