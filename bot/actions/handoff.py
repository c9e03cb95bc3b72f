"""Handing the conversation to people, and the email form when nobody is there to take it.

The hub tells us in each message's metadata whether an agent is online
(`agents_available`) and whether it already knows the customer's email (`contact_email`).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import payloads

# The bot's own words are responses in domain.yml, with a variation per language.
ASKED = "utter_handoff"
THANKS = "utter_handoff_thanks"
OFFLINE = "utter_handoff_offline"
# "I'd rather not say", in the languages the bot speaks.
SKIP = ("skip", "no", "no thanks", "跳过", "不用", "不", "نه", "نه ممنون", "رد")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def agents_available(tracker: Tracker) -> bool:
    # Without word from the hub (another channel, an old hub), assume someone will see it.
    return bool(_metadata(tracker).get("agents_available", True))


def say(dispatcher: CollectingDispatcher, text: str, **kwargs: Any) -> None:
    """`text` is a response of domain.yml ("utter_...", in the conversation's language) or
    literal words."""
    if text.startswith("utter_"):
        dispatcher.utter_message(response=text, **kwargs)
    else:
        dispatcher.utter_message(text=text, **kwargs)


def request_person(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    text: str,
    reason: str,
    priority: str = "normal",
) -> list[dict[str, Any]]:
    """Hand over now if someone can take it (or we can reply by email); else ask for an email
    first, remembering why and how urgently. `text` as for `say`."""
    email = tracker.get_slot("email")
    reset = [SlotSet("kb_failures", 0), SlotSet("awaiting_feedback", False)]
    if agents_available(tracker) or email:
        offline = not agents_available(tracker)
        say(
            dispatcher,
            text,
            json_message=payloads.handoff(reason, priority, email=email, offline=offline),
        )
        return [*reset, SlotSet("handoff_reason", None), SlotSet("handoff_priority", None)]
    dispatcher.utter_message(response=OFFLINE, json_message=payloads.contact_form())
    return [
        *reset,
        SlotSet("handoff_reason", reason),
        SlotSet("handoff_priority", priority),
        FollowupAction("email_form"),
    ]


class ActionHandoff(Action):
    """The customer asked for a person, or the email form just finished."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        reason = tracker.get_slot("handoff_reason")
        if reason and tracker.get_slot("email"):  # back from the email form
            priority = tracker.get_slot("handoff_priority") or "normal"
            return request_person(dispatcher, tracker, THANKS, reason, priority)
        return request_person(dispatcher, tracker, ASKED, "customer_request")


class ValidateEmailForm(FormValidationAction):
    def name(self) -> str:
        return "validate_email_form"

    def validate_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        value = str(slot_value or "").strip()
        if value.lower() in SKIP:
            known = _metadata(tracker).get("contact_email")
            if known:
                return {"email": known}
            dispatcher.utter_message(response="utter_email_needed")
            return {"email": None}
        if not _EMAIL.match(value) or len(value) > 320:
            dispatcher.utter_message(response="utter_email_invalid")
            return {"email": None}
        return {"email": value}
