"""A bot turn end to end, beside the default `rasa init` bot, in one run (`make bench`).

The same knowledge-base questions asked straight to our Rasa server's REST channel (the
actions in the hub) and through the widget (the hub's WebSocket: stored, then Rasa, then
the answer pushed back), at 1, 4 and 16 conversations; the default `rasa init` bot on its own
scripted messages as the anchor; then 1,000 idle widget sockets and 50 active conversations:
reply p50/p99, turns/s, the hub's memory per idle socket, and lost or doubled messages.

The hub runs as its own process (`frontline hub`), so its memory is its own. Prints figures
beside the targets of issue 19; the exit code is 0 either way (speed is not a test here).
Run with `python -m tests.bench.bench_turns`.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import asyncio
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from api import rasa_process
from api.settings import Settings
from retrieval.encoder import open_encoder
from retrieval.search import build_index, model_for_sources
from tests.bench.bench_rasa import DEFAULT_BOT_MESSAGES, default_bot, drive, percentile, start
from tests.fakes.paths import ROOT
from tests.fakes.stack import free_port

CONCURRENCY = (1, 4, 16)
TURNS = 30
KB_QUESTIONS = [
    "How do I reset my password?",
    "Can I export my data?",
    "How do I get an invoice?",
    "Is my data encrypted?",
    "How do I cancel my subscription?",
]
IDLE_SOCKETS = 1000
ACTIVE = 50
ACTIVE_TURNS = 6


@dataclass
class Turns:
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    acked: int = 0
    answered: int = 0
    doubled: int = 0
    lost: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def rss_kib(pid: int) -> int:
    """Resident memory of a process, KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def hello(url: str) -> ClientConnection:
    ws = await connect(url, max_size=2**20, open_timeout=60)
    await ws.send(json.dumps({"type": "hello", "token": None}))
    while json.loads(await ws.recv())["type"] != "welcome":
        pass
    return ws


async def widget_conversation(url: str, turns: int, out: Turns, offset: int) -> None:
    """One customer asking `turns` KB questions in a row; each turn ends when the bot stops
    typing. Latency: sent -> the first bot message (what the customer waits for)."""
    ws = await hello(url)
    try:
        for n in range(turns):
            question = KB_QUESTIONS[(n + offset) % len(KB_QUESTIONS)]
            client_id = f"b{offset}-{n}-{time.monotonic_ns()}"
            began = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "text": question, "client_id": client_id}))
            out.sent += 1
            first: float | None = None
            answers = 0
            acked = False
            while True:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                except TimeoutError:
                    break
                kind = frame["type"]
                if kind == "ack" and frame.get("client_id") == client_id:
                    acked = True
                elif kind == "message" and frame["message"]["role"] in ("bot", "system"):
                    if first is None:
                        first = time.perf_counter() - began
                    if frame["message"].get("sources"):
                        answers += 1
                elif kind == "typing" and frame.get("role") == "bot" and not frame.get("active"):
                    if first is not None:
                        break
                elif kind == "state" and frame.get("state") in ("queued", "assigned"):
                    break  # handed off: answered by people, for this count
            out.acked += acked
            if first is None:
                out.lost += 1
                continue
            out.latencies.append(first)
            out.answered += 1
            out.doubled += answers > 1
    finally:
        await ws.close()


async def drive_widget(url: str, conversations: int, turns: int) -> Turns:
    out = Turns()
    began = time.perf_counter()
    await asyncio.gather(
        *(widget_conversation(url, turns, out, offset=n) for n in range(conversations))
    )
    out.seconds = time.perf_counter() - began
    return out


