"""The hub's own texts from message catalogs: every catalog complete and its placeholders
intact, the template up to date with the code, and notices stored in the conversation's
language (Persian with its names and addresses isolated for right-to-left reading)."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy.orm import Session

from api.i18n import catalog_locale, is_rtl, load_catalogs, localize_notices
from api.i18n.catalogs import LOCALE_DIR
from api.i18n.localize import FSI, PDI
from handoff import agent_actions, agents, csat, intake, tickets
from handoff.texts import Say, from_payload, literal, render, say, to_payload
from tests.fakes.paths import ROOT

LOCALES = ["zh_CN", "fa", "fr", "de", "es"]


def template_ids() -> set[str]:
    with (LOCALE_DIR / "frontline.pot").open("rb") as handle:
        return {str(m.id) for m in read_po(handle) if m.id}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_the_template_holds_every_marked_text_of_the_code() -> None:
    marked = set()
    for directory in (ROOT / "handoff", ROOT / "api"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            directory, keywords={"N_": None}, method_map=[("**.py", "python")]
        ):
            marked.add(message)
    assert marked == template_ids(), "run the pybabel extract of README 'Languages'"


@pytest.mark.parametrize("locale", LOCALES)
def test_each_catalog_translates_every_text_with_the_same_placeholders(locale: str) -> None:
    catalogs = load_catalogs()
    table = catalogs.by_locale[locale]
    assert set(table) == template_ids()
    for msgid, translated in table.items():
        assert translated != msgid or locale != "zh_CN", msgid
        assert placeholders(translated) == placeholders(msgid), (locale, msgid)


def test_languages_find_their_catalog() -> None:
    catalogs = load_catalogs()
    assert catalog_locale("zh") == catalog_locale("zh-cn") == "zh_CN"
    assert catalog_locale("fa-IR") == "fa_IR"
    asked = csat.ASK_RATING
    assert catalogs.gettext("zh", asked) == catalogs.gettext("zh-CN", asked) != asked
    assert catalogs.gettext("fa-IR", asked) == catalogs.gettext("fa", asked) != asked
    assert catalogs.gettext("en", asked) == asked
    assert catalogs.gettext("ja", asked) == asked  # no catalog: English
    assert is_rtl("fa") and is_rtl("ar-EG") and not is_rtl("zh-CN") and not is_rtl("en")


def test_parts_render_and_round_trip_through_the_payload() -> None:
    parts = [
        say("Ticket {ticket}.", ticket="#7"),
        Say("While you wait:", paragraph=True),
        literal("Use {braces} as they are"),
    ]
    assert render(parts) == "Ticket #7.\n\nWhile you wait:\n\nUse {braces} as they are"
    assert from_payload(to_payload(parts)) == parts


@pytest.fixture
def localized(session: Session) -> Session:
    localize_notices(session, load_catalogs())
    return session


def handed_off(session: Session, language: str) -> str:
    conversation, _ = intake.open_conversation(session, language=language)
    intake.receive_customer_message(session, conversation_id=conversation.id, text="help")
    tickets.hand_off(session, conversation_id=conversation.id, reason="customer_request")
    return conversation.messages[-1].text


def test_the_queue_notice_is_in_the_conversations_language(localized: Session) -> None:
    assert handed_off(localized, "en").startswith("You are number 1 in the queue")
    assert handed_off(localized, "zh").startswith("您在人工客服队列中排第 2 位")
    persian = handed_off(localized, "fa")
    assert persian.startswith("شما نفر 3 در صف")
    # The ticket number is an isolate in the right-to-left sentence.
    assert re.search(f"{FSI}#\\d+{PDI}", persian)


def test_rating_questions_and_their_button_in_the_customers_language(localized: Session) -> None:
    agent = agents.create_agent(
        localized, email="dana@example.com", name="Dana", password="long enough secret"
    )[0]
    conversation, _ = intake.open_conversation(localized, language="zh-CN")
    intake.receive_customer_message(localized, conversation_id=conversation.id, text="导出失败")
    tickets.hand_off(localized, conversation_id=conversation.id, reason="customer_request")
    agent_actions.take_over(localized, conversation_id=conversation.id, agent_id=agent.id)
    assert conversation.messages[-1].text == "Dana 加入了对话。"
    agent_actions.resolve(localized, conversation_id=conversation.id, agent_id=agent.id)
    assert conversation.messages[-2].text.startswith("Dana 已将此对话标记为已解决")
    prompt = conversation.messages[-1]
    assert prompt.text.startswith("我们的服务如何？")  # noqa: RUF001
    intake.receive_customer_message(
        localized, conversation_id=conversation.id, text="5", button=csat.rate_payload(5)
    )
    comment = conversation.messages[-1]
    assert comment.text.startswith("谢谢！")  # noqa: RUF001
    assert [b["title"] for b in comment.payload["buttons"]] == ["不用了，谢谢"]  # noqa: RUF001


def test_without_the_hook_notices_stay_in_english(session: Session) -> None:
    """handoff/ alone (no hub): the English text, with the parts kept for later."""
    text = handed_off(session, "zh")
    assert text.startswith("You are number 1 in the queue")


def test_the_mail_acknowledgement_keeps_the_quoted_answer_as_written(localized: Session) -> None:
    """api/dialogue.py's acknowledgement: translated parts, the ticket number filled in, and
    the knowledge base's answer quoted as it is (braces and all)."""
    conversation, _ = intake.open_conversation(localized, channel="email", language="zh")
    intake.receive_customer_message(localized, conversation_id=conversation.id, text="发票")
    notice = [
        say(
            "Thank you for writing. We have opened ticket {ticket} and our team will reply in"
            " this thread."
        ),
        Say("While you wait, this may answer your question:", paragraph=True),
        literal("Open {Settings} > Billing."),
    ]
    ticket, _ = tickets.hand_off(
        localized, conversation_id=conversation.id, reason="email", notice=notice
    )
    text = conversation.messages[-1].text
    assert text.startswith(f"感谢您的来信。我们已创建工单 #{ticket.number}")
    assert text.endswith("在等待期间，这篇内容也许能解答您的问题：\n\nOpen {Settings} > Billing.")  # noqa: RUF001


@pytest.mark.parametrize(
    ("language", "source", "reply"),
    [
        ("zh-hans", "来源：", "请回复数字。"),  # noqa: RUF001
        ("fa", "منبع:", "با یک عدد پاسخ دهید."),
        ("en", "Source:", "Reply with a number."),
    ],
)
def test_a_plain_text_channel_labels_sources_and_choices_in_the_customers_language(
    language: str, source: str, reply: str
) -> None:
    from api.channels.base import Button, OutboundMessage
    from api.channels.render import plain_text

    message = OutboundMessage(
        thread_id="t",
        text="Answer",
        role="bot",
        message_id=1,
        conversation_id=1,
        buttons=(Button("1", "/helpful"),),
        sources=({"title": "Invoices", "url": "https://help.example/invoices"},),
        context={"language": language},
    )
    text = plain_text(message, numbered_buttons=True)
    assert f"{source}\n- Invoices: https://help.example/invoices" in text
    assert text.endswith(f"1. 1\n{reply}")
