"""Domain errors, mapped to HTTP statuses by the hub."""

from handoff.states import IllegalTransition


class HandoffError(Exception):
    """Base of the errors a write operation raises on purpose."""


class NotFound(HandoffError):
    pass


class NotAllowed(HandoffError):
    """The operation is valid in general but not for this actor or in this state."""


class Forbidden(NotAllowed):
    """Not for this actor's role: someone else's work, or a lead's or admin's job (403, where
    other NotAllowed cases are conflicts with the current state, 409)."""


class InvalidInput(HandoffError):
    pass


__all__ = [
    "Forbidden",
    "HandoffError",
    "IllegalTransition",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
]
