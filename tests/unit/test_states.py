import pytest

from handoff.states import ConversationState, IllegalTransition, TicketStatus


def test_conversation_lifecycle_moves() -> None:
    state = ConversationState.BOT
    for target in (
        ConversationState.QUEUED,
        ConversationState.AGENT,
        ConversationState.RESOLVED,
        ConversationState.BOT,
    ):
        state = state.transition(target)
    assert state is ConversationState.BOT


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (ConversationState.BOT, ConversationState.AGENT),  # nobody took it from a queue
        (ConversationState.BOT, ConversationState.RESOLVED),
        (ConversationState.QUEUED, ConversationState.BOT),
        (ConversationState.RESOLVED, ConversationState.RESOLVED),
        (ConversationState.QUEUED, ConversationState.QUEUED),
        (ConversationState.AGENT, ConversationState.AGENT),
    ],
)
def test_conversation_refuses_illegal_moves(
    current: ConversationState, target: ConversationState
) -> None:
    with pytest.raises(IllegalTransition, match=f"from '{current.value}' to '{target.value}'"):
        current.transition(target)


def test_with_people_only_while_queued_or_taken() -> None:
    assert {s for s in ConversationState if s.with_people} == {
        ConversationState.QUEUED,
        ConversationState.AGENT,
    }


def test_closed_ticket_is_final() -> None:
    for target in TicketStatus:
        assert not TicketStatus.CLOSED.can_become(target)
    assert TicketStatus.NEW.transition(TicketStatus.OPEN) is TicketStatus.OPEN
    with pytest.raises(IllegalTransition):
        TicketStatus.NEW.transition(TicketStatus.CLOSED)
