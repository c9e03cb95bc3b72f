"""Per-turn latency and throughput of our Rasa server beside the default `rasa init` bot,
measured in the same run on the same machine (`make bench`).

Both servers are driven through Rasa's REST channel at 1, 4 and 16 concurrent
conversations. Ours answers knowledge-base questions through its custom actions, which run
in a real hub (the encoder and index loaded), so its figures include that round trip.

Run with `python -m tests.bench.bench_rasa`. Prints figures; the exit code is 0 either way.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import itertools
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from api import rasa_process
from api.settings import Settings
from retrieval.encoder import open_encoder
from retrieval.search import build_index, model_for_sources
from tests.fakes.stack import HubServer, free_port

CONCURRENCY = (1, 4, 16)
TURNS_PER_CONVERSATION = 30
DEFAULT_BOT_MESSAGES = ["hello", "I am sad", "yes", "great", "are you a bot?", "bye"]
OUR_MESSAGES = [
    "hello",
    "How do I reset my password?",
    "thanks",
    "are you a bot?",
    "how can I export my projects",
    "what can you do?",
]


def default_bot(root: Path, rasa_bin: Path) -> Path:
    """The `rasa init` project and its trained model, made once and kept under var/bench."""
    project = root / "default-bot"
    models = sorted((project / "models").glob("*.tar.gz")) if project.is_dir() else []
    if models:
        return models[-1]
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    print("training the default `rasa init` bot (once; cached in var/bench) ...", flush=True)
    subprocess.run(
        [str(rasa_bin), "init", "--no-prompt", "--init-dir", str(project)],
        env=rasa_process.rasa_environment(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return sorted((project / "models").glob("*.tar.gz"))[-1]


def start(
    rasa_bin: Path, model: Path, project: Path, port: int, action_url: str, log: Path
) -> subprocess.Popen[bytes]:
    process = rasa_process.start_server(
        rasa_bin=rasa_bin,
        model=model,
        bot_dir=project,
        host="127.0.0.1",
        port=port,
        action_endpoint_url=action_url,
        action_token="",  # the `rasa init` bot's endpoints.yml sends none
        log_file=log,
    )
    rasa_process.wait_until_ready(f"http://127.0.0.1:{port}", process, timeout=240)
    return process


def drive(url: str, messages: list[str], conversations: int) -> tuple[list[float], float]:
    """`conversations` threads, each its own sender, each sending its turns in order."""
    latencies: list[float] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(conversations)

    def conversation(number: int) -> None:
        sender = f"bench-{conversations}-{number}-{time.monotonic_ns()}"
        turns = itertools.islice(itertools.cycle(messages), TURNS_PER_CONVERSATION)
        with httpx.Client(timeout=60) as client:
            start_gate.wait()
            for text in turns:
                began = time.perf_counter()
                client.post(
                    f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
                ).raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=conversation, args=(n,)) for n in range(conversations)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, len(latencies) / (time.perf_counter() - began)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    settings = Settings()
    root = settings.var_dir / "bench"
    root.mkdir(parents=True, exist_ok=True)
    model = model_for_sources(settings.embedding_model, settings.kb_dir, settings.serve_languages)
    build_index(
        settings.kb_dir,
        settings.index_path,
        open_encoder(model),
        serve_languages=settings.serve_languages,
    )
    ours, _ = rasa_process.train(
        settings.bot_dir, settings.models_path, settings.rasa_bin, kb_dir=settings.kb_dir
    )
    theirs = default_bot(root, settings.rasa_bin)
    hub_settings = Settings(
        var_dir=Path(tempfile.mkdtemp()),
        index_dir=settings.index_path,
        port=free_port(),
        rasa_port=free_port(),
    )
    hub = HubServer(hub_settings)
    hub.start()
    servers = {}
    try:
        servers["default `rasa init` bot"] = (
            start(
                settings.rasa_bin,
                theirs,
                theirs.parent.parent,
                free_port(),
                "http://127.0.0.1:9/unused",
                root / "default-bot.log",
            ),
            DEFAULT_BOT_MESSAGES,
        )
        servers["Frontline bot (+ KB actions in the hub)"] = (
            start(
                settings.rasa_bin,
                ours,
                settings.bot_dir,
                hub_settings.rasa_port,
                hub_settings.action_endpoint_url,
                root / "frontline-bot.log",
            ),
            OUR_MESSAGES,
        )
        results: dict[tuple[str, int], tuple[float, float, float]] = {}
        for name, (process, messages) in servers.items():
            port = int(process.args[process.args.index("--port") + 1])  # type: ignore[union-attr]
            url = f"http://127.0.0.1:{port}"
            drive(url, messages, 1)  # warm-up: model caches, first action calls
            for c in CONCURRENCY:
                latencies, throughput = drive(url, messages, c)
                results[(name, c)] = (
                    statistics.median(latencies) * 1000,
                    percentile(latencies, 0.99) * 1000,
                    throughput,
                )
        print(f"\n{'bot':<42} {'conv':>4} {'p50 ms':>8} {'p99 ms':>8} {'msg/s':>7}")
        for (name, c), (p50, p99, rate) in results.items():
            print(f"{name:<42} {c:>4} {p50:>8.1f} {p99:>8.1f} {rate:>7.1f}")
        names = list(servers)
        print("\ntargets (ours vs default, same run):")
        for c in CONCURRENCY:
            base, mine = results[(names[0], c)], results[(names[1], c)]
            print(
                f"  {c:>2} conversations: p50 {mine[0]:.1f} vs {base[0]:.1f} ms "
                f"({'PASS' if mine[0] <= base[0] else 'FAIL'}), throughput {mine[2]:.1f} vs "
                f"{base[2]:.1f} msg/s ({'PASS' if mine[2] >= base[2] else 'FAIL'})"
            )
    finally:
        for process, _ in servers.values():
            rasa_process.stop_server(process)
        hub.stop()


if __name__ == "__main__":
    main()
