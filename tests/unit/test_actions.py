"""Our custom actions, run through rasa-sdk's ActionExecutor as Rasa would call them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk.executor import ActionExecutor

from bot.actions import build_actions, triggers
from retrieval.index import Hit
from retrieval.search import SearchResult
from tests.fakes.bot_responses import said

HIT = Hit(
    "reset-password",
    "Reset your password",
    0.82,
    None,
    "Choose Forgot password.\n\nThen check your email.",
    "https://help.example/reset",
)
OTHER = Hit("account-locked", "Account locked", 0.31, None, "Wait 15 minutes.", None)
ARTICLES = {h.article_id: h for h in (HIT, OTHER)}


class Knowledge:
    def __init__(self, search: Callable[[str], SearchResult]) -> None:
        self._search = search
        self.languages: list[str | None] = []

    def search(self, query: str, language: str | None = None) -> SearchResult:
        self.languages.append(language)
        return self._search(query)

    def article(self, article_id: str, language: str | None = None) -> Hit | None:
        return ARTICLES.get(article_id)


def no_search(query: str) -> SearchResult:
    raise AssertionError("no search expected")


def run(
    action: str,
    text: str,
    *,
    search: Callable[[str], SearchResult] = no_search,
    intent: str = "nlu_fallback",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    earlier: list[str] = (),  # type: ignore[assignment]
    metadata: dict[str, Any] | None = None,
    knowledge: Knowledge | None = None,
) -> dict[str, Any]:
    executor = ActionExecutor()
    for a in build_actions(knowledge or Knowledge(search)):
        executor.register_action(a)
    events = [{"event": "user", "text": t} for t in [*earlier, text]]
    call = {
        "next_action": action,
        "sender_id": "conversation-1",
        "version": "3.6.21",
        "domain": {"intents": [], "entities": [], "slots": {}, "responses": {}, "actions": []},
        "tracker": {
            "sender_id": "conversation-1",
            "slots": slots or {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent},
                "entities": entities or [],
                "metadata": metadata or {},
            },
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }
    result = asyncio.run(executor.run(call))
    assert result is not None
    return result.model_dump()


def slots(out: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in out["events"] if e["event"] == "slot"}


def ours(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["custom"]["frontline"] for r in out["responses"] if r.get("custom")]


def test_confident_answer_carries_its_source_and_asks_if_it_helped() -> None:
    out = run(
        "action_answer_from_kb",
        "I forgot my password",
        search=lambda q: SearchResult(q, "answer", 0.82, [HIT, OTHER]),
    )
    answer, question = said(out)
    # Paragraphs joined: Rasa's REST channel would split the answer at blank lines.
    assert answer["text"] == "Choose Forgot password.\nThen check your email."
    payload = answer["custom"]["frontline"]
    assert payload["kind"] == "answer"
    assert [h["score"] for h in payload["hits"]] == [0.82, 0.31]
    assert payload["sources"] == [
        {
            "article_id": "reset-password",
            "title": "Reset your password",
            "url": "https://help.example/reset",
            "score": 0.82,
        }
    ]
    assert question["text"] == "Did this help?"
    assert [b["payload"] for b in question["buttons"]] == ["/helpful", "/not_helpful"]
    assert slots(out) == {
        "kb_failures": 0,
        "awaiting_feedback": True,
        "kb_offered": ["account-locked"],
        "kb_shown": ["reset-password"],
    }


def test_no_confident_answer_says_so_then_hands_over_on_the_second_miss() -> None:
    miss = lambda q: SearchResult(q, "escalate", 0.2, [HIT])  # noqa: E731
    first = run("action_answer_from_kb", "zzz", search=miss)
    assert "not sure" in said(first)[0]["text"]
    assert ours(first)[0]["kind"] == "no_answer" and "sources" not in ours(first)[0]
    assert ours(first)[0]["candidates"][0]["article_id"] == "reset-password"
    assert slots(first)["kb_failures"] == 1
    second = run("action_answer_from_kb", "qqq", search=miss, slots={"kb_failures": 1})
    assert {"kind": "handoff", "reason": "low_confidence", "priority": "normal"} in ours(second)


def test_clarify_offers_the_candidates_as_buttons() -> None:
    out = run(
        "action_answer_from_kb",
        "pw",
        search=lambda q: SearchResult(q, "clarify", 0.4, [HIT, OTHER], [HIT, OTHER]),
    )
    [response] = said(out)
    assert "Which one" in response["text"]
    assert [b["title"] for b in response["buttons"]] == ["Reset your password", "Account locked"]
    assert response["buttons"][0]["payload"] == '/choose_article{"article_id": "reset-password"}'
    assert response["custom"]["frontline"]["kind"] == "clarify"
    assert slots(out)["kb_offered"] == ["reset-password", "account-locked"]


def test_picking_a_candidate_answers_with_that_article() -> None:
    entities = [{"entity": "article_id", "value": "reset-password"}]
    out = run(
        "action_answer_from_kb",
        "/choose_article",
        intent="choose_article",
        entities=entities,
        slots={"kb_offered": ["reset-password", "account-locked"]},
    )
    assert slots(out)["kb_offered"] == ["account-locked"]  # still on offer if this one misses
    assert out["responses"][0]["text"].startswith("Choose Forgot password.")
    assert ours(out)[0]["sources"][0]["article_id"] == "reset-password"
    unknown = [{"entity": "article_id", "value": "nope"}]
    out = run("action_answer_from_kb", "/choose_article", intent="choose_article", entities=unknown)
    assert "not sure" in said(out)[0]["text"]


@pytest.mark.parametrize(
    "text",
    [
        "Our whole team is down, outage since 9am",
        "I think my account was hacked",
        "payment failed twice",
        "我们的系统宕机了，所有人都用不了",  # our system is down, nobody can use it
        "我的账号被黑了",  # my account was hacked
        "سرور ما از کار افتاده است",  # our server is down
        "حساب من هک شده",  # my account was hacked
        "پول را دو بار کسر کردید",  # you charged the money twice
    ],
)
def test_urgent_words_hand_over_at_once_with_high_priority(text: str) -> None:
    out = run("action_answer_from_kb", text)
    assert {"kind": "handoff", "reason": "urgent", "priority": "high"} in ours(out)


@pytest.mark.parametrize(
    ("text", "earlier"),
    [
        ("this bot is useless", []),
        ("WHY DOES NOTHING WORK HERE", []),
        ("how do I export", ["how do I export"]),
        ("这个机器人真没用", []),  # this bot is useless
        ("این ربات به درد نخور است", []),  # this bot is useless
    ],
)
def test_frustration_offers_a_person(text: str, earlier: list[str]) -> None:
    out = run("action_answer_from_kb", text, earlier=earlier)
    [response] = said(out)
    assert "frustrating" in response["text"]
    assert [b["payload"] for b in response["buttons"]] == ["/request_human", "/deny"]


def test_not_helpful_offers_the_next_article_then_a_person() -> None:
    state = {
        "awaiting_feedback": True,
        "kb_failures": 0,
        "kb_offered": ["account-locked"],
        "kb_shown": ["reset-password"],
    }
    out = run("action_feedback", "/not_helpful", intent="not_helpful", slots=state)
    texts = [r.get("text") for r in said(out)]
    assert "another article" in texts[0] and texts[1] == "Wait 15 minutes."
    assert slots(out)["kb_shown"] == ["reset-password", "account-locked"]
    again = run("action_feedback", "no", intent="deny", slots={**state, **slots(out)})
    assert {"kind": "handoff", "reason": "not_helpful", "priority": "normal"} in ours(again)


def test_no_next_article_offers_a_person() -> None:
    state = {"awaiting_feedback": True, "kb_failures": 0, "kb_offered": [], "kb_shown": ["x"]}
    out = run("action_feedback", "/not_helpful", intent="not_helpful", slots=state)
    offer = said(out)[-1]
    assert "talk to a person" in offer["text"]
    assert [b["payload"] for b in offer["buttons"]] == ["/request_human", "/deny"]


def test_yes_is_feedback_only_after_an_answer() -> None:
    out = run("action_feedback", "yes", intent="affirm", slots={"awaiting_feedback": True})
    assert "Glad it helped" in said(out)[0]["text"]
    assert ours(out) == [{"kind": "feedback", "helpful": True}]
    plain = run("action_feedback", "yes", intent="affirm", slots={"awaiting_feedback": False})
    assert ours(plain) == []


def test_handoff_action_asks_the_hub_for_a_person() -> None:
    out = run("action_handoff", "agent please")
    assert ours(out) == [{"kind": "handoff", "reason": "customer_request", "priority": "normal"}]


def test_trigger_words() -> None:
    assert triggers.is_urgent("we had a data loss")
    assert not triggers.is_urgent("how do I download my data")
    assert triggers.is_shouting("THIS IS NOT OK")
    assert not triggers.is_shouting("OK")
    assert not triggers.is_frustrated("hi", ["hi"])  # too short to call a repeat


def test_nobody_online_starts_the_email_form_and_keeps_the_reason() -> None:
    executor = ActionExecutor()
    for a in build_actions(Knowledge(no_search)):
        executor.register_action(a)

    def call(
        action: str, text: str, metadata: dict[str, Any], slots: dict[str, Any]
    ) -> dict[str, Any]:
        # A form validation sees the slots filled since the last user message.
        events = [{"event": "user", "text": text}] + [
            {"event": "slot", "name": "email", "value": slots["email"]}
            for _ in slots
            if _ == "email"
        ]
        tracker = {
            "sender_id": "c",
            "slots": slots,
            "events": events,
            "paused": False,
            "latest_message": {
                "text": text,
                "intent": {"name": "request_human"},
                "entities": [],
                "metadata": metadata,
            },
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
        out = asyncio.run(
            executor.run(
                {
                    "next_action": action,
                    "sender_id": "c",
                    "tracker": tracker,
                    "domain": {
                        "slots": {"email": {}},
                        "forms": {"email_form": {"required_slots": ["email"]}},
                    },
                }
            )
        )
        assert out is not None
        return out.model_dump()

    offline = {"agents_available": False}
    out = call("action_handoff", "a person please", offline, {})
    assert {"event": "followup", "name": "email_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in out["events"]
    ]
    assert slots(out)["handoff_reason"] == "customer_request"
    assert ours(out) == [{"kind": "contact_form", "form": "contact"}]  # widgets show a form

    back = call(
        "action_handoff",
        "ann@example.com",
        offline,
        {"email": "ann@example.com", "handoff_reason": "urgent", "handoff_priority": "high"},
    )
    assert ours(back) == [
        {
            "kind": "handoff",
            "reason": "urgent",
            "priority": "high",
            "email": "ann@example.com",
            "offline": True,
        }
    ]

    known = call(
        "validate_email_form",
        "skip",
        {"contact_email": "known@example.com"},
        {"requested_slot": "email", "email": "skip"},
    )
    assert slots(known)["email"] == "known@example.com"


def test_the_answer_comes_in_the_customers_language() -> None:
    chinese = Hit("reset-password", "重置密码", 0.9, None, "选择忘记密码。", None, lang="zh")
    knowledge = Knowledge(lambda q: SearchResult(q, "answer", 0.9, [chinese]))
    out = run(
        "action_answer_from_kb", "我忘记密码了", metadata={"language": "zh"}, knowledge=knowledge
    )
    assert knowledge.languages == ["zh"]
    texts = [r.get("text") for r in out["responses"]]
    assert texts[0] == "选择忘记密码。"  # no note: the article is in Chinese


def test_an_answer_in_another_language_carries_a_note_in_the_customers() -> None:
    english = Hit("reset-password", "Reset your password", 0.9, None, "Choose Forgot.", None)
    knowledge = Knowledge(lambda q: SearchResult(q, "answer", 0.9, [english]))
    out = run("action_answer_from_kb", "رمز عبور", metadata={"language": "fa"}, knowledge=knowledge)
    assert knowledge.languages == ["fa"]
    note, answer = out["responses"][0], out["responses"][1]
    assert "انگلیسی" in note["text"] and answer["text"] == "Choose Forgot."


def test_without_a_language_the_search_is_not_told_one() -> None:
    knowledge = Knowledge(lambda q: SearchResult(q, "answer", 0.9, [HIT]))
    out = run("action_answer_from_kb", "I forgot my password", knowledge=knowledge)
    assert knowledge.languages == [None]
    assert out["responses"][0]["text"].startswith("Choose Forgot password.")
