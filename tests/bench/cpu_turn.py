"""CPU time per turn, per process (`python -m tests.bench.cpu_turn`).

Wall-clock figures on a shared two-core machine swing by a third between runs; the CPU a
turn costs each process (user + system time from /proc, divided by the turns served) is
steadier, and says which process bounds throughput when the cores are full. Runs the
hub and our Rasa server as in `bench_turns`, the anchor (`rasa init` bot) beside them, and
at `CONVERSATIONS` conversations prints, for the anchor, KB questions straight to Rasa and
through the widget: turns, ms of CPU per turn in Rasa, in the hub, and in this load
generator. Used for docs/performance.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from tests.bench.bench_rasa import DEFAULT_BOT_MESSAGES, drive
from tests.bench.bench_turns import KB_QUESTIONS, drive_widget, running_stack

CONVERSATIONS = 16
TURNS = 20
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children, seconds (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Fields after the command: utime, stime, cutime, cstime are the 12th-15th.
    return sum(int(value) for value in fields[11:15]) / TICKS


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def measured(
    run: Callable[[], int], processes: dict[str, int]
) -> tuple[int, dict[str, float], float]:
    """Turns served, CPU seconds per process, and wall seconds, for one run."""
    before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    own = own_cpu_seconds()
    began = time.perf_counter()
    turns = run()
    wall = time.perf_counter() - began
    spent = {name: cpu_seconds(pid) - before[name] for name, pid in processes.items()}
    spent["load generator"] = own_cpu_seconds() - own
    return turns, spent, wall


def main() -> None:
    with running_stack("bench-cpu-") as stack:

        def straight(url: str, messages: list[str]) -> Callable[[], int]:
            def run() -> int:
                latencies, _ = drive(url, messages, CONVERSATIONS)
                return len(latencies)

            return run

        def widget() -> int:
            return len(asyncio.run(drive_widget(stack.widget_url, CONVERSATIONS, TURNS)).latencies)

        both = {"rasa": stack.rasa.pid, "hub": stack.hub.pid}
        runs = {
            "rasa init bot, scripted (anchor)": (
                straight(stack.anchor_url, DEFAULT_BOT_MESSAGES),
                {"rasa": stack.anchor.pid},
            ),
            "KB question straight to Rasa": (straight(stack.rasa_url, KB_QUESTIONS), both),
            "KB question through the widget": (widget, both),
        }
        print(
            f"\nCPU ms per turn, {CONVERSATIONS} conversations "
            f"({os.cpu_count()} cores; wall turns/s beside)"
        )
        print(f"{'':<34} {'turns':>5} {'rasa':>7} {'hub':>7} {'client':>7} {'sum':>7} {'/s':>6}")
        for name, (run, processes) in runs.items():
            turns, spent, wall = measured(run, processes)
            per = {key: value * 1000 / max(turns, 1) for key, value in spent.items()}
            print(
                f"{name:<34} {turns:>5} {per.get('rasa', 0):>7.1f} {per.get('hub', 0):>7.1f} "
                f"{per['load generator']:>7.1f} {sum(per.values()):>7.1f} {turns / wall:>6.1f}"
            )


if __name__ == "__main__":
    main()
