"""Several hubs (issue 18): live-update latency between hubs, and one hub vs two hubs.

Starts the cluster of tests/fakes/cluster.py (two `frontline hub`, two `frontline rasa`,
HAProxy, on PostgreSQL and Redis), then
- an agent on hub A writes to a customer whose widget is on hub B: the time from the agent's
  request to the widget's frame, beside the same with the widget on hub A (no bus crossing);
- 16 widget conversations asking KB questions straight to hub A, then through HAProxy to
  both hubs: turns/s and p50/p99 of each.
Run with `FRONTLINE_BENCH_DATABASE_URL=$(.ci/postgres.sh) python -m tests.bench.bench_cluster`
(`make bench` does); prints figures, exit code 0 either way.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.bench.bench_rasa import percentile
from tests.bench.bench_turns import drive_widget
from tests.fakes.cluster import running_cluster
from tests.fakes.redis_server import redis_available, redis_server

SAMPLES = 100
CONVERSATIONS = 16
TURNS = 10


def ws(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws/widget"


def live_latency(agent_hub: str, widget_hub: str, headers: dict[str, str]) -> list[float]:
    """Agent's POST on `agent_hub` -> the customer's widget on `widget_hub` gets the frame."""
    widget = connect(ws(widget_hub))
    widget.send(json.dumps({"type": "hello", "token": None}))

    def frame(match: object) -> dict[str, object]:
        while True:
            data = json.loads(widget.recv(timeout=60))
            if match(data):  # type: ignore[operator]
                return data  # type: ignore[no-any-return]

    frame(lambda f: f["type"] == "welcome")
    widget.send(json.dumps({"type": "message", "text": "talk to a person", "client_id": "b1"}))
    ack = frame(lambda f: f["type"] == "ack")
    conversation = ack["message"]["conversation_id"]  # type: ignore[index]
    frame(lambda f: f["type"] == "state" and f["state"] in ("queued", "assigned"))
    with httpx.Client(base_url=agent_hub, headers=headers, timeout=30) as client:
        client.post(f"/api/conversations/{conversation}/takeover").raise_for_status()
        latencies = []
        for n in range(SAMPLES):
            text = f"agent line {n}"
            began = time.perf_counter()
            client.post(
                f"/api/conversations/{conversation}/messages", json={"text": text}
            ).raise_for_status()
            frame(lambda f: f["type"] == "message" and f["message"]["text"] == text)  # noqa: B023
            latencies.append(time.perf_counter() - began)
        client.post(f"/api/conversations/{conversation}/resolve", json={})
    widget.close()
    return latencies


def main() -> None:
    pg = os.environ.get("FRONTLINE_BENCH_DATABASE_URL", "")
    missing = redis_available()
    if not pg or missing:
        print(f"bench_cluster skipped: {missing or 'set FRONTLINE_BENCH_DATABASE_URL'}")
        return
    var = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    fast = {"FRONTLINE_MESSAGES_PER_SECOND": "1000", "FRONTLINE_MESSAGES_BURST": "1000"}
    with (
        redis_server(var / "redis") as redis_url,
        running_cluster(pg, redis_url, var / "cluster", extra_env=fast) as cluster,
    ):
        hub_a, hub_b = cluster.hub_urls
        token = httpx.post(
            f"{hub_a}/api/auth/login",
            json={"email": "agent@example.com", "password": "frontline"},
            timeout=30,
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        # Never read here: no keepalive pings to leave unanswered.
        console = connect(hub_a.replace("http://", "ws://") + "/ws/agents", ping_interval=None)
        console.send(json.dumps({"type": "auth", "token": token}))
        asyncio.run(drive_widget(ws(cluster.lb_url), 2, 3))  # warm-up
        same = live_latency(hub_a, hub_a, headers)
        across = live_latency(hub_a, hub_b, headers)
        one = asyncio.run(drive_widget(ws(hub_a), CONVERSATIONS, TURNS))
        two = asyncio.run(drive_widget(ws(cluster.lb_url), CONVERSATIONS, TURNS))
        console.close()

    print("\nlive update, agent's request -> the customer's widget (ms):")
    for label, values in (("same hub", same), ("across hubs (Redis bus)", across)):
        print(
            f"  {label:<26} p50 {statistics.median(values) * 1000:7.1f}  "
            f"p99 {percentile(values, 0.99) * 1000:7.1f}"
        )
    print(f"\n{CONVERSATIONS} widget conversations x {TURNS} KB questions (2 Rasa servers):")
    for label, turns in (("one hub", one), ("two hubs behind HAProxy", two)):
        print(
            f"  {label:<26} {turns.rate:6.1f} turns/s  p50 "
            f"{statistics.median(turns.latencies) * 1000:7.1f} ms  p99 "
            f"{percentile(turns.latencies, 0.99) * 1000:7.1f} ms  lost {turns.lost}"
        )
    print(
        f"  (this machine has {os.cpu_count()} cores shared by both hubs, both Rasa servers,"
        " PostgreSQL, Redis, HAProxy and this client: a second hub adds no CPU here; on"
        " separate machines each hub brings its own)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