async def idle_and_active(url: str, hub_pid: int) -> tuple[Turns, float, int]:
    """1,000 sockets that only say hello, then 50 conversations talking meanwhile."""
    await asyncio.sleep(1)
    before = rss_kib(hub_pid)
    idle: list[ClientConnection] = []
    for start_at in range(0, IDLE_SOCKETS, 100):
        idle += await asyncio.gather(*(hello(url) for _ in range(start_at, start_at + 100)))
    await asyncio.sleep(2)
    per_socket = (rss_kib(hub_pid) - before) * 1024 / IDLE_SOCKETS
    active = await drive_widget(url, ACTIVE, ACTIVE_TURNS)
    still_open = sum(1 for ws in idle if ws.state.name == "OPEN")
    await asyncio.gather(*(ws.close() for ws in idle))
    return active, per_socket, still_open


def start_hub(
    settings: Settings,
    port: int,
    rasa_url: str,
    token: str,
    log: Path,
    *,
    command: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`frontline hub` (or `command` + `hub ...`, e.g. a traced hub) on `port`, once healthy."""
    env = {
        **os.environ,
        "FRONTLINE_ACTION_TOKEN": token,  # the same one is given to Rasa below
        "FRONTLINE_VAR_DIR": str(settings.var_dir),
        "FRONTLINE_INDEX_DIR": str(settings.index_path),
        "FRONTLINE_MODELS_DIR": str(settings.models_path),
        "FRONTLINE_RASA_URL": rasa_url,
        "FRONTLINE_RASA_TIMEOUT": "60",
        # The bench is one client address opening many conversations fast.
        "FRONTLINE_NEW_CONVERSATIONS_BURST": "100000",
        "FRONTLINE_NEW_CONVERSATIONS_PER_MINUTE": "100000",
        "FRONTLINE_MESSAGES_PER_SECOND": "1000",
        "FRONTLINE_MESSAGES_BURST": "1000",
        "FRONTLINE_CHANNELS_FILE": str(settings.var_dir / "channels.yml"),
        **(extra_env or {}),
    }
    launcher = list(command) or [str(ROOT / ".venv" / "bin" / "frontline")]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*launcher, "hub", "--port", str(port)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"the hub did not start (see {log})")


@dataclass
class Stack:
    """The hub, our Rasa server and the `rasa init` anchor, started and warmed up."""

    hub: subprocess.Popen[bytes]
    rasa: subprocess.Popen[bytes]
    anchor: subprocess.Popen[bytes]
    rasa_url: str
    anchor_url: str
    widget_url: str


@contextmanager
def running_stack(prefix: str) -> Iterator[Stack]:
    """Builds the index, trains our bot and the anchor if needed, starts the three processes
    (the hub as its own process, so its memory and CPU are its own), warms them up, and
    stops them on the way out."""
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
    var = Path(tempfile.mkdtemp(prefix=prefix))
    hub_settings = Settings(
        var_dir=var, index_dir=settings.index_path, models_dir=settings.models_path
    )
    hub_port, rasa_port, anchor_port = free_port(), free_port(), free_port()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    token = secrets.token_urlsafe(32)
    hub = start_hub(hub_settings, hub_port, rasa_url, token, var / "hub.log")
    processes = []
    try:
        processes.append(rasa_process.start_server(
            rasa_bin=settings.rasa_bin, model=ours, bot_dir=settings.bot_dir, host="127.0.0.1",
            port=rasa_port, action_endpoint_url=f"http://127.0.0.1:{hub_port}/actions/webhook",
            action_token=token, log_file=var / "rasa.log",
        ))  # fmt: skip
        processes.append(start(
            settings.rasa_bin, theirs, theirs.parent.parent, anchor_port,
            "http://127.0.0.1:9/unused", root / "default-bot.log",
        ))  # fmt: skip
        rasa_process.wait_until_ready(rasa_url, processes[0], timeout=240)
        stack = Stack(
            hub, processes[0], processes[1], rasa_url, f"http://127.0.0.1:{anchor_port}",
            f"ws://127.0.0.1:{hub_port}/ws/widget",
        )  # fmt: skip
        # Warm-up: model caches, first action calls, the encoder's first batch.
        drive(stack.rasa_url, KB_QUESTIONS, 1)
        drive(stack.anchor_url, DEFAULT_BOT_MESSAGES, 1)
        asyncio.run(drive_widget(stack.widget_url, 1, 5))
        yield stack
    finally:
        for process in processes:
            rasa_process.stop_server(process)
        hub.terminate()
        hub.wait(timeout=30)


def main() -> None:
    with running_stack("bench-turns-") as stack:
        rows: dict[tuple[str, int], tuple[float, float, float]] = {}
        for c in CONCURRENCY:
            for name, url, messages in (
                ("rasa init bot, scripted (anchor)", stack.anchor_url, DEFAULT_BOT_MESSAGES),
                ("KB question straight to Rasa", stack.rasa_url, KB_QUESTIONS),
            ):
                latencies, rate = drive(url, messages, c)
                rows[(name, c)] = (
                    statistics.median(latencies) * 1000, percentile(latencies, 0.99) * 1000, rate
                )  # fmt: skip
            turns = asyncio.run(drive_widget(stack.widget_url, c, TURNS))
            rows[("KB question through the widget", c)] = (
                statistics.median(turns.latencies) * 1000,
                percentile(turns.latencies, 0.99) * 1000,
                turns.rate,
            )
        load, per_socket, still_open = asyncio.run(idle_and_active(stack.widget_url, stack.hub.pid))
        hub_rss = rss_kib(stack.hub.pid) / 1024

    print(f"\n{'':<36} {'conv':>4} {'p50 ms':>8} {'p99 ms':>8} {'turns/s':>8}")
    for (name, c), (p50, p99, rate) in rows.items():
        print(f"{name:<36} {c:>4} {p50:>8.1f} {p99:>8.1f} {rate:>8.1f}")
    p99_load = percentile(load.latencies, 0.99) if load.latencies else float("inf")
    print(
        f"\n{IDLE_SOCKETS} idle sockets + {ACTIVE} active ({ACTIVE_TURNS} questions each): "
        f"reply p50 {statistics.median(load.latencies) * 1000:.0f} ms, p99 {p99_load * 1000:.0f}"
        f" ms, {load.rate:.1f} turns/s; sent {load.sent}, acked {load.acked}, answered "
        f"{load.answered}, lost {load.lost}, doubled {load.doubled}; idle sockets still open "
        f"{still_open}/{IDLE_SOCKETS}"
    )
    # Each active customer sends its next question as soon as the answer arrives (a closed
    # loop): by Little's law the mean wait is at least the customers over the turns served
    # per second, whatever the hub does with its share of the machine.
    if load.rate:
        print(
            f"queueing floor (Little's law): {ACTIVE} customers / {load.rate:.1f} turns/s = "
            f"mean wait {ACTIVE / load.rate:.2f} s; even a mean of 1.5 s needs "
            f">= {ACTIVE / 1.5:.0f} turns/s"
        )
    per_idle = per_socket / 1024
    print(f"hub memory: {hub_rss:.0f} MiB resident at the end, {per_idle:.1f} KiB per idle socket")

    anchor = rows[("rasa init bot, scripted (anchor)", 1)]
    widget = rows[("KB question through the widget", 1)]
    anchor16 = rows[("rasa init bot, scripted (anchor)", 16)]
    widget16 = rows[("KB question through the widget", 16)]
    checks = [
        (
            "widget KB turn p50 <= rasa init p50 (1 conv)",
            widget[0] / anchor[0],
            widget[0] <= anchor[0],
        ),
        (
            "KB turns/s >= rasa init msg/s (16 conv)",
            widget16[2] / anchor16[2],
            widget16[2] >= anchor16[2],
        ),
        ("1000 idle + 50 active: reply p99 <= 1.5 s", p99_load, p99_load <= 1.5),
        ("nothing lost or doubled", load.lost + load.doubled, load.lost + load.doubled == 0),
        ("idle socket <= 50 KB of the hub's memory", per_socket / 1000, per_socket <= 50_000),
    ]
    print("\ntargets (issue 19; ratios from this run):")
    for label, value, ok in checks:
        print(f"  {label:<48} {value:>8.2f}  {'PASS' if ok else 'FAIL'}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
