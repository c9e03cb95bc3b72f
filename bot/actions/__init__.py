"""Custom actions. They run inside the hub's action endpoint (rasa-sdk's ActionExecutor),
get what they need passed in, and signal the hub through `custom` payloads."""

from bot.actions.handoff import ActionHandoff
from bot.actions.knowledge import ActionAnswerFromKB, Searcher


def build_actions(search: Searcher) -> list[object]:
    """The actions to register with an ActionExecutor, wired to a knowledge-base search."""
    return [ActionAnswerFromKB(search), ActionHandoff()]


__all__ = ["ActionAnswerFromKB", "ActionHandoff", "Searcher", "build_actions"]
