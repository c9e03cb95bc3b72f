"""Domain errors, mapped to HTTP statuses by the hub."""

from handoff.states import IllegalTransition


class HandoffError(Exception):
    """Base of the errors a write operation raises on purpose."""


class NotFound(HandoffError):
    pass


class NotAllowed(HandoffError):
    """The operation is valid in general but not for this actor or in this state."""


class InvalidInput(HandoffError):
    pass


__all__ = ["HandoffError", "IllegalTransition", "InvalidInput", "NotAllowed", "NotFound"]
