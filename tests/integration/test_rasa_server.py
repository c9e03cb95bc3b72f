"""bot/rasa_server.py, in Rasa's own environment: the action server's answers are still
validated against Rasa's schema, with Rasa's error, after the launcher keeps the validator."""

from __future__ import annotations

import subprocess

import pytest

from api.rasa_process import RASA_SERVER, rasa_command
from api.settings import Settings

pytestmark = pytest.mark.integration

CHECK = f"""
import runpy, sys
launcher = runpy.run_path({str(RASA_SERVER)!r}, run_name="frontline_check")
launcher["keep_action_response_validator"]()
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
action = RemoteAction("action_answer_from_kb", None)
good = {{"events": [{{"event": "slot", "name": "language", "value": "fa"}}],
         "responses": [{{"text": "hi", "buttons": [{{"title": "Yes", "payload": "/helpful"}}]}}]}}
assert action._validate_action_result(good) is True
for bad in ({{"events": "not a list"}}, {{"responses": [1, 2]}}):
    try:
        action._validate_action_result(bad)
    except ValidationError as error:
        assert "Failed to validate Action server response" in error.message, error.message
    else:
        sys.exit("accepted " + repr(bad))
print("ok")
"""


def test_the_launcher_still_validates_every_action_answer() -> None:
    command = rasa_command(Settings().rasa_bin)
    assert command[1:] == [str(RASA_SERVER)], "the hub no longer starts Rasa through the launcher"
    result = subprocess.run(
        [command[0], "-c", CHECK], capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


HISTORY_CHECK = f"""
import runpy, sys
launcher = runpy.run_path({str(RASA_SERVER)!r}, run_name="frontline_check")
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

names = ["user", "bot", "action", "slot", "restart", "followup", "active_loop", "session_started"]
theirs = {{name: Event.resolve_by_type(name) for name in names}}
rasa_format = RemoteAction._action_call_format
launcher["find_event_classes_once"]()
launcher["send_recent_events_to_actions"]()
assert {{name: Event.resolve_by_type(name) for name in names}} == theirs
assert Event.resolve_by_type("no such event", default=SlotSet) is SlotSet
try:
    Event.resolve_by_type("no such event")
except ValueError as error:
    assert "Unknown event name" in str(error)
else:
    sys.exit("an unknown event name was accepted")

domain = Domain.from_dict({{"slots": {{"language": {{"type": "text", "mappings": []}}}}}})
tracker = DialogueStateTracker("c1", domain.slots)
for turn in range(30):
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(f"question {{turn}}", {{"name": "ask_question"}}))
    tracker.update(SlotSet("language", "fa"))
    tracker.update(BotUttered(f"answer {{turn}}"))
action = RemoteAction("action_answer_from_kb", None)
ours, whole = action._action_call_format(tracker, domain), rasa_format(action, tracker, domain)
assert {{k: v for k, v in ours.items() if k != "tracker"}} == {{
    k: v for k, v in whole.items() if k != "tracker"}}
assert {{k: v for k, v in ours["tracker"].items() if k != "events"}} == {{
    k: v for k, v in whole["tracker"].items() if k != "events"}}
events = ours["tracker"]["events"]
assert events == whole["tracker"]["events"][-len(events):]
users = [e["text"] for e in events if e["event"] == "user"]
assert users == [f"question {{n}}" for n in range(25, 30)], users
assert events[0]["event"] == "user", events[0]
short = DialogueStateTracker("c2", domain.slots)
short.update(UserUttered("only one", {{"name": "ask_question"}}))
assert action._action_call_format(short, domain) == rasa_format(action, short, domain)
print("ok")
"""


def test_action_calls_carry_the_latest_turns_and_events_resolve_as_in_rasa() -> None:
    """The launcher's two other changes: an action call holds the events since the fifth
    latest customer message and is otherwise Rasa's own; event classes are found as Rasa
    finds them."""
    command = rasa_command(Settings().rasa_bin)
    result = subprocess.run(
        [command[0], "-c", HISTORY_CHECK],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), (
        result.stdout[-2000:] + result.stderr[-2000:]
    )


COMPONENT_CHECK = """
from rasa.shared.nlu.training_data.message import Message
from bot.conversation_language import ConversationLanguage

component = ConversationLanguage.create({}, None, None, None)
said = Message(data={"text": "你好", "metadata": {"conversation_language": "zh-CN"}})
silent = Message(data={"text": "hi", "metadata": {}})
component.process([said, silent])
assert [(e["entity"], e["value"]) for e in said.get("entities")] == [("language", "zh")]
assert said.as_dict_nlu()["entities"][0]["value"] == "zh"
assert not silent.get("entities")
print("ok")
"""


def test_the_bots_nlu_component_loads_in_rasas_environment() -> None:
    """bot/conversation_language.py imports as Rasa runs it (PYTHONPATH from rasa_environment)
    and turns the hub's conversation_language into the `language` entity."""
    from api.rasa_process import rasa_environment

    command = rasa_command(Settings().rasa_bin)
    result = subprocess.run(
        [command[0], "-c", COMPONENT_CHECK], capture_output=True, text=True, timeout=240,
        check=False, env=rasa_environment(), cwd="/",
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), (
        result.stdout[-2000:] + result.stderr[-2000:]
    )
