"""Custom actions. They run inside the hub's action endpoint (rasa-sdk's ActionExecutor),
get what they need passed in, and signal the hub through `custom` payloads."""

from bot.actions.handoff import ActionHandoff, ValidateEmailForm
from bot.actions.knowledge import ActionAnswerFromKB, ActionFeedback, KnowledgeSource


def build_actions(knowledge: KnowledgeSource) -> list[object]:
    """The actions to register with an ActionExecutor, wired to the knowledge base."""
    return [
        ActionAnswerFromKB(knowledge),
        ActionFeedback(knowledge),
        ActionHandoff(),
        ValidateEmailForm(),
    ]


__all__ = [
    "ActionAnswerFromKB",
    "ActionFeedback",
    "ActionHandoff",
    "KnowledgeSource",
    "build_actions",
]
