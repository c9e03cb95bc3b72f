"""Rasa's own command line, as Frontline starts it, with three per-turn costs removed
(each measured with py-spy during KB turns; docs/performance.md).

1. Rasa 3.6 checks every answer of the action server with `jsonschema.validate(result,
   spec)`. That call first validates the constant `spec` itself against JSON Schema's
   2020-12 metaschema, every time, and only then the answer: over half of the Rasa server's
   CPU. Here the spec is checked once at start and its validator kept: every answer is
   still validated against the same schema and raises the same error, as in Rasa.
2. Every turn the tracker is rebuilt from its stored events, and each event's class is
   found by walking all of `Event`'s subclasses (`Event.resolve_by_type`, with an
   `inspect.isabstract` per class): 11% of the server's CPU. The classes are looked up in a
   table made once instead; a name it lacks goes to Rasa's own lookup (same error, same
   default).
3. Every action call carried the conversation's whole history (`EventVerbosity.ALL`): 170 KB
   of JSON per call after 30 turns, encoded by Rasa and parsed by the hub twice a turn, and
   growing. Frontline's actions read the latest message, the slots and the customer's last
   few messages, so a call carries the events since the `ACTION_CALL_USER_TURNS`-th latest
   customer message; every other field of the call is Rasa's own.

Run by the hub in Rasa's own environment (Python 3.10): `python bot/rasa_server.py run ...`,
arguments as `rasa`'s. Nothing of the hub is imported here.
"""

from __future__ import annotations

import sys
from typing import Any

# How many of the customer's latest messages (with everything after the oldest of them) an
# action call carries. The actions look back three messages (a repeated question is a sign
# of frustration, bot/actions/triggers.py); one more is kept spare.
ACTION_CALL_USER_TURNS = 5


def keep_action_response_validator() -> None:
    from jsonschema import validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)  # once, not at every turn
    validator = validator_class(spec)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def find_event_classes_once() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    looked_up = Event.resolve_by_type  # Rasa's own, for names the table lacks
    table: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> Any:
        found = table.get(type_name)
        if found is None:
            # First use, or a class imported since: the table is made again, keeping the
            # first class of a name as Rasa's own loop would find it.
            table.clear()
            for cls in all_subclasses(Event):
                table.setdefault(cls.type_name, cls)
            found = table.get(type_name)
        return found if found is not None else looked_up(type_name, default)

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign,assignment]


def send_recent_events_to_actions(user_turns: int = ACTION_CALL_USER_TURNS) -> None:
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import EventVerbosity

    def action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        state = tracker.current_state(EventVerbosity.NONE)
        events = list(tracker.events)
        start, seen = 0, 0
        for position in range(len(events) - 1, -1, -1):
            if isinstance(events[position], UserUttered):
                seen += 1
                if seen == user_turns:
                    start = position
                    break
        state["events"] = [event.as_dict() for event in events[start:]]
        result = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": state,
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or (
            domain.does_custom_action_explicitly_need_domain(self.name())
        ):
            result["domain"] = domain.as_dict()
        return result

    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]


if __name__ == "__main__":
    keep_action_response_validator()
    find_event_classes_once()
    send_recent_events_to_actions()
    from rasa.__main__ import main

    sys.exit(main())
