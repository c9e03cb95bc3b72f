"""Where a knowledge-base turn spends its time: py-spy samples the hub and the Rasa server
while KB questions are asked through the widget (`python -m tests.bench.profile_turn`).

Writes each process's collapsed stacks (flame-graph input) to var/bench/profile-*.txt and
prints, per process, the share of samples in the functions that matter most, inclusive
(a function and what it calls) and exclusive. Used for docs/performance.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import asyncio
import collections
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api import rasa_process
from api.settings import Settings
from tests.bench.bench_turns import drive_widget, start_hub
from tests.fakes.paths import ROOT
from tests.fakes.stack import free_port

SECONDS = 40
CONVERSATIONS = 4


def summarise(collapsed: Path, top: int = 25) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    exclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
                  for f in stack.split(";") if f]  # fmt: skip
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            exclusive[frames[-1]] += count
    print(f"\n== {collapsed.name}: {total} samples ==")
    print("inclusive:")
    for frame, count in inclusive.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {frame}")
    print("exclusive:")
    for frame, count in exclusive.most_common(top // 2):
        print(f"  {100 * count / total:5.1f}%  {frame}")


# PROFILE_GIL=1: only samples of the thread holding the GIL, i.e. the process's Python CPU
# time (C code that releases it, the encoder, SQLite, waits on locks and disks, is left out).
GIL_ONLY = os.environ.get("PROFILE_GIL") == "1"


def record(pid: int, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "py-spy"), "record", "--pid", str(pid), "--rate", "200",
         "--duration", str(SECONDS), "--format", "raw", "--output", str(out), "--subprocesses",
         "--nonblocking", *(["--gil"] if GIL_ONLY else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    settings = Settings()
    out_dir = settings.var_dir / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    ours, _ = rasa_process.train(
        settings.bot_dir, settings.models_path, settings.rasa_bin, kb_dir=settings.kb_dir
    )
    var = Path(tempfile.mkdtemp(prefix="profile-turn-"))
    hub_settings = Settings(
        var_dir=var, index_dir=settings.index_path, models_dir=settings.models_path
    )
    hub_port, rasa_port = free_port(), free_port()
    token = secrets.token_urlsafe(32)
    hub = start_hub(hub_settings, hub_port, f"http://127.0.0.1:{rasa_port}", token, var / "hub.log")
    rasa = rasa_process.start_server(
        rasa_bin=settings.rasa_bin, model=ours, bot_dir=settings.bot_dir, host="127.0.0.1",
        port=rasa_port, action_endpoint_url=f"http://127.0.0.1:{hub_port}/actions/webhook",
        action_token=token, log_file=var / "rasa.log",
    )  # fmt: skip
    try:
        rasa_process.wait_until_ready(f"http://127.0.0.1:{rasa_port}", rasa, timeout=240)
        url = f"ws://127.0.0.1:{hub_port}/ws/widget"
        asyncio.run(drive_widget(url, 1, 5))  # warm-up
        profiles = {"hub": out_dir / "profile-hub.txt", "rasa": out_dir / "profile-rasa.txt"}
        spies = [record(hub.pid, profiles["hub"]), record(rasa.pid, profiles["rasa"])]
        began = time.monotonic()
        turns = 0
        while time.monotonic() - began < SECONDS - 2:
            result = asyncio.run(drive_widget(url, CONVERSATIONS, 10))
            turns += len(result.latencies)
        for spy in spies:
            spy.wait(timeout=SECONDS + 60)
        print(f"{turns} turns in {time.monotonic() - began:.0f} s while sampling")
        for path in profiles.values():
            if path.exists():
                summarise(path)
    finally:
        rasa_process.stop_server(rasa)
        hub.terminate()
        hub.wait(timeout=30)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
