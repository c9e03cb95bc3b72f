"""api/stopping.py: a stop that survives a lost cancellation (Python 3.11's asyncio.wait_for,
which redis-py awaits every socket write through, can swallow one)."""

from __future__ import annotations

import asyncio

from api.stopping import cancel_and_wait


async def _loses_its_first_cancellation(rounds: list[int]) -> None:
    lost = False
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if lost:
                raise
            lost = True  # what asyncio.wait_for does when its inner call ends just then
        rounds.append(1)


def test_a_task_that_lost_a_cancellation_is_stopped_all_the_same() -> None:
    async def main() -> None:
        rounds: list[int] = []
        task = asyncio.create_task(_loses_its_first_cancellation(rounds))
        await asyncio.sleep(0.03)
        # The control: cancelled once, it runs on.
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done()
        assert await cancel_and_wait([task]) == set()
        assert task.cancelled()

    asyncio.run(main())
