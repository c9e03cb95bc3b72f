"""Stopping background tasks for sure.

On Python 3.11 a task's cancellation can be lost: `asyncio.wait_for` returns the inner
result when the inner awaitable finishes at the moment the outer task is cancelled
(CPython gh-86296, fixed in 3.12), and redis-py awaits every socket write through it. A
loop cancelled once may then run on, and `await task` after `task.cancel()` never returns.
So a stop cancels again until the task has ended (each cancellation lands at the task's
next await), within an optional bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

RECANCEL_EVERY = 0.1


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], *, timeout: float | None = None
) -> set[asyncio.Task[Any]]:
    """Cancel `tasks` until each has ended, or `timeout` s passed; the ones still running."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        wait = RECANCEL_EVERY
        if deadline is not None:
            left = deadline - loop.time()
            if left <= 0:
                break
            wait = min(wait, left)
        _, pending = await asyncio.wait(pending, timeout=wait)
    return pending
