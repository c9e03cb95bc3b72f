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
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from api import rasa_process
from api.settings import Settings
from retrieval.encoder import open_encoder
from retrieval.search import build_index, model_for_sources
from tests.bench.bench_rasa import DEFAULT_BOT_MESSAGES, default_bot, drive, start
from tests.bench.bench_turns import KB_QUESTIONS, drive_widget, start_hub
from tests.fakes.stack import free_port

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
    settings = Settings()
    root = settings.var_dir / "bench"
    root.mkdir(parents=True, exist_ok=True)
    model = model_for_sources(settings.embedding_model, settings.kb_dir, settings.serve_languages)
    build_index(
        settings.kb_dir, settings.index_path, open_encoder(model),
        serve_languages=settings.serve_languages,
    )  # fmt: skip
    ours, _ = rasa_process.train(
        settings.bot_dir, settings.models_path, settings.rasa_bin, kb_dir=settings.kb_dir
    )
    theirs = default_bot(root, settings.rasa_bin)
    var = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    hub_settings = Settings(
        var_dir=var, index_dir=settings.index_path, models_dir=settings.models_path
    )
    hub_port, rasa_port, anchor_port = free_port(), free_port(), free_port()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    token = secrets.token_urlsafe(32)
    hub = start_hub(hub_settings, hub_port, rasa_url, token, var / "hub.log")
    rasa = anchor = None
    try:
        rasa = rasa_process.start_server(
            rasa_bin=settings.rasa_bin, model=ours, bot_dir=settings.bot_dir, host="127.0.0.1",
            port=rasa_port, action_endpoint_url=f"http://127.0.0.1:{hub_port}/actions/webhook",
            action_token=token, log_file=var / "rasa.log",
        )  # fmt: skip
        anchor = start(
            settings.rasa_bin, theirs, theirs.parent.parent, anchor_port,
            "http://127.0.0.1:9/unused", root / "default-bot.log",
        )  # fmt: skip
        rasa_process.wait_until_ready(rasa_url, rasa, timeout=240)
        widget_url = f"ws://127.0.0.1:{hub_port}/ws/widget"
        anchor_url = f"http://127.0.0.1:{anchor_port}"
        drive(rasa_url, KB_QUESTIONS, 1)
        drive(anchor_url, DEFAULT_BOT_MESSAGES, 1)
        asyncio.run(drive_widget(widget_url, 1, 5))

        def straight(url: str, messages: list[str]) -> Callable[[], int]:
            def run() -> int:
                latencies, _ = drive(url, messages, CONVERSATIONS)
                return len(latencies)

            return run

        def widget() -> int:
            return len(asyncio.run(drive_widget(widget_url, CONVERSATIONS, TURNS)).latencies)

        runs = {
            "rasa init bot, scripted (anchor)": (
                straight(anchor_url, DEFAULT_BOT_MESSAGES),
                {"rasa": anchor.pid},
            ),
            "KB question straight to Rasa": (
                straight(rasa_url, KB_QUESTIONS),
                {"rasa": rasa.pid, "hub": hub.pid},
            ),
            "KB question through the widget": (widget, {"rasa": rasa.pid, "hub": hub.pid}),
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
    finally:
        for process in (rasa, anchor):
            if process is not None:
                rasa_process.stop_server(process)
        hub.terminate()
        hub.wait(timeout=30)


if __name__ == "__main__":
    main()
